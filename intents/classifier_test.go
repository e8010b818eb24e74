package intents_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/shopchat/shopchat/intents"
	"github.com/shopchat/shopchat/internal/torchrt"
	"github.com/shopchat/shopchat/training"
)

// tinyData is a small synthetic shop: three intents and some out-of-scope examples.
func tinyData(variant int) *training.Dataset {
	ds := &training.Dataset{}
	add := func(label string, texts ...string) {
		for i, t := range texts {
			ds.Train = append(ds.Train, training.Example{Text: t, Label: label, File: "tiny", Line: i + 1})
		}
	}
	add("order_status", "where is my order", "wheres my order", "order status", "has my order shipped",
		"when will my order arrive", "status of my order please", "is my order on the way", "my order is late",
		"track where my order is", "did my order ship yet", "where is my parcel", "what happened to my order")
	add("refund", "i want a refund", "refund please", "where is my refund", "give me my money back",
		"how do i get a refund", "refund my purchase", "can i get my money back", "refund status",
		"has my refund been processed", "i need a refund", "money back please", "refund not received")
	add("greeting", "hi", "hello", "hey there", "good morning", "hiya", "hello there", "hey", "good evening",
		"hi bot", "greetings", "howdy", "hey hello")
	if variant > 0 {
		add("goodbye", "bye", "goodbye", "see you", "bye bye", "see ya later", "good night", "farewell",
			"talk to you later", "cya", "i am leaving", "have a nice day", "take care")
	}
	add(intents.OutOfScope, "what is the weather", "tell me a joke", "who won the football", "play music",
		"capital of france", "how tall is everest", "book a flight", "what time is it", "sing a song",
		"cook pasta recipe", "bitcoin price", "write a poem")
	return ds
}

var (
	tinyOnce sync.Once
	tinyDirs [2]string
	tinyErr  error
)

// tinyModels trains two small models once for all tests of the package (a few seconds each).
func tinyModels(t testing.TB) (string, string) {
	t.Helper()
	tinyOnce.Do(func() {
		root, err := os.MkdirTemp("", "intents-test-")
		if err != nil {
			tinyErr = err
			return
		}
		for v := 0; v < 2; v++ {
			dir := filepath.Join(root, "m"+strconv.Itoa(v))
			o := training.Options{Seed: 3, Members: 2, Hidden: 32, Epochs: 25, Patience: 25, BatchSize: 16, LR: 0.01, Threads: 1}
			if _, err := training.Train(context.Background(), tinyData(v), dir, o); err != nil {
				tinyErr = err
				return
			}
			tinyDirs[v] = dir
		}
	})
	if tinyErr != nil {
		t.Fatalf("train tiny models: %v", tinyErr)
	}
	return tinyDirs[0], tinyDirs[1]
}

func newClassifier(t testing.TB, dir string) *intents.Classifier {
	t.Helper()
	c, err := intents.NewClassifier(intents.ClassifierConfig{ModelDir: dir, TablePrecision: os.Getenv("SHOPCHAT_BENCH_PRECISION")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestClassify(t *testing.T) {
	dir, _ := tinyModels(t)
	c := newClassifier(t, dir)
	v, err := os.ReadFile(filepath.Join(dir, intents.FileVersion))
	if err != nil {
		t.Fatal(err)
	}
	if c.Version() != strings.TrimSpace(string(v)) || c.Version() == "" {
		t.Fatalf("Version() = %q, VERSION file %q", c.Version(), v)
	}
	tests := []struct{ text, want string }{
		{"where is my order?", "order_status"},
		{"Wheres my ordr", "order_status"},
		{"I want a REFUND", "refund"},
		{"hello!", "greeting"},
		{"what's the weather like", intents.OutOfScope},
	}
	for _, tt := range tests {
		r, err := c.Classify(context.Background(), tt.text)
		if err != nil {
			t.Fatal(err)
		}
		if r.Intent != tt.want {
			t.Errorf("Classify(%q) = %s (%.2f, ranked %v), want %s", tt.text, r.Intent, r.Confidence, r.Ranked, tt.want)
		}
		if r.ModelVersion != c.Version() {
			t.Errorf("ModelVersion %q, want %q", r.ModelVersion, c.Version())
		}
		if len(r.Ranked) == 0 || r.Ranked[0].Confidence < r.Ranked[len(r.Ranked)-1].Confidence {
			t.Errorf("Ranked not sorted: %v", r.Ranked)
		}
		var sum float64
		for _, p := range r.Ranked {
			if p.Intent == intents.OutOfScope {
				t.Errorf("Ranked lists the out-of-scope class: %v", r.Ranked)
			}
			sum += p.Confidence
		}
		if sum > 1+1e-9 {
			t.Errorf("ranked probabilities sum to %v", sum)
		}
		if r.OutOfScope != (r.Intent == intents.OutOfScope) {
			t.Errorf("OutOfScope %v with intent %s", r.OutOfScope, r.Intent)
		}
	}
}

func TestClassifyBadInput(t *testing.T) {
	dir, _ := tinyModels(t)
	c := newClassifier(t, dir)
	for _, in := range []string{"", "   \t\n", "\x00\x01\x02", "\xff\xfe\xfd", "!!!???", "зззз", "\u200b\u200d"} {
		r, err := c.Classify(context.Background(), in)
		if err != nil {
			t.Fatalf("Classify(%q): %v", in, err)
		}
		if !r.OutOfScope || r.Intent != intents.OutOfScope {
			t.Errorf("Classify(%q) = %+v, want out of scope", in, r)
		}
	}
	// Invalid UTF-8 around real words still classifies.
	if r, _ := c.Classify(context.Background(), "where\xff is my order"); r.Intent != "order_status" {
		t.Errorf("invalid byte inside a message: %+v", r)
	}
	_, err := c.Classify(context.Background(), strings.Repeat("refund ", 100<<10/7))
	if !errors.Is(err, intents.ErrTooLong) {
		t.Fatalf("100 KB message: err = %v, want ErrTooLong", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// A cancelled context is either refused or served; it never hangs.
	if _, err := c.Classify(ctx, "hi"); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestAmbiguity(t *testing.T) {
	dir, _ := tinyModels(t)
	c, err := intents.NewClassifier(intents.ClassifierConfig{ModelDir: dir, AmbiguityGap: 1.1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := c.Classify(context.Background(), "where is my refund order")
	if err != nil {
		t.Fatal(err)
	}
	if !r.OutOfScope && (!r.Ambiguous || len(r.Ranked) < 2) {
		t.Fatalf("a gap of 1.1 makes every in-scope answer ambiguous: %+v", r)
	}
	c2, err := intents.NewClassifier(intents.ClassifierConfig{ModelDir: dir, AmbiguityGap: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if r, _ := c2.Classify(context.Background(), "where is my refund order"); r.Ambiguous {
		t.Fatalf("ambiguity off: %+v", r)
	}
}

func TestSwapUnderLoad(t *testing.T) {
	a, b := tinyModels(t)
	c := newClassifier(t, a)
	va := c.Version()
	ctx := context.Background()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r, err := c.Classify(ctx, fmt.Sprintf("where is my order %d", i))
				if err != nil || r.Intent != "order_status" {
					errs <- fmt.Errorf("goroutine %d: %+v %v", g, r, err)
					return
				}
			}
		}(g)
	}
	if err := c.Swap(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := c.Swap(ctx, filepath.Join(t.TempDir(), "missing")); !errors.Is(err, intents.ErrBadModel) {
		t.Fatalf("swap to a missing model: %v, want ErrBadModel", err)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if c.Version() == va {
		t.Fatal("version unchanged after Swap")
	}
	if r, _ := c.Classify(ctx, "see you later, bye"); r.Intent != "goodbye" {
		t.Errorf("new model does not know goodbye: %+v", r)
	}
	res, err := c.ClassifyBatch(ctx, []string{"hi", "refund please", "where is my order"})
	if err != nil || len(res) != 3 || res[1].Intent != "refund" {
		t.Fatalf("ClassifyBatch = %+v, %v", res, err)
	}
}

// TestConcurrentSameAsSequential checks that many concurrent Classify calls and ClassifyBatch give
// exactly the results of one message at a time, and that a cancelled caller neither blocks the others
// nor changes their results.
func TestConcurrentSameAsSequential(t *testing.T) {
	dir, _ := tinyModels(t)
	texts := []string{"where is my order", "refund please", "hi", "what is the weather", "wheres my ordr",
		"give me my money back now", "good morning!", "bitcoin price", "", "   ", "\x00\x01", "hello where is my refund"}
	c, err := intents.NewClassifier(intents.ClassifierConfig{ModelDir: dir, Workers: 2, MaxBatch: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	want := make([]intents.Result, len(texts))
	for i, tx := range texts {
		if want[i], err = c.Classify(ctx, tx); err != nil {
			t.Fatal(err)
		}
	}
	same := func(what string, i int, got intents.Result) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want[i]) {
			t.Errorf("%s %q: %+v, one at a time %+v", what, texts[i], got, want[i])
		}
	}
	var wg sync.WaitGroup
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := 0; k < 50; k++ {
				i := (g + k) % len(texts)
				if g%8 == 7 && k%10 == 0 {
					cctx, cancel := context.WithCancel(ctx)
					cancel()
					if _, err := c.Classify(cctx, texts[i]); err != nil && !errors.Is(err, context.Canceled) {
						t.Errorf("cancelled call: %v", err)
					}
					continue
				}
				got, err := c.Classify(ctx, texts[i])
				if err != nil {
					t.Error(err)
					return
				}
				same("concurrent Classify", i, got)
			}
		}(g)
	}
	wg.Wait()
	res, err := c.ClassifyBatch(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range texts {
		same("ClassifyBatch", i, res[i])
	}
}

func TestLoadRejectsBadModels(t *testing.T) {
	dir, _ := tinyModels(t)
	copyDir := func() string {
		dst := filepath.Join(t.TempDir(), "m")
		os.MkdirAll(dst, 0o755)
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if e.Type().IsRegular() {
				b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
				os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644)
			}
		}
		return dst
	}
	tests := []struct {
		name string
		harm func(d string)
	}{
		{"tampered labels", func(d string) { os.WriteFile(filepath.Join(d, intents.FileLabels), []byte(`["a"]`), 0o644) }},
		{"no weights", func(d string) { os.Remove(filepath.Join(d, intents.FileWeights)) }},
		{"no version", func(d string) { os.Remove(filepath.Join(d, intents.FileVersion)) }},
		{"truncated features", func(d string) {
			p := filepath.Join(d, intents.FileFeatures)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/2], 0o644)
		}},
	}
	for _, tt := range tests {
		d := copyDir()
		tt.harm(d)
		if _, err := intents.NewClassifier(intents.ClassifierConfig{ModelDir: d}); !errors.Is(err, intents.ErrBadModel) {
			t.Errorf("%s: err = %v, want ErrBadModel", tt.name, err)
		}
	}
}

func TestClosed(t *testing.T) {
	dir, _ := tinyModels(t)
	c, err := intents.NewClassifier(intents.ClassifierConfig{ModelDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	c.Close()
	if _, err := c.Classify(context.Background(), "hi"); !errors.Is(err, intents.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if err := c.Swap(context.Background(), dir); !errors.Is(err, intents.ErrClosed) {
		t.Fatalf("Swap after Close: %v", err)
	}
}

// benchModel is SHOPCHAT_BENCH_MODEL (e.g. a CLINC150 model from make bench-intents) or the tiny model.
func benchModel(b *testing.B) string {
	if d := os.Getenv("SHOPCHAT_BENCH_MODEL"); d != "" {
		return d
	}
	d, _ := tinyModels(b)
	return d
}

// benchTexts are the messages the classifier benchmarks send: the CLINC150 test split (5,500 distinct
// messages, in-scope and out-of-scope) when SHOPCHAT_BENCH_MODEL is set and the data is in
// ../shared/data, as real traffic touches many different embedding rows; otherwise shopTexts. Eight
// texts sent over and over keep their rows in the CPU caches and flatter the throughput.
func benchTexts(b *testing.B) []string {
	if os.Getenv("SHOPCHAT_BENCH_MODEL") == "" {
		return shopTexts
	}
	path := filepath.Join("..", "..", "shared", "data", "clinc150", "data_full.json")
	if s := os.Getenv("SHOPCHAT_SHARED"); s != "" {
		path = filepath.Join(s, "data", "clinc150", "data_full.json")
	}
	ds, err := training.Load(path, "clinc150")
	if err != nil {
		b.Logf("benchmark texts: the %d shop texts (CLINC150 not loaded: %v)", len(shopTexts), err)
		return shopTexts
	}
	texts := make([]string, len(ds.Test))
	for i, e := range ds.Test {
		texts[i] = e.Text
	}
	b.Logf("benchmark texts: the %d CLINC150 test messages", len(texts))
	return texts
}

var shopTexts = []string{
	"where is my order", "can you tell me how to reset my password please", "hi", "i want to return these shoes, they are too small",
	"what's the weather in paris tomorrow", "refund status for order A10023?", "thx", "my card got declined at checkout twice, what now",
}

// BenchmarkClassify is one message at a time on one goroutine (the p99 target is per message).
func BenchmarkClassify(b *testing.B) {
	c := newClassifier(b, benchModel(b))
	texts := benchTexts(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Classify(ctx, texts[i%len(texts)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClassifyParallel is throughput with every CPU busy (msgs/s = 1e9 / ns/op).
func BenchmarkClassifyParallel(b *testing.B) { benchClassifyParallel(b, 1) }

// BenchmarkClassifyConcurrent is throughput with many conversations at once, as a busy chat server
// sees it: 32 goroutines per CPU call Classify, bounded by the classifier's workers (msgs/s = 1e9 /
// ns/op). BenchmarkClassifyParallel has one caller per CPU.
func BenchmarkClassifyConcurrent(b *testing.B) { benchClassifyParallel(b, 32) }

// benchClassifyParallel runs Classify from parallelism goroutines per CPU. Each goroutine starts at its
// own place in benchTexts: goroutines that all started at the first text would classify the same
// message many times in a row, with its embedding rows in cache, which made an earlier version of
// BenchmarkClassifyConcurrent twice as fast as real traffic.
func benchClassifyParallel(b *testing.B, parallelism int) {
	c := newClassifier(b, benchModel(b))
	texts := benchTexts(b)
	ctx := context.Background()
	var start atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(parallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(start.Add(int64(len(texts)/64 + 1))) // well apart in texts
		for pb.Next() {
			if _, err := c.Classify(ctx, texts[i%len(texts)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkRSS classifies 100,000 messages twice (per iteration; run it with -benchtime 1x) and reports
// resident memory before, between and after (MB), to show that nothing leaks per classification: a
// leak grows both halves alike, the Go heap's own settling only the first.
func BenchmarkRSS(b *testing.B) {
	c := newClassifier(b, benchModel(b))
	ctx := context.Background()
	run := func(n int) {
		var wg sync.WaitGroup
		for g := 0; g < runtime.GOMAXPROCS(0); g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := g; i < n; i += runtime.GOMAXPROCS(0) {
					c.Classify(ctx, shopTexts[i%len(shopTexts)]+" "+strconv.Itoa(i))
				}
			}(g)
		}
		wg.Wait()
	}
	for i := 0; i < b.N; i++ {
		run(10000) // warm up pools and the heap
		runtime.GC()
		before := rssMB()
		run(100000)
		runtime.GC()
		mid := rssMB()
		run(100000)
		runtime.GC()
		after := rssMB()
		b.ReportMetric(before, "rss_before_MB")
		b.ReportMetric(after, "rss_after_MB")
		b.ReportMetric(mid-before, "rss_growth1_MB")
		b.ReportMetric(after-mid, "rss_growth2_MB")
	}
}

func rssMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// TestTablePrecision: models train with int8 tables by default; the same weights held at float32 and at
// int8 classify alike, with probabilities within a point; an unknown precision is refused; a model
// loaded at int8 keeps no float32 table and refuses to be saved rather than write a lossy one.
func TestTablePrecision(t *testing.T) {
	dir, _ := tinyModels(t)
	var cfg intents.ModelConfig
	b, err := os.ReadFile(filepath.Join(dir, intents.FileConfig))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.TablePrecision != intents.PrecisionInt8 {
		t.Fatalf("trained model's table_precision = %q, want %q", cfg.TablePrecision, intents.PrecisionInt8)
	}
	open := func(p string) *intents.Classifier {
		c, err := intents.NewClassifier(intents.ClassifierConfig{ModelDir: dir, TablePrecision: p})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		if got := c.Model().Config.TablePrecision; got != p {
			t.Fatalf("loaded with %q, model says %q", p, got)
		}
		return c
	}
	f32, i8 := open(intents.PrecisionF32), open(intents.PrecisionInt8)
	ctx := context.Background()
	for _, text := range append(append([]string(nil), shopTexts...), "wheres my ordr", "refund plz", "good evening", "sing me a song") {
		a, err := f32.Classify(ctx, text)
		if err != nil {
			t.Fatal(err)
		}
		q, err := i8.Classify(ctx, text)
		if err != nil {
			t.Fatal(err)
		}
		if a.Intent != q.Intent || math.Abs(a.Confidence-q.Confidence) > 0.01 {
			t.Errorf("%q: f32 %s (%.4f), int8 %s (%.4f)", text, a.Intent, a.Confidence, q.Intent, q.Confidence)
		}
	}
	if _, err := intents.NewClassifier(intents.ClassifierConfig{ModelDir: dir, TablePrecision: "f16"}); err == nil || !strings.Contains(err.Error(), "f16") {
		t.Errorf("precision f16: err = %v, want an error naming it", err)
	}
	w := torchrt.NewWorker()
	defer w.Close()
	if _, err := intents.SaveModel(ctx, w, t.TempDir(), i8.Model(), nil, nil); err == nil {
		t.Error("SaveModel of a model loaded at int8 succeeded; it has no float32 table to save")
	}
}

// BenchmarkSwapRSS swaps the model in 10 times per iteration (run it with -benchtime 1x) and reports
// resident memory after the first swap and after the last (MB): a load that left anything behind grows
// it by that much per swap.
func BenchmarkSwapRSS(b *testing.B) {
	dir := benchModel(b)
	c := newClassifier(b, dir)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		if err := c.Swap(ctx, dir); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		first := rssMB()
		for k := 0; k < 9; k++ {
			if err := c.Swap(ctx, dir); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		last := rssMB()
		b.ReportMetric(first, "rss_first_MB")
		b.ReportMetric(last, "rss_last_MB")
		b.ReportMetric((last-first)/9, "rss_per_swap_MB")
	}
}
