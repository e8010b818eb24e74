package kb

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
)

// pgWithDemo returns the demo shop in SQLite and the same catalogue copied to PostgreSQL (two nodes).
func pgWithDemo(t *testing.T) (*Store, []*PGStore) {
	t.Helper()
	nodes := openTestPG(t, 2)
	ctx := context.Background()
	src, err := Open(ctx, Config{Path: filepath.Join(t.TempDir(), "kb.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	if err := LoadDemo(ctx, src); err != nil {
		t.Fatal(err)
	}
	if empty, err := nodes[0].CatalogEmpty(ctx); err != nil || !empty {
		t.Fatalf("fresh catalogue empty: %v %v", empty, err)
	}
	n, err := nodes[0].CopyCatalogFrom(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if n.Products == 0 || n.Orders == 0 || n.FAQs == 0 || n.Templates == 0 || n.Customers == 0 {
		t.Fatalf("copied %+v", n)
	}
	// Copying again replaces, it does not duplicate.
	if n2, err := nodes[1].CopyCatalogFrom(ctx, src); err != nil || n2 != n {
		t.Fatalf("second copy: %+v %v", n2, err)
	}
	return src, nodes
}

func TestPGCatalogMirrorsSQLite(t *testing.T) {
	src, nodes := pgWithDemo(t)
	pg := nodes[1]
	ctx := context.Background()
	sp, _ := src.ListProducts(ctx)
	pp, err := pg.ListProducts(ctx)
	if err != nil || !reflect.DeepEqual(sp, pp) {
		t.Fatalf("products differ (%v)", err)
	}
	orders, _ := src.queryOrders(ctx, `SELECT `+orderColumns+` FROM orders ORDER BY placed_at LIMIT 3`)
	for _, o := range orders {
		want, err := src.RecentOrders(ctx, o.CustomerID, 5)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pg.RecentOrders(ctx, o.CustomerID, 5)
		if err != nil || !reflect.DeepEqual(want, got) {
			t.Fatalf("recent orders of %s differ:\n%+v\n%+v\n%v", o.CustomerID, want, got, err)
		}
		wc, _ := src.Customer(ctx, o.CustomerID)
		if gc, err := pg.Customer(ctx, o.CustomerID); err != nil || !reflect.DeepEqual(wc, gc) {
			t.Fatalf("customer differs: %+v %+v %v", wc, gc, err)
		}
		for _, q := range []OrderQuery{
			{Number: "#" + o.Number, Email: o.Email, Requester: "r1"},
			{Number: o.Number[1:], Postcode: o.Postcode + " ", Requester: "r1"},
			{Number: o.Number, CustomerID: o.CustomerID, Requester: "r1"},
		} {
			want, werr := src.LookupOrder(ctx, q)
			got, gerr := pg.LookupOrder(ctx, q)
			if werr != nil || gerr != nil || !reflect.DeepEqual(want, got) {
				t.Fatalf("lookup %+v: sqlite %v, postgres %v\n%+v\n%+v", q, werr, gerr, want, got)
			}
		}
		// Unverified: the same answer as unknown.
		if _, err := pg.LookupOrder(ctx, OrderQuery{Number: o.Number, Email: "someone@else.test", Requester: "r2"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unverified lookup: %v", err)
		}
	}
	if _, err := pg.Customer(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown customer: %v", err)
	}
	for _, intent := range []string{"order_status", "refund_policy", "greeting"} {
		want, werr := src.AnswerTemplate(ctx, intent, "en-GB")
		got, gerr := pg.AnswerTemplate(ctx, intent, "en-GB")
		if (werr == nil) != (gerr == nil) || !reflect.DeepEqual(want, got) {
			t.Fatalf("template %s: %+v %v / %+v %v", intent, want, werr, got, gerr)
		}
	}
	if _, err := pg.AnswerTemplate(ctx, "no_such_intent", "en"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown template: %v", err)
	}
	for _, q := range []struct{ text, wantQuestion string }{
		{"how can I track my parcel", "How can I track my parcel?"},
		{"which countries do you ship to?", "Which countries do you ship to?"},
		{"shipping cost", "How much does shipping cost?"},
	} {
		hits, err := pg.SearchFAQ(ctx, q.text, "en", 3)
		if err != nil || len(hits) == 0 || hits[0].Question != q.wantQuestion || hits[0].Score <= 0 {
			t.Fatalf("faq %q: %+v %v", q.text, hits, err)
		}
	}
	if hits, err := pg.SearchFAQ(ctx, "the and of", "en", 3); err != nil || hits != nil {
		t.Fatalf("only stop words: %+v %v", hits, err)
	}
	if hits, err := pg.SearchFAQ(ctx, `parcel' | !( & :* "`, "en", 3); err != nil || len(hits) == 0 {
		t.Fatalf("query syntax in the text must be harmless: %+v %v", hits, err)
	}
	if ps, err := pg.FindProducts(ctx, "wool overcoat", 5); err != nil || len(ps) == 0 {
		t.Fatalf("find products: %+v %v", ps, err)
	}
	if ps, err := pg.FindProducts(ctx, sp[0].SKU, 5); err != nil || len(ps) == 0 || ps[0].SKU != sp[0].SKU && sp[0].Active {
		t.Fatalf("find by sku: %+v %v", ps, err)
	}
}

func TestPGLookupFailuresCountedAcrossNodes(t *testing.T) {
	_, nodes := pgWithDemo(t)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if _, err := nodes[i%2].LookupOrder(ctx, OrderQuery{Number: "A99999", Email: "x@y.z", Requester: "conv-guesser"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	for _, n := range nodes {
		if _, err := n.LookupOrder(ctx, OrderQuery{Number: "A10001", Email: "ben.vandenberg@example.net", Requester: "conv-guesser"}); !errors.Is(err, ErrTooManyAttempts) {
			t.Fatalf("sixth attempt, on either node: %v", err)
		}
	}
	if _, err := nodes[0].LookupOrder(ctx, OrderQuery{Number: "A10001", Email: "ben.vandenberg@example.net", Requester: "someone-else"}); err != nil {
		t.Fatalf("another requester: %v", err)
	}
}

func FuzzPGTerms(f *testing.F) {
	for _, s := range []string{"where is my order #A-10023?", `a | b & !c:* "d"`, "Größe 42 ünd Ärmel", "''''", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, w := range pgTerms(s, 32) {
			for _, r := range w {
				if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r > 127) {
					t.Fatalf("term %q of %q has %q", w, s, r)
				}
			}
		}
	})
}

func TestPGImpressionsAndPurchases(t *testing.T) {
	src, nodes := pgWithDemo(t)
	ctx := context.Background()
	orders, _ := src.queryOrders(ctx, `SELECT `+orderColumns+` FROM orders WHERE customer_id <> '' ORDER BY placed_at LIMIT 5`)
	for _, o := range orders {
		want, _ := src.PurchasedSKUs(ctx, o.CustomerID)
		got, err := nodes[0].PurchasedSKUs(ctx, o.CustomerID)
		if err != nil || !reflect.DeepEqual(want, got) {
			t.Fatalf("purchased by %s: %v / %v %v", o.CustomerID, want, got, err)
		}
	}
	if err := nodes[0].RecordImpressions(ctx, "c1", "", []string{"B", "A"}, "recommend"); err != nil {
		t.Fatal(err)
	}
	if err := nodes[1].RecordImpressions(ctx, "c1", "", []string{"A", "C"}, "similar"); err != nil {
		t.Fatal(err)
	}
	if got, err := nodes[1].ShownSKUs(ctx, "c1"); err != nil || !reflect.DeepEqual(got, []string{"B", "A", "C"}) {
		t.Fatalf("shown on the other node: %v %v", got, err)
	}
	if err := nodes[0].RecordImpressions(ctx, "", "", []string{"A"}, ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty conversation: %v", err)
	}
}

// TestPGFAQScoreScale checks PGFAQMinScore against the demo shop: most ways of asking an FAQ pass it,
// unrelated questions do not.
func TestPGFAQScoreScale(t *testing.T) {
	src, nodes := pgWithDemo(t)
	ctx := context.Background()
	faqs, _ := src.ListFAQs(ctx)
	pass, total := 0, 0
	for _, f := range faqs {
		for _, q := range append([]string{f.Question}, f.Variants...) {
			total++
			if h, _ := nodes[0].SearchFAQ(ctx, q, "en", 1); len(h) > 0 && h[0].Score >= PGFAQMinScore {
				pass++
			}
		}
	}
	if float64(pass) < 0.8*float64(total) {
		t.Fatalf("only %d of %d FAQ phrasings reach PGFAQMinScore", pass, total)
	}
	for _, q := range []string{"I want a blue jacket", "do you sell bikes", "I need help", "is the shop open on sunday", "the zipper broke", "tell me a joke"} {
		if h, _ := nodes[0].SearchFAQ(ctx, q, "en", 1); len(h) > 0 && h[0].Score >= PGFAQMinScore {
			t.Errorf("%q scores %.2f on %q", q, h[0].Score, h[0].Question)
		}
	}
	t.Logf("%d of %d FAQ phrasings reach %.1f", pass, total, PGFAQMinScore)
}
