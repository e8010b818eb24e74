package recommender

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"time"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/shopchat/shopchat/internal/torchrt"
)

// TrainConfig holds the hyper-parameters of training. Zero values take the defaults, which were chosen by
// the measurements in docs/recommender.md.
type TrainConfig struct {
	// Lambda is the L2 regularisation of the item-to-item regression (EASE's λ; default 500).
	Lambda float64 `json:"lambda"`
	// Neighbours is the number of item-to-item weights kept per product (default 500).
	Neighbours int `json:"neighbours"`
	// RecencyBoost and RecencyScale weight a customer's interactions by how recent they are relative to
	// the customer's latest one: weight = 1 + RecencyBoost·exp(-age/RecencyScale) (defaults 3 and 2.4 h).
	RecencyBoost float64       `json:"recency_boost"`
	RecencyScale time.Duration `json:"recency_scale"`
	// PopularityWeight adds that multiple of the time-weighted popularity (in [0, 1]) to every score
	// (default 0: none; negative values are treated as 0).
	PopularityWeight float64 `json:"popularity_weight"`
	// HalfLife of the time-weighted popularity (default 10 days).
	HalfLife time.Duration `json:"half_life"`
	// Seed seeds libtorch and the Go generator; the fit is a closed form, so it changes nothing today
	// but is recorded so that every model is reproducible.
	Seed    int64 `json:"seed"`
	Threads int   `json:"threads"` // libtorch intra-op threads (default 2)
}

// MaxItems bounds the catalogue a model is fitted on: the fit holds two items×items float32 matrices.
const MaxItems = 12000

func (c *TrainConfig) defaults() {
	if c.Lambda <= 0 {
		c.Lambda = 500
	}
	if c.Neighbours <= 0 {
		c.Neighbours = 500
	}
	if c.PopularityWeight == 0 {
		c.PopularityWeight = 0.1
	} else if c.PopularityWeight < 0 {
		c.PopularityWeight = -1 // none
	}
	if c.RecencyBoost < 0 {
		c.RecencyBoost = 0
	} else if c.RecencyBoost == 0 {
		c.RecencyBoost = 3
	}
	if c.RecencyScale <= 0 {
		c.RecencyScale = 144 * time.Minute
	}
	if c.HalfLife <= 0 {
		c.HalfLife = defaultHalfLife
	}
	if c.Threads <= 0 {
		c.Threads = 2
	}
}

// TrainOptions are the per-run inputs of Train besides the hyper-parameters.
type TrainOptions struct {
	// Catalog gives the features of products (also of those without interactions, which then get
	// feature-based neighbours at serving time). Optional.
	Catalog map[string]ItemInfo
	Logger  *slog.Logger
	// Progress, when set, is told each stage as it starts.
	Progress func(stage string)
}

// ErrTooManyItems means the catalogue is larger than MaxItems.
var ErrTooManyItems = errors.New("recommender: too many products for one model")

// Train fits the model on interactions. The ranking model is EASE (Steck, WWW 2019): the item-to-item
// weight matrix B = argmin ‖X − XB‖² + λ‖B‖² with diag(B) = 0, whose closed form B = −P/diag(P),
// P = (XᵀX + λI)⁻¹, is computed with libtorch on one locked OS thread. Each product keeps its strongest
// Neighbours weights. Train is deterministic and may be called concurrently; runs are independent.
func Train(ctx context.Context, in []Interaction, cfg TrainConfig, opt TrainOptions) (*Model, error) {
	cfg.defaults()
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	progress := opt.Progress
	if progress == nil {
		progress = func(string) {}
	}
	start := time.Now()
	progress("indexing interactions")
	d, err := buildDataset(in, opt.Catalog, cfg.HalfLife)
	if err != nil {
		return nil, err
	}
	n := len(d.items)
	if n > MaxItems {
		return nil, fmt.Errorf("%w: %d, at most %d", ErrTooManyItems, n, MaxItems)
	}
	progress(fmt.Sprintf("item co-occurrences (%d customers, %d products, %d positives)", len(d.users), n, len(d.pu)))
	gram := make([]float32, n*n)
	for _, hist := range d.userItems {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for _, a := range hist {
			row := gram[int(a)*n:]
			for _, b := range hist {
				row[b]++
			}
		}
	}
	progress("solving the item-to-item regression with libtorch")
	w := torchrt.NewWorker()
	defer w.Close()
	var B []float32
	err = w.Do(ctx, func() error {
		var err error
		B, err = solveEASE(gram, n, cfg)
		return err
	})
	if err != nil {
		return nil, err
	}
	gram = nil
	progress("keeping the strongest neighbours")
	m := &Model{items: d.items, users: d.users, cats: d.cats, bandEdges: d.bandEdges,
		itemCat: d.itemCat, itemBand: d.itemBand, pop: d.popularity, userItems: d.userItems}
	m.sparsify(B, n, cfg.Neighbours)
	m.userW = recencyWeights(d, cfg)
	m.index()
	m.meta = Meta{Format: modelFormat, CreatedAt: time.Now().UTC(), DataHash: d.hash, Config: cfg,
		Stats: TrainStats{Users: len(d.users), Items: n, Interactions: len(in), Positives: len(d.pu),
			Neighbours: len(m.nbrItem), Seconds: time.Since(start).Seconds()}}
	m.meta.Version = m.contentHash()
	log.Info("recommender trained", "users", len(d.users), "items", n, "seconds", m.meta.Stats.Seconds)
	return m, nil
}

// solveEASE runs on a locked OS thread.
func solveEASE(gram []float32, n int, cfg TrainConfig) ([]float32, error) {
	torchrt.SetNumThreads(cfg.Threads)
	torchrt.ManualSeed(cfg.Seed)
	var out []float32
	var ferr error
	ts.NoGrad(func() {
		G, err := ts.OfSlice(gram)
		if err != nil {
			ferr = err
			return
		}
		G = G.MustView([]int64{int64(n), int64(n)}, true)
		// The scalar is held and dropped after the op: gotch's finalizer could otherwise free it while
		// the op reads it (docs/libtorch.md).
		lambda := ts.FloatScalar(cfg.Lambda)
		eye := ts.MustEye(int64(n), gotch.Float, gotch.CPU).MustMulScalar(lambda, true)
		lambda.MustDrop()
		G = G.MustAdd(eye, true)
		eye.MustDrop()
		P, err := G.Inverse(true)
		if err != nil {
			ferr = fmt.Errorf("invert the item Gram matrix: %w", err)
			return
		}
		diag := P.MustDiagonal(0, 0, 1, false).MustUnsqueeze(0, true) // [1,n]
		Bt := P.MustDiv(diag, true).MustNeg(true)
		diag.MustDrop()
		out, ferr = copyFloats(Bt)
		Bt.MustDrop()
	})
	if ferr != nil {
		return nil, ferr
	}
	for i := 0; i < n; i++ {
		out[i*n+i] = 0
	}
	for _, v := range out {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, errors.New("recommender: the fit is not finite; raise the regularisation")
		}
	}
	return out, nil
}

// sparsify keeps, for every item i, the k weights B[i][j] (how much having i predicts j) of largest
// magnitude — negative weights matter for ranking — sorted by decreasing weight.
func (m *Model) sparsify(B []float32, n, k int) {
	m.nbrStart = make([]int32, n+1)
	type nb struct {
		j int32
		w float32
	}
	var cand []nb
	for i := 0; i < n; i++ {
		cand = cand[:0]
		row := B[i*n : (i+1)*n]
		for j, w := range row {
			if w != 0 {
				cand = append(cand, nb{int32(j), w})
			}
		}
		abs := func(x float32) float32 { return float32(math.Abs(float64(x))) }
		sort.Slice(cand, func(a, b int) bool {
			if wa, wb := abs(cand[a].w), abs(cand[b].w); wa != wb {
				return wa > wb
			}
			return cand[a].j < cand[b].j
		})
		if len(cand) > k {
			cand = cand[:k]
		}
		sort.Slice(cand, func(a, b int) bool {
			if cand[a].w != cand[b].w {
				return cand[a].w > cand[b].w
			}
			return cand[a].j < cand[b].j
		})
		for _, c := range cand {
			m.nbrItem = append(m.nbrItem, c.j)
			m.nbrW = append(m.nbrW, c.w)
		}
		m.nbrStart[i+1] = int32(len(m.nbrItem))
	}
}

// recencyWeights gives each (user, item) training pair its weight 1 + boost·exp(-age/scale), where age is
// the time from the pair's latest interaction to the user's latest interaction.
func recencyWeights(d *dataset, cfg TrainConfig) [][]float32 {
	last := make([]int64, len(d.users))
	at := make(map[[2]int32]int64, len(d.pu))
	for k := range d.pu {
		u := d.pu[k]
		if d.pt[k] > last[u] {
			last[u] = d.pt[k]
		}
		at[[2]int32{u, d.pi[k]}] = d.pt[k]
	}
	out := make([][]float32, len(d.users))
	for u, hist := range d.userItems {
		out[u] = make([]float32, len(hist))
		for k, i := range hist {
			t := at[[2]int32{int32(u), i}]
			w := 1.0
			if t > 0 && last[u] > 0 {
				age := float64(last[u]-t) / cfg.RecencyScale.Seconds()
				w += cfg.RecencyBoost * math.Exp(-age)
			}
			out[u][k] = float32(w)
		}
	}
	return out
}

func copyFloats(t *ts.Tensor) ([]float32, error) {
	out, err := torchrt.Float32s(t)
	if err != nil {
		return nil, fmt.Errorf("copy weights: %w", err)
	}
	return out, nil
}
