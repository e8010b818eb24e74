package training

import (
	"errors"
	"strings"
	"testing"

	"github.com/shopchat/shopchat/intents"
)

func TestParseYAML(t *testing.T) {
	good := "version: 1\nintents:\n  - name: greet\n    examples:\n      - hi\n      - hello\n    responses:\n      - Hello!\nout_of_scope:\n  - weather\n"
	ds, err := Parse("x.yaml", []byte(good), FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Train) != 3 || ds.Train[1].Text != "hello" || ds.Train[1].Line != 6 || ds.Train[2].Label != intents.OutOfScope {
		t.Fatalf("parsed %+v", ds.Train)
	}
	if ds.Responses["greet"][0] != "Hello!" {
		t.Fatalf("responses %+v", ds.Responses)
	}
	bad := []struct {
		name, in, want string
	}{
		{"syntax", "intents:\n  - name: a\n   examples: [\n", "x.yaml:"},
		{"unknown top key", "version: 1\nintentz: []\n", "x.yaml:2: unknown key \"intentz\""},
		{"no examples", "intents:\n  - name: a\n    examples: []\n", "x.yaml:2: intent \"a\" has no examples"},
		{"non-string example", "intents:\n  - name: a\n    examples:\n      - [x, y]\n", "x.yaml:4: an example must be a string"},
		{"bad name", "intents:\n  - name: 'a b'\n    examples: [x]\n", "x.yaml:2: intent name"},
		{"twice", "intents:\n  - name: a\n    examples: [x]\n  - name: a\n    examples: [y]\n", "x.yaml:4: intent \"a\" already defined at line 2"},
		{"unknown intent key", "intents:\n  - name: a\n    exmples: [x]\n", "x.yaml:3: unknown key \"exmples\""},
		{"oos as intent", "intents:\n  - name: oos\n    examples: [x]\n", "x.yaml:2: use the top-level"},
		{"empty", "", "x.yaml:1: empty file"},
		{"version", "version: 2\nintents: []\n", "version 2"},
	}
	for _, tt := range bad {
		_, err := Parse("x.yaml", []byte(tt.in), FormatYAML)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

func TestParseCSV(t *testing.T) {
	ds, err := Parse("a.csv", []byte("text,category\nhello there,greet\n\"where, is it\",order\n"), FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Train) != 2 || ds.Train[1].Text != "where, is it" || ds.Train[1].Line != 3 {
		t.Fatalf("parsed %+v", ds.Train)
	}
	ds, err = Parse("a.csv", []byte("hi,greet\n"), FormatCSV)
	if err != nil || len(ds.Train) != 1 {
		t.Fatalf("no header: %+v %v", ds, err)
	}
	for in, want := range map[string]string{
		"text,label\nhi,greet\nbad row\n":  "a.csv:3: want 2 fields",
		"text,label\nhi,greet\n\"open,x\n": "a.csv:3:",
		"text,label\nhi,bad label\n":       "a.csv:2: intent name",
		"text,label\n":                     "no rows",
	} {
		if _, err := Parse("a.csv", []byte(in), FormatCSV); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", in, err, want)
		}
	}
}

func TestParseCLINC(t *testing.T) {
	in := `{
  "train": [["where is my order", "order"], ["hi", "greet"]],
  "oos_train": [["weather", "oos"]],
  "val": [["hello", "greet"]],
  "test": [["order status", "order"]],
  "oos_test": [["joke", "oos"]],
  "other": {"ignored": true}
}`
	ds, err := Parse("d.json", []byte(in), FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Train) != 3 || len(ds.Val) != 1 || len(ds.Test) != 2 || ds.Test[1].Label != intents.OutOfScope {
		t.Fatalf("parsed %+v", ds)
	}
	if ds.Train[0].Line != 2 {
		t.Errorf("line of the first example = %d, want 2", ds.Train[0].Line)
	}
	for in, want := range map[string]string{
		`[]`:                          "d.json:1:",
		`{"train": 3}`:                "must be a list",
		`{"train": [["a"]]}`:          "want [text, label]",
		"{\"train\": [\n[\"a\", 1]]}": "d.json:2:",
		`{"x": []}`:                   "not CLINC150",
	} {
		if _, err := Parse("d.json", []byte(in), FormatCLINC150); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", in, err, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("version: 1\nintents:\n  - name: a\n    examples: [x]\n", 0)
	f.Add("text,label\nhi,greet\n", 1)
	f.Add(`{"train": [["a", "b"]]}`, 2)
	formats := []string{FormatYAML, FormatCSV, FormatCLINC150}
	f.Fuzz(func(t *testing.T, in string, fi int) {
		if fi < 0 {
			fi = -fi
		}
		ds, err := Parse("f", []byte(in), formats[fi%3])
		if err == nil && ds != nil {
			Validate(ds, DefaultValidation())
		}
	})
}

func TestValidate(t *testing.T) {
	ex := func(text, label string, line int) Example {
		return Example{Text: text, Label: label, File: "f.yaml", Line: line}
	}
	var train []Example
	for i := 0; i < 12; i++ {
		train = append(train, ex("order number "+string(rune('a'+i)), "order", 10+i))
	}
	train = append(train,
		ex("hi", "greet", 30), ex("hello", "greet", 31), ex("Hello!", "greet", 32), // duplicate after normalisation
		ex("Where is it", "greet", 33), ex("where is it?", "order", 34), // conflict... the ? makes them differ
		ex("order number A", "greet", 35), // conflict with line 10
		ex("only", "lonely", 40),
		ex("   ", "greet", 41),
		ex(strings.Repeat("x", MaxTextBytes+1), "greet", 42),
	)
	r := Validate(&Dataset{Train: train}, DefaultValidation())
	err := r.Err()
	if err == nil || !errors.Is(err, ErrInvalidData) {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		`f.yaml:35: "order number A" is labelled "greet" here and "order" at f.yaml:10`,
		`f.yaml:40: intent "lonely" has 1 example(s)`,
		"f.yaml:41: empty text",
		"f.yaml:42: text longer than",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("errors lack %q:\n%s", want, msg)
		}
	}
	var le *LineError
	if !errors.As(err, &le) {
		t.Errorf("errors.As LineError failed")
	}
	warn := strings.Join(r.Warnings, "\n")
	for _, want := range []string{"f.yaml:32: duplicate of f.yaml:31", `intent "greet" has only`, "imbalanced intents"} {
		if !strings.Contains(warn, want) {
			t.Errorf("warnings lack %q:\n%s", want, warn)
		}
	}
}

func TestDemoData(t *testing.T) {
	ds, err := DemoData()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Fields(`order_status track_order cancel_order change_order change_address delivery_options shipping_cost
return_item refund_status refund_policy exchange_item damaged_item wrong_item payment_methods payment_failed invoice
discount_code account_login password_reset delete_account newsletter product_availability size_fit product_details
warranty store_hours_contact complaint compliment recommend_products similar_products talk_to_human greeting goodbye
thanks affirm deny`)
	counts := map[string]int{}
	for _, e := range ds.Train {
		counts[e.Label]++
	}
	for _, l := range want {
		if counts[l] < 30 {
			t.Errorf("intent %s has %d examples, want 30 or more", l, counts[l])
		}
		if len(ds.Responses[l]) == 0 {
			t.Errorf("intent %s has no response", l)
		}
	}
	if len(counts) != len(want)+1 || counts[intents.OutOfScope] == 0 {
		t.Errorf("%d labels, want the %d demo intents and oos", len(counts), len(want))
	}
	r := Validate(ds, DefaultValidation())
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if len(r.Warnings) > 0 {
		t.Errorf("demo data warnings:\n%s", strings.Join(r.Warnings, "\n"))
	}
}

func TestChooseThreshold(t *testing.T) {
	// In-scope examples are confident, out-of-scope ones are not: the threshold falls between.
	var s []scored
	for i := 0; i < 20; i++ {
		s = append(s, scored{top: 0.8 + float64(i)/100, correct: true})
		s = append(s, scored{top: 0.2 + float64(i)/100, goldOOS: true})
	}
	thr := chooseThreshold(s, thresholdSpec{rule: RuleBalanced, classes: 10})
	if thr <= 0.39 || thr >= 0.8 {
		t.Fatalf("threshold %v, want between 0.39 and 0.8", thr)
	}
	// RuleRecall: the lowest threshold whose out-of-scope recall reaches the target, whatever it costs.
	var r []scored
	for i := 1; i <= 10; i++ {
		r = append(r, scored{top: float64(i) / 20, goldOOS: true}) // 0.05 ... 0.50
	}
	for i := 0; i < 20; i++ {
		r = append(r, scored{top: 0.3 + float64(i)/40, correct: true}) // 0.300 ... 0.775
	}
	for _, tc := range []struct {
		recall float64
		lo, hi float64
	}{
		{0.6, 0.30, 0.325}, // rejects the OOS examples up to 0.30 (6 of 10) and the first in-scope one
		{0.1, 0.05, 0.10},
		{1, 0.50, 0.525},
	} {
		thr := chooseThreshold(r, thresholdSpec{rule: RuleRecall, recall: tc.recall, classes: 10})
		if thr <= tc.lo || thr >= tc.hi {
			t.Errorf("recall %v: threshold %v, want in (%v, %v)", tc.recall, thr, tc.lo, tc.hi)
		}
	}
	// With a confidence: 100 out-of-scope examples at 0.001 ... 0.100 and in-scope ones above them. The
	// lower end of the one-sided 95% Wilson interval first reaches 60% at 69 of 100 caught; with a handful
	// of examples no bound reaches it and the point estimate is used.
	var c []scored
	for i := 1; i <= 100; i++ {
		c = append(c, scored{top: float64(i) / 1000, goldOOS: true})
		c = append(c, scored{top: 0.5 + float64(i)/1000, correct: true})
	}
	for _, tc := range []struct {
		name       string
		s          []scored
		confidence float64
		lo, hi     float64
	}{
		{"point estimate", c, 0, 0.060, 0.061},
		{"95%", c, 0.95, 0.069, 0.070},
		{"99%", c, 0.99, 0.072, 0.075},
		{"ten examples: 9 caught", r, 0.95, 0.45, 0.475},
		{"three examples: no bound reaches 60%, point estimate", []scored{
			{top: 0.1, goldOOS: true}, {top: 0.2, goldOOS: true}, {top: 0.3, goldOOS: true},
			{top: 0.6, correct: true}, {top: 0.7, correct: true}}, 0.95, 0.2, 0.3},
	} {
		thr := chooseThreshold(tc.s, thresholdSpec{rule: RuleRecall, recall: 0.6, confidence: tc.confidence, classes: 10})
		if thr <= tc.lo || thr >= tc.hi {
			t.Errorf("%s: threshold %v, want in (%v, %v)", tc.name, thr, tc.lo, tc.hi)
		}
	}
	// The explicit out-of-scope class already reaching the recall: no threshold.
	withClass := append([]scored(nil), r...)
	for i := 0; i < 7; i++ {
		withClass[i].oosClass, withClass[i].top = true, 0
	}
	if thr := chooseThreshold(withClass, thresholdSpec{rule: RuleRecall, recall: 0.6, classes: 10}); thr != 0 {
		t.Errorf("recall reached by the oos class: threshold %v, want 0", thr)
	}
	// Without out-of-scope examples: no threshold by default, or one that rejects at most the given share
	// of correct answers.
	var in []scored
	for i := 0; i < 200; i++ {
		in = append(in, scored{top: float64(i+1) / 200, correct: true})
	}
	if thr := chooseThreshold(in, thresholdSpec{rule: RuleBalanced, classes: 10}); thr != 0 {
		t.Fatalf("threshold without oos examples and no reject rate %v, want 0", thr)
	}
	if thr := chooseThreshold(in, thresholdSpec{rule: RuleBalanced, classes: 10, rejectRate: 0.01}); thr > 0.015 || thr <= 0 {
		t.Fatalf("threshold without oos examples at 1%% %v", thr)
	}
	if thr := chooseThreshold(in, thresholdSpec{rule: RuleBalanced, classes: 10, rejectRate: 1}); thr != 1 {
		t.Fatalf("threshold rejecting everything %v", thr)
	}
}

func TestWilsonLower(t *testing.T) {
	for _, tc := range []struct {
		k, n   int
		z      float64
		lo, hi float64
	}{
		{60, 100, 0, 0.6, 0.6},
		{69, 100, 1.645, 0.600, 0.612},
		{68, 100, 1.645, 0.590, 0.600},
		{600, 1000, 1.645, 0.573, 0.576},
		{10, 10, 1.645, 0.78, 0.79},
		{0, 10, 1.645, 0, 1e-12},
		{0, 0, 1.645, 0, 0},
	} {
		if got := wilsonLower(tc.k, tc.n, tc.z); got < tc.lo-1e-9 || got > tc.hi+1e-9 {
			t.Errorf("wilsonLower(%d, %d, %v) = %v, want in [%v, %v]", tc.k, tc.n, tc.z, got, tc.lo, tc.hi)
		}
	}
}
