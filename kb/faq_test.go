package kb_test

import (
	"context"
	"strings"
	"testing"

	"github.com/shopchat/shopchat/kb"
)

func TestSearchFAQ(t *testing.T) {
	ctx := context.Background()
	s := openDemo(t)
	tests := []struct {
		query   string
		wantKey string // the best hit; "" for no hits
	}{
		{"how long does delivery take", "delivery-times"},
		{"can I pay with paypal", "payment-methods"},
		{"I forgot my password", "password-reset"},
		{"how do I return something", "how-to-return"},
		{"warranty on boots", "warranty"},
		{"do you ship to switzerland", "delivery-countries"},
		{"delete my data gdpr", "delete-account"},
		{"the the and of", ""},
		{`"unbalanced AND (NEAR* OR`, ""},
		{"'); DROP TABLE faqs; --", ""},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			hits, err := s.SearchFAQ(ctx, tt.query, "en-IE", 3)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantKey == "" {
				if len(hits) > 0 && hits[0].Score > 5 {
					t.Fatalf("strong hit for noise: %+v", hits[0])
				}
				return
			}
			if len(hits) == 0 || hits[0].Key != tt.wantKey {
				t.Fatalf("hits %+v, want %s first", hits, tt.wantKey)
			}
			for i := 1; i < len(hits); i++ {
				if hits[i].Score > hits[i-1].Score {
					t.Fatalf("not sorted by score: %+v", hits)
				}
			}
			if hits[0].Score <= 0 || hits[0].Answer == "" {
				t.Fatalf("hit %+v", hits[0])
			}
		})
	}
	if hits, _ := s.SearchFAQ(ctx, "delivery", "de", 3); len(hits) != 0 {
		t.Fatalf("German has no FAQs, got %+v", hits)
	}
	// Disabled FAQs are not found.
	_, err := s.Import(ctx, kb.KindFAQs, kb.FormatCSV, "faqs.csv", strings.NewReader("key,question,answer,enabled\npassword-reset,I forgot my password,Use the link.,false\n"))
	if err != nil {
		t.Fatal(err)
	}
	hits, _ := s.SearchFAQ(ctx, "I forgot my password", "en", 3)
	for _, h := range hits {
		if h.Key == "password-reset" {
			t.Fatalf("disabled FAQ found: %+v", h)
		}
	}
}

func TestTemplateRender(t *testing.T) {
	order := kb.Order{Number: "A10001", Status: "shipped", Total: 49.9}
	tests := []struct {
		name    string
		text    string
		data    map[string]any
		want    string
		wantErr string
	}{
		{"nested maps", "Hi {customer.first_name}, order {order.number} is {order.status}.",
			map[string]any{"customer": map[string]any{"first_name": "Ada"}, "order": map[string]string{"number": "A1", "status": "shipped"}},
			"Hi Ada, order A1 is shipped.", ""},
		{"struct by json name", "{order.number}: {order.status}, {order.total}", map[string]any{"order": order}, "A10001: shipped, 49.90", ""},
		{"pointer struct", "{order.number}", map[string]any{"order": &order}, "A10001", ""},
		{"flat key", "{order.status}", map[string]any{"order.status": "on its way"}, "on its way", ""},
		{"list", "{recommendations}", map[string]any{"recommendations": []string{"Scarf", "Beanie"}}, "Scarf, Beanie", ""},
		{"escaped braces", "{{literal}} {order.number}", map[string]any{"order.number": "A1"}, "{literal} A1", ""},
		{"missing slot", "Hi {customer.first_name}, {order.number}", map[string]any{"order.number": "A1"}, "", "missing slot {customer.first_name}"},
		{"nil value", "{order.number}", map[string]any{"order.number": nil}, "", "missing slot"},
		{"zero time", "{order.placed_at}", map[string]any{"order": order}, "", "missing slot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := kb.Template{Intent: "x", Locale: "en", Text: tt.text}.Render(tt.data)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || got != "" {
					t.Fatalf("got %q, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestValidateTemplate(t *testing.T) {
	tests := []struct {
		text, wantErr string
	}{
		{"Order {order.number} is {order.status}.", ""},
		{"Order {order.nubmer}", "unknown slot {order.nubmer}"},
		{"Order {order.number", "unclosed"},
		{"Order order.number}", "unmatched"},
		{"Order {Order Number}", "bad slot name"},
		{"{{not a slot}}", ""},
	}
	for _, tt := range tests {
		err := kb.ValidateTemplate(kb.Template{Text: tt.text})
		if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%q: %v, want %q", tt.text, err, tt.wantErr)
		}
	}
}

func TestFindProducts(t *testing.T) {
	ctx := context.Background()
	s := openDemo(t)
	ps, err := s.FindProducts(ctx, "chelsea boots", 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) == 0 || !strings.Contains(ps[0].Name, "Chelsea Boots") || ps[0].Attributes["sizes"] == "" {
		t.Fatalf("chelsea boots: %+v", ps)
	}
	bySKU, err := s.FindProducts(ctx, strings.ToLower(ps[0].SKU), 5)
	if err != nil || len(bySKU) == 0 || bySKU[0].SKU != ps[0].SKU {
		t.Fatalf("by sku: %+v %v", bySKU, err)
	}
	p, err := s.ProductBySKU(ctx, ps[0].SKU)
	if err != nil || p.Price <= 0 || p.Currency != "EUR" {
		t.Fatalf("product %+v %v", p, err)
	}
	if ps, _ := s.FindProducts(ctx, "merino navy", 5); len(ps) == 0 {
		t.Fatal("merino navy found nothing")
	}
	if ps, _ := s.FindProducts(ctx, `"*) OR NEAR(`, 5); len(ps) != 0 {
		t.Fatalf("syntax noise found %+v", ps)
	}
}
