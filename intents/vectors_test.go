package intents

import (
	"bytes"
	"compress/gzip"
	"math"
	"strings"
	"testing"
)

const gloveSample = `the 0.1 0.2 0.3
car 1 0 0
automobile 0.9 0.1 0
Don't 0 1 0
refund 0 0 1
`

func gz(s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

func TestReadWordVectors(t *testing.T) {
	wink := `{"precision":8,"dimensions":3,"words":["the","car"],"vectors":{"car":[1,0,0,1,1],` +
		`"the":[0.1,0.2,0.3,0.37,0],"refund":[0,0,1,1,7]},"unkVector":[0,0,0,0,-1]}`
	cases := []struct {
		name    string
		in      string
		cfg     VectorLoadConfig
		words   []string // in rank order
		wantErr string
	}{
		{name: "glove", in: gloveSample, words: []string{"the", "car", "automobile", "dont", "refund"}},
		{name: "word2vec header", in: "5 3\n" + gloveSample, words: []string{"the", "car", "automobile", "dont", "refund"}},
		{name: "gzip", in: gz(gloveSample), words: []string{"the", "car", "automobile", "dont", "refund"}},
		{name: "max words", in: gloveSample, cfg: VectorLoadConfig{MaxWords: 2}, words: []string{"the", "car"}},
		{name: "max words keeps training words", in: gloveSample,
			cfg: VectorLoadConfig{MaxWords: 2, Keep: map[string]bool{"refund": true}}, words: []string{"the", "car", "refund"}},
		{name: "wink json sorted by rank", in: wink, words: []string{"the", "car", "refund"}},
		{name: "duplicate after normalisation keeps the first", in: "Car 1 0\ncar 0 1\n", words: []string{"car"}},
		{name: "bad value names the line", in: "a 1 2\nb 1 x\n", wantErr: `line 2: bad value "x"`},
		{name: "ragged names the line", in: "a 1 2\nb 1 2 3\n", wantErr: "line 2: vector has 3 values, earlier ones 2"},
		{name: "word alone", in: "a 1 2\nb\n", wantErr: "line 2: a word and its values expected"},
		{name: "not finite", in: "a 1 NaN\n", wantErr: "line 1: word \"a\": value is not a finite number"},
		{name: "empty", in: "", wantErr: "no word vectors found"},
		{name: "json without dimensions", in: `{"vectors":{"a":[1]}}`, wantErr: `"dimensions" must come before "vectors"`},
		{name: "json short vector", in: `{"dimensions":3,"vectors":{"a":[1,2]}}`, wantErr: `word "a": 2 values for dimension 3`},
		{name: "json truncated", in: `{"dimensions":2,"vectors":{"a":[1,2`, wantErr: "JSON at byte"},
		{name: "json max words by rank", in: wink, cfg: VectorLoadConfig{MaxWords: 2}, words: []string{"the", "car"}},
		{name: "json spaces in rows", in: `{"dimensions":2,"vectors":{"a":[ 1 , 2 ,0.5, 3 ]}}`, words: []string{"a"}},
		{name: "json string value", in: `{"dimensions":2,"vectors":{"a":[1,"2",1,0]}}`, wantErr: `word "a": bad value "\"2\""`},
		{name: "json null value", in: `{"dimensions":2,"vectors":{"a":[1,null,1,0]}}`, wantErr: `word "a": bad value "null"`},
		{name: "json nested array", in: `{"dimensions":2,"vectors":{"a":[1,[2,3]]}}`, wantErr: `word "a": array of numbers expected`},
		{name: "json row not an array", in: `{"dimensions":2,"vectors":{"a":{"x":1}}}`, wantErr: `word "a": array of numbers expected`},
		{name: "json empty row", in: `{"dimensions":2,"vectors":{"a":[]}}`, wantErr: `word "a": 0 values for dimension 2`},
		{name: "json bad rank", in: `{"dimensions":1,"vectors":{"a":[1,1,"x"]}}`, wantErr: `word "a": bad rank`},
		{name: "json value out of range", in: `{"dimensions":1,"vectors":{"a":[1e400,1,0]}}`, wantErr: `word "a": bad value "1e400"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := ReadWordVectors(strings.NewReader(c.in), c.cfg)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(v.words, " ") != strings.Join(c.words, " ") {
				t.Fatalf("words %v, want %v", v.words, c.words)
			}
			for i, w := range v.words {
				if v.index[w] != int32(i) || v.Lookup(w) == nil {
					t.Fatalf("index of %q broken", w)
				}
			}
		})
	}
}

func TestWordVectorsMeanAndRoundTrip(t *testing.T) {
	v, err := ReadWordVectors(strings.NewReader(gloveSample), VectorLoadConfig{})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, 3)
	if v.Mean([]string{"unknown", "words"}, out) || out[0] != 0 || out[1] != 0 || out[2] != 0 {
		t.Fatalf("no known word: %v", out)
	}
	if !v.Mean([]string{"car"}, out) || out[0] != 1 {
		t.Fatalf("one word: %v", out)
	}
	// "the" is the most frequent word: it weighs far less than "refund".
	if !v.Mean([]string{"the", "refund"}, out) {
		t.Fatal("no vector")
	}
	var n float64
	for _, x := range out {
		n += float64(x) * float64(x)
	}
	if math.Abs(n-1) > 1e-5 || out[2] < 0.95 {
		t.Fatalf("mean %v (norm² %v): frequent words must weigh less, result unit length", out, n)
	}
	var b bytes.Buffer
	if err := v.writeTo(&b); err != nil {
		t.Fatal(err)
	}
	r, err := readVectorsBin(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if r.Dim() != 3 || r.Len() != v.Len() || strings.Join(r.words, " ") != strings.Join(v.words, " ") {
		t.Fatalf("round trip: %d×%d %v", r.Len(), r.Dim(), r.words)
	}
	for i := range v.data {
		if r.data[i] != v.data[i] {
			t.Fatal("round trip changed a value")
		}
	}
	for i := range v.rank {
		if r.rank[i] != v.rank[i] {
			t.Fatal("round trip changed a rank")
		}
	}
	if _, err := readVectorsBin(b.Bytes()[:b.Len()-1]); err == nil {
		t.Fatal("truncated vectors.bin accepted")
	}
}

// FuzzReadWordVectors: any input gives vectors or an error, never a panic, and what loads survives the
// model file round trip.
func FuzzReadWordVectors(f *testing.F) {
	f.Add(gloveSample)
	f.Add("2 2\na 1 2\nb 3 4\n")
	f.Add(`{"dimensions":2,"vectors":{"a":[1,2,0,3]}}`)
	f.Add(gz(gloveSample))
	f.Fuzz(func(t *testing.T, in string) {
		v, err := ReadWordVectors(strings.NewReader(in), VectorLoadConfig{MaxWords: -1})
		if err != nil {
			return
		}
		out := make([]float32, v.Dim())
		v.Mean(v.words, out)
		var b bytes.Buffer
		if err := v.writeTo(&b); err != nil {
			t.Fatalf("loaded vectors cannot be saved: %v", err)
		}
		if _, err := readVectorsBin(b.Bytes()); err != nil {
			t.Fatalf("saved vectors do not load: %v", err)
		}
	})
}

func TestVectorPooling(t *testing.T) {
	v, err := ReadWordVectors(strings.NewReader(gloveSample), VectorLoadConfig{})
	if err != nil {
		t.Fatal(err)
	}
	near := func(a, b []float32) bool {
		for i := range a {
			if math.Abs(float64(a[i]-b[i])) > 1e-6 {
				return false
			}
		}
		return true
	}
	mx, mn := make([]float32, 3), make([]float32, 3)
	v.MaxMin([]string{"car", "refund", "unknown"}, mx, mn)
	// max (1,0,1) and min (0,0,0): the zero minimum stays zero.
	if !near(mx, []float32{1 / math.Sqrt2, 0, 1 / math.Sqrt2}) || !near(mn, []float32{0, 0, 0}) {
		t.Fatalf("max %v min %v", mx, mn)
	}
	v.MaxMin([]string{"unknown"}, mx, mn)
	if !near(mx, []float32{0, 0, 0}) || !near(mn, []float32{0, 0, 0}) {
		t.Fatalf("no known word: max %v min %v", mx, mn)
	}
	for _, tc := range []struct {
		pooling string
		dim     int
		err     bool
	}{
		{"", 3, false},
		{PoolMean, 3, false},
		{PoolMeanMaxMin, 9, false},
		{"median", 0, true},
	} {
		cfg := FeatureConfig{VectorPooling: tc.pooling, VectorWeight: 2}
		if err := cfg.Validate(); (err != nil) != tc.err {
			t.Errorf("%q: Validate %v", tc.pooling, err)
		}
		if tc.err {
			continue
		}
		f := FitFeaturizer(cfg, nil, nil, v)
		// What the model directory keeps reads back only with a known pooling.
		var b bytes.Buffer
		if err := f.writeTo(&b); err != nil {
			t.Fatal(err)
		}
		if _, err := readFeaturizer(b.Bytes(), FeatureConfig{VectorPooling: "median"}, nil); err == nil {
			t.Error("features with an unknown pooling loaded")
		}
		if _, err := readFeaturizer(b.Bytes(), cfg, nil); err != nil {
			t.Errorf("%q: %v", tc.pooling, err)
		}
		if f.DenseDim() != tc.dim {
			t.Errorf("%q: DenseDim %d, want %d", tc.pooling, f.DenseDim(), tc.dim)
		}
		out := make([]float32, f.DenseDim())
		for i := range out {
			out[i] = 9 // stale values must be overwritten
		}
		if f.Dense(Prepared{Words: []string{"nothing", "known"}}, out) || !near(out, make([]float32, tc.dim)) {
			t.Errorf("%q: no known word gave %v", tc.pooling, out)
		}
		if !f.Dense(Prepared{Words: []string{"car", "automobile"}}, out) {
			t.Fatalf("%q: no dense features", tc.pooling)
		}
		// Each pooled part has norm VectorWeight.
		for p := 0; p < tc.dim/3; p++ {
			var n float64
			for _, x := range out[p*3 : p*3+3] {
				n += float64(x) * float64(x)
			}
			if math.Abs(math.Sqrt(n)-2) > 1e-5 {
				t.Errorf("%q: part %d has norm %v, want 2", tc.pooling, p, math.Sqrt(n))
			}
		}
	}
}
