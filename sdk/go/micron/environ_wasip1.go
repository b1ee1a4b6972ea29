//go:build wasip1

package micron

import (
	"bytes"
	"os"
	"strings"
	"unsafe"
)

//go:wasmimport wasi_snapshot_preview1 environ_sizes_get
//go:noescape
func environSizesGet(count, size unsafe.Pointer) uint32

//go:wasmimport wasi_snapshot_preview1 environ_get
//go:noescape
func environGet(ptrs, buf unsafe.Pointer) uint32

// refreshEnviron replaces the process environment with what environ_get
// returns now. The runtime copies the environment once at startup; after a
// snapshot resume that copy is the snapshot's, not this request's.
func refreshEnviron() {
	var count, size uint32
	if environSizesGet(unsafe.Pointer(&count), unsafe.Pointer(&size)) != 0 || count == 0 {
		return
	}
	ptrs := make([]uint32, count)
	buf := make([]byte, size)
	if environGet(unsafe.Pointer(&ptrs[0]), unsafe.Pointer(&buf[0])) != 0 {
		return
	}
	base := uint32(uintptr(unsafe.Pointer(&buf[0])))
	os.Clearenv()
	for _, p := range ptrs {
		s := buf[p-base:]
		if end := bytes.IndexByte(s, 0); end >= 0 {
			s = s[:end]
		}
		if k, v, ok := strings.Cut(string(s), "="); ok {
			os.Setenv(k, v)
		}
	}
}
