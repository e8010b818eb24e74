package training

import (
	"context"
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"github.com/shopchat/shopchat/internal/torchrt"
)

// refAdam is lazy Adam in float64 for one table: rows absent from a step keep their value and moments;
// the step count is global.
type refAdam struct {
	p, m, v     [][]float64
	lr, wd      float64
	b1, b2, eps float64
	t           int
}

func (r *refAdam) step(rows []int64, grad [][]float64) {
	r.t++
	bc1, bc2 := 1-math.Pow(r.b1, float64(r.t)), 1-math.Pow(r.b2, float64(r.t))
	for k, row := range rows {
		for j, g := range grad[k] {
			r.m[row][j] = r.b1*r.m[row][j] + (1-r.b1)*g
			r.v[row][j] = r.b2*r.v[row][j] + (1-r.b2)*g*g
			r.p[row][j] -= r.lr*r.wd*r.p[row][j] + r.lr/bc1*r.m[row][j]/(math.Sqrt(r.v[row][j])/math.Sqrt(bc2)+r.eps)
		}
	}
}

func TestRowAdam(t *testing.T) {
	const rowsN, width = 6, 3
	tests := []struct {
		name  string
		wd    float64
		steps [][]int64 // the rows each step touches
	}{
		{"every row every step", 0, [][]int64{{0, 1, 2, 3, 4, 5}, {5, 4, 3, 2, 1, 0}, {0, 1, 2, 3, 4, 5}}},
		{"some rows", 0, [][]int64{{1, 3}, {3, 0}, {5}, {1, 2, 3}}},
		{"some rows, AdamW", 0.1, [][]int64{{1, 3}, {3, 0}, {5}, {1, 2, 3}}},
	}
	w := torchrt.NewWorker()
	defer w.Close()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := w.Do(context.Background(), func() error {
				rng := rand.New(rand.NewSource(7))
				init := make([]float32, rowsN*width)
				ref := &refAdam{lr: 0.01, wd: tc.wd, b1: 0.9, b2: 0.999, eps: 1e-8}
				for r := 0; r < rowsN; r++ {
					ref.p = append(ref.p, make([]float64, width))
					ref.m = append(ref.m, make([]float64, width))
					ref.v = append(ref.v, make([]float64, width))
					for j := 0; j < width; j++ {
						init[r*width+j] = float32(rng.NormFloat64())
						ref.p[r][j] = float64(init[r*width+j])
					}
				}
				table := ts.MustOfSlice(init).MustView([]int64{rowsN, width}, true)
				defer table.MustDrop()
				a := newRowAdam(table, ref.lr, tc.wd)
				defer a.close()
				for _, rows := range tc.steps {
					g := make([]float32, len(rows)*width)
					gr := make([][]float64, len(rows))
					for k := range rows {
						gr[k] = make([]float64, width)
						for j := range gr[k] {
							g[k*width+j] = float32(rng.NormFloat64())
							gr[k][j] = float64(g[k*width+j])
						}
					}
					rt, gt := ts.MustOfSlice(rows), ts.MustOfSlice(g).MustView([]int64{int64(len(rows)), width}, true)
					if err := a.step(rt, gt); err != nil {
						t.Fatal(err)
					}
					rt.MustDrop()
					gt.MustDrop()
					ref.step(rows, gr)
				}
				got := table.Float64Values()
				for r := 0; r < rowsN; r++ {
					for j := 0; j < width; j++ {
						if d := math.Abs(got[r*width+j] - ref.p[r][j]); d > 1e-5 {
							t.Errorf("row %d col %d = %v, want %v", r, j, got[r*width+j], ref.p[r][j])
						}
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRowAdamMatchesLibtorch checks the formula against libtorch's own Adam and AdamW: when every step
// touches every row, lazy Adam is Adam.
func TestRowAdamMatchesLibtorch(t *testing.T) {
	for _, wd := range []float64{0, 0.05} {
		w := torchrt.NewWorker()
		err := w.Do(context.Background(), func() error {
			torchrt.ManualSeed(3)
			vs := nn.NewVarStore(gotch.CPU)
			defer vs.Destroy()
			p := vs.Root().MustRandn("p", []int64{4, 5}, 0, 1)
			q := p.MustDetach(false).MustContiguous(true)
			defer q.MustDrop()
			var opt *nn.Optimizer
			var err error
			if wd > 0 {
				opt, err = nn.NewAdamWConfig(0.9, 0.999, wd).Build(vs, 0.02)
			} else {
				opt, err = nn.DefaultAdamConfig().Build(vs, 0.02)
			}
			if err != nil {
				return err
			}
			a := newRowAdam(q, 0.02, wd)
			defer a.close()
			all := ts.MustOfSlice([]int64{0, 1, 2, 3})
			defer all.MustDrop()
			for s := 0; s < 4; s++ {
				// loss = sum(p² · c): a gradient that differs per element and step.
				c := ts.MustRandn([]int64{4, 5}, gotch.Float, gotch.CPU)
				loss := p.MustMul(p, false).MustMul(c, true).MustSum(gotch.Float, true)
				if err := opt.BackwardStep(loss); err != nil {
					return err
				}
				loss.MustDrop()
				// The same gradient for q: 2·q·c.
				g := q.MustMul(c, false).MustMulScalar(ts.FloatScalar(2), true)
				if err := a.step(all, g); err != nil {
					return err
				}
				g.MustDrop()
				c.MustDrop()
			}
			pv, qv := p.Float64Values(), q.Float64Values()
			for i := range pv {
				if math.Abs(pv[i]-qv[i]) > 1e-5 {
					t.Errorf("weight decay %v: element %d: libtorch %v, rowAdam %v", wd, i, pv[i], qv[i])
				}
			}
			return nil
		})
		w.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestLocalise(t *testing.T) {
	l := newLocaliser(10)
	for _, tc := range []struct {
		idx, want, uniq []int64
	}{
		{[]int64{4, 2, 4, 9, 2}, []int64{0, 1, 0, 2, 1}, []int64{4, 2, 9}},
		{[]int64{0}, []int64{0}, []int64{0}},
		{[]int64{9, 9, 9}, []int64{0, 0, 0}, []int64{9}},
		{[]int64{2, 4}, []int64{0, 1}, []int64{2, 4}}, // nothing left over from earlier batches
	} {
		idx := append([]int64(nil), tc.idx...)
		uniq := l.localise(idx)
		if !slices.Equal(idx, tc.want) || !slices.Equal(uniq, tc.uniq) {
			t.Errorf("localise(%v) = %v, %v; want %v, %v", tc.idx, idx, uniq, tc.want, tc.uniq)
		}
	}
}

func TestMakeBag(t *testing.T) {
	v := &vecSet{
		idx:   [][]int32{{1, 2}, {}, {3, 4, 5}},
		val:   [][]float32{{0.5, 0.5}, {}, {0.1, 0.2, 0.3}},
		dense: [][]float32{{1, 2}, nil, {3, 4}},
		dim:   2,
		y:     []int64{0, 1, 2},
	}
	tests := []struct {
		name        string
		rows        []int
		idx, off, y []int64
		val, dense  []float32
	}{
		{"all", []int{0, 1, 2}, []int64{1, 2, 3, 4, 5}, []int64{0, 2, 2}, []int64{0, 1, 2},
			[]float32{0.5, 0.5, 0.1, 0.2, 0.3}, []float32{1, 2, 0, 0, 3, 4}},
		{"reordered", []int{2, 0}, []int64{3, 4, 5, 1, 2}, []int64{0, 3}, []int64{2, 0},
			[]float32{0.1, 0.2, 0.3, 0.5, 0.5}, []float32{3, 4, 1, 2}},
		{"no features: padding column", []int{1}, []int64{0}, []int64{0}, []int64{1},
			[]float32{0}, []float32{0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := makeBag(v, tc.rows, 0, nil)
			if !slices.Equal(b.idx, tc.idx) || !slices.Equal(b.off, tc.off) || !slices.Equal(b.y, tc.y) ||
				!slices.Equal(b.val, tc.val) || !slices.Equal(b.dense, tc.dense) {
				t.Fatalf("makeBag = %+v", b)
			}
		})
	}
	// With dropout every kept feature keeps its weight, and the offsets still split the messages.
	b := makeBag(v, []int{0, 1, 2}, 0.5, rand.New(rand.NewSource(1)))
	if len(b.off) != 3 || b.off[0] != 0 || b.off[1] > b.off[2] || int(b.off[2]) > len(b.idx) {
		t.Fatalf("offsets %v for %d features", b.off, len(b.idx))
	}
	for i, c := range b.idx {
		want := map[int64]float32{0: 0, 1: 0.5, 2: 0.5, 3: 0.1, 4: 0.2, 5: 0.3}[c]
		if b.val[i] != want {
			t.Fatalf("feature %d weight %v, want %v", c, b.val[i], want)
		}
	}
}
