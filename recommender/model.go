package recommender

import (
	"time"
)

// Model is a trained recommendation model held in plain Go memory: for every product its strongest
// item-to-item weights (a sparse row of the EASE matrix, fitted offline with libtorch), its time-weighted
// popularity and its features (category, price band); for every customer seen in training their
// products with recency weights. A Model is read-only after Load or Train and safe for concurrent use.
type Model struct {
	meta Meta

	items   []string
	itemIdx map[string]int32
	// Neighbours in CSR form: item i's neighbours are nbrItem[nbrStart[i]:nbrStart[i+1]] with weights
	// nbrW, sorted by decreasing weight.
	nbrStart []int32
	nbrItem  []int32
	nbrW     []float32
	pop      []float32 // time-weighted popularity, max 1
	itemCat  []int32   // category index per item, -1 = none
	itemBand []int32   // price band per item, -1 = none

	users   []string
	userIdx map[string]int32
	// userItems are the training items of each user with their recency weights.
	userItems [][]int32
	userW     [][]float32

	cats      []string
	catIdx    map[string]int32
	bandEdges []float64
}

// Meta describes a saved model: written beside the weights as model.json.
type Meta struct {
	Format    int         `json:"format"`
	Version   string      `json:"version"` // content hash of the weights and ids
	CreatedAt time.Time   `json:"created_at"`
	DataHash  string      `json:"data_hash"` // hash of the training interactions
	Config    TrainConfig `json:"config"`
	Stats     TrainStats  `json:"stats"`
	Metrics   *Report     `json:"metrics,omitempty"` // filled by eval, when run
}

// TrainStats summarises a training run.
type TrainStats struct {
	Users        int     `json:"users"`
	Items        int     `json:"items"`
	Interactions int     `json:"interactions"`
	Positives    int     `json:"positives"`
	Neighbours   int     `json:"neighbours"` // stored item-to-item weights
	Seconds      float64 `json:"seconds"`
}

// Meta returns the model's metadata.
func (m *Model) Meta() Meta { return m.meta }

// Version is the model's content hash.
func (m *Model) Version() string { return m.meta.Version }

// NumItems is the number of products the model knows.
func (m *Model) NumItems() int { return len(m.items) }

// NumUsers is the number of customers the model has a history for.
func (m *Model) NumUsers() int { return len(m.users) }

// HasUser reports whether the model has a history for the customer.
func (m *Model) HasUser(id string) bool { _, ok := m.userIdx[id]; return ok }

// HasItem reports whether the model knows the product.
func (m *Model) HasItem(sku string) bool { _, ok := m.itemIdx[sku]; return ok }

// Popularity returns the product's time-weighted popularity in [0, 1] (0 for unknown products).
func (m *Model) Popularity(sku string) float64 {
	if i, ok := m.itemIdx[sku]; ok {
		return float64(m.pop[i])
	}
	return 0
}

// UserHistory returns the SKUs the model saw the customer interact with, most recent weight first is not
// guaranteed.
func (m *Model) UserHistory(id string) []string {
	u, ok := m.userIdx[id]
	if !ok {
		return nil
	}
	out := make([]string, len(m.userItems[u]))
	for k, i := range m.userItems[u] {
		out[k] = m.items[i]
	}
	return out
}

// Score returns the model's preference of user for item (higher = better) and whether the user is known.
// It sums, over the user's training items, the item-to-item weight towards item, each scaled by the
// interaction's recency weight. An item with no weight from the user's items scores 0.
func (m *Model) Score(user, item string) (float64, bool) {
	u, ok := m.userIdx[user]
	if !ok {
		return 0, false
	}
	j, ok := m.itemIdx[item]
	if !ok {
		return 0, false
	}
	var s float32
	for k, i := range m.userItems[u] {
		if w, ok := m.weight(i, j); ok {
			s += m.userW[u][k] * w
		}
	}
	return float64(s), true
}

// weight returns the stored weight of the pair (i, j).
func (m *Model) weight(i, j int32) (float32, bool) {
	for k := m.nbrStart[i]; k < m.nbrStart[i+1]; k++ {
		if m.nbrItem[k] == j {
			return m.nbrW[k], true
		}
	}
	return 0, false
}

// accumulate adds w times item i's neighbour weights into scores (indexed by model item).
func (m *Model) accumulate(scores []float32, i int32, w float32) {
	for k := m.nbrStart[i]; k < m.nbrStart[i+1]; k++ {
		scores[m.nbrItem[k]] += w * m.nbrW[k]
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
}

// ScoresFor returns a scorer for one user's candidates: the user's scores over every product are
// accumulated once. The result is false for an unknown user or item.
func (m *Model) ScoresFor(user string) func(item string) (float64, bool) {
	u, ok := m.userIdx[user]
	if !ok {
		return func(string) (float64, bool) { return 0, false }
	}
	scores := make([]float32, len(m.items))
	for k, i := range m.userItems[u] {
		m.accumulate(scores, i, m.userW[u][k])
	}
	if b := float32(m.meta.Config.PopularityWeight); b > 0 {
		for j := range scores {
			scores[j] += b * m.pop[j]
		}
	}
	return func(item string) (float64, bool) {
		j, ok := m.itemIdx[item]
		if !ok {
			return 0, false
		}
		return float64(scores[j]), true
	}
}
