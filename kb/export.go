package kb

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Export writes every record of kind in format, in the shape Import reads back.
func (s *Store) Export(ctx context.Context, kind Kind, format Format, w io.Writer) error {
	var records any
	var header []string
	var rows [][]string
	switch kind {
	case KindProducts:
		ps, err := s.ListProducts(ctx)
		if err != nil {
			return err
		}
		records = ps
		attrs := attrColumns(ps)
		header = []string{"sku", "name", "category", "price", "currency", "stock", "description", "image_url", "active"}
		for _, a := range attrs {
			header = append(header, "attr."+a)
		}
		for _, p := range ps {
			row := []string{p.SKU, p.Name, p.Category, money(p.Price), p.Currency, strconv.Itoa(p.Stock), p.Description, p.ImageURL, strconv.FormatBool(p.Active)}
			for _, a := range attrs {
				row = append(row, p.Attributes[a])
			}
			rows = append(rows, row)
		}
	case KindCustomers:
		cs, err := s.ListCustomers(ctx)
		if err != nil {
			return err
		}
		records = cs
		header = csvHeader(KindCustomers)
		for _, c := range cs {
			rows = append(rows, []string{c.ID, c.Email, c.FirstName, c.LastName, c.Phone, c.Locale, c.Address.Name, c.Address.Line1,
				c.Address.Line2, c.Address.City, c.Address.Postcode, c.Address.Country, tstr(c.CreatedAt)})
		}
	case KindOrders:
		os, err := s.queryOrders(ctx, `SELECT `+orderColumns+` FROM orders ORDER BY placed_at, number`)
		if err != nil {
			return err
		}
		records = os
		header = csvHeader(KindOrders)
		for _, o := range os {
			n := max(len(o.Items), len(o.Shipments), 1)
			for i := 0; i < n; i++ {
				row := make([]string, 0, len(header))
				if i == 0 {
					row = append(row, o.Number, o.CustomerID, o.Status, o.Email, tstr(o.PlacedAt), o.Currency, money(o.Total),
						o.Address.Name, o.Address.Line1, o.Address.Line2, o.Address.City, o.Address.Postcode, o.Address.Country)
				} else {
					row = append(row, o.Number, "", "", "", "", "", "", "", "", "", "", "", "")
				}
				if i < len(o.Items) {
					it := o.Items[i]
					row = append(row, it.SKU, it.Name, strconv.Itoa(it.Quantity), money(it.UnitPrice))
				} else {
					row = append(row, "", "", "", "")
				}
				if i < len(o.Shipments) {
					sh := o.Shipments[i]
					row = append(row, sh.Carrier, sh.TrackingNumber, sh.Status, tstr(sh.ShippedAt), tstr(sh.EstimatedDelivery), tstr(sh.DeliveredAt))
				} else {
					row = append(row, "", "", "", "", "", "")
				}
				rows = append(rows, row)
			}
		}
	case KindFAQs:
		fs, err := s.ListFAQs(ctx)
		if err != nil {
			return err
		}
		records = fs
		header = csvHeader(KindFAQs)
		for _, f := range fs {
			rows = append(rows, []string{f.Key, f.Question, f.Answer, f.Locale, strings.Join(f.Variants, " | "), strings.Join(f.Tags, ", "), strconv.FormatBool(f.Enabled)})
		}
	case KindAnswers:
		ts, err := s.AnswerTemplates(ctx)
		if err != nil {
			return err
		}
		records = ts
		header = csvHeader(KindAnswers)
		for _, t := range ts {
			rows = append(rows, []string{t.Intent, t.Text, t.Locale})
		}
	default:
		return fmt.Errorf("kb: export: %w: kind %q", ErrInvalid, kind)
	}
	switch format {
	case FormatCSV:
		cw := csv.NewWriter(w)
		cw.Write(header)
		cw.WriteAll(rows)
		if err := cw.Error(); err != nil {
			return fmt.Errorf("kb: export %s: %w", kind, err)
		}
		return nil
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(records); err != nil {
			return fmt.Errorf("kb: export %s: %w", kind, err)
		}
		return nil
	case FormatYAML:
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(records); err != nil {
			return fmt.Errorf("kb: export %s: %w", kind, err)
		}
		return enc.Close()
	}
	return fmt.Errorf("kb: export: %w: format %q", ErrInvalid, format)
}

func csvHeader(k Kind) []string {
	out := make([]string, 0, len(csvColumns[k]))
	for _, c := range csvColumns[k] {
		out = append(out, strings.TrimSuffix(c, "*"))
	}
	return out
}

func money(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

func tstr(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// ListCustomers returns every customer ordered by id.
func (s *Store) ListCustomers(ctx context.Context) ([]Customer, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+customerColumns+` FROM customers ORDER BY id`)
	if err != nil {
		return nil, s.wrapErr("list customers", err)
	}
	defer rows.Close()
	var out []Customer
	for rows.Next() {
		c, err := scanCustomer(rows)
		if err != nil {
			return nil, s.wrapErr("list customers", err)
		}
		out = append(out, c)
	}
	return out, s.wrapErr("list customers", rows.Err())
}

// ListFAQs returns every FAQ (enabled or not) ordered by key and locale.
func (s *Store) ListFAQs(ctx context.Context) ([]FAQ, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, key, locale, question, variants, answer, tags, enabled FROM faqs ORDER BY key, locale`)
	if err != nil {
		return nil, s.wrapErr("list faqs", err)
	}
	defer rows.Close()
	var out []FAQ
	for rows.Next() {
		var f FAQ
		var variants, tags string
		if err := rows.Scan(&f.ID, &f.Key, &f.Locale, &f.Question, &variants, &f.Answer, &tags, &f.Enabled); err != nil {
			return nil, s.wrapErr("list faqs", err)
		}
		f.Variants = splitList(variants, "\n")
		f.Tags = splitList(tags, ",")
		out = append(out, f)
	}
	return out, s.wrapErr("list faqs", rows.Err())
}
