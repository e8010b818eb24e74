package kb

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Template is an answer for one intent and locale with named slots: "Your order {order.number} is
// {order.status}." Literal braces are written "{{" and "}}". A Template is a value, safe to share.
type Template struct {
	Intent string   `json:"intent" yaml:"intent"`
	Locale string   `json:"locale" yaml:"locale"`
	Text   string   `json:"text" yaml:"text"`
	Slots  []string `json:"-" yaml:"-"` // the slot names in order of first use, filled by the store
}

// TemplateSlots is the slot vocabulary: every slot a template may use, with what it holds. Templates
// are checked against it at import, so a typo is an import error rather than a broken answer. The
// dialogue fills the slots it has; Render fails on any it lacks.
var TemplateSlots = map[string]string{
	"customer.first_name":        "the signed-in or verified customer's first name",
	"customer.last_name":         "the customer's last name",
	"customer.email":             "the customer's email address",
	"order.number":               "the order number as the shop writes it",
	"order.status":               "the order's status in words (\"on its way\")",
	"order.placed_at":            "the order date",
	"order.total":                "the order total with currency",
	"order.items":                "the ordered items, listed",
	"order.item_count":           "how many items the order has",
	"order.address":              "the delivery address on one line",
	"order.postcode":             "the delivery postcode",
	"shipment.carrier":           "the carrier of the latest parcel",
	"shipment.tracking_number":   "the tracking number of the latest parcel",
	"shipment.tracking_url":      "the carrier's tracking page for the parcel",
	"shipment.eta":               "the estimated delivery date",
	"shipment.delivered_at":      "the delivery date",
	"shipment.status":            "the parcel's status in words",
	"refund.amount":              "the refund amount with currency",
	"refund.status":              "the refund's status in words",
	"refund.eta":                 "when the refund should arrive",
	"product.name":               "the product's name",
	"product.sku":                "the product's SKU",
	"product.price":              "the price with currency",
	"product.stock":              "units in stock",
	"product.availability":       "in stock / low stock / out of stock, in words",
	"product.sizes":              "the sizes available",
	"product.colours":            "the colours available",
	"product.material":           "the material",
	"product.description":        "the product's description",
	"product.url":                "the product page",
	"product.restock_date":       "the expected restock date",
	"product.warranty":           "the warranty period",
	"recommendations":            "recommended products, listed",
	"similar":                    "similar products, listed",
	"discount.code":              "a discount code",
	"discount.expires":           "when the code expires",
	"agent.name":                 "the human agent's first name",
	"queue.position":             "the customer's place in the queue",
	"queue.wait_minutes":         "the estimated wait in minutes",
	"shop.hours":                 "today's support hours",
	"reset.url":                  "the password reset link",
	"return.label_url":           "the prepaid return label link",
	"return.deadline":            "the last day to return the order",
	"delivery.options":           "the delivery options for the customer's country, listed",
	"delivery.cost":              "the delivery cost for the customer's basket",
	"delivery.free_threshold":    "the order value above which delivery is free",
	"payment.methods":            "the accepted payment methods, listed",
	"invoice.url":                "the invoice download link",
	"complaint.reference":        "the reference of the complaint ticket",
	"newsletter.status":          "subscribed or unsubscribed, in words",
	"account.email":              "the account's email address",
	"account.deletion_reference": "the reference of the deletion request",
}

// parseTemplate returns the slots of text, or an error naming the first problem.
func parseTemplate(text string) ([]string, error) {
	var slots []string
	seen := map[string]bool{}
	for i := 0; i < len(text); i++ {
		switch c := text[i]; c {
		case '{':
			if i+1 < len(text) && text[i+1] == '{' {
				i++
				continue
			}
			end := strings.IndexByte(text[i+1:], '}')
			if end < 0 {
				return nil, fmt.Errorf("unclosed '{' at byte %d", i)
			}
			name := strings.TrimSpace(text[i+1 : i+1+end])
			if !validSlotName(name) {
				return nil, fmt.Errorf("bad slot name {%s} at byte %d", name, i)
			}
			if !seen[name] {
				seen[name] = true
				slots = append(slots, name)
			}
			i += end + 1
		case '}':
			if i+1 < len(text) && text[i+1] == '}' {
				i++
				continue
			}
			return nil, fmt.Errorf("unmatched '}' at byte %d (write '}}' for a literal brace)", i)
		}
	}
	return slots, nil
}

func validSlotName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for _, part := range strings.Split(n, ".") {
		if part == "" {
			return false
		}
		for _, r := range part {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
				return false
			}
		}
	}
	return true
}

// ValidateTemplate checks a template's syntax and that every slot is in TemplateSlots.
func ValidateTemplate(t Template) error {
	slots, err := parseTemplate(t.Text)
	if err != nil {
		return err
	}
	var unknown []string
	for _, s := range slots {
		if _, ok := TemplateSlots[s]; !ok {
			unknown = append(unknown, "{"+s+"}")
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("unknown slot %s (see TemplateSlots in docs/kb-formats.md)", strings.Join(unknown, ", "))
	}
	return nil
}

// Render fills the slots from data. A slot "order.status" is looked up as the key "order.status", then
// as data["order"]["status"] through maps and through structs by their json field names. A missing slot
// (or a nil value) is an error that names it; nothing half-rendered is returned.
func (t Template) Render(data map[string]any) (string, error) {
	var b strings.Builder
	var missing []string
	text := t.Text
	for i := 0; i < len(text); i++ {
		c := text[i]
		if (c == '{' || c == '}') && i+1 < len(text) && text[i+1] == c {
			b.WriteByte(c)
			i++
			continue
		}
		if c == '}' {
			return "", fmt.Errorf("kb: template %s/%s: unmatched '}' at byte %d", t.Intent, t.Locale, i)
		}
		if c != '{' {
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(text[i+1:], '}')
		if end < 0 {
			return "", fmt.Errorf("kb: template %s/%s: unclosed '{' at byte %d", t.Intent, t.Locale, i)
		}
		name := strings.TrimSpace(text[i+1 : i+1+end])
		i += end + 1
		v, ok := lookupSlot(data, name)
		if !ok {
			missing = append(missing, "{"+name+"}")
			continue
		}
		b.WriteString(v)
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("kb: template %s/%s: missing slot %s", t.Intent, t.Locale, strings.Join(missing, ", "))
	}
	return b.String(), nil
}

func lookupSlot(data map[string]any, name string) (string, bool) {
	if v, ok := data[name]; ok {
		return formatSlot(reflect.ValueOf(v))
	}
	parts := strings.Split(name, ".")
	v, ok := data[parts[0]]
	if !ok {
		return "", false
	}
	rv := reflect.ValueOf(v)
	for _, p := range parts[1:] {
		rv, ok = field(rv, p)
		if !ok {
			return "", false
		}
	}
	return formatSlot(rv)
}

func deref(v reflect.Value) reflect.Value {
	for v.IsValid() && (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) {
		if v.IsNil() {
			return reflect.Value{}
		}
		v = v.Elem()
	}
	return v
}

func field(v reflect.Value, name string) (reflect.Value, bool) {
	v = deref(v)
	if !v.IsValid() {
		return reflect.Value{}, false
	}
	switch v.Kind() {
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return reflect.Value{}, false
		}
		e := v.MapIndex(reflect.ValueOf(name).Convert(v.Type().Key()))
		return e, e.IsValid()
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			tag := strings.Split(f.Tag.Get("json"), ",")[0]
			if tag == name || (tag == "" && strings.EqualFold(f.Name, strings.ReplaceAll(name, "_", ""))) {
				return v.Field(i), true
			}
		}
	}
	return reflect.Value{}, false
}

func formatSlot(v reflect.Value) (string, bool) {
	v = deref(v)
	if !v.IsValid() {
		return "", false
	}
	switch x := v.Interface().(type) {
	case string:
		return x, true
	case time.Time:
		if x.IsZero() {
			return "", false
		}
		return x.Format("Monday 2 January 2006"), true
	case fmt.Stringer:
		return x.String(), true
	case float64:
		if x == float64(int64(x)) {
			return strconv.FormatInt(int64(x), 10), true
		}
		return strconv.FormatFloat(x, 'f', 2, 64), true
	case float32:
		return formatSlot(reflect.ValueOf(float64(x)))
	}
	switch v.Kind() {
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return string(v.Bytes()), true
		}
		parts := make([]string, 0, v.Len())
		for i := 0; i < v.Len(); i++ {
			s, ok := formatSlot(v.Index(i))
			if !ok {
				return "", false
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ", "), true
	case reflect.Map, reflect.Struct, reflect.Func, reflect.Chan:
		return "", false
	}
	return fmt.Sprint(v.Interface()), true
}

// AnswerTemplate returns the template for intent in locale, falling back to the locale's language
// ("en" for "en-GB") and then to "en"; ErrNotFound when there is none. Templates are read from memory:
// the store re-reads all of them once they are older than Config.TemplateTTL and right after its own
// imports, so templates imported by another process (shopchat kb import while a server runs) are used
// within TemplateTTL.
func (s *Store) AnswerTemplate(ctx context.Context, intent, locale string) (Template, error) {
	all, err := s.templates.get(ctx, s)
	if err != nil {
		return Template{}, err
	}
	tries := [3]string{locale}
	if i := strings.IndexAny(locale, "-_"); i > 0 {
		tries[1] = locale[:i]
	}
	tries[2] = "en"
	for _, loc := range tries {
		if loc == "" {
			continue
		}
		if t, ok := all[templateKey{intent, loc}]; ok {
			if t.err != nil {
				return Template{}, t.err
			}
			return t.Template, nil
		}
	}
	return Template{}, fmt.Errorf("kb: answer template %s/%s: %w", intent, locale, ErrNotFound)
}

type templateKey struct{ intent, locale string }

type cachedTemplate struct {
	Template
	err error // the stored text does not parse
}

// templateCache is the store's copy of every answer template. It is safe for concurrent use.
type templateCache struct {
	mu     sync.Mutex
	all    map[templateKey]cachedTemplate
	loaded time.Time
}

// get returns the templates, reading them again when they are older than s.cfg.TemplateTTL.
func (c *templateCache) get(ctx context.Context, s *Store) (map[templateKey]cachedTemplate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.all != nil && now.Sub(c.loaded) < s.cfg.TemplateTTL && now.After(c.loaded) {
		return c.all, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT intent, locale, text FROM answer_templates`)
	if err != nil {
		return nil, s.wrapErr("answer template", err)
	}
	defer rows.Close()
	all := make(map[templateKey]cachedTemplate, max(len(c.all), 64))
	for rows.Next() {
		var t Template
		if err := rows.Scan(&t.Intent, &t.Locale, &t.Text); err != nil {
			return nil, s.wrapErr("answer template", err)
		}
		ct := cachedTemplate{Template: t}
		ct.Slots, ct.err = parseTemplate(t.Text)
		if ct.err != nil {
			ct.err = fmt.Errorf("kb: answer template %s/%s: %w", t.Intent, t.Locale, ct.err)
		}
		all[templateKey{t.Intent, t.Locale}] = ct
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrapErr("answer template", err)
	}
	c.all, c.loaded = all, now
	return all, nil
}

// invalidate makes the next get read the templates again.
func (c *templateCache) invalidate() {
	c.mu.Lock()
	c.all = nil
	c.mu.Unlock()
}

// AnswerTemplates returns every stored template, ordered by intent and locale.
func (s *Store) AnswerTemplates(ctx context.Context) ([]Template, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT intent, locale, text FROM answer_templates ORDER BY intent, locale`)
	if err != nil {
		return nil, s.wrapErr("answer templates", err)
	}
	defer rows.Close()
	var out []Template
	for rows.Next() {
		var t Template
		if err := rows.Scan(&t.Intent, &t.Locale, &t.Text); err != nil {
			return nil, s.wrapErr("answer templates", err)
		}
		t.Slots, _ = parseTemplate(t.Text)
		out = append(out, t)
	}
	return out, s.wrapErr("answer templates", rows.Err())
}
