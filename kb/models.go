package kb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ModelRecord is one trained model in the registry.
type ModelRecord struct {
	Kind      string          `json:"kind"`    // "intent", "recommender"
	Version   string          `json:"version"` // the model's content hash
	Path      string          `json:"path"`    // its directory
	Metrics   json.RawMessage `json:"metrics,omitempty"`
	Active    bool            `json:"active"`
	CreatedAt time.Time       `json:"created_at"`
}

// RegisterModel records a trained model (replacing the record of the same kind and version); it does
// not activate it.
func (s *Store) RegisterModel(ctx context.Context, m ModelRecord) error {
	if m.Kind == "" || m.Version == "" || m.Path == "" {
		return fmt.Errorf("kb: register model: %w: kind, version and path are required", ErrInvalid)
	}
	metrics := string(m.Metrics)
	if metrics == "" {
		metrics = "{}"
	}
	if !json.Valid([]byte(metrics)) {
		return fmt.Errorf("kb: register model: %w: metrics are not JSON", ErrInvalid)
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = s.now()
	}
	return s.inTx(ctx, "register model", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO models(kind, version, path, metrics, active, created_at) VALUES (?, ?, ?, ?, 0, ?)
			ON CONFLICT(kind, version) DO UPDATE SET path = excluded.path, metrics = excluded.metrics`,
			m.Kind, m.Version, m.Path, metrics, ms(m.CreatedAt))
		return err
	})
}

// ActivateModel makes a registered model the active one of its kind (ErrNotFound when unknown).
func (s *Store) ActivateModel(ctx context.Context, kind, version string) error {
	return s.inTx(ctx, "activate model", func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM models WHERE kind = ? AND version = ?`, kind, version).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("model %s %s: %w", kind, version, ErrNotFound)
		} else if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE models SET active = 0 WHERE kind = ? AND active = 1`, kind); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE models SET active = 1 WHERE kind = ? AND version = ?`, kind, version)
		return err
	})
}

// ActiveModel returns the active model of a kind (ErrNotFound when none is active).
func (s *Store) ActiveModel(ctx context.Context, kind string) (ModelRecord, error) {
	list, err := s.models(ctx, `WHERE kind = ? AND active = 1`, kind)
	if err != nil {
		return ModelRecord{}, err
	}
	if len(list) == 0 {
		return ModelRecord{}, fmt.Errorf("kb: active %s model: %w", kind, ErrNotFound)
	}
	return list[0], nil
}

// Models lists the registered models of a kind (all kinds when empty), newest first.
func (s *Store) Models(ctx context.Context, kind string) ([]ModelRecord, error) {
	return s.models(ctx, `WHERE ? = '' OR kind = ?`, kind, kind)
}

func (s *Store) models(ctx context.Context, where string, args ...any) ([]ModelRecord, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT kind, version, path, metrics, active, created_at FROM models `+where+` ORDER BY created_at DESC, version`, args...)
	if err != nil {
		return nil, s.wrapErr("models", err)
	}
	defer rows.Close()
	var out []ModelRecord
	for rows.Next() {
		var m ModelRecord
		var metrics string
		var created int64
		if err := rows.Scan(&m.Kind, &m.Version, &m.Path, &metrics, &m.Active, &created); err != nil {
			return nil, s.wrapErr("models", err)
		}
		m.Metrics, m.CreatedAt = json.RawMessage(metrics), fromMS(created)
		out = append(out, m)
	}
	return out, s.wrapErr("models", rows.Err())
}
