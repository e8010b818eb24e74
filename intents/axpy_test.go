package intents

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAxpySameAsPlainLoop: axpy (assembly where there is one) gives bit for bit what the plain Go
// loop gives, for every length and tail.
func TestAxpySameAsPlainLoop(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 37, 64, 255, 256, 257} {
		x := make([]float32, n+3) // longer than dst, as embedding rows are sliced
		want := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		for i := range want {
			want[i] = float32(r.NormFloat64() * 10)
		}
		got := append([]float32(nil), want...)
		a := float32(r.NormFloat64())
		for i := range want {
			want[i] += a * x[i]
		}
		axpy(got, x, a)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("n=%d: element %d is %v, want %v", n, i, got[i], want[i])
			}
		}
		if g := append([]float32(nil), got...); len(g) > 0 {
			axpyGeneric(g, x, a)
			axpy(got, x, a)
			for i := range g {
				if math.Float32bits(got[i]) != math.Float32bits(g[i]) {
					t.Fatalf("n=%d: element %d is %v, generic %v", n, i, got[i], g[i])
				}
			}
		}
	}
}

func BenchmarkAxpy256(b *testing.B) {
	dst, x := make([]float32, 256), make([]float32, 256)
	for i := range x {
		x[i] = float32(i)
	}
	b.Run("generic", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			axpyGeneric(dst, x, 0.5)
		}
	})
	b.Run("axpy", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			axpy(dst, x, 0.5)
		}
	})
}
