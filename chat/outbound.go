package chat

import (
	"context"
	"errors"
	"fmt"

	"github.com/shopchat/shopchat/intents"
	"github.com/shopchat/shopchat/kb"
	"github.com/shopchat/shopchat/nlp"
)

var _ StateOutbound = (*Server)(nil)

// Deliver stores m with the conversation's next seq and then publishes it on the Bus. A message with
// a ClientID that was stored before is not stored twice: the stored one is published again (sockets
// drop what they already sent), so retries are safe.
func (s *Server) Deliver(ctx context.Context, m kb.Message) (kb.Message, error) {
	return s.deliver(ctx, m, nil, false)
}

// DeliverState is Deliver that also replaces the conversation's dialogue state before m is published:
// in the same transaction when the message store is a StateAppender, else with
// Config.Conversations.SaveState right after storing m.
func (s *Server) DeliverState(ctx context.Context, m kb.Message, state []byte) (kb.Message, error) {
	return s.deliver(ctx, m, state, true)
}

func (s *Server) deliver(ctx context.Context, m kb.Message, state []byte, withState bool) (kb.Message, error) {
	if s.cfg.Messages == nil {
		return kb.Message{}, errors.New("chat: no message store configured")
	}
	if m.ConvID == "" || m.Sender == "" {
		return kb.Message{}, errors.New("chat: Deliver needs ConvID and Sender")
	}
	if m.Type == "" {
		m.Type = msgTypeMessage
	}
	var stored kb.Message
	var dup bool
	var err error
	if sa, ok := s.cfg.Messages.(StateAppender); ok && withState {
		stored, dup, err = sa.AppendMessageState(ctx, m, state)
	} else {
		stored, dup, err = s.cfg.Messages.AppendMessage(ctx, m)
	}
	if err != nil {
		return kb.Message{}, fmt.Errorf("chat: store %s message: %w", m.Sender, err)
	}
	if _, ok := s.cfg.Messages.(StateAppender); withState && !ok {
		if s.cfg.Conversations == nil {
			return kb.Message{}, errors.New("chat: no conversation store configured for the dialogue state")
		}
		if err := s.cfg.Conversations.SaveState(ctx, m.ConvID, state); err != nil {
			return kb.Message{}, fmt.Errorf("chat: save dialogue state: %w", err)
		}
	}
	if !dup {
		s.metrics.messagesOut.WithLabelValues(m.Sender).Inc()
	}
	if err := s.bus.Publish(ctx, Event{Kind: EventMessage, Conv: m.ConvID, Message: &stored}); err != nil {
		// Stored: sockets get it on resume or when they fill the gap.
		s.log.Warn("publish failed; delivered on resume", "conv", m.ConvID, "seq", stored.Seq, "err", err)
	}
	return stored, nil
}

// Publish sends an event that is not stored to the conversation's sockets.
func (s *Server) Publish(ctx context.Context, ev Event) error { return s.bus.Publish(ctx, ev) }

// Understanding is what the NLU made of a customer's text.
type Understanding struct {
	Result   intents.Result
	Entities []nlp.Entity
}

// Turn is one stored customer message for the bot to answer.
type Turn struct {
	ConvID     string
	CustomerID string     // verified customer, "" when anonymous
	Message    kb.Message // the stored message, with seq, intent, confidence and entities
	Reply      string     // the payload of the quick reply the customer chose, if any
	NLU        Understanding
	// Duplicate is true when the message was a resend of one already stored: the bot answers only if
	// it had not answered it yet.
	Duplicate bool
}

// Bot answers customers. Implementations must be safe for concurrent use; the server calls Reply
// for one conversation at a time, in message order.
type Bot interface {
	// Understand classifies text and extracts its entities (before the message is stored, so that
	// it is stored with them).
	Understand(ctx context.Context, text string) (Understanding, error)
	// Reply answers t: it delivers its messages through out (each with a ClientID derived from the
	// customer message's seq, so that a retry never stores an answer twice) and saves its state.
	Reply(ctx context.Context, t Turn, out Outbound) error
}
