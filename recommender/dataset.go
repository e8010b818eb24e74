package recommender

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"sort"
	"time"
)

// ItemInfo is what the model knows about a product besides its interactions: its features, which give
// new products an embedding.
type ItemInfo struct {
	Category string
	Price    float64 // 0 = unknown
}

// dataset is the indexed training data: unique (user, item) positives with summed weights.
type dataset struct {
	users   []string
	items   []string
	userIdx map[string]int32
	itemIdx map[string]int32
	// positives, one per unique (user, item) pair
	pu, pi []int32
	pw     []float32
	pt     []int64 // latest unix time of the pair (0 = unknown)
	// userItems[u] lists the items of user u, sorted
	userItems [][]int32
	// item features (nil when none)
	itemCat    []int32 // index into cats, -1 = none
	cats       []string
	itemBand   []int32 // price band, -1 = none
	bandEdges  []float64
	popularity []float32 // time-weighted, max 1
	hash       string    // content hash of the interactions
}

// HalfLife of the time-weighted popularity.
const defaultHalfLife = 10 * 24 * time.Hour

// numPriceBands is the number of price quantile bands used as an item feature.
const numPriceBands = 5

var errNoData = errors.New("recommender: no interactions to train on")

// buildDataset indexes interactions. Items in catalog that have no interaction are added too, so that
// they get feature embeddings; catalog may be nil.
func buildDataset(in []Interaction, catalog map[string]ItemInfo, halfLife time.Duration) (*dataset, error) {
	if len(in) == 0 {
		return nil, errNoData
	}
	if halfLife <= 0 {
		halfLife = defaultHalfLife
	}
	d := &dataset{userIdx: map[string]int32{}, itemIdx: map[string]int32{}}
	type key struct{ u, i int32 }
	pos := map[key]int{}
	h := sha256.New()
	var buf [8]byte
	var latest int64
	for _, it := range in {
		if t := it.At.Unix(); !it.At.IsZero() && t > latest {
			latest = t
		}
	}
	popRaw := map[int32]float64{}
	for _, it := range in {
		u, ok := d.userIdx[it.User]
		if !ok {
			u = int32(len(d.users))
			d.userIdx[it.User] = u
			d.users = append(d.users, it.User)
		}
		i := d.addItem(it.Item)
		var t int64
		if !it.At.IsZero() {
			t = it.At.Unix()
		}
		h.Write([]byte(it.User))
		h.Write([]byte{0})
		h.Write([]byte(it.Item))
		h.Write([]byte{0})
		h.Write([]byte(it.Kind))
		binary.LittleEndian.PutUint64(buf[:], math.Float64bits(it.Weight))
		h.Write(buf[:])
		binary.LittleEndian.PutUint64(buf[:], uint64(t))
		h.Write(buf[:])
		age := 0.0
		if t > 0 && latest > 0 {
			age = float64(latest-t) / halfLife.Seconds()
		}
		popRaw[i] += it.Weight * math.Exp2(-age)
		k := key{u, i}
		if j, ok := pos[k]; ok {
			d.pw[j] += float32(it.Weight)
			if t > d.pt[j] {
				d.pt[j] = t
			}
			continue
		}
		pos[k] = len(d.pu)
		d.pu = append(d.pu, u)
		d.pi = append(d.pi, i)
		d.pw = append(d.pw, float32(it.Weight))
		d.pt = append(d.pt, t)
	}
	d.hash = hex.EncodeToString(h.Sum(nil))
	// catalogue items without interactions, in a stable order
	if len(catalog) > 0 {
		skus := make([]string, 0, len(catalog))
		for s := range catalog {
			skus = append(skus, s)
		}
		sort.Strings(skus)
		for _, s := range skus {
			d.addItem(s)
		}
		d.setFeatures(catalog)
	}
	d.userItems = make([][]int32, len(d.users))
	for j := range d.pu {
		d.userItems[d.pu[j]] = append(d.userItems[d.pu[j]], d.pi[j])
	}
	for _, l := range d.userItems {
		sort.Slice(l, func(a, b int) bool { return l[a] < l[b] })
	}
	d.popularity = make([]float32, len(d.items))
	var maxPop float64
	for _, p := range popRaw {
		maxPop = math.Max(maxPop, p)
	}
	for i, p := range popRaw {
		if maxPop > 0 {
			d.popularity[i] = float32(p / maxPop)
		}
	}
	return d, nil
}

func (d *dataset) addItem(sku string) int32 {
	i, ok := d.itemIdx[sku]
	if !ok {
		i = int32(len(d.items))
		d.itemIdx[sku] = i
		d.items = append(d.items, sku)
	}
	return i
}

// setFeatures fills category and price-band indexes from the catalogue.
func (d *dataset) setFeatures(catalog map[string]ItemInfo) {
	catIdx := map[string]int32{}
	var cats []string
	var prices []float64
	for _, info := range catalog {
		if info.Price > 0 {
			prices = append(prices, info.Price)
		}
		if info.Category != "" {
			if _, ok := catIdx[info.Category]; !ok {
				catIdx[info.Category] = 0
				cats = append(cats, info.Category)
			}
		}
	}
	sort.Strings(cats)
	for k, c := range cats {
		catIdx[c] = int32(k)
	}
	d.cats = cats
	d.bandEdges = quantileEdges(prices, numPriceBands)
	d.itemCat = make([]int32, len(d.items))
	d.itemBand = make([]int32, len(d.items))
	for i, sku := range d.items {
		d.itemCat[i], d.itemBand[i] = -1, -1
		info, ok := catalog[sku]
		if !ok {
			continue
		}
		if c, ok := catIdx[info.Category]; ok && info.Category != "" {
			d.itemCat[i] = c
		}
		d.itemBand[i] = priceBand(d.bandEdges, info.Price)
	}
}

// quantileEdges returns up to n-1 increasing boundaries splitting prices into n bands of similar size.
func quantileEdges(prices []float64, n int) []float64 {
	if len(prices) == 0 || n < 2 {
		return nil
	}
	p := append([]float64(nil), prices...)
	sort.Float64s(p)
	var edges []float64
	for k := 1; k < n; k++ {
		e := p[k*len(p)/n]
		if len(edges) == 0 || e > edges[len(edges)-1] {
			edges = append(edges, e)
		}
	}
	return edges
}

// priceBand returns the band of price given the edges; -1 for an unknown price.
func priceBand(edges []float64, price float64) int32 {
	if price <= 0 || math.IsNaN(price) {
		return -1
	}
	return int32(sort.SearchFloat64s(edges, math.Nextafter(price, math.Inf(1))))
}
