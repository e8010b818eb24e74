package intents

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/shopchat/shopchat/nlp"
)

// WordVectors is a table of pretrained word vectors (GloVe, word2vec or fastText text format, or the
// JSON of the wink-embeddings packages), keyed by normalised word, with each word's frequency rank in the
// source (the source files list words most frequent first). The network reads a message's
// frequency-weighted mean vector as extra dense features, so a word never seen in the training data
// still says something about the message's meaning (docs/intents.md). A WordVectors is immutable after
// loading and safe for concurrent use.
type WordVectors struct {
	dim   int
	index map[string]int32 // word -> row
	words []string         // by row
	rank  []int32          // by row: frequency rank in the source, 0 = most frequent
	data  []float32        // [rows, dim]
}

// Dim is the vector length.
func (v *WordVectors) Dim() int { return v.dim }

// Len is the number of words.
func (v *WordVectors) Len() int { return len(v.words) }

// Lookup returns the vector of a normalised word, or nil.
func (v *WordVectors) Lookup(word string) []float32 {
	r, ok := v.index[word]
	if !ok {
		return nil
	}
	return v.data[int(r)*v.dim : int(r+1)*v.dim]
}

// sifA is the smoothing constant of the frequency weight a/(a+p(w)) (Arora et al., 2017: "smooth
// inverse frequency"), with p(w) estimated from the word's rank by Zipf's law.
const sifA = 1e-3

func sifWeight(rank int32) float32 {
	p := 1 / ((float64(rank) + 10) * 13) // Zipf: p(rank) ≈ 1/(rank·H), H ≈ ln(300k) + γ ≈ 13
	return float32(sifA / (sifA + p))
}

// found yields the rank and vector of each of words that the table has, in order.
func (v *WordVectors) found(words []string) iter.Seq2[int32, []float32] {
	return func(yield func(int32, []float32) bool) {
		for _, w := range words {
			r, ok := v.index[w]
			if ok && !yield(r, v.data[int(r)*v.dim:int(r+1)*v.dim]) {
				return
			}
		}
	}
}

// Mean writes into out (len Dim) the L2-normalised, frequency-weighted mean of the vectors of the words
// found in the table (frequent words such as "the" weigh about a tenth of rare ones). It returns false,
// leaving out zero, when no word is found.
func (v *WordVectors) Mean(words []string, out []float32) bool {
	out = out[:v.dim]
	clear(out)
	for r, row := range v.found(words) {
		axpyGeneric(out, row, sifWeight(v.rank[r]))
	}
	return normalise(out)
}

// MaxMin writes into max and min (each len Dim) the per-dimension maximum and minimum of the vectors of
// the words found in the table, each L2-normalised; both stay zero when no word is found.
func (v *WordVectors) MaxMin(words []string, max, min []float32) {
	max, min = max[:v.dim], min[:v.dim]
	clear(max)
	clear(min)
	first := true
	for _, row := range v.found(words) {
		if first {
			copy(max, row)
			copy(min, row)
			first = false
			continue
		}
		for i, x := range row {
			if x > max[i] {
				max[i] = x
			}
			if x < min[i] {
				min[i] = x
			}
		}
	}
	normalise(max)
	normalise(min)
}

// normalise scales x to unit L2 norm and reports whether it could: a zero vector stays zero (false).
func normalise(x []float32) bool {
	var n float64
	for _, v := range x {
		n += float64(v) * float64(v)
	}
	if n == 0 {
		return false
	}
	s := float32(1 / math.Sqrt(n))
	for i := range x {
		x[i] *= s
	}
	return true
}

// VectorLoadConfig chooses what LoadWordVectors keeps.
type VectorLoadConfig struct {
	// MaxWords keeps the most frequent words of the source (default 100000; negative: all).
	MaxWords int
	// Keep also keeps these words wherever they rank (the training vocabulary, so that every training word
	// with a vector has it).
	Keep map[string]bool
}

// maxVectorDim bounds the dimension a source may declare.
const maxVectorDim = 4096

// LoadWordVectors reads a word-vector file: text with one "word x1 x2 ... xd" line per word (GloVe,
// word2vec and fastText .vec, optionally gzip-compressed; a first "count dim" line is skipped), or the
// JSON object of the wink-embeddings npm packages. Words are normalised like messages (nlp.Normalize);
// a word that normalises to nothing or to several words is skipped, and of two that normalise alike the
// more frequent is kept. A malformed line is an error naming the line.
func LoadWordVectors(path string, cfg VectorLoadConfig) (*WordVectors, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	v, err := ReadWordVectors(f, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// ReadWordVectors is LoadWordVectors on a reader.
func ReadWordVectors(r io.Reader, cfg VectorLoadConfig) (*WordVectors, error) {
	if cfg.MaxWords == 0 {
		cfg.MaxWords = 100000
	}
	br := bufio.NewReaderSize(r, 1<<20)
	head, _ := br.Peek(2)
	if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		defer gz.Close()
		br = bufio.NewReaderSize(gz, 1<<20)
	}
	b := &vectorBuilder{cfg: cfg, v: &WordVectors{index: map[string]int32{}}}
	var err error
	if first, _ := peekNonSpace(br); first == '{' {
		err = b.readWinkJSON(br)
	} else {
		err = b.readText(br)
	}
	if err != nil {
		return nil, err
	}
	if b.v.Len() == 0 {
		return nil, errors.New("no word vectors found")
	}
	return b.v, nil
}

func peekNonSpace(br *bufio.Reader) (byte, error) {
	for i := 1; ; i++ {
		p, err := br.Peek(i)
		if len(p) < i {
			return 0, err
		}
		if c := p[i-1]; c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != 0xef && c != 0xbb && c != 0xbf {
			return c, nil
		}
	}
}

type vectorBuilder struct {
	cfg VectorLoadConfig
	v   *WordVectors
}

// add records a source word at a rank; vec must have the table's dimension.
func (b *vectorBuilder) add(word string, rank int, vec []float32) error {
	w, ok := b.wants(word, rank)
	if !ok {
		return nil
	}
	return b.put(word, w, rank, vec)
}

// wants returns the normalised form of a source word at a rank, and whether the table takes it: a word
// a message can hold, not seen before, and within MaxWords or kept.
func (b *vectorBuilder) wants(word string, rank int) (string, bool) {
	w := nlp.Normalize(word)
	if w == "" || len(w) > 255 || strings.IndexByte(w, ' ') >= 0 {
		return "", false // not a word a message can hold, or too long for vectors.bin
	}
	if b.cfg.MaxWords > 0 && rank >= b.cfg.MaxWords && !b.cfg.Keep[w] {
		return "", false
	}
	if _, dup := b.v.index[w]; dup {
		return "", false
	}
	return w, true
}

// put records word (normalised: w, which wants took) and its vector.
func (b *vectorBuilder) put(word, w string, rank int, vec []float32) error {
	for _, x := range vec {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("word %q: value is not a finite number", word)
		}
	}
	b.v.index[w] = int32(len(b.v.words))
	b.v.words = append(b.v.words, w)
	b.v.rank = append(b.v.rank, int32(min(rank, math.MaxInt32)))
	b.v.data = append(b.v.data, vec...)
	return nil
}

func (b *vectorBuilder) setDim(d int) error {
	if d <= 0 || d > maxVectorDim {
		return fmt.Errorf("vector dimension %d out of range 1..%d", d, maxVectorDim)
	}
	if b.v.dim != 0 && b.v.dim != d {
		return fmt.Errorf("vector has %d values, earlier ones %d", d, b.v.dim)
	}
	b.v.dim = d
	return nil
}

// readText reads "word x1 ... xd" lines; line numbers in errors count from 1.
func (b *vectorBuilder) readText(br *bufio.Reader) error {
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	var vec []float32
	line, rank := 0, 0
	for sc.Scan() {
		line++
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if line == 1 && len(fields) == 2 {
			// word2vec / fastText header: "count dim".
			if _, err := strconv.Atoi(fields[0]); err == nil {
				d, err := strconv.Atoi(fields[1])
				if err != nil {
					return fmt.Errorf("line 1: bad header %q", sc.Text())
				}
				if err := b.setDim(d); err != nil {
					return fmt.Errorf("line 1: %w", err)
				}
				continue
			}
		}
		if len(fields) < 2 {
			return fmt.Errorf("line %d: a word and its values expected", line)
		}
		if err := b.setDim(len(fields) - 1); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		vec = vec[:0]
		for _, s := range fields[1:] {
			x, err := strconv.ParseFloat(s, 32)
			if err != nil {
				return fmt.Errorf("line %d: bad value %q", line, s)
			}
			vec = append(vec, float32(x))
		}
		if err := b.add(fields[0], rank, vec); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		rank++
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("line %d: %w", line+1, err)
	}
	return nil
}

// readWinkJSON streams the wink-embeddings object: {"dimensions": d, "words": [...], "vectors":
// {"word": [x1..xd, l2norm, rank], ...}, ...}. Errors name the byte offset.
func (b *vectorBuilder) readWinkJSON(r io.Reader) error {
	dec := json.NewDecoder(r)
	fail := func(err error) error { return fmt.Errorf("JSON at byte %d: %w", dec.InputOffset(), err) }
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fail(errors.New("object expected"))
	}
	var raw json.RawMessage
	var toks [][]byte
	vec := make([]float32, 0, 128)
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return fail(err)
		}
		key, _ := t.(string)
		switch key {
		case "dimensions":
			var d int
			if err := dec.Decode(&d); err != nil {
				return fail(err)
			}
			if err := b.setDim(d); err != nil {
				return fail(err)
			}
		case "vectors":
			if b.v.dim == 0 {
				return fail(errors.New(`"dimensions" must come before "vectors"`))
			}
			if t, err := dec.Token(); err != nil || t != json.Delim('{') {
				return fail(errors.New("vectors: object expected"))
			}
			for dec.More() {
				t, err := dec.Token()
				if err != nil {
					return fail(err)
				}
				word, _ := t.(string)
				// The row stays raw JSON (checked by the decoder): only the rank is parsed before the
				// word is known to be wanted, and only wanted words' values are parsed. Loading the
				// 307 MB wink file takes 8 s instead of 12-14 s; the decoder's scan is most of the rest.
				raw = raw[:0]
				if err := dec.Decode(&raw); err != nil {
					return fail(fmt.Errorf("word %q: %w", word, err))
				}
				if toks, err = numberTokens(raw, toks[:0]); err != nil {
					return fail(fmt.Errorf("word %q: %w", word, err))
				}
				if len(toks) < b.v.dim {
					return fail(fmt.Errorf("word %q: %d values for dimension %d", word, len(toks), b.v.dim))
				}
				rank := math.MaxInt32
				if len(toks) >= b.v.dim+2 {
					x, err := strconv.ParseFloat(string(toks[b.v.dim+1]), 64)
					if err != nil {
						return fail(fmt.Errorf("word %q: bad rank %q", word, toks[b.v.dim+1]))
					}
					if x >= 0 && x < math.MaxInt32 {
						rank = int(x)
					}
				}
				w, ok := b.wants(word, rank)
				if !ok {
					continue
				}
				vec = vec[:0]
				for _, tok := range toks[:b.v.dim] {
					x, err := strconv.ParseFloat(string(tok), 32)
					if err != nil {
						return fail(fmt.Errorf("word %q: bad value %q", word, tok))
					}
					vec = append(vec, float32(x))
				}
				if err := b.put(word, w, rank, vec); err != nil {
					return fail(err)
				}
			}
			if _, err := dec.Token(); err != nil {
				return fail(err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return fail(err)
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return fail(err)
	}
	b.v.sortByRank()
	return nil
}

// numberTokens appends to toks the elements of raw, a JSON array (already checked by a decoder), as
// byte slices without surrounding space; an element that is itself an array or object makes an error.
// Elements that are not numbers fail later, in strconv.ParseFloat.
func numberTokens(raw []byte, toks [][]byte) ([][]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '[' || raw[len(raw)-1] != ']' {
		return toks, errors.New("array of numbers expected")
	}
	in := raw[1 : len(raw)-1]
	if bytes.ContainsAny(in, "[]{}") {
		return toks, errors.New("array of numbers expected")
	}
	if len(bytes.TrimSpace(in)) == 0 {
		return toks, nil
	}
	for len(in) > 0 {
		i := bytes.IndexByte(in, ',')
		if i < 0 {
			i = len(in)
		}
		toks = append(toks, bytes.TrimSpace(in[:i]))
		if i == len(in) {
			break
		}
		in = in[i+1:]
	}
	return toks, nil
}

// sortByRank reorders the rows by rank (JSON objects need not list words in frequency order), so that
// the saved table is deterministic.
func (v *WordVectors) sortByRank() {
	n := len(v.words)
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		if v.rank[a] != v.rank[b] {
			return int(v.rank[a]) - int(v.rank[b])
		}
		return strings.Compare(v.words[a], v.words[b])
	})
	words := make([]string, n)
	rank := make([]int32, n)
	data := make([]float32, len(v.data))
	for i, o := range order {
		words[i], rank[i] = v.words[o], v.rank[o]
		copy(data[i*v.dim:(i+1)*v.dim], v.data[int(o)*v.dim:int(o+1)*v.dim])
		v.index[words[i]] = int32(i)
	}
	v.words, v.rank, v.data = words, rank, data
}

// vectors.bin: magic, dim uint32, count uint32, per word (rank uint32, length uint8, bytes), then
// count×dim float32, little endian.
var vecMagic = [8]byte{'S', 'C', 'V', 'E', 'C', '0', '0', '1'}

func (v *WordVectors) writeTo(w io.Writer) error {
	buf := make([]byte, 0, 16+len(v.words)*12+4*len(v.data))
	buf = append(buf, vecMagic[:]...)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(v.dim))
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(v.words)))
	for i, word := range v.words {
		if len(word) > 255 {
			return fmt.Errorf("word vectors: word of %d bytes", len(word))
		}
		buf = binary.LittleEndian.AppendUint32(buf, uint32(v.rank[i]))
		buf = append(buf, byte(len(word)))
		buf = append(buf, word...)
	}
	for _, x := range v.data {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
	}
	_, err := w.Write(buf)
	return err
}

func readVectorsBin(b []byte) (*WordVectors, error) {
	bad := errors.New("vectors.bin: bad format")
	if len(b) < 16 || !bytes.Equal(b[:8], vecMagic[:]) {
		return nil, bad
	}
	dim := int(binary.LittleEndian.Uint32(b[8:]))
	n := int(binary.LittleEndian.Uint32(b[12:]))
	if dim <= 0 || dim > maxVectorDim || n <= 0 || n > len(b) {
		return nil, bad
	}
	v := &WordVectors{dim: dim, index: make(map[string]int32, n), words: make([]string, n), rank: make([]int32, n)}
	p := b[16:]
	for i := 0; i < n; i++ {
		if len(p) < 5 || len(p) < 5+int(p[4]) {
			return nil, bad
		}
		v.rank[i] = int32(binary.LittleEndian.Uint32(p))
		l := int(p[4])
		v.words[i] = string(p[5 : 5+l])
		v.index[v.words[i]] = int32(i)
		p = p[5+l:]
	}
	if len(p) != 4*n*dim {
		return nil, bad
	}
	v.data = make([]float32, n*dim)
	for i := range v.data {
		v.data[i] = math.Float32frombits(binary.LittleEndian.Uint32(p[4*i:]))
	}
	return v, nil
}
