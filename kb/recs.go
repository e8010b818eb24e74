package kb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Default weights of the recommender's signals.
const (
	WeightView     = 1.0
	WeightCart     = 3.0
	WeightPurchase = 5.0
)

// Interactions returns every recommender signal: the stored views and cart additions, and one
// purchase per order line of every order that was not cancelled (weight WeightPurchase × quantity),
// ordered by time.
func (s *Store) Interactions(ctx context.Context) ([]Interaction, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT customer_id, sku, kind, weight, at FROM interactions
		UNION ALL
		SELECT o.customer_id, i.sku, 'purchase', ? * i.quantity, o.placed_at
		FROM order_items i JOIN orders o ON o.number = i.order_number
		WHERE o.customer_id IS NOT NULL AND o.status <> 'cancelled'
		ORDER BY 5, 1, 2`, WeightPurchase)
	if err != nil {
		return nil, s.wrapErr("interactions", err)
	}
	defer rows.Close()
	var out []Interaction
	for rows.Next() {
		var in Interaction
		var at int64
		if err := rows.Scan(&in.CustomerID, &in.SKU, &in.Kind, &in.Weight, &at); err != nil {
			return nil, s.wrapErr("interactions", err)
		}
		in.At = fromMS(at)
		out = append(out, in)
	}
	return out, s.wrapErr("interactions", rows.Err())
}

// RecordInteraction stores a view or cart signal (purchases come from orders). Weight 0 takes the
// kind's default.
func (s *Store) RecordInteraction(ctx context.Context, in Interaction) error {
	w, err := s.writer()
	if err != nil {
		return fmt.Errorf("kb: record interaction: %w", err)
	}
	switch in.Kind {
	case InteractionView:
		if in.Weight == 0 {
			in.Weight = WeightView
		}
	case InteractionCart:
		if in.Weight == 0 {
			in.Weight = WeightCart
		}
	default:
		return fmt.Errorf("kb: record interaction: %w: kind %q (want view or cart)", ErrInvalid, in.Kind)
	}
	if in.CustomerID == "" || in.SKU == "" {
		return fmt.Errorf("kb: record interaction: %w: empty customer or sku", ErrInvalid)
	}
	if in.At.IsZero() {
		in.At = s.now()
	}
	_, err = w.ExecContext(ctx, `INSERT INTO interactions(customer_id, sku, kind, weight, at) VALUES (?, ?, ?, ?, ?)`,
		in.CustomerID, in.SKU, in.Kind, in.Weight, ms(in.At))
	return s.wrapErr("record interaction", err)
}

// PurchasedSKUs returns the distinct SKUs a customer bought (orders not cancelled), sorted.
func (s *Store) PurchasedSKUs(ctx context.Context, customerID string) ([]string, error) {
	return s.strings(ctx, "purchased skus", `SELECT DISTINCT i.sku FROM order_items i JOIN orders o ON o.number = i.order_number
		WHERE o.customer_id = ? AND o.status <> 'cancelled' ORDER BY i.sku`, customerID)
}

// RecordImpressions stores that skus were shown in a conversation (source: "recommend", "similar", ...).
func (s *Store) RecordImpressions(ctx context.Context, convID, customerID string, skus []string, source string) error {
	if _, err := s.writer(); err != nil {
		return fmt.Errorf("kb: record impressions: %w", err)
	}
	if convID == "" {
		return fmt.Errorf("kb: record impressions: %w: empty conversation id", ErrInvalid)
	}
	if len(skus) == 0 {
		return nil
	}
	at := s.now().UnixMilli()
	return s.groupWrite(ctx, "record impressions", func(ctx context.Context, tx *sql.Tx) error {
		for _, sku := range skus {
			if _, err := tx.ExecContext(ctx, `INSERT INTO impressions(conv_id, customer_id, sku, source, at) VALUES (?, ?, ?, ?, ?)`,
				convID, customerID, sku, source, at); err != nil {
				return s.wrapErr("record impressions", err)
			}
		}
		return nil
	})
}

// ShownSKUs returns the distinct SKUs shown in a conversation, in the order first shown.
func (s *Store) ShownSKUs(ctx context.Context, convID string) ([]string, error) {
	return s.strings(ctx, "shown skus", `SELECT sku FROM impressions WHERE conv_id = ? GROUP BY sku ORDER BY min(id)`, convID)
}

func (s *Store) strings(ctx context.Context, op, q string, args ...any) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrapErr(op, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, s.wrapErr(op, err)
		}
		out = append(out, v)
	}
	return out, s.wrapErr(op, rows.Err())
}

// Event is one entry of the append-only analytics log.
type Event struct {
	ID         int64           `json:"id"`
	At         time.Time       `json:"at"`
	Kind       string          `json:"kind"` // conversation_started, intent, fallback, handoff, csat, ...
	ConvID     string          `json:"conv_id,omitempty"`
	CustomerID string          `json:"customer_id,omitempty"`
	Data       json.RawMessage `json:"data,omitempty"` // a JSON object
}

// AppendEvent adds an event to the log (At defaults to now).
func (s *Store) AppendEvent(ctx context.Context, e Event) error {
	w, err := s.writer()
	if err != nil {
		return fmt.Errorf("kb: append event: %w", err)
	}
	if e.Kind == "" {
		return fmt.Errorf("kb: append event: %w: empty kind", ErrInvalid)
	}
	if e.At.IsZero() {
		e.At = s.now()
	}
	data := string(e.Data)
	if data == "" {
		data = "{}"
	}
	_, err = w.ExecContext(ctx, `INSERT INTO events(at, kind, conv_id, customer_id, data) VALUES (?, ?, ?, ?, ?)`,
		ms(e.At), e.Kind, e.ConvID, e.CustomerID, data)
	return s.wrapErr("append event", err)
}

// Events returns up to limit events of a kind (all kinds when empty) at or after since, oldest first.
func (s *Store) Events(ctx context.Context, kind string, since time.Time, limit int) ([]Event, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, at, kind, conv_id, customer_id, data FROM events
		WHERE (? = '' OR kind = ?) AND at >= ? ORDER BY id LIMIT ?`, kind, kind, ms(since), limit)
	if err != nil {
		return nil, s.wrapErr("events", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at int64
		var data string
		if err := rows.Scan(&e.ID, &at, &e.Kind, &e.ConvID, &e.CustomerID, &data); err != nil {
			return nil, s.wrapErr("events", err)
		}
		e.At, e.Data = fromMS(at), json.RawMessage(data)
		out = append(out, e)
	}
	return out, s.wrapErr("events", rows.Err())
}
