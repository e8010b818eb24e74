package intents

import (
	"fmt"
	"math"
)

// Table precisions (ModelConfig.TablePrecision): how the Classifier holds the embedding tables in
// memory. The weights file always keeps float32; a quantised table is made from it when the model is
// assembled or loaded, by a deterministic rule, so training, eval and serving score with the same
// numbers.
const (
	// PrecisionF32 keeps the tables as trained (4 bytes a weight). Models saved before the field
	// existed read as this.
	PrecisionF32 = "f32"
	// PrecisionInt8 keeps each table row as int8 with one float32 scale (max |w| / 127): a quarter of the
	// bytes. The forward pass reads about 650 random table rows per message for five networks, so the
	// bytes fetched from memory, not the arithmetic, bound the throughput (docs/intents.md).
	PrecisionInt8 = "int8"
)

// validPrecision reports whether p names a table precision ("" reads as PrecisionF32).
func validPrecision(p string) error {
	switch p {
	case "", PrecisionF32, PrecisionInt8:
		return nil
	}
	return fmt.Errorf("unknown table precision %q (want %s or %s)", p, PrecisionF32, PrecisionInt8)
}

// ValidPrecision reports a table precision no model can use.
func ValidPrecision(p string) error { return validPrecision(p) }

// quantizeRows quantises a row-major [rows, width] table to int8 with one scale per row: q = round(w /
// s), s = max|w| / 127 (0 for an all-zero row or one with a NaN or infinity), so q is in [-127, 127] and w ≈ s·q with an error of at
// most s/2.
func quantizeRows(t []float32, width int) (q []int8, scale []float32) {
	rows := len(t) / width
	q = make([]int8, rows*width)
	scale = make([]float32, rows)
	for r := 0; r < rows; r++ {
		row := t[r*width : r*width+width]
		var m float64
		for _, w := range row {
			a := math.Abs(float64(w))
			if !(a <= math.MaxFloat32) { // NaN or ±Inf
				m = math.NaN()
				break
			}
			m = max(m, a)
		}
		if m == 0 || math.IsNaN(m) {
			continue // all zero, or not finite: the row contributes nothing
		}
		s := float32(m) / 127
		scale[r] = s
		qr := q[r*width : r*width+width]
		for i, w := range row {
			v := math.Round(float64(w / s))
			if v > 127 {
				v = 127
			} else if v < -127 {
				v = -127
			}
			qr[i] = int8(v)
		}
	}
	return q, scale
}

// axpyI8Generic adds a·float32(x) to dst (len(x) >= len(dst)), eight elements a step, each computed as
// the plain loop would, so results are bit-identical to it; the int8 row kernels (accRowsI8) are defined
// by it and give the same results.
func axpyI8Generic(dst []float32, x []int8, a float32) {
	x = x[:len(dst)]
	i := 0
	for ; i+8 <= len(dst); i += 8 {
		d, s := dst[i:i+8:i+8], x[i:i+8:i+8]
		d[0] += a * float32(s[0])
		d[1] += a * float32(s[1])
		d[2] += a * float32(s[2])
		d[3] += a * float32(s[3])
		d[4] += a * float32(s[4])
		d[5] += a * float32(s[5])
		d[6] += a * float32(s[6])
		d[7] += a * float32(s[7])
	}
	for ; i < len(dst); i++ {
		dst[i] += a * float32(x[i])
	}
}
