package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopchat/shopchat/chat/handoff"
	"github.com/shopchat/shopchat/kb"
)

// testPGDSN and testNATSURL are the servers the cluster tests use (SHOPCHAT_TEST_PG_DSN and
// SHOPCHAT_TEST_NATS_URL override them).
func testPGDSN() string {
	if d := os.Getenv("SHOPCHAT_TEST_PG_DSN"); d != "" {
		return d
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

func testNATSURL() string {
	if u := os.Getenv("SHOPCHAT_TEST_NATS_URL"); u != "" {
		return u
	}
	return "nats://127.0.0.1:4222"
}

// testEnv is one test's share of the servers: a fresh PostgreSQL schema and NATS subject prefix.
type testEnv struct {
	dsn, schema, prefix, nats string
}

// newTestEnv skips the test with a clear message where PostgreSQL or NATS is not reachable.
func newTestEnv(t testing.TB) testEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testPGDSN())
	if err != nil {
		t.Skipf("cluster test skipped: PostgreSQL not reachable at %s (set SHOPCHAT_TEST_PG_DSN): %v", testPGDSN(), err)
	}
	host := "127.0.0.1:4222"
	if u := os.Getenv("SHOPCHAT_TEST_NATS_URL"); u != "" {
		host = u[len("nats://"):]
	}
	nc, err := net.DialTimeout("tcp", host, 2*time.Second)
	if err != nil {
		conn.Close(ctx)
		t.Skipf("cluster test skipped: NATS not reachable at %s (set SHOPCHAT_TEST_NATS_URL): %v", testNATSURL(), err)
	}
	nc.Close()
	id := fmt.Sprintf("%d", time.Now().UnixNano())
	env := testEnv{dsn: testPGDSN(), schema: "clustertest_" + id, prefix: "ct" + id, nats: testNATSURL()}
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+env.schema+" CASCADE")
		conn.Close(context.Background())
	})
	return env
}

func (e testEnv) store(t testing.TB) *kb.PGStore {
	t.Helper()
	s, err := kb.OpenPostgres(context.Background(), kb.PGConfig{DSN: e.dsn, Schema: e.schema, MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// recorder is an observer that keeps the events it saw.
type recorder struct {
	mu  sync.Mutex
	evs []handoff.Event
}

func (r *recorder) HandoffEvent(ev handoff.Event) {
	r.mu.Lock()
	r.evs = append(r.evs, ev)
	r.mu.Unlock()
}

func (r *recorder) has(kind handoff.EventKind, conv string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range r.evs {
		if ev.Kind == kind && ev.Handoff != nil && ev.Handoff.ConvID == conv {
			return true
		}
	}
	return false
}

type testNode struct {
	d   *Dispatcher
	rec *recorder
}

func startNodes(t *testing.T, env testEnv, n int, eng handoff.EngineConfig) []*testNode {
	t.Helper()
	var nodes []*testNode
	for i := 0; i < n; i++ {
		d, err := NewDispatcher(DispatcherConfig{
			NATSURL: env.nats, Prefix: env.prefix, Node: fmt.Sprintf("node%d", i+1), DSN: env.dsn,
			Store: env.store(t), Engine: eng, LockRetry: 100 * time.Millisecond, Heartbeat: 200 * time.Millisecond,
			NodeTimeout: time.Second, LeaderWait: 15 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		rec := &recorder{}
		d.Observe(rec)
		node := &testNode{d: d, rec: rec}
		t.Cleanup(func() { node.d.Close() })
		nodes = append(nodes, node)
	}
	waitFor(t, 10*time.Second, "a leader", func() bool { return leaderOf(nodes) != nil })
	return nodes
}

func leaderOf(nodes []*testNode) *testNode {
	for _, n := range nodes {
		if n.d.IsLeader() {
			return n
		}
	}
	return nil
}

// splitLeader returns the leading node and the others.
func splitLeader(nodes []*testNode) (*testNode, []*testNode) {
	leader := leaderOf(nodes)
	var others []*testNode
	for _, n := range nodes {
		if n != leader {
			others = append(others, n)
		}
	}
	return leader, others
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDispatcherConcurrentClaimsOneWinner(t *testing.T) {
	env := newTestEnv(t)
	nodes := startNodes(t, env, 3, handoff.EngineConfig{ManualOnly: true, DefaultMaxConcurrent: 100})
	ctx := context.Background()
	for i, n := range nodes {
		if _, err := n.d.SetAgent(ctx, handoff.AgentInfo{ID: fmt.Sprintf("ag%d", i+1), Name: "A", Status: handoff.AgentOnline}); err != nil {
			t.Fatal(err)
		}
	}
	const convs = 15
	winners := map[string]string{}
	for c := 0; c < convs; c++ {
		conv := fmt.Sprintf("conv%d", c)
		if _, err := nodes[c%3].d.Request(ctx, handoff.Request{ConvID: conv}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var won atomic.Int32
		for i, n := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h, err := n.d.Claim(ctx, conv, handoff.Actor{AgentID: fmt.Sprintf("ag%d", i+1)})
				switch {
				case err == nil:
					won.Add(1)
					winners[conv] = h.AgentID
				case errors.Is(err, handoff.ErrTransition):
					var te *handoff.TransitionError
					if !errors.As(err, &te) || te.From != handoff.StateAssigned {
						t.Errorf("losing claim: %v", err)
					}
				default:
					t.Errorf("claim on node %d: %v", i+1, err)
				}
			}()
		}
		wg.Wait()
		if won.Load() != 1 {
			t.Fatalf("%s: %d claims won, want exactly 1", conv, won.Load())
		}
	}
	// Every node sees the same owner, and every node's observers got the assignment.
	for conv, agent := range winners {
		for i, n := range nodes {
			h, err := n.d.Get(ctx, conv)
			if err != nil || h.State != handoff.StateAssigned || h.AgentID != agent {
				t.Fatalf("node %d sees %s as %+v %v, want assigned to %s", i+1, conv, h, err, agent)
			}
			waitFor(t, 5*time.Second, "the assigned event on every node", func() bool { return n.rec.has(handoff.EventAssigned, conv) })
		}
	}
	// A call the engine refuses carries its error kind across nodes.
	if _, err := nodes[1].d.Claim(ctx, "conv0", handoff.Actor{AgentID: "nobody"}); !errors.Is(err, handoff.ErrTransition) {
		t.Fatalf("claim of an assigned conversation: %v", err)
	}
	if _, err := nodes[2].d.SetAgentStatus(ctx, "ghost", handoff.AgentOnline); !errors.Is(err, handoff.ErrNotFound) {
		t.Fatalf("status of unknown agent: %v", err)
	}
}

func TestDispatcherAgentLimitClusterWide(t *testing.T) {
	env := newTestEnv(t)
	nodes := startNodes(t, env, 3, handoff.EngineConfig{})
	ctx := context.Background()
	if _, err := nodes[1].d.SetAgent(ctx, handoff.AgentInfo{ID: "ann", Name: "Ann", Status: handoff.AgentOnline, MaxConcurrent: 2}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for c := 0; c < 9; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := nodes[c%3].d.Request(ctx, handoff.Request{ConvID: fmt.Sprintf("c%d", c)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	mine, err := nodes[2].d.Assigned(ctx, "ann")
	if err != nil || len(mine) != 2 {
		t.Fatalf("ann has %d conversations (%v), want her limit 2", len(mine), err)
	}
	q, err := nodes[0].d.QueueAll(ctx)
	if err != nil || len(q) != 7 {
		t.Fatalf("queue: %d %v, want 7", len(q), err)
	}
	if _, err := nodes[0].d.Claim(ctx, q[0].ConvID, handoff.Actor{AgentID: "ann"}); !errors.Is(err, handoff.ErrAgentAtCapacity) {
		t.Fatalf("claim over the limit from another node: %v", err)
	}
	// A second agent on another node takes the head of the queue.
	if _, err := nodes[2].d.SetAgent(ctx, handoff.AgentInfo{ID: "bob", Name: "Bob", Status: handoff.AgentOnline, MaxConcurrent: 3}); err != nil {
		t.Fatal(err)
	}
	loads, _ := nodes[0].d.Agents(ctx)
	total := 0
	for _, l := range loads {
		if l.Active > l.MaxConcurrent {
			t.Fatalf("agent %s over its limit: %+v", l.ID, l)
		}
		total += l.Active
	}
	if total != 5 {
		t.Fatalf("assigned %d, want 5", total)
	}
	if p, err := nodes[1].d.Position(ctx, q[len(q)-1].ConvID); err != nil || p.Position != 4 {
		t.Fatalf("position of the last: %+v %v", p, err)
	}
}

func TestDispatcherLeaderFailover(t *testing.T) {
	env := newTestEnv(t)
	nodes := startNodes(t, env, 3, handoff.EngineConfig{})
	ctx := context.Background()
	leader, others := splitLeader(nodes)
	// Ann's console is on a node that survives, Dan's on the leader, which will die.
	if _, err := others[0].d.SetAgent(ctx, handoff.AgentInfo{ID: "ann", Name: "Ann", Status: handoff.AgentOnline, MaxConcurrent: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := leader.d.SetAgent(ctx, handoff.AgentInfo{ID: "dan", Name: "Dan", Status: handoff.AgentOnline, MaxConcurrent: 1}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"c1", "c2", "c3", "c4"} {
		if _, err := others[1].d.Request(ctx, handoff.Request{ConvID: c}); err != nil {
			t.Fatal(err)
		}
	}
	annConv, danConv := "", ""
	for _, c := range []string{"c1", "c2"} {
		h, _ := others[1].d.Get(ctx, c)
		switch h.AgentID {
		case "ann":
			annConv = c
		case "dan":
			danConv = c
		}
	}
	if annConv == "" || danConv == "" {
		t.Fatal("c1 and c2 should go to Ann and Dan")
	}
	if _, err := others[0].d.AgentReplied(ctx, annConv, handoff.Actor{AgentID: "ann"}); err != nil {
		t.Fatal(err)
	}
	// Let the leader persist, then kill it.
	waitFor(t, 5*time.Second, "persisted assignments", func() bool {
		recs, _ := env.store(t).OpenHandoffs(ctx)
		n, replied := 0, false
		for _, r := range recs {
			if r.State == kb.HandoffAssigned {
				n++
			}
			replied = replied || r.ConvID == annConv && !r.FirstResponseAt.IsZero()
		}
		return n == 2 && replied
	})
	leader.d.Close()
	start := time.Now()
	waitFor(t, 10*time.Second, "a new leader", func() bool { return leaderOf(others) != nil })
	t.Logf("new leader after %v", time.Since(start))

	// Calls made on any surviving node work again; Ann keeps her conversation (and her reply).
	h, err := others[1].d.Get(ctx, annConv)
	if err != nil || h.State != handoff.StateAssigned || h.AgentID != "ann" || h.FirstResponseAt.IsZero() {
		t.Fatalf("after failover %s is %+v %v, want still Ann's, replied", annConv, h, err)
	}
	// Dan's node is gone: his conversation goes back to the queue, ahead of later arrivals.
	waitFor(t, 10*time.Second, "Dan's conversation requeued", func() bool {
		h, _ := others[0].d.Get(ctx, danConv)
		return h.State == handoff.StateQueued
	})
	q, err := others[0].d.QueueAll(ctx)
	if err != nil || len(q) != 3 || q[0].ConvID != danConv {
		t.Fatalf("queue after failover: %+v %v", q, err)
	}
	// Ann resolves on her node; the queue moves to her.
	if _, err := others[0].d.Resolve(ctx, annConv, handoff.Actor{AgentID: "ann"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "Ann's next conversation", func() bool {
		mine, _ := others[1].d.Assigned(ctx, "ann")
		return len(mine) == 1 && mine[0].ConvID == danConv
	})
	for _, n := range others {
		waitFor(t, 5*time.Second, "resolved event on every node", func() bool { return n.rec.has(handoff.EventResolved, annConv) })
	}
}

// TestDispatcherDeadNodeAgentsGoOffline: a node that is not the leader dies with an agent's console on
// it; the leader sets the agent offline after NodeTimeout and the agent's conversation goes to another
// agent.
func TestDispatcherDeadNodeAgentsGoOffline(t *testing.T) {
	env := newTestEnv(t)
	nodes := startNodes(t, env, 3, handoff.EngineConfig{})
	ctx := context.Background()
	leader, others := splitLeader(nodes)
	if _, err := others[0].d.SetAgent(ctx, handoff.AgentInfo{ID: "eve", Name: "Eve", Status: handoff.AgentOnline, MaxConcurrent: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := leader.d.Request(ctx, handoff.Request{ConvID: "c1"}); err != nil {
		t.Fatal(err)
	}
	if h, _ := leader.d.Get(ctx, "c1"); h.AgentID != "eve" {
		t.Fatalf("c1: %+v", h)
	}
	if _, err := others[1].d.SetAgent(ctx, handoff.AgentInfo{ID: "fay", Name: "Fay", Status: handoff.AgentOnline, MaxConcurrent: 1}); err != nil {
		t.Fatal(err)
	}
	others[0].d.Close() // Eve's node dies
	waitFor(t, 10*time.Second, "Eve's conversation to move to Fay", func() bool {
		h, _ := leader.d.Get(ctx, "c1")
		return h.State == handoff.StateAssigned && h.AgentID == "fay"
	})
	loads, _ := others[1].d.Agents(ctx)
	for _, l := range loads {
		if l.ID == "eve" && l.Status != handoff.AgentOffline {
			t.Fatalf("Eve still %s", l.Status)
		}
	}
}
