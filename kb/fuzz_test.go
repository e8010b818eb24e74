package kb

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// Fuzz targets for every parser of outside input: the import files in each format and kind, the
// template syntax, the FAQ query builder and order-number normalisation. They must never panic, and
// what they accept must satisfy the documented limits.

func fuzzImport(f *testing.F, format Format, seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		for _, kind := range Kinds {
			e := &errs{file: "fuzz"}
			var n int
			switch kind {
			case KindProducts:
				rows := parseProducts(e, []byte(data), format)
				n = len(rows)
				if len(e.list) == 0 {
					for _, r := range rows {
						if r.v.SKU == "" || !utf8.ValidString(r.v.Name) || len(r.v.Description) > maxLongText {
							t.Fatalf("accepted a bad product %+v", r.v)
						}
					}
				}
			case KindCustomers:
				n = len(parseCustomers(e, []byte(data), format))
			case KindOrders:
				rows := parseOrders(e, []byte(data), format)
				n = len(rows)
				if len(e.list) == 0 {
					for _, r := range rows {
						if len(r.v.Items) == 0 || !validStatus(r.v.Status) {
							t.Fatalf("accepted a bad order %+v", r.v)
						}
					}
				}
			case KindFAQs:
				n = len(parseFAQs(e, []byte(data), format))
			case KindAnswers:
				rows := parseAnswers(e, []byte(data), format)
				n = len(rows)
				if len(e.list) == 0 {
					for _, r := range rows {
						if err := ValidateTemplate(r.v); err != nil {
							t.Fatalf("accepted a bad template %q: %v", r.v.Text, err)
						}
					}
				}
			}
			for _, re := range e.list {
				if re.Line < 0 || re.Reason == "" {
					t.Fatalf("bad row error %+v", re)
				}
			}
			_ = n
		}
	})
}

func FuzzImportCSV(f *testing.F) {
	fuzzImport(f, FormatCSV,
		"sku,name,category,price,attr.colour\nP1,Scarf,Accessories,49.90,red\n",
		"id,email\nC1,a@example.com\n",
		"number,status,email,placed_at,item_sku,item_quantity,tracking_number\nA1,paid,a@example.com,2026-01-01,S,1,T1\nA1,,,,S2,2,\n",
		"key,question,answer,variants,tags\nk,Q?,A.,a | b,x,y\n",
		"intent,text\norder_status,Order {order.number} is {order.status}\n",
		"sku,name\n\"unterminated,x\n", "\xef\xbb\xbfsku,name,category,price\nP,N,C,1\n", "")
}

func FuzzImportJSON(f *testing.F) {
	fuzzImport(f, FormatJSON,
		`[{"sku":"P1","name":"Scarf","category":"A","price":1,"attributes":{"colour":"red"}}]`,
		`{"orders":[{"number":"A1","status":"paid","email":"a@example.com","placed_at":"2026-01-01T00:00:00Z","items":[{"sku":"S","quantity":1}]}]}`,
		`[{"key":"k","question":"Q","answer":"A","variants":["x"]}]`, `[{"intent":"greeting","text":"Hi {customer.first_name}"}]`,
		`[1, "x", null]`, `{"products": 5}`, `[`, ``)
}

func FuzzImportYAML(f *testing.F) {
	fuzzImport(f, FormatYAML,
		"- sku: P1\n  name: Scarf\n  category: A\n  price: 1\n",
		"faqs:\n  - key: k\n    question: Q?\n    answer: A.\n",
		"- intent: greeting\n  text: \"Hi {customer.first_name}\"\n",
		"a: &a [*a]\n", "- [1, 2]\n", "!!binary x", "")
}

func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"Order {order.number} is {order.status}.", "{{x}}", "{", "}", "{order.}", "{a.b.c}", "{ customer.first_name }"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		slots, err := parseTemplate(text)
		data := map[string]any{}
		for _, s := range slots {
			data[s] = "v"
		}
		out, rerr := Template{Text: text}.Render(data)
		if err == nil && rerr != nil {
			t.Fatalf("parsed %q (slots %v) but Render failed: %v", text, slots, rerr)
		}
		if rerr == nil && strings.Count(out, "{")+strings.Count(out, "}") > strings.Count(text, "{{")+strings.Count(text, "}}") {
			t.Fatalf("render of %q left braces: %q", text, out)
		}
	})
}

func FuzzFTSQuery(f *testing.F) {
	for _, s := range []string{"how long does delivery take", `"a" OR b*`, "NEAR(a b)", "'); DROP TABLE faqs; --", "日本語 ✓"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		m := ftsQuery(q, 8)
		if m == "" {
			return
		}
		for _, term := range strings.Split(m, " OR ") {
			if len(term) < 3 || term[0] != '"' || term[len(term)-1] != '"' || strings.Contains(term[1:len(term)-1], `"`) && !strings.Contains(term, `""`) {
				t.Fatalf("unsafe term %q from %q", term, q)
			}
		}
		_ = NormalizeOrderNumber(q)
		_ = NormalizePostcode(q)
	})
}
