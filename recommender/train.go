package recommender

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"github.com/shopchat/shopchat/internal/torchrt"
)

// TrainConfig holds the hyper-parameters of training. Zero values take the defaults, which were chosen by
// the measurements in docs/recommender.md.
type TrainConfig struct {
	Dim       int     `json:"dim"`        // embedding size (default 64)
	Epochs    int     `json:"epochs"`     // passes over the positives (default 40)
	BatchSize int     `json:"batch_size"` // positives per step (default 4096)
	Negatives int     `json:"negatives"`  // sampled negatives per positive (default 8)
	LR        float64 `json:"lr"`         // Adam learning rate (default 5e-3)
	Reg       float64 `json:"reg"`        // L2 on the embeddings of a batch (default 1e-4... see docs)
	InitStd   float64 `json:"init_std"`   // std of the initial embeddings (default 0.05)
	Loss      string  `json:"loss"`       // LossBPR (default) or LossSoftmax (Negatives shared per batch)
	Seed      int64   `json:"seed"`       // seeds libtorch and the sampler
	Threads   int     `json:"threads"`    // libtorch intra-op threads (default 2)
	// HalfLife of the time-weighted popularity (default 30 days).
	HalfLife time.Duration `json:"half_life"`
}

// Losses.
const (
	LossBPR     = "bpr"
	LossSoftmax = "softmax"
)

func (c *TrainConfig) defaults() {
	if c.Loss == "" {
		c.Loss = LossBPR
	}
	if c.Dim <= 0 {
		c.Dim = 64
	}
	if c.Epochs <= 0 {
		c.Epochs = 40
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 4096
	}
	if c.Negatives <= 0 {
		c.Negatives = 8
	}
	if c.LR <= 0 {
		c.LR = 5e-3
	}
	if c.Reg < 0 {
		c.Reg = 0
	} else if c.Reg == 0 {
		c.Reg = 1e-4
	}
	if c.InitStd <= 0 {
		c.InitStd = 0.05
	}
	if c.Threads <= 0 {
		c.Threads = 2
	}
	if c.HalfLife <= 0 {
		c.HalfLife = defaultHalfLife
	}
}

// TrainOptions are the per-run inputs of Train besides the hyper-parameters.
type TrainOptions struct {
	// Catalog gives the features of products (also of those without interactions, which then get a
	// feature-only embedding). Optional.
	Catalog map[string]ItemInfo
	Logger  *slog.Logger
	// Progress, when set, is called after every epoch.
	Progress func(epoch, epochs int, loss float64)
}

// Train fits the model on interactions with libtorch: BPR matrix factorisation with sampled negatives,
// product biases and product feature embeddings (category, price band) added to each product's own
// embedding. It runs all torch work on one locked OS thread and is deterministic for a given seed and
// thread count. Train may be called concurrently; runs are independent.
func Train(ctx context.Context, in []Interaction, cfg TrainConfig, opt TrainOptions) (*Model, error) {
	cfg.defaults()
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	d, err := buildDataset(in, opt.Catalog, cfg.HalfLife)
	if err != nil {
		return nil, err
	}
	w := torchrt.NewWorker()
	defer w.Close()
	var m *Model
	err = w.Do(ctx, func() error {
		var err error
		m, err = fit(ctx, d, cfg, opt, log)
		return err
	})
	if err != nil {
		return nil, err
	}
	m.meta.Stats.Interactions = len(in)
	m.meta.Stats.Seconds = time.Since(start).Seconds()
	m.meta.DataHash = d.hash
	m.meta.CreatedAt = time.Now().UTC()
	m.meta.Format = modelFormat
	m.meta.Version = m.contentHash()
	return m, nil
}

// fit runs on a locked OS thread.
func fit(ctx context.Context, d *dataset, cfg TrainConfig, opt TrainOptions, log *slog.Logger) (*Model, error) {
	torchrt.SetNumThreads(cfg.Threads)
	torchrt.ManualSeed(cfg.Seed)
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5eed0f5a0bc4a7))
	nu, ni, dim := int64(len(d.users)), int64(len(d.items)), int64(cfg.Dim)
	hasFeat := d.itemCat != nil
	nc, nb := int64(len(d.cats)+1), int64(len(d.bandEdges)+2)

	vs := nn.NewVarStore(gotch.CPU)
	defer vs.Destroy()
	root := vs.Root()
	initE := nn.NewRandnInit(0, cfg.InitStd)
	userW, err := root.NewVar("user", []int64{nu, dim}, initE)
	if err != nil {
		return nil, err
	}
	itemW, err := root.NewVar("item", []int64{ni, dim}, initE)
	if err != nil {
		return nil, err
	}
	biasW, err := root.NewVar("bias", []int64{ni, 1}, nn.NewConstInit(0))
	if err != nil {
		return nil, err
	}
	var catW, bandW, itemCat, itemBand *ts.Tensor
	if hasFeat {
		if catW, err = root.NewVar("cat", []int64{nc, dim}, initE); err != nil {
			return nil, err
		}
		if bandW, err = root.NewVar("band", []int64{nb, dim}, initE); err != nil {
			return nil, err
		}
		cs := make([]int64, ni)
		bs := make([]int64, ni)
		for i := range cs {
			cs[i] = int64(d.itemCat[i] + 1)
			bs[i] = int64(d.itemBand[i] + 1)
		}
		itemCat = ts.MustOfSlice(cs)
		itemBand = ts.MustOfSlice(bs)
		defer itemCat.MustDrop()
		defer itemBand.MustDrop()
	}
	adam, err := nn.DefaultAdamConfig().Build(vs, cfg.LR)
	if err != nil {
		return nil, err
	}
	// itemVecs gathers the full embedding of the given items: own + category + price band.
	itemVecs := func(idx *ts.Tensor) *ts.Tensor {
		v := ts.MustEmbedding(itemW, idx, -1, false, false)
		if !hasFeat {
			return v
		}
		ci := itemCat.MustIndexSelect(0, idx, false)
		bi := itemBand.MustIndexSelect(0, idx, false)
		c := ts.MustEmbedding(catW, ci, -1, false, false)
		b := ts.MustEmbedding(bandW, bi, -1, false, false)
		v = v.MustAdd(c, true).MustAdd(b, true)
		ci.MustDrop()
		bi.MustDrop()
		c.MustDrop()
		b.MustDrop()
		return v
	}

	npos := len(d.pu)
	B := cfg.BatchSize
	if B > npos {
		B = npos
	}
	K := cfg.Negatives
	softmax := cfg.Loss == LossSoftmax
	order := make([]int, npos)
	for i := range order {
		order[i] = i
	}
	ub := make([]int64, B)
	pb := make([]int64, B)
	nbuf := make([]int64, B*K)
	var curve []float64
	var last float64
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rng.Shuffle(npos, func(a, b int) { order[a], order[b] = order[b], order[a] })
		var sum float64
		var steps int
		for s := 0; s+B <= npos || (s < npos && steps == 0); s += B {
			n := min(B, npos-s)
			for j := 0; j < n; j++ {
				k := order[s+j]
				u := d.pu[k]
				ub[j] = int64(u)
				pb[j] = int64(d.pi[k])
				if !softmax {
					hist := d.userItems[u]
					for q := 0; q < K; q++ {
						nbuf[j*K+q] = int64(sampleNegative(rng, int32(ni), hist))
					}
				}
			}
			var loss *ts.Tensor
			if softmax {
				for q := 0; q < K; q++ {
					nbuf[q] = int64(rng.Int32N(int32(ni)))
				}
				loss = softmaxStep(userW, biasW, itemVecs, ub[:n], pb[:n], nbuf[:K], int64(n), int64(K), cfg.Reg)
			} else {
				loss = bprStep(userW, biasW, itemVecs, ub[:n], pb[:n], nbuf[:n*K], int64(n), int64(K), dim, cfg.Reg)
			}
			if err := adam.BackwardStep(loss); err != nil {
				loss.MustDrop()
				return nil, fmt.Errorf("train step: %w", err)
			}
			sum += loss.Float64Values()[0]
			loss.MustDrop()
			steps++
		}
		last = sum / float64(steps)
		if math.IsNaN(last) || math.IsInf(last, 0) {
			return nil, errors.New("recommender: training diverged (loss is not finite); lower the learning rate")
		}
		curve = append(curve, math.Round(last*1e5)/1e5)
		if opt.Progress != nil {
			opt.Progress(epoch, cfg.Epochs, last)
		}
		log.Debug("recommender epoch", "epoch", epoch, "loss", last)
	}

	m := &Model{dim: cfg.Dim, items: d.items, users: d.users, cats: d.cats, bandEdges: d.bandEdges,
		itemCat: d.itemCat, itemBand: d.itemBand, pop: d.popularity, userItems: d.userItems}
	m.meta.Config = cfg
	m.meta.Stats = TrainStats{Users: int(nu), Items: int(ni), Positives: npos, Epochs: cfg.Epochs, FinalLoss: last, LossCurve: curve}
	var cerr error
	ts.NoGrad(func() {
		all := ts.MustArange(ts.IntScalar(ni), gotch.Int64, gotch.CPU)
		iv := itemVecs(all)
		all.MustDrop()
		if m.itemVec, cerr = copyFloats(iv); cerr != nil {
			return
		}
		iv.MustDrop()
		if m.userVec, cerr = copyFloats(userW); cerr != nil {
			return
		}
		if m.itemBias, cerr = copyFloats(biasW); cerr != nil {
			return
		}
		if hasFeat {
			if m.catVec, cerr = copyFloats(catW); cerr != nil {
				return
			}
			m.bandVec, cerr = copyFloats(bandW)
		}
	})
	if cerr != nil {
		return nil, cerr
	}
	m.index()
	return m, nil
}

// bprStep builds the loss of one batch: -log σ(s(u,p) - s(u,n)) averaged over the B×K pairs, plus L2 on
// the embeddings used.
func bprStep(userW, biasW *ts.Tensor, itemVecs func(*ts.Tensor) *ts.Tensor, ub, pb, nb []int64, B, K, dim int64, reg float64) *ts.Tensor {
	uIdx := ts.MustOfSlice(ub)
	pIdx := ts.MustOfSlice(pb)
	nIdx := ts.MustOfSlice(nb)
	U := ts.MustEmbedding(userW, uIdx, -1, false, false) // [B,D]
	P := itemVecs(pIdx)                                  // [B,D]
	N := itemVecs(nIdx)                                  // [B*K,D]
	bp := ts.MustEmbedding(biasW, pIdx, -1, false, false).MustView([]int64{B, 1}, true)
	bn := ts.MustEmbedding(biasW, nIdx, -1, false, false).MustView([]int64{B, K}, true)
	sp := U.MustMul(P, false).MustSumDimIntlist([]int64{1}, true, gotch.Float, true).MustAdd(bp, true) // [B,1]
	N3 := N.MustView([]int64{B, K, dim}, false)
	U3 := U.MustUnsqueeze(1, false)                                                                      // [B,1,D]
	sn := N3.MustMul(U3, true).MustSumDimIntlist([]int64{2}, false, gotch.Float, true).MustAdd(bn, true) // [B,K]
	diff := sp.MustSub(sn, true)
	loss := diff.MustLogSigmoid(true).MustMean(gotch.Float, true).MustNeg(true)
	if reg > 0 {
		l2 := U.MustSquare(false).MustSum(gotch.Float, true)
		p2 := P.MustSquare(false).MustSum(gotch.Float, true)
		n2 := N.MustSquare(false).MustSum(gotch.Float, true).MustMulScalar(ts.FloatScalar(1/float64(K)), true)
		r := l2.MustAdd(p2, true).MustAdd(n2, true).MustMulScalar(ts.FloatScalar(reg/float64(B)), true)
		p2.MustDrop()
		n2.MustDrop()
		loss = loss.MustAdd(r, true)
		r.MustDrop()
	}
	for _, t := range []*ts.Tensor{uIdx, pIdx, nIdx, U, P, N, U3, bp, bn, sn} {
		t.MustDrop()
	}
	return loss
}

// softmaxStep builds the sampled-softmax loss of one batch: each positive competes with M negatives
// shared by the whole batch (uniformly drawn), with logits s(u,i) = <u,v_i> + b_i.
func softmaxStep(userW, biasW *ts.Tensor, itemVecs func(*ts.Tensor) *ts.Tensor, ub, pb, nb []int64, B, M int64, reg float64) *ts.Tensor {
	uIdx := ts.MustOfSlice(ub)
	pIdx := ts.MustOfSlice(pb)
	nIdx := ts.MustOfSlice(nb)
	U := ts.MustEmbedding(userW, uIdx, -1, false, false)                                               // [B,D]
	P := itemVecs(pIdx)                                                                                // [B,D]
	N := itemVecs(nIdx)                                                                                // [M,D]
	bp := ts.MustEmbedding(biasW, pIdx, -1, false, false)                                              // [B,1]
	bn := ts.MustEmbedding(biasW, nIdx, -1, false, false).MustView([]int64{1, M}, true)                // [1,M]
	sp := U.MustMul(P, false).MustSumDimIntlist([]int64{1}, true, gotch.Float, true).MustAdd(bp, true) // [B,1]
	Nt := N.MustT(false)
	sn := U.MustMm(Nt, false).MustAdd(bn, true) // [B,M]
	logits := ts.MustCat([]*ts.Tensor{sp, sn}, 1)
	lse := logits.MustLogsumexp([]int64{1}, true, true) // [B,1]
	loss := lse.MustSub(sp, true).MustMean(gotch.Float, true)
	if reg > 0 {
		l2 := U.MustSquare(false).MustSum(gotch.Float, true)
		p2 := P.MustSquare(false).MustSum(gotch.Float, true)
		r := l2.MustAdd(p2, true).MustMulScalar(ts.FloatScalar(reg/float64(B)), true)
		p2.MustDrop()
		loss = loss.MustAdd(r, true)
		r.MustDrop()
	}
	for _, t := range []*ts.Tensor{uIdx, pIdx, nIdx, U, P, N, Nt, bp, bn, sp, sn} {
		t.MustDrop()
	}
	return loss
}

// sampleNegative draws an item the user has not interacted with (hist is sorted), uniformly.
func sampleNegative(rng *rand.Rand, n int32, hist []int32) int32 {
	for tries := 0; ; tries++ {
		i := rng.Int32N(n)
		if tries > 50 || !containsSorted(hist, i) {
			return i
		}
	}
}

func containsSorted(l []int32, x int32) bool {
	lo, hi := 0, len(l)
	for lo < hi {
		m := (lo + hi) / 2
		if l[m] < x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo < len(l) && l[lo] == x
}

func copyFloats(t *ts.Tensor) ([]float32, error) {
	c := t.MustContiguous(false)
	defer c.MustDrop()
	n := c.Numel()
	out := make([]float32, n)
	if err := c.CopyData(out, n); err != nil {
		return nil, fmt.Errorf("copy weights: %w", err)
	}
	return out, nil
}
