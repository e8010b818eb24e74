package kb

import (
	"context"
	"os"
)

// Stats counts what the knowledge base holds.
type Stats struct {
	Path           string         `json:"path"`
	SchemaVersion  int            `json:"schema_version"`
	FileBytes      int64          `json:"file_bytes"`
	Products       int            `json:"products"`
	ActiveProducts int            `json:"active_products"`
	Categories     int            `json:"categories"`
	Customers      int            `json:"customers"`
	Orders         int            `json:"orders"`
	OrdersByStatus map[string]int `json:"orders_by_status"`
	FAQs           int            `json:"faqs"`
	Templates      int            `json:"templates"`
	Conversations  int            `json:"conversations"`
	Messages       int            `json:"messages"`
	Interactions   int            `json:"interactions"`
	Impressions    int            `json:"impressions"`
	Events         int            `json:"events"`
}

// Stats returns the counts of every table.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	st := Stats{Path: s.path, OrdersByStatus: map[string]int{}}
	if fi, err := os.Stat(s.path); err == nil {
		st.FileBytes = fi.Size()
	}
	counts := []struct {
		dst *int
		q   string
	}{
		{&st.SchemaVersion, `SELECT coalesce(max(version), 0) FROM schema_migrations`},
		{&st.Products, `SELECT count(*) FROM products`},
		{&st.ActiveProducts, `SELECT count(*) FROM products WHERE active = 1`},
		{&st.Categories, `SELECT count(DISTINCT category) FROM products`},
		{&st.Customers, `SELECT count(*) FROM customers`},
		{&st.Orders, `SELECT count(*) FROM orders`},
		{&st.FAQs, `SELECT count(*) FROM faqs`},
		{&st.Templates, `SELECT count(*) FROM answer_templates`},
		{&st.Conversations, `SELECT count(*) FROM conversations`},
		{&st.Messages, `SELECT count(*) FROM messages`},
		{&st.Interactions, `SELECT count(*) FROM interactions`},
		{&st.Impressions, `SELECT count(*) FROM impressions`},
		{&st.Events, `SELECT count(*) FROM events`},
	}
	for _, c := range counts {
		if err := s.r.QueryRowContext(ctx, c.q).Scan(c.dst); err != nil {
			return Stats{}, s.wrapErr("stats", err)
		}
	}
	rows, err := s.r.QueryContext(ctx, `SELECT status, count(*) FROM orders GROUP BY status`)
	if err != nil {
		return Stats{}, s.wrapErr("stats", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return Stats{}, s.wrapErr("stats", err)
		}
		st.OrdersByStatus[k] = n
	}
	return st, s.wrapErr("stats", rows.Err())
}

// IntegrityCheck runs PRAGMA integrity_check and returns its findings ("ok" when the file is sound).
func (s *Store) IntegrityCheck(ctx context.Context) ([]string, error) {
	return s.strings(ctx, "integrity check", `PRAGMA integrity_check`)
}
