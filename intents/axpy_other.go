//go:build !amd64 || purego

package intents

import "unsafe"

// axpy adds a·x to dst (len(x) >= len(dst)).
func axpy(dst, x []float32, a float32) { axpyGeneric(dst, x, a) }

// axpyI8 adds a·float32(x) to dst (len(x) >= len(dst)).
func axpyI8(dst []float32, x []int8, a float32) { axpyI8Generic(dst, x, a) }

// accRows adds a[r]·rows[r][j] to dst[j] for every row r in order.
func accRows(dst []float32, rows []unsafe.Pointer, a []float32) { accRowsGeneric(dst, rows, a) }

// accRowsI8 is accRows for int8 rows.
func accRowsI8(dst []float32, rows []unsafe.Pointer, a []float32) { accRowsI8Generic(dst, rows, a) }
