package kb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Limits on stored messages.
const (
	// MaxMessageText is the largest message text in bytes.
	MaxMessageText = 16 << 10
	// MaxMessageJSON is the largest payload or entities document in bytes.
	MaxMessageJSON = 64 << 10
	// MaxClientID is the longest client id in bytes.
	MaxClientID = 128
)

// Conversation statuses (the handoff state).
const (
	ConversationBot      = "bot"
	ConversationQueued   = "queued"
	ConversationAssigned = "assigned"
	ConversationResolved = "resolved"
)

// Message types.
const (
	MessageTypeMessage = "message"
	MessageTypeEvent   = "event"
	MessageTypeNote    = "note"
)

// newID returns a random 128-bit id in hex.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// CreateConversation stores c; an empty ID is filled with a new random one, an empty Status with
// ConversationBot. It returns ErrInvalid wrapped when the id already exists.
func (s *Store) CreateConversation(ctx context.Context, c Conversation) (Conversation, error) {
	w, err := s.writer()
	if err != nil {
		return Conversation{}, fmt.Errorf("kb: create conversation: %w", err)
	}
	if c.ID == "" {
		c.ID = newID()
	}
	if len(c.ID) > 128 || !utf8.ValidString(c.ID) {
		return Conversation{}, fmt.Errorf("kb: create conversation: %w: bad id", ErrInvalid)
	}
	if c.Status == "" {
		c.Status = ConversationBot
	}
	now := s.now().UTC().Truncate(1e6)
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	c.UpdatedAt = c.CreatedAt
	c.LastSeq = 0
	_, err = w.ExecContext(ctx, `INSERT INTO conversations(id, customer_id, locale, status, last_seq, state, created_at, updated_at)
		VALUES (?, ?, ?, ?, 0, ?, ?, ?)`, c.ID, c.CustomerID, c.Locale, c.Status, nullBytes(c.State), ms(c.CreatedAt), ms(c.UpdatedAt))
	if err != nil {
		if isConstraint(err) {
			return Conversation{}, fmt.Errorf("kb: create conversation %s: %w: id exists", c.ID, ErrInvalid)
		}
		return Conversation{}, s.wrapErr("create conversation", err)
	}
	return c, nil
}

// Conversation returns the conversation or ErrNotFound.
func (s *Store) Conversation(ctx context.Context, id string) (Conversation, error) {
	var c Conversation
	var created, updated int64
	err := s.stmts.conversation.QueryRowContext(ctx, id).Scan(&c.ID, &c.CustomerID, &c.Locale, &c.Status, &c.LastSeq, &c.State, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Conversation{}, fmt.Errorf("kb: conversation %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Conversation{}, s.wrapErr("conversation", err)
	}
	c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
	return c, nil
}

// SaveState replaces the dialogue state of a conversation (ErrNotFound when it does not exist).
func (s *Store) SaveState(ctx context.Context, id string, state []byte) error {
	at := s.now().UnixMilli()
	return s.groupWrite(ctx, "save state", func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE conversations SET state = ?, updated_at = ? WHERE id = ?`, nullBytes(state), at, id)
		if err != nil {
			return s.wrapErr("save state", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("kb: save state: conversation %q: %w", id, ErrNotFound)
		}
		return nil
	})
}

// SetConversationStatus sets the handoff status of a conversation (ErrNotFound when it does not exist).
func (s *Store) SetConversationStatus(ctx context.Context, id, status string) error {
	switch status {
	case ConversationBot, ConversationQueued, ConversationAssigned, ConversationResolved:
	default:
		return fmt.Errorf("kb: set conversation status: %w: status %q", ErrInvalid, status)
	}
	return s.updateConversation(ctx, "set conversation status", `UPDATE conversations SET status = ?, updated_at = ? WHERE id = ?`,
		status, s.now().UnixMilli(), id)
}

// SetConversationCustomer links a conversation to a signed-in customer (ErrNotFound when it does not
// exist).
func (s *Store) SetConversationCustomer(ctx context.Context, id, customerID string) error {
	return s.updateConversation(ctx, "set conversation customer", `UPDATE conversations SET customer_id = ?, updated_at = ? WHERE id = ?`,
		customerID, s.now().UnixMilli(), id)
}

func (s *Store) updateConversation(ctx context.Context, op, query string, args ...any) error {
	w, err := s.writer()
	if err != nil {
		return fmt.Errorf("kb: %s: %w", op, err)
	}
	res, err := w.ExecContext(ctx, query, args...)
	if err != nil {
		return s.wrapErr(op, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("kb: %s: conversation %q: %w", op, args[len(args)-1], ErrNotFound)
	}
	return nil
}

// ListConversations returns up to limit conversations of a customer, newest first.
func (s *Store) ListConversations(ctx context.Context, customerID string, limit int) ([]Conversation, error) {
	if limit <= 0 {
		limit = 50
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, customer_id, locale, status, last_seq, state, created_at, updated_at
		FROM conversations WHERE customer_id = ? ORDER BY updated_at DESC LIMIT ?`, customerID, limit)
	if err != nil {
		return nil, s.wrapErr("list conversations", err)
	}
	defer rows.Close()
	var out []Conversation
	for rows.Next() {
		var c Conversation
		var created, updated int64
		if err := rows.Scan(&c.ID, &c.CustomerID, &c.Locale, &c.Status, &c.LastSeq, &c.State, &created, &updated); err != nil {
			return nil, s.wrapErr("list conversations", err)
		}
		c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
		out = append(out, c)
	}
	return out, s.wrapErr("list conversations", rows.Err())
}

// validateMessage checks a message before it is queued for the writer.
func validateMessage(m *Message) error {
	if m.ConvID == "" {
		return fmt.Errorf("%w: empty conversation id", ErrInvalid)
	}
	switch m.Sender {
	case SenderCustomer, SenderBot, SenderAgent, SenderSystem:
	default:
		return fmt.Errorf("%w: sender %q", ErrInvalid, m.Sender)
	}
	if m.Type == "" {
		m.Type = MessageTypeMessage
	}
	switch m.Type {
	case MessageTypeMessage, MessageTypeEvent, MessageTypeNote:
	default:
		return fmt.Errorf("%w: message type %q", ErrInvalid, m.Type)
	}
	if len(m.Text) > MaxMessageText {
		return fmt.Errorf("%w: text is %d bytes, the limit is %d", ErrInvalid, len(m.Text), MaxMessageText)
	}
	if len(m.ClientID) > MaxClientID {
		return fmt.Errorf("%w: client id is %d bytes, the limit is %d", ErrInvalid, len(m.ClientID), MaxClientID)
	}
	if !utf8.ValidString(m.Text) || !utf8.ValidString(m.ClientID) || !utf8.ValidString(m.AgentID) || !utf8.ValidString(m.Intent) {
		return fmt.Errorf("%w: text is not valid UTF-8", ErrInvalid)
	}
	if len(m.Payload) > MaxMessageJSON || len(m.Entities) > MaxMessageJSON {
		return fmt.Errorf("%w: payload or entities over %d bytes", ErrInvalid, MaxMessageJSON)
	}
	return nil
}

// MessagesAfter returns up to limit messages with seq > afterSeq, in seq order.
func (s *Store) MessagesAfter(ctx context.Context, convID string, afterSeq int64, limit int) ([]Message, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.stmts.messagesAfter.QueryContext(ctx, convID, afterSeq, limit)
	if err != nil {
		return nil, s.wrapErr("messages after", err)
	}
	return s.scanMessages(rows, false)
}

// MessagesBefore returns up to limit messages with seq < beforeSeq, in seq order (the page just before
// beforeSeq).
func (s *Store) MessagesBefore(ctx context.Context, convID string, beforeSeq int64, limit int) ([]Message, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.stmts.messagesBefore.QueryContext(ctx, convID, beforeSeq, limit)
	if err != nil {
		return nil, s.wrapErr("messages before", err)
	}
	return s.scanMessages(rows, true)
}

const messageColumns = `conv_id, seq, client_id, sender, agent_id, type, text, payload, intent, confidence, entities, created_at`

func (s *Store) scanMessages(rows *sql.Rows, reverse bool) ([]Message, error) {
	defer rows.Close()
	var out []Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, s.wrapErr("read messages", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrapErr("read messages", err)
	}
	if reverse {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanMessage(r scanner) (Message, error) {
	var m Message
	var payload, entities []byte
	var created int64
	if err := r.Scan(&m.ConvID, &m.Seq, &m.ClientID, &m.Sender, &m.AgentID, &m.Type, &m.Text, &payload, &m.Intent,
		&m.Confidence, &entities, &created); err != nil {
		return Message{}, err
	}
	if len(payload) > 0 {
		m.Payload = payload
	}
	if len(entities) > 0 {
		m.Entities = entities
	}
	m.CreatedAt = fromMS(created)
	return m, nil
}

func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

func nullJSON(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}
