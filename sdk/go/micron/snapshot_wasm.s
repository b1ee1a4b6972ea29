//go:build wasip1 && micron_snapshot && go1.22

#include "textflag.h"

// func globalRand() *[grInit + 1]byte
TEXT ·globalRand(SB), NOSPLIT, $0-8
	MOVD $runtime·globalRand(SB), R0
	MOVD R0, ret+0(FP)
	RET

// func reseedRuntime()
// globalRand.init = false; runtime.randinit() (reads random_get);
// runtime.mrandinit(&runtime.m0) (wasm has a single M).
TEXT ·reseedRuntime(SB), $8-0
	MOVB $0, runtime·globalRand+344(SB)
	CALL runtime·randinit(SB)
	MOVD $runtime·m0(SB), R0
	MOVD R0, 0(SP)
	CALL runtime·mrandinit(SB)
	RET
