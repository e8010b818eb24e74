package training

import (
	"math"

	"github.com/sugarme/gotch/ts"

	"github.com/shopchat/shopchat/internal/torchrt"
)

// rowAdam is Adam (AdamW with weightDecay > 0) for an embedding table whose gradient, on each step,
// touches only the rows of the batch's features: it updates those rows and their moments and leaves the
// others as they are ("lazy" Adam, as PyTorch's SparseAdam and TensorFlow's LazyAdam do). A batch of
// CLINC150 touches about a fifth of the table, and libtorch's dense Adam reads and writes the whole
// table and both moments on every step, which was the most expensive part of training. The step
// count, and with it the bias corrections, is global, as in SparseAdam. Not safe for concurrent use:
// keep it on the training's locked thread.
type rowAdam struct {
	table, m, v *ts.Tensor // [R, W]; m and v are the first and second moments
	lr, wd      float64
	b1, b2, eps float64
	t           int
}

// newRowAdam keeps the moments of table (a tensor that no other optimiser updates).
func newRowAdam(table *ts.Tensor, lr, weightDecay float64) *rowAdam {
	a := &rowAdam{table: table, lr: lr, wd: weightDecay, b1: 0.9, b2: 0.999, eps: 1e-8}
	ts.NoGrad(func() {
		a.m = table.MustZerosLike(false)
		a.v = table.MustZerosLike(false)
	})
	return a
}

// step applies one update to the rows [U] (int64, distinct) of the table, whose gradient is grad
// [U, W], with the formula of libtorch's Adam and AdamW.
func (a *rowAdam) step(rows, grad *ts.Tensor) error {
	a.t++
	bc1 := 1 - math.Pow(a.b1, float64(a.t))
	bc2 := 1 - math.Pow(a.b2, float64(a.t))
	var err error
	// Every temporary tensor and scalar is held in a variable and dropped after its last use: gotch puts
	// finalizers on both, and one that is unreachable while its C pointer is in use by an op can be
	// freed by the garbage collector in the middle of that op (a crash in atg_add was seen).
	sc := func(v float64) *ts.Scalar { return ts.FloatScalar(v) }
	sB1, sB1c, sB2, sB2c := sc(a.b1), sc(1-a.b1), sc(a.b2), sc(1-a.b2)
	sBc2, sEps, sStep := sc(math.Sqrt(bc2)), sc(a.eps), sc(-a.lr/bc1)
	defer func() {
		for _, s := range []*ts.Scalar{sB1, sB1c, sB2, sB2c, sBc2, sEps, sStep} {
			s.MustDrop()
		}
	}()
	ts.NoGrad(func() {
		// m = b1·m + (1-b1)·g; v = b2·v + (1-b2)·g²
		mOld := a.m.MustIndexSelect(0, rows, false)
		mDec := mOld.MustMulScalar(sB1, false)
		gPart := grad.MustMulScalar(sB1c, false)
		m := mDec.MustAdd(gPart, false)
		g2 := grad.MustMul(grad, false)
		g2Part := g2.MustMulScalar(sB2c, false)
		vOld := a.v.MustIndexSelect(0, rows, false)
		vDec := vOld.MustMulScalar(sB2, false)
		v := vDec.MustAdd(g2Part, false)
		dropAll(mOld, mDec, gPart, g2, g2Part, vOld, vDec)
		defer dropAll(m, v)
		if err = torchrt.IndexCopy(a.m, rows, m); err != nil {
			return
		}
		if err = torchrt.IndexCopy(a.v, rows, v); err != nil {
			return
		}
		// p -= lr·wd·p (AdamW); p -= lr/bc1 · m / (sqrt(v)/sqrt(bc2) + eps)
		root := v.MustSqrt(false)
		scaled := root.MustDivScalar(sBc2, false)
		den := scaled.MustAddScalar(sEps, false)
		ratio := m.MustDiv(den, false)
		upd := ratio.MustMulScalar(sStep, false)
		dropAll(root, scaled, den, ratio)
		if a.wd > 0 {
			sWd := sc(-a.lr * a.wd)
			p := a.table.MustIndexSelect(0, rows, false)
			pPart := p.MustMulScalar(sWd, false)
			withWd := upd.MustAdd(pPart, false)
			dropAll(p, pPart, upd)
			sWd.MustDrop()
			upd = withWd
		}
		err = torchrt.IndexAdd(a.table, rows, upd)
		upd.MustDrop()
	})
	return err
}

// close frees the moments.
func (a *rowAdam) close() {
	a.m.MustDrop()
	a.v.MustDrop()
}
