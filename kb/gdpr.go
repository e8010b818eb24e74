package kb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ForgetReport says what ForgetCustomer erased.
type ForgetReport struct {
	CustomerID    string `json:"customer_id"`
	Customer      bool   `json:"customer"`      // the customer record was deleted
	Conversations int    `json:"conversations"` // deleted with their messages
	Orders        int    `json:"orders"`        // anonymised (kept for accounting, personal data removed)
	Interactions  int    `json:"interactions"`
	Impressions   int    `json:"impressions"`
	Events        int    `json:"events"`
}

// ForgetCustomer erases a customer's personal data (GDPR art. 17) in one transaction: the customer
// record, their conversations and messages, recommender signals and analytics events are deleted;
// their orders are kept for accounting but anonymised (no customer link, email, name or street address).
// Deleted content is overwritten on disk (secure_delete) and the WAL is checkpointed. ErrNotFound when
// nothing is known about the id.
func (s *Store) ForgetCustomer(ctx context.Context, id string) (ForgetReport, error) {
	rep := ForgetReport{CustomerID: id}
	w, err := s.writer()
	if err != nil {
		return rep, fmt.Errorf("kb: forget customer: %w", err)
	}
	if strings.TrimSpace(id) == "" {
		return rep, fmt.Errorf("kb: forget customer: %w: empty id", ErrInvalid)
	}
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return rep, s.wrapErr("forget customer", err)
	}
	defer tx.Rollback()
	var email string
	err = tx.QueryRowContext(ctx, `SELECT email FROM customers WHERE id = ?`, id).Scan(&email)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return rep, s.wrapErr("forget customer", err)
	}
	convs := `SELECT id FROM conversations WHERE customer_id = ?`
	steps := []struct {
		n    *int
		q    string
		args []any
	}{
		{&rep.Impressions, `DELETE FROM impressions WHERE customer_id = ? OR conv_id IN (` + convs + `)`, []any{id, id}},
		{&rep.Events, `DELETE FROM events WHERE customer_id = ? OR conv_id IN (` + convs + `)`, []any{id, id}},
		{&rep.Interactions, `DELETE FROM interactions WHERE customer_id = ?`, []any{id}},
		{&rep.Conversations, `DELETE FROM conversations WHERE customer_id = ?`, []any{id}},
		{&rep.Orders, `UPDATE orders SET customer_id = NULL, email = '', address_name = '', address_line1 = '', address_line2 = '',
			city = '', postcode = '', updated_at = ? WHERE customer_id = ? OR (? <> '' AND email = lower(?))`, []any{s.now().UnixMilli(), id, email, email}},
	}
	for _, st := range steps {
		res, err := tx.ExecContext(ctx, st.q, st.args...)
		if err != nil {
			return rep, s.wrapErr("forget customer", err)
		}
		n, _ := res.RowsAffected()
		*st.n = int(n)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM customers WHERE id = ?`, id)
	if err != nil {
		return rep, s.wrapErr("forget customer", err)
	}
	n, _ := res.RowsAffected()
	rep.Customer = n > 0
	if !rep.Customer && rep.Conversations == 0 && rep.Orders == 0 && rep.Interactions == 0 && rep.Impressions == 0 && rep.Events == 0 {
		return rep, fmt.Errorf("kb: forget customer %q: %w", id, ErrNotFound)
	}
	// An audit record without personal data.
	if _, err := tx.ExecContext(ctx, `INSERT INTO events(at, kind, data) VALUES (?, 'customer_erased', json_object('conversations', ?, 'orders', ?))`,
		s.now().UnixMilli(), rep.Conversations, rep.Orders); err != nil {
		return rep, s.wrapErr("forget customer", err)
	}
	if err := tx.Commit(); err != nil {
		return rep, s.wrapErr("forget customer", err)
	}
	if _, err := w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		s.log.Warn("kb: checkpoint after erasure", "err", err)
	}
	return rep, nil
}

// ConversationExport is a conversation with its messages.
type ConversationExport struct {
	Conversation
	Messages []Message `json:"messages"`
}

// CustomerExport is everything stored about a customer (GDPR art. 15 and 20).
type CustomerExport struct {
	Customer      *Customer            `json:"customer,omitempty"`
	Orders        []Order              `json:"orders"`
	Conversations []ConversationExport `json:"conversations"`
	Interactions  []Interaction        `json:"interactions"`
	Impressions   []string             `json:"recommended_skus"`
	Events        []Event              `json:"events"`
}

// ExportCustomer returns everything stored about a customer; ErrNotFound when nothing is.
func (s *Store) ExportCustomer(ctx context.Context, id string) (CustomerExport, error) {
	var out CustomerExport
	if c, err := s.Customer(ctx, id); err == nil {
		out.Customer = &c
	} else if !errors.Is(err, ErrNotFound) {
		return out, err
	}
	email := ""
	if out.Customer != nil {
		email = strings.ToLower(out.Customer.Email)
	}
	var err error
	if out.Orders, err = s.queryOrders(ctx, `SELECT `+orderColumns+` FROM orders WHERE customer_id = ? OR (? <> '' AND email = ?) ORDER BY placed_at`, id, email, email); err != nil {
		return out, err
	}
	convs, err := s.ListConversations(ctx, id, 1_000_000)
	if err != nil {
		return out, err
	}
	for _, c := range convs {
		ce := ConversationExport{Conversation: c}
		for after := int64(0); ; {
			page, err := s.MessagesAfter(ctx, c.ID, after, 1000)
			if err != nil {
				return out, err
			}
			ce.Messages = append(ce.Messages, page...)
			if len(page) < 1000 {
				break
			}
			after = page[len(page)-1].Seq
		}
		out.Conversations = append(out.Conversations, ce)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT customer_id, sku, kind, weight, at FROM interactions WHERE customer_id = ? ORDER BY at`, id)
	if err != nil {
		return out, s.wrapErr("export customer", err)
	}
	for rows.Next() {
		var in Interaction
		var at int64
		if err := rows.Scan(&in.CustomerID, &in.SKU, &in.Kind, &in.Weight, &at); err != nil {
			rows.Close()
			return out, s.wrapErr("export customer", err)
		}
		in.At = fromMS(at)
		out.Interactions = append(out.Interactions, in)
	}
	rows.Close()
	if out.Impressions, err = s.strings(ctx, "export customer", `SELECT DISTINCT sku FROM impressions WHERE customer_id = ? ORDER BY sku`, id); err != nil {
		return out, err
	}
	rows, err = s.r.QueryContext(ctx, `SELECT id, at, kind, conv_id, customer_id, data FROM events WHERE customer_id = ? ORDER BY id`, id)
	if err != nil {
		return out, s.wrapErr("export customer", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e Event
		var at int64
		var data string
		if err := rows.Scan(&e.ID, &at, &e.Kind, &e.ConvID, &e.CustomerID, &data); err != nil {
			return out, s.wrapErr("export customer", err)
		}
		e.At, e.Data = fromMS(at), json.RawMessage(data)
		out.Events = append(out.Events, e)
	}
	if out.Customer == nil && len(out.Orders) == 0 && len(out.Conversations) == 0 && len(out.Interactions) == 0 && len(out.Events) == 0 {
		return out, fmt.Errorf("kb: export customer %q: %w", id, ErrNotFound)
	}
	return out, nil
}
