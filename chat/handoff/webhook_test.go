package handoff

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/shopchat/shopchat/kb"
)

const testSecret = "0123456789abcdef-secret"

type hookServer struct {
	mu       sync.Mutex
	codes    []int // responses in order; then 200
	got      []WebhookPayload
	ids      []string
	badSigs  int
	attempts int
}

func (h *hookServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.attempts++
	if err := VerifySignature(testSecret, r.Header.Get(HeaderSignature), body, time.Now(), time.Minute); err != nil {
		h.badSigs++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	code := 200
	if len(h.codes) > 0 {
		code, h.codes = h.codes[0], h.codes[1:]
	}
	if code == 200 {
		var p WebhookPayload
		_ = json.Unmarshal(body, &p)
		h.got = append(h.got, p)
		h.ids = append(h.ids, r.Header.Get(HeaderDelivery))
	}
	w.WriteHeader(code)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWebhooksSignedRetriedLogged(t *testing.T) {
	store := openStore(t)
	hs := &hookServer{codes: []int{500, 503}}
	srv := httptest.NewServer(hs)
	defer srv.Close()
	wh, err := NewWebhooks(WebhookConfig{URL: srv.URL, Secret: testSecret, Store: store, Backoff: 10 * time.Millisecond, Poll: 5 * time.Millisecond, MaxAttempts: 5})
	if err != nil {
		t.Fatal(err)
	}
	e, _, _ := newTestEngine(t, EngineConfig{})
	e.Observe(wh)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { wh.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	mustAgent(t, e, "a", AgentOnline, 1)
	mustRequest(t, e, "c1", "", 0) // queued + assigned
	if _, err := e.Resolve(context.Background(), "c1", Actor{AgentID: "a"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three deliveries", func() bool { hs.mu.Lock(); defer hs.mu.Unlock(); return len(hs.got) == 3 })
	hs.mu.Lock()
	var types []string
	for _, p := range hs.got {
		types = append(types, p.Type)
	}
	badSigs := hs.badSigs
	hs.mu.Unlock()
	if badSigs != 0 {
		t.Fatalf("%d bad signatures", badSigs)
	}
	// the first event needed three attempts, so it arrives after the others
	want := map[string]bool{"handoff.queued": true, "handoff.assigned": true, "handoff.resolved": true}
	for _, ty := range types {
		if !want[ty] {
			t.Fatalf("unexpected %s in %v", ty, types)
		}
		delete(want, ty)
	}
	waitFor(t, "log", func() bool {
		log, _ := wh.Deliveries(context.Background(), 10)
		n := 0
		for _, d := range log {
			if d.Status == kb.DeliveryDelivered {
				n++
			}
		}
		return n == 3
	})
	log, _ := wh.Deliveries(context.Background(), 10)
	attempts := 0
	for _, d := range log {
		attempts += d.Attempts
	}
	if attempts != 5 {
		t.Fatalf("attempts %d, want 5 (two retries)", attempts)
	}
}

func TestWebhooksGiveUp(t *testing.T) {
	store := openStore(t)
	hs := &hookServer{codes: []int{500, 500, 500, 400}}
	srv := httptest.NewServer(hs)
	defer srv.Close()
	wh, err := NewWebhooks(WebhookConfig{URL: srv.URL, Secret: testSecret, Store: store, Backoff: time.Millisecond, Poll: 5 * time.Millisecond, MaxAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { wh.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	h := Handoff{ConvID: "c", State: StateBot}
	wh.HandoffEvent(Event{Kind: EventFailed, Handoff: &h, At: time.Now()})
	waitFor(t, "failed after 3 attempts", func() bool {
		log, _ := wh.Deliveries(context.Background(), 10)
		return len(log) == 1 && log[0].Status == kb.DeliveryFailed
	})
	log, _ := wh.Deliveries(context.Background(), 10)
	if log[0].Attempts != 3 || log[0].LastStatusCode != 500 || log[0].Kind != "handoff.failed" {
		t.Fatalf("%+v", log[0])
	}
	// a 4xx is not retried
	wh.HandoffEvent(Event{Kind: EventQueued, Handoff: &h, At: time.Now()})
	waitFor(t, "permanent failure", func() bool {
		log, _ := wh.Deliveries(context.Background(), 10)
		return len(log) == 2 && log[0].Status == kb.DeliveryFailed
	})
	log, _ = wh.Deliveries(context.Background(), 10)
	if log[0].Attempts != 1 || log[0].LastStatusCode != 400 {
		t.Fatalf("%+v", log[0])
	}
	// non-webhook kinds are not sent
	wh.HandoffEvent(Event{Kind: EventRequeued, Handoff: &h})
	time.Sleep(30 * time.Millisecond)
	if log, _ := wh.Deliveries(context.Background(), 10); len(log) != 2 {
		t.Fatal(len(log))
	}
}

func TestWebhookConfigAndSignature(t *testing.T) {
	store := openStore(t)
	for _, c := range []WebhookConfig{{URL: "ftp://x", Secret: testSecret, Store: store}, {URL: "http://x", Secret: "short", Store: store}, {URL: "", Secret: testSecret, Store: store}} {
		if _, err := NewWebhooks(c); !errors.Is(err, ErrBadInput) {
			t.Fatalf("%+v: %v", c, err)
		}
	}
	now := time.Now()
	body := []byte(`{"a":1}`)
	sig := Sign(testSecret, now, body)
	if err := VerifySignature(testSecret, sig, body, now, time.Minute); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		secret, sig string
		body        []byte
		at          time.Time
	}{
		"other secret": {"another-secret-0123", sig, body, now},
		"changed body": {testSecret, sig, []byte(`{"a":2}`), now},
		"stale":        {testSecret, sig, body, now.Add(10 * time.Minute)},
		"no v1":        {testSecret, "t=1", body, now},
		"garbage":      {testSecret, "nonsense", body, now},
		"empty":        {testSecret, "", body, now},
	} {
		if err := VerifySignature(tc.secret, tc.sig, tc.body, tc.at, 5*time.Minute); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

func TestPersisterAndRestore(t *testing.T) {
	store := openStore(t)
	ctx := context.Background()
	e, _, _ := newTestEngine(t, EngineConfig{})
	p := NewPersister(store, nil)
	e.Observe(p)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { p.Run(rctx); close(done) }()
	defer func() { cancel(); <-done }()
	mustAgent(t, e, "a", AgentOnline, 1)
	mustRequest(t, e, "c1", "", 0)
	mustRequest(t, e, "c2", "", 0)
	mustRequest(t, e, "c3", "returns", 2)
	if _, err := e.AgentReplied(ctx, "c1", Actor{AgentID: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Resolve(ctx, "c1", Actor{AgentID: "a"}); err != nil { // a takes c2
		t.Fatal(err)
	}
	p.Flush()
	got, err := store.LatestHandoff(ctx, "c1")
	if err != nil || got.State != "resolved" || got.Outcome != "resolved" || got.AgentID != "a" || got.FirstResponseAt.IsZero() {
		t.Fatalf("%+v %v", got, err)
	}
	evs, _ := store.HandoffEvents(ctx, "c1")
	if len(evs) != 3 || evs[0].Kind != "queued" || evs[1].Kind != "assigned" || evs[2].Kind != "resolved" {
		t.Fatalf("%+v", evs)
	}
	// a new engine after a restart gets c2 (assigned before: back in the queue) and c3
	e2, _, _ := newTestEngine(t, EngineConfig{})
	if err := RestoreFrom(ctx, e2, store); err != nil {
		t.Fatal(err)
	}
	all, _ := e2.QueueAll(ctx)
	if len(all) != 2 || all[0].ConvID != "c2" || all[1].ConvID != "c3" || all[1].Priority != 2 {
		t.Fatalf("%+v", all)
	}
}
