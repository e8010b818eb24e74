package kb_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/shopchat/shopchat/kb"
)

func TestImportReportsEveryBadRow(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		kind   kb.Kind
		format kb.Format
		data   string
		want   []string // substrings of the error, each "file:line: reason"
	}{
		{"products csv", kb.KindProducts, kb.FormatCSV,
			"sku,name,category,price,stock,attr.colour\n" +
				"P1,Scarf,Accessories,49.90,10,red\n" +
				"P2,,Accessories,12,1,blue\n" +
				"P3,Hat,Accessories,cheap,1,\n" +
				"P1,Scarf again,Accessories,1,1,\n" +
				"P4,Belt,Accessories,1\n" +
				"P5,Bad \xff byte,Accessories,1,1,\n",
			[]string{"f:3: name: required", "f:4: price:", "f:5: sku \"P1\" appears again (first at line 2)",
				"f:6: has 4 fields, the header has 6", "f:7: name: not valid UTF-8"}},
		{"unknown and missing columns", kb.KindProducts, kb.FormatCSV, "sku,name,colour\nP1,Scarf,red\n",
			[]string{`f:1: header: unknown column "colour"`, `f:1: header: required column "category" is missing`, `required column "price"`}},
		{"huge field", kb.KindFAQs, kb.FormatCSV, "key,question,answer\nk1,Q?," + strings.Repeat("a", 9000) + "\n",
			[]string{"f:2: answer: 9000 bytes, the limit is 8192"}},
		{"orders json", kb.KindOrders, kb.FormatJSON, `[
  {"number": "A1", "status": "shipped", "email": "a@example.com", "placed_at": "2026-01-02T00:00:00Z",
   "items": [{"sku": "S", "name": "n", "quantity": 1, "unit_price": 2}]},
  {"number": "A2", "status": "lost", "email": "not-an-email", "placed_at": "2026-01-02T00:00:00Z", "items": []},
  {"number": "A3", "colour": "red"}
]`, []string{`f:4: status: "lost"`, `f:4: email: "not-an-email"`, "f:4: order A2 has no items", "f:5: unknown field(s) colour"}},
		{"malformed json", kb.KindFAQs, kb.FormatJSON, "[\n{\"key\": \"a\",\n\"question\": }\n]", []string{"f:3: malformed JSON"}},
		{"faqs yaml", kb.KindFAQs, kb.FormatYAML, "- key: a\n  question: Q?\n  answer: A.\n- key: b\n  question: ''\n  answer: A.\n- key: c\n  answr: typo\n",
			[]string{"f:4: question: required", "f:7: unknown field(s) answr"}},
		{"answers with bad slots", kb.KindAnswers, kb.FormatCSV, "intent,text\norder_status,Order {order.number} is {order.stauts}\ngreeting,Hi {customer.first_name\n",
			[]string{"f:2: template order_status: unknown slot {order.stauts}", "f:3: template greeting: unclosed"}},
		{"orders for unknown customer", kb.KindOrders, kb.FormatCSV,
			"number,customer_id,status,email,placed_at,item_sku,item_quantity\nA1,C404,paid,a@example.com,2026-01-01,S,1\n",
			[]string{`f:2: customer_id "C404": no such customer`}},
		{"utf-16", kb.KindProducts, kb.FormatCSV, "\xff\xfes\x00k\x00u\x00", []string{"UTF-16"}},
		{"empty", kb.KindAnswers, kb.FormatCSV, "", []string{"f:1: empty file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTest(t)
			_, err := s.Import(ctx, tt.kind, tt.format, "f", strings.NewReader(tt.data))
			var ie *kb.ImportError
			if !errors.As(err, &ie) || !errors.Is(err, kb.ErrInvalid) {
				t.Fatalf("err = %v, want *ImportError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			st, _ := s.Stats(ctx)
			if st.Products+st.Orders+st.FAQs+st.Templates+st.Customers != 0 {
				t.Fatalf("a rejected import changed the store: %+v", st)
			}
		})
	}
}

func TestImportIdempotentAndRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := openDemo(t)
	for _, kind := range kb.Kinds {
		for _, format := range []kb.Format{kb.FormatCSV, kb.FormatJSON, kb.FormatYAML} {
			t.Run(string(kind)+"/"+string(format), func(t *testing.T) {
				var first bytes.Buffer
				if err := src.Export(ctx, kind, format, &first); err != nil {
					t.Fatal(err)
				}
				dst := openTest(t)
				if kind == kb.KindOrders { // orders need their customers
					var cs bytes.Buffer
					src.Export(ctx, kb.KindCustomers, kb.FormatCSV, &cs)
					if _, err := dst.Import(ctx, kb.KindCustomers, kb.FormatCSV, "c.csv", &cs); err != nil {
						t.Fatal(err)
					}
				}
				rep, err := dst.Import(ctx, kind, format, "export."+string(format), bytes.NewReader(first.Bytes()))
				if err != nil {
					t.Fatal(err)
				}
				if rep.Created == 0 || rep.Updated != 0 {
					t.Fatalf("first import %+v", rep)
				}
				rep2, err := dst.Import(ctx, kind, format, "export."+string(format), bytes.NewReader(first.Bytes()))
				if err != nil {
					t.Fatal(err)
				}
				if rep2.Created != 0 || rep2.Updated != rep.Created {
					t.Fatalf("re-import %+v after %+v", rep2, rep)
				}
				var second bytes.Buffer
				if err := dst.Export(ctx, kind, format, &second); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(first.Bytes(), second.Bytes()) {
					t.Fatalf("export -> import -> export differs (%d vs %d bytes)", first.Len(), second.Len())
				}
			})
		}
	}
}

func TestImportSQLLookingText(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	evil := `Robert'); DROP TABLE products; --`
	data := "sku,name,category,price,description\n\"P'1\",\"" + evil + "\",\"x\"\"; DELETE FROM faqs;\",1,\"" + evil + "\"\n"
	if _, err := s.Import(ctx, kb.KindProducts, kb.FormatCSV, "p.csv", strings.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	p, err := s.ProductBySKU(ctx, "P'1")
	if err != nil || p.Name != evil || p.Category != `x"; DELETE FROM faqs;` {
		t.Fatalf("got %+v, %v", p, err)
	}
	if ps, err := s.FindProducts(ctx, evil, 5); err != nil || len(ps) != 1 {
		t.Fatalf("find: %+v, %v", ps, err)
	}
}
