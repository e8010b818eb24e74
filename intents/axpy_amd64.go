//go:build amd64 && !purego

package intents

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

var (
	hasAVX2   = cpu.X86.HasAVX2
	hasAVX512 = cpu.X86.HasAVX512F // true only where the OS saves the Z registers too
)

// axpyAVX2 is axpyGeneric with AVX2, eight floats an instruction: a multiply then an add, as the Go
// code does (no fused multiply-add), so the results are bit-identical.
//
//go:noescape
func axpyAVX2(dst, x []float32, a float32)

// axpyI8AVX2 is axpyI8Generic with AVX2: eight int8 widened to int32 and converted to float32 (both
// exact), then a multiply and an add, as the Go code does, so the results are bit-identical.
//
//go:noescape
func axpyI8AVX2(dst []float32, x []int8, a float32)

// axpy adds a·x to dst (len(x) >= len(dst)).
func axpy(dst, x []float32, a float32) {
	if hasAVX2 {
		axpyAVX2(dst, x[:len(dst)], a)
		return
	}
	axpyGeneric(dst, x, a)
}

// axpyI8 adds a·float32(x) to dst (len(x) >= len(dst)).
func axpyI8(dst []float32, x []int8, a float32) {
	if hasAVX2 {
		axpyI8AVX2(dst, x[:len(dst)], a)
		return
	}
	axpyI8Generic(dst, x, a)
}

// accRowsAVX2 is accRowsGeneric with AVX2, bit-identical (axpy_amd64.s).
//
//go:noescape
func accRowsAVX2(dst []float32, rows []unsafe.Pointer, a []float32)

// accRowsI8AVX2 is accRowsI8Generic with AVX2, bit-identical (axpy_amd64.s).
//
//go:noescape
func accRowsI8AVX2(dst []float32, rows []unsafe.Pointer, a []float32)

// accRowsAVX512 is accRowsGeneric with AVX-512, bit-identical (axpy_amd64.s).
//
//go:noescape
func accRowsAVX512(dst []float32, rows []unsafe.Pointer, a []float32)

// accRowsI8AVX512 is accRowsI8Generic with AVX-512, bit-identical (axpy_amd64.s).
//
//go:noescape
func accRowsI8AVX512(dst []float32, rows []unsafe.Pointer, a []float32)

// accRows adds a[r]·rows[r][j] to dst[j] for every row r in order (len(a) >= len(rows); each row holds
// len(dst) or more float32s).
func accRows(dst []float32, rows []unsafe.Pointer, a []float32) {
	if hasAVX512 {
		accRowsAVX512(dst, rows, a[:len(rows)])
		return
	}
	if hasAVX2 {
		accRowsAVX2(dst, rows, a[:len(rows)])
		return
	}
	accRowsGeneric(dst, rows, a)
}

// accRowsI8 is accRows for int8 rows.
func accRowsI8(dst []float32, rows []unsafe.Pointer, a []float32) {
	if hasAVX512 {
		accRowsI8AVX512(dst, rows, a[:len(rows)])
		return
	}
	if hasAVX2 {
		accRowsI8AVX2(dst, rows, a[:len(rows)])
		return
	}
	accRowsI8Generic(dst, rows, a)
}
