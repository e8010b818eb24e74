package kb

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode"
)

const orderColumns = `number, customer_id, status, email, address_name, address_line1, address_line2, city, postcode, country, total_minor, currency, placed_at`

// NormalizeOrderNumber returns the lookup key of an order number: upper case, without '#', '-', '/',
// '.' and white space ("#a-10023 " -> "A10023").
func NormalizeOrderNumber(n string) string {
	var b strings.Builder
	for _, r := range n {
		switch {
		case r == '#' || r == '-' || r == '/' || r == '.' || r == '_' || unicode.IsSpace(r):
		default:
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	return b.String()
}

// orderDigits returns the digits of a key, or "" when the key has anything but digits.
func orderDigits(key string, onlyDigits bool) string {
	var b strings.Builder
	for _, r := range key {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else if onlyDigits {
			return ""
		}
	}
	return b.String()
}

// NormalizePostcode returns a postcode for comparison: upper case, without spaces and dashes.
func NormalizePostcode(p string) string {
	var b strings.Builder
	for _, r := range p {
		if unicode.IsSpace(r) || r == '-' {
			continue
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

func toMinor(v float64) int64   { return int64(math.Round(v * 100)) }
func fromMinor(v int64) float64 { return float64(v) / 100 }

// LookupOrder returns the order q.Number to a verified requester: q.CustomerID owns the order, or
// q.Email or q.Postcode matches the order's. An unknown number and an unverified requester both give
// ErrNotFound, after the same work; after Config.LookupMaxFailures failures within Config.LookupWindow
// for the same q.Requester (or the same order number), every lookup gives ErrTooManyAttempts until the
// window has passed.
func (s *Store) LookupOrder(ctx context.Context, q OrderQuery) (Order, error) {
	key := NormalizeOrderNumber(q.Number)
	now := s.now()
	requester := "r:" + q.Requester
	number := "n:" + key
	byRequester, _ := s.limiter.Blocked(requester, now)
	byNumber, _ := s.limiter.Blocked(number, now)
	if byRequester || byNumber {
		return Order{}, fmt.Errorf("kb: lookup order: %w", ErrTooManyAttempts)
	}
	o, err := s.lookupOrder(ctx, key, q)
	if errors.Is(err, ErrNotFound) {
		s.limiter.Fail(requester, now)
		if key != "" {
			s.limiter.Fail(number, now)
		}
	}
	return o, err
}

func (s *Store) lookupOrder(ctx context.Context, key string, q OrderQuery) (Order, error) {
	notFound := fmt.Errorf("kb: lookup order: %w", ErrNotFound)
	if key == "" || len(key) > 64 {
		return Order{}, notFound
	}
	digits := orderDigits(key, true)
	rows, err := s.stmts.orderByKey.QueryContext(ctx, key, digits, digits)
	if err != nil {
		return Order{}, s.wrapErr("lookup order", err)
	}
	var candidates []Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			rows.Close()
			return Order{}, s.wrapErr("lookup order", err)
		}
		candidates = append(candidates, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Order{}, s.wrapErr("lookup order", err)
	}
	// The exact key wins over a digits-only match.
	for i, o := range candidates {
		if NormalizeOrderNumber(o.Number) == key && i != 0 {
			candidates[0], candidates[i] = candidates[i], candidates[0]
		}
	}
	for _, o := range candidates {
		if verified(o, q) {
			if err := s.loadOrderDetails(ctx, &o); err != nil {
				return Order{}, err
			}
			return o, nil
		}
	}
	return Order{}, notFound
}

// verified says whether q may see o. Comparisons of secrets are constant-time.
func verified(o Order, q OrderQuery) bool {
	ok := false
	if q.CustomerID != "" && o.CustomerID != "" && eq(q.CustomerID, o.CustomerID) {
		ok = true
	}
	if e := strings.ToLower(strings.TrimSpace(q.Email)); e != "" && o.Email != "" && eq(e, strings.ToLower(o.Email)) {
		ok = true
	}
	if p := NormalizePostcode(q.Postcode); p != "" && o.Postcode != "" && eq(p, NormalizePostcode(o.Postcode)) {
		ok = true
	}
	return ok
}

func eq(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func scanOrder(r scanner) (Order, error) {
	var o Order
	var cust sql.NullString
	var total, placed int64
	if err := r.Scan(&o.Number, &cust, &o.Status, &o.Email, &o.Address.Name, &o.Address.Line1, &o.Address.Line2,
		&o.Address.City, &o.Address.Postcode, &o.Address.Country, &total, &o.Currency, &placed); err != nil {
		return Order{}, err
	}
	o.CustomerID = cust.String
	o.Total = fromMinor(total)
	o.PlacedAt = fromMS(placed)
	o.Postcode = o.Address.Postcode
	return o, nil
}

func (s *Store) loadOrderDetails(ctx context.Context, o *Order) error {
	rows, err := s.stmts.orderItems.QueryContext(ctx, o.Number)
	if err != nil {
		return s.wrapErr("order items", err)
	}
	o.Items = o.Items[:0]
	for rows.Next() {
		var it OrderItem
		var price int64
		if err := rows.Scan(&it.SKU, &it.Name, &it.Quantity, &price); err != nil {
			rows.Close()
			return s.wrapErr("order items", err)
		}
		it.UnitPrice = fromMinor(price)
		o.Items = append(o.Items, it)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s.wrapErr("order items", err)
	}
	rows, err = s.stmts.orderShipments.QueryContext(ctx, o.Number)
	if err != nil {
		return s.wrapErr("order shipments", err)
	}
	defer rows.Close()
	o.Shipments = nil
	for rows.Next() {
		var sh Shipment
		var shipped, eta, delivered sql.NullInt64
		if err := rows.Scan(&sh.Carrier, &sh.TrackingNumber, &sh.Status, &shipped, &eta, &delivered); err != nil {
			return s.wrapErr("order shipments", err)
		}
		sh.ShippedAt, sh.EstimatedDelivery, sh.DeliveredAt = fromNullMS(shipped), fromNullMS(eta), fromNullMS(delivered)
		o.Shipments = append(o.Shipments, sh)
	}
	return s.wrapErr("order shipments", rows.Err())
}

// RecentOrders returns up to limit (default 5) orders of a customer, newest first, with items and
// shipments. It is for a requester already verified as customerID (a signed-in customer); an unknown
// customer gives an empty list.
func (s *Store) RecentOrders(ctx context.Context, customerID string, limit int) ([]Order, error) {
	if customerID == "" {
		return nil, nil
	}
	if limit <= 0 {
		limit = 5
	}
	return s.queryOrders(ctx, `SELECT `+orderColumns+` FROM orders WHERE customer_id = ? ORDER BY placed_at DESC LIMIT ?`, customerID, limit)
}

func (s *Store) queryOrders(ctx context.Context, q string, args ...any) ([]Order, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrapErr("orders", err)
	}
	var out []Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			rows.Close()
			return nil, s.wrapErr("orders", err)
		}
		out = append(out, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.wrapErr("orders", err)
	}
	for i := range out {
		if err := s.loadOrderDetails(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}
