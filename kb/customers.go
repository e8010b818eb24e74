package kb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

const customerColumns = `id, email, first_name, last_name, phone, locale, address_name, address_line1, address_line2, city, postcode, country, created_at`

func scanCustomer(r scanner) (Customer, error) {
	var c Customer
	var created int64
	if err := r.Scan(&c.ID, &c.Email, &c.FirstName, &c.LastName, &c.Phone, &c.Locale, &c.Address.Name, &c.Address.Line1,
		&c.Address.Line2, &c.Address.City, &c.Address.Postcode, &c.Address.Country, &created); err != nil {
		return Customer{}, err
	}
	c.CreatedAt = fromMS(created)
	return c, nil
}

// Customer returns the customer or ErrNotFound.
func (s *Store) Customer(ctx context.Context, id string) (Customer, error) {
	c, err := scanCustomer(s.r.QueryRowContext(ctx, `SELECT `+customerColumns+` FROM customers WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Customer{}, fmt.Errorf("kb: customer %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Customer{}, s.wrapErr("customer", err)
	}
	return c, nil
}
