package recommender

import (
	"bufio"
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
	"strings"
)

// modelFormat is the version of the on-disk layout; Load refuses others.
const modelFormat = 1

// Files of a model directory.
const (
	metaFile    = "model.json"
	indexFile   = "index.json"
	weightsFile = "weights.bin"
)

// ErrNoModel means the model directory does not exist or holds no model.
var ErrNoModel = errors.New("recommender: no model")

// ErrBadModel means a model directory is corrupt or of another format version.
var ErrBadModel = errors.New("recommender: invalid model")

// index is the non-numeric part of a model: ids and feature vocabularies.
type modelIndex struct {
	Dim       int       `json:"dim"`
	Items     []string  `json:"items"`
	Users     []string  `json:"users"`
	UserItems [][]int32 `json:"user_items"`
	ItemCat   []int32   `json:"item_cat,omitempty"`
	ItemBand  []int32   `json:"item_band,omitempty"`
	Cats      []string  `json:"categories,omitempty"`
	BandEdges []float64 `json:"band_edges,omitempty"`
	HasFeat   bool      `json:"has_features"`
}

// Tensors of weights.bin, in order: each is a little-endian uint64 count then that many float32.
func (m *Model) tensors() []*[]float32 {
	return []*[]float32{&m.itemVec, &m.itemBias, &m.pop, &m.userVec, &m.catVec, &m.bandVec}
}

func (m *Model) indexDoc() modelIndex {
	return modelIndex{Dim: m.dim, Items: m.items, Users: m.users, UserItems: m.userItems, ItemCat: m.itemCat,
		ItemBand: m.itemBand, Cats: m.cats, BandEdges: m.bandEdges, HasFeat: m.catVec != nil}
}

// contentHash hashes the index and the weights: the model's version.
func (m *Model) contentHash() string {
	h := sha256.New()
	_ = json.NewEncoder(h).Encode(m.indexDoc())
	_ = writeTensors(h, m.tensors())
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func writeTensors(w io.Writer, ts []*[]float32) error {
	var buf [8]byte
	for _, t := range ts {
		binary.LittleEndian.PutUint64(buf[:], uint64(len(*t)))
		if _, err := w.Write(buf[:]); err != nil {
			return err
		}
		b := make([]byte, 4*len(*t))
		for i, v := range *t {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// Save writes the model to dir atomically: into a temporary sibling directory first, then renamed over
// dir, so a reader sees either the old model or the new one. It is safe for concurrent use with readers
// of m.
func (m *Model) Save(dir string) error {
	dir = filepath.Clean(dir)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := writeJSON(filepath.Join(tmp, metaFile), m.meta); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(tmp, indexFile), m.indexDoc()); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(tmp, weightsFile))
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	if err := writeTensors(bw, m.tensors()); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	old := ""
	if _, err := os.Stat(dir); err == nil {
		old = tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			_ = os.Rename(old, dir)
		}
		return err
	}
	if old != "" {
		_ = os.RemoveAll(old)
	}
	return nil
}

// SaveMeta rewrites only model.json (for instance after eval filled Metrics).
func (m *Model) SaveMeta(dir string, meta Meta) error {
	m.meta = meta
	p := filepath.Join(dir, metaFile)
	tmp := p + ".tmp"
	if err := writeJSON(tmp, meta); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Load reads a model saved by Save, checking its format and that every tensor has the size its index
// implies. A missing directory gives ErrNoModel; a corrupt one ErrBadModel.
func Load(dir string) (*Model, error) {
	mb, err := os.ReadFile(filepath.Join(dir, metaFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w at %s", ErrNoModel, dir)
	}
	if err != nil {
		return nil, err
	}
	m := &Model{}
	if err := json.Unmarshal(mb, &m.meta); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadModel, metaFile, err)
	}
	if m.meta.Format != modelFormat {
		return nil, fmt.Errorf("%w: format %d, this build reads %d", ErrBadModel, m.meta.Format, modelFormat)
	}
	ib, err := os.ReadFile(filepath.Join(dir, indexFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadModel, err)
	}
	var idx modelIndex
	if err := json.Unmarshal(ib, &idx); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadModel, indexFile, err)
	}
	m.dim, m.items, m.users, m.userItems = idx.Dim, idx.Items, idx.Users, idx.UserItems
	m.itemCat, m.itemBand, m.cats, m.bandEdges = idx.ItemCat, idx.ItemBand, idx.Cats, idx.BandEdges
	f, err := os.Open(filepath.Join(dir, weightsFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadModel, err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	for _, t := range m.tensors() {
		if *t, err = readTensor(br); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrBadModel, weightsFile, err)
		}
	}
	if err := m.check(idx.HasFeat); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadModel, err)
	}
	if len(m.catVec) == 0 {
		m.catVec = nil
	}
	if len(m.bandVec) == 0 {
		m.bandVec = nil
	}
	m.index()
	if v := m.contentHash(); v != m.meta.Version {
		return nil, fmt.Errorf("%w: content hash %s does not match the recorded version %s", ErrBadModel, v, m.meta.Version)
	}
	return m, nil
}

const maxTensorLen = 1 << 31

func readTensor(r io.Reader) ([]float32, error) {
	var buf [8]byte
	if _, err := io.ReadFull(r, buf[:]); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint64(buf[:])
	if n > maxTensorLen {
		return nil, fmt.Errorf("tensor of %d values", n)
	}
	b := make([]byte, 4*n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

func (m *Model) check(hasFeat bool) error {
	d := m.dim
	ni, nu := len(m.items), len(m.users)
	var probs []string
	if d <= 0 || d > 4096 {
		probs = append(probs, fmt.Sprintf("dim %d", d))
		return errors.New(strings.Join(probs, "; "))
	}
	want := func(name string, got, n int) {
		if got != n {
			probs = append(probs, fmt.Sprintf("%s has %d values, want %d", name, got, n))
		}
	}
	want("item vectors", len(m.itemVec), ni*d)
	want("item biases", len(m.itemBias), ni)
	want("popularity", len(m.pop), ni)
	want("user vectors", len(m.userVec), nu*d)
	want("user histories", len(m.userItems), nu)
	for _, h := range m.userItems {
		for _, i := range h {
			if i < 0 || int(i) >= ni {
				probs = append(probs, "user history refers to an unknown item")
				break
			}
		}
	}
	if hasFeat {
		want("item categories", len(m.itemCat), ni)
		want("item price bands", len(m.itemBand), ni)
		want("category vectors", len(m.catVec), (len(m.cats)+1)*d)
		want("price-band vectors", len(m.bandVec), (len(m.bandEdges)+2)*d)
		for k := range m.itemCat {
			if k < len(m.itemBand) && (m.itemCat[k] < -1 || int(m.itemCat[k]) >= len(m.cats) ||
				m.itemBand[k] < -1 || int(m.itemBand[k]) > len(m.bandEdges)) {
				probs = append(probs, "item feature index out of range")
				break
			}
		}
	}
	if len(probs) > 0 {
		return errors.New(strings.Join(probs, "; "))
	}
	return nil
}
