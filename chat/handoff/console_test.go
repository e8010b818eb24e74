package handoff

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shopchat/shopchat/chat"
	"github.com/shopchat/shopchat/kb"
)

// fakeOutbound stands in for *chat.Server's Outbound while the chat server is built elsewhere: it
// stores through the real kb store and publishes on the real memory bus, as the server does.
type fakeOutbound struct {
	store *kb.Store
	bus   *chat.MemoryBus
	mu    sync.Mutex
	sent  []kb.Message
	pub   []chat.Event
}

func (o *fakeOutbound) Deliver(ctx context.Context, m kb.Message) (kb.Message, error) {
	stored, _, err := o.store.AppendMessage(ctx, m)
	if err != nil {
		return kb.Message{}, err
	}
	o.mu.Lock()
	o.sent = append(o.sent, stored)
	o.mu.Unlock()
	return stored, o.bus.Publish(ctx, chat.Event{Kind: chat.EventMessage, Conv: m.ConvID, Message: &stored})
}

func (o *fakeOutbound) Publish(ctx context.Context, ev chat.Event) error {
	o.mu.Lock()
	o.pub = append(o.pub, ev)
	o.mu.Unlock()
	return o.bus.Publish(ctx, ev)
}

// events returns the customer-visible event names delivered to conv.
func (o *fakeOutbound) events(conv string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for _, m := range o.sent {
		if m.ConvID == conv && m.Type == "event" {
			var p struct {
				Event string `json:"event"`
			}
			_ = json.Unmarshal(m.Payload, &p)
			out = append(out, p.Event)
		}
	}
	return out
}

func (o *fakeOutbound) lastEvent(conv, name string) map[string]any {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := len(o.sent) - 1; i >= 0; i-- {
		m := o.sent[i]
		var p map[string]any
		_ = json.Unmarshal(m.Payload, &p)
		if m.ConvID == conv && p["event"] == name {
			return p
		}
	}
	for i := len(o.pub) - 1; i >= 0; i-- {
		ev := o.pub[i]
		var p map[string]any
		_ = json.Unmarshal(ev.Payload, &p)
		if ev.Conv == conv && p["event"] == name {
			return p
		}
	}
	return nil
}

type env struct {
	t      *testing.T
	store  *kb.Store
	engine *Engine
	auth   *Auth
	svc    *Service
	out    *fakeOutbound
	bus    *chat.MemoryBus
	srv    *httptest.Server
	clock  *fakeClock
	agents map[string]kb.Agent
	train  string
}

func newEnv(t *testing.T, ecfg EngineConfig) *env {
	t.Helper()
	store := openStore(t)
	clk := newClock()
	clk.t = time.Now() // real time: sessions and the store's clock agree
	ecfg.Now = clk.Now
	engine, err := NewEngine(ecfg)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := NewAuth(AuthConfig{Store: store, Now: clk.Now, Password: testParams, SessionTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	bus := chat.NewMemoryBus()
	train := filepath.Join(t.TempDir(), "training", "labelled.csv")
	svc, err := NewService(ServiceConfig{Engine: engine, Store: store, Auth: auth, Bus: bus, Now: clk.Now, TrainingFile: train,
		OfflineGrace: 50 * time.Millisecond, PositionInterval: 10 * time.Millisecond, MaxNoteBytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	out := &fakeOutbound{store: store, bus: bus}
	svc.SetOutbound(out)
	p := NewPersister(store, nil)
	engine.Observe(p)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); svc.Run(ctx) }()
	go func() { defer wg.Done(); p.Run(ctx) }()
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(func() { srv.Close(); cancel(); wg.Wait(); bus.Close() })
	e := &env{t: t, store: store, engine: engine, auth: auth, svc: svc, out: out, bus: bus, srv: srv, clock: clk, agents: map[string]kb.Agent{}, train: train}
	for _, a := range []struct{ email, name, role string }{{"ana@shop.example", "Ana", "agent"}, {"bo@shop.example", "Bo", "agent"}, {"root@shop.example", "Root", "admin"}} {
		ag, err := auth.AddAgent(context.Background(), NewAgent{Email: a.email, Name: a.name, Role: a.role, Password: "correct horse battery", MaxConcurrent: 2})
		if err != nil {
			t.Fatal(err)
		}
		e.agents[a.name] = ag
	}
	return e
}

// conversation creates a customer conversation with one message.
func (e *env) conversation(id, customerID, text, intent string, conf float64) {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.store.CreateConversation(ctx, kb.Conversation{ID: id, CustomerID: customerID}); err != nil {
		e.t.Fatal(err)
	}
	m, _, err := e.store.AppendMessage(ctx, kb.Message{ConvID: id, Sender: kb.SenderCustomer, Type: "message", Text: text, Intent: intent, Confidence: conf,
		Entities: json.RawMessage(`[{"type":"order_number","value":"A10023"}]`)})
	if err != nil {
		e.t.Fatal(err)
	}
	_ = e.bus.Publish(ctx, chat.Event{Kind: chat.EventMessage, Conv: id, Message: &m})
}

// agentClient is a logged-in console client.
type agentClient struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
	id   string
}

func (e *env) login(name string) *agentClient {
	e.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	ac := &agentClient{t: e.t, base: e.srv.URL, c: c, id: e.agents[name].ID}
	var me meResp
	code := ac.do("POST", "/console/api/login", map[string]string{"email": strings.ToLower(name) + "@shop.example", "password": "correct horse battery"}, &me)
	if code != 200 {
		e.t.Fatalf("login %s: %d", name, code)
	}
	ac.csrf = me.CSRF
	return ac
}

func (ac *agentClient) do(method, path string, body any, out any) int {
	ac.t.Helper()
	return ac.doCSRF(method, path, body, out, ac.csrf)
}

func (ac *agentClient) doCSRF(method, path string, body any, out any, csrf string) int {
	ac.t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
	}
	req, _ := http.NewRequest(method, ac.base+path, rd)
	if csrf != "" {
		req.Header.Set(HeaderCSRF, csrf)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := ac.c.Do(req)
	if err != nil {
		ac.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		_ = json.Unmarshal(b, out)
	}
	return resp.StatusCode
}

func (ac *agentClient) cookie() string {
	u, _ := url.Parse(ac.base + "/console/")
	for _, c := range ac.c.Jar.Cookies(u) {
		if c.Name == CookieName {
			return c.Value
		}
	}
	return ""
}

// socket opens the agent's console socket.
func (ac *agentClient) socket() *wsClient {
	ac.t.Helper()
	h := http.Header{}
	h.Set("Cookie", CookieName+"="+ac.cookie())
	h.Set("Origin", ac.base)
	conn, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ac.base, "http")+"/console/ws", h)
	if err != nil {
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		ac.t.Fatalf("dial: %v (%d)", err, code)
	}
	w := &wsClient{conn: conn, frames: make(chan frame, 1000)}
	go func() {
		for {
			var f frame
			if err := conn.ReadJSON(&f); err != nil {
				close(w.frames)
				return
			}
			w.frames <- f
		}
	}()
	ac.t.Cleanup(func() { conn.Close() })
	return w
}

type wsClient struct {
	conn   *websocket.Conn
	frames chan frame
}

// wait returns the first frame matching ok within 5s.
func (w *wsClient) wait(t *testing.T, what string, ok func(frame) bool) frame {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case f, open := <-w.frames:
			if !open {
				t.Fatalf("socket closed waiting for %s", what)
			}
			if ok(f) {
				return f
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestConsoleRefusals(t *testing.T) {
	e := newEnv(t, EngineConfig{ManualOnly: true})
	ctx := context.Background()
	e.conversation("c1", "", "I want a refund", "refund_status", 0.9)
	if err := e.svc.Request(ctx, chat.HandoffRequest{ConvID: "c1"}); err != chat.ErrNoAgents {
		t.Fatalf("no agent connected: %v", err)
	}
	ana, bo, root := e.login("Ana"), e.login("Bo"), e.login("Root")
	for _, ac := range []*agentClient{ana, bo} {
		if code := ac.do("POST", "/console/api/status", map[string]string{"status": "online"}, nil); code != 200 {
			t.Fatal(code)
		}
	}
	if err := e.svc.Request(ctx, chat.HandoffRequest{ConvID: "c1", Reason: chat.HandoffReasonCustomer}); err != nil {
		t.Fatal(err)
	}
	anon := &agentClient{t: t, base: e.srv.URL, c: &http.Client{}}
	var ae apiErr
	endpoints := []struct{ method, path string }{
		{"GET", "/console/api/me"}, {"GET", "/console/api/queue"}, {"GET", "/console/api/conversations/c1"},
		{"POST", "/console/api/conversations/c1/claim"}, {"GET", "/console/api/unanswered"}, {"GET", "/console/api/reports"},
		{"GET", "/console/ws"},
	}
	t.Run("no session", func(t *testing.T) {
		for _, ep := range endpoints {
			if code := anon.do(ep.method, ep.path, nil, &ae); code != 401 || ae.Error != "unauthenticated" {
				t.Fatalf("%s %s: %d %+v", ep.method, ep.path, code, ae)
			}
		}
	})
	t.Run("forged cookie", func(t *testing.T) {
		jar, _ := cookiejar.New(nil)
		u, _ := url.Parse(e.srv.URL + "/console/")
		jar.SetCookies(u, []*http.Cookie{{Name: CookieName, Value: strings.Repeat("A", 43)}})
		forged := &agentClient{t: t, base: e.srv.URL, c: &http.Client{Jar: jar}, csrf: ana.csrf}
		for _, ep := range endpoints {
			if code := forged.do(ep.method, ep.path, nil, nil); code != 401 {
				t.Fatalf("%s %s: %d", ep.method, ep.path, code)
			}
		}
	})
	t.Run("csrf", func(t *testing.T) {
		for _, tok := range []string{"", "wrong", bo.csrf} {
			if code := ana.doCSRF("POST", "/console/api/conversations/c1/claim", nil, &ae, tok); code != 403 || ae.Error != "csrf" {
				t.Fatalf("token %q: %d %+v", tok, code, ae)
			}
		}
		if h, _ := e.engine.Get(ctx, "c1"); h.State != StateQueued {
			t.Fatalf("refused claim changed the state: %s", h.State)
		}
	})
	t.Run("wrong role", func(t *testing.T) {
		for _, ep := range []struct{ method, path string }{{"GET", "/console/api/reports"}, {"GET", "/console/api/webhooks/deliveries"}, {"POST", "/console/api/canned"}, {"DELETE", "/console/api/canned/1"}} {
			if code := ana.do(ep.method, ep.path, map[string]string{"shortcut": "x", "text": "y"}, &ae); code != 403 || ae.Error != "forbidden" {
				t.Fatalf("%s %s: %d %+v", ep.method, ep.path, code, ae)
			}
		}
		if code := root.do("GET", "/console/api/reports", nil, nil); code != 200 {
			t.Fatalf("admin reports: %d", code)
		}
	})
	var res struct{ Handoff Handoff }
	if code := ana.do("POST", "/console/api/conversations/c1/claim", nil, &res); code != 200 || res.Handoff.AgentID != ana.id {
		t.Fatalf("claim %d %+v", code, res)
	}
	t.Run("another agent's conversation", func(t *testing.T) {
		for _, a := range []struct {
			action string
			body   any
		}{{"resolve", nil}, {"return", nil}, {"reply", map[string]string{"text": "hi"}}, {"transfer", map[string]string{"to_agent": bo.id}}} {
			if code := bo.do("POST", "/console/api/conversations/c1/"+a.action, a.body, &ae); code != 403 || ae.Error != "not_assignee" {
				t.Fatalf("%s: %d %+v", a.action, code, ae)
			}
		}
		if code := bo.do("POST", "/console/api/conversations/c1/claim", nil, &ae); code != 409 || ae.Error != "transition" || ae.State != "assigned" {
			t.Fatalf("claim taken: %d %+v", code, ae)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		if code := ana.do("POST", "/console/api/conversations/c1/notes", map[string]string{"text": strings.Repeat("x", 101)}, &ae); code != 413 {
			t.Fatalf("oversized note: %d %+v", code, ae)
		}
		if code := ana.do("POST", "/console/api/conversations/c1/notes", map[string]string{"text": strings.Repeat("x", 70000)}, &ae); code != 413 {
			t.Fatalf("oversized body: %d %+v", code, ae)
		}
		if code := ana.do("POST", "/console/api/conversations/c1/notes", `{"text":`, &ae); code != 400 {
			t.Fatalf("bad json: %d", code)
		}
		if code := ana.do("POST", "/console/api/conversations/c1/notes", `{"txt":"x"}`, &ae); code != 400 {
			t.Fatalf("unknown field: %d", code)
		}
		if code := ana.do("POST", "/console/api/conversations/c1/explode", nil, &ae); code != 404 {
			t.Fatalf("unknown action: %d", code)
		}
		if code := ana.do("POST", "/console/api/status", map[string]string{"status": "busy"}, &ae); code != 400 {
			t.Fatalf("bad status: %d", code)
		}
		if code := ana.do("GET", "/console/api/conversations/nope", nil, &ae); code != 404 {
			t.Fatalf("unknown conversation: %d", code)
		}
		if code := ana.do("POST", "/console/api/conversations/c1/transfer", map[string]string{}, &ae); code != 400 {
			t.Fatalf("transfer nowhere: %d", code)
		}
	})
	t.Run("disallowed transitions", func(t *testing.T) {
		if code := ana.do("POST", "/console/api/conversations/c1/resolve", nil, &res); code != 200 || res.Handoff.State != StateResolved {
			t.Fatalf("resolve: %d", code)
		}
		if code := ana.do("POST", "/console/api/conversations/c1/resolve", nil, &ae); code != 409 || ae.State != "resolved" {
			t.Fatalf("resolve twice: %d %+v", code, ae)
		}
		if code := ana.do("POST", "/console/api/conversations/c1/return", nil, &ae); code != 409 {
			t.Fatalf("return resolved: %d %+v", code, ae)
		}
		if code := ana.do("POST", "/console/api/conversations/c1/reply", map[string]string{"text": "still there?"}, &ae); code != 409 {
			t.Fatalf("reply to resolved: %d %+v", code, ae)
		}
	})
	t.Run("expired session", func(t *testing.T) {
		e.clock.Add(2 * time.Hour)
		if code := ana.do("GET", "/console/api/me", nil, &ae); code != 401 {
			t.Fatalf("expired: %d", code)
		}
	})
	t.Run("logout", func(t *testing.T) {
		if code := bo.do("POST", "/console/api/logout", nil, nil); code != 401 { // bo expired with the clock too
			t.Fatalf("logout expired: %d", code)
		}
		e.clock.Add(-2 * time.Hour)
		bo2 := e.login("Bo")
		if code := bo2.do("POST", "/console/api/logout", nil, nil); code != 200 {
			t.Fatal(code)
		}
		if code := bo2.do("GET", "/console/api/me", nil, nil); code != 401 {
			t.Fatalf("after logout: %d", code)
		}
	})
}

func TestConsoleLoginRefusals(t *testing.T) {
	e := newEnv(t, EngineConfig{})
	anon := &agentClient{t: t, base: e.srv.URL, c: &http.Client{}}
	var ae apiErr
	if code := anon.do("POST", "/console/api/login", map[string]string{"email": "ana@shop.example", "password": "wrong password"}, &ae); code != 401 || ae.Error != "bad_credentials" {
		t.Fatalf("%d %+v", code, ae)
	}
	if code := anon.do("POST", "/console/api/login", `{"email":1}`, &ae); code != 400 {
		t.Fatalf("%d", code)
	}
	for i := 0; i < 5; i++ {
		anon.do("POST", "/console/api/login", map[string]string{"email": "bo@shop.example", "password": "wrong password"}, nil)
	}
	form, err := http.Post(e.srv.URL+"/console/api/login", "application/x-www-form-urlencoded", strings.NewReader("email=ana%40shop.example&password=correct+horse+battery"))
	if err != nil {
		t.Fatal(err)
	}
	form.Body.Close()
	if form.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("form login: %d", form.StatusCode)
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/console/api/login", strings.NewReader(`{"email":"bo@shop.example","password":"correct horse battery"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("rate limit: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// the cookie's attributes
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err = c.Post(e.srv.URL+"/console/api/login", "application/json", strings.NewReader(`{"email":"ana@shop.example","password":"correct horse battery"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	sc := resp.Header.Get("Set-Cookie")
	for _, want := range []string{CookieName + "=", "Path=/console", "HttpOnly", "SameSite=Strict", "Expires="} {
		if !strings.Contains(sc, want) {
			t.Fatalf("cookie %q lacks %q", sc, want)
		}
	}
}

func TestConsoleConcurrentClaimOneWinner(t *testing.T) {
	e := newEnv(t, EngineConfig{ManualOnly: true})
	ctx := context.Background()
	ana, bo := e.login("Ana"), e.login("Bo")
	ana.do("POST", "/console/api/status", map[string]string{"status": "online"}, nil)
	bo.do("POST", "/console/api/status", map[string]string{"status": "online"}, nil)
	for round := 0; round < 10; round++ {
		id := fmt.Sprint("race", round)
		e.conversation(id, "", "human please", "talk_to_human", 0.99)
		if err := e.svc.Request(ctx, chat.HandoffRequest{ConvID: id}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var ok, conflict atomic.Int32
		start := make(chan struct{})
		for _, ac := range []*agentClient{ana, bo} {
			wg.Add(1)
			go func(ac *agentClient) {
				defer wg.Done()
				<-start
				switch code := ac.do("POST", "/console/api/conversations/"+id+"/claim", nil, nil); code {
				case 200:
					ok.Add(1)
				case 409:
					conflict.Add(1)
				default:
					t.Errorf("claim: %d", code)
				}
			}(ac)
		}
		close(start)
		wg.Wait()
		if ok.Load() != 1 || conflict.Load() != 1 {
			t.Fatalf("round %d: %d winners, %d refused", round, ok.Load(), conflict.Load())
		}
		h, _ := e.engine.Get(ctx, id)
		if _, err := e.engine.Resolve(ctx, id, Actor{AgentID: h.AgentID}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestConsoleFlowEndToEnd(t *testing.T) {
	e := newEnv(t, EngineConfig{})
	ctx := context.Background()
	cust := kb.Customer{ID: "cu1", Email: "lea@example.com", FirstName: "Léa", LastName: "Martin"}
	_ = cust
	e.conversation("c1", "", "where is my order A10023? I want a person", "talk_to_human", 0.97)
	root := e.login("Root")
	if code := root.do("POST", "/console/api/canned", map[string]string{"shortcut": "/hello", "title": "Hello", "text": "Hi {customer.first_name}, {agent.name} here."}, nil); code != 200 {
		t.Fatalf("canned: %d", code)
	}
	var ae apiErr
	if code := root.do("POST", "/console/api/canned", map[string]string{"shortcut": "bad", "text": "Hi {customer.shoe_size}"}, &ae); code != 400 {
		t.Fatalf("unknown variable: %d %+v", code, ae)
	}

	ana := e.login("Ana")
	ws := ana.socket()
	ws.wait(t, "hello", func(f frame) bool { return f.Type == "hello" && f.Status == AgentOnline && f.Me.ID == ana.id })

	// The customer asks for a person: the agent is online, so auto-assignment gives it to her at once.
	if err := e.svc.Request(ctx, chat.HandoffRequest{ConvID: "c1", Reason: chat.HandoffReasonCustomer, Text: "I want a person"}); err != nil {
		t.Fatal(err)
	}
	ws.wait(t, "assigned", func(f frame) bool {
		return f.Type == "handoff" && f.Event == "assigned" && f.Handoff.ConvID == "c1" && f.Handoff.AgentID == ana.id
	})
	waitFor(t, "customer notices", func() bool {
		// assigned at once: no queued notice, only the agent joining
		return fmt.Sprint(e.out.events("c1")) == "[handoff.assigned]"
	})
	if p := e.out.lastEvent("c1", "handoff.assigned"); p["agent_name"] != "Ana" {
		t.Fatalf("agent joined: %v", p)
	}
	if active, _ := e.svc.Active(ctx, "c1"); !active {
		t.Fatal("bot must stay silent")
	}
	// Transcript with what the bot understood.
	var tr transcript
	if code := ana.do("GET", "/console/api/conversations/c1", nil, &tr); code != 200 || !tr.Mine || len(tr.Messages) < 1 ||
		tr.Messages[0].Intent != "talk_to_human" || tr.Messages[0].Confidence != 0.97 || !strings.Contains(string(tr.Messages[0].Entities), "A10023") {
		t.Fatalf("transcript %d %+v", code, tr)
	}
	// The customer types and writes: the console sees both.
	_ = e.bus.Publish(ctx, chat.Event{Kind: chat.EventTyping, Conv: "c1", Sender: kb.SenderCustomer, Typing: true})
	ws.wait(t, "customer typing", func(f frame) bool { return f.Type == "typing" && f.Conv == "c1" && f.Typing })
	// The agent types: the customer sees it.
	if err := ws.conn.WriteJSON(inFrame{Type: "typing", Conv: "c1", Typing: true}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "agent typing published", func() bool {
		e.out.mu.Lock()
		defer e.out.mu.Unlock()
		for _, p := range e.out.pub {
			if p.Kind == chat.EventTyping && p.Sender == kb.SenderAgent && p.Typing && p.AgentID == ana.id {
				return true
			}
		}
		return false
	})
	// Canned response rendered for this conversation.
	var canned struct {
		Canned []cannedView `json:"canned"`
	}
	ana.do("GET", "/console/api/canned?conv=c1", nil, &canned)
	if len(canned.Canned) != 1 || canned.Canned[0].Rendered != "Hi {customer.first_name}, Ana here." || fmt.Sprint(canned.Canned[0].Missing) != "[customer.first_name]" {
		t.Fatalf("canned %+v", canned)
	}
	// Reply.
	var rep struct{ Message kb.Message }
	if code := ana.do("POST", "/console/api/conversations/c1/reply", map[string]string{"text": "Hi, I'm checking your order now."}, &rep); code != 200 ||
		rep.Message.Sender != kb.SenderAgent || rep.Message.AgentID != ana.id || rep.Message.Seq == 0 {
		t.Fatalf("reply %d %+v", code, rep)
	}
	ws.wait(t, "own reply on the socket", func(f frame) bool { return f.Type == "message" && f.Message.Sender == kb.SenderAgent })
	// Internal note: visible to consoles, not delivered to the customer.
	if code := ana.do("POST", "/console/api/conversations/c1/notes", map[string]string{"text": "Customer sounds upset"}, nil); code != 200 {
		t.Fatal(code)
	}
	ws.wait(t, "note", func(f frame) bool { return f.Type == "note" && f.Note.Text == "Customer sounds upset" })
	e.out.mu.Lock()
	for _, m := range e.out.sent {
		if strings.Contains(m.Text, "upset") {
			t.Fatal("note delivered to the customer")
		}
	}
	e.out.mu.Unlock()
	// Resolve: the customer gets the CSAT question and can rate once.
	var res struct{ Handoff Handoff }
	if code := ana.do("POST", "/console/api/conversations/c1/resolve", nil, &res); code != 200 {
		t.Fatal(code)
	}
	waitFor(t, "csat request", func() bool { return e.out.lastEvent("c1", "csat.request") != nil })
	waitFor(t, "persisted", func() bool { h, err := e.store.LatestHandoff(ctx, "c1"); return err == nil && h.Outcome == "resolved" })
	if err := e.svc.HandleCustomerFrame(ctx, chat.CustomerSession{ConvID: "c1"}, "csat", json.RawMessage(`{"rating":5,"comment":"Great help"}`)); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.HandleCustomerFrame(ctx, chat.CustomerSession{ConvID: "c1"}, "csat", json.RawMessage(`{"rating":1}`)); err == nil {
		t.Fatal("rated twice")
	}
	if err := e.svc.HandleCustomerFrame(ctx, chat.CustomerSession{ConvID: "c1"}, "csat", json.RawMessage(`{"rating":9}`)); err == nil {
		t.Fatal("rating 9 accepted")
	}
	var report kb.HandoffReport
	root.do("GET", "/console/api/reports?from="+time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)+"&to="+time.Now().Add(time.Hour).UTC().Format(time.RFC3339), nil, &report)
	if report.Handoffs != 1 || report.Resolved != 1 || report.CSATCount != 1 || report.CSATAverage != 5 || report.HandoffRate != 1 || report.AvgFirstResponseSecs < 0 {
		t.Fatalf("report %+v", report)
	}
	// Back with the bot.
	if active, _ := e.svc.Active(ctx, "c1"); active {
		t.Fatal("resolved conversation still active")
	}
}

func TestConsoleQueuePositionsAndReturnToBot(t *testing.T) {
	e := newEnv(t, EngineConfig{ManualOnly: true})
	ctx := context.Background()
	ana := e.login("Ana")
	ws := ana.socket()
	ws.wait(t, "hello", func(f frame) bool { return f.Type == "hello" })
	for i := 1; i <= 3; i++ {
		id := fmt.Sprint("q", i)
		e.conversation(id, "", "agent please", "talk_to_human", 0.9)
		if err := e.svc.Request(ctx, chat.HandoffRequest{ConvID: id}); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(time.Second)
	}
	ws.wait(t, "queue of 3", func(f frame) bool { return f.Type == "queue" && f.Total != nil && *f.Total == 3 })
	waitFor(t, "queued notices", func() bool { return e.out.lastEvent("q3", "handoff.queued") != nil })
	if p := e.out.lastEvent("q3", "handoff.queued"); p["position"] != float64(3) {
		t.Fatalf("q3 queued %v", p)
	}
	// q1 is taken: q2 and q3 move up and are told.
	if code := ana.do("POST", "/console/api/conversations/q1/claim", nil, nil); code != 200 {
		t.Fatal(code)
	}
	waitFor(t, "position updates", func() bool {
		p2, p3 := e.out.lastEvent("q2", "handoff.position"), e.out.lastEvent("q3", "handoff.position")
		return p2 != nil && p3 != nil && p2["position"] == float64(1) && p3["position"] == float64(2)
	})
	// The customer of q3 leaves the queue.
	if err := e.svc.HandleCustomerFrame(ctx, chat.CustomerSession{ConvID: "q3"}, "handoff.cancel", nil); err != nil {
		t.Fatal(err)
	}
	// Return q1 to the bot.
	if code := ana.do("POST", "/console/api/conversations/q1/return", nil, nil); code != 200 {
		t.Fatal(code)
	}
	waitFor(t, "returned notice", func() bool { return e.out.lastEvent("q1", "handoff.returned") != nil })
	if active, _ := e.svc.Active(ctx, "q1"); active {
		t.Fatal("returned conversation still with the humans")
	}
	if active, _ := e.svc.Active(ctx, "q3"); active {
		t.Fatal("cancelled conversation still queued")
	}
	// The agent closes her console: after the grace period she is offline and her conversation goes
	// back to the queue.
	if code := ana.do("POST", "/console/api/conversations/q2/claim", nil, nil); code != 200 {
		t.Fatal(code)
	}
	ws.conn.Close()
	waitFor(t, "requeued after disconnect", func() bool { h, _ := e.engine.Get(ctx, "q2"); return h.State == StateQueued && h.Requeues == 1 })
	waitFor(t, "agent left notice", func() bool { return e.out.lastEvent("q2", "handoff.agent_left") != nil })
}

func TestConsoleSocketRefusals(t *testing.T) {
	e := newEnv(t, EngineConfig{})
	ana := e.login("Ana")
	dial := func(cookie, origin string) int {
		h := http.Header{}
		if cookie != "" {
			h.Set("Cookie", CookieName+"="+cookie)
		}
		if origin != "" {
			h.Set("Origin", origin)
		}
		conn, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.srv.URL, "http")+"/console/ws", h)
		if err == nil {
			conn.Close()
			return 101
		}
		if resp == nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	if code := dial("", e.srv.URL); code != 401 {
		t.Fatalf("no cookie: %d", code)
	}
	if code := dial("forged", e.srv.URL); code != 401 {
		t.Fatalf("forged: %d", code)
	}
	if code := dial(ana.cookie(), "https://evil.example"); code != 403 {
		t.Fatalf("foreign origin: %d", code)
	}
	if code := dial(ana.cookie(), ""); code != 403 {
		t.Fatalf("no origin: %d", code)
	}
	if code := dial(ana.cookie(), e.srv.URL); code != 101 {
		t.Fatalf("good: %d", code)
	}
	// typing in someone else's conversation is refused on the socket
	bo := e.login("Bo")
	bo.do("POST", "/console/api/status", map[string]string{"status": "online"}, nil)
	e.conversation("c9", "", "help", "talk_to_human", 0.9)
	if err := e.svc.Request(context.Background(), chat.HandoffRequest{ConvID: "c9"}); err != nil {
		t.Fatal(err)
	}
	h, _ := e.engine.Get(context.Background(), "c9")
	other := ana
	if h.AgentID == ana.id {
		other = bo
	}
	ws := other.socket()
	_ = ws.conn.WriteJSON(inFrame{Type: "typing", Conv: "c9", Typing: true})
	ws.wait(t, "refusal", func(f frame) bool { return f.Type == "error" && f.Code == "not_assignee" })
	_ = ws.conn.WriteMessage(websocket.TextMessage, []byte("not json"))
	ws.wait(t, "bad frame", func(f frame) bool { return f.Type == "error" && f.Code == "bad_request" })
}

func TestUnansweredInboxToTrainingFile(t *testing.T) {
	e := newEnv(t, EngineConfig{})
	e.conversation("u1", "", "do you ship to the moon", "oos", 0.2)
	e.conversation("u2", "", "can I pay, with crypto?", "payment_methods", 0.31)
	e.conversation("u3", "", "where is my parcel", "track_order", 0.95)
	ana := e.login("Ana")
	var list struct{ Unanswered []kb.Unanswered }
	waitFor(t, "inbox", func() bool { ana.do("GET", "/console/api/unanswered", nil, &list); return len(list.Unanswered) == 2 })
	var u2 kb.Unanswered
	for _, u := range list.Unanswered {
		if u.ConvID == "u2" {
			u2 = u
		}
	}
	if u2.Reason != "low_confidence" || u2.Intent != "payment_methods" {
		t.Fatalf("%+v", u2)
	}
	var ae apiErr
	if code := ana.do("POST", fmt.Sprintf("/console/api/unanswered/%d/label", u2.ID), map[string]string{"intent": "Bad Label!"}, &ae); code != 400 {
		t.Fatalf("bad label: %d", code)
	}
	if code := ana.do("POST", fmt.Sprintf("/console/api/unanswered/%d/label", u2.ID), map[string]string{"intent": "payment_methods"}, nil); code != 200 {
		t.Fatal(code)
	}
	if code := ana.do("POST", "/console/api/unanswered/999999/label", map[string]string{"intent": "x"}, nil); code != 404 {
		t.Fatal(code)
	}
	b, err := os.ReadFile(e.train)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "text,label\n\"can I pay, with crypto?\",payment_methods\n" {
		t.Fatalf("training file %q", b)
	}
	ana.do("GET", "/console/api/unanswered", nil, &list)
	if len(list.Unanswered) != 1 || list.Unanswered[0].ConvID != "u1" {
		t.Fatalf("%+v", list)
	}
}

func TestConsoleServesUI(t *testing.T) {
	e := newEnv(t, EngineConfig{})
	for _, p := range []string{"/console/", "/console/console.js", "/console/console.css"} {
		resp, err := http.Get(e.srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Fatalf("%s: %d %q", p, resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
		}
	}
}

func TestRequestRoutesBySkill(t *testing.T) {
	e := newEnv(t, EngineConfig{ManualOnly: true})
	ctx := context.Background()
	if _, err := e.engine.SetAgent(ctx, AgentInfo{ID: "r", Name: "R", Status: AgentAway, Skills: []string{"returns"}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ conv, hint, want string }{
		{"s1", "returns", "returns"}, // an away agent has the skill
		{"s2", "payments", ""},       // nobody has it: general queue
		{"s3", "general", ""},
		{"s4", "", ""},
	} {
		e.conversation(tc.conv, "", "help", "talk_to_human", 0.9)
		if err := e.svc.Request(ctx, chat.HandoffRequest{ConvID: tc.conv, Skill: tc.hint}); err != nil {
			t.Fatal(err)
		}
		h, _ := e.engine.Get(ctx, tc.conv)
		if h.State != StateQueued || h.Skill != tc.want {
			t.Fatalf("%s: %+v, want skill %q", tc.conv, h, tc.want)
		}
	}
	// asking again while queued changes nothing and is not an error
	if err := e.svc.Request(ctx, chat.HandoffRequest{ConvID: "s1"}); err != nil {
		t.Fatal(err)
	}
	// everyone offline: the bot keeps the customer
	if _, err := e.engine.SetAgentStatus(ctx, "r", AgentOffline); err != nil {
		t.Fatal(err)
	}
	e.conversation("s5", "", "help", "talk_to_human", 0.9)
	if err := e.svc.Request(ctx, chat.HandoffRequest{ConvID: "s5"}); err != chat.ErrNoAgents {
		t.Fatalf("%v", err)
	}
	if h, _ := e.engine.Get(ctx, "s5"); h.State != StateBot {
		t.Fatalf("%+v", h)
	}
}
