package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shopchat/shopchat/chat"
	"github.com/shopchat/shopchat/chat/handoff"
	"github.com/shopchat/shopchat/kb"
)

// NodeConfig configures the shared parts of one node of a cluster. Zero values get defaults; DSN,
// NATSURL and Name are required.
type NodeConfig struct {
	// Name identifies the node (unique in the cluster; default: none, required).
	Name string
	// DSN is the shared PostgreSQL database; Schema optionally confines the cluster to one schema.
	DSN    string
	Schema string
	// NATSURL is the NATS server; Prefix the subject prefix every node of the cluster shares (default
	// "shopchat").
	NATSURL string
	Prefix  string
	// Engine configures the handoff engine the leader runs.
	Engine handoff.EngineConfig
	// Auth configures console logins (its Store is set to the shared store).
	Auth handoff.AuthConfig
	// Service configures the handoff service (its Dispatcher, Store, Auth and Bus are set here).
	Service handoff.ServiceConfig
	Logger  *slog.Logger
	// Dispatcher tunes the leader election and calls (its NATSURL, Prefix, Node, DSN and Store are set
	// here).
	Dispatcher DispatcherConfig
	// Webhook, when its URL is set, sends the handoff webhooks, from the leader only (its Store is set
	// here).
	Webhook handoff.WebhookConfig
}

// Node holds the parts one `shopchat serve` node shares with the others: the PostgreSQL store, the
// NATS bus, the cluster-wide handoff dispatcher, console logins and the handoff service. Give Store to
// the chat server as its message, conversation and state store and to the dialogue as its knowledge,
// Bus as its bus and Service as its handoff; then call Attach and Run. Its methods are safe for
// concurrent use.
type Node struct {
	Store      *kb.PGStore
	Bus        *chat.NATSBus
	Dispatcher *Dispatcher
	Auth       *handoff.Auth
	Service    *handoff.Service

	webhooks *leaderWebhooks
	log      *slog.Logger
	closed   sync.Once
}

// NewNode connects to PostgreSQL (applying its migrations) and NATS and builds the node's shared
// parts. NATS may be away at start: the node serves its own sockets until it is back.
func NewNode(ctx context.Context, cfg NodeConfig) (*Node, error) {
	if cfg.Name == "" || cfg.DSN == "" || cfg.NATSURL == "" {
		return nil, errors.New("cluster: node needs a name, a PostgreSQL DSN and a NATS URL")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "shopchat"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	log := cfg.Logger.With("node", cfg.Name)
	n := &Node{log: log}
	var err error
	n.Store, err = kb.OpenPostgres(ctx, kb.PGConfig{DSN: cfg.DSN, Schema: cfg.Schema, Logger: log.With("part", "postgres")})
	if err != nil {
		return nil, err
	}
	n.Bus, err = chat.NewNATSBus(chat.NATSBusConfig{URL: cfg.NATSURL, Prefix: cfg.Prefix, Name: "shopchat-" + cfg.Name, Logger: log.With("part", "bus")})
	if err != nil {
		n.Store.Close()
		return nil, err
	}
	dc := cfg.Dispatcher
	dc.NATSURL, dc.Prefix, dc.Node, dc.Store, dc.Engine = cfg.NATSURL, cfg.Prefix, cfg.Name, n.Store, cfg.Engine
	dc.DSN = cfg.DSN
	if dc.Logger == nil {
		dc.Logger = log.With("part", "handoff-dispatcher")
	}
	n.Dispatcher, err = NewDispatcher(dc)
	if err != nil {
		n.Bus.Close()
		n.Store.Close()
		return nil, err
	}
	ac := cfg.Auth
	ac.Store = n.Store
	if ac.Logger == nil {
		ac.Logger = log.With("part", "auth")
	}
	n.Auth, err = handoff.NewAuth(ac)
	if err != nil {
		n.Close()
		return nil, err
	}
	sc := cfg.Service
	sc.Engine, sc.Dispatcher, sc.Store, sc.Auth, sc.Bus = nil, n.Dispatcher, n.Store, n.Auth, n.Bus
	if cfg.Webhook.URL != "" {
		wc := cfg.Webhook
		wc.Store = n.Store
		if wc.Logger == nil {
			wc.Logger = log.With("part", "webhooks")
		}
		// One instance only lists the shared delivery log in the console; the leader's sends.
		if sc.Webhooks, err = handoff.NewWebhooks(wc); err != nil {
			n.Close()
			return nil, err
		}
		n.webhooks = &leaderWebhooks{cfg: wc, isLeader: n.Dispatcher.IsLeader}
		n.Dispatcher.Observe(n.webhooks)
	}
	if sc.Logger == nil {
		sc.Logger = log.With("part", "handoff")
	}
	n.Service, err = handoff.NewService(sc)
	if err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// Attach gives the handoff service its way to the customers (sending customer notices only while this
// node leads), mounts the console at /console/, and registers the node's readiness checks and metrics
// on srv.
func (n *Node) Attach(srv *chat.Server) {
	n.Service.SetOutbound(LeaderOutbound{Outbound: srv, IsLeader: n.Dispatcher.IsLeader})
	srv.Handle("/console/", n.Service.Handler())
	for _, c := range n.Checks() {
		srv.AddReadinessCheck(c)
	}
	if err := n.RegisterMetrics(srv.Registry()); err != nil {
		n.log.Warn("cluster metrics", "err", err)
	}
}

// Checks are the node's readiness checks: PostgreSQL, the NATS bus and the dispatcher's NATS link.
func (n *Node) Checks() []chat.ReadinessCheck {
	return []chat.ReadinessCheck{
		chat.CheckFunc{Label: "postgres", Fn: func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			if err := n.Store.Ping(ctx); err != nil {
				return fmt.Errorf("PostgreSQL unreachable: %w", err)
			}
			return nil
		}},
		chat.CheckFunc{Label: "nats", Fn: n.Bus.Ready},
		chat.CheckFunc{Label: "handoff_dispatcher", Fn: n.Dispatcher.Ready},
	}
}

// RegisterMetrics adds the node's cluster metrics to reg: whether NATS is connected, whether this node
// leads the handoff engine, and the bus's and the dispatcher's counters.
func (n *Node) RegisterMetrics(reg *prometheus.Registry) error {
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	cs := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shopchat_cluster_nats_connected", Help: "1 while the node's NATS connection is up; 0 while it serves only its own sockets."},
			func() float64 { return b2f(n.Bus.Connected()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shopchat_cluster_handoff_leader", Help: "1 while this node leads the cluster's handoff engine."},
			func() float64 { return b2f(n.Dispatcher.IsLeader()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "shopchat_cluster_bus_published_total", Help: "Conversation events sent to the other nodes."},
			func() float64 { return float64(n.Bus.Stats().Published) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "shopchat_cluster_bus_received_total", Help: "Conversation events received from the other nodes."},
			func() float64 { return float64(n.Bus.Stats().Received) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "shopchat_cluster_bus_dropped_total", Help: "Conversation events the other nodes missed while NATS was away (recovered on resume)."},
			func() float64 { return float64(n.Bus.Stats().Dropped) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "shopchat_cluster_nats_reconnects_total", Help: "NATS reconnections."},
			func() float64 { return float64(n.Bus.Stats().Reconnects) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "shopchat_cluster_handoff_forwarded_total", Help: "Handoff calls forwarded to the leader on another node."},
			func() float64 { return float64(n.Dispatcher.Stats().Forwarded) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "shopchat_cluster_handoff_leader_terms_total", Help: "Times this node became the handoff leader."},
			func() float64 { return float64(n.Dispatcher.Stats().LeaderChanges) }),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Run runs the handoff service (and, while this node leads, the webhooks) until ctx is done.
func (n *Node) Run(ctx context.Context) {
	if n.webhooks != nil {
		go n.webhooks.run(ctx)
	}
	n.Service.Run(ctx)
}

// Close stops leading (another node takes over), disconnects from NATS and closes the store.
func (n *Node) Close() {
	n.closed.Do(func() {
		if n.Dispatcher != nil {
			n.Dispatcher.Close()
		}
		if n.Bus != nil {
			n.Bus.Close()
		}
		if n.Store != nil {
			n.Store.Close()
		}
	})
}
