package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"

	"github.com/shopchat/shopchat/chat/handoff"
)

// ErrNoLeader means no node has led the cluster's handoff engine within DispatcherConfig.LeaderWait
// (PostgreSQL or NATS is unreachable, or every node is starting).
var ErrNoLeader = errors.New("cluster: no handoff leader reachable")

// DispatcherConfig configures a Dispatcher. Zero values get defaults; NATSURL, DSN, Node and Store are
// required.
type DispatcherConfig struct {
	// NATSURL is the NATS server (comma-separated for several).
	NATSURL string
	// Prefix of the NATS subjects (default "shopchat"); every node of a cluster uses the same one.
	Prefix string
	// Node names this node; unique in the cluster.
	Node string
	// DSN is the PostgreSQL database whose session advisory lock elects the leader (the shared store's
	// database).
	DSN string
	// LockKey is the advisory lock's key (default: derived from Prefix, so that clusters sharing a
	// database but not a prefix do not share a leader).
	LockKey int64
	// Store is the shared handoff store: the leader restores from it and persists to it.
	Store handoff.HandoffStore
	// Engine configures the engine the leader runs.
	Engine handoff.EngineConfig
	Logger *slog.Logger
	// CallTimeout bounds one forwarded call (default 5s); LeaderWait is how long a call waits while no
	// leader answers (default 10s).
	CallTimeout time.Duration
	LeaderWait  time.Duration
	// LockRetry is how often a follower tries to take the lead (default 300ms).
	LockRetry time.Duration
	// Heartbeat is how often a node says it is alive (default 1s); the leader sets the agents of a node
	// it has not heard from for NodeTimeout (default 5s) offline, so their conversations go to others.
	Heartbeat   time.Duration
	NodeTimeout time.Duration
	// GatherWait is how long a new leader collects the agents the other nodes know (default 300ms).
	GatherWait time.Duration
}

// Dispatcher is the cluster-wide handoff.Dispatcher. Of all nodes, the one holding a PostgreSQL session
// advisory lock is the leader: it runs a handoff.Engine restored from the shared store, persists its
// events there and serves the other nodes' calls over NATS request/reply; its events reach the
// observers of every node over NATS. So one conversation never goes to two agents and an agent's limit
// holds cluster-wide, with the tested in-process engine making every decision. When the leader dies
// (its PostgreSQL session ends), another node takes the lock, restores queues and assignments from the
// store and the agents the nodes know, and carries on; calls made meanwhile wait up to LeaderWait.
//
// A Dispatcher is safe for concurrent use.
type Dispatcher struct {
	cfg  DispatcherConfig
	log  *slog.Logger
	nc   *nats.Conn
	subj subjects

	obsMu     sync.RWMutex
	observers []handoff.Observer

	// agents registered through this node (its consoles), replayed to a new leader.
	agentsMu sync.Mutex
	agents   map[string]handoff.AgentInfo

	leadMu sync.RWMutex
	lead   *leadership // non-nil while this node leads and has restored

	leaderChanges atomic.Uint64
	forwarded     atomic.Uint64

	cancel context.CancelFunc
	done   chan struct{}
	subs   []*nats.Subscription
}

type subjects struct{ rpc, events, agents, heartbeat string }

var _ handoff.ObservableDispatcher = (*Dispatcher)(nil)

// NewDispatcher connects to NATS, starts competing for the lead and returns at once; calls wait for a
// leader (up to LeaderWait). Close stops it.
func NewDispatcher(cfg DispatcherConfig) (*Dispatcher, error) {
	if cfg.NATSURL == "" || cfg.DSN == "" || cfg.Node == "" || cfg.Store == nil {
		return nil, errors.New("cluster: NewDispatcher: NATSURL, DSN, Node and Store are required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "shopchat"
	}
	if cfg.LockKey == 0 {
		h := fnv.New64a()
		h.Write([]byte("shopchat-handoff-leader:" + cfg.Prefix))
		cfg.LockKey = int64(h.Sum64() & 0x7fffffffffffffff)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.CallTimeout, 5*time.Second)
	def(&cfg.LeaderWait, 10*time.Second)
	def(&cfg.LockRetry, 300*time.Millisecond)
	def(&cfg.Heartbeat, time.Second)
	def(&cfg.NodeTimeout, 5*time.Second)
	def(&cfg.GatherWait, 300*time.Millisecond)
	d := &Dispatcher{
		cfg: cfg, log: cfg.Logger.With("node", cfg.Node), agents: map[string]handoff.AgentInfo{},
		subj: subjects{
			rpc: cfg.Prefix + ".handoff.rpc", events: cfg.Prefix + ".handoff.events",
			agents: cfg.Prefix + ".handoff.agents", heartbeat: cfg.Prefix + ".handoff.hb",
		},
		done: make(chan struct{}),
	}
	nc, err := nats.Connect(cfg.NATSURL, nats.Name("shopchat-handoff-"+cfg.Node), nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond), nats.ReconnectJitter(100*time.Millisecond, time.Second))
	if err != nil {
		return nil, fmt.Errorf("cluster: NATS connect %s: %w", cfg.NATSURL, err)
	}
	d.nc = nc
	for _, s := range []struct {
		subj string
		h    nats.MsgHandler
	}{{d.subj.events, d.onEvent}, {d.subj.agents, d.onAgentsQuery}, {d.subj.heartbeat, d.onHeartbeat}} {
		sub, err := nc.Subscribe(s.subj, s.h)
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("cluster: NATS subscribe %s: %w", s.subj, err)
		}
		_ = sub.SetPendingLimits(1<<20, 256<<20)
		d.subs = append(d.subs, sub)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	go d.run(ctx)
	return d, nil
}

// Close stops leading (another node takes over) and disconnects.
func (d *Dispatcher) Close() error {
	d.cancel()
	<-d.done
	d.nc.Close()
	return nil
}

// Observe adds an observer of every later engine event, wherever the leader runs.
func (d *Dispatcher) Observe(o handoff.Observer) {
	d.obsMu.Lock()
	d.observers = append(d.observers, o)
	d.obsMu.Unlock()
}

func (d *Dispatcher) deliverLocal(ev handoff.Event) {
	d.obsMu.RLock()
	obs := d.observers
	d.obsMu.RUnlock()
	for _, o := range obs {
		o.HandoffEvent(ev)
	}
}

// IsLeader reports whether this node leads the cluster's handoff engine now.
func (d *Dispatcher) IsLeader() bool {
	d.leadMu.RLock()
	defer d.leadMu.RUnlock()
	return d.lead != nil
}

// Ready reports an error while NATS is unreachable (for /readyz).
func (d *Dispatcher) Ready(ctx context.Context) error {
	if d.nc.IsConnected() {
		return nil
	}
	return fmt.Errorf("handoff dispatcher: NATS %s unreachable; handoff decisions wait for it", d.cfg.NATSURL)
}

// DispatcherStats counts what a Dispatcher did.
type DispatcherStats struct {
	Leader        bool
	LeaderChanges uint64 // times this node became leader
	Forwarded     uint64 // calls sent to another node's leader
}

// Stats returns the counters (for /metrics).
func (d *Dispatcher) Stats() DispatcherStats {
	return DispatcherStats{Leader: d.IsLeader(), LeaderChanges: d.leaderChanges.Load(), Forwarded: d.forwarded.Load()}
}

// --- leadership ---

// leadership is this node's term as leader.
type leadership struct {
	engine *handoff.Engine
	term   string

	mu        sync.Mutex
	agentNode map[string]string    // agent -> node that registered it last
	lastSeen  map[string]time.Time // node -> last heartbeat
}

func (d *Dispatcher) run(ctx context.Context) {
	defer close(d.done)
	hb := time.NewTicker(d.cfg.Heartbeat)
	defer hb.Stop()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hb.C:
				_ = d.nc.Publish(d.subj.heartbeat, []byte(d.cfg.Node))
			}
		}
	}()
	for ctx.Err() == nil {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		conn, err := pgx.Connect(cctx, d.cfg.DSN)
		cancel()
		if err != nil {
			d.log.Warn("handoff leader election: PostgreSQL unreachable", "err", err)
			sleepCtx(ctx, 2*time.Second)
			continue
		}
		d.compete(ctx, conn)
		_ = conn.Close(context.Background())
	}
}

// compete tries to take the lock until ctx is done or the connection fails; leads while it holds it.
func (d *Dispatcher) compete(ctx context.Context, conn *pgx.Conn) {
	for ctx.Err() == nil {
		var got bool
		qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := conn.QueryRow(qctx, `SELECT pg_try_advisory_lock($1)`, d.cfg.LockKey).Scan(&got)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				d.log.Warn("handoff leader election", "err", err)
			}
			return
		}
		if got {
			d.leadWhileLocked(ctx, conn)
			return
		}
		sleepCtx(ctx, jitter(d.cfg.LockRetry))
	}
}

func (d *Dispatcher) leadWhileLocked(ctx context.Context, conn *pgx.Conn) {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	l, rpcSub, err := d.becomeLeader(lctx)
	if err != nil {
		d.log.Error("handoff leader: cannot start", "err", err)
		return // the connection is closed by the caller, which releases the lock
	}
	d.log.Info("leading the handoff engine", "term", l.term)
	t := time.NewTicker(d.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-lctx.Done():
			d.stepDown(rpcSub)
			return
		case <-t.C:
			pctx, pcancel := context.WithTimeout(lctx, 3*time.Second)
			_, err := conn.Exec(pctx, `SELECT 1`)
			pcancel()
			if err != nil && lctx.Err() == nil {
				// Without the session the lock may be someone else's now: stop deciding at once.
				d.log.Warn("handoff leader: lost PostgreSQL session, stepping down", "err", err)
				d.stepDown(rpcSub)
				return
			}
			d.expireNodes(l)
		}
	}
}

func (d *Dispatcher) stepDown(rpcSub *nats.Subscription) {
	if rpcSub != nil {
		_ = rpcSub.Unsubscribe()
	}
	d.leadMu.Lock()
	d.lead = nil
	d.leadMu.Unlock()
	d.log.Info("stopped leading the handoff engine")
}

// becomeLeader builds and restores the engine, then serves calls.
func (d *Dispatcher) becomeLeader(ctx context.Context) (*leadership, *nats.Subscription, error) {
	eng, err := handoff.NewEngine(d.cfg.Engine)
	if err != nil {
		return nil, nil, err
	}
	var tb [6]byte
	_, _ = rand.Read(tb[:])
	l := &leadership{engine: eng, term: d.cfg.Node + "-" + hex.EncodeToString(tb[:]), agentNode: map[string]string{}, lastSeen: map[string]time.Time{}}
	persister := handoff.NewPersister(d.cfg.Store, d.log)
	eng.Observe(persister)
	fwd := &forwarder{d: d, l: l}
	fwd.restoring.Store(true)
	eng.Observe(fwd)
	go persister.Run(ctx)

	if err := d.restore(ctx, l, fwd); err != nil {
		return nil, nil, err
	}
	go eng.Run(ctx, time.Second)
	d.leadMu.Lock()
	d.lead = l
	d.leadMu.Unlock()
	d.leaderChanges.Add(1)
	sub, err := d.nc.QueueSubscribe(d.subj.rpc, "leader", func(m *nats.Msg) { go d.serve(l, m) })
	if err != nil {
		d.leadMu.Lock()
		d.lead = nil
		d.leadMu.Unlock()
		return nil, nil, fmt.Errorf("cluster: subscribe %s: %w", d.subj.rpc, err)
	}
	return l, sub, nil
}

// restore rebuilds the engine's state: the agents every node knows, the stored open handoffs, and the
// assignments to agents who are still connected (kept with the same agent rather than requeued). The
// customer-visible events of this replay are not delivered: only what changed for good is.
func (d *Dispatcher) restore(ctx context.Context, l *leadership, fwd *forwarder) error {
	eng := l.engine
	agents := d.gatherAgents(ctx, l)
	// Every agent joins away first, so that nothing is auto-assigned before the assignments are back.
	wantOnline := map[string]bool{}
	for _, a := range agents {
		info := a
		if info.Status == handoff.AgentOnline {
			wantOnline[info.ID] = true
			info.Status = handoff.AgentAway
		}
		if _, err := eng.SetAgent(ctx, info); err != nil {
			d.log.Warn("restore agent", "agent", info.ID, "err", err)
		}
	}
	recs, err := d.cfg.Store.OpenHandoffs(ctx)
	if err != nil {
		return fmt.Errorf("cluster: restore handoffs: %w", err)
	}
	before := map[string]handoff.Handoff{}
	hs := make([]handoff.Handoff, 0, len(recs))
	for _, r := range recs {
		h := handoff.FromRecord(r)
		before[h.ConvID] = h
		hs = append(hs, h)
	}
	eng.Restore(ctx, hs)
	for _, h := range hs {
		if h.State != handoff.StateAssigned || h.AgentID == "" {
			continue
		}
		if _, ok := agents[h.AgentID]; !ok || agents[h.AgentID].Status == handoff.AgentOffline {
			continue // its agent is gone: it stays queued for another
		}
		actor := handoff.Actor{AgentID: h.AgentID}
		if _, err := eng.Claim(ctx, h.ConvID, actor); err != nil {
			d.log.Warn("restore assignment", "conv", h.ConvID, "agent", h.AgentID, "err", err)
			continue
		}
		if !h.FirstResponseAt.IsZero() {
			_, _ = eng.AgentReplied(ctx, h.ConvID, actor)
		}
	}
	ids := make([]string, 0, len(wantOnline))
	for id := range wantOnline {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if _, err := eng.SetAgentStatus(ctx, id, handoff.AgentOnline); err != nil {
			d.log.Warn("restore agent status", "agent", id, "err", err)
		}
	}
	fwd.finishRestore(ctx, before)
	d.log.Info("handoff engine restored", "open", len(hs), "agents", len(agents))
	return nil
}

// forwarder observes the leader's engine: it delivers each event to this node's observers and
// publishes it to the other nodes. While the engine is being restored it holds the events back.
type forwarder struct {
	d         *Dispatcher
	l         *leadership
	restoring atomic.Bool
	mu        sync.Mutex
	held      []handoff.Event
}

type wireEvent struct {
	Node  string        `json:"node"`
	Term  string        `json:"term"`
	Event handoff.Event `json:"event"`
}

func (f *forwarder) HandoffEvent(ev handoff.Event) {
	if f.restoring.Load() {
		f.mu.Lock()
		f.held = append(f.held, ev)
		f.mu.Unlock()
		return
	}
	f.send(ev)
}

func (f *forwarder) send(ev handoff.Event) {
	f.d.deliverLocal(ev)
	data, err := json.Marshal(wireEvent{Node: f.d.cfg.Node, Term: f.l.term, Event: ev})
	if err != nil {
		f.d.log.Error("encode handoff event", "err", err)
		return
	}
	if err := f.d.nc.Publish(f.d.subj.events, data); err != nil {
		f.d.log.Warn("publish handoff event", "err", err)
	}
}

// finishRestore delivers, for every restored conversation whose state or agent changed, its last held
// event, and the latest agent and queue events; then lets events through.
func (f *forwarder) finishRestore(ctx context.Context, before map[string]handoff.Handoff) {
	f.mu.Lock()
	held := f.held
	f.held = nil
	f.mu.Unlock()
	lastConv := map[string]handoff.Event{}
	lastAgent := map[string]handoff.Event{}
	skills := map[string]handoff.Event{}
	for _, ev := range held {
		switch {
		case ev.Handoff != nil:
			lastConv[ev.Handoff.ConvID] = ev
		case ev.Kind == handoff.EventAgent && ev.Agent != nil:
			lastAgent[ev.Agent.ID] = ev
		case ev.Kind == handoff.EventQueue:
			skills[ev.Skill] = ev
		}
	}
	var out []handoff.Event
	for conv, ev := range lastConv {
		b := before[conv]
		if b.State == ev.Handoff.State && b.AgentID == ev.Handoff.AgentID {
			continue
		}
		out = append(out, ev)
	}
	for _, ev := range lastAgent {
		out = append(out, ev)
	}
	for _, ev := range skills {
		out = append(out, ev)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	f.restoring.Store(false)
	for _, ev := range out {
		f.send(ev)
	}
}

// onEvent delivers another node's leader's events to this node's observers.
func (d *Dispatcher) onEvent(m *nats.Msg) {
	var we wireEvent
	if err := json.Unmarshal(m.Data, &we); err != nil {
		d.log.Warn("undecodable handoff event", "err", err)
		return
	}
	if we.Node == d.cfg.Node {
		return // delivered locally already
	}
	d.deliverLocal(we.Event)
}

type agentsReply struct {
	Node   string              `json:"node"`
	Agents []handoff.AgentInfo `json:"agents"`
}

func (d *Dispatcher) localAgents() []handoff.AgentInfo {
	d.agentsMu.Lock()
	defer d.agentsMu.Unlock()
	out := make([]handoff.AgentInfo, 0, len(d.agents))
	for _, a := range d.agents {
		out = append(out, a)
	}
	return out
}

func (d *Dispatcher) onAgentsQuery(m *nats.Msg) {
	if m.Reply == "" {
		return
	}
	data, _ := json.Marshal(agentsReply{Node: d.cfg.Node, Agents: d.localAgents()})
	_ = m.Respond(data)
}

func (d *Dispatcher) onHeartbeat(m *nats.Msg) {
	d.leadMu.RLock()
	l := d.lead
	d.leadMu.RUnlock()
	if l == nil {
		return
	}
	l.mu.Lock()
	l.lastSeen[string(m.Data)] = time.Now()
	l.mu.Unlock()
}

// gatherAgents asks every node for the agents registered through it; where two nodes know one agent
// (it moved), the one not offline wins.
func (d *Dispatcher) gatherAgents(ctx context.Context, l *leadership) map[string]handoff.AgentInfo {
	out := map[string]handoff.AgentInfo{}
	now := time.Now()
	add := func(node string, as []handoff.AgentInfo) {
		l.lastSeen[node] = now
		for _, a := range as {
			if old, ok := out[a.ID]; ok && old.Status != handoff.AgentOffline && a.Status == handoff.AgentOffline {
				continue
			}
			out[a.ID] = a
			l.agentNode[a.ID] = node
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	inbox := d.nc.NewRespInbox()
	sub, err := d.nc.SubscribeSync(inbox)
	if err == nil {
		defer sub.Unsubscribe() //nolint:errcheck
		if err := d.nc.PublishRequest(d.subj.agents, inbox, nil); err == nil {
			deadline := time.Now().Add(d.cfg.GatherWait)
			for {
				wait := time.Until(deadline)
				if wait <= 0 {
					break
				}
				m, err := sub.NextMsg(wait)
				if err != nil {
					break
				}
				var r agentsReply
				if json.Unmarshal(m.Data, &r) == nil && r.Node != d.cfg.Node {
					add(r.Node, r.Agents)
				}
			}
		}
	}
	add(d.cfg.Node, d.localAgents()) // this node's own, last: they are certainly current
	return out
}

// expireNodes sets offline the agents registered through nodes that stopped sending heartbeats.
func (d *Dispatcher) expireNodes(l *leadership) {
	now := time.Now()
	var gone []string
	l.mu.Lock()
	for agent, node := range l.agentNode {
		if node == d.cfg.Node {
			continue
		}
		seen, ok := l.lastSeen[node]
		if !ok {
			l.lastSeen[node] = now
			continue
		}
		if now.Sub(seen) > d.cfg.NodeTimeout {
			gone = append(gone, agent)
			delete(l.agentNode, agent)
		}
	}
	l.mu.Unlock()
	sort.Strings(gone)
	for _, a := range gone {
		d.log.Info("agent's node is gone; agent set offline", "agent", a)
		_, _ = l.engine.SetAgentStatus(context.Background(), a, handoff.AgentOffline)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func jitter(d time.Duration) time.Duration {
	var b [2]byte
	_, _ = rand.Read(b[:])
	f := float64(int(b[0])<<8|int(b[1])) / 65535
	return time.Duration(float64(d) * (0.75 + 0.5*f))
}
