package recommender

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopchat/shopchat/kb"
)

// Store is what the service needs from the knowledge base; *kb.Store implements it. Implementations must
// be safe for concurrent use.
type Store interface {
	ListProducts(ctx context.Context) ([]kb.Product, error)
	ProductBySKU(ctx context.Context, sku string) (kb.Product, error)
	Customer(ctx context.Context, id string) (kb.Customer, error)
	PurchasedSKUs(ctx context.Context, customerID string) ([]string, error)
	ShownSKUs(ctx context.Context, convID string) ([]string, error)
	RecordImpressions(ctx context.Context, convID, customerID string, skus []string, source string) error
	Interactions(ctx context.Context) ([]kb.Interaction, error)
}

var _ Store = (*kb.Store)(nil)

// Errors of Recommend; the HTTP handler maps them to 4xx statuses.
var (
	// ErrUnknownCustomer means the customer is neither in the model nor in the store.
	ErrUnknownCustomer = errors.New("recommender: unknown customer")
	// ErrUnknownProduct means a seed product (similar_to, session items) is not in the catalogue.
	ErrUnknownProduct = errors.New("recommender: unknown product")
	// ErrUnknownCategory means the category filter names no category of the catalogue.
	ErrUnknownCategory = errors.New("recommender: unknown category")
	// ErrBadQuery means the query is invalid (k out of range, negative prices, ...).
	ErrBadQuery = errors.New("recommender: invalid query")
)

// Default limits of a query.
const (
	DefaultK = 10
	MaxK     = 100
	// maxSessionItems bounds the items of an anonymous session that seed a query.
	maxSessionItems = 50
)

// ServiceConfig configures a Service.
type ServiceConfig struct {
	Store Store  // required
	Model *Model // optional: nil serves the fallback (time-weighted popularity from the store) until Swap
	// APIKeys are the keys accepted by Handler (Authorization: Bearer KEY or X-API-Key: KEY). Empty
	// means the handler refuses every request (401): there is no open mode.
	APIKeys []string
	Logger  *slog.Logger
	// CatalogTTL is how long a catalogue snapshot (prices, stock, categories) is used before it is
	// reloaded (default 5 s). Stock of the products returned is re-checked live when InStockOnly.
	CatalogTTL time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service answers recommendation queries from one shared model and a snapshot of the catalogue. It is
// safe for concurrent use; Swap replaces the model atomically (queries in flight finish on the old one).
type Service struct {
	cfg     ServiceConfig
	log     *slog.Logger
	state   atomic.Pointer[state]
	model   atomic.Pointer[Model]
	refresh sync.Mutex
	pool    sync.Pool
}

// state is an immutable snapshot: the model joined with the catalogue.
type state struct {
	model    *Model // nil: fallback
	products []kb.Product
	bySKU    map[string]int32
	cats     map[string]string // lower-case -> as stored
	modelOf  []int32           // catalogue index -> model item, -1 = unknown to the model
	pop      []float32         // catalogue index -> popularity in [0, 1]
	loaded   time.Time
}

// loadTimeout bounds the catalogue loads of NewService and Swap.
const loadTimeout = 30 * time.Second

// NewService builds a service and loads the catalogue.
func NewService(cfg ServiceConfig) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("recommender: NewService: nil Store")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.CatalogTTL <= 0 {
		cfg.CatalogTTL = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{cfg: cfg, log: cfg.Logger}
	s.model.Store(cfg.Model)
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	if err := s.Refresh(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Swap replaces the model atomically; m == nil switches to the fallback. Queries already running finish
// on the old model; the catalogue snapshot is rebuilt for the new one (if that fails, the next query
// retries it).
func (s *Service) Swap(m *Model) {
	s.model.Store(m)
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	if err := s.Refresh(ctx); err != nil {
		s.log.Warn("recommender: rebuild after swap failed; retried on the next query", "err", err)
	}
	if m != nil {
		s.log.Info("recommender model swapped in", "version", m.Version())
	}
}

// Model returns the model in use (nil in fallback mode).
func (s *Service) Model() *Model { return s.model.Load() }

// Refresh reloads the catalogue snapshot now.
func (s *Service) Refresh(ctx context.Context) error {
	s.refresh.Lock()
	defer s.refresh.Unlock()
	return s.rebuild(ctx)
}

func (s *Service) rebuild(ctx context.Context) error {
	products, err := s.cfg.Store.ListProducts(ctx)
	if err != nil {
		return fmt.Errorf("recommender: load catalogue: %w", err)
	}
	m := s.model.Load()
	st := &state{model: m, products: products, bySKU: make(map[string]int32, len(products)),
		cats: map[string]string{}, modelOf: make([]int32, len(products)), pop: make([]float32, len(products)),
		loaded: s.cfg.Now()}
	for i, p := range products {
		st.bySKU[p.SKU] = int32(i)
		if p.Category != "" {
			st.cats[strings.ToLower(p.Category)] = p.Category
		}
		st.modelOf[i] = -1
		if m != nil {
			if j, ok := m.itemIdx[p.SKU]; ok {
				st.modelOf[i] = j
				st.pop[i] = m.pop[j]
			}
		}
	}
	if m == nil {
		// Fallback: time-weighted popularity straight from the stored interactions.
		ins, err := s.cfg.Store.Interactions(ctx)
		if err != nil {
			return fmt.Errorf("recommender: fallback popularity: %w", err)
		}
		raw := make([]float64, len(products))
		var latest time.Time
		for _, in := range ins {
			if in.At.After(latest) {
				latest = in.At
			}
		}
		var mx float64
		for _, in := range ins {
			if i, ok := st.bySKU[in.SKU]; ok {
				age := latest.Sub(in.At).Seconds() / defaultHalfLife.Seconds()
				raw[i] += in.Weight * math.Exp2(-age)
				mx = math.Max(mx, raw[i])
			}
		}
		for i := range raw {
			if mx > 0 {
				st.pop[i] = float32(raw[i] / mx)
			}
		}
	}
	s.state.Store(st)
	return nil
}

// snapshot returns the current state, reloading the catalogue when it is older than CatalogTTL. A reload
// error keeps the old snapshot (logged).
func (s *Service) snapshot(ctx context.Context) *state {
	st := s.state.Load()
	if s.cfg.Now().Sub(st.loaded) < s.cfg.CatalogTTL && st.model == s.model.Load() {
		return st
	}
	if s.refresh.TryLock() {
		if err := s.rebuild(ctx); err != nil {
			s.log.Warn("recommender: catalogue reload failed; serving the previous snapshot", "err", err)
		}
		s.refresh.Unlock()
	}
	return s.state.Load()
}

// Recommend answers q. The seed is SimilarTo (reason "similar"), else the customer's history and the
// session's items (reason "personal"), else nothing (reason "popular"); when the seed gives fewer than K
// products, popular products fill the rest. Inactive products, the seeds themselves, q.Exclude, the
// customer's purchases and the products already shown in q.ConversationID are never returned; with
// InStockOnly neither are sold-out ones. When q.ConversationID is set the result is recorded as
// impressions (unless q.NoRecord). It is safe for concurrent use.
func (s *Service) Recommend(ctx context.Context, q Query) ([]Item, error) {
	if q.K == 0 {
		q.K = DefaultK
	}
	if q.K < 0 || q.K > MaxK {
		return nil, fmt.Errorf("%w: k must be between 1 and %d", ErrBadQuery, MaxK)
	}
	if q.MinPrice < 0 || q.MaxPrice < 0 || math.IsNaN(q.MinPrice) || math.IsNaN(q.MaxPrice) ||
		(q.MaxPrice > 0 && q.MinPrice > q.MaxPrice) {
		return nil, fmt.Errorf("%w: price range [%v, %v]", ErrBadQuery, q.MinPrice, q.MaxPrice)
	}
	if len(q.SessionItems) > maxSessionItems {
		q.SessionItems = q.SessionItems[len(q.SessionItems)-maxSessionItems:]
	}
	st := s.snapshot(ctx)
	if q.Category != "" {
		c, ok := st.cats[strings.ToLower(strings.TrimSpace(q.Category))]
		if !ok {
			return nil, fmt.Errorf("%w: %q", ErrUnknownCategory, q.Category)
		}
		q.Category = c
	}
	exclude := make(map[string]bool, len(q.Exclude)+8)
	for _, sku := range q.Exclude {
		exclude[sku] = true
	}
	var history []string // seeds with recency weight 1
	if q.CustomerID != "" {
		known := st.model != nil && st.model.HasUser(q.CustomerID)
		if !known {
			if _, err := s.cfg.Store.Customer(ctx, q.CustomerID); errors.Is(err, kb.ErrNotFound) {
				return nil, fmt.Errorf("%w: %q", ErrUnknownCustomer, q.CustomerID)
			} else if err != nil {
				return nil, fmt.Errorf("recommender: customer: %w", err)
			}
		}
		bought, err := s.cfg.Store.PurchasedSKUs(ctx, q.CustomerID)
		if err != nil {
			return nil, fmt.Errorf("recommender: purchases: %w", err)
		}
		for _, sku := range bought {
			exclude[sku] = true
		}
		history = bought
	}
	if q.ConversationID != "" {
		shown, err := s.cfg.Store.ShownSKUs(ctx, q.ConversationID)
		if err != nil {
			return nil, fmt.Errorf("recommender: shown products: %w", err)
		}
		for _, sku := range shown {
			exclude[sku] = true
		}
	}
	for _, sku := range q.SessionItems {
		if _, ok := st.bySKU[sku]; !ok {
			return nil, fmt.Errorf("%w: %q", ErrUnknownProduct, sku)
		}
		exclude[sku] = true
	}
	if q.SimilarTo != "" {
		if _, ok := st.bySKU[q.SimilarTo]; !ok {
			return nil, fmt.Errorf("%w: %q", ErrUnknownProduct, q.SimilarTo)
		}
		exclude[q.SimilarTo] = true
	}
	items := s.rank(st, q, history, exclude)
	if q.InStockOnly {
		items = s.recheckStock(ctx, st, q, items, exclude)
	}
	if q.ConversationID != "" && !q.NoRecord && len(items) > 0 {
		skus := make([]string, len(items))
		for i, it := range items {
			skus[i] = it.SKU
		}
		src := q.Source
		if src == "" {
			src = items[0].Reason
		}
		if err := s.cfg.Store.RecordImpressions(ctx, q.ConversationID, q.CustomerID, skus, src); err != nil {
			return nil, fmt.Errorf("recommender: record impressions: %w", err)
		}
	}
	return items, nil
}

// recheckStock drops products that sold out since the snapshot and refills from the ranking.
func (s *Service) recheckStock(ctx context.Context, st *state, q Query, items []Item, exclude map[string]bool) []Item {
	out := items[:0:0]
	dropped := false
	for _, it := range items {
		p, err := s.cfg.Store.ProductBySKU(ctx, it.SKU)
		if err == nil && (p.Stock <= 0 || !p.Active) {
			exclude[it.SKU] = true
			dropped = true
			continue
		}
		out = append(out, it)
	}
	if !dropped {
		return items
	}
	// Rank again without the sold-out products (rare: only after stock changed within CatalogTTL).
	return s.rank(st, q, nil, exclude)
}

// passes reports whether catalogue product i may be returned for q.
func passes(p *kb.Product, q *Query, exclude map[string]bool) bool {
	if !p.Active || exclude[p.SKU] {
		return false
	}
	if q.InStockOnly && p.Stock <= 0 {
		return false
	}
	if q.Category != "" && p.Category != q.Category {
		return false
	}
	if q.MinPrice > 0 && p.Price < q.MinPrice {
		return false
	}
	if q.MaxPrice > 0 && p.Price > q.MaxPrice {
		return false
	}
	return true
}

func (s *Service) scoreBuf(n int) *[]float32 {
	if b, ok := s.pool.Get().(*[]float32); ok && cap(*b) >= n {
		*b = (*b)[:n]
		clear(*b)
		return b
	}
	b := make([]float32, n)
	return &b
}

// rank scores every catalogue product for q and returns the top K that pass the filters.
func (s *Service) rank(st *state, q Query, history []string, exclude map[string]bool) []Item {
	m := st.model
	reason := ReasonPopular
	var scores []float32 // by model item
	var release func()
	var featSeed *kb.Product
	if m != nil {
		buf := s.scoreBuf(len(m.items))
		release = func() { s.pool.Put(buf) }
		scores = *buf
		seeded := false
		switch {
		case q.SimilarTo != "":
			reason = ReasonSimilar
			if i, ok := m.itemIdx[q.SimilarTo]; ok && m.nbrStart[i+1] > m.nbrStart[i] {
				m.accumulate(scores, i, 1)
				seeded = true
			} else {
				p := st.products[st.bySKU[q.SimilarTo]]
				featSeed = &p // no interactions: neighbours from its features
			}
		case q.CustomerID != "" || len(q.SessionItems) > 0:
			reason = ReasonPersonal
			boost := float32(1 + m.meta.Config.RecencyBoost)
			if u, ok := m.userIdx[q.CustomerID]; ok && q.CustomerID != "" {
				for k, i := range m.userItems[u] {
					m.accumulate(scores, i, m.userW[u][k])
					seeded = true
				}
			} else {
				for _, sku := range history {
					if i, ok := m.itemIdx[sku]; ok {
						m.accumulate(scores, i, 1)
						seeded = true
					}
				}
			}
			for _, sku := range q.SessionItems { // what the shopper looks at now weighs as most recent
				if i, ok := m.itemIdx[sku]; ok {
					m.accumulate(scores, i, boost)
					seeded = true
				}
			}
		}
		if !seeded && featSeed == nil {
			reason = ReasonPopular
		}
	}
	if release != nil {
		defer release()
	}
	if m == nil && q.SimilarTo != "" {
		reason = ReasonSimilar
		p := st.products[st.bySKU[q.SimilarTo]]
		featSeed = &p
	}
	h := topK{k: q.K}
	popW := float32(0.1)
	if m != nil && m.meta.Config.PopularityWeight > 0 {
		popW = float32(m.meta.Config.PopularityWeight)
	}
	for i := range st.products {
		p := &st.products[i]
		if !passes(p, &q, exclude) {
			continue
		}
		var sc float32
		r := reason
		switch {
		case featSeed != nil:
			sc = featureSimilarity(featSeed, p) + popW*st.pop[i]
		case reason != ReasonPopular:
			if j := st.modelOf[i]; j >= 0 {
				sc = scores[j]
			}
			if sc > 0 {
				sc += popW * st.pop[i]
			} else {
				// no signal from the seed: rank after every personal/similar match, by popularity
				r = ReasonPopular
				sc = -2 + st.pop[i]
			}
		default:
			sc = st.pop[i]
		}
		h.push(scored{idx: int32(i), score: sc, reason: r})
	}
	out := h.sorted()
	items := make([]Item, len(out))
	for k, c := range out {
		p := &st.products[c.idx]
		items[k] = Item{SKU: p.SKU, Score: math.Round(float64(c.score)*1e4) / 1e4, Reason: c.reason,
			Name: p.Name, Category: p.Category, Price: p.Price, Currency: p.Currency, InStock: p.Stock > 0}
	}
	return items
}

// featureSimilarity compares two products by their features: same category, then closeness of price
// bands. It is what a product without interactions gets its neighbours from.
func featureSimilarity(a, b *kb.Product) float32 {
	var s float32
	if a.Category != "" && a.Category == b.Category {
		s += 1
	}
	if a.Price > 0 && b.Price > 0 {
		// relative price distance on a log scale: 1 for the same price, 0 at a factor of e
		d := math.Abs(math.Log(a.Price / b.Price))
		s += float32(math.Max(0, 1-d)) * 0.5
	}
	return s
}

type scored struct {
	idx    int32
	score  float32
	reason string
}

// topK keeps the k best scored entries (a min-heap on score; ties broken by catalogue order).
type topK struct {
	k int
	h []scored
}

func (t *topK) less(a, b scored) bool { // a worse than b
	if a.score != b.score {
		return a.score < b.score
	}
	return a.idx > b.idx
}

func (t *topK) push(c scored) {
	if len(t.h) < t.k {
		t.h = append(t.h, c)
		for i := len(t.h) - 1; i > 0; {
			p := (i - 1) / 2
			if !t.less(t.h[i], t.h[p]) {
				break
			}
			t.h[i], t.h[p] = t.h[p], t.h[i]
			i = p
		}
		return
	}
	if !t.less(t.h[0], c) {
		return
	}
	t.h[0] = c
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(t.h) && t.less(t.h[l], t.h[m]) {
			m = l
		}
		if r < len(t.h) && t.less(t.h[r], t.h[m]) {
			m = r
		}
		if m == i {
			break
		}
		t.h[i], t.h[m] = t.h[m], t.h[i]
		i = m
	}
}

func (t *topK) sorted() []scored {
	out := append([]scored(nil), t.h...)
	sort.Slice(out, func(a, b int) bool { return t.less(out[b], out[a]) })
	return out
}
