package handoff

import (
	"context"
	"fmt"
	"math/rand"
	"sort"
	"testing"
	"time"
)

var skillsPool = []string{"", "returns", "payments"}

// scaleEngine builds an engine with nAgents busy agents (3 conversations each) and nWaiting customers
// waiting, mixed skills and priorities, on a fake clock.
func scaleEngine(tb testing.TB, nAgents, nWaiting int, seed int64) (*Engine, *fakeClock, []string, *rand.Rand) {
	tb.Helper()
	rng := rand.New(rand.NewSource(seed))
	clk := newClock()
	e, err := NewEngine(EngineConfig{Now: clk.Now, AnswerTimeout: -1})
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	var convs []string
	// fill the agents first so that the customers after them wait
	for i := 0; i < nAgents; i++ {
		var sk []string
		if s := skillsPool[rng.Intn(len(skillsPool))]; s != "" {
			sk = []string{s}
		}
		if _, err := e.SetAgent(ctx, AgentInfo{ID: fmt.Sprintf("a%03d", i), Name: "A", Status: AgentOnline, MaxConcurrent: 3, Skills: sk}); err != nil {
			tb.Fatal(err)
		}
	}
	for i := 0; i < nAgents*3+nWaiting; i++ {
		clk.Add(time.Millisecond * time.Duration(rng.Intn(3))) // equal times happen: arrival breaks ties
		id := fmt.Sprintf("c%05d", i)
		if _, err := e.Request(ctx, Request{ConvID: id, Skill: skillsPool[rng.Intn(len(skillsPool))], Priority: rng.Intn(3)}); err != nil {
			tb.Fatal(err)
		}
		convs = append(convs, id)
	}
	return e, clk, convs, rng
}

// checkInvariants verifies, independently of the queue structure, that every waiting customer's
// position is its rank by (priority desc, queued_at asc, arrival) within its skill, that no agent is
// over capacity and that no online agent with a free slot could serve a waiting customer.
func checkInvariants(t testing.TB, e *Engine, convs []string) int {
	t.Helper()
	ctx := context.Background()
	e.mu.Lock()
	type item struct {
		h       Handoff
		arrival uint64
	}
	bySkill := map[string][]item{}
	for _, id := range convs {
		r := e.convs[id]
		if r != nil && r.h.State == StateQueued {
			bySkill[r.h.Skill] = append(bySkill[r.h.Skill], item{r.h, r.arrival})
		}
	}
	e.mu.Unlock()
	waiting := 0
	for skill, items := range bySkill {
		sort.Slice(items, func(i, j int) bool {
			a, b := items[i], items[j]
			if a.h.Priority != b.h.Priority {
				return a.h.Priority > b.h.Priority
			}
			if !a.h.QueuedAt.Equal(b.h.QueuedAt) {
				return a.h.QueuedAt.Before(b.h.QueuedAt)
			}
			return a.arrival < b.arrival
		})
		for i, it := range items {
			p, err := e.Position(ctx, it.h.ConvID)
			if err != nil || p.Position != i+1 {
				t.Fatalf("skill %q: %s at position %d, want %d (%v)", skill, it.h.ConvID, p.Position, i+1, err)
			}
		}
		waiting += len(items)
	}
	agents, _ := e.Agents(ctx)
	for _, a := range agents {
		if a.Active > a.MaxConcurrent {
			t.Fatalf("%s over capacity: %d/%d", a.ID, a.Active, a.MaxConcurrent)
		}
		if a.Status == AgentOnline && a.Active < a.MaxConcurrent {
			if len(bySkill[""]) > 0 {
				t.Fatalf("%s has a free slot while the general queue waits", a.ID)
			}
			for _, s := range a.Skills {
				if len(bySkill[s]) > 0 {
					t.Fatalf("%s has a free slot while the %s queue waits", a.ID, s)
				}
			}
		}
	}
	return waiting
}

// TestQueuePositionsAtScale: 200 agents and 5,000 waiting customers on one engine; after every batch of
// random resolutions, arrivals, cancellations and agents going offline and online, the positions are
// exactly the ranks computed independently.
func TestQueuePositionsAtScale(t *testing.T) {
	nAgents, nWaiting, ops := 200, 5000, 3000
	if testing.Short() {
		nAgents, nWaiting, ops = 50, 500, 500
	}
	e, clk, convs, rng := scaleEngine(t, nAgents, nWaiting, 1)
	ctx := context.Background()
	if w := checkInvariants(t, e, convs); w != nWaiting {
		t.Fatalf("%d waiting, want %d", w, nWaiting)
	}
	next := len(convs)
	for i := 0; i < ops; i++ {
		clk.Add(time.Millisecond)
		switch op := rng.Intn(10); {
		case op < 4: // an agent resolves one of its conversations and takes the next
			a := fmt.Sprintf("a%03d", rng.Intn(nAgents))
			mine, _ := e.Assigned(ctx, a)
			if len(mine) > 0 {
				if _, err := e.Resolve(ctx, mine[rng.Intn(len(mine))].ConvID, Actor{AgentID: a}); err != nil {
					t.Fatal(err)
				}
			}
		case op < 7: // a new customer
			id := fmt.Sprintf("c%05d", next)
			next++
			if _, err := e.Request(ctx, Request{ConvID: id, Skill: skillsPool[rng.Intn(3)], Priority: rng.Intn(3)}); err != nil {
				t.Fatal(err)
			}
			convs = append(convs, id)
		case op < 8: // a customer gives up
			id := convs[rng.Intn(len(convs))]
			_, _ = e.Cancel(ctx, id)
		case op < 9: // an agent goes offline (its conversations are requeued) ...
			_, _ = e.SetAgentStatus(ctx, fmt.Sprintf("a%03d", rng.Intn(nAgents)), AgentOffline)
		default: // ... or comes back
			_, _ = e.SetAgentStatus(ctx, fmt.Sprintf("a%03d", rng.Intn(nAgents)), AgentOnline)
		}
		if i%500 == 499 {
			checkInvariants(t, e, convs)
		}
	}
	checkInvariants(t, e, convs)
}

// BenchmarkAssignOnFreeSlot measures, with 200 busy agents and 5,000 waiting customers, how long it
// takes from an agent resolving a conversation to the next waiting customer being assigned to it (one
// Resolve call, which refills the agent).
func BenchmarkAssignOnFreeSlot(b *testing.B) {
	e, _, _, rng := scaleEngine(b, 200, 5000, 2)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		a := fmt.Sprintf("a%03d", rng.Intn(200))
		mine, _ := e.Assigned(ctx, a)
		if len(mine) == 0 {
			b.StartTimer()
			continue
		}
		conv := mine[0].ConvID
		// keep the queue at 5,000: one customer arrives for each one taken
		if _, err := e.Request(ctx, Request{ConvID: fmt.Sprintf("n%08d", i), Skill: skillsPool[rng.Intn(3)], Priority: rng.Intn(3)}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := e.Resolve(ctx, conv, Actor{AgentID: a}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRequestToFreeAgent measures a request being assigned at once when a free agent exists,
// among 200 agents.
func BenchmarkRequestToFreeAgent(b *testing.B) {
	clk := newClock()
	e, _ := NewEngine(EngineConfig{Now: clk.Now, AnswerTimeout: -1})
	ctx := context.Background()
	for i := 0; i < 200; i++ {
		_, _ = e.SetAgent(ctx, AgentInfo{ID: fmt.Sprintf("a%03d", i), Status: AgentOnline, MaxConcurrent: 3})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("c%08d", i)
		h, err := e.Request(ctx, Request{ConvID: id})
		if err != nil || h.State != StateAssigned {
			b.Fatalf("%+v %v", h, err)
		}
		if _, err := e.Resolve(ctx, id, Actor{AgentID: h.AgentID}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkQueueSnapshot5000 measures the full queue with positions and estimated waits that the
// consoles and the position updates read.
func BenchmarkQueueSnapshot5000(b *testing.B) {
	e, _, _, _ := scaleEngine(b, 200, 5000, 3)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q, _ := e.QueueAll(ctx)
		if len(q) != 5000 {
			b.Fatal(len(q))
		}
	}
}

// BenchmarkPosition5000 measures one customer's position lookup in a 5,000 queue.
func BenchmarkPosition5000(b *testing.B) {
	e, _, convs, _ := scaleEngine(b, 200, 5000, 4)
	ctx := context.Background()
	waiting := convs[600:]
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _ = e.Position(ctx, waiting[i%len(waiting)])
	}
}

// BenchmarkQueueHead200of5000 measures the console's queue snapshot: the first 200 of 5,000 waiting.
func BenchmarkQueueHead200of5000(b *testing.B) {
	e, _, _, _ := scaleEngine(b, 200, 5000, 3)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q, n := e.QueueHead(ctx, 200)
		if len(q) != 200 || n != 5000 {
			b.Fatal(len(q), n)
		}
	}
}
