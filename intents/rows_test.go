package intents

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// TestAxpyGenericSameAsPlainLoop: the unrolled Go loops the row kernels are defined by (and fall back
// to) give bit for bit what the plain loop gives, at float32 and int8, for every length and tail and the
// extreme int8 values.
func TestAxpyGenericSameAsPlainLoop(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 37, 64, 255, 256, 257, 512} {
		xf := make([]float32, n+3) // longer than dst, as table rows are sliced
		xq := make([]int8, n+3)
		for i := range xf {
			xf[i] = float32(r.NormFloat64())
			xq[i] = int8(r.IntN(256) - 128)
		}
		if n > 2 {
			xq[0], xq[1], xq[2] = -128, 127, 0
		}
		start := make([]float32, n)
		for i := range start {
			start[i] = float32(r.NormFloat64() * 10)
		}
		a := float32(r.NormFloat64())
		for _, tc := range []struct {
			kind string
			x    func(i int) float32
			run  func(dst []float32)
		}{
			{"f32", func(i int) float32 { return xf[i] }, func(dst []float32) { axpyGeneric(dst, xf, a) }},
			{"int8", func(i int) float32 { return float32(xq[i]) }, func(dst []float32) { axpyI8Generic(dst, xq, a) }},
		} {
			want := append([]float32(nil), start...)
			for i := range want {
				want[i] += a * tc.x(i)
			}
			got := append([]float32(nil), start...)
			tc.run(got)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s n=%d: element %d is %v, want %v", tc.kind, n, i, got[i], want[i])
				}
			}
		}
	}
}

func TestQuantizeRows(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name string
		row  []float32
	}{
		{"zero", []float32{0, 0, 0, 0}},
		{"one value", []float32{0, 0.5, 0, 0}},
		{"mixed", []float32{-1.5, 0.25, 3e-4, 0.75}},
		{"negative max", []float32{-2, 1, 0.5, -0.01}},
		{"tiny", []float32{1e-30, -2e-30, 0, 5e-31}},
		{"nan", []float32{nan, 1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Two rows: the row under test and a fixed one, which must not be disturbed by it.
			tab := append(append([]float32(nil), tt.row...), 1, -1, 0.5, 0)
			q, s := quantizeRows(tab, 4)
			if len(q) != 8 || len(s) != 2 {
				t.Fatalf("got %d values, %d scales", len(q), len(s))
			}
			if s[1] != 1.0/127 || q[4] != 127 || q[5] != -127 || q[6] != 64 || q[7] != 0 {
				t.Fatalf("fixed row: scale %v, values %v", s[1], q[4:])
			}
			for i, w := range tt.row {
				if math.IsNaN(float64(w)) || tt.name == "nan" {
					if s[0] != 0 || q[i] != 0 {
						t.Fatalf("a row with NaN must contribute nothing: scale %v, q %v", s[0], q[:4])
					}
					continue
				}
				back := s[0] * float32(q[i])
				if err := math.Abs(float64(back - w)); err > float64(s[0])/2*1.0001+1e-45 {
					t.Errorf("w[%d] = %g comes back as %g (scale %g): error %g over half a step", i, w, back, s[0], err)
				}
				if q[i] < -127 {
					t.Errorf("q[%d] = %d: -128 is never used (the range is symmetric)", i, q[i])
				}
			}
		})
	}
}

// TestAccRowsSameAsAxpy: accRows and accRowsI8 (assembly where there is one) give bit for bit what one
// axpy call per row gives, for every width and tail, and for no rows at all.
func TestAccRowsSameAsAxpy(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, width := range []int{0, 1, 7, 8, 9, 63, 64, 65, 72, 151, 256, 300, 512} {
		for _, n := range []int{0, 1, 2, 5, 130} {
			f := make([][]float32, n)
			q := make([][]int8, n)
			pf := make([]unsafe.Pointer, n)
			pq := make([]unsafe.Pointer, n)
			a := make([]float32, n)
			for i := range f {
				f[i] = make([]float32, width+1) // a row may be longer than dst
				q[i] = make([]int8, width+1)
				for j := range f[i] {
					f[i][j] = float32(r.NormFloat64())
					q[i][j] = int8(r.IntN(255) - 127)
				}
				pf[i], pq[i] = unsafe.Pointer(&f[i][0]), unsafe.Pointer(&q[i][0])
				a[i] = float32(r.NormFloat64())
			}
			start := make([]float32, width)
			for j := range start {
				start[j] = float32(r.NormFloat64())
			}
			for _, kind := range []string{"f32", "int8"} {
				want := append([]float32(nil), start...)
				got := append([]float32(nil), start...)
				gen := append([]float32(nil), start...)
				for i := range n {
					if kind == "f32" {
						axpyGeneric(want, f[i], a[i])
					} else {
						axpyI8Generic(want, q[i], a[i])
					}
				}
				if kind == "f32" {
					accRows(got, pf, a)
					accRowsGeneric(gen, pf, a)
				} else {
					accRowsI8(got, pq, a)
					accRowsI8Generic(gen, pq, a)
				}
				for j := range want {
					if math.Float32bits(got[j]) != math.Float32bits(want[j]) || math.Float32bits(gen[j]) != math.Float32bits(want[j]) {
						t.Fatalf("%s width %d, %d rows: element %d is %v (generic %v), want %v", kind, width, n, j, got[j], gen[j], want[j])
					}
				}
			}
		}
	}
}

// BenchmarkLayers times accRows on the three layers of one CLINC150-sized network (512 hidden units):
// 130 random rows of a 35,050-row table (f32 and int8: the table is bigger than the CPU caches, as in
// serving), the 300 rows of the dense word-vector layer, and 250 rows of the 151-class output layer.
func BenchmarkLayers(b *testing.B) {
	const inputs, width, feats = 35050, 512, 130
	r := rand.New(rand.NewPCG(7, 8))
	tab := make([]float32, inputs*width)
	for i := range tab {
		tab[i] = float32(r.NormFloat64())
	}
	q, scale := quantizeRows(tab, width)
	hidden := make([]float32, width)
	logits := make([]float32, 151)
	var rb rowBuf
	pick := func(i int, quant bool) {
		rb.reset()
		for k := 0; k < feats; k++ {
			c := int(uint32(i*7919+k*104729) % inputs)
			if quant {
				rb.add(unsafe.Pointer(&q[c*width]), scale[c])
			} else {
				rb.add(unsafe.Pointer(&tab[c*width]), 0.1)
			}
		}
	}
	b.Run("table-f32", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			pick(i, false)
			accRows(hidden, rb.rows, rb.a)
		}
	})
	b.Run("table-int8", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			pick(i, true)
			accRowsI8(hidden, rb.rows, rb.a)
		}
	})
	// The dense and output layers: every message reads all their rows (the output layer's non-zero
	// ones), so they stay in cache when they fit beside the table rows.
	layer := func(name string, dst []float32, rows, stride int) {
		b.Run(name+"-f32", func(b *testing.B) {
			rb.reset()
			for k := 0; k < rows; k++ {
				rb.add(unsafe.Pointer(&tab[k*stride]), 0.1)
			}
			for i := 0; i < b.N; i++ {
				accRows(dst, rb.rows, rb.a)
			}
		})
		b.Run(name+"-int8", func(b *testing.B) {
			rb.reset()
			for k := 0; k < rows; k++ {
				rb.add(unsafe.Pointer(&q[k*stride]), 0.1)
			}
			for i := 0; i < b.N; i++ {
				accRowsI8(dst, rb.rows, rb.a)
			}
		})
	}
	layer("dense-300", hidden, 300, width)
	layer("out-250", logits, 250, 2*151)
}
