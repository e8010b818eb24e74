package training

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/shopchat/shopchat/intents"
)

func tinySet() *Dataset {
	ds := &Dataset{}
	add := func(label string, texts ...string) {
		for i, t := range texts {
			ds.Train = append(ds.Train, Example{Text: t, Label: label, File: "tiny.yaml", Line: i + 1})
		}
	}
	add("order", "where is my order", "order status", "has my order shipped", "when will my order arrive",
		"is my order on the way", "my order is late", "did my order ship", "where is my parcel", "track my order",
		"order update please")
	add("refund", "i want a refund", "refund please", "where is my refund", "give me my money back",
		"how do i get a refund", "refund status", "money back please", "refund not received", "i need a refund",
		"can i get my money back")
	add("greet", "hi", "hello", "hey there", "good morning", "hiya", "hello there", "hey", "good evening",
		"greetings", "howdy")
	return ds
}

func tinyOptions() Options {
	return Options{Seed: 5, Members: 1, Hidden: 32, Epochs: 20, Patience: 20, BatchSize: 8, LR: 0.01, Threads: 1, Baseline: true}
}

func TestTrainDeterministicAndEvaluate(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	ra, err := Train(ctx, tinySet(), a, tinyOptions())
	if err != nil {
		t.Fatal(err)
	}
	rb, err := Train(ctx, tinySet(), b, tinyOptions())
	if err != nil {
		t.Fatal(err)
	}
	if ra.Version != rb.Version {
		t.Fatalf("same seed, different models: %s vs %s", ra.Version, rb.Version)
	}
	for _, f := range []string{intents.FileConfig, intents.FileLabels, intents.FileTokenizer, intents.FileFeatures,
		intents.FileWeights, intents.FileMetrics, intents.FileVersion, "baseline/" + intents.FileWeights} {
		if _, err := os.Stat(filepath.Join(a, f)); err != nil {
			t.Errorf("model directory lacks %s", f)
		}
	}
	var cfg intents.ModelConfig
	raw, _ := os.ReadFile(filepath.Join(a, intents.FileConfig))
	if err := json.Unmarshal(raw, &cfg); err != nil || len(cfg.DataHash) != 64 || cfg.Members != 1 {
		t.Fatalf("config %s: %v", raw, err)
	}
	// Evaluate on the training texts: a model must fit them.
	rep, err := Evaluate(ctx, a, tinySet().Train, "tiny", EvalOptions{LatencySamples: 10, Baseline: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.AccuracyInScopeNoThreshold < 0.9 || rep.Accuracy < 0.8 || rep.OOSRecall != nil || rep.ModelVersion != ra.Version || len(rep.PerIntent) != 3 {
		t.Fatalf("report %+v", rep)
	}
	if rep.LatencyMs.Messages != 10 || rep.LatencyMs.P99 <= 0 {
		t.Fatalf("latency %+v", rep.LatencyMs)
	}
	if rep.Baselines["linear"] == nil || rep.Baselines["linear"].Accuracy < 0.8 {
		t.Fatalf("baseline %+v", rep.Baselines)
	}
	dir := t.TempDir()
	for _, w := range []func() error{
		func() error { return rep.WriteJSON(filepath.Join(dir, "r.json")) },
		func() error { return rep.WriteConfusionCSV(filepath.Join(dir, "c.csv")) },
		func() error { return rep.WriteConfusionPNG(filepath.Join(dir, "c.png")) },
		func() error { return rep.WriteScoresCSV(filepath.Join(dir, "s.csv")) },
	} {
		if err := w(); err != nil {
			t.Fatal(err)
		}
	}
	js, _ := os.ReadFile(filepath.Join(dir, "r.json"))
	for _, k := range []string{`"accuracy"`, `"accuracy_in_scope"`, `"oos_recall": null`, `"macro_f1"`, `"per_intent"`,
		`"latency_ms"`, `"p99"`, `"model_version"`, `"misclassified"`, `"baselines"`} {
		if !strings.Contains(string(js), k) {
			t.Errorf("report lacks %s", k)
		}
	}
	csvb, _ := os.ReadFile(filepath.Join(dir, "c.csv"))
	if !strings.HasPrefix(string(csvb), "gold\\predicted,greet,order,refund") {
		t.Errorf("confusion csv: %q", csvb)
	}
	checkScores(t, filepath.Join(dir, "s.csv"), rep, tinySet().Train)
	png, _ := os.ReadFile(filepath.Join(dir, "c.png"))
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Errorf("confusion png is not a PNG")
	}
}

func TestTrainBadDataKeepsModel(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "model")
	r, err := Train(ctx, tinySet(), dir, tinyOptions())
	if err != nil {
		t.Fatal(err)
	}
	bad := tinySet()
	bad.Train = append(bad.Train, Example{Text: "where is my order", Label: "refund", File: "bad.yaml", Line: 99})
	_, err = Train(ctx, bad, dir, tinyOptions())
	if err == nil || !errors.Is(err, ErrInvalidData) || !strings.Contains(err.Error(), "bad.yaml:99") {
		t.Fatalf("err = %v, want a validation error naming bad.yaml:99", err)
	}
	_, err = Parse("bad.yaml", []byte("intents:\n  - name: x\n    examples: [\n"), FormatYAML)
	if !errors.Is(err, ErrFormat) {
		t.Fatalf("malformed file: %v", err)
	}
	v, _ := os.ReadFile(filepath.Join(dir, intents.FileVersion))
	if strings.TrimSpace(string(v)) != r.Version {
		t.Fatalf("previous model changed: VERSION %q, want %q", v, r.Version)
	}
	rep, err := Evaluate(ctx, dir, tinySet().Train[:5], "tiny", EvalOptions{LatencySamples: 1})
	if err != nil || rep.ModelVersion != r.Version {
		t.Fatalf("previous model unusable: %v", err)
	}
	ents, _ := os.ReadDir(filepath.Dir(dir))
	if len(ents) != 1 {
		t.Errorf("temporary directories left behind: %v", ents)
	}
}

func TestCrossValidate(t *testing.T) {
	o := tinyOptions()
	o.Baseline = false
	cv, err := CrossValidate(context.Background(), tinySet(), 2, o)
	if err != nil {
		t.Fatal(err)
	}
	if cv.Folds != 2 || len(cv.PerFold) != 2 || cv.Accuracy <= 0.5 {
		t.Fatalf("cv %+v", cv)
	}
	if _, err := CrossValidate(context.Background(), tinySet(), 1, o); err == nil {
		t.Fatal("1 fold accepted")
	}
}

// TestTrainWithWordVectors trains with a small word-vector file: the model keeps the vectors it needs,
// reads their mean as dense inputs, saves and reloads to the same predictions, is deterministic, and a
// message whose only content word is unseen in training but has a vector near a training word's is
// classified through the vectors.
func TestTrainWithWordVectors(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	vf := filepath.Join(root, "vectors.txt")
	vecs := "the 0.1 0.1 0.1\nmy 0.1 0.2 0.1\norder 1 0 0\nparcel 0.9 0.1 0\nshipment 0.95 0.05 0\n" +
		"refund 0 1 0\nmoney 0.1 0.9 0\nreimbursement 0.05 0.95 0\nhello 0 0 1\nhi 0 0.1 0.9\n"
	if err := os.WriteFile(vf, []byte(vecs), 0o644); err != nil {
		t.Fatal(err)
	}
	o := tinyOptions()
	o.WordVectorsFile = vf
	o.Features.VectorWeight = 4
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	ra, err := Train(ctx, tinySet(), a, o)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := Train(ctx, tinySet(), b, o)
	if err != nil {
		t.Fatal(err)
	}
	if ra.Version != rb.Version {
		t.Fatalf("same seed, different models: %s vs %s", ra.Version, rb.Version)
	}
	var cfg intents.ModelConfig
	raw, _ := os.ReadFile(filepath.Join(a, intents.FileConfig))
	if err := json.Unmarshal(raw, &cfg); err != nil || cfg.Features.WordVectors != 3 || cfg.Net.Dense != 9 || cfg.Features.VectorWeight != 4 ||
		cfg.Features.VectorPooling != intents.PoolMeanMaxMin {
		t.Fatalf("config %s: %v", raw, err)
	}
	if _, err := os.Stat(filepath.Join(a, intents.FileVectors)); err != nil {
		t.Fatal("model directory lacks vectors.bin")
	}
	if _, err := os.Stat(filepath.Join(a, "baseline", intents.FileVectors)); err == nil {
		t.Fatal("the linear baseline must not read word vectors")
	}
	c, err := intents.NewClassifier(intents.ClassifierConfig{ModelDir: a})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Without vectors this model answers greet for "shipment" (its character n-grams say little).
	res, err := c.Classify(ctx, "shipment")
	if err != nil || res.Intent != "order" {
		t.Fatalf("unseen word with a vector near order and parcel: %+v, %v", res, err)
	}
	rep, err := Evaluate(ctx, a, tinySet().Train, "tiny", EvalOptions{LatencySamples: 5})
	if err != nil || rep.AccuracyInScopeNoThreshold < 0.9 || rep.ModelVersion != ra.Version {
		t.Fatalf("reloaded model: %+v, %v", rep, err)
	}
	// An unknown pooling stops training.
	bad := o
	bad.Features.VectorPooling = "median"
	if _, err := Train(ctx, tinySet(), filepath.Join(root, "d"), bad); err == nil || !strings.Contains(err.Error(), "median") {
		t.Fatalf("unknown pooling: %v", err)
	}
	// A missing or malformed vectors file stops training with the file and line, before anything is written.
	if err := os.WriteFile(vf, []byte("order 1 0 0\nparcel 1 x 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Train(ctx, tinySet(), filepath.Join(root, "c"), o); err == nil || !strings.Contains(err.Error(), "vectors.txt: line 2") {
		t.Fatalf("malformed vectors: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "c")); err == nil {
		t.Fatal("a failed run left a model directory")
	}
}

// TestTableOptimizers: both ways of training the embedding table fit the tiny data, give different
// models (they are different optimisers), and an unknown one is refused before anything is written.
func TestTableOptimizers(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	versions := map[string]string{}
	for _, opt := range []string{TableRows, TableDense} {
		o := tinyOptions()
		o.TableOptimizer = opt
		dir := filepath.Join(root, opt)
		res, err := Train(ctx, tinySet(), dir, o)
		if err != nil {
			t.Fatalf("%s: %v", opt, err)
		}
		versions[opt] = res.Version
		rep, err := Evaluate(ctx, dir, tinySet().Train, "tiny", EvalOptions{LatencySamples: 1})
		if err != nil {
			t.Fatal(err)
		}
		if rep.AccuracyInScopeNoThreshold < 0.9 {
			t.Errorf("%s: training accuracy %v", opt, rep.AccuracyInScopeNoThreshold)
		}
	}
	if versions[TableRows] == versions[TableDense] {
		t.Error("rows and dense gave the same model")
	}
	o := tinyOptions()
	o.TableOptimizer = "sgd"
	out := filepath.Join(root, "bad")
	if _, err := Train(ctx, tinySet(), out, o); err == nil || !strings.Contains(err.Error(), "sgd") {
		t.Fatalf("unknown table optimizer: %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("a refused run wrote %s", out)
	}
}

// checkScores reads a WriteScoresCSV file back: a header of where, gold, predicted, confidence and the
// model's labels; one row per example, in order, whose probabilities sum to 1 and whose predictions
// agree with the report's misclassified list.
func checkScores(t *testing.T, path string, rep *Report, ex []Example) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(ex)+1 {
		t.Fatalf("scores: %d rows for %d examples", len(rows), len(ex))
	}
	head := rows[0]
	if strings.Join(head[:4], ",") != "where,gold,predicted,confidence" || len(head) != 4+len(rep.labels) {
		t.Fatalf("scores header %v", head)
	}
	wrong := 0
	for i, r := range rows[1:] {
		if r[0] != ex[i].Where() || r[1] != ex[i].Label {
			t.Fatalf("row %d is %v, want %s %s", i+1, r[:2], ex[i].Where(), ex[i].Label)
		}
		if r[1] != r[2] {
			wrong++
		}
		var sum float64
		for _, v := range r[4:] {
			p, err := strconv.ParseFloat(v, 64)
			if err != nil || p < 0 || p > 1 {
				t.Fatalf("row %d: probability %q", i+1, v)
			}
			sum += p
		}
		if math.Abs(sum-1) > 1e-5 {
			t.Fatalf("row %d: probabilities sum to %v", i+1, sum)
		}
	}
	if wrong != len(rep.Misclassified) {
		t.Errorf("scores have %d wrong predictions, the report %d", wrong, len(rep.Misclassified))
	}
}
