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

// The assembly row kernels (rows_amd64.s): accRowsGeneric and accRowsI8Generic with AVX2 (blocks of 64
// floats in registers) or AVX-512 (blocks of 128, then 16, then a masked block), bit-identical to them.
// a must hold len(rows) values.

//go:noescape
func accRowsAVX2(dst []float32, rows []unsafe.Pointer, a []float32)

//go:noescape
func accRowsI8AVX2(dst []float32, rows []unsafe.Pointer, a []float32)

//go:noescape
func accRowsAVX512(dst []float32, rows []unsafe.Pointer, a []float32)

//go:noescape
func accRowsI8AVX512(dst []float32, rows []unsafe.Pointer, a []float32)

// rowKernels are the float32 and int8 row kernels this CPU runs best, chosen once.
var rowKernels = func() (f32, i8 func([]float32, []unsafe.Pointer, []float32)) {
	switch {
	case hasAVX512:
		return accRowsAVX512, accRowsI8AVX512
	case hasAVX2:
		return accRowsAVX2, accRowsI8AVX2
	}
	return accRowsGeneric, accRowsI8Generic
}

var accRowsF32, accRowsInt8 = rowKernels()

// accRows adds a[r]·rows[r][j] to dst[j] for every row r in order (len(a) >= len(rows); each row holds
// len(dst) or more float32s).
func accRows(dst []float32, rows []unsafe.Pointer, a []float32) { accRowsF32(dst, rows, a[:len(rows)]) }

// accRowsI8 is accRows for int8 rows.
func accRowsI8(dst []float32, rows []unsafe.Pointer, a []float32) {
	accRowsInt8(dst, rows, a[:len(rows)])
}
