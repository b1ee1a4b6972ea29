//go:build wasip1 && micron_snapshot && go1.22

package micron

// Snapshot support: Micron can run everything up to Serve once, snapshot the
// instance's memory and globals, and start each request from that snapshot
// instead of from _start (runtime init and package init then cost nothing
// per request). The host asks for it by setting snapshotEnv when it prepares
// a function; Serve then pauses the Go program (the same mechanism Go's
// js/wasm port uses to return to JavaScript: set PAUSE, unwind to
// wasm_pc_f_loop, _start returns). The host resumes a copy per request by
// calling wasm_pc_f_loop again, and Serve carries on from here.
//
// Two things a restored copy must not share with its siblings are renewed
// after the resume:
//   - the environment (the runtime copied it at startup): re-read with
//     environ_get, which the host now answers with this request's variables;
//   - the runtime's random state (math/rand, math/rand/v2, map iteration
//     order, new maps' seeds): re-seeded from random_get through the
//     runtime's own randinit/mrandinit. The hash key of maps created during
//     init stays shared, as it is across the requests of any long-running
//     Go server.
//
// Re-seeding reaches into runtime internals (needs -ldflags=-checklinkname=0,
// which `micron build` passes with the tag). The layout of runtime.globalRand
// is checked before pausing; if it is not what this file expects, Serve
// does not pause and the host falls back to fresh instances.

import (
	"encoding/binary"
	"os"
)

// snapshotEnv is what the host sets while preparing a snapshot. The host also
// looks for this exact string in a module's data to know the SDK supports it.
const snapshotEnv = "MICRON_GO_SNAPSHOT_V1"

// Offsets in runtime.globalRand (Go 1.22-1.23: mutex{key uintptr}, seed
// [32]byte, state chacha8rand.State{buf [32]uint64, seed [4]uint64, i, n, c
// uint32}, init bool).
const (
	grSeed  = 8
	grI     = 8 + 32 + 256 + 32
	grN     = grI + 4
	grC     = grI + 8
	grInit  = grI + 16
	chunk   = 32
	reseedN = 4
)

func globalRand() *[grInit + 1]byte
func reseedRuntime()

func resumedFromSnapshot() bool {
	if os.Getenv(snapshotEnv) != "prepare" || !globalRandLayoutOK() {
		return false
	}
	pause() // _start returns to the host here; each request continues below (pause_wasip1.go).
	reseedRuntime()
	return true
}

func globalRandLayoutOK() bool {
	gr := globalRand()
	for _, b := range gr[grSeed : grSeed+32] { // randinit clears its seed after use
		if b != 0 {
			return false
		}
	}
	le := binary.LittleEndian
	i, n, c := le.Uint32(gr[grI:]), le.Uint32(gr[grN:]), le.Uint32(gr[grC:])
	return gr[grInit] == 1 && (n == chunk || n == chunk-reseedN) && i <= n && c%4 == 0
}
