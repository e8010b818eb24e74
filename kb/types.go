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

// More sentinel errors.
var (
	// ErrReadOnly means a write was attempted on a store opened with Config.ReadOnly or on a read-only
	// database file.
	ErrReadOnly = errors.New("kb: database is read-only")
	// ErrLocked means another process held the database's write lock for longer than the busy timeout.
	ErrLocked = errors.New("kb: database is locked by another writer")
	// ErrClosed means the store was closed.
	ErrClosed = errors.New("kb: store is closed")
	// ErrSchemaTooNew means the database was written by a newer shopchat with migrations this build
	// does not know; this build refuses to touch it.
	ErrSchemaTooNew = errors.New("kb: database schema is newer than this build")
	// ErrInvalid means the caller passed an invalid value (an empty id, an unknown kind, ...).
	ErrInvalid = errors.New("kb: invalid argument")
)

// Order statuses, in the order an order usually moves through them.
const (
	OrderPending    = "pending"    // placed, payment not yet confirmed
	OrderPaid       = "paid"       // payment confirmed, not yet picked
	OrderProcessing = "processing" // being picked and packed
	OrderShipped    = "shipped"    // handed to the carrier
	OrderDelivered  = "delivered"
	OrderCancelled  = "cancelled"
	OrderReturned   = "returned" // sent back by the customer, refund pending
	OrderRefunded   = "refunded"
)

// OrderStatuses lists every valid order status.
var OrderStatuses = []string{OrderPending, OrderPaid, OrderProcessing, OrderShipped, OrderDelivered,
	OrderCancelled, OrderReturned, OrderRefunded}

// Interaction kinds.
const (
	InteractionView     = "view"
	InteractionCart     = "cart"
	InteractionPurchase = "purchase"
)

// Product is one article of the catalogue.
type Product struct {
	SKU         string            `json:"sku" yaml:"sku"`
	Name        string            `json:"name" yaml:"name"`
	Description string            `json:"description,omitempty" yaml:"description,omitempty"`
	Category    string            `json:"category" yaml:"category"`
	Price       float64           `json:"price" yaml:"price"`
	Currency    string            `json:"currency" yaml:"currency"`
	Stock       int               `json:"stock" yaml:"stock"`
	Attributes  map[string]string `json:"attributes,omitempty" yaml:"attributes,omitempty"` // size, colour, material, ...
	ImageURL    string            `json:"image_url,omitempty" yaml:"image_url,omitempty"`
	Active      bool              `json:"active" yaml:"active"`
}

// Address is a postal address.
type Address struct {
	Name     string `json:"name,omitempty" yaml:"name,omitempty"`
	Line1    string `json:"line1,omitempty" yaml:"line1,omitempty"`
	Line2    string `json:"line2,omitempty" yaml:"line2,omitempty"`
	City     string `json:"city,omitempty" yaml:"city,omitempty"`
	Postcode string `json:"postcode,omitempty" yaml:"postcode,omitempty"`
	Country  string `json:"country,omitempty" yaml:"country,omitempty"` // ISO 3166-1 alpha-2
}

// Customer is a shopper with an account.
type Customer struct {
	ID        string    `json:"id" yaml:"id"`
	Email     string    `json:"email" yaml:"email"`
	FirstName string    `json:"first_name" yaml:"first_name"`
	LastName  string    `json:"last_name" yaml:"last_name"`
	Phone     string    `json:"phone,omitempty" yaml:"phone,omitempty"`
	Locale    string    `json:"locale,omitempty" yaml:"locale,omitempty"`
	Address   Address   `json:"address" yaml:"address"`
	CreatedAt time.Time `json:"created_at" yaml:"created_at"`
}

// OrderItem is one line of an order.
type OrderItem struct {
	SKU       string  `json:"sku" yaml:"sku"`
	Name      string  `json:"name" yaml:"name"`
	Quantity  int     `json:"quantity" yaml:"quantity"`
	UnitPrice float64 `json:"unit_price" yaml:"unit_price"`
}

// Shipment is one parcel of an order. Zero times are unknown.
type Shipment struct {
	Carrier           string    `json:"carrier" yaml:"carrier"`
	TrackingNumber    string    `json:"tracking_number" yaml:"tracking_number"`
	Status            string    `json:"status,omitempty" yaml:"status,omitempty"` // label_created, in_transit, out_for_delivery, delivered, exception
	ShippedAt         time.Time `json:"shipped_at,omitzero" yaml:"shipped_at,omitempty"`
	EstimatedDelivery time.Time `json:"estimated_delivery,omitzero" yaml:"estimated_delivery,omitempty"`
	DeliveredAt       time.Time `json:"delivered_at,omitzero" yaml:"delivered_at,omitempty"`
}

// Order is a customer's order with its lines and parcels.
type Order struct {
	Number     string      `json:"number" yaml:"number"`
	CustomerID string      `json:"customer_id,omitempty" yaml:"customer_id,omitempty"` // "" for a guest order
	Status     string      `json:"status" yaml:"status"`                               // one of OrderStatuses
	Items      []OrderItem `json:"items" yaml:"items"`
	Shipments  []Shipment  `json:"shipments,omitempty" yaml:"shipments,omitempty"`
	Address    Address     `json:"address" yaml:"address"`
	Total      float64     `json:"total" yaml:"total"`
	Currency   string      `json:"currency" yaml:"currency"`
	PlacedAt   time.Time   `json:"placed_at" yaml:"placed_at"`
	Email      string      `json:"email" yaml:"email"`
	Postcode   string      `json:"postcode" yaml:"postcode"` // the delivery address's postcode, a verification factor
}

// OrderQuery asks for one order on behalf of a requester. The order is disclosed only when the
// requester is verified: CustomerID (the shop's signed-in identity) owns the order, or Email or
// Postcode matches the order's.
type OrderQuery struct {
	Number     string // as the shopper typed it: "#A10023", "a-10023", "10023" all work
	CustomerID string
	Email      string
	Postcode   string
	Requester  string // who is asking (conversation id, IP, ...): failed attempts are limited per requester
}

// FAQ is one question and answer of the help centre.
type FAQ struct {
	ID       int64    `json:"-" yaml:"-"`
	Key      string   `json:"key" yaml:"key"` // natural key, unique per locale ("returns-window")
	Locale   string   `json:"locale" yaml:"locale"`
	Question string   `json:"question" yaml:"question"`
	Variants []string `json:"variants,omitempty" yaml:"variants,omitempty"` // other ways to ask
	Answer   string   `json:"answer" yaml:"answer"`
	Tags     []string `json:"tags,omitempty" yaml:"tags,omitempty"`
	Enabled  bool     `json:"enabled" yaml:"enabled"`
}

// FAQHit is one ranked FAQ search result. Score is the negated FTS5 BM25 rank: higher is better, and
// comparable between queries only roughly.
type FAQHit struct {
	ID       int64   `json:"id"`
	Key      string  `json:"key"`
	Question string  `json:"question"`
	Answer   string  `json:"answer"`
	Score    float64 `json:"score"`
}

// Interaction is one signal for the recommender.
type Interaction struct {
	CustomerID string    `json:"customer_id"`
	SKU        string    `json:"sku"`
	Kind       string    `json:"kind"` // InteractionView, InteractionCart, InteractionPurchase
	Weight     float64   `json:"weight"`
	At         time.Time `json:"at"`
}
