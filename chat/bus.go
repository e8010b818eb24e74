package chat

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/shopchat/shopchat/kb"
)

// Event kinds carried by a Bus.
const (
	// EventMessage carries a stored message (Event.Message, with its seq): customer, bot, agent and
	// system messages and events, and internal notes (which customer sockets never show).
	EventMessage = "message"
	// EventTyping says a participant started or stopped typing (Event.Typing). Never stored.
	EventTyping = "typing"
	// EventRead says a participant has read the conversation up to Event.Seq. Never stored.
	EventRead = "read"
	// EventEphemeral carries a frame that is delivered but never stored (Event.Type, Event.Payload),
	// for example an updated queue position. Use EventMessage for anything the customer must not miss.
	EventEphemeral = "ephemeral"
)

// Event is one thing that happened in a conversation. Events are values: subscribers must not modify
// them.
type Event struct {
	Kind    string      `json:"kind"`
	Conv    string      `json:"conv"`
	Message *kb.Message `json:"message,omitempty"` // EventMessage
	// Sender is who typed or read (kb.SenderCustomer, kb.SenderAgent, kb.SenderBot) for EventTyping
	// and EventRead.
	Sender  string `json:"sender,omitempty"`
	AgentID string `json:"agent_id,omitempty"`
	Typing  bool   `json:"typing,omitempty"` // EventTyping
	Seq     int64  `json:"seq,omitempty"`    // EventRead
	// Type and Payload are the frame type and payload of an EventEphemeral.
	Type    string          `json:"type,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
	// Origin identifies the socket that caused the event, so it is not echoed back to it.
	Origin string `json:"origin,omitempty"`
}

// ErrBusClosed is returned by a Bus after Close.
var ErrBusClosed = errors.New("chat: bus closed")

// Bus carries conversation events to every interested socket, on this node or (with a networked
// implementation) on others. Implementations must be safe for concurrent use. Publish delivers an event
// to every subscriber of its conversation and every subscriber of all conversations; events of one
// conversation published by one goroutine reach each subscriber in publish order. Handlers are called
// on the publisher's goroutine or the bus's own and must not block: they hand the event on (e.g. to a
// bounded socket queue) and return.
type Bus interface {
	// Publish sends ev to the subscribers of ev.Conv and of all conversations.
	Publish(ctx context.Context, ev Event) error
	// Subscribe calls h for every event of conv, or of every conversation when conv is "", until the
	// returned cancel function is called.
	Subscribe(conv string, h func(Event)) (cancel func(), err error)
}
