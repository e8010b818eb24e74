package training

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"github.com/shopchat/shopchat/intents"
	"github.com/shopchat/shopchat/internal/torchrt"
)

// vecSet is vectorised data: one sparse TF-IDF vector, its dense features (word vectors; nil rows when
// the featurizer has none or no word had a vector; dim 0 without word vectors) and one label index per
// example.
type vecSet struct {
	idx   [][]int32
	val   [][]float32
	dense [][]float32
	dim   int
	y     []int64
}

func (v *vecSet) len() int { return len(v.y) }

// netOptions is what trainNet needs.
type netOptions struct {
	net         intents.NetConfig
	seed        int64
	epochs      int
	patience    int
	batch       int
	lr          float64
	weightDecay float64
	featureDrop float64
	smoothing   float64 // label smoothing
	name        string  // for the progress bar
	progress    io.Writer
}

// epochStat is one epoch of training.
type epochStat struct {
	Epoch   int     `json:"epoch"`
	Loss    float64 `json:"loss"`
	ValAcc  float64 `json:"val_accuracy"`
	Seconds float64 `json:"seconds"`
}

// trainNet trains one network on w's locked thread with Adam, shuffled mini-batches and feature dropout,
// evaluates accuracy on val after every epoch and stops after `patience` epochs without improvement,
// returning the weights of the best epoch. Deterministic for a seed (and a thread count).
func trainNet(ctx context.Context, w *torchrt.Worker, train, val *vecSet, o netOptions) (*intents.Weights, []epochStat, error) {
	var best *intents.Weights
	var hist []epochStat
	err := w.Do(ctx, func() error {
		torchrt.ManualSeed(o.seed)
		vs := nn.NewVarStore(gotch.CPU)
		defer vs.Destroy()
		net, err := intents.NewNetwork(vs.Root(), o.net)
		if err != nil {
			return err
		}
		var opt *nn.Optimizer
		if o.weightDecay > 0 {
			opt, err = nn.NewAdamWConfig(0.9, 0.999, o.weightDecay).Build(vs, o.lr)
		} else {
			opt, err = nn.DefaultAdamConfig().Build(vs, o.lr)
		}
		if err != nil {
			return err
		}
		rng := rand.New(rand.NewSource(o.seed))
		steps := (train.len() + o.batch - 1) / o.batch
		var bar *progressbar.ProgressBar
		if o.progress != nil {
			bar = progressbar.NewOptions(o.epochs*steps,
				progressbar.OptionSetWriter(o.progress),
				progressbar.OptionSetDescription(o.name),
				progressbar.OptionSetWidth(24),
				progressbar.OptionShowCount(),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionThrottle(200*time.Millisecond),
				progressbar.OptionSetRenderBlankState(true),
			)
		}
		bestAcc, since := -1.0, 0
		order := make([]int, train.len())
		for i := range order {
			order[i] = i
		}
		for epoch := 1; epoch <= o.epochs; epoch++ {
			start := time.Now()
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			var lossSum float64
			for s := 0; s < steps; s++ {
				if err := ctx.Err(); err != nil {
					return err
				}
				lo, hi := s*o.batch, min((s+1)*o.batch, len(order))
				idx, val, dense, y := batchTensors(train, order[lo:hi], o.featureDrop, rng)
				mask := dropoutMask(hi-lo, o.net.Hidden, o.net.Dropout, rng)
				logits := net.ForwardT(idx, val, dense, mask)
				if mask != nil {
					mask.MustDrop()
				}
				loss := lossFor(logits, y, o.smoothing)
				if err := opt.BackwardStep(loss); err != nil {
					return err
				}
				lossSum += loss.Float64Values()[0]
				loss.MustDrop()
				logits.MustDrop()
				idx.MustDrop()
				val.MustDrop()
				if dense != nil {
					dense.MustDrop()
				}
				y.MustDrop()
				if bar != nil {
					bar.Add(1)
				}
			}
			acc := accuracy(net, val)
			st := epochStat{Epoch: epoch, Loss: lossSum / float64(steps), ValAcc: acc, Seconds: time.Since(start).Seconds()}
			hist = append(hist, st)
			if bar != nil {
				bar.Describe(fmt.Sprintf("%s epoch %d loss %.3f val acc %.4f", o.name, epoch, st.Loss, acc))
			}
			if acc > bestAcc {
				bestAcc, since = acc, 0
				if best, err = net.Weights(); err != nil {
					return err
				}
			} else if since++; since >= o.patience {
				break
			}
		}
		if bar != nil {
			bar.Finish()
			fmt.Fprintln(o.progress)
		}
		return nil
	})
	return best, hist, err
}

// lossFor is the mean cross-entropy of logits against y, with label smoothing eps: (1-eps) times the
// negative log-likelihood plus eps times the mean negative log-probability over all classes.
func lossFor(logits, y *ts.Tensor, eps float64) *ts.Tensor {
	if eps <= 0 {
		return logits.CrossEntropyForLogits(y)
	}
	lsm := logits.MustLogSoftmax(-1, gotch.Float, false)
	nll := lsm.MustNllLoss(y, ts.NewTensor(), 1, -100, false)
	smooth := lsm.MustMean(gotch.Float, true).MustMulScalar(ts.FloatScalar(-eps), true)
	return nll.MustMulScalar(ts.FloatScalar(1-eps), true).MustAdd(smooth, true)
}

// batchTensors builds idx [B,T] int64, val [B,T,1] float, dense [B,dim] float (nil when v has no dense
// features) and y [B] int64 for the examples rows of v, dropping each sparse feature and each dense
// value with probability drop (training-time feature dropout).
func batchTensors(v *vecSet, rows []int, drop float64, rng *rand.Rand) (idxT, valT, denseT, yT *ts.Tensor) {
	t := 1
	for _, r := range rows {
		t = max(t, len(v.idx[r]))
	}
	b := len(rows)
	idx := make([]int64, b*t)
	val := make([]float32, b*t)
	y := make([]int64, b)
	for i, r := range rows {
		k := 0
		for j, c := range v.idx[r] {
			if drop > 0 && rng.Float64() < drop {
				continue
			}
			idx[i*t+k] = int64(c)
			val[i*t+k] = v.val[r][j]
			k++
		}
		y[i] = v.y[r]
	}
	it := ts.MustOfSlice(idx).MustView([]int64{int64(b), int64(t)}, true)
	vt := ts.MustOfSlice(val).MustView([]int64{int64(b), int64(t), 1}, true)
	yt := ts.MustOfSlice(y)
	var dt *ts.Tensor
	if v.dim > 0 {
		d := make([]float32, b*v.dim)
		for i, r := range rows {
			row := d[i*v.dim : (i+1)*v.dim]
			copy(row, v.dense[r])
			if drop > 0 && v.dense[r] != nil {
				for k := range row {
					if rng.Float64() < drop {
						row[k] = 0
					}
				}
			}
		}
		dt = ts.MustOfSlice(d).MustView([]int64{int64(b), int64(v.dim)}, true)
	}
	return it, vt, dt, yt
}

// dropoutMask is an inverted-dropout mask [b, hidden] (entries 0 or 1/(1-p)) from rng, or nil when
// there is no hidden layer or no dropout.
func dropoutMask(b, hidden int, p float64, rng *rand.Rand) *ts.Tensor {
	if hidden == 0 || p <= 0 {
		return nil
	}
	m := make([]float32, b*hidden)
	keep := float32(1 / (1 - p))
	for i := range m {
		if rng.Float64() >= p {
			m[i] = keep
		}
	}
	return ts.MustOfSlice(m).MustView([]int64{int64(b), int64(hidden)}, true)
}

// accuracy scores net on v (argmax over every class) without gradients.
func accuracy(net *intents.Network, v *vecSet) float64 {
	if v.len() == 0 {
		return 0
	}
	correct := 0
	const chunk = 1024
	rows := make([]int, 0, chunk)
	ts.NoGrad(func() {
		for lo := 0; lo < v.len(); lo += chunk {
			rows = rows[:0]
			for r := lo; r < min(lo+chunk, v.len()); r++ {
				rows = append(rows, r)
			}
			idx, val, dense, y := batchTensors(v, rows, 0, nil)
			logits := net.ForwardT(idx, val, dense, nil)
			if dense != nil {
				dense.MustDrop()
			}
			pred := logits.MustArgmax([]int64{-1}, false, true).Int64Values()
			for i, p := range pred {
				if p == v.y[rows[i]] {
					correct++
				}
			}
			idx.MustDrop()
			val.MustDrop()
			y.MustDrop()
		}
	})
	return float64(correct) / float64(v.len())
}

// fitTemperature finds the temperature that minimises the negative log-likelihood of labels y under
// softmax(logits / T) (a grid over [0.05, 20], log-spaced, refined once).
func fitTemperature(logits [][]float64, y []int) float64 {
	if len(logits) == 0 {
		return 1
	}
	nll := func(t float64) float64 {
		var s float64
		for i, l := range logits {
			mx := math.Inf(-1)
			for _, v := range l {
				mx = math.Max(mx, v/t)
			}
			var z float64
			for _, v := range l {
				z += math.Exp(v/t - mx)
			}
			s += math.Log(z) + mx - l[y[i]]/t
		}
		return s / float64(len(logits))
	}
	best, bestV := 1.0, math.Inf(1)
	for e := -3.0; e <= 3.0; e += 0.1 {
		t := math.Exp(e)
		if v := nll(t); v < bestV {
			best, bestV = t, v
		}
	}
	lo, hi := best*math.Exp(-0.1), best*math.Exp(0.1)
	for i := 0; i <= 20; i++ {
		t := lo + (hi-lo)*float64(i)/20
		if v := nll(t); v < bestV {
			best, bestV = t, v
		}
	}
	return best
}
