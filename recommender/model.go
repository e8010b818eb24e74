package recommender

import (
	"math"
	"time"
)

// Model is a trained recommendation model held in plain Go memory: one embedding per customer and per
// product, a bias per product, embeddings of the product features (category, price band) for products
// the model has never seen, and the time-weighted popularity of each product. A Model is read-only after
// Load or Train and safe for concurrent use.
type Model struct {
	meta Meta
	dim  int

	items    []string
	itemIdx  map[string]int32
	itemVec  []float32 // len(items)*dim: id embedding + feature embeddings
	itemUnit []float32 // itemVec normalised to unit length (cosine similarity)
	itemBias []float32
	itemCat  []int32 // category index per item, -1 = none
	itemBand []int32 // price band per item, -1 = none
	pop      []float32

	users   []string
	userIdx map[string]int32
	userVec []float32
	// userItems are the training items of each user (sorted), for excluding and for the history-based
	// session fallback.
	userItems [][]int32

	cats      []string
	catIdx    map[string]int32
	catVec    []float32 // (len(cats)+1)*dim, row 0 = no category
	bandEdges []float64
	bandVec   []float32 // (bands+1)*dim, row 0 = unknown price
}

// Meta describes a saved model: written beside the weights as model.json.
type Meta struct {
	Format    int         `json:"format"`
	Version   string      `json:"version"` // content hash of the weights and ids
	CreatedAt time.Time   `json:"created_at"`
	DataHash  string      `json:"data_hash"` // hash of the training interactions
	Config    TrainConfig `json:"config"`
	Stats     TrainStats  `json:"stats"`
	Metrics   *Metrics    `json:"metrics,omitempty"` // filled by eval, when run
}

// TrainStats summarises a training run.
type TrainStats struct {
	Users        int       `json:"users"`
	Items        int       `json:"items"`
	Interactions int       `json:"interactions"`
	Positives    int       `json:"positives"`
	Epochs       int       `json:"epochs"`
	FinalLoss    float64   `json:"final_loss"`
	Seconds      float64   `json:"seconds"`
	LossCurve    []float64 `json:"loss_curve,omitempty"`
}

// Meta returns the model's metadata.
func (m *Model) Meta() Meta { return m.meta }

// Version is the model's content hash.
func (m *Model) Version() string { return m.meta.Version }

// Dim is the embedding size.
func (m *Model) Dim() int { return m.dim }

// NumItems is the number of products the model has embeddings for.
func (m *Model) NumItems() int { return len(m.items) }

// NumUsers is the number of customers the model has embeddings for.
func (m *Model) NumUsers() int { return len(m.users) }

// HasUser reports whether the model has an embedding for the customer.
func (m *Model) HasUser(id string) bool { _, ok := m.userIdx[id]; return ok }

// HasItem reports whether the model has an embedding for the product.
func (m *Model) HasItem(sku string) bool { _, ok := m.itemIdx[sku]; return ok }

// Categories lists the product categories the model has feature embeddings for.
func (m *Model) Categories() []string { return append([]string(nil), m.cats...) }

// Score returns the model's preference of user for item (higher = better) and whether both are known.
func (m *Model) Score(user, item string) (float64, bool) {
	u, ok := m.userIdx[user]
	if !ok {
		return 0, false
	}
	i, ok := m.itemIdx[item]
	if !ok {
		return 0, false
	}
	return float64(dot(m.userVec[int(u)*m.dim:int(u+1)*m.dim], m.itemVec[int(i)*m.dim:int(i+1)*m.dim]) + m.itemBias[i]), true
}

// Popularity returns the product's time-weighted popularity in [0, 1] (0 for unknown products).
func (m *Model) Popularity(sku string) float64 {
	if i, ok := m.itemIdx[sku]; ok {
		return float64(m.pop[i])
	}
	return 0
}

// featureVec returns the embedding of a product from its features alone, or nil when the model has no
// feature embeddings or the product has no known feature.
func (m *Model) featureVec(info ItemInfo) []float32 {
	if m.catVec == nil && m.bandVec == nil {
		return nil
	}
	c := int32(-1)
	if k, ok := m.catIdx[info.Category]; ok {
		c = k
	}
	b := int32(-1)
	if m.bandVec != nil {
		b = priceBand(m.bandEdges, info.Price)
		if int(b+1)*m.dim >= len(m.bandVec) {
			b = int32(len(m.bandVec)/m.dim - 2)
		}
	}
	if c < 0 && b < 0 {
		return nil
	}
	v := make([]float32, m.dim)
	if m.catVec != nil {
		axpy(v, m.catVec[int(c+1)*m.dim:int(c+2)*m.dim])
	}
	if m.bandVec != nil {
		axpy(v, m.bandVec[int(b+1)*m.dim:int(b+2)*m.dim])
	}
	return v
}

func (m *Model) computeUnit() {
	m.itemUnit = make([]float32, len(m.itemVec))
	for i := range m.items {
		v := m.itemVec[i*m.dim : (i+1)*m.dim]
		copy(m.itemUnit[i*m.dim:], normalized(v))
	}
}

func (m *Model) index() {
	m.itemIdx = make(map[string]int32, len(m.items))
	for i, s := range m.items {
		m.itemIdx[s] = int32(i)
	}
	m.userIdx = make(map[string]int32, len(m.users))
	for i, s := range m.users {
		m.userIdx[s] = int32(i)
	}
	m.catIdx = make(map[string]int32, len(m.cats))
	for i, s := range m.cats {
		m.catIdx[s] = int32(i)
	}
	m.computeUnit()
}

func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}

func axpy(dst, src []float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}

func normalized(v []float32) []float32 {
	n := float32(math.Sqrt(float64(dot(v, v))))
	out := make([]float32, len(v))
	if n == 0 {
		return out
	}
	for i := range v {
		out[i] = v[i] / n
	}
	return out
}
