package recommender

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/shopchat/shopchat/kb"
)

type demo struct {
	store *kb.Store
	model *Model
	svc   *Service
	prod  map[string]kb.Product
}

// openDemo loads the demo shop into a fresh database, trains on it with TrainFromKB and starts a service.
func openDemo(t testing.TB) *demo {
	t.Helper()
	ctx := context.Background()
	s, err := kb.Open(ctx, kb.Config{Path: filepath.Join(t.TempDir(), "kb.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := kb.LoadDemo(ctx, s); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "model")
	if err := TrainFromKB(ctx, s, dir, 1, nil); err != nil {
		t.Fatal(err)
	}
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := NewService(ServiceConfig{Store: s, Model: m, APIKeys: []string{"test-key"}})
	if err != nil {
		t.Fatal(err)
	}
	ps, _ := s.ListProducts(ctx)
	prod := map[string]kb.Product{}
	for _, p := range ps {
		prod[p.SKU] = p
	}
	return &demo{store: s, model: m, svc: svc, prod: prod}
}

// buyer returns a demo customer with purchases that the model knows.
func (d *demo) buyer(t testing.TB) (string, []string) {
	for _, u := range d.model.users {
		bought, err := d.store.PurchasedSKUs(context.Background(), u)
		if err == nil && len(bought) >= 2 {
			return u, bought
		}
	}
	t.Fatal("no demo customer with purchases")
	return "", nil
}

func TestRecommendDemoShop(t *testing.T) {
	ctx := context.Background()
	d := openDemo(t)
	cust, bought := d.buyer(t)
	isBought := map[string]bool{}
	for _, b := range bought {
		isBought[b] = true
	}
	var soldOut, anyActive kb.Product
	for _, p := range d.prod {
		if p.Stock <= 0 && p.Active {
			soldOut = p
		}
		if p.Active && p.Stock > 0 {
			anyActive = p
		}
	}
	tests := []struct {
		name   string
		q      Query
		reason string
		check  func(t *testing.T, it Item)
	}{
		{"personal", Query{CustomerID: cust, InStockOnly: true, K: 8}, ReasonPersonal, func(t *testing.T, it Item) {
			if isBought[it.SKU] {
				t.Errorf("recommended %s, already bought", it.SKU)
			}
		}},
		{"similar", Query{SimilarTo: anyActive.SKU, K: 5}, ReasonSimilar, func(t *testing.T, it Item) {
			if it.SKU == anyActive.SKU {
				t.Error("similar_to returned the product itself")
			}
		}},
		{"session", Query{SessionItems: []string{anyActive.SKU}, K: 5}, ReasonPersonal, nil},
		{"popular in category under a price", Query{Category: anyActive.Category, MaxPrice: anyActive.Price + 1, InStockOnly: true, K: 5}, ReasonPopular,
			func(t *testing.T, it Item) {
				p := d.prod[it.SKU]
				if p.Category != anyActive.Category || p.Price > anyActive.Price+1 || p.Stock <= 0 {
					t.Errorf("%s violates the filters: %+v", it.SKU, p)
				}
			}},
		{"excluded", Query{Exclude: []string{soldOut.SKU}, K: 100}, ReasonPopular, func(t *testing.T, it Item) {
			if it.SKU == soldOut.SKU {
				t.Error("returned an excluded product")
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, err := d.svc.Recommend(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if len(items) == 0 || len(items) > tc.q.K {
				t.Fatalf("%d items for k=%d", len(items), tc.q.K)
			}
			if items[0].Reason != tc.reason {
				t.Errorf("first reason %q, want %q", items[0].Reason, tc.reason)
			}
			seen := map[string]bool{}
			for i, it := range items {
				if seen[it.SKU] {
					t.Errorf("duplicate %s", it.SKU)
				}
				seen[it.SKU] = true
				if i > 0 && it.Reason == items[i-1].Reason && it.Score > items[i-1].Score {
					t.Errorf("not sorted at %d", i)
				}
				if !d.prod[it.SKU].Active {
					t.Errorf("inactive %s", it.SKU)
				}
				if tc.q.InStockOnly && d.prod[it.SKU].Stock <= 0 {
					t.Errorf("sold out %s", it.SKU)
				}
				if tc.check != nil {
					tc.check(t, it)
				}
			}
		})
	}
}

func TestRecommendImpressionsNeverRepeat(t *testing.T) {
	ctx := context.Background()
	d := openDemo(t)
	cust, _ := d.buyer(t)
	conv, err := d.store.CreateConversation(ctx, kb.Conversation{CustomerID: cust})
	if err != nil {
		t.Skipf("cannot create a conversation in this kb build: %v", err)
	}
	seen := map[string]bool{}
	for round := 0; round < 3; round++ {
		items, err := d.svc.Recommend(ctx, Query{CustomerID: cust, ConversationID: conv.ID, InStockOnly: true, K: 4})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if seen[it.SKU] {
				t.Fatalf("round %d repeated %s", round, it.SKU)
			}
			seen[it.SKU] = true
		}
	}
	shown, err := d.store.ShownSKUs(ctx, conv.ID)
	if err != nil || len(shown) != len(seen) {
		t.Fatalf("impressions recorded: %v (%v), want %d", shown, err, len(seen))
	}
}

func TestRecommendErrors(t *testing.T) {
	ctx := context.Background()
	d := openDemo(t)
	tests := []struct {
		name string
		q    Query
		want error
	}{
		{"unknown customer", Query{CustomerID: "nobody"}, ErrUnknownCustomer},
		{"unknown similar", Query{SimilarTo: "NOPE"}, ErrUnknownProduct},
		{"unknown session item", Query{SessionItems: []string{"NOPE"}}, ErrUnknownProduct},
		{"unknown category", Query{Category: "Spaceships"}, ErrUnknownCategory},
		{"k negative", Query{K: -1}, ErrBadQuery},
		{"k huge", Query{K: 1 << 30}, ErrBadQuery},
		{"price range", Query{MinPrice: 50, MaxPrice: 10}, ErrBadQuery},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := d.svc.Recommend(ctx, tc.q); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// soldOutStore reports one product as sold out on live lookups while the snapshot still has it in stock.
type soldOutStore struct {
	*kb.Store
	sku string
}

func (s soldOutStore) ProductBySKU(ctx context.Context, sku string) (kb.Product, error) {
	p, err := s.Store.ProductBySKU(ctx, sku)
	if sku == s.sku {
		p.Stock = 0
	}
	return p, err
}

func TestRecommendRechecksStock(t *testing.T) {
	ctx := context.Background()
	d := openDemo(t)
	items, err := d.svc.Recommend(ctx, Query{InStockOnly: true, K: 3})
	if err != nil || len(items) == 0 {
		t.Fatal(err)
	}
	top := items[0].SKU
	svc, err := NewService(ServiceConfig{Store: soldOutStore{d.store, top}, Model: d.model})
	if err != nil {
		t.Fatal(err)
	}
	again, err := svc.Recommend(ctx, Query{InStockOnly: true, K: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range again {
		if it.SKU == top {
			t.Fatalf("returned %s, sold out since the snapshot", top)
		}
	}
	if len(again) != 3 {
		t.Fatalf("got %d items after the refill, want 3", len(again))
	}
}

func TestFallbackAndSwapUnderLoad(t *testing.T) {
	ctx := context.Background()
	d := openDemo(t)
	svc, err := NewService(ServiceConfig{Store: d.store})
	if err != nil {
		t.Fatal(err)
	}
	items, err := svc.Recommend(ctx, Query{K: 5, InStockOnly: true})
	if err != nil || len(items) != 5 || items[0].Reason != ReasonPopular {
		t.Fatalf("fallback: %v %v", items, err)
	}
	cust, _ := d.buyer(t)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if _, err := svc.Recommend(ctx, Query{CustomerID: cust, K: 5}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := 0; i < 5; i++ {
		svc.Swap(d.model)
		svc.Swap(nil)
	}
	svc.Swap(d.model)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	items, err = svc.Recommend(ctx, Query{CustomerID: cust, K: 5})
	if err != nil || items[0].Reason != ReasonPersonal {
		t.Fatalf("after swap: %v %v", items, err)
	}
}

// TestSimilarColdProduct: a product nobody interacted with gets neighbours from its features (same
// category, close price).
func TestSimilarColdProduct(t *testing.T) {
	ctx := context.Background()
	d := openDemo(t)
	cold := ""
	for sku, p := range d.prod {
		i, ok := d.model.itemIdx[sku]
		if p.Active && (!ok || d.model.nbrStart[i] == d.model.nbrStart[i+1]) {
			cold = sku
			break
		}
	}
	if cold == "" {
		// Every demo product has interactions: make one up by serving a model that lacks it.
		for sku := range d.prod {
			cold = sku
			break
		}
		m2 := *d.model
		m2.itemIdx = map[string]int32{}
		for k, v := range d.model.itemIdx {
			if k != cold {
				m2.itemIdx[k] = v
			}
		}
		d.svc.Swap(&m2)
	}
	items, err := d.svc.Recommend(ctx, Query{SimilarTo: cold, K: 3, InStockOnly: true})
	if err != nil || len(items) == 0 {
		t.Fatalf("%v %v", items, err)
	}
	for _, it := range items {
		if it.Category != d.prod[cold].Category || it.Reason != ReasonSimilar {
			t.Errorf("cold %s (%s): got %+v", cold, d.prod[cold].Category, it)
		}
	}
}
