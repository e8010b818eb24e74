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

// modelIndex is the JSON part of a model: ids, histories and feature vocabularies.
type modelIndex struct {
	Items     []string    `json:"items"`
	Users     []string    `json:"users"`
	UserItems [][]int32   `json:"user_items"`
	UserW     [][]float32 `json:"user_weights"`
	ItemCat   []int32     `json:"item_category,omitempty"`
	ItemBand  []int32     `json:"item_price_band,omitempty"`
	Cats      []string    `json:"categories,omitempty"`
	BandEdges []float64   `json:"price_band_edges,omitempty"`
}

func (m *Model) indexDoc() modelIndex {
	return modelIndex{Items: m.items, Users: m.users, UserItems: m.userItems, UserW: m.userW, ItemCat: m.itemCat,
		ItemBand: m.itemBand, Cats: m.cats, BandEdges: m.bandEdges}
}

// weights.bin holds, in order, nbrStart, nbrItem (int32) and nbrW, pop (float32); each is a
// little-endian uint64 count then that many 4-byte values.
func (m *Model) int32s() []*[]int32     { return []*[]int32{&m.nbrStart, &m.nbrItem} }
func (m *Model) float32s() []*[]float32 { return []*[]float32{&m.nbrW, &m.pop} }

// contentHash hashes the index and the weights: the model's version.
func (m *Model) contentHash() string {
	h := sha256.New()
	_ = json.NewEncoder(h).Encode(m.indexDoc())
	_ = m.writeWeights(h)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func (m *Model) writeWeights(w io.Writer) error {
	put := func(vals []uint32) error {
		b := make([]byte, 8+4*len(vals))
		binary.LittleEndian.PutUint64(b, uint64(len(vals)))
		for i, v := range vals {
			binary.LittleEndian.PutUint32(b[8+4*i:], v)
		}
		_, err := w.Write(b)
		return err
	}
	for _, t := range m.int32s() {
		u := make([]uint32, len(*t))
		for i, v := range *t {
			u[i] = uint32(v)
		}
		if err := put(u); err != nil {
			return err
		}
	}
	for _, t := range m.float32s() {
		u := make([]uint32, len(*t))
		for i, v := range *t {
			u[i] = math.Float32bits(v)
		}
		if err := put(u); err != nil {
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
	if err := m.writeWeights(bw); err != nil {
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
	m.items, m.users, m.userItems, m.userW = idx.Items, idx.Users, idx.UserItems, idx.UserW
	m.itemCat, m.itemBand, m.cats, m.bandEdges = idx.ItemCat, idx.ItemBand, idx.Cats, idx.BandEdges
	f, err := os.Open(filepath.Join(dir, weightsFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadModel, err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	for _, t := range m.int32s() {
		u, err := readWords(br)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrBadModel, weightsFile, err)
		}
		*t = make([]int32, len(u))
		for i, v := range u {
			(*t)[i] = int32(v)
		}
	}
	for _, t := range m.float32s() {
		u, err := readWords(br)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrBadModel, weightsFile, err)
		}
		*t = make([]float32, len(u))
		for i, v := range u {
			(*t)[i] = math.Float32frombits(v)
		}
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadModel, err)
	}
	m.index()
	if v := m.contentHash(); v != m.meta.Version {
		return nil, fmt.Errorf("%w: content hash %s does not match the recorded version %s", ErrBadModel, v, m.meta.Version)
	}
	return m, nil
}

const maxWords = 1 << 30

func readWords(r io.Reader) ([]uint32, error) {
	var buf [8]byte
	if _, err := io.ReadFull(r, buf[:]); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint64(buf[:])
	if n > maxWords {
		return nil, fmt.Errorf("section of %d values", n)
	}
	b := make([]byte, 4*n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	out := make([]uint32, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return out, nil
}

// check validates the sizes and indexes of a loaded model, so that serving never indexes out of range.
func (m *Model) check() error {
	ni, nu := len(m.items), len(m.users)
	var probs []string
	want := func(name string, got, n int) {
		if got != n {
			probs = append(probs, fmt.Sprintf("%s has %d values, want %d", name, got, n))
		}
	}
	want("neighbour offsets", len(m.nbrStart), ni+1)
	want("neighbour weights", len(m.nbrW), len(m.nbrItem))
	want("popularity", len(m.pop), ni)
	want("user histories", len(m.userItems), nu)
	want("user weights", len(m.userW), nu)
	if len(probs) > 0 {
		return errors.New(strings.Join(probs, "; "))
	}
	if m.nbrStart[0] != 0 || int(m.nbrStart[ni]) != len(m.nbrItem) {
		return errors.New("neighbour offsets do not span the neighbours")
	}
	for i := 0; i < ni; i++ {
		if m.nbrStart[i] > m.nbrStart[i+1] {
			return errors.New("neighbour offsets decrease")
		}
	}
	for _, j := range m.nbrItem {
		if j < 0 || int(j) >= ni {
			return errors.New("a neighbour refers to an unknown product")
		}
	}
	for u, h := range m.userItems {
		if len(m.userW[u]) != len(h) {
			return fmt.Errorf("user %d has %d items and %d weights", u, len(h), len(m.userW[u]))
		}
		for _, i := range h {
			if i < 0 || int(i) >= ni {
				return errors.New("a user history refers to an unknown product")
			}
		}
	}
	if len(m.itemCat) > 0 || len(m.itemBand) > 0 {
		want("item categories", len(m.itemCat), ni)
		want("item price bands", len(m.itemBand), ni)
		if len(probs) > 0 {
			return errors.New(strings.Join(probs, "; "))
		}
		for k := range m.itemCat {
			if m.itemCat[k] < -1 || int(m.itemCat[k]) >= len(m.cats) || m.itemBand[k] < -1 || int(m.itemBand[k]) > len(m.bandEdges) {
				return errors.New("a product feature index is out of range")
			}
		}
	}
	return nil
}
