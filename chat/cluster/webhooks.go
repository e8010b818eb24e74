package cluster

import (
	"context"
	"sync"
	"time"

	"github.com/shopchat/shopchat/chat/handoff"
)

// leaderWebhooks sends the handoff webhooks from the leader only: every node observes every engine
// event, but only the leader's instance queues deliveries and sends the due ones, so an event is sent
// once (a receiver still deduplicates on X-Shopchat-Delivery across a leader change, when a delivery
// in flight may be retried by the next leader). Safe for concurrent use.
type leaderWebhooks struct {
	cfg      handoff.WebhookConfig
	isLeader func() bool

	mu     sync.Mutex
	ctx    context.Context // the node's run context, nil before Run
	cur    *handoff.Webhooks
	cancel context.CancelFunc
}

// HandoffEvent hands the event to this term's webhooks while this node leads.
func (l *leaderWebhooks) HandoffEvent(ev handoff.Event) {
	if !l.isLeader() {
		return
	}
	if w := l.ensure(); w != nil {
		w.HandoffEvent(ev)
	}
}

// ensure starts this term's webhooks (once the node runs) and returns them.
func (l *leaderWebhooks) ensure() *handoff.Webhooks {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur != nil || l.ctx == nil {
		return l.cur
	}
	w, err := handoff.NewWebhooks(l.cfg)
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithCancel(l.ctx)
	l.cur, l.cancel = w, cancel
	go w.Run(ctx)
	return w
}

// run starts the webhooks whenever this node leads and stops them when it does not, until ctx is
// done.
func (l *leaderWebhooks) run(ctx context.Context) {
	l.mu.Lock()
	l.ctx = ctx
	l.mu.Unlock()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		if l.isLeader() {
			l.ensure()
		} else {
			l.mu.Lock()
			if l.cur != nil {
				l.cancel()
				l.cur, l.cancel = nil, nil
			}
			l.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
