//go:build amd64 && !purego

package intents

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// TestAccRowsKernels checks each assembly kernel this CPU can run against the Go loop, bit for bit
// (TestAccRowsSameAsAxpy sees only the one accRows picks).
func TestAccRowsKernels(t *testing.T) {
	type kernel struct {
		name string
		ok   bool
		f32  func([]float32, []unsafe.Pointer, []float32)
		i8   func([]float32, []unsafe.Pointer, []float32)
	}
	for _, k := range []kernel{
		{"avx2", hasAVX2, accRowsAVX2, accRowsI8AVX2},
		{"avx512", hasAVX512, accRowsAVX512, accRowsI8AVX512},
	} {
		t.Run(k.name, func(t *testing.T) {
			if !k.ok {
				t.Skipf("this CPU has no %s", k.name)
			}
			r := rand.New(rand.NewPCG(9, 10))
			for _, width := range []int{1, 7, 8, 15, 16, 17, 127, 128, 129, 151, 300, 512, 520} {
				for _, n := range []int{0, 1, 3, 130} {
					f := make([]float32, n*(width+1))
					q := make([]int8, n*(width+1))
					pf := make([]unsafe.Pointer, n)
					pq := make([]unsafe.Pointer, n)
					a := make([]float32, n)
					for i := range f {
						f[i] = float32(r.NormFloat64())
						q[i] = int8(r.IntN(255) - 127)
					}
					for i := range n {
						pf[i], pq[i] = unsafe.Pointer(&f[i*(width+1)]), unsafe.Pointer(&q[i*(width+1)])
						a[i] = float32(r.NormFloat64())
					}
					start := make([]float32, width)
					for j := range start {
						start[j] = float32(r.NormFloat64())
					}
					check := func(kind string, fn, ref func([]float32, []unsafe.Pointer, []float32), rows []unsafe.Pointer) {
						got := append([]float32(nil), start...)
						want := append([]float32(nil), start...)
						fn(got, rows, a)
						ref(want, rows, a)
						for j := range want {
							if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
								t.Fatalf("%s width %d, %d rows: element %d is %v, want %v", kind, width, n, j, got[j], want[j])
							}
						}
					}
					check("f32", k.f32, accRowsGeneric, pf)
					check("int8", k.i8, accRowsI8Generic, pq)
				}
			}
		})
	}
}
