//go:build !wasip1

package micron

// refreshEnviron is only needed after a snapshot resume, which only happens
// under wasip1.
func refreshEnviron() {}
