package intents

import "unsafe"

// accRowsGeneric adds a[r]·rows[r][j] to dst[j] for r = 0, 1, ... in order: the same as one axpy call
// per row, bit for bit. Each rows[r] points at len(dst) or more float32s. accRows is this or an
// assembly version that keeps blocks of dst in registers across the rows (rows_amd64.s).
func accRowsGeneric(dst []float32, rows []unsafe.Pointer, a []float32) {
	for r, p := range rows {
		axpyGeneric(dst, unsafe.Slice((*float32)(p), len(dst)), a[r])
	}
}

// accRowsI8Generic is accRowsGeneric for int8 rows: dst[j] += a[r]·float32(rows[r][j]).
func accRowsI8Generic(dst []float32, rows []unsafe.Pointer, a []float32) {
	for r, p := range rows {
		axpyI8Generic(dst, unsafe.Slice((*int8)(p), len(dst)), a[r])
	}
}
