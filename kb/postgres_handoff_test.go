package kb

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestPGAgentsAndSessionsAcrossNodes(t *testing.T) {
	nodes := openTestPG(t, 2)
	a, b := nodes[0], nodes[1]
	ctx := context.Background()
	ag, err := a.CreateAgent(ctx, Agent{Email: "Ann@Shop.test", Name: "Ann", Role: RoleAgent, Skills: []string{"orders", "returns"}, PasswordHash: "h1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateAgent(ctx, Agent{Email: "ann@shop.TEST", Name: "Other", Role: RoleAgent, PasswordHash: "x"}); !errors.Is(err, ErrExists) {
		t.Fatalf("same email in another case: %v", err)
	}
	if _, err := b.CreateAgent(ctx, Agent{Email: "x@y", Name: "", Role: RoleAgent}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("agent without a name: %v", err)
	}
	got, err := b.AgentByEmail(ctx, "ANN@shop.test")
	if err != nil || got.ID != ag.ID || len(got.Skills) != 2 || got.PasswordHash != "h1" {
		t.Fatalf("by email on the other node: %+v %v", got, err)
	}
	got.MaxConcurrent, got.Disabled = 5, true
	if err := b.UpdateAgent(ctx, got); err != nil {
		t.Fatal(err)
	}
	if err := a.SetAgentPassword(ctx, ag.ID, "h2"); err != nil {
		t.Fatal(err)
	}
	if err := a.SetAgentPassword(ctx, "nobody", "h2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("password of unknown agent: %v", err)
	}
	if g, _ := a.Agent(ctx, ag.ID); g.MaxConcurrent != 5 || !g.Disabled || g.PasswordHash != "h2" {
		t.Fatalf("after update: %+v", g)
	}
	if l, err := b.ListAgents(ctx); err != nil || len(l) != 1 {
		t.Fatalf("list: %v %v", l, err)
	}
	// A login on node a is valid on node b; logging out on b ends it on a.
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := a.CreateAgentSession(ctx, AgentSession{TokenHash: "t1", AgentID: ag.ID, CSRF: "c", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := a.CreateAgentSession(ctx, AgentSession{TokenHash: "t2", AgentID: ag.ID, CSRF: "c", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if s, err := b.AgentSession(ctx, "t1"); err != nil || s.AgentID != ag.ID || !s.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("session on node b: %+v %v", s, err)
	}
	if err := b.DeleteAgentSession(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AgentSession(ctx, "t1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted session: %v", err)
	}
	if err := b.DeleteAgentSessions(ctx, ag.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AgentSession(ctx, "t2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("sessions of agent: %v", err)
	}
}

func TestPGHandoffsVersionsAndReport(t *testing.T) {
	s := openTestPG(t, 1)[0]
	ctx := context.Background()
	c, err := s.CreateConversation(ctx, Conversation{CustomerID: "cus_1"})
	if err != nil {
		t.Fatal(err)
	}
	req := time.Now().UTC().Truncate(time.Millisecond).Add(-time.Minute)
	h := HandoffRecord{ConvID: c.ID, RequestedAt: req, State: HandoffQueued, QueuedAt: req, Version: 1, Skill: "orders"}
	if err := s.SaveHandoff(ctx, h); err != nil {
		t.Fatal(err)
	}
	h2 := h
	h2.State, h2.AgentID, h2.AssignedAt, h2.Version = HandoffAssigned, "ag1", req.Add(10*time.Second), 3
	if err := s.SaveHandoff(ctx, h2); err != nil {
		t.Fatal(err)
	}
	// A late, older version (from another node) changes nothing.
	if err := s.SaveHandoff(ctx, h); err != nil {
		t.Fatal(err)
	}
	open, err := s.OpenHandoffs(ctx)
	if err != nil || len(open) != 1 || open[0].State != HandoffAssigned || open[0].AgentID != "ag1" || open[0].Version != 3 {
		t.Fatalf("open: %+v %v", open, err)
	}
	if cv, _ := s.Conversation(ctx, c.ID); cv.Status != HandoffAssigned {
		t.Fatalf("conversation status %q", cv.Status)
	}
	h3 := h2
	h3.State, h3.Outcome, h3.ResolvedAt, h3.FirstResponseAt, h3.AssignedAt, h3.Version = HandoffResolved, "resolved", req.Add(50*time.Second), req.Add(20*time.Second), req.Add(30*time.Second), 4
	if err := s.SaveHandoff(ctx, h3); err != nil {
		t.Fatal(err)
	}
	lh, err := s.LatestHandoff(ctx, c.ID)
	if err != nil || lh.State != HandoffResolved || !lh.AssignedAt.Equal(req.Add(10*time.Second)) || lh.Outcome != "resolved" {
		t.Fatalf("latest (first assignment kept): %+v %v", lh, err)
	}
	if _, err := s.LatestHandoff(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("latest of unknown: %v", err)
	}
	if err := s.SaveHandoff(ctx, HandoffRecord{ConvID: c.ID, RequestedAt: req, State: "weird"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad state: %v", err)
	}
	for _, k := range []string{"queued", "assigned", "resolved"} {
		if err := s.AppendHandoffEvent(ctx, HandoffEvent{ConvID: c.ID, Kind: k, AgentID: "ag1"}); err != nil {
			t.Fatal(err)
		}
	}
	if evs, err := s.HandoffEvents(ctx, c.ID); err != nil || len(evs) != 3 || evs[0].Kind != "queued" || evs[2].Kind != "resolved" {
		t.Fatalf("events: %+v %v", evs, err)
	}
	if err := s.SaveCSAT(ctx, CSAT{ConvID: c.ID, RequestedAt: req, AgentID: "ag1", Rating: 4, Comment: "quick"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveCSAT(ctx, CSAT{ConvID: c.ID, RequestedAt: req, Rating: 5}); !errors.Is(err, ErrExists) {
		t.Fatalf("second rating: %v", err)
	}
	if err := s.SaveCSAT(ctx, CSAT{ConvID: c.ID, RequestedAt: req.Add(time.Second), Rating: 9}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("rating 9: %v", err)
	}
	if _, err := s.CreateConversation(ctx, Conversation{}); err != nil { // a bot-only conversation
		t.Fatal(err)
	}
	rep, err := s.HandoffReport(ctx, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Conversations != 2 || rep.BotOnly != 1 || rep.Handoffs != 1 || rep.HandledByAgents != 1 || rep.Resolved != 1 ||
		rep.HandoffRate != 0.5 || rep.AvgWaitSeconds != 10 || rep.P90WaitSeconds != 10 || rep.AvgFirstResponseSecs != 10 ||
		rep.CSATCount != 1 || rep.CSATAverage != 4 || rep.CSATDistribution[3] != 1 || len(rep.RecentCSATComments) != 1 {
		t.Fatalf("report: %+v", rep)
	}
}

func TestPGCannedNotesInboxDeliveries(t *testing.T) {
	nodes := openTestPG(t, 2)
	a, b := nodes[0], nodes[1]
	ctx := context.Background()
	c1, err := a.SaveCanned(ctx, CannedResponse{Shortcut: "Hi", Title: "Greeting", Text: "Hello {customer.first_name}"})
	if err != nil || c1.ID == 0 {
		t.Fatalf("canned: %+v %v", c1, err)
	}
	if _, err := b.SaveCanned(ctx, CannedResponse{Shortcut: "hi", Text: "x"}); !errors.Is(err, ErrExists) {
		t.Fatalf("same shortcut: %v", err)
	}
	c2, _ := b.SaveCanned(ctx, CannedResponse{Shortcut: "bye", Text: "Bye"})
	c2.Shortcut = "HI"
	if _, err := b.SaveCanned(ctx, c2); !errors.Is(err, ErrExists) {
		t.Fatalf("rename onto a taken shortcut: %v", err)
	}
	if _, err := a.SaveCanned(ctx, CannedResponse{ID: 999, Shortcut: "z", Text: "z"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update unknown: %v", err)
	}
	if l, _ := a.ListCanned(ctx); len(l) != 2 || l[0].Shortcut != "bye" {
		t.Fatalf("list canned: %+v", l)
	}
	if err := a.DeleteCanned(ctx, c1.ID); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteCanned(ctx, c1.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	n, err := a.AddNote(ctx, Note{ConvID: "c1", AgentID: "ag1", Text: "VIP"})
	if err != nil || n.ID == 0 {
		t.Fatal(err)
	}
	if ns, _ := b.Notes(ctx, "c1"); len(ns) != 1 || ns[0].Text != "VIP" {
		t.Fatalf("notes: %+v", ns)
	}
	for i, u := range []Unanswered{{ConvID: "c1", Seq: 3, Text: "huh", Reason: "low_confidence"}, {ConvID: "c1", Seq: 3, Text: "dup"}, {ConvID: "c2", Seq: 1, Text: "what", Reason: "out_of_scope"}} {
		u.CreatedAt = time.Now().Add(time.Duration(i) * time.Millisecond)
		if err := nodes[i%2].AddUnanswered(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	open, err := a.ListUnanswered(ctx, true, 10)
	if err != nil || len(open) != 2 || open[0].ConvID != "c2" || open[1].Text != "huh" {
		t.Fatalf("unanswered: %+v %v", open, err)
	}
	u, err := b.LabelUnanswered(ctx, open[0].ID, "order_status", "ag1")
	if err != nil || u.Label != "order_status" || u.LabelledAt.IsZero() {
		t.Fatalf("label: %+v %v", u, err)
	}
	if _, err := b.LabelUnanswered(ctx, 12345, "x", "ag1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("label unknown: %v", err)
	}
	if open, _ := a.ListUnanswered(ctx, true, 10); len(open) != 1 {
		t.Fatalf("open after labelling: %+v", open)
	}
	if all, _ := a.ListUnanswered(ctx, false, 10); len(all) != 2 {
		t.Fatalf("all: %+v", all)
	}
	d, err := a.EnqueueDelivery(ctx, WebhookDelivery{EventID: "ev1", Kind: "handoff.queued", URL: "https://hooks.test/x", Payload: []byte(`{}`)})
	if err != nil || d.ID == 0 {
		t.Fatal(err)
	}
	if _, err := b.EnqueueDelivery(ctx, WebhookDelivery{EventID: "ev1", Kind: "handoff.queued", URL: "https://hooks.test/x", Payload: []byte(`{}`)}); !errors.Is(err, ErrExists) {
		t.Fatalf("same event from another node: %v", err)
	}
	due, err := b.DueDeliveries(ctx, time.Now().Add(time.Second), 10)
	if err != nil || len(due) != 1 || string(due[0].Payload) != `{}` {
		t.Fatalf("due: %+v %v", due, err)
	}
	d.Status, d.Attempts, d.LastStatusCode, d.LastError = DeliveryFailed, 8, 500, "boom"
	if err := b.UpdateDelivery(ctx, d); err != nil {
		t.Fatal(err)
	}
	if due, _ := a.DueDeliveries(ctx, time.Now().Add(time.Second), 10); len(due) != 0 {
		t.Fatalf("failed delivery still due: %+v", due)
	}
	if log, _ := a.Deliveries(ctx, 10); len(log) != 1 || log[0].Status != DeliveryFailed || log[0].Attempts != 8 {
		t.Fatalf("log: %+v", log)
	}
}

func TestPGLiveConversations(t *testing.T) {
	s := openTestPG(t, 1)[0]
	ctx := context.Background()
	c, _ := s.CreateConversation(ctx, Conversation{})
	if _, _, err := s.AppendMessage(ctx, Message{ConvID: c.ID, Sender: SenderCustomer, Text: "where is my parcel"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AppendMessage(ctx, Message{ConvID: c.ID, Sender: SenderBot, Text: "let me look"}); err != nil {
		t.Fatal(err)
	}
	q, _ := s.CreateConversation(ctx, Conversation{})
	if err := s.SaveHandoff(ctx, HandoffRecord{ConvID: q.ID, RequestedAt: time.Now(), State: HandoffQueued, Version: 1}); err != nil {
		t.Fatal(err)
	}
	live, err := s.LiveConversations(ctx, time.Now().Add(-time.Minute), 10)
	if err != nil || len(live) != 1 || live[0].ID != c.ID || live[0].LastText != "where is my parcel" {
		t.Fatalf("live: %+v %v", live, err)
	}
}
