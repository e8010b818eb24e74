package kb_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopchat/shopchat/kb"
)

const testCustomers = `id,email,first_name,last_name,postcode,country
C1,ada@example.com,Ada,Lovelace,10115,DE
C2,bob@example.com,Bob,Builder,1012 AB,NL
`

const testOrders = `number,customer_id,status,email,placed_at,postcode,country,item_sku,item_name,item_quantity,item_unit_price,carrier,tracking_number,shipment_status,shipped_at,estimated_delivery
A10001,C1,shipped,ada@example.com,2026-11-01,10115,DE,SKU-1,Wool Scarf,1,49.90,DHL,JJD0001,in_transit,2026-11-02,2026-11-05
A10001,,,,,,,SKU-2,Beanie,2,25.00,,,,,
A10002,C2,delivered,bob@example.com,2026-10-01T10:00:00Z,1012 AB,NL,SKU-3,Mug Set,1,29.00,PostNL,3SABCD123,delivered,2026-10-02,2026-10-04
B-77,,pending,guest@example.org,2026-11-10,75001,FR,SKU-1,Wool Scarf,1,49.90,,,,,
`

// openOrders returns a store with two customers and three orders.
func openOrders(t testing.TB, cfg kb.Config) *kb.Store {
	t.Helper()
	ctx := context.Background()
	if cfg.Path == "" {
		cfg.Path = filepath.Join(t.TempDir(), "kb.db")
	}
	s, err := kb.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Import(ctx, kb.KindCustomers, kb.FormatCSV, "customers.csv", strings.NewReader(testCustomers)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(ctx, kb.KindOrders, kb.FormatCSV, "orders.csv", strings.NewReader(testOrders)); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLookupOrderVerification(t *testing.T) {
	ctx := context.Background()
	s := openOrders(t, kb.Config{LookupMaxFailures: 100})
	tests := []struct {
		name string
		q    kb.OrderQuery
		want string // order number, "" for ErrNotFound
	}{
		{"owner by customer id", kb.OrderQuery{Number: "A10001", CustomerID: "C1"}, "A10001"},
		{"email match, sloppy number", kb.OrderQuery{Number: "#a-10001", Email: " ADA@example.com "}, "A10001"},
		{"postcode match", kb.OrderQuery{Number: "A10002", Postcode: "1012ab"}, "A10002"},
		{"digits only", kb.OrderQuery{Number: "10002", Email: "bob@example.com"}, "A10002"},
		{"guest order by email", kb.OrderQuery{Number: "b77", Email: "guest@example.org"}, "B-77"},
		{"another customer's order", kb.OrderQuery{Number: "A10002", CustomerID: "C1"}, ""},
		{"wrong email", kb.OrderQuery{Number: "A10001", Email: "bob@example.com"}, ""},
		{"wrong postcode", kb.OrderQuery{Number: "A10001", Postcode: "1012 AB"}, ""},
		{"no verification", kb.OrderQuery{Number: "A10001"}, ""},
		{"unknown number", kb.OrderQuery{Number: "A99999", Email: "ada@example.com"}, ""},
		{"empty number", kb.OrderQuery{Email: "ada@example.com"}, ""},
		{"sql in number", kb.OrderQuery{Number: "A10001' OR '1'='1", Email: "x"}, ""},
		{"guest order, customer id cannot match", kb.OrderQuery{Number: "B-77", CustomerID: ""}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.q.Requester = tt.name
			o, err := s.LookupOrder(ctx, tt.q)
			if tt.want == "" {
				if !errors.Is(err, kb.ErrNotFound) || o.Number != "" {
					t.Fatalf("got %+v, %v; want ErrNotFound and nothing disclosed", o, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.Number != tt.want {
				t.Fatalf("got order %s, want %s", o.Number, tt.want)
			}
		})
	}
	o, err := s.LookupOrder(ctx, kb.OrderQuery{Number: "A10001", CustomerID: "C1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Items) != 2 || o.Items[1].Quantity != 2 || o.Total != 99.9 || len(o.Shipments) != 1 ||
		o.Shipments[0].TrackingNumber != "JJD0001" || o.Shipments[0].EstimatedDelivery.Day() != 5 {
		t.Fatalf("order details %+v", o)
	}
}

func TestLookupOrderLimitsFailures(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	s := openOrders(t, kb.Config{LookupMaxFailures: 3, LookupWindow: 10 * time.Minute, Now: func() time.Time { return now }})
	for i := 0; i < 3; i++ {
		_, err := s.LookupOrder(ctx, kb.OrderQuery{Number: fmt.Sprintf("A2000%d", i), Email: "x@example.com", Requester: "conv-1"})
		if !errors.Is(err, kb.ErrNotFound) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	// Even the right answer is refused while the requester is blocked.
	if _, err := s.LookupOrder(ctx, kb.OrderQuery{Number: "A10001", Email: "ada@example.com", Requester: "conv-1"}); !errors.Is(err, kb.ErrTooManyAttempts) {
		t.Fatalf("blocked requester: %v", err)
	}
	// Another requester is not affected...
	if _, err := s.LookupOrder(ctx, kb.OrderQuery{Number: "A10001", Email: "ada@example.com", Requester: "conv-2"}); err != nil {
		t.Fatalf("other requester: %v", err)
	}
	// ...but guessing one order's email from many requesters is limited per order too.
	for i := 0; i < 3; i++ {
		s.LookupOrder(ctx, kb.OrderQuery{Number: "A10002", Email: "guess@example.com", Requester: fmt.Sprintf("bot-%d", i)})
	}
	if _, err := s.LookupOrder(ctx, kb.OrderQuery{Number: "A10002", Email: "bob@example.com", Requester: "fresh"}); !errors.Is(err, kb.ErrTooManyAttempts) {
		t.Fatalf("order under attack: %v", err)
	}
	now = now.Add(11 * time.Minute)
	if _, err := s.LookupOrder(ctx, kb.OrderQuery{Number: "A10001", Email: "ada@example.com", Requester: "conv-1"}); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestRecentOrdersAndPurchases(t *testing.T) {
	ctx := context.Background()
	s := openOrders(t, kb.Config{})
	os, err := s.RecentOrders(ctx, "C1", 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(os) != 1 || os[0].Number != "A10001" || len(os[0].Items) != 2 {
		t.Fatalf("recent %+v", os)
	}
	if os, _ := s.RecentOrders(ctx, "", 5); len(os) != 0 {
		t.Fatalf("anonymous got %+v", os)
	}
	skus, err := s.PurchasedSKUs(ctx, "C1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(skus, ",") != "SKU-1,SKU-2" {
		t.Fatalf("purchased %v", skus)
	}
	if err := s.RecordImpressions(ctx, "conv-1", "C1", []string{"SKU-9", "SKU-8", "SKU-9"}, "recommend"); err != nil {
		t.Fatal(err)
	}
	shown, err := s.ShownSKUs(ctx, "conv-1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(shown, ",") != "SKU-9,SKU-8" {
		t.Fatalf("shown %v", shown)
	}
	if err := s.RecordInteraction(ctx, kb.Interaction{CustomerID: "C2", SKU: "SKU-1", Kind: kb.InteractionView}); err != nil {
		t.Fatal(err)
	}
	in, err := s.Interactions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// 3 purchases from A10001 (2 lines) and A10002 (1 line); the guest order is not anyone's; 1 view.
	if len(in) != 4 {
		t.Fatalf("interactions %+v", in)
	}
}
