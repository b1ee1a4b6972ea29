//go:build wasip1

#include "textflag.h"

// func pause()
// Sets PAUSE and unwinds: wasm_pc_f_loop stops and returns to the host (from
// _start, or from the host's call to resume). The return address stays at
// -8(SP), so calling wasm_pc_f_loop again resumes right after the call to
// pause.
TEXT ·pause(SB), NOSPLIT, $0-0
	I32Const $1
	Set PAUSE
	RETUNWIND
