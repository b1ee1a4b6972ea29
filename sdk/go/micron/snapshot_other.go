//go:build !(wasip1 && micron_snapshot && go1.22)

package micron

// Without the micron_snapshot build tag (which `micron build` sets) a
// function is always run fresh: there is nothing to resume from.
func resumedFromSnapshot() bool { return false }
