package handoff

import (
	"context"
	"log/slog"
	"sync"

	"github.com/shopchat/shopchat/kb"
)

// HandoffStore keeps handoff episodes and their history. *kb.Store implements it; implementations must
// be safe for concurrent use.
type HandoffStore interface {
	// SaveHandoff upserts an episode, ignoring versions older than the stored one.
	SaveHandoff(ctx context.Context, h kb.HandoffRecord) error
	AppendHandoffEvent(ctx context.Context, e kb.HandoffEvent) error
	// OpenHandoffs returns the latest queued or assigned episode of each conversation.
	OpenHandoffs(ctx context.Context) ([]kb.HandoffRecord, error)
}

// Persister writes the engine's events to a HandoffStore in order, from its own goroutine, so that the
// engine never waits for the disk. It is an Observer; Run writes. It is safe for concurrent use.
type Persister struct {
	store HandoffStore
	log   *slog.Logger

	mu    sync.Mutex
	queue []Event
	wake  chan struct{}
	idle  *sync.Cond
	busy  bool
}

// NewPersister returns a Persister writing to store.
func NewPersister(store HandoffStore, log *slog.Logger) *Persister {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Persister{store: store, log: log, wake: make(chan struct{}, 1)}
	p.idle = sync.NewCond(&p.mu)
	return p
}

// HandoffEvent queues the event for writing.
func (p *Persister) HandoffEvent(ev Event) {
	if ev.Handoff == nil {
		return
	}
	p.mu.Lock()
	p.queue = append(p.queue, ev)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// outcome names how an episode ended for the event kinds that end one.
func outcome(ev Event) string {
	switch ev.Kind {
	case EventResolved:
		return "resolved"
	case EventFailed:
		return "failed"
	case EventReturned:
		if ev.Detail == "customer_cancelled" {
			return "cancelled"
		}
		return "returned"
	}
	return ""
}

// Record converts an engine handoff to its stored form.
func Record(h Handoff, outcome string) kb.HandoffRecord {
	return kb.HandoffRecord{
		ConvID: h.ConvID, RequestedAt: h.RequestedAt, CustomerID: h.CustomerID, State: string(h.State),
		Skill: h.Skill, Priority: h.Priority, Reason: h.Reason, AgentID: h.AgentID, Requeues: h.Requeues,
		QueuedAt: h.QueuedAt, AssignedAt: h.AssignedAt, FirstResponseAt: h.FirstResponseAt,
		ResolvedAt: h.ResolvedAt, Outcome: outcome, Version: h.Version,
	}
}

// FromRecord converts a stored episode back for Engine.Restore.
func FromRecord(r kb.HandoffRecord) Handoff {
	return Handoff{
		ConvID: r.ConvID, CustomerID: r.CustomerID, State: State(r.State), Skill: r.Skill, Priority: r.Priority,
		Reason: r.Reason, AgentID: r.AgentID, Requeues: r.Requeues, RequestedAt: r.RequestedAt,
		QueuedAt: r.QueuedAt, AssignedAt: r.AssignedAt, FirstResponseAt: r.FirstResponseAt,
		ResolvedAt: r.ResolvedAt, Version: r.Version,
	}
}

// Run writes queued events until ctx is done, then writes what is left.
func (p *Persister) Run(ctx context.Context) {
	for {
		p.drain(context.WithoutCancel(ctx))
		select {
		case <-ctx.Done():
			p.drain(context.WithoutCancel(ctx))
			return
		case <-p.wake:
		}
	}
}

func (p *Persister) drain(ctx context.Context) {
	for {
		p.mu.Lock()
		batch := p.queue
		p.queue = nil
		p.busy = len(batch) > 0
		if !p.busy {
			p.idle.Broadcast()
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		for _, ev := range batch {
			if err := p.store.SaveHandoff(ctx, Record(*ev.Handoff, outcome(ev))); err != nil {
				p.log.Error("handoff: save", "conv", ev.Handoff.ConvID, "err", err)
			}
			if err := p.store.AppendHandoffEvent(ctx, kb.HandoffEvent{ConvID: ev.Handoff.ConvID, Kind: string(ev.Kind),
				AgentID: ev.Handoff.AgentID, PrevAgent: ev.PrevAgent, Actor: ev.Actor, Detail: ev.Detail, At: ev.At}); err != nil {
				p.log.Error("handoff: save event", "conv", ev.Handoff.ConvID, "err", err)
			}
		}
	}
}

// Flush waits until every event queued so far is written (Run must be running).
func (p *Persister) Flush() {
	p.mu.Lock()
	for len(p.queue) > 0 || p.busy {
		p.idle.Wait()
	}
	p.mu.Unlock()
}

// RestoreFrom loads the store's open handoffs into the engine (call before serving).
func RestoreFrom(ctx context.Context, e *Engine, store HandoffStore) error {
	recs, err := store.OpenHandoffs(ctx)
	if err != nil {
		return err
	}
	hs := make([]Handoff, len(recs))
	for i, r := range recs {
		hs[i] = FromRecord(r)
	}
	e.Restore(ctx, hs)
	return nil
}
