package intents

import (
	"fmt"
	"math"
	"sort"
	"sync"

	"github.com/shopchat/shopchat/nlp"
)

// FeatureConfig chooses the sparse n-gram features the network reads. Zero values take the defaults
// noted on each field.
type FeatureConfig struct {
	// WordNgrams is the longest word n-gram (default 2: words and word pairs).
	WordNgrams int `json:"word_ngrams"`
	// CharMin and CharMax bound the character n-grams taken inside each word padded with spaces
	// (defaults 2 and 5).
	CharMin int `json:"char_min"`
	CharMax int `json:"char_max"`
	// Subwords adds the tokenizer's WordPiece pieces as features.
	Subwords bool `json:"subwords"`
	// MinCount is how many training texts must contain a feature for it to be kept (default 1).
	MinCount int `json:"min_count"`
	// MaxFeatures caps the feature dictionary, most frequent first (default 200000).
	MaxFeatures int `json:"max_features"`
	// WordVectors is the dimension of the pretrained word vectors (WordVectors) whose frequency-weighted
	// mean over the message's words is appended as dense features; 0: none. Set by FitFeaturizer.
	WordVectors int `json:"word_vectors,omitempty"`
	// VectorWeight scales those dense features (default 6; each n-gram group has norm 1).
	VectorWeight float64 `json:"vector_weight,omitempty"`
	// VectorPooling is how the word vectors are pooled: PoolMean (the weighted mean; the default, and
	// what models saved before this field read as) or PoolMeanMaxMin (the mean, the per-dimension
	// maximum and the per-dimension minimum, each L2-normalised: three times the dense features).
	VectorPooling string `json:"vector_pooling,omitempty"`
}

// Word-vector pooling (FeatureConfig.VectorPooling).
const (
	PoolMean       = "mean"
	PoolMeanMaxMin = "mean-max-min"
)

func (c FeatureConfig) withDefaults() FeatureConfig {
	if c.WordNgrams <= 0 {
		c.WordNgrams = 2
	}
	if c.CharMin <= 0 {
		c.CharMin = 2
	}
	if c.CharMax < c.CharMin {
		c.CharMax = 5
	}
	if c.MinCount <= 0 {
		c.MinCount = 1
	}
	if c.MaxFeatures <= 0 {
		c.MaxFeatures = 200000
	}
	if c.WordVectors > 0 && c.VectorWeight <= 0 {
		c.VectorWeight = 6
	}
	if c.VectorPooling == "" {
		c.VectorPooling = PoolMean
	}
	return c
}

// Validate reports a setting no featurizer can use.
func (c FeatureConfig) Validate() error {
	switch c.VectorPooling {
	case "", PoolMean, PoolMeanMaxMin:
		return nil
	}
	return fmt.Errorf("unknown vector pooling %q (want %s or %s)", c.VectorPooling, PoolMean, PoolMeanMaxMin)
}

// Feature groups: each is L2-normalised on its own, like a union of TF-IDF vectorisers.
const (
	groupWord = iota
	groupChar
	groupSub
	numGroups
)

// featureKey is a 64-bit hash of a feature's group and text; collisions are negligible at our sizes.
type featureKey uint64

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashStart(group int) uint64 { return (fnvOffset ^ uint64(group+1)) * fnvPrime }

func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

func hashRunes(h uint64, rs []rune) uint64 {
	for _, r := range rs {
		h ^= uint64(r)
		h *= fnvPrime
		h ^= uint64(r >> 8)
		h *= fnvPrime
	}
	return h
}

// rawFeatures counts the feature keys of one normalised text; subwords are the tokenizer's pieces (nil
// when the model does not use them). The order of the result is deterministic.
type rawFeature struct {
	key   featureKey
	group int8
	count float32
}

// posPool recycles extractRaw's index maps (one per call otherwise).
var posPool = sync.Pool{New: func() any { return map[featureKey]int{} }}

func extractRaw(cfg FeatureConfig, words, subwords []string, buf []rawFeature) []rawFeature {
	buf = buf[:0]
	pos := posPool.Get().(map[featureKey]int)
	defer func() {
		clear(pos)
		posPool.Put(pos)
	}()
	add := func(k uint64, g int) {
		fk := featureKey(k)
		if i, ok := pos[fk]; ok {
			buf[i].count++
			return
		}
		pos[fk] = len(buf)
		buf = append(buf, rawFeature{key: fk, group: int8(g), count: 1})
	}
	for n := 1; n <= cfg.WordNgrams; n++ {
		for i := 0; i+n <= len(words); i++ {
			h := hashStart(groupWord)
			for j := i; j < i+n; j++ {
				if j > i {
					h = hashString(h, " ")
				}
				h = hashString(h, words[j])
			}
			add(h, groupWord)
		}
	}
	var rs []rune
	for _, w := range words {
		rs = append(rs[:0], ' ')
		rs = append(rs, []rune(w)...)
		rs = append(rs, ' ')
		for n := cfg.CharMin; n <= cfg.CharMax; n++ {
			for i := 0; i+n <= len(rs); i++ {
				add(hashRunes(hashStart(groupChar), rs[i:i+n]), groupChar)
			}
		}
	}
	for _, s := range subwords {
		if !cfg.Subwords {
			break
		}
		add(hashString(hashStart(groupSub), s), groupSub)
	}
	return buf
}

// Featurizer maps a message to a sparse TF-IDF vector over the n-gram dictionary learnt from the
// training texts: sublinear term frequency, smoothed inverse document frequency, each feature group
// (words, characters, sub-words) L2-normalised. Features never seen in training are dropped. A
// Featurizer is immutable after Fit or Load and safe for concurrent use.
type Featurizer struct {
	cfg   FeatureConfig
	tok   *nlp.Tokenizer
	index map[featureKey]int32 // feature -> column; column 0 is reserved for padding
	idf   []float32            // by column
	group []int8               // by column
	vec   *WordVectors         // nil: no dense features
}

// Dim is the number of sparse columns, padding column included.
func (f *Featurizer) Dim() int { return len(f.idf) }

// WordVectors returns the featurizer's word vectors, or nil.
func (f *Featurizer) WordVectors() *WordVectors { return f.vec }

// Config reports the feature configuration.
func (f *Featurizer) Config() FeatureConfig { return f.cfg }

// Prepared is a message after normalisation and tokenization.
type Prepared struct {
	Words    []string
	Subwords []string
}

// Prepare normalises and tokenizes a text.
func (f *Featurizer) Prepare(text string) (Prepared, error) {
	n := nlp.Normalize(text)
	p := Prepared{Words: nlp.Words(n)}
	if f.cfg.Subwords && f.tok != nil && n != "" {
		toks, err := f.tok.Tokenize(n)
		if err != nil {
			return p, err
		}
		p.Subwords = toks
	}
	return p, nil
}

// NewPreparer returns a Featurizer without a dictionary: only Prepare may be called on it (the training
// package uses it to normalise and tokenize before fitting).
func NewPreparer(cfg FeatureConfig, tok *nlp.Tokenizer) *Featurizer {
	cfg = cfg.withDefaults()
	if tok == nil {
		cfg.Subwords = false
	}
	return &Featurizer{cfg: cfg, tok: tok}
}

// FitFeaturizer learns the dictionary and IDF weights from prepared training texts. With vec, the
// weighted mean of the message's word vectors is also a feature (Dense; nil: n-grams only).
func FitFeaturizer(cfg FeatureConfig, tok *nlp.Tokenizer, docs []Prepared, vec *WordVectors) *Featurizer {
	cfg.WordVectors = 0
	if vec != nil {
		cfg.WordVectors = vec.Dim()
	}
	cfg = cfg.withDefaults()
	if tok == nil {
		cfg.Subwords = false
	}
	df := map[featureKey]int{}
	grp := map[featureKey]int8{}
	var buf []rawFeature
	for _, d := range docs {
		buf = extractRaw(cfg, d.Words, d.Subwords, buf)
		for _, r := range buf {
			df[r.key]++
			grp[r.key] = r.group
		}
	}
	keys := make([]featureKey, 0, len(df))
	for k, n := range df {
		if n >= cfg.MinCount {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if df[keys[i]] != df[keys[j]] {
			return df[keys[i]] > df[keys[j]]
		}
		return keys[i] < keys[j]
	})
	if len(keys) > cfg.MaxFeatures {
		keys = keys[:cfg.MaxFeatures]
	}
	f := &Featurizer{cfg: cfg, tok: tok, index: make(map[featureKey]int32, len(keys)),
		idf: make([]float32, len(keys)+1), group: make([]int8, len(keys)+1), vec: vec}
	n := float64(len(docs))
	for i, k := range keys {
		col := int32(i + 1)
		f.index[k] = col
		f.idf[col] = float32(math.Log((1+n)/(1+float64(df[k]))) + 1)
		f.group[col] = grp[k]
	}
	return f
}

// Vector appends the sparse TF-IDF vector of a prepared text to idx and val and returns them. Columns are
// distinct; an empty result means the text shares no feature with the training data.
func (f *Featurizer) Vector(p Prepared, idx []int32, val []float32) ([]int32, []float32) {
	raw := extractRaw(f.cfg, p.Words, p.Subwords, nil)
	var norms [numGroups]float64
	start := len(idx)
	for _, r := range raw {
		col, ok := f.index[r.key]
		if !ok {
			continue
		}
		v := (1 + float32(math.Log(float64(r.count)))) * f.idf[col]
		idx = append(idx, col)
		val = append(val, v)
		norms[r.group] += float64(v) * float64(v)
	}
	for i := start; i < len(idx); i++ {
		if n := norms[f.group[idx[i]]]; n > 0 {
			val[i] = float32(float64(val[i]) / math.Sqrt(n))
		}
	}
	return idx, val
}

// DenseDim is the number of dense features (the word-vector dimension, times three with PoolMeanMaxMin;
// 0 without word vectors).
func (f *Featurizer) DenseDim() int {
	if f.vec == nil {
		return 0
	}
	if f.cfg.VectorPooling == PoolMeanMaxMin {
		return 3 * f.vec.Dim()
	}
	return f.vec.Dim()
}

// Dense writes the dense features of a prepared text into out (len DenseDim): the pooled word vectors
// (FeatureConfig.VectorPooling) times VectorWeight, or zeros when none of its words has a vector. It
// reports whether any word had one.
func (f *Featurizer) Dense(p Prepared, out []float32) bool {
	if f.vec == nil {
		return false
	}
	out = out[:f.DenseDim()]
	d := f.vec.Dim()
	if !f.vec.Mean(p.Words, out[:d]) {
		clear(out)
		return false
	}
	if len(out) > d {
		f.vec.MaxMin(p.Words, out[d:2*d], out[2*d:])
	}
	wt := float32(f.cfg.VectorWeight)
	for i := range out {
		out[i] *= wt
	}
	return true
}
