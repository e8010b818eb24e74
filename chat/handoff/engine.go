package handoff

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"
)

// EngineConfig configures an Engine. Zero values get defaults.
type EngineConfig struct {
	// Logger receives the engine's logs (default: discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now); tests pass a fake one.
	Now func() time.Time
	// DefaultMaxConcurrent is an agent's capacity when AgentInfo.MaxConcurrent is 0 (default 3).
	DefaultMaxConcurrent int
	// ManualOnly turns auto-assignment off: agents claim from the queue themselves.
	ManualOnly bool
	// AnswerTimeout requeues an assigned conversation whose agent has not replied this long after the
	// assignment (default 2m; negative: never).
	AnswerTimeout time.Duration
	// MaxQueueWait fails a handoff that has waited this long, returning it to the bot (default 0: wait
	// forever).
	MaxQueueWait time.Duration
	// DefaultHandleTime seeds the estimate of how long an agent spends on a conversation, used for
	// estimated waits until real conversations have been resolved (default 4m).
	DefaultHandleTime time.Duration
	// ResolvedRetention is how long resolved conversations stay in memory, so that late actions on them
	// get a clear "it is resolved" refusal (default 1h). The store keeps them for good.
	ResolvedRetention time.Duration
}

// Engine is the in-process Dispatcher: the whole queue and every agent's load in memory behind one
// mutex, for a single node. It is safe for concurrent use. Events go to the observers in order, outside
// the engine's lock.
type Engine struct {
	cfg EngineConfig
	log *slog.Logger

	mu      sync.Mutex
	convs   map[string]*rec
	queues  map[string]*queue
	agents  map[string]*agentState
	arrival uint64
	seq     int64
	pending []Event
	// handleEWMA is the running estimate of an agent's time per conversation.
	handleEWMA time.Duration

	obsMu     sync.RWMutex
	observers []Observer
	deliverMu sync.Mutex
}

type agentState struct {
	info         AgentInfo
	active       map[string]struct{}
	lastAssigned time.Time
}

var _ Dispatcher = (*Engine)(nil)

// NewEngine returns an Engine with cfg's zero values defaulted.
func NewEngine(cfg EngineConfig) (*Engine, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DefaultMaxConcurrent <= 0 {
		cfg.DefaultMaxConcurrent = 3
	}
	if cfg.AnswerTimeout == 0 {
		cfg.AnswerTimeout = 2 * time.Minute
	}
	if cfg.DefaultHandleTime <= 0 {
		cfg.DefaultHandleTime = 4 * time.Minute
	}
	if cfg.ResolvedRetention <= 0 {
		cfg.ResolvedRetention = time.Hour
	}
	return &Engine{
		cfg:        cfg,
		log:        cfg.Logger,
		convs:      make(map[string]*rec),
		queues:     make(map[string]*queue),
		agents:     make(map[string]*agentState),
		handleEWMA: cfg.DefaultHandleTime,
	}, nil
}

// Observe adds an observer of every later event.
func (e *Engine) Observe(o Observer) {
	e.obsMu.Lock()
	e.observers = append(e.observers, o)
	e.obsMu.Unlock()
}

// emit records an event; the caller holds e.mu. Delivered by flush after the lock is released.
func (e *Engine) emit(ev Event) {
	e.seq++
	ev.Seq = e.seq
	if ev.At.IsZero() {
		ev.At = e.cfg.Now()
	}
	e.pending = append(e.pending, ev)
}

func (e *Engine) emitHandoff(kind EventKind, r *rec, actor, prevAgent, detail string) {
	h := r.h
	e.emit(Event{Kind: kind, Handoff: &h, Actor: actor, PrevAgent: prevAgent, Detail: detail})
}

func (e *Engine) emitAgent(a *agentState) {
	l := e.loadOf(a)
	e.emit(Event{Kind: EventAgent, Agent: &l})
}

func (e *Engine) emitQueue(skill string) {
	e.emit(Event{Kind: EventQueue, Skill: skill})
}

// flush delivers pending events in order. Only one goroutine delivers at a time; one that finds
// another delivering leaves its events to it. Observers may call back into the engine.
func (e *Engine) flush() {
	for {
		if !e.deliverMu.TryLock() {
			return
		}
		e.mu.Lock()
		batch := e.pending
		e.pending = nil
		e.mu.Unlock()
		if len(batch) > 0 {
			e.obsMu.RLock()
			obs := e.observers
			e.obsMu.RUnlock()
			for _, ev := range batch {
				for _, o := range obs {
					o.HandoffEvent(ev)
				}
			}
		}
		e.deliverMu.Unlock()
		e.mu.Lock()
		more := len(e.pending) > 0
		e.mu.Unlock()
		if !more {
			return
		}
	}
}

// do runs fn under the lock, then delivers the events it emitted.
func (e *Engine) do(fn func() (Handoff, error)) (Handoff, error) {
	e.mu.Lock()
	h, err := fn()
	e.mu.Unlock()
	e.flush()
	return h, err
}

func (e *Engine) maxOf(a *agentState) int {
	if a.info.MaxConcurrent > 0 {
		return a.info.MaxConcurrent
	}
	return e.cfg.DefaultMaxConcurrent
}

func (e *Engine) loadOf(a *agentState) AgentLoad {
	info := a.info
	info.Skills = slices.Clone(info.Skills)
	if info.MaxConcurrent <= 0 {
		info.MaxConcurrent = e.cfg.DefaultMaxConcurrent
	}
	return AgentLoad{AgentInfo: info, Active: len(a.active)}
}

func serves(a *agentState, skill string) bool {
	return skill == "" || slices.Contains(a.info.Skills, skill)
}

func (e *Engine) queueOf(skill string) *queue {
	q := e.queues[skill]
	if q == nil {
		q = &queue{}
		e.queues[skill] = q
	}
	return q
}

func (e *Engine) touch(r *rec) { r.h.Version++ }

// enqueue puts r in its skill's queue (state queued) and emits the queue change.
func (e *Engine) enqueue(r *rec) {
	r.h.State = StateQueued
	r.h.AgentID, r.h.AgentName = "", ""
	r.h.AssignedAt, r.h.FirstResponseAt = time.Time{}, time.Time{}
	e.arrival++
	r.arrival = e.arrival
	e.queueOf(r.h.Skill).insert(r)
	e.emitQueue(r.h.Skill)
}

func (e *Engine) dequeue(r *rec) {
	if q := e.queues[r.h.Skill]; q != nil && q.remove(r) {
		e.emitQueue(r.h.Skill)
	}
}

// assign gives r to agent a (both checked by the caller).
func (e *Engine) assign(r *rec, a *agentState, now time.Time) {
	r.h.State = StateAssigned
	r.h.AgentID = a.info.ID
	r.h.AgentName = a.info.Name
	r.h.AssignedAt = now
	r.h.FirstResponseAt = time.Time{}
	a.active[r.h.ConvID] = struct{}{}
	a.lastAssigned = now
	e.touch(r)
}

// release takes r off its agent.
func (e *Engine) release(r *rec) *agentState {
	a := e.agents[r.h.AgentID]
	if a != nil {
		delete(a.active, r.h.ConvID)
	}
	return a
}

// free reports whether a can take one more conversation automatically.
func (e *Engine) free(a *agentState) bool {
	return a.info.Status == AgentOnline && len(a.active) < e.maxOf(a)
}

// autoAssign gives queued r to the best free agent, if any: the one with the fewest conversations, then
// the one idle longest. Returns whether it assigned.
func (e *Engine) autoAssign(r *rec, now time.Time) bool {
	if e.cfg.ManualOnly || r.h.State != StateQueued {
		return false
	}
	var best, fallback *agentState
	for _, a := range e.agents {
		if !e.free(a) || !serves(a, r.h.Skill) {
			continue
		}
		if a.info.ID == r.excluded {
			fallback = a
			continue
		}
		if best == nil || len(a.active) < len(best.active) ||
			(len(a.active) == len(best.active) && (a.lastAssigned.Before(best.lastAssigned) ||
				a.lastAssigned.Equal(best.lastAssigned) && a.info.ID < best.info.ID)) {
			best = a
		}
	}
	if best == nil {
		best = fallback
	}
	if best == nil {
		return false
	}
	e.dequeue(r)
	e.assign(r, best, now)
	r.excluded = ""
	e.emitHandoff(EventAssigned, r, "", "", "auto")
	e.emitAgent(best)
	return true
}

// fill gives agent a queued conversations while it is free: each time the head, across the queues it
// serves, that is furthest ahead.
func (e *Engine) fill(a *agentState, now time.Time) {
	if e.cfg.ManualOnly {
		return
	}
	for e.free(a) {
		var pick *rec
		consider := func(skill string) {
			q := e.queues[skill]
			if q == nil {
				return
			}
			for i, r := range q.items {
				if i > 8 { // an excluded agent only skips the first few
					break
				}
				if r.excluded == a.info.ID && e.someoneElseFree(r, a) {
					continue
				}
				if pick == nil || before(r, pick) {
					pick = r
				}
				break
			}
		}
		consider("")
		for _, s := range a.info.Skills {
			if s != "" {
				consider(s)
			}
		}
		if pick == nil {
			return
		}
		e.dequeue(pick)
		e.assign(pick, a, now)
		pick.excluded = ""
		e.emitHandoff(EventAssigned, pick, "", "", "auto")
		e.emitAgent(a)
	}
}

func (e *Engine) someoneElseFree(r *rec, not *agentState) bool {
	for _, a := range e.agents {
		if a != not && e.free(a) && serves(a, r.h.Skill) {
			return true
		}
	}
	return false
}

func (e *Engine) actorCheck(r *rec, a Actor, action Action) error {
	if a.AgentID == "" || a.Admin {
		return nil
	}
	if r.h.AgentID != a.AgentID {
		return fmt.Errorf("%s %s: %w", action, r.h.ConvID, ErrNotAssignee)
	}
	return nil
}

func (e *Engine) refuse(r *rec, convID string, action Action) error {
	from := StateBot
	if r != nil {
		from = r.h.State
	}
	return &TransitionError{ConvID: convID, From: from, Action: action}
}

func checkID(kind, id string) error {
	if id == "" || len(id) > 128 {
		return fmt.Errorf("%w: %s id must be 1-128 bytes", ErrBadInput, kind)
	}
	return nil
}

// Request queues a conversation for a human (from bot, or from resolved: a new handoff). A
// conversation already queued or assigned is refused with a *TransitionError.
func (e *Engine) Request(ctx context.Context, req Request) (Handoff, error) {
	if err := checkID("conversation", req.ConvID); err != nil {
		return Handoff{}, err
	}
	if len(req.Skill) > 64 {
		return Handoff{}, fmt.Errorf("%w: skill longer than 64 bytes", ErrBadInput)
	}
	return e.do(func() (Handoff, error) {
		now := e.cfg.Now()
		r := e.convs[req.ConvID]
		if r != nil && r.h.State != StateBot && r.h.State != StateResolved {
			return r.h, e.refuse(r, req.ConvID, ActionRequest)
		}
		if r == nil {
			r = &rec{}
			e.convs[req.ConvID] = r
		}
		version := r.h.Version
		r.h = Handoff{
			ConvID: req.ConvID, CustomerID: req.CustomerID, CustomerName: req.CustomerName,
			Skill: req.Skill, Priority: req.Priority, Reason: req.Reason,
			RequestedAt: now, QueuedAt: now, Version: version + 1,
		}
		if r.h.Reason == "" {
			r.h.Reason = ReasonCustomer
		}
		r.excluded = ""
		e.enqueue(r)
		e.emitHandoff(EventQueued, r, "", "", r.h.Reason)
		e.autoAssign(r, now)
		return r.h, nil
	})
}

// Claim assigns a queued conversation to the acting agent. Of concurrent claims exactly one wins; the
// others get a *TransitionError (it is assigned). The agent must not be offline nor at capacity.
func (e *Engine) Claim(ctx context.Context, convID string, a Actor) (Handoff, error) {
	if err := checkID("agent", a.AgentID); err != nil {
		return Handoff{}, err
	}
	return e.do(func() (Handoff, error) {
		r := e.convs[convID]
		if r == nil || r.h.State != StateQueued {
			if r == nil {
				return Handoff{ConvID: convID, State: StateBot}, e.refuse(r, convID, ActionClaim)
			}
			return r.h, e.refuse(r, convID, ActionClaim)
		}
		ag, err := e.claimable(a.AgentID)
		if err != nil {
			return r.h, err
		}
		now := e.cfg.Now()
		e.dequeue(r)
		e.assign(r, ag, now)
		r.excluded = ""
		e.emitHandoff(EventAssigned, r, a.AgentID, "", "claim")
		e.emitAgent(ag)
		return r.h, nil
	})
}

func (e *Engine) claimable(agentID string) (*agentState, error) {
	ag := e.agents[agentID]
	if ag == nil {
		return nil, fmt.Errorf("agent %s: %w", agentID, ErrNotFound)
	}
	if ag.info.Status == AgentOffline {
		return nil, fmt.Errorf("agent %s is offline: %w", agentID, ErrAgentUnavailable)
	}
	if len(ag.active) >= e.maxOf(ag) {
		return nil, fmt.Errorf("agent %s has %d conversations: %w", agentID, len(ag.active), ErrAgentAtCapacity)
	}
	return ag, nil
}

// Takeover assigns a conversation the bot is handling (or one resolved earlier) straight to the acting
// agent, from the live list. A queued conversation is claimed instead.
func (e *Engine) Takeover(ctx context.Context, req Request, a Actor) (Handoff, error) {
	if err := checkID("conversation", req.ConvID); err != nil {
		return Handoff{}, err
	}
	if err := checkID("agent", a.AgentID); err != nil {
		return Handoff{}, err
	}
	e.mu.Lock()
	r := e.convs[req.ConvID]
	queued := r != nil && r.h.State == StateQueued
	e.mu.Unlock()
	if queued {
		return e.Claim(ctx, req.ConvID, a)
	}
	return e.do(func() (Handoff, error) {
		r := e.convs[req.ConvID]
		if r != nil && r.h.State != StateBot && r.h.State != StateResolved {
			return r.h, e.refuse(r, req.ConvID, ActionClaim)
		}
		ag, err := e.claimable(a.AgentID)
		if err != nil {
			return Handoff{ConvID: req.ConvID, State: StateBot}, err
		}
		if r == nil {
			r = &rec{}
			e.convs[req.ConvID] = r
		}
		now := e.cfg.Now()
		version := r.h.Version
		r.h = Handoff{
			ConvID: req.ConvID, CustomerID: req.CustomerID, CustomerName: req.CustomerName,
			Skill: req.Skill, Priority: req.Priority, Reason: ReasonTakeover,
			RequestedAt: now, QueuedAt: now, Version: version,
		}
		e.assign(r, ag, now)
		e.emitHandoff(EventAssigned, r, a.AgentID, "", "takeover")
		e.emitAgent(ag)
		return r.h, nil
	})
}

// Resolve closes a queued or assigned conversation. An agent may resolve only its own conversations
// (admins any, and any agent a queued one).
func (e *Engine) Resolve(ctx context.Context, convID string, a Actor) (Handoff, error) {
	return e.do(func() (Handoff, error) {
		r := e.convs[convID]
		if h, err := e.checkOpen(r, convID, a, ActionResolve); err != nil {
			return h, err
		}
		now := e.cfg.Now()
		prev := r.h.AgentID
		e.leave(r, now)
		r.h.State = StateResolved
		r.h.ResolvedAt = now
		r.h.AgentID, r.h.AgentName = prev, e.agentName(prev)
		e.touch(r)
		e.emitHandoff(EventResolved, r, a.AgentID, prev, "")
		e.afterRelease(prev, now)
		return r.h, nil
	})
}

func (e *Engine) agentName(id string) string {
	if a := e.agents[id]; a != nil {
		return a.info.Name
	}
	return ""
}

func (e *Engine) stateOf(r *rec, convID string) Handoff {
	if r == nil {
		return Handoff{ConvID: convID, State: StateBot}
	}
	return r.h
}

// leave takes r out of the queue or off its agent, updating the handle-time estimate when an agent
// had it.
func (e *Engine) leave(r *rec, now time.Time) {
	switch r.h.State {
	case StateQueued:
		e.dequeue(r)
	case StateAssigned:
		if !r.h.AssignedAt.IsZero() && now.After(r.h.AssignedAt) {
			d := now.Sub(r.h.AssignedAt)
			e.handleEWMA = (e.handleEWMA*4 + d) / 5
		}
		e.release(r)
	}
}

// afterRelease refills the agent that lost a conversation and reports its load.
func (e *Engine) afterRelease(agentID string, now time.Time) {
	if a := e.agents[agentID]; a != nil {
		e.emitAgent(a)
		e.fill(a, now)
	}
}

// ReturnToBot hands a queued or assigned conversation back to the bot.
func (e *Engine) ReturnToBot(ctx context.Context, convID string, a Actor) (Handoff, error) {
	return e.toBot(convID, a, ActionReturn, EventReturned, "")
}

// Cancel withdraws a queued request on the customer's behalf (the conversation returns to the bot).
func (e *Engine) Cancel(ctx context.Context, convID string) (Handoff, error) {
	return e.do(func() (Handoff, error) {
		r := e.convs[convID]
		if r == nil || r.h.State != StateQueued {
			return e.stateOf(r, convID), e.refuse(r, convID, ActionCancel)
		}
		return e.toBotLocked(r, System, EventReturned, "customer_cancelled"), nil
	})
}

// checkOpen guards the actions on a queued or assigned conversation: any other state is refused and,
// when an agent has the conversation, a must be allowed to act on it. e.mu must be held.
func (e *Engine) checkOpen(r *rec, convID string, a Actor, action Action) (Handoff, error) {
	if r == nil || (r.h.State != StateQueued && r.h.State != StateAssigned) {
		return e.stateOf(r, convID), e.refuse(r, convID, action)
	}
	if r.h.State == StateAssigned {
		if err := e.actorCheck(r, a, action); err != nil {
			return r.h, err
		}
	}
	return r.h, nil
}

func (e *Engine) toBot(convID string, a Actor, action Action, kind EventKind, detail string) (Handoff, error) {
	return e.do(func() (Handoff, error) {
		r := e.convs[convID]
		if h, err := e.checkOpen(r, convID, a, action); err != nil {
			return h, err
		}
		return e.toBotLocked(r, a, kind, detail), nil
	})
}

func (e *Engine) toBotLocked(r *rec, a Actor, kind EventKind, detail string) Handoff {
	now := e.cfg.Now()
	prev := r.h.AgentID
	e.leave(r, now)
	r.h.State = StateBot
	r.h.AgentID, r.h.AgentName = "", ""
	r.h.ResolvedAt = now
	e.touch(r)
	e.emitHandoff(kind, r, a.AgentID, prev, detail)
	e.afterRelease(prev, now)
	return r.h
}

// TransferToAgent moves an assigned conversation to another agent, who must not be offline nor at
// capacity.
func (e *Engine) TransferToAgent(ctx context.Context, convID string, a Actor, toAgent string) (Handoff, error) {
	if err := checkID("agent", toAgent); err != nil {
		return Handoff{}, err
	}
	return e.do(func() (Handoff, error) {
		r := e.convs[convID]
		if r == nil || r.h.State != StateAssigned {
			return e.stateOf(r, convID), e.refuse(r, convID, ActionTransfer)
		}
		if err := e.actorCheck(r, a, ActionTransfer); err != nil {
			return r.h, err
		}
		if toAgent == r.h.AgentID {
			return r.h, fmt.Errorf("%w: conversation %s is already assigned to %s", ErrBadInput, convID, toAgent)
		}
		to, err := e.claimable(toAgent)
		if err != nil {
			return r.h, err
		}
		now := e.cfg.Now()
		prev := r.h.AgentID
		e.release(r)
		e.assign(r, to, now)
		e.emitHandoff(EventTransferred, r, a.AgentID, prev, "agent")
		e.emitAgent(to)
		e.afterRelease(prev, now)
		return r.h, nil
	})
}

// TransferToSkill puts an assigned conversation back in the queue of another skill (or the general
// queue with ""), keeping its waiting time.
func (e *Engine) TransferToSkill(ctx context.Context, convID string, a Actor, skill string) (Handoff, error) {
	if len(skill) > 64 {
		return Handoff{}, fmt.Errorf("%w: skill longer than 64 bytes", ErrBadInput)
	}
	return e.do(func() (Handoff, error) {
		r := e.convs[convID]
		if r == nil || r.h.State != StateAssigned {
			return e.stateOf(r, convID), e.refuse(r, convID, ActionTransfer)
		}
		if err := e.actorCheck(r, a, ActionTransfer); err != nil {
			return r.h, err
		}
		now := e.cfg.Now()
		prev := r.h.AgentID
		e.leave(r, now)
		r.h.Skill = skill
		e.enqueue(r)
		r.excluded = prev
		e.touch(r)
		e.emitHandoff(EventTransferred, r, a.AgentID, prev, "skill")
		e.autoAssign(r, now)
		e.afterRelease(prev, now)
		return r.h, nil
	})
}

// AgentReplied records an agent's reply: the first one sets FirstResponseAt and stops the no-answer
// timer. Only the assignee (or an admin) may reply.
func (e *Engine) AgentReplied(ctx context.Context, convID string, a Actor) (Handoff, error) {
	return e.do(func() (Handoff, error) {
		r := e.convs[convID]
		if r == nil || r.h.State != StateAssigned {
			return e.stateOf(r, convID), e.refuse(r, convID, ActionReply)
		}
		if err := e.actorCheck(r, a, ActionReply); err != nil {
			return r.h, err
		}
		if r.h.FirstResponseAt.IsZero() {
			r.h.FirstResponseAt = e.cfg.Now()
			e.touch(r)
		}
		return r.h, nil
	})
}

// SetAgent registers an agent or updates its name, capacity, skills and status (a logged-in console
// calls it). Lowering the capacity keeps the conversations the agent has; going offline requeues them.
func (e *Engine) SetAgent(ctx context.Context, info AgentInfo) (AgentLoad, error) {
	if err := checkID("agent", info.ID); err != nil {
		return AgentLoad{}, err
	}
	if info.Status == "" {
		info.Status = AgentOffline
	}
	if !info.Status.Valid() {
		return AgentLoad{}, fmt.Errorf("%w: agent status %q (want online, away or offline)", ErrBadInput, info.Status)
	}
	info.Skills = slices.Clone(info.Skills)
	var out AgentLoad
	e.mu.Lock()
	a := e.agents[info.ID]
	if a == nil {
		a = &agentState{active: make(map[string]struct{})}
		e.agents[info.ID] = a
	}
	a.info = info
	e.afterStatus(a)
	out = e.loadOf(a)
	e.mu.Unlock()
	e.flush()
	return out, nil
}

// SetAgentStatus changes an agent's status: online agents get work, offline agents' conversations go
// back to the queue (ahead of later arrivals, as they keep their waiting time).
func (e *Engine) SetAgentStatus(ctx context.Context, agentID string, s AgentStatus) (AgentLoad, error) {
	if !s.Valid() {
		return AgentLoad{}, fmt.Errorf("%w: agent status %q (want online, away or offline)", ErrBadInput, s)
	}
	e.mu.Lock()
	a := e.agents[agentID]
	if a == nil {
		e.mu.Unlock()
		return AgentLoad{}, fmt.Errorf("agent %s: %w", agentID, ErrNotFound)
	}
	a.info.Status = s
	e.afterStatus(a)
	out := e.loadOf(a)
	e.mu.Unlock()
	e.flush()
	return out, nil
}

// afterStatus requeues an offline agent's conversations or fills an online one; the caller holds e.mu.
func (e *Engine) afterStatus(a *agentState) {
	now := e.cfg.Now()
	if a.info.Status == AgentOffline {
		ids := make([]string, 0, len(a.active))
		for id := range a.active {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			if r := e.convs[id]; r != nil {
				e.requeue(r, "agent_offline", now)
			}
		}
		e.emitAgent(a)
		return
	}
	e.emitAgent(a)
	e.fill(a, now)
}

// requeue puts an assigned conversation back in its queue, keeping its place by waiting time.
func (e *Engine) requeue(r *rec, detail string, now time.Time) {
	prev := r.h.AgentID
	e.release(r)
	r.h.Requeues++
	e.enqueue(r)
	r.excluded = prev
	e.touch(r)
	e.emitHandoff(EventRequeued, r, "", prev, detail)
	e.autoAssign(r, now)
}

// Sweep applies the timers as of now: requeues assigned conversations whose agent has not answered
// within AnswerTimeout, fails handoffs waiting longer than MaxQueueWait and forgets resolved
// conversations older than ResolvedRetention. Run calls it every second; tests call it directly.
func (e *Engine) Sweep(now time.Time) {
	e.mu.Lock()
	var noAnswer, tooLong, forget []*rec
	for id, r := range e.convs {
		switch r.h.State {
		case StateAssigned:
			if e.cfg.AnswerTimeout > 0 && r.h.FirstResponseAt.IsZero() && now.Sub(r.h.AssignedAt) >= e.cfg.AnswerTimeout {
				noAnswer = append(noAnswer, r)
			}
		case StateQueued:
			if e.cfg.MaxQueueWait > 0 && now.Sub(r.h.RequestedAt) >= e.cfg.MaxQueueWait {
				tooLong = append(tooLong, r)
			}
		case StateResolved, StateBot:
			if now.Sub(r.h.ResolvedAt) >= e.cfg.ResolvedRetention {
				forget = append(forget, r)
				_ = id
			}
		}
	}
	byKey := func(rs []*rec) {
		sort.Slice(rs, func(i, j int) bool { return rs[i].h.ConvID < rs[j].h.ConvID })
	}
	byKey(noAnswer)
	byKey(tooLong)
	for _, r := range noAnswer {
		prev := e.agents[r.h.AgentID]
		e.requeue(r, "no_answer", now)
		if prev != nil {
			e.emitAgent(prev)
			e.fill(prev, now)
		}
	}
	for _, r := range tooLong {
		if r.h.State != StateQueued {
			continue
		}
		e.dequeue(r)
		r.h.State = StateBot
		r.h.ResolvedAt = now
		e.touch(r)
		e.emitHandoff(EventFailed, r, "", "", "max_queue_wait")
	}
	for _, r := range forget {
		delete(e.convs, r.h.ConvID)
	}
	e.mu.Unlock()
	e.flush()
}

// Run sweeps every interval (default 1s) until ctx is done.
func (e *Engine) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			e.Sweep(e.cfg.Now())
		}
	}
}

// Restore loads handoffs saved before a restart. Queued ones rejoin their queue in their old order;
// assigned ones rejoin the queue too (their agents have to log in again), ahead of later arrivals.
// Call it before the engine serves.
func (e *Engine) Restore(ctx context.Context, hs []Handoff) {
	e.mu.Lock()
	sort.Slice(hs, func(i, j int) bool { return hs[i].QueuedAt.Before(hs[j].QueuedAt) })
	now := e.cfg.Now()
	for _, h := range hs {
		if h.State != StateQueued && h.State != StateAssigned {
			continue
		}
		if _, ok := e.convs[h.ConvID]; ok {
			continue
		}
		r := &rec{h: h}
		if h.State == StateAssigned {
			r.excluded = h.AgentID
			r.h.Requeues++
		}
		e.convs[h.ConvID] = r
		e.enqueue(r)
		e.touch(r)
		if h.State == StateAssigned {
			e.emitHandoff(EventRequeued, r, "", h.AgentID, "restart")
		}
		e.autoAssign(r, now)
	}
	e.mu.Unlock()
	e.flush()
}

// Get returns a conversation's handoff; one the engine does not know is in StateBot.
func (e *Engine) Get(ctx context.Context, convID string) (Handoff, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stateOf(e.convs[convID], convID), nil
}

// slots is the number of conversations the online agents who serve skill can hold at once.
func (e *Engine) slots(skill string) int {
	n := 0
	for _, a := range e.agents {
		if a.info.Status == AgentOnline && serves(a, skill) {
			n += e.maxOf(a)
		}
	}
	return n
}

func (e *Engine) eta(pos, slots int) time.Duration {
	if slots == 0 {
		return -1
	}
	return time.Duration(int64(e.handleEWMA) * int64(pos) / int64(slots))
}

// Position returns a queued conversation's place in its queue and its estimated wait; a conversation
// that is not queued gives a *TransitionError.
func (e *Engine) Position(ctx context.Context, convID string) (QueueEntry, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.convs[convID]
	if r == nil || r.h.State != StateQueued {
		return QueueEntry{Handoff: e.stateOf(r, convID)}, e.refuse(r, convID, "wait in the queue")
	}
	i := e.queues[r.h.Skill].index(r)
	if i < 0 {
		return QueueEntry{}, fmt.Errorf("handoff: conversation %s missing from its queue", convID)
	}
	return QueueEntry{Handoff: r.h, Position: i + 1, EstimatedWait: e.eta(i+1, e.slots(r.h.Skill))}, nil
}

// Queue returns one skill's waiting conversations in order, with positions and estimated waits.
func (e *Engine) Queue(ctx context.Context, skill string) ([]QueueEntry, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.queueLocked(skill), nil
}

func (e *Engine) queueLocked(skill string) []QueueEntry {
	q := e.queues[skill]
	if q == nil {
		return nil
	}
	slots := e.slots(skill)
	out := make([]QueueEntry, len(q.items))
	for i, r := range q.items {
		out[i] = QueueEntry{Handoff: r.h, Position: i + 1, EstimatedWait: e.eta(i+1, slots)}
	}
	return out
}

// QueueAll returns every skill's queue, the general queue first, then by skill name.
func (e *Engine) QueueAll(ctx context.Context) ([]QueueEntry, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	skills := make([]string, 0, len(e.queues))
	for s := range e.queues {
		skills = append(skills, s)
	}
	sort.Strings(skills)
	var out []QueueEntry
	for _, s := range skills {
		out = append(out, e.queueLocked(s)...)
	}
	return out, nil
}

// Assigned returns an agent's current conversations, oldest assignment first.
func (e *Engine) Assigned(ctx context.Context, agentID string) ([]Handoff, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.agents[agentID]
	if a == nil {
		return nil, nil
	}
	out := make([]Handoff, 0, len(a.active))
	for id := range a.active {
		if r := e.convs[id]; r != nil {
			out = append(out, r.h)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].AssignedAt.Equal(out[j].AssignedAt) {
			return out[i].AssignedAt.Before(out[j].AssignedAt)
		}
		return out[i].ConvID < out[j].ConvID
	})
	return out, nil
}

// Agents returns every registered agent with its load, by id.
func (e *Engine) Agents(ctx context.Context) ([]AgentLoad, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]AgentLoad, 0, len(e.agents))
	for _, a := range e.agents {
		out = append(out, e.loadOf(a))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// HandleTime returns the current estimate of an agent's time per conversation.
func (e *Engine) HandleTime() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.handleEWMA
}

// QueueHead returns the first limit waiting conversations across every skill, in the order an agent
// who served every skill would take them, with their positions in their own queues, and the total
// number waiting. It copies only what it returns, so consoles can poll it with large queues.
func (e *Engine) QueueHead(ctx context.Context, limit int) ([]QueueEntry, int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	type cand struct {
		r    *rec
		pos  int
		wait time.Duration
	}
	var cands []cand
	total := 0
	for skill, q := range e.queues {
		total += len(q.items)
		slots := e.slots(skill)
		for i, r := range q.items {
			if i >= limit {
				break
			}
			cands = append(cands, cand{r, i + 1, e.eta(i+1, slots)})
		}
	}
	sort.Slice(cands, func(i, j int) bool { return before(cands[i].r, cands[j].r) })
	if len(cands) > limit {
		cands = cands[:limit]
	}
	out := make([]QueueEntry, len(cands))
	for i, c := range cands {
		out[i] = QueueEntry{Handoff: c.r.h, Position: c.pos, EstimatedWait: c.wait}
	}
	return out, total
}
