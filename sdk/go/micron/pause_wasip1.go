//go:build wasip1

package micron

// pause stops the whole Go program and returns to the host, the way Go's
// js/wasm port returns to JavaScript: it sets Go's PAUSE register and unwinds
// the WebAssembly stack to wasm_pc_f_loop, which returns. Goroutine stacks
// live in linear memory, so nothing is lost; when the host calls
// wasm_pc_f_loop again (the `micron:resume` export it adds to the module),
// the program continues right after the call to pause, on the same
// goroutine.
//
// Two places pause: Serve, once, so the host can snapshot the initialised
// program (snapshot_wasip1.go), and an outbound request, so the host can
// wait for the response without blocking (outbound_wasip1.go). Only pause
// when the host has said it will resume (for outbound requests: a ticket in
// state pending); otherwise the run simply ends.
func pause()
