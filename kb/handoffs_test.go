package kb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopchat/shopchat/kb"
)

func TestAgentsAndSessions(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	a, err := s.CreateAgent(ctx, kb.Agent{Email: "ana@shop.example", Name: "Ana", Role: kb.RoleAgent, Skills: []string{"returns", "payments"}, MaxConcurrent: 4, PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAgent(ctx, kb.Agent{Email: "ANA@shop.example", Name: "Other", Role: kb.RoleAgent, PasswordHash: "h"}); !errors.Is(err, kb.ErrExists) {
		t.Fatalf("duplicate email (case-insensitive): %v", err)
	}
	if _, err := s.CreateAgent(ctx, kb.Agent{Email: "x@shop.example", Name: "X", Role: "root", PasswordHash: "h"}); !errors.Is(err, kb.ErrInvalid) {
		t.Fatalf("bad role: %v", err)
	}
	got, err := s.AgentByEmail(ctx, "ana@shop.example")
	if err != nil || got.ID != a.ID || len(got.Skills) != 2 || got.Skills[1] != "payments" || got.MaxConcurrent != 4 {
		t.Fatalf("%+v %v", got, err)
	}
	got.Disabled = true
	got.Role = kb.RoleAdmin
	got.Skills = nil
	if err := s.UpdateAgent(ctx, got); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAgentPassword(ctx, a.ID, "h2"); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Agent(ctx, a.ID)
	if !got.Disabled || got.Role != kb.RoleAdmin || got.Skills != nil || got.PasswordHash != "h2" {
		t.Fatalf("%+v", got)
	}
	if _, err := s.Agent(ctx, "nope"); !errors.Is(err, kb.ErrNotFound) {
		t.Fatal(err)
	}
	if err := s.SetAgentPassword(ctx, "nope", "h"); !errors.Is(err, kb.ErrNotFound) {
		t.Fatal(err)
	}
	now := time.Now()
	if err := s.CreateAgentSession(ctx, kb.AgentSession{TokenHash: "t1", AgentID: a.ID, CSRF: "c", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	ss, err := s.AgentSession(ctx, "t1")
	if err != nil || ss.AgentID != a.ID || ss.CSRF != "c" {
		t.Fatalf("%+v %v", ss, err)
	}
	if err := s.DeleteAgentSessions(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AgentSession(ctx, "t1"); !errors.Is(err, kb.ErrNotFound) {
		t.Fatal(err)
	}
	list, _ := s.ListAgents(ctx)
	if len(list) != 1 {
		t.Fatal(list)
	}
}

func TestHandoffRecordsAndReport(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	for _, id := range []string{"c1", "c2", "c3", "c4"} {
		if _, err := s.CreateConversation(ctx, kb.Conversation{ID: id, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	h := kb.HandoffRecord{ConvID: "c1", RequestedAt: t0, State: kb.HandoffQueued, QueuedAt: t0, Version: 1}
	if err := s.SaveHandoff(ctx, h); err != nil {
		t.Fatal(err)
	}
	h.State, h.AgentID, h.AssignedAt, h.Version = kb.HandoffAssigned, "a1", t0.Add(30*time.Second), 2
	if err := s.SaveHandoff(ctx, h); err != nil {
		t.Fatal(err)
	}
	// a late, older write does not undo the newer one
	old := h
	old.State, old.Version = kb.HandoffQueued, 1
	if err := s.SaveHandoff(ctx, old); err != nil {
		t.Fatal(err)
	}
	c, _ := s.Conversation(ctx, "c1")
	if c.Status != kb.HandoffAssigned {
		t.Fatalf("conversation status %s", c.Status)
	}
	open, err := s.OpenHandoffs(ctx)
	if err != nil || len(open) != 1 || open[0].State != kb.HandoffAssigned || open[0].AgentID != "a1" {
		t.Fatalf("%+v %v", open, err)
	}
	h.State, h.FirstResponseAt, h.ResolvedAt, h.Outcome, h.Version = kb.HandoffResolved, t0.Add(40*time.Second), t0.Add(5*time.Minute), "resolved", 3
	if err := s.SaveHandoff(ctx, h); err != nil {
		t.Fatal(err)
	}
	// a requeue later (new assignment time) keeps the first assignment and first reply
	h2 := kb.HandoffRecord{ConvID: "c2", RequestedAt: t0, State: kb.HandoffAssigned, AgentID: "a1", AssignedAt: t0.Add(10 * time.Second), FirstResponseAt: t0.Add(20 * time.Second), Version: 1}
	if err := s.SaveHandoff(ctx, h2); err != nil {
		t.Fatal(err)
	}
	h2.State, h2.AssignedAt, h2.FirstResponseAt, h2.ResolvedAt, h2.Outcome, h2.Version = kb.HandoffBot, time.Time{}, time.Time{}, t0.Add(time.Minute), "returned", 2
	if err := s.SaveHandoff(ctx, h2); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.LatestHandoff(ctx, "c2"); !got.AssignedAt.Equal(t0.Add(10*time.Second)) || got.Outcome != "returned" {
		t.Fatalf("%+v", got)
	}
	if err := s.SaveHandoff(ctx, kb.HandoffRecord{ConvID: "c3", RequestedAt: t0, State: "lost"}); !errors.Is(err, kb.ErrInvalid) {
		t.Fatal(err)
	}
	if err := s.SaveCSAT(ctx, kb.CSAT{ConvID: "c1", RequestedAt: t0, AgentID: "a1", Rating: 4, Comment: "quick, thanks"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveCSAT(ctx, kb.CSAT{ConvID: "c1", RequestedAt: t0, Rating: 5}); !errors.Is(err, kb.ErrExists) {
		t.Fatalf("second rating: %v", err)
	}
	if err := s.SaveCSAT(ctx, kb.CSAT{ConvID: "c2", RequestedAt: t0, Rating: 6}); !errors.Is(err, kb.ErrInvalid) {
		t.Fatal(err)
	}
	rep, err := s.HandoffReport(ctx, t0.Add(-time.Minute), time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Conversations != 4 || rep.BotOnly != 2 || rep.Handoffs != 2 || rep.HandledByAgents != 2 || rep.Resolved != 1 ||
		rep.ReturnedToBot != 1 || rep.HandoffRate != 0.5 || rep.CSATCount != 1 || rep.CSATAverage != 4 || rep.CSATDistribution[3] != 1 {
		t.Fatalf("%+v", rep)
	}
	if rep.AvgWaitSeconds != 20 || rep.P90WaitSeconds != 30 || rep.AvgFirstResponseSecs != 10 || len(rep.RecentCSATComments) != 1 {
		t.Fatalf("times %+v", rep)
	}
	if err := s.AppendHandoffEvent(ctx, kb.HandoffEvent{ConvID: "c1", Kind: "queued"}); err != nil {
		t.Fatal(err)
	}
	if evs, _ := s.HandoffEvents(ctx, "c1"); len(evs) != 1 || evs[0].Kind != "queued" {
		t.Fatal(evs)
	}
}

func TestCannedNotesUnansweredDeliveries(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	c, err := s.SaveCanned(ctx, kb.CannedResponse{Shortcut: "hi", Title: "Greeting", Text: "Hi {customer.first_name}!"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveCanned(ctx, kb.CannedResponse{Shortcut: "HI", Text: "x"}); !errors.Is(err, kb.ErrExists) {
		t.Fatal(err)
	}
	c.Text = "Hello {customer.first_name}!"
	if _, err := s.SaveCanned(ctx, c); err != nil {
		t.Fatal(err)
	}
	list, _ := s.ListCanned(ctx)
	if len(list) != 1 || list[0].Text != "Hello {customer.first_name}!" {
		t.Fatal(list)
	}
	if err := s.DeleteCanned(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCanned(ctx, c.ID); !errors.Is(err, kb.ErrNotFound) {
		t.Fatal(err)
	}
	if _, err := s.AddNote(ctx, kb.Note{ConvID: "c", AgentID: "a", Text: "VIP customer"}); err != nil {
		t.Fatal(err)
	}
	if ns, _ := s.Notes(ctx, "c"); len(ns) != 1 || ns[0].Text != "VIP customer" {
		t.Fatal(ns)
	}
	for i := 0; i < 2; i++ { // idempotent per (conv, seq)
		if err := s.AddUnanswered(ctx, kb.Unanswered{ConvID: "c", Seq: 3, Text: "can i pay with crypto", Intent: "payment_methods", Confidence: 0.31, Reason: "low_confidence"}); err != nil {
			t.Fatal(err)
		}
	}
	un, _ := s.ListUnanswered(ctx, true, 10)
	if len(un) != 1 {
		t.Fatal(un)
	}
	u, err := s.LabelUnanswered(ctx, un[0].ID, "payment_methods", "a")
	if err != nil || u.Label != "payment_methods" || u.Text != "can i pay with crypto" {
		t.Fatalf("%+v %v", u, err)
	}
	if un, _ := s.ListUnanswered(ctx, true, 10); len(un) != 0 {
		t.Fatal(un)
	}
	if _, err := s.LabelUnanswered(ctx, 999, "x", "a"); !errors.Is(err, kb.ErrNotFound) {
		t.Fatal(err)
	}
	d, err := s.EnqueueDelivery(ctx, kb.WebhookDelivery{EventID: "e1", Kind: "handoff.queued", URL: "http://x", Payload: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnqueueDelivery(ctx, kb.WebhookDelivery{EventID: "e1", URL: "http://x"}); !errors.Is(err, kb.ErrExists) {
		t.Fatal(err)
	}
	due, _ := s.DueDeliveries(ctx, time.Now().Add(time.Second), 10)
	if len(due) != 1 || string(due[0].Payload) != "{}" {
		t.Fatal(due)
	}
	d.Attempts, d.Status, d.NextAttemptAt, d.LastError = 1, kb.DeliveryPending, time.Now().Add(time.Hour), "HTTP 500"
	if err := s.UpdateDelivery(ctx, d); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueDeliveries(ctx, time.Now(), 10); len(due) != 0 {
		t.Fatal(due)
	}
	log, _ := s.Deliveries(ctx, 10)
	if len(log) != 1 || log[0].Attempts != 1 || log[0].LastError != "HTTP 500" {
		t.Fatal(log)
	}
}
