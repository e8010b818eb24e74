package kb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
)

// The catalogue of a cluster: products, customers, orders, FAQs and answer templates in PostgreSQL,
// read by every node with the same rules as the SQLite store (order verification, failed-attempt
// limits, FAQ ranking with PostgreSQL full-text search). A shop keeps importing into a SQLite knowledge
// base (shopchat kb import) and copies it to the cluster with CopyCatalogFrom. Safe for concurrent use.

// CatalogCounts says how many records CopyCatalogFrom copied.
type CatalogCounts struct {
	Products, Customers, Orders, FAQs, Templates int
}

// CopyCatalogFrom replaces the cluster's catalogue with src's, in one transaction: nodes see the old
// catalogue or the new one, never a mix. Conversations and handoffs are not touched.
func (s *PGStore) CopyCatalogFrom(ctx context.Context, src *Store) (CatalogCounts, error) {
	var n CatalogCounts
	products, err := src.ListProducts(ctx)
	if err != nil {
		return n, err
	}
	customers, err := src.ListCustomers(ctx)
	if err != nil {
		return n, err
	}
	orders, err := src.queryOrders(ctx, `SELECT `+orderColumns+` FROM orders ORDER BY placed_at, number`)
	if err != nil {
		return n, err
	}
	faqs, err := src.ListFAQs(ctx)
	if err != nil {
		return n, err
	}
	templates, err := src.AnswerTemplates(ctx)
	if err != nil {
		return n, err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return n, pgWrap("copy catalogue", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, `TRUNCATE products, customers, orders, faqs, answer_templates`); err != nil {
		return n, pgWrap("copy catalogue", err)
	}
	b := &pgx.Batch{}
	for _, p := range products {
		attrs, _ := json.Marshal(p.Attributes)
		if p.Attributes == nil {
			attrs = []byte("{}")
		}
		b.Queue(`INSERT INTO products(sku, name, description, category, price_minor, currency, stock, attributes, image_url, active)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, p.SKU, p.Name, p.Description, p.Category, toMinor(p.Price),
			p.Currency, p.Stock, string(attrs), p.ImageURL, p.Active)
	}
	for _, c := range customers {
		b.Queue(`INSERT INTO customers(`+customerColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			c.ID, c.Email, c.FirstName, c.LastName, c.Phone, c.Locale, c.Address.Name, c.Address.Line1, c.Address.Line2,
			c.Address.City, c.Address.Postcode, c.Address.Country, ms(c.CreatedAt))
	}
	for _, o := range orders {
		items, _ := json.Marshal(o.Items)
		ships, _ := json.Marshal(o.Shipments)
		if o.Items == nil {
			items = []byte("[]")
		}
		if o.Shipments == nil {
			ships = []byte("[]")
		}
		key := NormalizeOrderNumber(o.Number)
		b.Queue(`INSERT INTO orders(number, number_key, digits_key, customer_id, status, email, address_name, address_line1,
			address_line2, city, postcode, country, total_minor, currency, placed_at, items, shipments)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
			o.Number, key, orderDigits(key, false), o.CustomerID, o.Status, o.Email, o.Address.Name, o.Address.Line1,
			o.Address.Line2, o.Address.City, o.Address.Postcode, o.Address.Country, toMinor(o.Total), o.Currency,
			ms(o.PlacedAt), string(items), string(ships))
	}
	for _, f := range faqs {
		b.Queue(`INSERT INTO faqs(id, key, locale, question, variants, answer, tags, enabled) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			f.ID, f.Key, f.Locale, f.Question, strings.Join(f.Variants, "\n"), f.Answer, strings.Join(f.Tags, ","), f.Enabled)
	}
	for _, t := range templates {
		b.Queue(`INSERT INTO answer_templates(intent, locale, text) VALUES ($1, $2, $3)`, t.Intent, t.Locale, t.Text)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return n, pgWrap("copy catalogue", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return n, pgWrap("copy catalogue", err)
	}
	return CatalogCounts{Products: len(products), Customers: len(customers), Orders: len(orders), FAQs: len(faqs), Templates: len(templates)}, nil
}

// CatalogEmpty reports whether no product, FAQ nor template is stored (a fresh cluster).
func (s *PGStore) CatalogEmpty(ctx context.Context) (bool, error) {
	var any bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM products) OR EXISTS (SELECT 1 FROM faqs) OR EXISTS (SELECT 1 FROM answer_templates)`).Scan(&any)
	return !any, pgWrap("catalogue", err)
}

const pgProductColumns = `sku, name, description, category, price_minor, currency, stock, attributes, image_url, active`

// ProductBySKU returns the product (active or not) or ErrNotFound; the SKU is matched without regard
// to case.
func (s *PGStore) ProductBySKU(ctx context.Context, sku string) (Product, error) {
	sku = strings.TrimSpace(sku)
	p, err := scanProduct(s.pool.QueryRow(ctx, `SELECT `+pgProductColumns+` FROM products WHERE sku = $1 OR sku = upper($1) LIMIT 1`, sku))
	if errors.Is(err, pgx.ErrNoRows) {
		return Product{}, fmt.Errorf("kb: product %q: %w", sku, ErrNotFound)
	}
	return p, pgWrap("product", err)
}

func (s *PGStore) queryProducts(ctx context.Context, q string, args ...any) ([]Product, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, pgWrap("products", err)
	}
	defer rows.Close()
	var out []Product
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			return nil, pgWrap("products", err)
		}
		out = append(out, p)
	}
	return out, pgWrap("products", rows.Err())
}

// ListProducts returns every product, active and inactive, ordered by SKU.
func (s *PGStore) ListProducts(ctx context.Context) ([]Product, error) {
	return s.queryProducts(ctx, `SELECT `+pgProductColumns+` FROM products ORDER BY sku`)
}

// pgTerms cuts free text into plain search words (letters and digits only, stop words dropped), so no
// tsquery syntax from a shopper's text reaches the parser.
func pgTerms(text string, maxTerms int) []string {
	if len(text) > MaxSearchQuery {
		text = text[:MaxSearchQuery]
	}
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
	seen := map[string]bool{}
	var out []string
	for _, w := range words {
		w = strings.Trim(w, "'")
		if w == "" || stopWords[w] || seen[w] {
			continue
		}
		seen[w] = true
		w = strings.Map(func(r rune) rune {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				return r
			}
			return -1
		}, w)
		if w != "" {
			out = append(out, w)
		}
		if len(out) == maxTerms {
			break
		}
	}
	return out
}

// FindProducts returns up to limit (default 10) active products matching query: an exact SKU first,
// then full-text matches ranked by ts_rank with all words required, falling back to any word.
func (s *PGStore) FindProducts(ctx context.Context, query string, limit int) ([]Product, error) {
	if limit <= 0 {
		limit = 10
	}
	query = strings.TrimSpace(query)
	out, seen := exactSKUFirst(ctx, query, s.ProductBySKU)
	terms := pgTerms(query, 16)
	if len(terms) == 0 {
		return out, nil
	}
	for _, op := range []string{" & ", " | "} {
		ps, err := s.queryProducts(ctx, `SELECT `+pgProductColumns+` FROM products, to_tsquery('english', $1) q
			WHERE active AND search @@ q ORDER BY ts_rank(search, q) DESC, sku LIMIT $2`, strings.Join(terms, op), limit)
		if err != nil {
			return nil, fmt.Errorf("kb: find products: %w", err)
		}
		for _, p := range ps {
			if !seen[p.SKU] && len(out) < limit {
				seen[p.SKU] = true
				out = append(out, p)
			}
		}
		if len(out) > 0 {
			break
		}
	}
	return out, nil
}

// Customer returns the customer or ErrNotFound.
func (s *PGStore) Customer(ctx context.Context, id string) (Customer, error) {
	c, err := scanCustomer(s.pool.QueryRow(ctx, `SELECT `+customerColumns+` FROM customers WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Customer{}, fmt.Errorf("kb: customer %q: %w", id, ErrNotFound)
	}
	return c, pgWrap("customer", err)
}

const pgOrderColumns = `number, customer_id, status, email, address_name, address_line1, address_line2, city, postcode,
	country, total_minor, currency, placed_at, items, shipments`

func scanPGOrder(r pgx.Row) (Order, error) {
	var o Order
	var total, placed int64
	var items, ships []byte
	if err := r.Scan(&o.Number, &o.CustomerID, &o.Status, &o.Email, &o.Address.Name, &o.Address.Line1, &o.Address.Line2,
		&o.Address.City, &o.Address.Postcode, &o.Address.Country, &total, &o.Currency, &placed, &items, &ships); err != nil {
		return Order{}, err
	}
	o.Total, o.PlacedAt, o.Postcode = fromMinor(total), fromMS(placed), o.Address.Postcode
	if err := json.Unmarshal(items, &o.Items); err != nil {
		return Order{}, fmt.Errorf("order %s items: %w", o.Number, err)
	}
	if err := json.Unmarshal(ships, &o.Shipments); err != nil {
		return Order{}, fmt.Errorf("order %s shipments: %w", o.Number, err)
	}
	if len(o.Shipments) == 0 {
		o.Shipments = nil
	}
	return o, nil
}

func (s *PGStore) queryPGOrders(ctx context.Context, q string, args ...any) ([]Order, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, pgWrap("orders", err)
	}
	defer rows.Close()
	var out []Order
	for rows.Next() {
		o, err := scanPGOrder(rows)
		if err != nil {
			return nil, pgWrap("orders", err)
		}
		out = append(out, o)
	}
	return out, pgWrap("orders", rows.Err())
}

// RecentOrders returns up to limit (default 5) orders of a customer, newest first (for a requester
// already verified as customerID).
func (s *PGStore) RecentOrders(ctx context.Context, customerID string, limit int) ([]Order, error) {
	if customerID == "" {
		return nil, nil
	}
	if limit <= 0 {
		limit = 5
	}
	return s.queryPGOrders(ctx, `SELECT `+pgOrderColumns+` FROM orders WHERE customer_id = $1 ORDER BY placed_at DESC LIMIT $2`, customerID, limit)
}

// LookupOrder returns the order q.Number to a verified requester, with the SQLite store's rules: the
// customer owns it, or the email or postcode matches; unknown and unverified both give ErrNotFound;
// after LookupMaxFailures failures within LookupWindow for the requester (or the order number), on any
// node, every lookup gives ErrTooManyAttempts until the window has passed.
func (s *PGStore) LookupOrder(ctx context.Context, q OrderQuery) (Order, error) {
	key := NormalizeOrderNumber(q.Number)
	requester, number := "r:"+q.Requester, "n:"+key
	since := ms(time.Now().Add(-s.lookupWindow))
	var byReq, byNum int
	err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FILTER (WHERE key = $1), COUNT(*) FILTER (WHERE key = $2)
		FROM lookup_failures WHERE key IN ($1, $2) AND at > $3`, requester, number, since).Scan(&byReq, &byNum)
	if err != nil {
		return Order{}, pgWrap("lookup order", err)
	}
	if byReq >= s.lookupMax || byNum >= s.lookupMax {
		return Order{}, fmt.Errorf("kb: lookup order: %w", ErrTooManyAttempts)
	}
	o, err := s.lookupOrder(ctx, key, q)
	if errors.Is(err, ErrNotFound) {
		now := ms(time.Now())
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO lookup_failures(key, at) VALUES ($1, $2)`, requester, now)
		if key != "" {
			b.Queue(`INSERT INTO lookup_failures(key, at) VALUES ($1, $2)`, number, now)
		}
		if now%32 == 0 { // forget old failures now and then
			b.Queue(`DELETE FROM lookup_failures WHERE at < $1`, since)
		}
		if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
			return Order{}, pgWrap("lookup order", err)
		}
	}
	return o, err
}

func (s *PGStore) lookupOrder(ctx context.Context, key string, q OrderQuery) (Order, error) {
	notFound := fmt.Errorf("kb: lookup order: %w", ErrNotFound)
	if key == "" || len(key) > 64 {
		return Order{}, notFound
	}
	digits := orderDigits(key, true)
	candidates, err := s.queryPGOrders(ctx, `SELECT `+pgOrderColumns+` FROM orders
		WHERE number_key = $1 OR ($2 <> '' AND digits_key = $2) ORDER BY number_key = $1 DESC, placed_at DESC LIMIT 20`, key, digits)
	if err != nil {
		return Order{}, err
	}
	for _, o := range candidates {
		if verified(o, q) {
			return o, nil
		}
	}
	return Order{}, notFound
}

// PGFAQMinScore is the PostgreSQL FAQ score from which an FAQ is a confident answer: the counterpart
// of the dialogue's FAQMinScore (6.5 on SQLite's BM25 scale). On the demo shop, 80% of the FAQs'
// questions and variants score at least this, and unrelated questions below it
// (TestPGFAQScoreScale).
const PGFAQMinScore = 1.5

// SearchFAQ returns up to limit (default 5) enabled FAQs of the locale (its language; any when empty)
// ranked by PostgreSQL full-text search over questions (weighted most), variants, tags and answers,
// any word matching; Score is higher for better matches.
func (s *PGStore) SearchFAQ(ctx context.Context, query, locale string, limit int) ([]FAQHit, error) {
	if limit <= 0 {
		limit = 5
	}
	terms := pgTerms(query, 32)
	if len(terms) == 0 {
		return nil, nil
	}
	lang := locale
	if i := strings.IndexAny(lang, "-_"); i > 0 {
		lang = lang[:i]
	}
	rows, err := s.pool.Query(ctx, `SELECT id, key, question, answer, ts_rank_cd('{0.1, 0.2, 0.6, 1.0}', search, q) AS score
		FROM faqs, to_tsquery('english', $1) q
		WHERE enabled AND search @@ q AND ($2 = '' OR locale = $2 OR locale = $3)
		ORDER BY score DESC, id LIMIT $4`, strings.Join(terms, " | "), locale, lang, limit)
	if err != nil {
		return nil, pgWrap("search faq", err)
	}
	defer rows.Close()
	var out []FAQHit
	for rows.Next() {
		var h FAQHit
		var score float32
		if err := rows.Scan(&h.ID, &h.Key, &h.Question, &h.Answer, &score); err != nil {
			return nil, pgWrap("search faq", err)
		}
		h.Score = float64(score)
		out = append(out, h)
	}
	return out, pgWrap("search faq", rows.Err())
}

// AnswerTemplate returns the template for intent in locale, falling back to the locale's language and
// then to "en"; ErrNotFound when there is none.
func (s *PGStore) AnswerTemplate(ctx context.Context, intent, locale string) (Template, error) {
	tries := []string{locale}
	if i := strings.IndexAny(locale, "-_"); i > 0 {
		tries = append(tries, locale[:i])
	}
	tries = append(tries, "en")
	for _, loc := range tries {
		if loc == "" {
			continue
		}
		t := Template{Intent: intent, Locale: loc}
		err := s.pool.QueryRow(ctx, `SELECT text FROM answer_templates WHERE intent = $1 AND locale = $2`, intent, loc).Scan(&t.Text)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return Template{}, pgWrap("answer template", err)
		}
		t.Slots, err = parseTemplate(t.Text)
		if err != nil {
			return Template{}, fmt.Errorf("kb: answer template %s/%s: %w", intent, loc, err)
		}
		return t, nil
	}
	return Template{}, fmt.Errorf("kb: answer template %s/%s: %w", intent, locale, ErrNotFound)
}

func (s *PGStore) pgStrings(ctx context.Context, op, q string, args ...any) ([]string, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, pgWrap(op, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, pgWrap(op, err)
		}
		out = append(out, v)
	}
	return out, pgWrap(op, rows.Err())
}

// PurchasedSKUs returns the distinct SKUs of a customer's orders that were not cancelled.
func (s *PGStore) PurchasedSKUs(ctx context.Context, customerID string) ([]string, error) {
	return s.pgStrings(ctx, "purchased skus", `SELECT DISTINCT i->>'sku' AS sku FROM orders o, jsonb_array_elements(o.items) i
		WHERE o.customer_id = $1 AND o.customer_id <> '' AND o.status <> 'cancelled' ORDER BY sku`, customerID)
}

// RecordImpressions stores that skus were shown in a conversation (source: "recommend", "similar", ...).
func (s *PGStore) RecordImpressions(ctx context.Context, convID, customerID string, skus []string, source string) error {
	if convID == "" {
		return fmt.Errorf("kb: record impressions: %w: empty conversation id", ErrInvalid)
	}
	if len(skus) == 0 {
		return nil
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO impressions(conv_id, customer_id, sku, source, at)
		SELECT $1, $2, sku, $4, $5 FROM unnest($3::text[]) WITH ORDINALITY AS t(sku, n) ORDER BY n`,
		convID, customerID, skus, source, ms(time.Now()))
	return pgWrap("record impressions", err)
}

// ShownSKUs returns the distinct SKUs shown in a conversation, in the order first shown.
func (s *PGStore) ShownSKUs(ctx context.Context, convID string) ([]string, error) {
	return s.pgStrings(ctx, "shown skus", `SELECT sku FROM impressions WHERE conv_id = $1 GROUP BY sku ORDER BY min(id)`, convID)
}
