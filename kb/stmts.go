package kb

import (
	"context"
	"database/sql"
	"fmt"
)

// readStmts are the prepared statements of the hot paths. Reader statements run on the reader pool,
// append statements on the writer (used inside transactions through tx.Stmt).
type readStmts struct {
	conversation   *sql.Stmt
	messagesAfter  *sql.Stmt
	messagesBefore *sql.Stmt
	orderByKey     *sql.Stmt
	orderItems     *sql.Stmt
	orderShipments *sql.Stmt
	faqSearch      *sql.Stmt
	faqTermDF      *sql.Stmt

	appendDedup     *sql.Stmt
	appendBump      *sql.Stmt
	appendBumpState *sql.Stmt
	appendUnbump    *sql.Stmt
	appendInsert    *sql.Stmt

	all []*sql.Stmt
}

func (s *Store) prepare(ctx context.Context) error {
	st := &s.stmts
	prep := func(db *sql.DB, dst **sql.Stmt, q string) error {
		stmt, err := db.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("kb: prepare %q: %w", q, err)
		}
		*dst = stmt
		st.all = append(st.all, stmt)
		return nil
	}
	reads := []struct {
		dst **sql.Stmt
		q   string
	}{
		{&st.conversation, `SELECT id, customer_id, locale, status, last_seq, state, created_at, updated_at FROM conversations WHERE id = ?`},
		{&st.messagesAfter, `SELECT ` + messageColumns + ` FROM messages WHERE conv_id = ? AND seq > ? ORDER BY seq LIMIT ?`},
		{&st.messagesBefore, `SELECT ` + messageColumns + ` FROM messages WHERE conv_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`},
		{&st.orderByKey, `SELECT ` + orderColumns + ` FROM orders WHERE number_key = ? OR (? <> '' AND digits_key = ?) LIMIT 20`},
		{&st.orderItems, `SELECT sku, name, quantity, unit_price_minor FROM order_items WHERE order_number = ? ORDER BY line`},
		{&st.orderShipments, `SELECT carrier, tracking_number, status, shipped_at, estimated_delivery, delivered_at FROM shipments WHERE order_number = ? ORDER BY shipped_at, tracking_number`},
		{&st.faqSearch, faqSearchSQL},
		{&st.faqTermDF, `SELECT count(*) FROM (SELECT rowid FROM faqs_fts WHERE faqs_fts MATCH ? LIMIT ?)`},
	}
	for _, r := range reads {
		if err := prep(s.r, r.dst, r.q); err != nil {
			return err
		}
	}
	if s.w == nil {
		return nil
	}
	writes := []struct {
		dst **sql.Stmt
		q   string
	}{
		{&st.appendDedup, `SELECT ` + messageColumns + ` FROM messages WHERE conv_id = ? AND sender = ? AND client_id = ?`},
		{&st.appendBump, `UPDATE conversations SET last_seq = last_seq + 1, updated_at = ? WHERE id = ? RETURNING last_seq`},
		{&st.appendBumpState, `UPDATE conversations SET last_seq = last_seq + 1, updated_at = ?, state = ? WHERE id = ? RETURNING last_seq`},
		{&st.appendUnbump, `UPDATE conversations SET last_seq = last_seq - 1 WHERE id = ?`},
		{&st.appendInsert, `INSERT INTO messages(` + messageColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (conv_id, sender, client_id) WHERE client_id <> '' DO NOTHING`},
	}
	for _, r := range writes {
		if err := prep(s.w, r.dst, r.q); err != nil {
			return err
		}
	}
	return nil
}

func (st *readStmts) close() {
	for _, s := range st.all {
		s.Close()
	}
	st.all = nil
}
