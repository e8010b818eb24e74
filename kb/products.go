package kb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

const productColumns = `sku, name, description, category, price_minor, currency, stock, attributes, image_url, active`

func scanProduct(r scanner) (Product, error) {
	var p Product
	var price int64
	var attrs string
	if err := r.Scan(&p.SKU, &p.Name, &p.Description, &p.Category, &price, &p.Currency, &p.Stock, &attrs, &p.ImageURL, &p.Active); err != nil {
		return Product{}, err
	}
	p.Price = fromMinor(price)
	if attrs != "" && attrs != "{}" {
		if err := json.Unmarshal([]byte(attrs), &p.Attributes); err != nil {
			return Product{}, fmt.Errorf("product %s: attributes: %w", p.SKU, err)
		}
	}
	return p, nil
}

// ProductBySKU returns the product (active or not) or ErrNotFound. The SKU is matched without regard
// to case.
func (s *Store) ProductBySKU(ctx context.Context, sku string) (Product, error) {
	p, err := scanProduct(s.r.QueryRowContext(ctx, `SELECT `+productColumns+` FROM products WHERE sku = ? OR sku = upper(?) LIMIT 1`,
		strings.TrimSpace(sku), strings.TrimSpace(sku)))
	if errors.Is(err, sql.ErrNoRows) {
		return Product{}, fmt.Errorf("kb: product %q: %w", sku, ErrNotFound)
	}
	if err != nil {
		return Product{}, s.wrapErr("product", err)
	}
	return p, nil
}

// FindProducts returns up to limit (default 10) active products matching query: an exact SKU first,
// then full-text matches over SKU, name, category, description and attributes ranked by BM25 with all
// words required, falling back to any word when that finds nothing.
func (s *Store) FindProducts(ctx context.Context, query string, limit int) ([]Product, error) {
	if limit <= 0 {
		limit = 10
	}
	query = strings.TrimSpace(query)
	out, seen := exactSKUFirst(ctx, query, s.ProductBySKU)
	anyWord := ftsQuery(query, 16)
	if anyWord == "" {
		return out, nil
	}
	for _, match := range []string{strings.ReplaceAll(anyWord, " OR ", " AND "), anyWord} {
		rows, err := s.r.QueryContext(ctx, `SELECT p.sku, p.name, p.description, p.category, p.price_minor, p.currency, p.stock,
			p.attributes, p.image_url, p.active
			FROM products_fts JOIN products p ON p.rowid = products_fts.rowid
			WHERE products_fts MATCH ? AND p.active = 1
			ORDER BY bm25(products_fts, 10.0, 8.0, 3.0, 1.0, 2.0) LIMIT ?`, match, limit)
		if err != nil {
			return nil, s.wrapErr("find products", err)
		}
		for rows.Next() {
			p, err := scanProduct(rows)
			if err != nil {
				rows.Close()
				return nil, s.wrapErr("find products", err)
			}
			if !seen[p.SKU] && len(out) < limit {
				seen[p.SKU] = true
				out = append(out, p)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, s.wrapErr("find products", err)
		}
		if len(out) > 0 {
			break
		}
	}
	return out, nil
}

// ListProducts returns every product, active and inactive, ordered by SKU.
func (s *Store) ListProducts(ctx context.Context) ([]Product, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+productColumns+` FROM products ORDER BY sku`)
	if err != nil {
		return nil, s.wrapErr("list products", err)
	}
	defer rows.Close()
	var out []Product
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			return nil, s.wrapErr("list products", err)
		}
		out = append(out, p)
	}
	return out, s.wrapErr("list products", rows.Err())
}
