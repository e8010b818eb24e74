package intents

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"sync"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/shopchat/shopchat/internal/torchrt"
	"github.com/shopchat/shopchat/nlp"
)

// Files of a model directory.
const (
	FileConfig    = "config.json"    // ModelConfig
	FileLabels    = "labels.json"    // label map: index -> intent name
	FileTokenizer = "tokenizer.json" // HuggingFace tokenizer.json (WordPiece)
	FileFeatures  = "features.bin"   // feature dictionary and IDF weights
	FileVectors   = "vectors.bin"    // pretrained word vectors, when the model reads them
	FileWeights   = "weights.ot"     // libtorch weights of every ensemble member (libtorch's format)
	FileMetrics   = "metrics.json"   // validation figures from training
	FileVersion   = "VERSION"        // content hash of the files above
)

// FormatVersion is the model directory format this package reads and writes.
const FormatVersion = 1

// ErrBadModel is returned when a model directory is missing, incomplete, or does not match its VERSION.
var ErrBadModel = errors.New("intents: bad model directory")

// ModelConfig is a model's config.json.
type ModelConfig struct {
	Format   int           `json:"format"`
	Features FeatureConfig `json:"features"`
	Net      NetConfig     `json:"net"`
	// Members is how many networks of shape Net are averaged (logit mean).
	Members int `json:"members"`
	// Temperature divides the averaged logits before the softmax (fitted on validation data).
	Temperature float64 `json:"temperature"`
	// Threshold: a message whose top in-scope probability is under it is out of scope.
	Threshold float64 `json:"threshold"`
	// TablePrecision is how the embedding tables are held for scoring: PrecisionF32 ("" reads as it) or
	// PrecisionInt8. The weights file keeps float32 either way.
	TablePrecision string `json:"table_precision,omitempty"`
	// OOSLabel is the explicit out-of-scope class, when the training data had one ("" otherwise).
	OOSLabel string `json:"oos_label,omitempty"`
	// DataHash is the SHA-256 of the training data (texts and labels, in order).
	DataHash string `json:"data_hash"`
	Seed     int64  `json:"seed"`
	// Trainer records how the model was trained (epochs, learning rate, ...), for people.
	Trainer map[string]any `json:"trainer,omitempty"`
}

// Model is a loaded intent model held in Go memory: featurizer, ensemble weights, calibration. It is
// immutable and safe for concurrent use.
type Model struct {
	Config   ModelConfig
	Labels   []string
	Version  string
	feat     *Featurizer
	nets     []*Weights
	oosIndex int // -1 when no explicit class
	scratch  sync.Pool
}

type scratch struct {
	idx    []int32
	val    []float32
	dense  []float32
	hidden []float32
	out    []float32
	sum    []float64
	rows   rowBuf
}

// NewModel assembles a model from trained weights (used by the training package). Weights must come
// from networks of shape cfg.Net.
func NewModel(cfg ModelConfig, labels []string, feat *Featurizer, members []*Weights) (*Model, error) {
	if len(members) == 0 || len(labels) != cfg.Net.Classes || feat.Dim() != cfg.Net.Inputs || feat.DenseDim() != cfg.Net.Dense {
		return nil, fmt.Errorf("intents: model parts do not match: %d members, %d labels for %d classes, %d+%d features for %d+%d inputs",
			len(members), len(labels), cfg.Net.Classes, feat.Dim(), feat.DenseDim(), cfg.Net.Inputs, cfg.Net.Dense)
	}
	if err := validPrecision(cfg.TablePrecision); err != nil {
		return nil, fmt.Errorf("intents: %w", err)
	}
	cfg.Members = len(members)
	cfg.Format = FormatVersion
	if cfg.TablePrecision == PrecisionInt8 {
		for _, d := range members {
			d.quantize() // the float32 table stays: the training package saves it
		}
	}
	m := &Model{Config: cfg, Labels: labels, feat: feat, nets: members}
	m.init()
	return m, nil
}

func (m *Model) init() {
	m.oosIndex = -1
	for i, l := range m.Labels {
		if m.Config.OOSLabel != "" && l == m.Config.OOSLabel {
			m.oosIndex = i
		}
	}
	w := m.Config.Net.Hidden
	if w == 0 {
		w = m.Config.Net.Classes
	}
	c := len(m.Labels)
	m.scratch.New = func() any {
		return &scratch{dense: make([]float32, m.Config.Net.Dense), hidden: make([]float32, w), out: make([]float32, c), sum: make([]float64, c)}
	}
}

// Featurizer returns the model's featurizer.
func (m *Model) Featurizer() *Featurizer { return m.feat }

// OOSIndex is the index of the explicit out-of-scope class, or -1.
func (m *Model) OOSIndex() int { return m.oosIndex }

// Logits computes the ensemble's mean logits (before temperature) of a prepared text into out
// (len(Labels)). ok is false when the text shares no feature with the training data.
func (m *Model) Logits(p Prepared, out []float64) (ok bool) {
	s := m.scratch.Get().(*scratch)
	defer m.scratch.Put(s)
	s.idx, s.val = m.feat.Vector(p, s.idx[:0], s.val[:0])
	var dense []float32
	if m.feat.Dense(p, s.dense) {
		dense = s.dense
	}
	for i := range out {
		out[i] = 0
	}
	for _, n := range m.nets {
		n.logits(s.idx, s.val, dense, s.hidden, s.out, &s.rows)
		for i, v := range s.out {
			out[i] += float64(v)
		}
	}
	k := float64(len(m.nets))
	for i := range out {
		out[i] /= k
	}
	return len(s.idx) > 0 || dense != nil
}

// Probabilities turns mean logits into calibrated probabilities with temperature t (in place).
func Probabilities(logits []float64, t float64) {
	if t <= 0 {
		t = 1
	}
	mx := math.Inf(-1)
	for _, v := range logits {
		if v/t > mx {
			mx = v / t
		}
	}
	var z float64
	for i, v := range logits {
		e := math.Exp(v/t - mx)
		logits[i] = e
		z += e
	}
	for i := range logits {
		logits[i] /= z
	}
}

// Predict returns the calibrated probabilities of every label for a raw text.
func (m *Model) Predict(text string) ([]float64, bool, error) {
	p, err := m.feat.Prepare(text)
	if err != nil {
		return nil, false, err
	}
	probs := make([]float64, len(m.Labels))
	ok := m.Logits(p, probs)
	Probabilities(probs, m.Config.Temperature)
	return probs, ok, nil
}

// Decide applies the model's out-of-scope rule to probabilities: the top label and whether the message
// is out of scope (explicit class on top, or top in-scope probability under the threshold).
func (m *Model) Decide(probs []float64, threshold float64) (top int, oos bool) {
	top = 0
	for i, p := range probs {
		if p > probs[top] {
			top = i
		}
	}
	if top == m.oosIndex {
		return top, true
	}
	return top, probs[top] < threshold
}

// ---- saving and loading ----

// SaveModel writes a model directory at dir (which must not exist or be empty) from trained networks
// and returns the version. The weights are written with gotch (libtorch's format); fn runs the torch
// part on a worker's locked thread.
func SaveModel(ctx context.Context, w *torchrt.Worker, dir string, m *Model, tokenizerJSON []byte, metrics any) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	cfg, err := json.MarshalIndent(m.Config, "", "  ")
	if err != nil {
		return "", err
	}
	labels, err := json.MarshalIndent(m.Labels, "", "  ")
	if err != nil {
		return "", err
	}
	met, err := json.MarshalIndent(metrics, "", "  ")
	if err != nil {
		return "", err
	}
	var fb bytes.Buffer
	if err := m.feat.writeTo(&fb); err != nil {
		return "", err
	}
	files := map[string][]byte{FileConfig: cfg, FileLabels: labels, FileMetrics: met, FileFeatures: fb.Bytes()}
	if v := m.feat.vec; v != nil {
		var vb bytes.Buffer
		if err := v.writeTo(&vb); err != nil {
			return "", err
		}
		files[FileVectors] = vb.Bytes()
	}
	if tokenizerJSON != nil {
		files[FileTokenizer] = tokenizerJSON
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return "", err
		}
	}
	err = w.Do(ctx, func() error { return saveWeights(filepath.Join(dir, FileWeights), m.Config.Net, m.nets) })
	if err != nil {
		return "", fmt.Errorf("intents: save weights: %w", err)
	}
	v, err := contentHash(dir)
	if err != nil {
		return "", err
	}
	m.Version = v
	return v, os.WriteFile(filepath.Join(dir, FileVersion), []byte(v+"\n"), 0o644)
}

// loadWeights reads members networks of shape cfg from a weights file written by saveWeights straight
// into Go memory, one network at a time, dropping each tensor once copied; with quant each network keeps
// only its int8 table. It must run on a locked OS thread (a torchrt.Worker). It does not go through a
// gotch VarStore: the store's initialisation and VarStore.Load's Copy_ are in-place ops, whose result
// handles gotch never frees, and each such handle keeps its tensor's storage alive, so every load (and
// every Classifier.Swap) leaked a copy of the whole model (359 MB for the five CLINC150 networks).
func loadWeights(path string, cfg NetConfig, members int, quant bool) (nets []*Weights, err error) {
	named, err := ts.LoadMultiWithDevice(path, gotch.CPU)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]*ts.Tensor, len(named))
	for _, nt := range named {
		byName[nt.Name] = nt.Tensor
	}
	defer func() {
		for _, t := range byName {
			t.MustDrop()
		}
	}()
	width := cfg.Hidden
	if width == 0 {
		width = cfg.Classes
	}
	// take copies the named tensor of the given shape into Go memory and drops it.
	take := func(name string, shape ...int64) ([]float32, error) {
		t, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("no tensor %q in %s", name, filepath.Base(path))
		}
		size, err := t.Size()
		if err != nil {
			return nil, err
		}
		if !slices.Equal(size, shape) {
			return nil, fmt.Errorf("tensor %q has shape %v, want %v", name, size, shape)
		}
		v, err := torchrt.Float32s(t)
		delete(byName, name)
		t.MustDrop()
		return v, err
	}
	for i := 0; i < members; i++ {
		p := "m" + strconv.Itoa(i) + "."
		d := &Weights{cfg: cfg, width: width}
		if d.emb, err = take(p+"emb.weight", int64(cfg.Inputs), int64(width)); err != nil {
			return nil, err
		}
		if d.bias, err = take(p+"bias", int64(width)); err != nil {
			return nil, err
		}
		// A Linear's weight is stored [out, in]; the forward pass reads it [in, out], as gotch's
		// transposed Linear.Ws view (and Network.Weights) gives it.
		if cfg.Dense > 0 {
			w, err := take(p+"dense.weight", int64(width), int64(cfg.Dense))
			if err != nil {
				return nil, err
			}
			d.dense = transpose(w, width, cfg.Dense)
		}
		if cfg.Hidden > 0 {
			w, err := take(p+"out.weight", int64(cfg.Classes), int64(cfg.Hidden))
			if err != nil {
				return nil, err
			}
			d.outW = transpose(w, cfg.Classes, cfg.Hidden)
			if d.outB, err = take(p+"out.bias", int64(cfg.Classes)); err != nil {
				return nil, err
			}
		}
		if quant {
			d.quantize()
			d.emb = nil // serving reads only the int8 table: a quarter of the memory
		}
		nets = append(nets, d)
	}
	return nets, nil
}

// transpose returns the [cols, rows] transpose of a row-major [rows, cols] matrix.
func transpose(a []float32, rows, cols int) []float32 {
	t := make([]float32, len(a))
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			t[c*rows+r] = a[r*cols+c]
		}
	}
	return t
}

// saveWeights writes the networks' weights to path in libtorch's format, under the names and in the
// layout of NewNetwork's variables ("m0.emb.weight", "m0.bias", "m0.dense.weight" [width, Dense],
// "m0.out.weight" [Classes, Hidden], "m0.out.bias", ...), sorted by name so that the same weights give
// the same file (and the same content-hash version). Like loadWeights it makes the tensors directly, with
// no VarStore whose in-place copies would leak. It must run on a locked OS thread.
func saveWeights(path string, cfg NetConfig, nets []*Weights) error {
	for _, d := range nets {
		if d.emb == nil {
			return errors.New("intents: a model loaded with int8 tables keeps no float32 table to save")
		}
	}
	width := cfg.Hidden
	if width == 0 {
		width = cfg.Classes
	}
	var named []ts.NamedTensor
	var made []*ts.Tensor
	defer func() {
		for _, t := range made {
			t.MustDrop()
		}
	}()
	add := func(name string, data []float32, shape ...int64) error {
		n := int64(1)
		for _, k := range shape {
			n *= k
		}
		if int64(len(data)) != n {
			return fmt.Errorf("intents: save %s: %d values for shape %v", name, len(data), shape)
		}
		t, err := ts.OfSlice(data)
		if err != nil {
			return err
		}
		made = append(made, t)
		v, err := t.View(shape, false)
		if err != nil {
			return err
		}
		made = append(made, v)
		// Marked trainable as a VarStore's variables are, so that the file is byte for byte what the
		// VarStore-based writer of earlier versions wrote for the same weights (same model versions).
		g, err := v.SetRequiresGrad(true, false)
		if err != nil {
			return err
		}
		made = append(made, g)
		named = append(named, ts.NamedTensor{Name: name, Tensor: g})
		return nil
	}
	for i, d := range nets {
		p := "m" + strconv.Itoa(i) + "."
		if err := add(p+"emb.weight", d.emb, int64(cfg.Inputs), int64(width)); err != nil {
			return err
		}
		if err := add(p+"bias", d.bias, int64(width)); err != nil {
			return err
		}
		if cfg.Dense > 0 {
			if err := add(p+"dense.weight", transpose(d.dense, cfg.Dense, width), int64(width), int64(cfg.Dense)); err != nil {
				return err
			}
		}
		if cfg.Hidden > 0 {
			if err := add(p+"out.weight", transpose(d.outW, cfg.Hidden, cfg.Classes), int64(cfg.Classes), int64(cfg.Hidden)); err != nil {
				return err
			}
			if err := add(p+"out.bias", d.outB, int64(cfg.Classes)); err != nil {
				return err
			}
		}
	}
	sort.Slice(named, func(i, j int) bool { return named[i].Name < named[j].Name })
	return ts.SaveMultiNew(named, path)
}

// contentHash is the SHA-256 over every file of dir but VERSION (names and contents, sorted by name),
// shortened to 16 hex digits.
func contentHash(dir string) (string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && e.Name() != FileVersion && e.Name() != FileMetrics {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		f, err := os.Open(filepath.Join(dir, n))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00", n)
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// LoadModel reads a model directory: it checks the content hash against VERSION, loads the weights with
// gotch on w's locked thread and copies them into Go memory.
func LoadModel(ctx context.Context, w *torchrt.Worker, dir string) (*Model, error) {
	return LoadModelWith(ctx, w, dir, LoadOptions{})
}

// LoadOptions changes how LoadModelWith holds a model. Zero values keep the model's own settings.
type LoadOptions struct {
	// TablePrecision, when set, overrides the model's ModelConfig.TablePrecision: the tables are held
	// (and the model scores) at this precision. The temperature and threshold stay those fitted at
	// training, at the model's own precision.
	TablePrecision string
}

// LoadModelWith is LoadModel with options.
func LoadModelWith(ctx context.Context, w *torchrt.Worker, dir string, o LoadOptions) (*Model, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w %s: %s", ErrBadModel, dir, fmt.Sprintf(format, a...))
	}
	vb, err := os.ReadFile(filepath.Join(dir, FileVersion))
	if err != nil {
		return nil, bad("%v", err)
	}
	want := string(bytes.TrimSpace(vb))
	got, err := contentHash(dir)
	if err != nil {
		return nil, bad("%v", err)
	}
	if got != want {
		return nil, bad("content hash %s does not match VERSION %s (files changed or incomplete)", got, want)
	}
	m := &Model{Version: want}
	if err := readJSON(filepath.Join(dir, FileConfig), &m.Config); err != nil {
		return nil, bad("%v", err)
	}
	if m.Config.Format != FormatVersion {
		return nil, bad("format %d, this build reads %d", m.Config.Format, FormatVersion)
	}
	if err := readJSON(filepath.Join(dir, FileLabels), &m.Labels); err != nil {
		return nil, bad("%v", err)
	}
	if err := validPrecision(m.Config.TablePrecision); err != nil {
		return nil, bad("%v", err)
	}
	if o.TablePrecision != "" {
		if err := validPrecision(o.TablePrecision); err != nil {
			return nil, fmt.Errorf("intents: %w", err)
		}
		m.Config.TablePrecision = o.TablePrecision
	}
	if len(m.Labels) != m.Config.Net.Classes || m.Config.Members < 1 {
		return nil, bad("%d labels for %d classes, %d members", len(m.Labels), m.Config.Net.Classes, m.Config.Members)
	}
	var tok *nlp.Tokenizer
	if m.Config.Features.Subwords {
		if tok, err = nlp.LoadTokenizer(filepath.Join(dir, FileTokenizer)); err != nil {
			return nil, bad("%v", err)
		}
	}
	fb, err := os.ReadFile(filepath.Join(dir, FileFeatures))
	if err != nil {
		return nil, bad("%v", err)
	}
	if m.feat, err = readFeaturizer(fb, m.Config.Features, tok); err != nil {
		return nil, bad("%v", err)
	}
	if d := m.Config.Features.WordVectors; d > 0 {
		vb, err := os.ReadFile(filepath.Join(dir, FileVectors))
		if err != nil {
			return nil, bad("%v", err)
		}
		if m.feat.vec, err = readVectorsBin(vb); err != nil {
			return nil, bad("%v", err)
		}
		if m.feat.vec.Dim() != d {
			return nil, bad("word vectors of dimension %d for %d", m.feat.vec.Dim(), d)
		}
	}
	if m.feat.Dim() != m.Config.Net.Inputs || m.feat.DenseDim() != m.Config.Net.Dense {
		return nil, bad("%d+%d feature columns for %d+%d inputs", m.feat.Dim(), m.feat.DenseDim(), m.Config.Net.Inputs, m.Config.Net.Dense)
	}
	err = w.Do(ctx, func() error {
		var err error
		m.nets, err = loadWeights(filepath.Join(dir, FileWeights), m.Config.Net, m.Config.Members, m.Config.TablePrecision == PrecisionInt8)
		return err
	})
	if err != nil {
		return nil, bad("weights: %v", err)
	}
	m.init()
	// Loading went through libtorch's copy of the weights and, at int8, a float32 copy of each table in
	// the Go heap: hand that memory back to the OS now, so that resident memory reflects the model.
	debug.FreeOSMemory()
	torchrt.ReleaseFreeMemory()
	return m, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// features.bin: magic, column count, then per column (key uint64, idf float32, group int8), little endian.
var featMagic = [8]byte{'S', 'C', 'F', 'E', 'A', 'T', '0', '1'}

func (f *Featurizer) writeTo(w io.Writer) error {
	keys := make([]featureKey, len(f.idf))
	for k, col := range f.index {
		keys[col] = k
	}
	buf := make([]byte, 0, 16+13*len(keys))
	buf = append(buf, featMagic[:]...)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(len(keys)))
	for col := 1; col < len(keys); col++ {
		buf = binary.LittleEndian.AppendUint64(buf, uint64(keys[col]))
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(f.idf[col]))
		buf = append(buf, byte(f.group[col]))
	}
	_, err := w.Write(buf)
	return err
}

func readFeaturizer(b []byte, cfg FeatureConfig, tok *nlp.Tokenizer) (*Featurizer, error) {
	if len(b) < 16 || !bytes.Equal(b[:8], featMagic[:]) {
		return nil, errors.New("features.bin: bad header")
	}
	n := binary.LittleEndian.Uint64(b[8:16])
	if n == 0 || n > 1<<26 || uint64(len(b)) != 16+13*(n-1) {
		return nil, errors.New("features.bin: bad length")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	f := &Featurizer{cfg: cfg.withDefaults(), tok: tok, index: make(map[featureKey]int32, n),
		idf: make([]float32, n), group: make([]int8, n)}
	p := b[16:]
	for col := 1; col < int(n); col++ {
		k := featureKey(binary.LittleEndian.Uint64(p))
		f.index[k] = int32(col)
		f.idf[col] = math.Float32frombits(binary.LittleEndian.Uint32(p[8:]))
		g := int8(p[12])
		if g < 0 || g >= numGroups {
			return nil, errors.New("features.bin: bad group")
		}
		f.group[col] = g
		p = p[13:]
	}
	return f, nil
}
