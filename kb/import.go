package kb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// ImportReport says what an import did.
type ImportReport struct {
	Kind    Kind   `json:"kind"`
	File    string `json:"file"`
	Rows    int    `json:"rows"`    // records in the file (orders: orders, not CSV lines)
	Created int    `json:"created"` // new records
	Updated int    `json:"updated"` // records that existed and were replaced
}

// ImportFile imports a file, picking the format from its extension. See Import.
func (s *Store) ImportFile(ctx context.Context, kind Kind, path string) (ImportReport, error) {
	format, err := FormatFromPath(path)
	if err != nil {
		return ImportReport{}, fmt.Errorf("kb: import: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return ImportReport{}, fmt.Errorf("kb: import: %w", err)
	}
	defer f.Close()
	return s.Import(ctx, kind, format, path, f)
}

// Import reads a file of kind in format, validates every record and, only when all are valid, applies
// them in one transaction: records are upserted by their natural key (product SKU, customer id, order
// number, FAQ key and locale, template intent and locale), so importing the same file twice changes
// nothing the second time. A rejected file gives an *ImportError listing every bad row as
// file:line: reason, and nothing is changed. name labels the rows in errors.
func (s *Store) Import(ctx context.Context, kind Kind, format Format, name string, r io.Reader) (ImportReport, error) {
	return s.importData(ctx, kind, format, name, r, 0)
}

// importData is Import with every order and customer date moved by shift (for the demo).
func (s *Store) importData(ctx context.Context, kind Kind, format Format, name string, r io.Reader, shift time.Duration) (ImportReport, error) {
	w, err := s.writer()
	if err != nil {
		return ImportReport{}, fmt.Errorf("kb: import %s: %w", name, err)
	}
	data, err := readAll(name, r)
	if err != nil {
		return ImportReport{}, err
	}
	rep := ImportReport{Kind: kind, File: name}
	e := &errs{file: name}
	var apply func(tx *sql.Tx) error
	switch kind {
	case KindProducts:
		rows := parseProducts(e, data, format)
		rep.Rows = len(rows)
		apply = func(tx *sql.Tx) error { return s.applyProducts(ctx, tx, rows, &rep) }
	case KindCustomers:
		rows := parseCustomers(e, data, format)
		rep.Rows = len(rows)
		for i := range rows {
			if !rows[i].v.CreatedAt.IsZero() {
				rows[i].v.CreatedAt = rows[i].v.CreatedAt.Add(shift)
			}
		}
		apply = func(tx *sql.Tx) error { return s.applyCustomers(ctx, tx, rows, &rep) }
	case KindOrders:
		rows := parseOrders(e, data, format)
		rep.Rows = len(rows)
		for i := range rows {
			shiftOrder(&rows[i].v, shift)
		}
		apply = func(tx *sql.Tx) error { return s.applyOrders(ctx, tx, rows, &rep, e) }
	case KindFAQs:
		rows := parseFAQs(e, data, format)
		rep.Rows = len(rows)
		apply = func(tx *sql.Tx) error { return s.applyFAQs(ctx, tx, rows, &rep) }
	case KindAnswers:
		rows := parseAnswers(e, data, format)
		rep.Rows = len(rows)
		apply = func(tx *sql.Tx) error { return s.applyAnswers(ctx, tx, rows, &rep) }
	default:
		return ImportReport{}, fmt.Errorf("kb: import %s: %w: kind %q", name, ErrInvalid, kind)
	}
	if err := e.err(); err != nil {
		return ImportReport{}, err
	}
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return ImportReport{}, s.wrapErr("import "+name, err)
	}
	defer tx.Rollback()
	if err := apply(tx); err != nil {
		var ie *ImportError
		if errors.As(err, &ie) {
			return ImportReport{}, err
		}
		return ImportReport{}, s.wrapErr("import "+name, err)
	}
	err = tx.Commit()
	if kind == KindAnswers {
		s.templates.invalidate()
	}
	if err != nil {
		return ImportReport{}, s.wrapErr("import "+name, err)
	}
	s.log.Info("kb: imported", "kind", kind, "file", name, "rows", rep.Rows, "created", rep.Created, "updated", rep.Updated)
	return rep, nil
}

// exists counts the record as created or updated.
func exists(ctx context.Context, tx *sql.Tx, rep *ImportReport, q string, args ...any) error {
	var one int
	err := tx.QueryRowContext(ctx, q, args...).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		rep.Created++
	case err != nil:
		return err
	default:
		rep.Updated++
	}
	return nil
}

func (s *Store) applyProducts(ctx context.Context, tx *sql.Tx, rows []lined[Product], rep *ImportReport) error {
	now := s.now().UnixMilli()
	for _, r := range rows {
		p := r.v
		if err := exists(ctx, tx, rep, `SELECT 1 FROM products WHERE sku = ?`, p.SKU); err != nil {
			return err
		}
		attrs := []byte("{}")
		if len(p.Attributes) > 0 {
			attrs, _ = json.Marshal(p.Attributes)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO products(sku, name, description, category, price_minor, currency, stock, attributes, image_url, active, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(sku) DO UPDATE SET name = excluded.name, description = excluded.description, category = excluded.category,
				price_minor = excluded.price_minor, currency = excluded.currency, stock = excluded.stock, attributes = excluded.attributes,
				image_url = excluded.image_url, active = excluded.active, updated_at = excluded.updated_at`,
			p.SKU, p.Name, p.Description, p.Category, toMinor(p.Price), p.Currency, p.Stock, string(attrs), p.ImageURL, p.Active, now); err != nil {
			return fmt.Errorf("line %d: %w", r.line, err)
		}
	}
	return nil
}

func (s *Store) applyCustomers(ctx context.Context, tx *sql.Tx, rows []lined[Customer], rep *ImportReport) error {
	now := s.now().UnixMilli()
	for _, r := range rows {
		c := r.v
		if err := exists(ctx, tx, rep, `SELECT 1 FROM customers WHERE id = ?`, c.ID); err != nil {
			return err
		}
		created := ms(c.CreatedAt)
		if created == 0 {
			created = now
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO customers(`+customerColumns+`, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(id) DO UPDATE SET email = excluded.email, first_name = excluded.first_name, last_name = excluded.last_name,
				phone = excluded.phone, locale = excluded.locale, address_name = excluded.address_name,
				address_line1 = excluded.address_line1, address_line2 = excluded.address_line2, city = excluded.city,
				postcode = excluded.postcode, country = excluded.country, created_at = excluded.created_at, updated_at = excluded.updated_at`,
			c.ID, c.Email, c.FirstName, c.LastName, c.Phone, c.Locale, c.Address.Name, c.Address.Line1, c.Address.Line2,
			c.Address.City, c.Address.Postcode, c.Address.Country, created, now); err != nil {
			return fmt.Errorf("line %d: %w", r.line, err)
		}
	}
	return nil
}

func (s *Store) applyOrders(ctx context.Context, tx *sql.Tx, rows []lined[Order], rep *ImportReport, e *errs) error {
	// Checks against what is stored, inside the transaction: customers exist, number keys are free.
	for _, r := range rows {
		o := r.v
		if o.CustomerID != "" {
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM customers WHERE id = ?`, o.CustomerID).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				e.add(r.line, "customer_id %q: no such customer (import customers first)", o.CustomerID)
			} else if err != nil {
				return err
			}
		}
		var other string
		err := tx.QueryRowContext(ctx, `SELECT number FROM orders WHERE number_key = ? AND number <> ?`, NormalizeOrderNumber(o.Number), o.Number).Scan(&other)
		if err == nil {
			e.add(r.line, "number %q collides with stored order %q once '#', '-' and case are ignored", o.Number, other)
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	if err := e.err(); err != nil {
		return err
	}
	now := s.now().UnixMilli()
	for _, r := range rows {
		o := r.v
		if err := exists(ctx, tx, rep, `SELECT 1 FROM orders WHERE number = ?`, o.Number); err != nil {
			return err
		}
		key := NormalizeOrderNumber(o.Number)
		var cust any
		if o.CustomerID != "" {
			cust = o.CustomerID
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO orders(number, number_key, digits_key, customer_id, status, email, address_name,
				address_line1, address_line2, city, postcode, country, total_minor, currency, placed_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(number) DO UPDATE SET number_key = excluded.number_key, digits_key = excluded.digits_key,
				customer_id = excluded.customer_id, status = excluded.status, email = excluded.email,
				address_name = excluded.address_name, address_line1 = excluded.address_line1, address_line2 = excluded.address_line2,
				city = excluded.city, postcode = excluded.postcode, country = excluded.country, total_minor = excluded.total_minor,
				currency = excluded.currency, placed_at = excluded.placed_at, updated_at = excluded.updated_at`,
			o.Number, key, orderDigits(key, false), cust, o.Status, strings.ToLower(o.Email), o.Address.Name, o.Address.Line1,
			o.Address.Line2, o.Address.City, o.Address.Postcode, o.Address.Country, toMinor(o.Total), o.Currency, ms(o.PlacedAt), now); err != nil {
			return fmt.Errorf("line %d: %w", r.line, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM order_items WHERE order_number = ?`, o.Number); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM shipments WHERE order_number = ?`, o.Number); err != nil {
			return err
		}
		for i, it := range o.Items {
			if _, err := tx.ExecContext(ctx, `INSERT INTO order_items(order_number, line, sku, name, quantity, unit_price_minor) VALUES (?, ?, ?, ?, ?, ?)`,
				o.Number, i+1, it.SKU, it.Name, it.Quantity, toMinor(it.UnitPrice)); err != nil {
				return fmt.Errorf("line %d: %w", r.line, err)
			}
		}
		for _, sh := range o.Shipments {
			if _, err := tx.ExecContext(ctx, `INSERT INTO shipments(order_number, tracking_number, carrier, status, shipped_at, estimated_delivery, delivered_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, o.Number, sh.TrackingNumber, sh.Carrier, sh.Status, nullMS(sh.ShippedAt),
				nullMS(sh.EstimatedDelivery), nullMS(sh.DeliveredAt)); err != nil {
				return fmt.Errorf("line %d: %w", r.line, err)
			}
		}
	}
	return nil
}

func (s *Store) applyFAQs(ctx context.Context, tx *sql.Tx, rows []lined[FAQ], rep *ImportReport) error {
	now := s.now().UnixMilli()
	for _, r := range rows {
		f := r.v
		if err := exists(ctx, tx, rep, `SELECT 1 FROM faqs WHERE key = ? AND locale = ?`, f.Key, f.Locale); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO faqs(key, locale, question, variants, answer, tags, enabled, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(key, locale) DO UPDATE SET question = excluded.question, variants = excluded.variants,
				answer = excluded.answer, tags = excluded.tags, enabled = excluded.enabled, updated_at = excluded.updated_at`,
			f.Key, f.Locale, f.Question, strings.Join(f.Variants, "\n"), f.Answer, strings.Join(f.Tags, ","), f.Enabled, now); err != nil {
			return fmt.Errorf("line %d: %w", r.line, err)
		}
	}
	return nil
}

func (s *Store) applyAnswers(ctx context.Context, tx *sql.Tx, rows []lined[Template], rep *ImportReport) error {
	now := s.now().UnixMilli()
	for _, r := range rows {
		t := r.v
		if err := exists(ctx, tx, rep, `SELECT 1 FROM answer_templates WHERE intent = ? AND locale = ?`, t.Intent, t.Locale); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO answer_templates(intent, locale, text, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT(intent, locale) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at`,
			t.Intent, t.Locale, t.Text, now); err != nil {
			return fmt.Errorf("line %d: %w", r.line, err)
		}
	}
	return nil
}
