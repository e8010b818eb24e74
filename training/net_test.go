package training

import (
	"math"
	"math/rand"
	"testing"
)

func TestMixBatch(t *testing.T) {
	const oos = 3
	v := &vecSet{
		idx:   [][]int32{{1, 2}, {3}, {4, 5, 6}, {7}, {8}},
		val:   [][]float32{{0.6, 0.8}, {1}, {0.5, 0.5, 0.5}, {1}, {1}},
		dense: [][]float32{{1, 0}, nil, {0, 1}, {1, 1}, {2, 2}},
		dim:   2,
		y:     []int64{0, 1, 2, oos, 0},
	}
	tests := []struct {
		name  string
		rows  []int
		share float64
		want  int // synthetic rows
	}{
		{"none", []int{0, 1, 2, 3, 4}, 0, 0},
		{"two in five", []int{0, 1, 2, 3, 4}, 0.4, 2},
		{"as many as the batch", []int{0, 1, 2, 3, 4}, 1, 5},
		{"one intent only: nothing to mix", []int{0, 4, 3}, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := mixBatch(v, tc.rows, tc.share, oos, 0, rand.New(rand.NewSource(1)))
			if out.len() != tc.want || len(out.idx) != tc.want || len(out.val) != tc.want || len(out.dense) != tc.want {
				t.Fatalf("%d synthetic examples, want %d", out.len(), tc.want)
			}
			for i := 0; i < out.len(); i++ {
				if out.y[i] != oos {
					t.Fatalf("synthetic row %d labelled %d, want %d", i, out.y[i], oos)
				}
				// Find the two sources from the feature columns (each column belongs to one example).
				var src []int
				for r := range v.idx {
					for _, c := range out.idx[i] {
						if c == v.idx[r][0] {
							src = append(src, r)
						}
					}
				}
				if len(src) != 2 || v.y[src[0]] == v.y[src[1]] || v.y[src[0]] == oos || v.y[src[1]] == oos {
					t.Fatalf("synthetic row %d mixes %v", i, src)
				}
				a, b := src[0], src[1]
				if out.idx[i][0] != v.idx[a][0] {
					a, b = b, a
				}
				lam := float64(out.val[i][0] / v.val[a][0])
				if lam < 0.3-1e-6 || lam > 0.7+1e-6 {
					t.Fatalf("λ = %v", lam)
				}
				// Every sparse weight and dense value is the λ mixture.
				for j := range v.val[a] {
					if math.Abs(float64(out.val[i][j])-lam*float64(v.val[a][j])) > 1e-6 {
						t.Fatalf("sparse weight %d of a not scaled by λ", j)
					}
				}
				for j := range v.val[b] {
					if math.Abs(float64(out.val[i][len(v.val[a])+j])-(1-lam)*float64(v.val[b][j])) > 1e-6 {
						t.Fatalf("sparse weight %d of b not scaled by 1-λ", j)
					}
				}
				for j := 0; j < v.dim; j++ {
					want := 0.0
					if v.dense[a] != nil {
						want += lam * float64(v.dense[a][j])
					}
					if v.dense[b] != nil {
						want += (1 - lam) * float64(v.dense[b][j])
					}
					if math.Abs(float64(out.dense[i][j])-want) > 1e-6 {
						t.Fatalf("dense value %d = %v, want %v", j, out.dense[i][j], want)
					}
				}
			}
		})
	}
}

func TestWithPseudoOOS(t *testing.T) {
	const oos = 2
	v := &vecSet{
		idx: [][]int32{{1, 2, 3}, {4, 5, 6}, {7}},
		val: [][]float32{{0.1, 0.9, 0.3}, {0.8, 0.2, 0.7}, {1}},
		y:   []int64{0, 1, oos},
	}
	out, rows := withPseudoOOS(v, []int{0, 1, 2}, 1, oos, rand.New(rand.NewSource(3)))
	if len(rows) != out.len() || out.len() <= 3 {
		t.Fatalf("%d rows for %d examples, want the 3 batch rows and synthetic ones", len(rows), out.len())
	}
	for i := 0; i < 3; i++ {
		if out.y[i] != v.y[i] || len(out.idx[i]) != len(v.idx[i]) {
			t.Fatalf("batch row %d changed", i)
		}
	}
	for i := 3; i < out.len(); i++ {
		// a and b have 3 features each; the batch's longest has 3, so the 3 of largest weight stay:
		// columns 2 (0.9·λ) and 4 (0.8·(1-λ)) always, then 6 or 3.
		if out.y[i] != oos || len(out.idx[i]) != 3 {
			t.Fatalf("synthetic row %d: label %d, %d features, want %d and 3", i, out.y[i], len(out.idx[i]), oos)
		}
		has := map[int32]bool{}
		for _, c := range out.idx[i] {
			has[c] = true
		}
		if !has[2] || !has[4] || has[1] || has[5] {
			t.Fatalf("synthetic row %d keeps columns %v", i, out.idx[i])
		}
	}
}

func TestKeepLargest(t *testing.T) {
	for _, tc := range []struct {
		val  []float32
		n    int
		want []int32
	}{
		{[]float32{0.1, 0.5, 0.3, 0.9}, 2, []int32{11, 13}},
		{[]float32{0.1, 0.5, 0.3, 0.9}, 4, []int32{10, 11, 12, 13}},
		{[]float32{0.2, 0.2, 0.2}, 2, []int32{10, 11}},
	} {
		idx := make([]int32, len(tc.val))
		for i := range idx {
			idx[i] = int32(10 + i)
		}
		gi, gv := keepLargest(idx, tc.val, tc.n)
		if len(gi) != len(tc.want) {
			t.Fatalf("keepLargest(%v, %d) = %v", tc.val, tc.n, gi)
		}
		for i := range gi {
			if gi[i] != tc.want[i] || gv[i] != tc.val[gi[i]-10] {
				t.Fatalf("keepLargest(%v, %d) = %v %v, want columns %v", tc.val, tc.n, gi, gv, tc.want)
			}
		}
	}
}
