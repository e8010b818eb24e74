package kb

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed pgmigrations/*.sql
var pgMigrations embed.FS

// PGConfig configures a PostgreSQL store, the shared store of a cluster of nodes.
type PGConfig struct {
	// DSN is a PostgreSQL connection string (postgres://user@host:5432/db?sslmode=disable).
	DSN string
	// Schema, when set, is created if missing and used as the search path (tests use one per run).
	Schema string
	// MaxConns bounds the pool (default 16).
	MaxConns int32
	// Logger receives the store's logs (default: discard).
	Logger *slog.Logger
	// LookupMaxFailures and LookupWindow limit failed order lookups per requester and per order number,
	// counted across all nodes (defaults 5 and 15 minutes, as Config's).
	LookupMaxFailures int
	LookupWindow      time.Duration
}

// PGStore keeps conversations and messages in PostgreSQL so that several nodes can serve the same
// conversations. Sequence numbers stay gap-free and ordered per conversation under concurrent writers
// on different nodes: each append locks the conversation's row while it takes the next number.
// A PGStore is safe for concurrent use.
type PGStore struct {
	pool *pgxpool.Pool
	log  *slog.Logger

	lookupMax    int
	lookupWindow time.Duration
}

// OpenPostgres connects, applies the embedded migrations and returns the store.
func OpenPostgres(ctx context.Context, cfg PGConfig) (*PGStore, error) {
	if cfg.DSN == "" {
		return nil, errors.New("kb: postgres: empty DSN")
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 16
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	pc, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("kb: postgres DSN: %w", err)
	}
	pc.MaxConns = cfg.MaxConns
	if cfg.Schema != "" {
		if !validIdent(cfg.Schema) {
			return nil, fmt.Errorf("kb: postgres schema %q: letters, digits and _ only", cfg.Schema)
		}
		if pc.ConnConfig.RuntimeParams == nil {
			pc.ConnConfig.RuntimeParams = map[string]string{}
		}
		pc.ConnConfig.RuntimeParams["search_path"] = cfg.Schema
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("kb: postgres connect: %w", err)
	}
	if cfg.LookupMaxFailures <= 0 {
		cfg.LookupMaxFailures = 5
	}
	if cfg.LookupWindow <= 0 {
		cfg.LookupWindow = 15 * time.Minute
	}
	s := &PGStore{pool: pool, log: cfg.Logger, lookupMax: cfg.LookupMaxFailures, lookupWindow: cfg.LookupWindow}
	if cfg.Schema != "" {
		if _, err := pool.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+cfg.Schema); err != nil {
			pool.Close()
			return nil, fmt.Errorf("kb: postgres create schema: %w", err)
		}
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

func validIdent(s string) bool {
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

// Close releases the pool.
func (s *PGStore) Close() { s.pool.Close() }

// Ping checks the connection (for /readyz).
func (s *PGStore) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// migrate applies the embedded migrations in order under an advisory lock, so that nodes starting
// together apply each one once.
func (s *PGStore) migrate(ctx context.Context) error {
	names, err := fs.Glob(pgMigrations, "pgmigrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("kb: postgres migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(7242001)"); err != nil {
		return fmt.Errorf("kb: postgres migrate lock: %w", err)
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock(7242001)") //nolint:errcheck
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("kb: postgres migrate: %w", err)
	}
	applied := map[string]bool{}
	rows, err := conn.Query(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return fmt.Errorf("kb: postgres migrate: %w", err)
	}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		applied[v] = true
	}
	rows.Close()
	known := map[string]bool{}
	for _, n := range names {
		v := strings.TrimSuffix(strings.TrimPrefix(n, "pgmigrations/"), ".sql")
		known[v] = true
		if applied[v] {
			continue
		}
		body, err := pgMigrations.ReadFile(n)
		if err != nil {
			return err
		}
		tx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, string(body)); err != nil {
			_ = tx.Rollback(ctx)
			return fmt.Errorf("kb: postgres migration %s: %w", v, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version) VALUES ($1)", v); err != nil {
			_ = tx.Rollback(ctx)
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("kb: postgres migration %s: %w", v, err)
		}
		s.log.Info("applied migration", "version", v)
	}
	for v := range applied {
		if !known[v] {
			return fmt.Errorf("kb: postgres database has migration %s, unknown to this version of shopchat: upgrade shopchat", v)
		}
	}
	return nil
}

func newConvID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "c_" + hex.EncodeToString(b[:])
}

// CreateConversation stores c; an empty ID is filled with a new random one.
func (s *PGStore) CreateConversation(ctx context.Context, c Conversation) (Conversation, error) {
	if c.ID == "" {
		c.ID = newConvID()
	}
	if c.Status == "" {
		c.Status = "bot"
	}
	now := time.Now().UTC()
	c.CreatedAt, c.UpdatedAt, c.LastSeq = now, now, 0
	_, err := s.pool.Exec(ctx, `INSERT INTO conversations (id, customer_id, locale, status, state, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6)`, c.ID, c.CustomerID, c.Locale, c.Status, c.State, now)
	if err != nil {
		return Conversation{}, fmt.Errorf("kb: create conversation: %w", err)
	}
	return c, nil
}

// Conversation returns the conversation or ErrNotFound.
func (s *PGStore) Conversation(ctx context.Context, id string) (Conversation, error) {
	var c Conversation
	err := s.pool.QueryRow(ctx, `SELECT id, customer_id, locale, status, last_seq, state, created_at, updated_at
		FROM conversations WHERE id = $1`, id).Scan(&c.ID, &c.CustomerID, &c.Locale, &c.Status, &c.LastSeq, &c.State, &c.CreatedAt, &c.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Conversation{}, ErrNotFound
	}
	if err != nil {
		return Conversation{}, fmt.Errorf("kb: conversation %s: %w", id, err)
	}
	return c, nil
}

// SaveState replaces the dialogue state of a conversation.
func (s *PGStore) SaveState(ctx context.Context, id string, state []byte) error {
	tag, err := s.pool.Exec(ctx, `UPDATE conversations SET state = $2, updated_at = now() WHERE id = $1`, id, state)
	if err != nil {
		return fmt.Errorf("kb: save state %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// AppendMessage stores m with the next seq of its conversation, committed before it returns. A message
// whose (ConvID, Sender, ClientID) is already stored is not written again: the stored one comes back with
// duplicate == true, also when two nodes race to store it.
func (s *PGStore) AppendMessage(ctx context.Context, m Message) (Message, bool, error) {
	return s.appendMessage(ctx, m, nil, false)
}

// AppendMessageState is AppendMessage that also replaces the conversation's dialogue state (as
// SaveState does) in the same transaction. The state is saved also when m is a duplicate.
func (s *PGStore) AppendMessageState(ctx context.Context, m Message, state []byte) (Message, bool, error) {
	return s.appendMessage(ctx, m, state, true)
}

func (s *PGStore) appendMessage(ctx context.Context, m Message, state []byte, withState bool) (Message, bool, error) {
	// dupState saves the state when m turns out to be a duplicate (nothing else is written then).
	dupState := func(old Message) (Message, bool, error) {
		if withState {
			if err := s.SaveState(ctx, m.ConvID, state); err != nil {
				return Message{}, false, err
			}
		}
		return old, true, nil
	}
	if m.ClientID != "" {
		if old, err := s.messageByClientID(ctx, m); err == nil {
			return dupState(old)
		} else if !errors.Is(err, ErrNotFound) {
			return Message{}, false, err
		}
	}
	if m.Type == "" {
		m.Type = "message"
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return Message{}, false, fmt.Errorf("kb: append: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	// The row lock taken by this UPDATE orders concurrent appends to one conversation, across nodes.
	if withState {
		err = tx.QueryRow(ctx, `UPDATE conversations SET last_seq = last_seq + 1, updated_at = now(), state = $2
			WHERE id = $1 RETURNING last_seq, now()`, m.ConvID, state).Scan(&m.Seq, &m.CreatedAt)
	} else {
		err = tx.QueryRow(ctx, `UPDATE conversations SET last_seq = last_seq + 1, updated_at = now()
			WHERE id = $1 RETURNING last_seq, now()`, m.ConvID).Scan(&m.Seq, &m.CreatedAt)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return Message{}, false, fmt.Errorf("kb: append to conversation %s: %w", m.ConvID, ErrNotFound)
	}
	if err != nil {
		return Message{}, false, fmt.Errorf("kb: append: %w", err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO messages (conv_id, seq, client_id, sender, agent_id, type, text, payload, intent, confidence, entities, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		m.ConvID, m.Seq, m.ClientID, m.Sender, m.AgentID, m.Type, m.Text, []byte(m.Payload), m.Intent, m.Confidence, []byte(m.Entities), m.CreatedAt)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && m.ClientID != "" {
		// Another node stored the same client message first; this transaction rolls back, so no gap.
		_ = tx.Rollback(ctx)
		old, err := s.messageByClientID(ctx, m)
		if err != nil {
			return Message{}, false, err
		}
		return dupState(old)
	}
	if err != nil {
		return Message{}, false, fmt.Errorf("kb: append: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return Message{}, false, fmt.Errorf("kb: append commit: %w", err)
	}
	m.CreatedAt = m.CreatedAt.UTC()
	return m, false, nil
}

const pgMessageCols = `conv_id, seq, client_id, sender, agent_id, type, text, payload, intent, confidence, entities, created_at`

func scanPGMessage(row pgx.Row) (Message, error) {
	var m Message
	var payload, entities []byte
	err := row.Scan(&m.ConvID, &m.Seq, &m.ClientID, &m.Sender, &m.AgentID, &m.Type, &m.Text, &payload, &m.Intent, &m.Confidence, &entities, &m.CreatedAt)
	if len(payload) > 0 {
		m.Payload = payload
	}
	if len(entities) > 0 {
		m.Entities = entities
	}
	m.CreatedAt = m.CreatedAt.UTC()
	return m, err
}

func (s *PGStore) messageByClientID(ctx context.Context, m Message) (Message, error) {
	old, err := scanPGMessage(s.pool.QueryRow(ctx, `SELECT `+pgMessageCols+` FROM messages
		WHERE conv_id = $1 AND sender = $2 AND client_id = $3`, m.ConvID, m.Sender, m.ClientID))
	if errors.Is(err, pgx.ErrNoRows) {
		return Message{}, ErrNotFound
	}
	if err != nil {
		return Message{}, fmt.Errorf("kb: message lookup: %w", err)
	}
	return old, nil
}

// MessagesAfter returns up to limit messages with seq > afterSeq, in seq order.
func (s *PGStore) MessagesAfter(ctx context.Context, convID string, afterSeq int64, limit int) ([]Message, error) {
	return s.queryMessages(ctx, `SELECT `+pgMessageCols+` FROM messages WHERE conv_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, convID, afterSeq, limit)
}

// MessagesBefore returns up to limit messages with seq < beforeSeq, in seq order.
func (s *PGStore) MessagesBefore(ctx context.Context, convID string, beforeSeq int64, limit int) ([]Message, error) {
	ms, err := s.queryMessages(ctx, `SELECT `+pgMessageCols+` FROM messages WHERE conv_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`, convID, beforeSeq, limit)
	for i, j := 0, len(ms)-1; i < j; i, j = i+1, j-1 {
		ms[i], ms[j] = ms[j], ms[i]
	}
	return ms, err
}

func (s *PGStore) queryMessages(ctx context.Context, q string, convID string, seq int64, limit int) ([]Message, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, q, convID, seq, limit)
	if err != nil {
		return nil, fmt.Errorf("kb: messages of %s: %w", convID, err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		m, err := scanPGMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("kb: messages of %s: %w", convID, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
