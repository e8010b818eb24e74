package chat

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/shopchat/shopchat/kb"
)

// Reasons for a handoff request.
const (
	// HandoffReasonCustomer: the customer asked for a person (intent talk_to_human or the button).
	HandoffReasonCustomer = "customer_request"
	// HandoffReasonFallback: the bot failed to understand twice and the customer accepted a person.
	HandoffReasonFallback = "fallback"
	// HandoffReasonPolicy: the dialogue decided a person must handle it (e.g. a complaint).
	HandoffReasonPolicy = "policy"
)

// ErrNoAgents is returned by Handoff.Request when no human can take the conversation now; the dialogue
// then tells the customer and stays with the bot.
var ErrNoAgents = errors.New("chat: no agent available")

// HandoffRequest asks for a human for one conversation.
type HandoffRequest struct {
	ConvID     string
	CustomerID string // "" for an anonymous shopper
	Reason     string // HandoffReason*
	// Intent, Confidence and Text are what the bot understood from the customer's last message.
	Intent     string
	Confidence float64
	Text       string
	// Skill suggests a team from the intent ("orders", "returns", "payments", "account", "product",
	// "general"); the handoff may ignore it.
	Skill string
}

// Handoff is the human handoff (implemented by the handoff part, issue #7). Implementations must be
// safe for concurrent use.
type Handoff interface {
	// Request moves the conversation from the bot to the human queue. It delivers the customer-visible
	// system events (queued, position, agent joined, ...) itself through Outbound.Deliver, and returns
	// ErrNoAgents when nobody can take the conversation (nothing is changed then).
	Request(ctx context.Context, req HandoffRequest) error
	// Active reports whether a human owns the conversation (queued or assigned). While it does, the
	// bot does not answer: customer messages are still stored, acknowledged and published on the Bus,
	// where the console receives them.
	Active(ctx context.Context, convID string) (bool, error)
}

// CustomerFrameHandler may also be implemented by a Handoff: customer frames whose type is in
// FrameTypes (for example "csat" or "handoff.cancel") are passed to HandleCustomerFrame after the
// usual checks (version, size, rate limit, a conversation bound to the socket). An error that is a
// *WireError is sent to the customer as is; any other error becomes an "internal" error frame.
type CustomerFrameHandler interface {
	FrameTypes() []string
	HandleCustomerFrame(ctx context.Context, s CustomerSession, frameType string, payload json.RawMessage) error
}

// CustomerSession identifies the customer socket a frame came from.
type CustomerSession struct {
	ConvID     string
	CustomerID string // verified identity, "" when anonymous
	FrameID    string // the frame's id, if any
	Origin     string // socket id, the Event.Origin of events this socket causes
}

// Outbound is the single path by which anything reaches a customer: Deliver stores a message (giving
// it the conversation's next seq) and then publishes it on the Bus, from where every socket of the
// conversation sends it; a customer who is offline gets it on resume. *Server implements it and is
// safe for concurrent use.
type Outbound interface {
	// Deliver stores m (ConvID, Sender, Type "message", "event" or "note", Text, Payload, AgentID,
	// ClientID for deduplication) and publishes it. It returns the stored message with its seq.
	Deliver(ctx context.Context, m kb.Message) (kb.Message, error)
	// Publish sends an event that is not stored (typing, read, ephemeral frames) to the conversation's
	// sockets.
	Publish(ctx context.Context, ev Event) error
}

// StateOutbound is an Outbound that can store a bot's message and the conversation's dialogue state
// together (*Server implements it). The dialogue saves its state with the last answer of a turn this
// way; with a plain Outbound it saves the state with ConversationStore.SaveState after answering.
type StateOutbound interface {
	Outbound
	// DeliverState is Deliver that also replaces the conversation's dialogue state, committed before
	// m is published.
	DeliverState(ctx context.Context, m kb.Message, state []byte) (kb.Message, error)
}

// noHandoff is the Handoff used when none is configured: nobody is ever available.
type noHandoff struct{}

func (noHandoff) Request(context.Context, HandoffRequest) error { return ErrNoAgents }
func (noHandoff) Active(context.Context, string) (bool, error)  { return false, nil }
