package handoff

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// recorder keeps every event.
type recorder struct {
	mu  sync.Mutex
	evs []Event
}

func (r *recorder) HandoffEvent(ev Event) { r.mu.Lock(); r.evs = append(r.evs, ev); r.mu.Unlock() }
func (r *recorder) kinds(filter ...EventKind) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.evs {
		for _, k := range filter {
			if ev.Kind == k {
				s := string(ev.Kind)
				if ev.Handoff != nil {
					s += ":" + ev.Handoff.ConvID
					if ev.Handoff.AgentID != "" {
						s += "@" + ev.Handoff.AgentID
					}
				}
				out = append(out, s)
			}
		}
	}
	return out
}

func newTestEngine(t *testing.T, cfg EngineConfig) (*Engine, *fakeClock, *recorder) {
	t.Helper()
	clk := newClock()
	cfg.Now = clk.Now
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	e.Observe(rec)
	return e, clk, rec
}

func mustAgent(t *testing.T, e *Engine, id string, st AgentStatus, max int, skills ...string) {
	t.Helper()
	if _, err := e.SetAgent(context.Background(), AgentInfo{ID: id, Name: "Agent " + id, Status: st, MaxConcurrent: max, Skills: skills}); err != nil {
		t.Fatal(err)
	}
}

func mustRequest(t *testing.T, e *Engine, conv, skill string, prio int) Handoff {
	t.Helper()
	h, err := e.Request(context.Background(), Request{ConvID: conv, Skill: skill, Priority: prio})
	if err != nil {
		t.Fatalf("request %s: %v", conv, err)
	}
	return h
}

func TestLifecycleTransitions(t *testing.T) {
	ctx := context.Background()
	admin := Actor{AgentID: "boss", Admin: true}
	a1 := Actor{AgentID: "a1"}
	a2 := Actor{AgentID: "a2"}
	type step struct {
		name    string
		do      func(e *Engine) (Handoff, error)
		want    State
		wantErr error
	}
	req := func(e *Engine) (Handoff, error) { return e.Request(ctx, Request{ConvID: "c"}) }
	claim := func(a Actor) func(e *Engine) (Handoff, error) {
		return func(e *Engine) (Handoff, error) { return e.Claim(ctx, "c", a) }
	}
	resolve := func(a Actor) func(e *Engine) (Handoff, error) {
		return func(e *Engine) (Handoff, error) { return e.Resolve(ctx, "c", a) }
	}
	ret := func(a Actor) func(e *Engine) (Handoff, error) {
		return func(e *Engine) (Handoff, error) { return e.ReturnToBot(ctx, "c", a) }
	}
	toAgent := func(a Actor, to string) func(e *Engine) (Handoff, error) {
		return func(e *Engine) (Handoff, error) { return e.TransferToAgent(ctx, "c", a, to) }
	}
	toSkill := func(a Actor, s string) func(e *Engine) (Handoff, error) {
		return func(e *Engine) (Handoff, error) { return e.TransferToSkill(ctx, "c", a, s) }
	}
	reply := func(a Actor) func(e *Engine) (Handoff, error) {
		return func(e *Engine) (Handoff, error) { return e.AgentReplied(ctx, "c", a) }
	}
	cancel := func(e *Engine) (Handoff, error) { return e.Cancel(ctx, "c") }
	takeover := func(a Actor) func(e *Engine) (Handoff, error) {
		return func(e *Engine) (Handoff, error) { return e.Takeover(ctx, Request{ConvID: "c"}, a) }
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"happy path", []step{
			{"request", req, StateQueued, nil},
			{"claim", claim(a1), StateAssigned, nil},
			{"reply", reply(a1), StateAssigned, nil},
			{"resolve", resolve(a1), StateResolved, nil},
			{"resolve twice", resolve(a1), StateResolved, ErrTransition},
			{"reopen", req, StateQueued, nil},
		}},
		{"return to bot", []step{
			{"request", req, StateQueued, nil},
			{"claim", claim(a1), StateAssigned, nil},
			{"return", ret(a1), StateBot, nil},
			{"return again", ret(a1), StateBot, ErrTransition},
			{"resolve from bot", resolve(a1), StateBot, ErrTransition},
			{"claim from bot", claim(a1), StateBot, ErrTransition},
		}},
		{"refusals while queued", []step{
			{"request", req, StateQueued, nil},
			{"request again", req, StateQueued, ErrTransition},
			{"reply while queued", reply(a1), StateQueued, ErrTransition},
			{"transfer while queued", toAgent(a1, "a2"), StateQueued, ErrTransition},
			{"resolve queued", resolve(a1), StateResolved, nil},
			{"resolve queued twice", resolve(a1), StateResolved, ErrTransition},
		}},
		{"another agent's conversation", []step{
			{"request", req, StateQueued, nil},
			{"claim", claim(a1), StateAssigned, nil},
			{"claim by second", claim(a2), StateAssigned, ErrTransition},
			{"resolve by other", resolve(a2), StateAssigned, ErrNotAssignee},
			{"return by other", ret(a2), StateAssigned, ErrNotAssignee},
			{"reply by other", reply(a2), StateAssigned, ErrNotAssignee},
			{"transfer by other", toAgent(a2, "a2"), StateAssigned, ErrNotAssignee},
			{"admin resolves", resolve(admin), StateResolved, nil},
		}},
		{"transfers", []step{
			{"request", req, StateQueued, nil},
			{"claim", claim(a1), StateAssigned, nil},
			{"to self", toAgent(a1, "a1"), StateAssigned, ErrBadInput},
			{"to offline", toAgent(a1, "off"), StateAssigned, ErrAgentUnavailable},
			{"to unknown", toAgent(a1, "nobody"), StateAssigned, ErrNotFound},
			{"to a2", toAgent(a1, "a2"), StateAssigned, nil},
			{"old agent cannot resolve", resolve(a1), StateAssigned, ErrNotAssignee},
			{"to skill", toSkill(a2, "payments"), StateQueued, nil},
			{"a1 claims from skill queue", claim(a1), StateAssigned, nil},
		}},
		{"cancel and takeover", []step{
			{"cancel from bot", cancel, StateBot, ErrTransition},
			{"request", req, StateQueued, nil},
			{"cancel", cancel, StateBot, nil},
			{"takeover", takeover(a1), StateAssigned, nil},
			{"takeover again", takeover(a2), StateAssigned, ErrTransition},
			{"cancel assigned", cancel, StateAssigned, ErrTransition},
			{"resolve", resolve(a1), StateResolved, nil},
		}},
		{"offline agent cannot claim", []step{
			{"request", req, StateQueued, nil},
			{"claim offline", claim(Actor{AgentID: "off"}), StateQueued, ErrAgentUnavailable},
			{"claim unknown", claim(Actor{AgentID: "ghost"}), StateQueued, ErrNotFound},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, _, _ := newTestEngine(t, EngineConfig{ManualOnly: true})
			mustAgent(t, e, "a1", AgentOnline, 2)
			mustAgent(t, e, "a2", AgentAway, 2)
			mustAgent(t, e, "off", AgentOffline, 2)
			for _, s := range tc.steps {
				h, err := s.do(e)
				if s.wantErr == nil && err != nil {
					t.Fatalf("%s: unexpected error %v", s.name, err)
				}
				if s.wantErr != nil && !errors.Is(err, s.wantErr) {
					t.Fatalf("%s: error %v, want %v", s.name, err, s.wantErr)
				}
				got, _ := e.Get(ctx, "c")
				if got.State != s.want {
					t.Fatalf("%s: state %s, want %s", s.name, got.State, s.want)
				}
				if err == nil && h.State != s.want {
					t.Fatalf("%s: returned state %s, want %s", s.name, h.State, s.want)
				}
			}
		})
	}
}

func TestTransitionErrorIsTyped(t *testing.T) {
	e, _, _ := newTestEngine(t, EngineConfig{ManualOnly: true})
	mustRequest(t, e, "c", "", 0)
	_, err := e.Resolve(context.Background(), "c", System)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Resolve(context.Background(), "c", System)
	var te *TransitionError
	if !errors.As(err, &te) || te.From != StateResolved || te.Action != ActionResolve {
		t.Fatalf("got %#v", err)
	}
	if te.Error() != "handoff: cannot resolve conversation c: it is resolved" {
		t.Fatalf("message %q", te.Error())
	}
}

func TestQueueOrderPriorityThenWait(t *testing.T) {
	ctx := context.Background()
	e, clk, _ := newTestEngine(t, EngineConfig{ManualOnly: true})
	mustRequest(t, e, "old-low", "", 0)
	clk.Add(time.Second)
	mustRequest(t, e, "new-low", "", 0)
	clk.Add(time.Second)
	mustRequest(t, e, "vip", "", 5)
	mustRequest(t, e, "ret", "returns", 0)
	clk.Add(time.Second)
	mustRequest(t, e, "vip2", "", 5)
	q, _ := e.Queue(ctx, "")
	var got []string
	for _, x := range q {
		got = append(got, fmt.Sprintf("%s#%d", x.ConvID, x.Position))
	}
	want := "[vip#1 vip2#2 old-low#3 new-low#4]"
	if fmt.Sprint(got) != want {
		t.Fatalf("queue %v, want %s", got, want)
	}
	p, err := e.Position(ctx, "ret")
	if err != nil || p.Position != 1 || p.Skill != "returns" {
		t.Fatalf("returns queue position %+v %v", p, err)
	}
	if p.EstimatedWait != -1 {
		t.Fatalf("no agent online: estimated wait %v, want -1", p.EstimatedWait)
	}
	all, _ := e.QueueAll(ctx)
	if len(all) != 5 || all[4].ConvID != "ret" {
		t.Fatalf("queue all %+v", all)
	}
	if _, err := e.Position(ctx, "nope"); !errors.Is(err, ErrTransition) {
		t.Fatalf("position of unknown: %v", err)
	}
}

func TestAutoAssignRespectsStatusCapacityAndSkills(t *testing.T) {
	ctx := context.Background()
	e, clk, rec := newTestEngine(t, EngineConfig{})
	mustAgent(t, e, "away", AgentAway, 5)
	mustAgent(t, e, "off", AgentOffline, 5)
	mustAgent(t, e, "gen", AgentOnline, 1)
	mustAgent(t, e, "pay", AgentOnline, 1, "payments")

	h := mustRequest(t, e, "c1", "", 0)
	if h.State != StateAssigned {
		t.Fatalf("c1 should be assigned at once, got %s", h.State)
	}
	first := h.AgentID
	clk.Add(time.Second)
	h = mustRequest(t, e, "c2", "", 0)
	if h.State != StateAssigned || h.AgentID == first {
		t.Fatalf("c2 should go to the other free agent, got %+v", h)
	}
	h = mustRequest(t, e, "c3", "", 0)
	if h.State != StateQueued {
		t.Fatalf("everyone full: c3 must wait, got %s @%s", h.State, h.AgentID)
	}
	h = mustRequest(t, e, "p1", "payments", 0)
	if h.State != StateQueued {
		t.Fatalf("payments agent full: p1 must wait, got %+v", h)
	}
	// The away agent never gets work automatically, nor the offline one.
	loads, _ := e.Agents(ctx)
	for _, l := range loads {
		if (l.ID == "away" || l.ID == "off") && l.Active != 0 {
			t.Fatalf("%s got work: %+v", l.ID, l)
		}
		if l.Active > l.MaxConcurrent {
			t.Fatalf("%s over capacity: %+v", l.ID, l)
		}
	}
	// The payments agent frees up: it takes p1 (payments) before c3 (general, earlier)? It serves both;
	// c3 waited longer with equal priority, so c3 goes first.
	var payConv string
	mine, _ := e.Assigned(ctx, "pay")
	payConv = mine[0].ConvID
	if _, err := e.Resolve(ctx, payConv, Actor{AgentID: "pay"}); err != nil {
		t.Fatal(err)
	}
	mine, _ = e.Assigned(ctx, "pay")
	if len(mine) != 1 || mine[0].ConvID != "c3" {
		t.Fatalf("pay should take c3 (older), got %+v", mine)
	}
	// The general agent frees up: it cannot take p1 (no payments skill).
	genConv := "c1"
	if payConv == "c1" {
		genConv = "c2"
	}
	if _, err := e.Resolve(ctx, genConv, Actor{AgentID: "gen"}); err != nil {
		t.Fatal(err)
	}
	if mine, _ := e.Assigned(ctx, "gen"); len(mine) != 0 {
		t.Fatalf("gen must not take a payments conversation: %+v", mine)
	}
	// The away agent comes online: still no payments skill; a new payments agent takes it.
	if _, err := e.SetAgentStatus(ctx, "away", AgentOnline); err != nil {
		t.Fatal(err)
	}
	mustAgent(t, e, "pay2", AgentOnline, 1, "payments")
	if h, _ := e.Get(ctx, "p1"); h.State != StateAssigned || h.AgentID != "pay2" {
		t.Fatalf("p1 should go to pay2, got %+v", h)
	}
	if got := rec.kinds(EventAssigned); len(got) != 4 {
		t.Fatalf("assigned events %v", got)
	}
}

func TestLeastLoadedAgentFirst(t *testing.T) {
	e, clk, _ := newTestEngine(t, EngineConfig{})
	mustAgent(t, e, "a", AgentOnline, 3)
	mustAgent(t, e, "b", AgentOnline, 3)
	counts := map[string]int{}
	for i := 0; i < 6; i++ {
		clk.Add(time.Second)
		h := mustRequest(t, e, fmt.Sprint("c", i), "", 0)
		counts[h.AgentID]++
	}
	if counts["a"] != 3 || counts["b"] != 3 {
		t.Fatalf("unbalanced: %v", counts)
	}
	if h := mustRequest(t, e, "c7", "", 0); h.State != StateQueued {
		t.Fatalf("capacity exceeded: %+v", h)
	}
}

func TestClaimConcurrentExactlyOneWinner(t *testing.T) {
	ctx := context.Background()
	for round := 0; round < 20; round++ {
		e, _, rec := newTestEngine(t, EngineConfig{ManualOnly: true})
		const n = 16
		for i := 0; i < n; i++ {
			mustAgent(t, e, fmt.Sprint("a", i), AgentOnline, 2)
		}
		mustRequest(t, e, "c", "", 0)
		var wins, refusals atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-start
				_, err := e.Claim(ctx, "c", Actor{AgentID: fmt.Sprint("a", i)})
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, ErrTransition):
					refusals.Add(1)
				default:
					t.Errorf("unexpected error %v", err)
				}
			}(i)
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 || refusals.Load() != n-1 {
			t.Fatalf("wins %d refusals %d", wins.Load(), refusals.Load())
		}
		if got := rec.kinds(EventAssigned); len(got) != 1 {
			t.Fatalf("assigned events %v", got)
		}
	}
}

func TestRequeueWhenAgentGoesOffline(t *testing.T) {
	ctx := context.Background()
	e, clk, rec := newTestEngine(t, EngineConfig{})
	mustAgent(t, e, "a", AgentOnline, 2)
	mustRequest(t, e, "c1", "", 0)
	clk.Add(time.Minute)
	mustRequest(t, e, "c2", "", 0)
	mustAgent(t, e, "b", AgentAway, 2)
	clk.Add(time.Minute)
	// a third customer arrives while a is full
	mustRequest(t, e, "c3", "", 0)
	if _, err := e.SetAgentStatus(ctx, "a", AgentOffline); err != nil {
		t.Fatal(err)
	}
	q, _ := e.Queue(ctx, "")
	var order []string
	for _, x := range q {
		order = append(order, x.ConvID)
	}
	if fmt.Sprint(order) != "[c1 c2 c3]" {
		t.Fatalf("requeued conversations keep their waiting time: %v", order)
	}
	h, _ := e.Get(ctx, "c1")
	if h.Requeues != 1 || h.AgentID != "" {
		t.Fatalf("requeued handoff %+v", h)
	}
	if got := rec.kinds(EventRequeued); fmt.Sprint(got) != "[requeued:c1 requeued:c2]" {
		t.Fatalf("requeued events %v", got)
	}
	// b comes online and takes the first two.
	if _, err := e.SetAgentStatus(ctx, "b", AgentOnline); err != nil {
		t.Fatal(err)
	}
	mine, _ := e.Assigned(ctx, "b")
	if len(mine) != 2 || mine[0].ConvID != "c1" || mine[1].ConvID != "c2" {
		t.Fatalf("b took %+v", mine)
	}
	if p, _ := e.Position(ctx, "c3"); p.Position != 1 {
		t.Fatalf("c3 position %d", p.Position)
	}
}

func TestRequeueWhenAgentDoesNotAnswer(t *testing.T) {
	ctx := context.Background()
	e, clk, rec := newTestEngine(t, EngineConfig{AnswerTimeout: 30 * time.Second})
	mustAgent(t, e, "slow", AgentOnline, 1)
	mustRequest(t, e, "c1", "", 0)
	mustAgent(t, e, "quick", AgentOnline, 1)
	mustRequest(t, e, "c2", "", 0) // goes to quick
	if _, err := e.AgentReplied(ctx, "c2", Actor{AgentID: "quick"}); err != nil {
		t.Fatal(err)
	}
	e.Sweep(clk.Add(29 * time.Second))
	if h, _ := e.Get(ctx, "c1"); h.State != StateAssigned {
		t.Fatalf("too early: %+v", h)
	}
	// quick resolves, so it is free when slow's time runs out: c1 must go to quick, not back to slow.
	if _, err := e.Resolve(ctx, "c2", Actor{AgentID: "quick"}); err != nil {
		t.Fatal(err)
	}
	e.Sweep(clk.Add(2 * time.Second))
	h, _ := e.Get(ctx, "c1")
	if h.State != StateAssigned || h.AgentID != "quick" || h.Requeues != 1 {
		t.Fatalf("c1 should be requeued then given to quick: %+v", h)
	}
	if got := rec.kinds(EventRequeued); fmt.Sprint(got) != "[requeued:c1]" {
		t.Fatalf("requeued %v", got)
	}
	// The replying agent is never requeued.
	if _, err := e.AgentReplied(ctx, "c1", Actor{AgentID: "quick"}); err != nil {
		t.Fatal(err)
	}
	e.Sweep(clk.Add(time.Hour))
	if h, _ := e.Get(ctx, "c1"); h.AgentID != "quick" || h.FirstResponseAt.IsZero() {
		t.Fatalf("answered conversation moved: %+v", h)
	}
}

func TestNoAnswerFallsBackToSameAgentWhenAlone(t *testing.T) {
	e, clk, _ := newTestEngine(t, EngineConfig{AnswerTimeout: 10 * time.Second})
	mustAgent(t, e, "only", AgentOnline, 1)
	mustRequest(t, e, "c", "", 0)
	e.Sweep(clk.Add(11 * time.Second))
	h, _ := e.Get(context.Background(), "c")
	if h.State != StateAssigned || h.AgentID != "only" || h.Requeues != 1 {
		t.Fatalf("%+v", h)
	}
}

func TestMaxQueueWaitFails(t *testing.T) {
	e, clk, rec := newTestEngine(t, EngineConfig{MaxQueueWait: 5 * time.Minute})
	mustRequest(t, e, "c", "", 0)
	e.Sweep(clk.Add(4 * time.Minute))
	if h, _ := e.Get(context.Background(), "c"); h.State != StateQueued {
		t.Fatal(h.State)
	}
	e.Sweep(clk.Add(time.Minute))
	if h, _ := e.Get(context.Background(), "c"); h.State != StateBot {
		t.Fatal(h.State)
	}
	if got := rec.kinds(EventFailed); fmt.Sprint(got) != "[failed:c]" {
		t.Fatal(got)
	}
	// forgotten after the retention period; still in StateBot for callers
	e.Sweep(clk.Add(2 * time.Hour))
	e.mu.Lock()
	n := len(e.convs)
	e.mu.Unlock()
	if n != 0 {
		t.Fatalf("resolved records kept: %d", n)
	}
}

func TestEstimatedWait(t *testing.T) {
	ctx := context.Background()
	e, clk, _ := newTestEngine(t, EngineConfig{DefaultHandleTime: 4 * time.Minute})
	mustAgent(t, e, "a", AgentOnline, 2)
	for i := 0; i < 6; i++ {
		mustRequest(t, e, fmt.Sprint("c", i), "", 0)
	}
	// 2 assigned, 4 waiting; 2 slots at 4m each: position p waits p*2m.
	for i, want := range []time.Duration{2 * time.Minute, 4 * time.Minute, 6 * time.Minute, 8 * time.Minute} {
		p, err := e.Position(ctx, fmt.Sprint("c", i+2))
		if err != nil || p.Position != i+1 || p.EstimatedWait != want {
			t.Fatalf("c%d: %+v %v, want position %d wait %v", i+2, p, err, i+1, want)
		}
	}
	// Resolving quickly lowers the estimate.
	clk.Add(time.Minute)
	if _, err := e.Resolve(ctx, "c0", Actor{AgentID: "a"}); err != nil {
		t.Fatal(err)
	}
	if got := e.HandleTime(); got >= 4*time.Minute {
		t.Fatalf("handle time %v", got)
	}
}

func TestObserverMayCallBack(t *testing.T) {
	e, _, _ := newTestEngine(t, EngineConfig{})
	mustAgent(t, e, "a", AgentOnline, 1)
	ctx := context.Background()
	var got []string
	e.Observe(ObserverFunc(func(ev Event) {
		if ev.Kind == EventAssigned {
			// the console replies as soon as it gets the conversation
			h, err := e.AgentReplied(ctx, ev.Handoff.ConvID, Actor{AgentID: ev.Handoff.AgentID})
			got = append(got, fmt.Sprint(h.FirstResponseAt.IsZero(), err))
		}
	}))
	mustRequest(t, e, "c", "", 0)
	if fmt.Sprint(got) != "[false <nil>]" {
		t.Fatal(got)
	}
}

func TestEventsInOrder(t *testing.T) {
	e, _, rec := newTestEngine(t, EngineConfig{})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		mustAgent(t, e, fmt.Sprint("a", i), AgentOnline, 2)
	}
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				id := fmt.Sprintf("c%d-%d", g, i)
				h, err := e.Request(context.Background(), Request{ConvID: id})
				if err != nil {
					t.Error(err)
					return
				}
				if h.State == StateAssigned {
					_, _ = e.Resolve(context.Background(), id, Actor{AgentID: h.AgentID})
				}
			}
		}(g)
	}
	wg.Wait()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i, ev := range rec.evs {
		if ev.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i, ev.Seq)
		}
	}
}

func TestRestore(t *testing.T) {
	ctx := context.Background()
	e, clk, _ := newTestEngine(t, EngineConfig{})
	t0 := clk.Now()
	e.Restore(ctx, []Handoff{
		{ConvID: "b", State: StateQueued, QueuedAt: t0.Add(-time.Minute), RequestedAt: t0.Add(-time.Minute)},
		{ConvID: "a", State: StateAssigned, AgentID: "gone", QueuedAt: t0.Add(-2 * time.Minute)},
		{ConvID: "z", State: StateResolved},
	})
	q, _ := e.Queue(ctx, "")
	if len(q) != 2 || q[0].ConvID != "a" || q[1].ConvID != "b" || q[0].Requeues != 1 {
		t.Fatalf("%+v", q)
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	e, _, _ := newTestEngine(t, EngineConfig{})
	if _, err := e.Request(ctx, Request{}); !errors.Is(err, ErrBadInput) {
		t.Fatal(err)
	}
	if _, err := e.SetAgent(ctx, AgentInfo{ID: "a", Status: "busy"}); !errors.Is(err, ErrBadInput) {
		t.Fatal(err)
	}
	if _, err := e.SetAgentStatus(ctx, "nobody", AgentOnline); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if _, err := e.Claim(ctx, "c", Actor{}); !errors.Is(err, ErrBadInput) {
		t.Fatal(err)
	}
}

func TestQueueHead(t *testing.T) {
	e, clk, _ := newTestEngine(t, EngineConfig{ManualOnly: true})
	mustRequest(t, e, "g1", "", 0)
	clk.Add(time.Second)
	mustRequest(t, e, "r1", "returns", 0)
	clk.Add(time.Second)
	mustRequest(t, e, "p1", "payments", 3)
	mustRequest(t, e, "g2", "", 0)
	head, n := e.QueueHead(context.Background(), 3)
	var got []string
	for _, q := range head {
		got = append(got, fmt.Sprintf("%s#%d", q.ConvID, q.Position))
	}
	if n != 4 || fmt.Sprint(got) != "[p1#1 g1#1 r1#1]" {
		t.Fatalf("%d %v", n, got)
	}
}
