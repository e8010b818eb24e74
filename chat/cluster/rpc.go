package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/shopchat/shopchat/chat/handoff"
)

// rpcReq is one Dispatcher call forwarded to the leader.
type rpcReq struct {
	Op      string              `json:"op"`
	Node    string              `json:"node"`
	ConvID  string              `json:"conv,omitempty"`
	Request handoff.Request     `json:"request,omitzero"`
	Actor   handoff.Actor       `json:"actor,omitzero"`
	To      string              `json:"to,omitempty"` // agent or skill of a transfer, skill of Queue, agent of Assigned
	Info    handoff.AgentInfo   `json:"info,omitzero"`
	Status  handoff.AgentStatus `json:"status,omitempty"`
	Limit   int                 `json:"limit,omitempty"`
}

// rpcResp is the leader's answer.
type rpcResp struct {
	Handoff  handoff.Handoff      `json:"handoff,omitzero"`
	Load     handoff.AgentLoad    `json:"load,omitzero"`
	Entry    handoff.QueueEntry   `json:"entry,omitzero"`
	Entries  []handoff.QueueEntry `json:"entries,omitempty"`
	Handoffs []handoff.Handoff    `json:"handoffs,omitempty"`
	Loads    []handoff.AgentLoad  `json:"loads,omitempty"`
	Total    int                  `json:"total,omitempty"`
	Err      *wireErr             `json:"err,omitempty"`
}

// wireErr carries an error so that errors.Is and errors.As work on the calling node as on the leader.
type wireErr struct {
	Kind       string                   `json:"kind"`
	Msg        string                   `json:"msg"`
	Transition *handoff.TransitionError `json:"transition,omitempty"`
}

var sentinels = map[string]error{
	"not_found": handoff.ErrNotFound, "not_assignee": handoff.ErrNotAssignee,
	"agent_unavailable": handoff.ErrAgentUnavailable, "at_capacity": handoff.ErrAgentAtCapacity,
	"bad_input": handoff.ErrBadInput,
}

func toWire(err error) *wireErr {
	if err == nil {
		return nil
	}
	var te *handoff.TransitionError
	if errors.As(err, &te) {
		return &wireErr{Kind: "transition", Msg: err.Error(), Transition: te}
	}
	for k, s := range sentinels {
		if errors.Is(err, s) {
			return &wireErr{Kind: k, Msg: err.Error()}
		}
	}
	return &wireErr{Kind: "other", Msg: err.Error()}
}

// remoteErr is an error that happened on the leader.
type remoteErr struct {
	msg      string
	sentinel error
}

func (e *remoteErr) Error() string { return e.msg }
func (e *remoteErr) Unwrap() error { return e.sentinel }

func (w *wireErr) err() error {
	if w == nil {
		return nil
	}
	if w.Kind == "transition" && w.Transition != nil {
		return w.Transition
	}
	return &remoteErr{msg: w.Msg, sentinel: sentinels[w.Kind]}
}

// execOn runs a call on the engine (on the leader).
func execOn(ctx context.Context, e *handoff.Engine, r rpcReq) rpcResp {
	var out rpcResp
	var err error
	switch r.Op {
	case "request":
		out.Handoff, err = e.Request(ctx, r.Request)
	case "claim":
		out.Handoff, err = e.Claim(ctx, r.ConvID, r.Actor)
	case "takeover":
		out.Handoff, err = e.Takeover(ctx, r.Request, r.Actor)
	case "resolve":
		out.Handoff, err = e.Resolve(ctx, r.ConvID, r.Actor)
	case "return":
		out.Handoff, err = e.ReturnToBot(ctx, r.ConvID, r.Actor)
	case "cancel":
		out.Handoff, err = e.Cancel(ctx, r.ConvID)
	case "transfer_agent":
		out.Handoff, err = e.TransferToAgent(ctx, r.ConvID, r.Actor, r.To)
	case "transfer_skill":
		out.Handoff, err = e.TransferToSkill(ctx, r.ConvID, r.Actor, r.To)
	case "replied":
		out.Handoff, err = e.AgentReplied(ctx, r.ConvID, r.Actor)
	case "set_agent":
		out.Load, err = e.SetAgent(ctx, r.Info)
	case "set_status":
		out.Load, err = e.SetAgentStatus(ctx, r.Info.ID, r.Status)
	case "get":
		out.Handoff, err = e.Get(ctx, r.ConvID)
	case "position":
		out.Entry, err = e.Position(ctx, r.ConvID)
	case "queue":
		out.Entries, err = e.Queue(ctx, r.To)
	case "queue_all":
		out.Entries, err = e.QueueAll(ctx)
	case "assigned":
		out.Handoffs, err = e.Assigned(ctx, r.To)
	case "agents":
		out.Loads, err = e.Agents(ctx)
	case "queue_head":
		out.Entries, out.Total = e.QueueHead(ctx, r.Limit)
	default:
		err = fmt.Errorf("%w: unknown operation %q", handoff.ErrBadInput, r.Op)
	}
	out.Err = toWire(err)
	return out
}

// execLeader runs a call on the leader's engine. The engine emits no event for an agent's first reply,
// so the leader stores it itself: a later leader restores it and does not requeue the conversation
// for want of an answer.
func (d *Dispatcher) execLeader(ctx context.Context, l *leadership, r rpcReq) rpcResp {
	out := execOn(ctx, l.engine, r)
	if r.Op == "replied" && out.Err == nil && !out.Handoff.FirstResponseAt.IsZero() &&
		time.Since(out.Handoff.FirstResponseAt) < time.Minute {
		if err := d.cfg.Store.SaveHandoff(ctx, handoff.Record(out.Handoff, "")); err != nil {
			d.log.Warn("store first reply", "conv", r.ConvID, "err", err)
		}
	}
	return out
}

// serve answers one forwarded call (on the leader).
func (d *Dispatcher) serve(l *leadership, m *nats.Msg) {
	var r rpcReq
	var out rpcResp
	if err := json.Unmarshal(m.Data, &r); err != nil {
		out.Err = toWire(fmt.Errorf("%w: undecodable call: %v", handoff.ErrBadInput, err))
	} else {
		d.noteAgentNode(l, r)
		ctx, cancel := context.WithTimeout(context.Background(), d.cfg.CallTimeout)
		out = d.execLeader(ctx, l, r)
		cancel()
	}
	data, err := json.Marshal(out)
	if err != nil {
		data, _ = json.Marshal(rpcResp{Err: toWire(err)})
	}
	if err := m.Respond(data); err != nil {
		d.log.Warn("handoff call: reply failed", "op", r.Op, "err", err)
	}
}

// noteAgentNode remembers which node an agent's console is on, so that the agent goes offline if that
// node dies.
func (d *Dispatcher) noteAgentNode(l *leadership, r rpcReq) {
	if r.Op != "set_agent" && r.Op != "set_status" {
		return
	}
	l.mu.Lock()
	if r.Op == "set_agent" && r.Info.Status != handoff.AgentOffline || r.Op == "set_status" && r.Status != handoff.AgentOffline {
		l.agentNode[r.Info.ID] = r.Node
		if _, ok := l.lastSeen[r.Node]; !ok {
			l.lastSeen[r.Node] = time.Now()
		}
	} else if l.agentNode[r.Info.ID] == r.Node {
		delete(l.agentNode, r.Info.ID)
	}
	l.mu.Unlock()
}

func (d *Dispatcher) leader() *leadership {
	d.leadMu.RLock()
	defer d.leadMu.RUnlock()
	return d.lead
}

// call runs r on the leader: here when this node leads, else over NATS, waiting for a leader while
// there is none (up to LeaderWait). A call is sent again only when no leader received it.
func (d *Dispatcher) call(ctx context.Context, r rpcReq) (rpcResp, error) {
	r.Node = d.cfg.Node
	deadline := time.Now().Add(d.cfg.LeaderWait)
	data, err := json.Marshal(r)
	if err != nil {
		return rpcResp{}, fmt.Errorf("cluster: encode call: %w", err)
	}
	wait := 50 * time.Millisecond
	for {
		if l := d.leader(); l != nil {
			d.noteAgentNode(l, r)
			out := d.execLeader(ctx, l, r)
			return out, out.Err.err()
		}
		cctx, cancel := context.WithTimeout(ctx, d.cfg.CallTimeout)
		msg, err := d.nc.RequestWithContext(cctx, d.subj.rpc, data)
		cancel()
		if err == nil {
			d.forwarded.Add(1)
			var out rpcResp
			if err := json.Unmarshal(msg.Data, &out); err != nil {
				return rpcResp{}, fmt.Errorf("cluster: undecodable answer from the leader: %w", err)
			}
			return out, out.Err.err()
		}
		retry := errors.Is(err, nats.ErrNoResponders) || errors.Is(err, nats.ErrConnectionReconnecting) ||
			errors.Is(err, nats.ErrDisconnected) || !d.nc.IsConnected()
		if !retry || ctx.Err() != nil || time.Now().After(deadline) {
			if retry || errors.Is(err, context.DeadlineExceeded) {
				return rpcResp{}, fmt.Errorf("%w: %s: %v", ErrNoLeader, r.Op, err)
			}
			return rpcResp{}, fmt.Errorf("cluster: %s: %w", r.Op, err)
		}
		sleepCtx(ctx, wait)
		wait = min(wait*2, 500*time.Millisecond)
	}
}

// --- handoff.Dispatcher ---

// Request queues a conversation for a human.
func (d *Dispatcher) Request(ctx context.Context, req handoff.Request) (handoff.Handoff, error) {
	out, err := d.call(ctx, rpcReq{Op: "request", Request: req})
	return out.Handoff, err
}

// Claim assigns a queued conversation to the acting agent; of concurrent claims on any nodes exactly
// one wins.
func (d *Dispatcher) Claim(ctx context.Context, convID string, a handoff.Actor) (handoff.Handoff, error) {
	out, err := d.call(ctx, rpcReq{Op: "claim", ConvID: convID, Actor: a})
	return out.Handoff, err
}

// Takeover assigns a conversation the bot is handling straight to the acting agent.
func (d *Dispatcher) Takeover(ctx context.Context, req handoff.Request, a handoff.Actor) (handoff.Handoff, error) {
	out, err := d.call(ctx, rpcReq{Op: "takeover", Request: req, Actor: a})
	return out.Handoff, err
}

// Resolve closes a queued or assigned conversation.
func (d *Dispatcher) Resolve(ctx context.Context, convID string, a handoff.Actor) (handoff.Handoff, error) {
	out, err := d.call(ctx, rpcReq{Op: "resolve", ConvID: convID, Actor: a})
	return out.Handoff, err
}

// ReturnToBot hands a conversation back to the bot.
func (d *Dispatcher) ReturnToBot(ctx context.Context, convID string, a handoff.Actor) (handoff.Handoff, error) {
	out, err := d.call(ctx, rpcReq{Op: "return", ConvID: convID, Actor: a})
	return out.Handoff, err
}

// Cancel takes a waiting conversation out of the queue (the customer withdrew).
func (d *Dispatcher) Cancel(ctx context.Context, convID string) (handoff.Handoff, error) {
	out, err := d.call(ctx, rpcReq{Op: "cancel", ConvID: convID})
	return out.Handoff, err
}

// TransferToAgent moves an assigned conversation to another agent.
func (d *Dispatcher) TransferToAgent(ctx context.Context, convID string, a handoff.Actor, toAgent string) (handoff.Handoff, error) {
	out, err := d.call(ctx, rpcReq{Op: "transfer_agent", ConvID: convID, Actor: a, To: toAgent})
	return out.Handoff, err
}

// TransferToSkill moves a conversation to another skill's queue.
func (d *Dispatcher) TransferToSkill(ctx context.Context, convID string, a handoff.Actor, skill string) (handoff.Handoff, error) {
	out, err := d.call(ctx, rpcReq{Op: "transfer_skill", ConvID: convID, Actor: a, To: skill})
	return out.Handoff, err
}

// AgentReplied records an agent's reply.
func (d *Dispatcher) AgentReplied(ctx context.Context, convID string, a handoff.Actor) (handoff.Handoff, error) {
	out, err := d.call(ctx, rpcReq{Op: "replied", ConvID: convID, Actor: a})
	return out.Handoff, err
}

// SetAgent registers or updates an agent; this node remembers it for a future leader.
func (d *Dispatcher) SetAgent(ctx context.Context, info handoff.AgentInfo) (handoff.AgentLoad, error) {
	out, err := d.call(ctx, rpcReq{Op: "set_agent", Info: info})
	if err == nil {
		d.agentsMu.Lock()
		d.agents[info.ID] = out.Load.AgentInfo
		d.agentsMu.Unlock()
	}
	return out.Load, err
}

// SetAgentStatus changes an agent's status.
func (d *Dispatcher) SetAgentStatus(ctx context.Context, agentID string, s handoff.AgentStatus) (handoff.AgentLoad, error) {
	out, err := d.call(ctx, rpcReq{Op: "set_status", Info: handoff.AgentInfo{ID: agentID}, Status: s})
	if err == nil {
		d.agentsMu.Lock()
		if s == handoff.AgentOffline {
			delete(d.agents, agentID)
		} else {
			d.agents[agentID] = out.Load.AgentInfo
		}
		d.agentsMu.Unlock()
	}
	return out.Load, err
}

// Get returns a conversation's handoff.
func (d *Dispatcher) Get(ctx context.Context, convID string) (handoff.Handoff, error) {
	out, err := d.call(ctx, rpcReq{Op: "get", ConvID: convID})
	return out.Handoff, err
}

// Position returns a waiting conversation's place in its queue.
func (d *Dispatcher) Position(ctx context.Context, convID string) (handoff.QueueEntry, error) {
	out, err := d.call(ctx, rpcReq{Op: "position", ConvID: convID})
	return out.Entry, err
}

// Queue returns a skill's queue in order.
func (d *Dispatcher) Queue(ctx context.Context, skill string) ([]handoff.QueueEntry, error) {
	out, err := d.call(ctx, rpcReq{Op: "queue", To: skill})
	return out.Entries, err
}

// QueueAll returns every queue.
func (d *Dispatcher) QueueAll(ctx context.Context) ([]handoff.QueueEntry, error) {
	out, err := d.call(ctx, rpcReq{Op: "queue_all"})
	return out.Entries, err
}

// Assigned returns an agent's conversations.
func (d *Dispatcher) Assigned(ctx context.Context, agentID string) ([]handoff.Handoff, error) {
	out, err := d.call(ctx, rpcReq{Op: "assigned", To: agentID})
	return out.Handoffs, err
}

// Agents returns every agent's state.
func (d *Dispatcher) Agents(ctx context.Context) ([]handoff.AgentLoad, error) {
	out, err := d.call(ctx, rpcReq{Op: "agents"})
	return out.Loads, err
}

// QueueHead returns the first limit waiting conversations across every skill and the number waiting
// (nothing while no leader is reachable).
func (d *Dispatcher) QueueHead(ctx context.Context, limit int) ([]handoff.QueueEntry, int) {
	out, err := d.call(ctx, rpcReq{Op: "queue_head", Limit: limit})
	if err != nil {
		d.log.Warn("queue head", "err", err)
		return nil, 0
	}
	return out.Entries, out.Total
}
