package intents

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/shopchat/shopchat/internal/torchrt"
)

// ErrClosed is returned by a Classifier's methods after Close.
var ErrClosed = errors.New("intents: classifier closed")

// ErrTooLong is returned by Classify for a message longer than ClassifierConfig.MaxInputBytes.
var ErrTooLong = errors.New("intents: message too long")

// ClassifierConfig configures NewClassifier. Zero values take the defaults noted on each field.
type ClassifierConfig struct {
	// ModelDir is the model directory to load (required).
	ModelDir string
	// Logger receives model loads and swaps (default: discarded).
	Logger *slog.Logger
	// Workers bounds the classifications that run at once (default GOMAXPROCS); others wait their turn.
	Workers int
	// MaxBatch is how many messages ClassifyBatch scores per worker turn (default 64).
	MaxBatch int
	// AmbiguityGap: when the top two intents' probabilities differ by less than this, the result is
	// Ambiguous (default 0.1; negative turns it off).
	AmbiguityGap float64
	// TopK is how many intents Result.Ranked holds (default 5).
	TopK int
	// MaxInputBytes is the longest message accepted (default 4096 bytes); longer ones get ErrTooLong.
	MaxInputBytes int
	// Threshold overrides the model's out-of-scope threshold when > 0.
	Threshold float64
	// TablePrecision, when set, overrides the precision the model's tables are held at
	// (PrecisionF32 or PrecisionInt8; see LoadOptions), for this model and every one swapped in.
	TablePrecision string
}

// Classifier serves one loaded intent model to all conversations. Classify may be called from many
// goroutines at once; Swap replaces the model atomically (requests already running finish on the model
// they started with). A Classifier is safe for concurrent use.
type Classifier struct {
	cfg    ClassifierConfig
	log    *slog.Logger
	model  atomic.Pointer[Model]
	worker *torchrt.Worker // loads weights through gotch on a locked OS thread
	sem    chan struct{}
	closed atomic.Bool
	swapMu sync.Mutex
}

// NewClassifier loads cfg.ModelDir and returns a Classifier serving it.
func NewClassifier(cfg ClassifierConfig) (*Classifier, error) {
	if cfg.ModelDir == "" {
		return nil, fmt.Errorf("%w: no model directory given", ErrBadModel)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 64
	}
	if cfg.AmbiguityGap == 0 {
		cfg.AmbiguityGap = 0.1
	}
	if cfg.TopK <= 0 {
		cfg.TopK = 5
	}
	if cfg.MaxInputBytes <= 0 {
		cfg.MaxInputBytes = 4096
	}
	c := &Classifier{cfg: cfg, log: cfg.Logger, worker: torchrt.NewWorker(), sem: make(chan struct{}, cfg.Workers)}
	m, err := LoadModelWith(context.Background(), c.worker, cfg.ModelDir, LoadOptions{TablePrecision: cfg.TablePrecision})
	if err != nil {
		c.worker.Close()
		return nil, err
	}
	c.model.Store(m)
	c.log.Info("intent model loaded", "dir", cfg.ModelDir, "version", m.Version, "intents", len(m.Labels))
	return c, nil
}

// Version is the content hash of the model now serving.
func (c *Classifier) Version() string {
	if m := c.model.Load(); m != nil {
		return m.Version
	}
	return ""
}

// Model returns the model now serving (immutable).
func (c *Classifier) Model() *Model { return c.model.Load() }

// Swap loads the model in modelDir and makes it the one serving, atomically. On error the current model
// stays. Requests in flight finish on the model they started with.
func (c *Classifier) Swap(ctx context.Context, modelDir string) error {
	if c.closed.Load() {
		return ErrClosed
	}
	c.swapMu.Lock()
	defer c.swapMu.Unlock()
	m, err := LoadModelWith(ctx, c.worker, modelDir, LoadOptions{TablePrecision: c.cfg.TablePrecision})
	if err != nil {
		return err
	}
	old := c.model.Swap(m)
	c.log.Info("intent model swapped", "dir", modelDir, "version", m.Version, "previous", old.Version)
	return nil
}

// Close stops the classifier; later calls return ErrClosed. It is safe to call more than once.
func (c *Classifier) Close() {
	if c.closed.Swap(true) {
		return
	}
	c.worker.Close()
}

func (c *Classifier) acquire(ctx context.Context) error {
	if c.closed.Load() {
		return ErrClosed
	}
	select {
	case c.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Classifier) release() { <-c.sem }

// Classify returns the intents of one message. Empty, white-space-only and unrecognisable messages
// (control characters, invalid UTF-8, nothing the model knows) are out of scope with confidence 0; a
// message over MaxInputBytes gets ErrTooLong.
func (c *Classifier) Classify(ctx context.Context, text string) (Result, error) {
	if err := c.check(text); err != nil {
		return Result{}, err
	}
	if err := c.acquire(ctx); err != nil {
		return Result{}, err
	}
	defer c.release()
	return c.classify(c.model.Load(), text), nil
}

// ClassifyBatch classifies several messages, spreading them over the workers; results are in input
// order. A message that cannot be classified (too long) fails the whole call with an error naming it.
func (c *Classifier) ClassifyBatch(ctx context.Context, texts []string) ([]Result, error) {
	for i, t := range texts {
		if err := c.check(t); err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
	}
	m := c.model.Load()
	out := make([]Result, len(texts))
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	for lo := 0; lo < len(texts); lo += c.cfg.MaxBatch {
		hi := min(lo+c.cfg.MaxBatch, len(texts))
		if err := c.acquire(ctx); err != nil {
			errOnce.Do(func() { firstErr = err })
			break
		}
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			defer c.release()
			for i := lo; i < hi; i++ {
				out[i] = c.classify(m, texts[i])
			}
		}(lo, hi)
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

func (c *Classifier) check(text string) error {
	if c.closed.Load() {
		return ErrClosed
	}
	if len(text) > c.cfg.MaxInputBytes {
		return fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLong, len(text), c.cfg.MaxInputBytes)
	}
	return nil
}

// classify scores text with m. It never fails: what the featurizer cannot read is out of scope.
func (c *Classifier) classify(m *Model, text string) Result {
	res := Result{Intent: OutOfScope, OutOfScope: true, ModelVersion: m.Version, Ranked: []Prediction{}}
	if !utf8.ValidString(text) {
		text = string([]rune(text)) // invalid bytes become U+FFFD, which normalisation removes
	}
	p, err := m.feat.Prepare(text)
	if err != nil || len(p.Words) == 0 {
		return res
	}
	probs := make([]float64, len(m.Labels))
	if !m.Logits(p, probs) {
		return res // nothing the model has seen
	}
	Probabilities(probs, m.Config.Temperature)
	thr := m.Config.Threshold
	if c.cfg.Threshold > 0 {
		thr = c.cfg.Threshold
	}
	top, oos := m.Decide(probs, thr)
	order := make([]int, 0, len(probs))
	for i := range probs {
		if i != m.oosIndex {
			order = append(order, i)
		}
	}
	sort.Slice(order, func(a, b int) bool { return probs[order[a]] > probs[order[b]] })
	k := min(c.cfg.TopK, len(order))
	res.Ranked = make([]Prediction, k)
	for i := 0; i < k; i++ {
		res.Ranked[i] = Prediction{Intent: m.Labels[order[i]], Confidence: probs[order[i]]}
	}
	if oos {
		if top == m.oosIndex {
			res.Confidence = probs[top]
		} else {
			res.Confidence = 1 - probs[top]
		}
		return res
	}
	res.Intent, res.Confidence, res.OutOfScope = m.Labels[top], probs[top], false
	if c.cfg.AmbiguityGap > 0 && k >= 2 && probs[order[0]]-probs[order[1]] < c.cfg.AmbiguityGap {
		res.Ambiguous = true
	}
	return res
}
