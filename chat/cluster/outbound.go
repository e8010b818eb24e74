package cluster

import (
	"context"

	"github.com/shopchat/shopchat/chat"
	"github.com/shopchat/shopchat/chat/handoff"
	"github.com/shopchat/shopchat/kb"
)

// The PostgreSQL store serves every storage interface a node needs.
var (
	_ chat.MessageStore      = (*kb.PGStore)(nil)
	_ chat.ConversationStore = (*kb.PGStore)(nil)
	_ chat.StateAppender     = (*kb.PGStore)(nil)
	_ handoff.AgentStore     = (*kb.PGStore)(nil)
	_ handoff.HandoffStore   = (*kb.PGStore)(nil)
	_ handoff.DeliveryStore  = (*kb.PGStore)(nil)
)

// LeaderOutbound is the chat.Outbound a node's handoff.Service gets in a cluster. Every node's Service
// observes every engine event (to update the consoles connected to it), but the customer notices an
// event causes ("you are number 2 in the queue", "Ann joined the conversation") must be sent once: only
// the node that leads the engine sends them. Agents' messages and everything else pass on every node.
// It is safe for concurrent use.
type LeaderOutbound struct {
	chat.Outbound
	// IsLeader reports whether this node leads now (Dispatcher.IsLeader).
	IsLeader func() bool
}

// Deliver stores and publishes m, except a system event while this node does not lead.
func (o LeaderOutbound) Deliver(ctx context.Context, m kb.Message) (kb.Message, error) {
	if m.Sender == kb.SenderSystem && m.Type == "event" && !o.IsLeader() {
		return m, nil
	}
	return o.Outbound.Deliver(ctx, m)
}

// Publish sends ev, except an ephemeral queue-position event while this node does not lead.
func (o LeaderOutbound) Publish(ctx context.Context, ev chat.Event) error {
	if ev.Kind == chat.EventEphemeral && ev.Type == "event" && !o.IsLeader() {
		return nil
	}
	return o.Outbound.Publish(ctx, ev)
}
