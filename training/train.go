package training

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/shopchat/shopchat/intents"
	"github.com/shopchat/shopchat/internal/torchrt"
	"github.com/shopchat/shopchat/nlp"
)

// Options configure Train. Zero values take the defaults noted on each field.
type Options struct {
	// Seed makes the run deterministic (same data, options and thread count give the same model).
	Seed int64
	// Epochs is the most epochs per network (default 12); training stops earlier when validation
	// accuracy has not improved for Patience epochs (default 2).
	Epochs   int
	Patience int
	// BatchSize (default 256), LR (Adam's learning rate, default 0.004) and WeightDecay (AdamW, default 0).
	BatchSize   int
	LR          float64
	WeightDecay float64
	// Hidden is the hidden layer width (default 512); Dropout on it (default 0.5); FeatureDrop drops
	// input features while training (default 0.3; negative: none).
	Hidden      int
	Dropout     float64
	FeatureDrop float64
	// LabelSmoothing spreads this share of each target's probability over all classes (default 0.1;
	// negative: none).
	LabelSmoothing float64
	// PseudoOOS, when the training data has an out-of-scope class, adds this many synthetic out-of-scope
	// examples per training example to every batch: mixtures of two examples of different intents
	// (default 0.02; negative: none; docs/intents.md).
	PseudoOOS float64
	// TableOptimizer is how the embedding table learns: TableRows (the default), Adam on the rows each
	// batch touches only, or TableDense, libtorch's Adam on the whole table every step (slower on large
	// data: docs/intents.md, sixth round).
	TableOptimizer string
	// TablePrecision is how the model holds its layers for scoring (intents.ModelConfig.TablePrecision):
	// intents.PrecisionInt8 (the default) or intents.PrecisionF32. The weights file keeps float32 either
	// way; the temperature and threshold are fitted on the scores at this precision. The linear baseline
	// is always float32.
	TablePrecision string
	// Members is the ensemble size (default 1; more networks get seeds Seed+1, Seed+2, ...).
	Members int
	// Features configures the n-gram features (see intents.FeatureConfig); Subwords defaults to true and
	// MinCount to 2 for 5000 or more training examples, 1 below.
	Features intents.FeatureConfig
	// NoSubwords turns the tokenizer's pieces off as features.
	NoSubwords bool
	// Vocab configures the learnt WordPiece vocabulary; TokenizerFile uses a given tokenizer.json instead.
	Vocab         nlp.VocabConfig
	TokenizerFile string
	// WordVectorsFile adds pretrained word vectors as features (intents.LoadWordVectors reads it; ""
	// none): the model keeps the VectorWords most frequent words (default 100000) and every training
	// word with a vector. Features.VectorWeight scales them and Features.VectorPooling pools them
	// (default intents.PoolMeanMaxMin).
	WordVectorsFile string
	VectorWords     int
	// ValFraction is the stratified share of the training data held out for validation when the data has
	// no validation split (default 0.1).
	ValFraction float64
	// ThresholdRule picks the out-of-scope threshold on validation data (RuleRecall by default).
	// OOSRecall is the out-of-scope recall RuleRecall reaches (default 0.6); OOSWeight is the weight of
	// out-of-scope recall against in-scope accuracy for RuleWeighted (default 0.1).
	// OOSConfidence, when set (0 < c < 1), makes RuleRecall reach OOSRecall with that confidence: the
	// lower end of the one-sided Wilson score interval of the validation OOS recall must reach it (with
	// CLINC150's 100 out-of-scope validation messages, 60% at 0.95 needs 69 caught; when no threshold can
	// reach the bound, with a handful of examples, the point estimate is used). Default 0: the point
	// estimate.
	ThresholdRule string
	OOSRecall     float64
	OOSConfidence float64
	OOSWeight     float64
	// RejectWithoutOOS applies when the validation data has no out-of-scope examples: the threshold then
	// rejects at most this share of the correctly classified validation messages (default 0: no
	// threshold, the choice that maximises accuracy; the dialogue's own confidence levels still apply).
	RejectWithoutOOS float64
	// Baseline also trains the linear baseline and saves it in OUT/baseline.
	Baseline bool
	// Threads is libtorch's thread count (default: the number of CPUs).
	Threads int
	// Progress receives progress bars (nil: none). Logger receives progress lines (nil: discarded).
	Progress io.Writer
	Logger   *slog.Logger
	// StrictWarnings stops training on validation warnings too; by default they are logged and listed
	// in the result (errors always stop it).
	StrictWarnings bool
	// DropConflicts keeps the first of two identical texts with different labels (a warning) instead of
	// stopping with an error.
	DropConflicts bool
}

// Table optimizers (Options.TableOptimizer).
const (
	TableRows  = "rows"  // Adam on the rows of the embedding table each batch touches (training/rowadam.go)
	TableDense = "dense" // libtorch's Adam on the whole table every step
)

func (o Options) checkTableOptimizer() error {
	if o.TableOptimizer != TableRows && o.TableOptimizer != TableDense {
		return fmt.Errorf("training: table optimizer %q: want %q or %q", o.TableOptimizer, TableRows, TableDense)
	}
	if err := intents.ValidPrecision(o.TablePrecision); err != nil {
		return fmt.Errorf("training: %w", err)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.Epochs <= 0 {
		o.Epochs = 12
	}
	if o.Patience <= 0 {
		o.Patience = 2
	}

	if o.BatchSize <= 0 {
		o.BatchSize = 256
	}
	if o.LR <= 0 {
		o.LR = 0.004
	}
	if o.Hidden <= 0 {
		o.Hidden = 512
	}
	if o.Dropout <= 0 {
		o.Dropout = 0.5
	}
	if o.FeatureDrop < 0 {
		o.FeatureDrop = 0
	} else if o.FeatureDrop == 0 {
		o.FeatureDrop = 0.3
	}
	if o.LabelSmoothing < 0 {
		o.LabelSmoothing = 0
	} else if o.LabelSmoothing == 0 {
		o.LabelSmoothing = 0.1
	}
	if o.Members <= 0 {
		o.Members = 1
	}
	if o.ValFraction <= 0 || o.ValFraction >= 1 {
		o.ValFraction = 0.1
	}
	if o.ThresholdRule == "" {
		o.ThresholdRule = RuleRecall
	}
	if o.OOSRecall <= 0 || o.OOSRecall > 1 {
		o.OOSRecall = 0.6
	}
	if o.OOSConfidence < 0 || o.OOSConfidence >= 1 {
		o.OOSConfidence = 0
	}
	if o.TableOptimizer == "" {
		o.TableOptimizer = TableRows
	}
	if o.TablePrecision == "" {
		o.TablePrecision = intents.PrecisionInt8
	}
	if o.PseudoOOS < 0 {
		o.PseudoOOS = 0
	} else if o.PseudoOOS == 0 {
		o.PseudoOOS = 0.02
	}
	if o.Features.VectorPooling == "" {
		o.Features.VectorPooling = intents.PoolMeanMaxMin
	}
	if o.OOSWeight <= 0 {
		o.OOSWeight = 0.1
	}
	if o.Threads <= 0 {
		o.Threads = runtime.NumCPU()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	o.Features.Subwords = !o.NoSubwords
	return o
}

// Result is what Train reports.
type Result struct {
	Dir      string             `json:"dir"`
	Version  string             `json:"version"`
	Metrics  *Metrics           `json:"validation"`
	Baseline *Metrics           `json:"baseline_validation,omitempty"`
	Warnings []string           `json:"warnings,omitempty"`
	History  [][]epochStat      `json:"history"`
	Seconds  float64            `json:"train_seconds"`
	Timing   map[string]float64 `json:"timing_seconds"`
}

// prepared is a split after normalisation, tokenization and vectorisation.
type prepared struct {
	ex    []Example
	prep  []intents.Prepared
	vec   *vecSet
	label []int
}

// thresholdSpec is the out-of-scope threshold choice the options ask for.
func (o Options) thresholdSpec() thresholdSpec {
	return thresholdSpec{rule: o.ThresholdRule, weight: o.OOSWeight, recall: o.OOSRecall, confidence: o.OOSConfidence, rejectRate: o.RejectWithoutOOS}
}

// Train validates ds, splits off validation data when ds has none, trains the intent network ensemble
// (and the linear baseline when asked) and writes the model directory outDir atomically: the new model
// is built in a temporary sibling directory and renamed into place only when complete, so a failed run
// leaves the previous model untouched.
func Train(ctx context.Context, ds *Dataset, outDir string, o Options) (*Result, error) {
	o = o.withDefaults()
	if err := o.Features.Validate(); err != nil {
		return nil, err
	}
	if err := o.checkTableOptimizer(); err != nil {
		return nil, err
	}
	start := time.Now()
	timing := map[string]float64{}
	lap := func(name string, t0 time.Time) { timing[name] = time.Since(t0).Seconds() }
	vc := DefaultValidation()
	vc.DropConflicts = o.DropConflicts
	rep := Validate(ds, vc)
	if err := rep.Err(); err != nil {
		return nil, err
	}
	for _, w := range rep.Warnings {
		o.Logger.Warn("training data", "warning", w)
	}
	if o.StrictWarnings && len(rep.Warnings) > 0 {
		return nil, fmt.Errorf("%d warnings in the training data and strict mode is on", len(rep.Warnings))
	}
	if o.Features.MinCount <= 0 {
		// Large data: n-grams seen once are mostly noise and cost table rows; small data needs them.
		o.Features.MinCount = 1
		if len(rep.Train) >= 5000 {
			o.Features.MinCount = 2
		}
	}
	train, val := rep.Train, ds.Val
	if len(val) == 0 {
		train, val = stratifiedSplit(train, o.ValFraction, o.Seed)
	}
	labels := labelSet(train)
	hasOOS := false
	for _, l := range labels {
		hasOOS = hasOOS || l == intents.OutOfScope
	}
	// Tokenizer.
	t0 := time.Now()
	var tokJSON []byte
	var tok *nlp.Tokenizer
	if o.Features.Subwords {
		var err error
		if o.TokenizerFile != "" {
			if tokJSON, err = os.ReadFile(o.TokenizerFile); err != nil {
				return nil, err
			}
		} else {
			texts := make([]string, len(train))
			for i, e := range train {
				texts[i] = e.Text
			}
			vocab, err := nlp.LearnVocab(texts, o.Vocab)
			if err != nil {
				return nil, err
			}
			var buf bytes.Buffer
			if err := nlp.WriteTokenizerJSON(&buf, vocab); err != nil {
				return nil, err
			}
			tokJSON = buf.Bytes()
		}
		if tok, err = nlp.ParseTokenizer(tokJSON); err != nil {
			return nil, err
		}
	}
	lap("tokenizer", t0)
	t0 = time.Now()
	protoFeat := &prepConfig{cfg: o.Features, tok: tok}
	trP, err := protoFeat.prepare(train)
	if err != nil {
		return nil, err
	}
	vaP, err := protoFeat.prepare(val)
	if err != nil {
		return nil, err
	}
	lap("prepare", t0)
	t0 = time.Now()
	var vec *intents.WordVectors
	if o.WordVectorsFile != "" {
		t1 := time.Now()
		keep := map[string]bool{}
		for _, p := range trP {
			for _, w := range p.Words {
				keep[w] = true
			}
		}
		if vec, err = intents.LoadWordVectors(o.WordVectorsFile, intents.VectorLoadConfig{MaxWords: o.VectorWords, Keep: keep}); err != nil {
			return nil, fmt.Errorf("word vectors: %w", err)
		}
		lap("word_vectors", t1)
		o.Logger.Info("word vectors", "file", o.WordVectorsFile, "words", vec.Len(), "dim", vec.Dim())
	}
	feat := intents.FitFeaturizer(o.Features, tok, trP, vec)
	labelIndex := map[string]int{}
	for i, l := range labels {
		labelIndex[l] = i
	}
	trV := vectorise(feat, trP, train, labelIndex)
	vaV := vectorise(feat, vaP, val, labelIndex)
	lap("features", t0)
	o.Logger.Info("training data", "train", len(train), "validation", len(val), "labels", len(labels),
		"features", feat.Dim()-1, "out_of_scope_class", hasOOS)

	torchrt.KeepLargeBuffersInHeap()
	w := torchrt.NewWorker()
	defer w.Close()
	if err := w.Do(ctx, func() error { torchrt.SetNumThreads(o.Threads); return nil }); err != nil {
		return nil, err
	}
	res := &Result{Warnings: rep.Warnings, Timing: timing}
	hash := dataHash(train, val)
	// The network ensemble.
	t0 = time.Now()
	netCfg := intents.NetConfig{Inputs: feat.Dim(), Dense: feat.DenseDim(), Hidden: o.Hidden, Classes: len(labels), Dropout: o.Dropout}
	var members []*intents.Weights
	pseudo, oosIdx := 0.0, -1
	if i, ok := labelIndex[intents.OutOfScope]; ok && o.PseudoOOS > 0 {
		pseudo, oosIdx = o.PseudoOOS, i
	}
	for m := 0; m < o.Members; m++ {
		wts, hist, err := trainNet(ctx, w, trV, vaV, netOptions{
			net: netCfg, seed: o.Seed + int64(m), epochs: o.Epochs, patience: o.Patience, batch: o.BatchSize,
			lr: o.LR, weightDecay: o.WeightDecay, featureDrop: o.FeatureDrop, smoothing: o.LabelSmoothing,
			pseudoOOS: pseudo, oosIndex: oosIdx, denseTable: o.TableOptimizer == TableDense,
			name: fmt.Sprintf("net %d/%d", m+1, o.Members), progress: o.Progress,
		})
		if err != nil {
			return nil, err
		}
		o.Logger.Info("network trained", "member", m+1, "epochs", len(hist), "best_val_accuracy", bestAcc(hist))
		res.History = append(res.History, hist)
		members = append(members, wts)
	}
	lap("network", t0)
	mcfg := intents.ModelConfig{Features: feat.Config(), Net: netCfg, DataHash: hash, Seed: o.Seed, TablePrecision: o.TablePrecision,
		Trainer: map[string]any{"epochs": o.Epochs, "patience": o.Patience, "batch_size": o.BatchSize, "lr": o.LR,
			"weight_decay": o.WeightDecay, "feature_drop": o.FeatureDrop, "dropout": o.Dropout,
			"label_smoothing": o.LabelSmoothing, "pseudo_oos": pseudo, "table_optimizer": o.TableOptimizer, "threshold_rule": o.ThresholdRule, "oos_recall": o.OOSRecall, "oos_confidence": o.OOSConfidence}}
	if hasOOS {
		mcfg.OOSLabel = intents.OutOfScope
	}
	model, err := intents.NewModel(mcfg, labels, feat, members)
	if err != nil {
		return nil, err
	}
	res.Metrics = calibrate(model, vaP, val, o.thresholdSpec())
	var base *intents.Model
	if o.Baseline {
		t0 = time.Now()
		// The baseline reads word 1-2 and character 2-5 n-grams only (no sub-words).
		bf := o.Features
		bf.Subwords = false
		bfeat := intents.FitFeaturizer(bf, nil, trP, nil)
		btrV := vectorise(bfeat, trP, train, labelIndex)
		bvaV := vectorise(bfeat, vaP, val, labelIndex)
		bcfg := intents.NetConfig{Inputs: bfeat.Dim(), Hidden: 0, Classes: len(labels)}
		bw, hist, err := trainNet(ctx, w, btrV, bvaV, netOptions{
			net: bcfg, seed: o.Seed, epochs: 2 * o.Epochs, patience: o.Patience, batch: o.BatchSize,
			lr: 0.01, denseTable: o.TableOptimizer == TableDense, name: "linear baseline", progress: o.Progress,
		})
		if err != nil {
			return nil, err
		}
		lap("baseline", t0)
		o.Logger.Info("baseline trained", "epochs", len(hist), "best_val_accuracy", bestAcc(hist))
		bm := mcfg
		bm.Net = bcfg
		bm.Features = bfeat.Config()
		bm.TablePrecision = intents.PrecisionF32
		bm.Trainer = map[string]any{"model": "logistic regression on TF-IDF n-grams", "epochs": 2 * o.Epochs, "lr": 0.01}
		base, err = intents.NewModel(bm, labels, bfeat, []*intents.Weights{bw})
		if err != nil {
			return nil, err
		}
		res.Baseline = calibrate(base, vaP, val, o.thresholdSpec())
	}
	res.Seconds = time.Since(start).Seconds()
	// Write atomically.
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(outDir)), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(outDir)), "."+filepath.Base(outDir)+".tmp-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	metrics := map[string]any{"validation": res.Metrics, "history": res.History, "train_seconds": res.Seconds,
		"timing_seconds": timing, "warnings": rep.Warnings, "train_examples": len(train), "validation_examples": len(val)}
	v, err := intents.SaveModel(ctx, w, tmp, model, tokJSON, metrics)
	if err != nil {
		return nil, err
	}
	if base != nil {
		bdir := filepath.Join(tmp, "baseline")
		if _, err := intents.SaveModel(ctx, w, bdir, base, nil, map[string]any{"validation": res.Baseline}); err != nil {
			return nil, err
		}
	}
	if err := replaceDir(tmp, outDir); err != nil {
		return nil, err
	}
	res.Dir, res.Version = outDir, v
	return res, nil
}

func bestAcc(h []epochStat) float64 {
	b := 0.0
	for _, s := range h {
		b = max(b, s.ValAcc)
	}
	return b
}

// replaceDir renames tmp to dst, moving an existing dst aside first and removing it afterwards.
func replaceDir(tmp, dst string) error {
	old := ""
	if _, err := os.Stat(dst); err == nil {
		old = fmt.Sprintf("%s.old-%d", dst, time.Now().UnixNano())
		if err := os.Rename(dst, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		if old != "" {
			os.Rename(old, dst)
		}
		return err
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}

type prepConfig struct {
	cfg intents.FeatureConfig
	tok *nlp.Tokenizer
}

// prepare normalises and tokenizes examples on every CPU.
func (p *prepConfig) prepare(ex []Example) ([]intents.Prepared, error) {
	f := intents.NewPreparer(p.cfg, p.tok)
	out := make([]intents.Prepared, len(ex))
	errs := make([]error, len(ex))
	eachOnAllCPUs(len(ex), func(i int) { out[i], errs[i] = f.Prepare(ex[i].Text) })
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ex[i].Where(), err)
		}
	}
	return out, nil
}

func vectorise(f *intents.Featurizer, p []intents.Prepared, ex []Example, labels map[string]int) *vecSet {
	v := &vecSet{idx: make([][]int32, len(p)), val: make([][]float32, len(p)), y: make([]int64, len(p)),
		dense: make([][]float32, len(p)), dim: f.DenseDim()}
	for i := range p {
		v.idx[i], v.val[i] = f.Vector(p[i], nil, nil)
		if v.dim > 0 {
			d := make([]float32, v.dim)
			if f.Dense(p[i], d) {
				v.dense[i] = d
			}
		}
		l, ok := labels[ex[i].Label]
		if !ok {
			l = -1
		}
		v.y[i] = int64(l)
	}
	return v
}

func labelSet(ex []Example) []string {
	m := map[string]bool{}
	for _, e := range ex {
		m[e.Label] = true
	}
	out := make([]string, 0, len(m))
	for l := range m {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// eachOnAllCPUs calls f(i) for every i in [0, n), spread over one goroutine per CPU; f must be safe
// to call concurrently for different i.
func eachOnAllCPUs(n int, f func(i int)) {
	var wg sync.WaitGroup
	g := runtime.NumCPU()
	for w := 0; w < g; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += g {
				f(i)
			}
		}(w)
	}
	wg.Wait()
}

// indicesByLabel groups the examples' indices by label and lists the labels in sorted order.
func indicesByLabel(ex []Example) (map[string][]int, []string) {
	by := map[string][]int{}
	for i, e := range ex {
		by[e.Label] = append(by[e.Label], i)
	}
	labels := make([]string, 0, len(by))
	for l := range by {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	return by, labels
}

// stratifiedSplit holds out frac of each label's examples (at least one when a label has 3 or more),
// deterministically for a seed.
func stratifiedSplit(ex []Example, frac float64, seed int64) (train, val []Example) {
	by, labels := indicesByLabel(ex)
	rng := rand.New(rand.NewSource(seed))
	hold := make([]bool, len(ex))
	for _, l := range labels {
		idx := by[l]
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		k := int(float64(len(idx))*frac + 0.5)
		if k == 0 && len(idx) >= 3 {
			k = 1
		}
		for _, i := range idx[:k] {
			hold[i] = true
		}
	}
	for i, e := range ex {
		if hold[i] {
			val = append(val, e)
		} else {
			train = append(train, e)
		}
	}
	return train, val
}

// dataHash is the SHA-256 of the training and validation texts and labels, in order.
func dataHash(parts ...[]Example) string {
	h := sha256.New()
	for _, p := range parts {
		for _, e := range p {
			fmt.Fprintf(h, "%s\x00%s\x00", e.Label, e.Text)
		}
		h.Write([]byte{1})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ErrNoModel is returned when a model directory does not exist.
var ErrNoModel = errors.New("no model")
