package kb_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/shopchat/shopchat/kb"
)

// demoIntents are the demo shop's intent names from CONTRACTS.md.
var demoIntents = strings.Fields(`order_status track_order cancel_order change_order change_address delivery_options
shipping_cost return_item refund_status refund_policy exchange_item damaged_item wrong_item payment_methods
payment_failed invoice discount_code account_login password_reset delete_account newsletter product_availability
size_fit product_details warranty store_hours_contact complaint compliment recommend_products similar_products
talk_to_human greeting goodbye thanks affirm deny oos`)

// openDemo returns a fresh store with the demo shop loaded.
func openDemo(t testing.TB) *kb.Store {
	t.Helper()
	s := openTest(t)
	if err := kb.LoadDemo(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLoadDemo(t *testing.T) {
	ctx := context.Background()
	s := openDemo(t)
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Products < 300 || st.Categories < 8 || st.Customers != 100 || st.Orders != 500 || st.FAQs != 40 {
		t.Fatalf("stats %+v", st)
	}
	for _, status := range kb.OrderStatuses {
		if st.OrdersByStatus[status] == 0 {
			t.Errorf("no demo order is %s", status)
		}
	}
	for _, intent := range demoIntents {
		tp, err := s.AnswerTemplate(ctx, intent, "en-IE")
		if err != nil {
			t.Errorf("intent %s: %v", intent, err)
			continue
		}
		if err := kb.ValidateTemplate(tp); err != nil {
			t.Errorf("intent %s: %v", intent, err)
		}
	}
	ps, err := s.ListProducts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps[:50] {
		if p.Attributes["colour"] == "" || p.Attributes["material"] == "" {
			t.Fatalf("product %s lacks colour or material: %v", p.SKU, p.Attributes)
		}
	}
	in, err := s.Interactions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, i := range in {
		kinds[i.Kind]++
	}
	if kinds["view"] == 0 || kinds["cart"] == 0 || kinds["purchase"] == 0 {
		t.Fatalf("interaction kinds %v", kinds)
	}
	// A second call leaves the shop alone.
	if err := kb.LoadDemo(ctx, s); err != nil {
		t.Fatal(err)
	}
	st2, _ := s.Stats(ctx)
	if st2.Interactions != st.Interactions || st2.Orders != st.Orders {
		t.Fatalf("second LoadDemo changed the shop: %+v", st2)
	}
	if _, err := s.AnswerTemplate(ctx, "no_such_intent", "en"); !errors.Is(err, kb.ErrNotFound) {
		t.Fatalf("unknown intent: %v", err)
	}
}
