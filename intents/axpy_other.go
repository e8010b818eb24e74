//go:build !amd64 || purego

package intents

// axpy adds a·x to dst (len(x) >= len(dst)).
func axpy(dst, x []float32, a float32) { axpyGeneric(dst, x, a) }
