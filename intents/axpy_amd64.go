//go:build amd64 && !purego

package intents

import "golang.org/x/sys/cpu"

var hasAVX2 = cpu.X86.HasAVX2

// axpyAVX2 is axpyGeneric with AVX2, eight floats an instruction: a multiply then an add, as the Go
// code does (no fused multiply-add), so the results are bit-identical.
//
//go:noescape
func axpyAVX2(dst, x []float32, a float32)

// axpy adds a·x to dst (len(x) >= len(dst)).
func axpy(dst, x []float32, a float32) {
	if hasAVX2 {
		axpyAVX2(dst, x[:len(dst)], a)
		return
	}
	axpyGeneric(dst, x, a)
}
