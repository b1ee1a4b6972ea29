//go:build wasip1

package micron

import (
	"net/http"
	"runtime"
	"unsafe"
)

// Outbound HTTP through the host (wit/deps/micron-http@0.1.0): start hands
// the request to the host and returns a ticket; while the ticket is
// pending the program pauses (pause_wasip1.go) and the host, free to serve
// other requests, resumes it once a response or an error is in; then the
// result is copied out and the ticket is forgotten.

//go:wasmimport micron:http/outbound@0.1.0 start
//go:noescape
func outboundStart(request unsafe.Pointer, requestLen, timeoutMs uint32) uint32

//go:wasmimport micron:http/outbound@0.1.0 state
func outboundState(ticket uint32) uint32

//go:wasmimport micron:http/outbound@0.1.0 result-len
func outboundResultLen(ticket uint32) uint32

//go:wasmimport micron:http/outbound@0.1.0 take-result
//go:noescape
func outboundTakeResult(ticket uint32, buf unsafe.Pointer, bufLen uint32) uint32

// Preview 1 has no sockets, so net/http's own transport can never dial here:
// http.Get, http.Post, http.DefaultClient.Do and the like go through the host.
// http.DefaultTransport is deliberately left alone: merely referring to it
// links net/http's socket transport (and with it crypto/tls and HTTP/2, about
// 3 MB of code) into every function, including the many that never make a
// request. A client of your own takes Transport: &micron.Transport{}.
func init() {
	http.DefaultClient.Transport = &Transport{}
}

// roundTrip under wasip1 goes through the host.
func roundTrip(req *http.Request) (*http.Response, error) {
	return sendThroughHost(req, hostExchange)
}

// hostExchange is the exchange with the Micron host: start, pause while
// pending, take the result.
func hostExchange(wire []byte, timeoutMs uint32) (state uint32, result []byte) {
	ticket := outboundStart(unsafe.Pointer(unsafe.SliceData(wire)), uint32(len(wire)), timeoutMs)
	runtime.KeepAlive(wire)
	for state = outboundState(ticket); state == outboundPending; state = outboundState(ticket) {
		// Let other goroutines start their requests first, so that the host
		// waits for all of them at once; then pause until one settles.
		runtime.Gosched()
		if outboundState(ticket) == outboundPending {
			pause()
		}
	}
	n := outboundResultLen(ticket)
	result = make([]byte, n+1) // never empty, so the pointer is valid
	copied := outboundTakeResult(ticket, unsafe.Pointer(&result[0]), n)
	return state, result[:copied]
}
