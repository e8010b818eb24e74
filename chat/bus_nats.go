package chat

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// NATSBusConfig configures a NATSBus. Zero values get defaults.
type NATSBusConfig struct {
	// URL of the NATS server(s), comma-separated (default nats://127.0.0.1:4222).
	URL string
	// Prefix of the subjects (default "shopchat"); nodes of one cluster share it.
	Prefix string
	// Name identifies this node in NATS's monitoring (default "shopchat").
	Name string
	// Logger receives connection changes (default: discard).
	Logger *slog.Logger
	// ReconnectWait is the first delay between reconnect attempts (default 100ms); it doubles up to
	// MaxReconnectWait (default 5s), with jitter.
	ReconnectWait    time.Duration
	MaxReconnectWait time.Duration
}

// NATSBus is the Bus of a cluster: events are delivered at once to this node's subscribers and
// published on NATS to the other nodes, whose subscribers receive them from their own NATSBus. Events
// of one conversation published by one goroutine reach every subscriber in publish order.
//
// While NATS is unreachable the node keeps serving its local sockets: local delivery goes on, events
// for other nodes wait in the client's reconnect buffer (8 MB) and are sent on reconnect, or are counted
// as dropped once it is full. Nothing stored is lost either way: messages are stored before they are
// published, and a client that missed one gets it on resume. Ready reports the connection state.
//
// A NATSBus is safe for concurrent use.
type NATSBus struct {
	cfg   NATSBusConfig
	local *MemoryBus
	nc    *nats.Conn
	sub   *nats.Subscription
	log   *slog.Logger

	published, received, dropped, decodeErrors, reconnects atomic.Uint64
}

var _ Bus = (*NATSBus)(nil)

// NewNATSBus connects to NATS and subscribes to the cluster's conversation events. It returns at once
// even when the server is not reachable yet; the client keeps trying with backoff.
func NewNATSBus(cfg NATSBusConfig) (*NATSBus, error) {
	if cfg.URL == "" {
		cfg.URL = nats.DefaultURL
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "shopchat"
	}
	if !validSubjectToken(cfg.Prefix) {
		return nil, fmt.Errorf("chat: NATS prefix %q: letters, digits, - and _ only", cfg.Prefix)
	}
	if cfg.Name == "" {
		cfg.Name = "shopchat"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ReconnectWait <= 0 {
		cfg.ReconnectWait = 100 * time.Millisecond
	}
	if cfg.MaxReconnectWait <= 0 {
		cfg.MaxReconnectWait = 5 * time.Second
	}
	b := &NATSBus{cfg: cfg, local: NewMemoryBus(), log: cfg.Logger}
	backoff := func(attempts int) time.Duration {
		d := cfg.ReconnectWait << min(attempts, 16)
		if d <= 0 || d > cfg.MaxReconnectWait {
			d = cfg.MaxReconnectWait
		}
		return d/2 + rand.N(d/2+1)
	}
	nc, err := nats.Connect(cfg.URL,
		nats.Name(cfg.Name),
		nats.NoEcho(), // this node's own events are delivered locally, not looped back
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(backoff),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			b.log.Warn("NATS disconnected; serving local sockets only until it is back", "err", err)
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			b.reconnects.Add(1)
			b.log.Info("NATS reconnected", "url", c.ConnectedUrlRedacted())
		}),
		nats.ConnectHandler(func(c *nats.Conn) {
			b.log.Info("NATS connected", "url", c.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			b.log.Warn("NATS error", "err", err)
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("chat: NATS connect %s: %w", cfg.URL, err)
	}
	b.nc = nc
	sub, err := nc.Subscribe(cfg.Prefix+".conv.>", b.onMessage)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("chat: NATS subscribe: %w", err)
	}
	// A generous pending limit: a slow burst must not make NATS drop events silently.
	if err := sub.SetPendingLimits(1<<20, 256<<20); err != nil {
		nc.Close()
		return nil, fmt.Errorf("chat: NATS subscription limits: %w", err)
	}
	b.sub = sub
	return b, nil
}

// subject is the NATS subject of a conversation's events. Conversation ids that are not plain subject
// tokens are hex-encoded (with an "x" so the two forms never collide).
func (b *NATSBus) subject(conv string) string {
	if conv != "" && validSubjectToken(conv) && conv[0] != 'x' {
		return b.cfg.Prefix + ".conv." + conv
	}
	return b.cfg.Prefix + ".conv.x" + hex.EncodeToString([]byte(conv))
}

func validSubjectToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// Publish delivers ev to this node's subscribers and sends it to the other nodes.
func (b *NATSBus) Publish(ctx context.Context, ev Event) error {
	if err := b.local.Publish(ctx, ev); err != nil {
		return err
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("chat: encode event: %w", err)
	}
	if err := b.nc.Publish(b.subject(ev.Conv), data); err != nil {
		if errors.Is(err, nats.ErrConnectionClosed) {
			return ErrBusClosed
		}
		// Reconnect buffer full or connection draining: the other nodes miss this live event; their
		// clients recover stored messages on resume.
		b.dropped.Add(1)
		b.log.Warn("NATS publish failed; event delivered on this node only", "conv", ev.Conv, "kind", ev.Kind, "err", err)
		return nil
	}
	b.published.Add(1)
	return nil
}

func (b *NATSBus) onMessage(m *nats.Msg) {
	var ev Event
	if err := json.Unmarshal(m.Data, &ev); err != nil {
		b.decodeErrors.Add(1)
		b.log.Warn("NATS: undecodable event dropped", "subject", m.Subject, "err", err)
		return
	}
	b.received.Add(1)
	_ = b.local.Publish(context.Background(), ev)
}

// Subscribe registers h for the events of conv ("" = every conversation), from this node and others.
func (b *NATSBus) Subscribe(conv string, h func(Event)) (func(), error) {
	return b.local.Subscribe(conv, h)
}

// Connected reports whether the NATS connection is up.
func (b *NATSBus) Connected() bool { return b.nc.IsConnected() }

// Ready reports an error while NATS is unreachable (for /readyz): the node still serves its own
// sockets, but not the cluster's.
func (b *NATSBus) Ready(ctx context.Context) error {
	if b.nc.IsConnected() {
		return nil
	}
	return fmt.Errorf("NATS %s: %s; serving this node's sockets only", b.cfg.URL, strings.ToLower(b.nc.Status().String()))
}

// NATSBusStats counts what a NATSBus did since it started.
type NATSBusStats struct {
	Connected    bool
	Published    uint64 // events sent to other nodes
	Received     uint64 // events received from other nodes
	Dropped      uint64 // events other nodes missed (NATS away and its buffer full)
	DecodeErrors uint64
	Reconnects   uint64
}

// Stats returns the bus's counters (for /metrics).
func (b *NATSBus) Stats() NATSBusStats {
	return NATSBusStats{
		Connected: b.nc.IsConnected(), Published: b.published.Load(), Received: b.received.Load(),
		Dropped: b.dropped.Load(), DecodeErrors: b.decodeErrors.Load(), Reconnects: b.reconnects.Load(),
	}
}

// Close flushes what is pending (briefly) and closes the connection and the local bus.
func (b *NATSBus) Close() error {
	if b.nc.IsConnected() {
		_ = b.nc.FlushTimeout(time.Second)
	}
	b.nc.Close()
	return b.local.Close()
}
