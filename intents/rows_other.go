//go:build !amd64 || purego

package intents

import "unsafe"

// accRows adds a[r]·rows[r][j] to dst[j] for every row r in order.
func accRows(dst []float32, rows []unsafe.Pointer, a []float32) { accRowsGeneric(dst, rows, a) }

// accRowsI8 is accRows for int8 rows.
func accRowsI8(dst []float32, rows []unsafe.Pointer, a []float32) { accRowsI8Generic(dst, rows, a) }
