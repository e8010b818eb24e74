package training

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand"
	"runtime"
	"sort"
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
	// pseudoOOS adds this many synthetic out-of-scope examples per training example to every batch
	// (0: none): mixtures of two examples of different intents, labelled oosIndex (see mixBatch).
	pseudoOOS float64
	oosIndex  int
	// denseTable trains the embedding table with libtorch's Adam over the whole table (Options.TableDense)
	// instead of rowAdam.
	denseTable bool
	name       string // for the progress bar
	progress   io.Writer
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
		// The embedding table lives in its own store: rowAdam updates the rows each batch touches, and
		// libtorch's Adam the rest of the network.
		vs, tvs := nn.NewVarStore(gotch.CPU), nn.NewVarStore(gotch.CPU)
		defer vs.Destroy()
		defer tvs.Destroy()
		tablePath := tvs.Root().Sub("emb")
		if o.denseTable {
			tablePath = vs.Root().Sub("emb") // the optimiser's store: libtorch's Adam updates it all
		}
		net, err := intents.NewNetworkTable(vs.Root(), tablePath, o.net)
		if err != nil {
			return err
		}
		var tableOpt *rowAdam
		if !o.denseTable {
			tableOpt = newRowAdam(net.Table(), o.lr, o.weightDecay)
			defer tableOpt.close()
		}
		scratch := newLocaliser(o.net.Inputs)
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
				src, rows := train, order[lo:hi]
				if o.pseudoOOS > 0 {
					src, rows = withPseudoOOS(train, rows, o.pseudoOOS, int64(o.oosIndex), rng)
				}
				l, err := trainStep(net, opt, tableOpt, scratch, src, rows, o, rng)
				if err != nil {
					return err
				}
				lossSum += l
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
	// Temporaries are held and dropped after their last use (see rowAdam.step: gotch's finalizers can
	// free an unreachable tensor or scalar in the middle of the op that reads it).
	lsm := logits.MustLogSoftmax(-1, gotch.Float, false)
	none := ts.NewTensor()
	nll := lsm.MustNllLoss(y, none, 1, -100, false)
	mean := lsm.MustMean(gotch.Float, false)
	sSmooth, sNll := ts.FloatScalar(-eps), ts.FloatScalar(1-eps)
	smooth := mean.MustMulScalar(sSmooth, false)
	nllW := nll.MustMulScalar(sNll, false)
	loss := nllW.MustAdd(smooth, false)
	dropAll(lsm, nll, mean, smooth, nllW)
	sSmooth.MustDrop()
	sNll.MustDrop()
	runtime.KeepAlive(none)
	return loss
}

// trainStep runs one step on rows of v: the forward pass over the batch's rows of the embedding table
// with feature dropout and a hidden dropout mask, the backward pass, libtorch's Adam on the rest of
// the network and rowAdam on those rows. With tableOpt nil the table is in opt's store: the forward
// pass reads the whole table and opt updates it all. It returns the batch's loss.
func trainStep(net *intents.Network, opt *nn.Optimizer, tableOpt *rowAdam, loc *localiser, v *vecSet, rows []int, o netOptions, rng *rand.Rand) (float64, error) {
	b := makeBag(v, rows, o.featureDrop, rng)
	var uT, leaf *ts.Tensor // the batch's rows of the table and their leaf copy (row-wise Adam only)
	if tableOpt != nil {
		uT = ts.MustOfSlice(loc.localise(b.idx))
		defer uT.MustDrop()
		ts.NoGrad(func() { leaf = net.Table().MustIndexSelect(0, uT, false) })
		leaf = leaf.MustSetRequiresGrad(true, true)
		defer leaf.MustDrop()
	}
	idx, off, val, dense, y := b.tensors()
	defer dropAll(idx, off, val, dense, y)
	mask := dropoutMask(len(rows), o.net.Hidden, o.net.Dropout, rng)
	logits := net.ForwardBag(leaf, idx, off, val, dense, mask) // leaf nil: the whole table
	if mask != nil {
		mask.MustDrop()
	}
	loss := lossFor(logits, y, o.smoothing)
	logits.MustDrop()
	defer loss.MustDrop()
	if err := opt.BackwardStep(loss); err != nil {
		return 0, err
	}
	if tableOpt != nil {
		grad := leaf.MustGrad(false)
		defer grad.MustDrop()
		if err := tableOpt.step(uT, grad); err != nil {
			return 0, err
		}
	}
	return loss.Float64Values()[0], nil
}

func dropAll(t ...*ts.Tensor) {
	for _, x := range t {
		if x != nil {
			x.MustDrop()
		}
	}
}

// withPseudoOOS returns a vecSet holding the batch rows of v followed by the synthetic out-of-scope
// examples of mixBatch, and the row numbers to train on. A synthetic example keeps at most as many
// sparse features as the batch's longest message (those of largest weight), so the padded width of the
// batch, and with it the cost of the step, does not grow.
func withPseudoOOS(v *vecSet, rows []int, share float64, oos int64, rng *rand.Rand) (*vecSet, []int) {
	out := &vecSet{dim: v.dim}
	width := 1
	for _, r := range rows {
		out.idx = append(out.idx, v.idx[r])
		out.val = append(out.val, v.val[r])
		if v.dim > 0 {
			out.dense = append(out.dense, v.dense[r])
		}
		out.y = append(out.y, v.y[r])
		width = max(width, len(v.idx[r]))
	}
	mix := mixBatch(v, rows, share, oos, width, rng)
	out.idx = append(out.idx, mix.idx...)
	out.val = append(out.val, mix.val...)
	out.dense = append(out.dense, mix.dense...)
	out.y = append(out.y, mix.y...)
	all := make([]int, out.len())
	for i := range all {
		all[i] = i
	}
	return out, all
}

// mixBatch returns round(share × len(rows)) synthetic out-of-scope examples labelled oos. Each is a
// convex mixture λ·a + (1-λ)·b, λ uniform in [0.3, 0.7], of two batch examples a and b of different
// in-scope intents. The network's hidden pre-activation is linear in its input (embedding rows scaled by
// their weights and summed, plus the dense map, plus one bias), so concatenating a's and b's sparse
// features with their weights scaled by λ and 1-λ (and mixing the dense features) gives exactly the
// mixture of their hidden pre-activations: the synthetic points lie between intents, where out-of-scope
// messages that share words with several intents fall (pseudo outliers by convex combination, as in
// Zhan et al., ACL 2021). Taught that this space is out of scope, the network lowers its confidence
// there. Fewer come back when the batch holds too few intents to pair. A mixture keeps at most width
// sparse features, those of largest weight (width <= 0: all).
func mixBatch(v *vecSet, rows []int, share float64, oos int64, width int, rng *rand.Rand) *vecSet {
	n := int(math.Round(share * float64(len(rows))))
	out := &vecSet{dim: v.dim}
	for k, tries := 0, 0; k < n && tries < 20*n; tries++ {
		a, b := rows[rng.Intn(len(rows))], rows[rng.Intn(len(rows))]
		if v.y[a] == v.y[b] || v.y[a] == oos || v.y[b] == oos {
			continue
		}
		lam := float32(0.3 + 0.4*rng.Float64())
		idx := append(append(make([]int32, 0, len(v.idx[a])+len(v.idx[b])), v.idx[a]...), v.idx[b]...)
		val := make([]float32, 0, len(idx))
		for _, x := range v.val[a] {
			val = append(val, lam*x)
		}
		for _, x := range v.val[b] {
			val = append(val, (1-lam)*x)
		}
		if width > 0 && len(idx) > width {
			idx, val = keepLargest(idx, val, width)
		}
		out.idx, out.val, out.y = append(out.idx, idx), append(out.val, val), append(out.y, oos)
		if v.dim > 0 {
			var d []float32
			if v.dense[a] != nil || v.dense[b] != nil {
				d = make([]float32, v.dim)
				for i := range d {
					if v.dense[a] != nil {
						d[i] += lam * v.dense[a][i]
					}
					if v.dense[b] != nil {
						d[i] += (1 - lam) * v.dense[b][i]
					}
				}
			}
			out.dense = append(out.dense, d)
		}
		k++
	}
	return out
}

// keepLargest returns the n entries of largest weight, in their original order.
func keepLargest(idx []int32, val []float32, n int) ([]int32, []float32) {
	order := make([]int, len(idx))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return val[order[a]] > val[order[b]] })
	keep := order[:n]
	sort.Ints(keep)
	ki, kv := make([]int32, n), make([]float32, n)
	for i, j := range keep {
		ki[i], kv[i] = idx[j], val[j]
	}
	return ki, kv
}

// bag is a batch in ForwardBag's flat form (Go side): idx [N] feature columns, off [B] where each
// message's columns start, val [N] their weights, dense [B·dim] (nil when the set has no dense features)
// and y [B].
type bag struct {
	idx, off, y []int64
	val, dense  []float32
	dim         int
}

// makeBag builds the batch of the examples rows of v, dropping each sparse feature and each dense value
// with probability drop (training-time feature dropout; rng may be nil when drop is 0). A batch whose
// messages have no features at all gets column 0 (padding) with weight 0: embedding_bag needs an index.
func makeBag(v *vecSet, rows []int, drop float64, rng *rand.Rand) *bag {
	n := 0
	for _, r := range rows {
		n += len(v.idx[r])
	}
	b := &bag{idx: make([]int64, 0, n+1), val: make([]float32, 0, n+1), off: make([]int64, len(rows)),
		y: make([]int64, len(rows)), dim: v.dim}
	for i, r := range rows {
		b.off[i] = int64(len(b.idx))
		for j, c := range v.idx[r] {
			if drop > 0 && rng.Float64() < drop {
				continue
			}
			b.idx = append(b.idx, int64(c))
			b.val = append(b.val, v.val[r][j])
		}
		b.y[i] = v.y[r]
	}
	if len(b.idx) == 0 {
		b.idx, b.val = append(b.idx, 0), append(b.val, 0)
	}
	if v.dim > 0 {
		b.dense = make([]float32, len(rows)*v.dim)
		for i, r := range rows {
			row := b.dense[i*v.dim : (i+1)*v.dim]
			copy(row, v.dense[r])
			if drop > 0 && v.dense[r] != nil {
				for k := range row {
					if rng.Float64() < drop {
						row[k] = 0
					}
				}
			}
		}
	}
	return b
}

// tensors returns the batch as tensors: idx [N], off [B], val [N], dense [B, dim] (nil without dense
// features) and y [B].
func (b *bag) tensors() (idx, off, val, dense, y *ts.Tensor) {
	idx, off, val, y = ts.MustOfSlice(b.idx), ts.MustOfSlice(b.off), ts.MustOfSlice(b.val), ts.MustOfSlice(b.y)
	if b.dense != nil {
		dense = ts.MustOfSlice(b.dense).MustView([]int64{int64(len(b.y)), int64(b.dim)}, true)
	}
	return idx, off, val, dense, y
}

// localiser renumbers a batch's feature columns to rows of the batch's own part of the table.
type localiser struct{ pos []int32 }

func newLocaliser(columns int) *localiser {
	l := &localiser{pos: make([]int32, columns)}
	for i := range l.pos {
		l.pos[i] = -1
	}
	return l
}

// localise replaces every column of idx by its position in the returned list of the distinct columns,
// in order of first appearance.
func (l *localiser) localise(idx []int64) []int64 {
	var uniq []int64
	for i, c := range idx {
		p := l.pos[c]
		if p < 0 {
			p = int32(len(uniq))
			l.pos[c] = p
			uniq = append(uniq, c)
		}
		idx[i] = int64(p)
	}
	for _, c := range uniq {
		l.pos[c] = -1
	}
	return uniq
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
			idx, off, val, dense, y := makeBag(v, rows, 0, nil).tensors()
			logits := net.ForwardBag(nil, idx, off, val, dense, nil)
			dropAll(idx, off, val, dense, y)
			pred := logits.MustArgmax([]int64{-1}, false, true).Int64Values()
			for i, p := range pred {
				if p == v.y[rows[i]] {
					correct++
				}
			}
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
