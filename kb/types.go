// Package kb is the shop's knowledge base: catalogue, customers, orders, FAQs, answer templates,
// conversations and messages, agents and handoffs, the model registry and the event log, in one SQLite
// database (WAL, one writer connection and a pool of readers). Consumers declare the small interfaces
// they need; *Store satisfies them.
package kb

import (
	"encoding/json"
	"errors"
	"time"
)

// Sentinel errors.
var (
	// ErrNotFound means the record does not exist (or, for order lookups, that the caller may not see it:
	// the two are indistinguishable on purpose).
	ErrNotFound = errors.New("kb: not found")
	// ErrTooManyAttempts means too many failed verification attempts; try again later.
	ErrTooManyAttempts = errors.New("kb: too many failed attempts")
)

// Sender of a message.
const (
	SenderCustomer = "customer"
	SenderBot      = "bot"
	SenderAgent    = "agent"
	SenderSystem   = "system"
)

// Conversation is one chat between a shopper and the shop.
type Conversation struct {
	ID         string    `json:"id"`
	CustomerID string    `json:"customer_id,omitempty"` // "" for an anonymous shopper
	Locale     string    `json:"locale,omitempty"`
	Status     string    `json:"status"` // bot, queued, assigned, resolved (the handoff state)
	LastSeq    int64     `json:"last_seq"`
	State      []byte    `json:"-"` // the dialogue's state, opaque JSON owned by package chat
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Message is one stored message of a conversation. Seq is gap-free and increasing per conversation and
// is assigned by the store.
type Message struct {
	ConvID     string          `json:"conv"`
	Seq        int64           `json:"seq"`
	ClientID   string          `json:"client_id,omitempty"` // the sender's id, the deduplication key with ConvID and Sender
	Sender     string          `json:"sender"`              // SenderCustomer, SenderBot, SenderAgent, SenderSystem
	AgentID    string          `json:"agent_id,omitempty"`
	Type       string          `json:"type"` // message, event, note (internal, never shown to the customer)
	Text       string          `json:"text,omitempty"`
	Payload    json.RawMessage `json:"payload,omitempty"` // cards, quick replies, event details
	Intent     string          `json:"intent,omitempty"`  // what the bot understood (customer messages) or answered (bot messages)
	Confidence float64         `json:"confidence,omitempty"`
	Entities   json.RawMessage `json:"entities,omitempty"`
	CreatedAt  time.Time       `json:"ts"`
}
