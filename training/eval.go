package training

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/shopchat/shopchat/intents"
	"github.com/shopchat/shopchat/internal/torchrt"
)

// Latency is the time to classify one message (normalisation, tokenization, features and the network),
// one message at a time on one goroutine locked to one OS thread.
type Latency struct {
	P50      float64 `json:"p50"`
	P99      float64 `json:"p99"`
	Mean     float64 `json:"mean"`
	Messages int     `json:"messages"`
}

// Miss is one misclassified example.
type Miss struct {
	Text       string  `json:"text"`
	Gold       string  `json:"gold"`
	Predicted  string  `json:"predicted"`
	Confidence float64 `json:"confidence"`
	Where      string  `json:"where,omitempty"`
}

// Confusion is one (gold, predicted) pair and how often it occurred.
type Confusion struct {
	Gold      string `json:"gold"`
	Predicted string `json:"predicted"`
	Count     int    `json:"count"`
}

// Report is what Evaluate returns and `shopchat eval` writes as JSON.
type Report struct {
	Model        string `json:"model"`
	ModelVersion string `json:"model_version"`
	// TablePrecision is the precision the model's tables were held at while scoring.
	TablePrecision string `json:"table_precision"`
	Data           string `json:"data"`
	*Metrics
	LatencyMs     Latency            `json:"latency_ms"`
	TopConfusions []Confusion        `json:"top_confusions"`
	Misclassified []Miss             `json:"misclassified"`
	Baselines     map[string]*Report `json:"baselines,omitempty"`
	// CrossValidation holds the folds of a --cross-validation run.
	CrossValidation *CVReport `json:"cross_validation,omitempty"`

	confusion map[string]map[string]int
	labels    []string
	preds     []prediction // per example, for WriteScoresCSV
	where     []string
}

// EvalOptions configure Evaluate.
type EvalOptions struct {
	// LatencySamples is how many messages are timed one by one (default 2000; all if fewer).
	LatencySamples int
	// Baseline also scores the linear baseline saved in MODEL/baseline, when there is one.
	Baseline bool
	// TablePrecision, when set, scores the model (not the baseline) with its tables held at this
	// precision instead of its own (intents.LoadOptions).
	TablePrecision string
}

// Evaluate scores the model in dir on examples. name labels the data in the report.
func Evaluate(ctx context.Context, dir string, ex []Example, name string, o EvalOptions) (*Report, error) {
	if o.LatencySamples <= 0 {
		o.LatencySamples = 2000
	}
	w := torchrt.NewWorker()
	defer w.Close()
	m, err := intents.LoadModelWith(ctx, w, dir, intents.LoadOptions{TablePrecision: o.TablePrecision})
	if err != nil {
		return nil, err
	}
	rep, err := evaluateModel(ctx, m, ex, o)
	if err != nil {
		return nil, err
	}
	rep.Model, rep.Data = dir, name
	if o.Baseline {
		bdir := filepath.Join(dir, "baseline")
		if _, err := os.Stat(bdir); err == nil {
			bm, err := intents.LoadModel(ctx, w, bdir)
			if err != nil {
				return nil, fmt.Errorf("baseline: %w", err)
			}
			brep, err := evaluateModel(ctx, bm, ex, o)
			if err != nil {
				return nil, err
			}
			brep.Model, brep.Data = bdir, name
			brep.Misclassified = nil
			rep.Baselines = map[string]*Report{"linear": brep}
		}
	}
	return rep, nil
}

func evaluateModel(ctx context.Context, m *intents.Model, ex []Example, o EvalOptions) (*Report, error) {
	if len(ex) == 0 {
		return nil, fmt.Errorf("no examples to evaluate")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	prep := make([]intents.Prepared, len(ex))
	preds := make([]prediction, len(ex))
	eachOnAllCPUs(len(ex), func(i int) {
		p, err := m.Featurizer().Prepare(ex[i].Text)
		if err != nil {
			p = intents.Prepared{}
		}
		prep[i] = p
		probs := make([]float64, len(m.Labels))
		m.Logits(p, probs)
		intents.Probabilities(probs, m.Config.Temperature)
		preds[i] = decide(m, probs, ex[i].Label)
	})
	prec := m.Config.TablePrecision
	if prec == "" {
		prec = intents.PrecisionF32
	}
	rep := &Report{ModelVersion: m.Version, TablePrecision: prec, Metrics: computeMetrics(preds, true), labels: m.Labels}
	rep.Threshold, rep.Temperature = m.Config.Threshold, m.Config.Temperature
	rep.confusion = map[string]map[string]int{}
	rep.preds = preds
	rep.where = make([]string, len(ex))
	for i := range ex {
		rep.where[i] = ex[i].Where()
	}
	pairs := map[[2]string]int{}
	rep.Misclassified = []Miss{}
	for i, p := range preds {
		if rep.confusion[p.gold] == nil {
			rep.confusion[p.gold] = map[string]int{}
		}
		rep.confusion[p.gold][p.pred]++
		if p.pred != p.gold {
			pairs[[2]string{p.gold, p.pred}]++
			rep.Misclassified = append(rep.Misclassified, Miss{Text: ex[i].Text, Gold: p.gold, Predicted: p.pred,
				Confidence: p.conf, Where: ex[i].Where()})
		}
	}
	for k, c := range pairs {
		rep.TopConfusions = append(rep.TopConfusions, Confusion{Gold: k[0], Predicted: k[1], Count: c})
	}
	sort.Slice(rep.TopConfusions, func(i, j int) bool {
		a, b := rep.TopConfusions[i], rep.TopConfusions[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Gold+"\x00"+a.Predicted < b.Gold+"\x00"+b.Predicted
	})
	if len(rep.TopConfusions) > 25 {
		rep.TopConfusions = rep.TopConfusions[:25]
	}
	rep.LatencyMs = measureLatency(m, ex, o.LatencySamples)
	return rep, nil
}

// measureLatency times single-message classification of up to n examples on one locked OS thread.
func measureLatency(m *intents.Model, ex []Example, n int) Latency {
	n = min(n, len(ex))
	if n == 0 {
		return Latency{}
	}
	d := make([]float64, 0, n)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		// Warm up the pools.
		for i := 0; i < min(50, n); i++ {
			m.Predict(ex[i].Text)
		}
		for i := 0; i < n; i++ {
			t0 := time.Now()
			probs, _, _ := m.Predict(ex[i].Text)
			m.Decide(probs, m.Config.Threshold)
			d = append(d, float64(time.Since(t0).Nanoseconds())/1e6)
		}
	}()
	<-done
	sort.Float64s(d)
	var sum float64
	for _, v := range d {
		sum += v
	}
	q := func(p float64) float64 { return d[min(len(d)-1, int(p*float64(len(d))))] }
	return Latency{P50: q(0.50), P99: q(0.99), Mean: sum / float64(len(d)), Messages: len(d)}
}

// WriteJSON writes the report to path.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// WriteScoresCSV writes every scored example with its calibrated probabilities to path: the columns
// where (file:line), gold, predicted (after the threshold), confidence, then one column per label of the
// model in its label order. Threshold and trade-off analyses (docs/intents.md) are rebuilt from it.
func (r *Report) WriteScoresCSV(path string) error {
	if len(r.preds) == 0 {
		return fmt.Errorf("scores: no scored examples")
	}
	return writeCSV(path, func(w *csv.Writer) {
		w.Write(append([]string{"where", "gold", "predicted", "confidence"}, r.labels...))
		row := make([]string, 0, 4+len(r.labels))
		for i, p := range r.preds {
			row = append(row[:0], r.where[i], p.gold, p.pred, strconv.FormatFloat(p.conf, 'g', 7, 64))
			for _, v := range p.probs {
				row = append(row, strconv.FormatFloat(v, 'g', 7, 64))
			}
			w.Write(row)
		}
	})
}

// writeCSV creates path and fills it with rows; the first write error is returned.
func writeCSV(path string, rows func(w *csv.Writer)) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	rows(w)
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteConfusionCSV writes the confusion matrix (rows gold, columns predicted, "oos" included) to path.
func (r *Report) WriteConfusionCSV(path string) error {
	set := map[string]bool{}
	for g, row := range r.confusion {
		set[g] = true
		for p := range row {
			set[p] = true
		}
	}
	labels := make([]string, 0, len(set))
	for l := range set {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	return writeCSV(path, func(w *csv.Writer) {
		w.Write(append([]string{"gold\\predicted"}, labels...))
		for _, g := range labels {
			row := []string{g}
			for _, p := range labels {
				row = append(row, fmt.Sprint(r.confusion[g][p]))
			}
			w.Write(row)
		}
	})
}

// WriteConfusionPNG plots the most confused (gold -> predicted) pairs as horizontal bars.
func (r *Report) WriteConfusionPNG(path string) error {
	top := r.TopConfusions
	if len(top) > 20 {
		top = top[:20]
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Most confused intents (model %s)", r.ModelVersion)
	p.X.Label.Text = "misclassified examples"
	vals := make(plotter.Values, len(top))
	names := make([]string, len(top))
	for i, c := range top {
		// Largest at the top of the chart.
		j := len(top) - 1 - i
		vals[j] = float64(c.Count)
		names[j] = c.Gold + " -> " + c.Predicted
	}
	if len(top) == 0 {
		p.Title.Text += ": no errors"
		vals = plotter.Values{0}
		names = []string{"(none)"}
	}
	bars, err := plotter.NewBarChart(vals, vg.Points(12))
	if err != nil {
		return err
	}
	bars.Horizontal = true
	p.Add(bars)
	p.NominalY(names...)
	return p.Save(9*vg.Inch, vg.Length(2+0.3*float64(len(names)))*vg.Inch, path)
}
