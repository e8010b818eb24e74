package kb

import (
	"fmt"
	"math"
	"net/mail"
	"sort"
	"strings"
	"time"
)

// lined is a parsed record with the line it started on.
type lined[T any] struct {
	line int
	v    T
}

// CSV columns of each kind; '*' marks required columns, a trailing '.' a prefix (attr.size, ...).
var csvColumns = map[Kind][]string{
	KindProducts:  {"sku*", "name*", "category*", "price*", "currency", "stock", "description", "image_url", "active", "attr."},
	KindCustomers: {"id*", "email*", "first_name", "last_name", "phone", "locale", "address_name", "address_line1", "address_line2", "city", "postcode", "country", "created_at"},
	KindOrders: {"number*", "customer_id", "status*", "email*", "placed_at*", "currency", "total",
		"address_name", "address_line1", "address_line2", "city", "postcode", "country",
		"item_sku", "item_name", "item_quantity", "item_unit_price",
		"carrier", "tracking_number", "shipment_status", "shipped_at", "estimated_delivery", "delivered_at"},
	KindFAQs:    {"key*", "question*", "answer*", "locale", "variants", "tags", "enabled"},
	KindAnswers: {"intent*", "text*", "locale"},
}

// ---- products ----

func parseProducts(e *errs, data []byte, format Format) []lined[Product] {
	var out []lined[Product]
	if format == FormatCSV {
		t := readCSV(e, data, csvColumns[KindProducts])
		if t == nil {
			return nil
		}
		for i, line := range t.lines {
			p := Product{SKU: strings.TrimSpace(t.get(i, "sku")), Name: strings.TrimSpace(t.get(i, "name")),
				Category: strings.TrimSpace(t.get(i, "category")), Currency: strings.TrimSpace(t.get(i, "currency")),
				Description: t.get(i, "description"), ImageURL: strings.TrimSpace(t.get(i, "image_url"))}
			var err error
			if p.Price, err = parseMoney(t.get(i, "price")); err != nil {
				e.add(line, "price: %v", err)
			}
			if p.Stock, err = parseInt(t.get(i, "stock"), -1_000_000, 1_000_000_000); err != nil {
				e.add(line, "stock: %v", err)
			}
			if p.Active, err = parseBool(t.get(i, "active"), true); err != nil {
				e.add(line, "active: %v", err)
			}
			for j, h := range t.header {
				if strings.HasPrefix(h, "attr.") && strings.TrimSpace(t.rows[i][j]) != "" {
					if p.Attributes == nil {
						p.Attributes = map[string]string{}
					}
					p.Attributes[strings.TrimPrefix(h, "attr.")] = strings.TrimSpace(t.rows[i][j])
				}
			}
			out = append(out, lined[Product]{line, p})
		}
	} else {
		for _, r := range readRecords(e, data, format, KindProducts, Product{}) {
			p := Product{Active: true}
			if err := r.decode(&p); err != nil {
				e.add(r.line, "%v", err)
				continue
			}
			out = append(out, lined[Product]{r.line, p})
		}
	}
	seen := map[string]int{}
	for i := range out {
		p, line := &out[i].v, out[i].line
		if p.Currency == "" {
			p.Currency = "EUR"
		}
		e.text(line, "sku", p.SKU, maxKey, true)
		e.text(line, "name", p.Name, maxShortText, true)
		e.text(line, "category", p.Category, maxShortText, true)
		e.text(line, "description", p.Description, maxLongText, false)
		e.text(line, "image_url", p.ImageURL, maxURL, false)
		checkCurrency(e, line, p.Currency)
		if p.Price < 0 || p.Price > 1e9 || math.IsNaN(p.Price) {
			e.add(line, "price: %v is out of range", p.Price)
		}
		if len(p.Attributes) > maxAttributes {
			e.add(line, "attributes: %d, the limit is %d", len(p.Attributes), maxAttributes)
		}
		for k, v := range p.Attributes {
			e.text(line, "attribute name", k, maxKey, true)
			e.text(line, "attribute "+k, v, maxAttrValue, false)
		}
		if first, dup := seen[p.SKU]; dup && p.SKU != "" {
			e.add(line, "sku %q appears again (first at line %d)", p.SKU, first)
		}
		seen[p.SKU] = line
	}
	return out
}

func checkCurrency(e *errs, line int, c string) {
	if len(c) != 3 || strings.ToUpper(c) != c || strings.IndexFunc(c, func(r rune) bool { return r < 'A' || r > 'Z' }) >= 0 {
		e.add(line, "currency: %q is not an ISO 4217 code like EUR", c)
	}
}

// ---- customers ----

func parseCustomers(e *errs, data []byte, format Format) []lined[Customer] {
	var out []lined[Customer]
	if format == FormatCSV {
		t := readCSV(e, data, csvColumns[KindCustomers])
		if t == nil {
			return nil
		}
		for i, line := range t.lines {
			c := Customer{ID: strings.TrimSpace(t.get(i, "id")), Email: strings.TrimSpace(t.get(i, "email")),
				FirstName: strings.TrimSpace(t.get(i, "first_name")), LastName: strings.TrimSpace(t.get(i, "last_name")),
				Phone: strings.TrimSpace(t.get(i, "phone")), Locale: strings.TrimSpace(t.get(i, "locale")),
				Address: csvAddress(t, i)}
			var err error
			if c.CreatedAt, err = parseTime(t.get(i, "created_at")); err != nil {
				e.add(line, "created_at: %v", err)
			}
			out = append(out, lined[Customer]{line, c})
		}
	} else {
		for _, r := range readRecords(e, data, format, KindCustomers, Customer{}) {
			var c Customer
			if err := r.decode(&c); err != nil {
				e.add(r.line, "%v", err)
				continue
			}
			out = append(out, lined[Customer]{r.line, c})
		}
	}
	seen := map[string]int{}
	for i := range out {
		c, line := &out[i].v, out[i].line
		e.text(line, "id", c.ID, maxKey, true)
		checkEmail(e, line, c.Email, true)
		e.text(line, "first_name", c.FirstName, maxShortText, false)
		e.text(line, "last_name", c.LastName, maxShortText, false)
		e.text(line, "phone", c.Phone, 40, false)
		e.text(line, "locale", c.Locale, 16, false)
		checkAddress(e, line, c.Address)
		if first, dup := seen[c.ID]; dup && c.ID != "" {
			e.add(line, "id %q appears again (first at line %d)", c.ID, first)
		}
		seen[c.ID] = line
	}
	return out
}

func csvAddress(t *csvTable, i int) Address {
	return Address{Name: strings.TrimSpace(t.get(i, "address_name")), Line1: strings.TrimSpace(t.get(i, "address_line1")),
		Line2: strings.TrimSpace(t.get(i, "address_line2")), City: strings.TrimSpace(t.get(i, "city")),
		Postcode: strings.TrimSpace(t.get(i, "postcode")), Country: strings.TrimSpace(t.get(i, "country"))}
}

func checkAddress(e *errs, line int, a Address) {
	e.text(line, "address_name", a.Name, maxShortText, false)
	e.text(line, "address_line1", a.Line1, maxShortText, false)
	e.text(line, "address_line2", a.Line2, maxShortText, false)
	e.text(line, "city", a.City, maxShortText, false)
	e.text(line, "postcode", a.Postcode, 16, false)
	e.text(line, "country", a.Country, 2, false)
}

func checkEmail(e *errs, line int, v string, required bool) {
	e.text(line, "email", v, 254, required)
	if v == "" {
		return
	}
	if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
		e.add(line, "email: %q is not an email address", v)
	}
}

// ---- orders ----

func parseOrders(e *errs, data []byte, format Format) []lined[Order] {
	var out []lined[Order]
	if format == FormatCSV {
		t := readCSV(e, data, csvColumns[KindOrders])
		if t == nil {
			return nil
		}
		byNumber := map[string]int{} // index into out
		for i, line := range t.lines {
			number := strings.TrimSpace(t.get(i, "number"))
			idx, seen := byNumber[number]
			if !seen {
				o := Order{Number: number, CustomerID: strings.TrimSpace(t.get(i, "customer_id")),
					Status: strings.TrimSpace(t.get(i, "status")), Email: strings.TrimSpace(t.get(i, "email")),
					Currency: strings.TrimSpace(t.get(i, "currency")), Address: csvAddress(t, i)}
				var err error
				if o.PlacedAt, err = parseTime(t.get(i, "placed_at")); err != nil {
					e.add(line, "placed_at: %v", err)
				}
				if o.Total, err = parseMoney(t.get(i, "total")); err != nil {
					e.add(line, "total: %v", err)
				}
				out = append(out, lined[Order]{line, o})
				idx = len(out) - 1
				byNumber[number] = idx
			} else {
				// Later rows of an order may repeat the order's columns; they must agree.
				o := out[idx].v
				for col, want := range map[string]string{"customer_id": o.CustomerID, "status": o.Status, "email": o.Email,
					"currency": o.Currency, "postcode": o.Address.Postcode, "city": o.Address.City} {
					if v := strings.TrimSpace(t.get(i, col)); v != "" && v != want {
						e.add(line, "%s %q differs from %q on line %d for order %s", col, v, want, out[idx].line, number)
					}
				}
			}
			o := &out[idx].v
			if sku := strings.TrimSpace(t.get(i, "item_sku")); sku != "" {
				it := OrderItem{SKU: sku, Name: strings.TrimSpace(t.get(i, "item_name"))}
				var err error
				if it.Quantity, err = parseInt(t.get(i, "item_quantity"), 1, 100000); err != nil || it.Quantity == 0 {
					e.add(line, "item_quantity: want a whole number of at least 1, got %q", t.get(i, "item_quantity"))
				}
				if it.UnitPrice, err = parseMoney(t.get(i, "item_unit_price")); err != nil {
					e.add(line, "item_unit_price: %v", err)
				}
				o.Items = append(o.Items, it)
			}
			if tn := strings.TrimSpace(t.get(i, "tracking_number")); tn != "" {
				sh := Shipment{TrackingNumber: tn, Carrier: strings.TrimSpace(t.get(i, "carrier")), Status: strings.TrimSpace(t.get(i, "shipment_status"))}
				var err error
				for _, f := range []struct {
					col string
					dst *time.Time
				}{{"shipped_at", &sh.ShippedAt}, {"estimated_delivery", &sh.EstimatedDelivery}, {"delivered_at", &sh.DeliveredAt}} {
					if *f.dst, err = parseTime(t.get(i, f.col)); err != nil {
						e.add(line, "%s: %v", f.col, err)
					}
				}
				o.Shipments = append(o.Shipments, sh)
			}
			if t.get(i, "item_sku") == "" && t.get(i, "tracking_number") == "" && seen {
				e.add(line, "row has neither item_sku nor tracking_number")
			}
		}
	} else {
		for _, r := range readRecords(e, data, format, KindOrders, Order{}) {
			var o Order
			if err := r.decode(&o); err != nil {
				e.add(r.line, "%v", err)
				continue
			}
			if o.Address.Postcode == "" {
				o.Address.Postcode = o.Postcode
			}
			out = append(out, lined[Order]{r.line, o})
		}
	}
	seen := map[string]int{}
	keys := map[string]string{}
	for i := range out {
		o, line := &out[i].v, out[i].line
		if o.Currency == "" {
			o.Currency = "EUR"
		}
		o.Postcode = o.Address.Postcode
		e.text(line, "number", o.Number, maxKey, true)
		if k := NormalizeOrderNumber(o.Number); o.Number != "" && k == "" {
			e.add(line, "number: %q has no letters or digits", o.Number)
		} else if other, dup := keys[k]; dup && other != o.Number {
			e.add(line, "number %q is the same as %q once '#', '-' and case are ignored", o.Number, other)
		} else {
			keys[k] = o.Number
		}
		e.text(line, "customer_id", o.CustomerID, maxKey, false)
		if !validStatus(o.Status) {
			e.add(line, "status: %q (want one of %s)", o.Status, strings.Join(OrderStatuses, ", "))
		}
		checkEmail(e, line, o.Email, true)
		checkCurrency(e, line, o.Currency)
		checkAddress(e, line, o.Address)
		if o.PlacedAt.IsZero() {
			e.add(line, "placed_at: required")
		}
		if len(o.Items) == 0 {
			e.add(line, "order %s has no items", o.Number)
		}
		if len(o.Items) > maxItems {
			e.add(line, "order %s has %d items, the limit is %d", o.Number, len(o.Items), maxItems)
		}
		sum := 0.0
		for _, it := range o.Items {
			e.text(line, "item_sku", it.SKU, maxKey, true)
			e.text(line, "item_name", it.Name, maxShortText, false)
			if it.Quantity < 1 || it.Quantity > 100000 {
				e.add(line, "item %s: quantity %d (want 1 to 100000)", it.SKU, it.Quantity)
			}
			if it.UnitPrice < 0 || it.UnitPrice > 1e9 {
				e.add(line, "item %s: unit_price %v out of range", it.SKU, it.UnitPrice)
			}
			sum += it.UnitPrice * float64(it.Quantity)
		}
		if o.Total == 0 {
			o.Total = math.Round(sum*100) / 100
		}
		if o.Total < 0 || o.Total > 1e10 {
			e.add(line, "total %v out of range", o.Total)
		}
		tracking := map[string]bool{}
		for _, sh := range o.Shipments {
			e.text(line, "tracking_number", sh.TrackingNumber, maxKey, true)
			e.text(line, "carrier", sh.Carrier, maxShortText, false)
			e.text(line, "shipment_status", sh.Status, 40, false)
			if tracking[sh.TrackingNumber] {
				e.add(line, "tracking number %q appears twice in order %s", sh.TrackingNumber, o.Number)
			}
			tracking[sh.TrackingNumber] = true
		}
		if format != FormatCSV {
			if first, dup := seen[o.Number]; dup && o.Number != "" {
				e.add(line, "order %q appears again (first at line %d)", o.Number, first)
			}
		}
		seen[o.Number] = line
	}
	return out
}

func validStatus(s string) bool {
	for _, v := range OrderStatuses {
		if s == v {
			return true
		}
	}
	return false
}

// ---- FAQs ----

func parseFAQs(e *errs, data []byte, format Format) []lined[FAQ] {
	var out []lined[FAQ]
	if format == FormatCSV {
		t := readCSV(e, data, csvColumns[KindFAQs])
		if t == nil {
			return nil
		}
		for i, line := range t.lines {
			f := FAQ{Key: strings.TrimSpace(t.get(i, "key")), Locale: strings.TrimSpace(t.get(i, "locale")),
				Question: strings.TrimSpace(t.get(i, "question")), Answer: strings.TrimSpace(t.get(i, "answer")),
				Variants: splitList(t.get(i, "variants"), "|"), Tags: splitList(t.get(i, "tags"), ",")}
			var err error
			if f.Enabled, err = parseBool(t.get(i, "enabled"), true); err != nil {
				e.add(line, "enabled: %v", err)
			}
			out = append(out, lined[FAQ]{line, f})
		}
	} else {
		for _, r := range readRecords(e, data, format, KindFAQs, FAQ{}) {
			f := FAQ{Enabled: true}
			if err := r.decode(&f); err != nil {
				e.add(r.line, "%v", err)
				continue
			}
			out = append(out, lined[FAQ]{r.line, f})
		}
	}
	seen := map[string]int{}
	for i := range out {
		f, line := &out[i].v, out[i].line
		if f.Locale == "" {
			f.Locale = "en"
		}
		e.text(line, "key", f.Key, maxKey, true)
		e.text(line, "locale", f.Locale, 16, true)
		e.text(line, "question", f.Question, 500, true)
		e.text(line, "answer", f.Answer, maxLongText, true)
		if len(f.Variants) > maxVariants {
			e.add(line, "variants: %d, the limit is %d", len(f.Variants), maxVariants)
		}
		for _, v := range f.Variants {
			e.text(line, "variant", v, 500, false)
			if strings.Contains(v, "\n") {
				e.add(line, "variant: must be one line")
			}
		}
		if len(f.Tags) > maxTags {
			e.add(line, "tags: %d, the limit is %d", len(f.Tags), maxTags)
		}
		for _, tg := range f.Tags {
			e.text(line, "tag", tg, 50, false)
		}
		k := f.Key + "/" + f.Locale
		if first, dup := seen[k]; dup && f.Key != "" {
			e.add(line, "FAQ %q (%s) appears again (first at line %d)", f.Key, f.Locale, first)
		}
		seen[k] = line
	}
	return out
}

// ---- answer templates ----

func parseAnswers(e *errs, data []byte, format Format) []lined[Template] {
	var out []lined[Template]
	if format == FormatCSV {
		t := readCSV(e, data, csvColumns[KindAnswers])
		if t == nil {
			return nil
		}
		for i, line := range t.lines {
			out = append(out, lined[Template]{line, Template{Intent: strings.TrimSpace(t.get(i, "intent")),
				Locale: strings.TrimSpace(t.get(i, "locale")), Text: strings.TrimSpace(t.get(i, "text"))}})
		}
	} else {
		for _, r := range readRecords(e, data, format, KindAnswers, Template{}) {
			var tp Template
			if err := r.decode(&tp); err != nil {
				e.add(r.line, "%v", err)
				continue
			}
			tp.Text = strings.TrimSpace(tp.Text)
			out = append(out, lined[Template]{r.line, tp})
		}
	}
	seen := map[string]int{}
	for i := range out {
		tp, line := &out[i].v, out[i].line
		if tp.Locale == "" {
			tp.Locale = "en"
		}
		e.text(line, "intent", tp.Intent, maxKey, true)
		if tp.Intent != "" && !validSlotName(tp.Intent) {
			e.add(line, "intent: %q (want snake_case like order_status)", tp.Intent)
		}
		e.text(line, "locale", tp.Locale, 16, true)
		e.text(line, "text", tp.Text, maxTemplate, true)
		if err := ValidateTemplate(*tp); err != nil {
			e.add(line, "template %s: %v", tp.Intent, err)
		}
		k := tp.Intent + "/" + tp.Locale
		if first, dup := seen[k]; dup {
			e.add(line, "template %s (%s) appears again (first at line %d)", tp.Intent, tp.Locale, first)
		}
		seen[k] = line
	}
	return out
}

// attrColumns returns the sorted attribute names of products, for CSV export.
func attrColumns(ps []Product) []string {
	set := map[string]bool{}
	for _, p := range ps {
		for k := range p.Attributes {
			set[k] = true
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var _ = fmt.Sprint
