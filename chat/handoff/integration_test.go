package handoff

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopchat/shopchat/chat"
	"github.com/shopchat/shopchat/chat/chattest"
	"github.com/shopchat/shopchat/intents"
	"github.com/shopchat/shopchat/kb"
)

// scriptBot stands in for the dialogue (built in another part): "human"/"person"/"agent" asks for a
// person through the handoff, anything else gets "Bot: " and an answer about orders.
type scriptBot struct {
	h *Service
}

func (b scriptBot) Understand(ctx context.Context, text string) (chat.Understanding, error) {
	t := strings.ToLower(text)
	if strings.Contains(t, "human") || strings.Contains(t, "person") || strings.Contains(t, "agent") {
		return chat.Understanding{Result: intents.Result{Intent: "talk_to_human", Confidence: 0.96}}, nil
	}
	return chat.Understanding{Result: intents.Result{Intent: "order_status", Confidence: 0.88}}, nil
}

func (b scriptBot) Reply(ctx context.Context, t chat.Turn, out chat.Outbound) error {
	text := "Bot: your order A10023 is on its way and should arrive tomorrow."
	if t.NLU.Result.Intent == "talk_to_human" {
		err := b.h.Request(ctx, chat.HandoffRequest{ConvID: t.ConvID, CustomerID: t.CustomerID, Reason: chat.HandoffReasonCustomer,
			Intent: "talk_to_human", Confidence: t.Message.Confidence, Text: t.Message.Text})
		if err == nil {
			return nil
		}
		text = "Bot: sorry, nobody is available right now."
	}
	_, err := out.Deliver(ctx, kb.Message{ConvID: t.ConvID, Sender: kb.SenderBot, ClientID: fmt.Sprintf("r%d.0", t.Message.Seq),
		Text: text, Intent: t.NLU.Result.Intent, Confidence: t.NLU.Result.Confidence})
	return err
}

// stack is the whole server: kb store, engine, service, chat server, on a real socket.
type stack struct {
	store  *kb.Store
	engine *Engine
	auth   *Auth
	svc    *Service
	srv    *chat.Server
	base   string // http://127.0.0.1:port
	agents map[string]kb.Agent
}

func startStack(t testing.TB, ecfg EngineConfig) *stack {
	t.Helper()
	store := openStore(t)
	engine, err := NewEngine(ecfg)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := NewAuth(AuthConfig{Store: store, Password: testParams})
	if err != nil {
		t.Fatal(err)
	}
	bus := chat.NewMemoryBus()
	svc, err := NewService(ServiceConfig{Engine: engine, Store: store, Auth: auth, Bus: bus, PositionInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := chat.New(chat.Config{Messages: store, Conversations: store, Bus: bus, Bot: scriptBot{h: svc}, Handoff: svc,
		Secret: []byte("0123456789abcdef0123"), IPRate: -1})
	if err != nil {
		t.Fatal(err)
	}
	svc.SetOutbound(srv)
	srv.Handle("/console/", svc.Handler())
	p := NewPersister(store, nil)
	engine.Observe(p)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(4)
	go func() { defer wg.Done(); svc.Run(ctx) }()
	go func() { defer wg.Done(); p.Run(ctx) }()
	go func() { defer wg.Done(); engine.Run(ctx, 100*time.Millisecond) }()
	go func() { defer wg.Done(); _ = srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	s := &stack{store: store, engine: engine, auth: auth, svc: svc, srv: srv, base: "http://" + ln.Addr().String(), agents: map[string]kb.Agent{}}
	for _, a := range []struct{ email, name, role string }{{"maya@shop.example", "Maya", "agent"}, {"root@shop.example", "Root", "admin"}} {
		ag, err := auth.AddAgent(ctx, NewAgent{Email: a.email, Name: a.name, Role: a.role, Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		s.agents[a.name] = ag
	}
	return s
}

// customer connects a widget-like client to the stack's customer socket.
func (s *stack) customer(t testing.TB) *chattest.Customer {
	t.Helper()
	c := chattest.NewCustomer(t)
	c.Connect(s.base)
	return c
}

func (s *stack) agentLogin(t *testing.T, name string) *agentClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	ac := &agentClient{t: t, base: s.base, c: &http.Client{Jar: jar}, id: s.agents[name].ID}
	var me meResp
	if code := ac.do("POST", "/console/api/login", map[string]string{"email": strings.ToLower(name) + "@shop.example", "password": "correct horse battery"}, &me); code != 200 {
		t.Fatalf("login: %d", code)
	}
	ac.csrf = me.CSRF
	return ac
}

// TestHandoffOverRealSockets runs the whole story on the real chat server: the customer asks for a
// person, waits in the queue with a position, the agent takes it from the console, types and replies,
// returns it to the bot, and the bot answers the next question; then the CSAT path after a resolve.
func TestHandoffOverRealSockets(t *testing.T) {
	s := startStack(t, EngineConfig{ManualOnly: true})
	maya := s.agentLogin(t, "Maya")
	ws := maya.socket()
	ws.wait(t, "hello", func(f frame) bool { return f.Type == "hello" })

	cu := s.customer(t)
	cu.Say("m1", "Where is my order?")
	cu.Wait("bot answer", func(e chat.Envelope) bool {
		return e.Type == chat.TypeMessage && chattest.Payload(e)["sender"] == "bot"
	})
	cu.Say("m2", "I want to talk to a human")
	q := cu.Wait("queued", chattest.IsEvent("handoff.queued"))
	if p := chattest.Payload(q); p["position"] != float64(1) {
		t.Fatalf("queued %v", p)
	}
	ws.wait(t, "queue shows the customer", func(f frame) bool {
		return f.Type == "queue" && len(f.Queue) == 1 && f.Queue[0].ConvID == cu.Conv
	})
	// while queued the bot stays silent
	cu.Say("m3", "hello?")
	// the agent takes it
	var res struct{ Handoff Handoff }
	if code := maya.do("POST", "/console/api/conversations/"+cu.Conv+"/claim", nil, &res); code != 200 {
		t.Fatalf("claim %d", code)
	}
	j := cu.Wait("agent joined", chattest.IsEvent("handoff.assigned"))
	if chattest.Payload(j)["agent_name"] != "Maya" {
		t.Fatalf("joined %v", chattest.Payload(j))
	}
	// transcript shows what the bot understood
	var tr transcript
	maya.do("GET", "/console/api/conversations/"+cu.Conv, nil, &tr)
	found := false
	for _, m := range tr.Messages {
		if m.Sender == kb.SenderCustomer && m.Text == "I want to talk to a human" && m.Intent == "talk_to_human" && m.Confidence > 0.9 {
			found = true
		}
		if m.Sender == kb.SenderBot && strings.Contains(m.Text, "hello?") {
			t.Fatal("bot answered while queued")
		}
	}
	if !found {
		t.Fatalf("transcript %+v", tr.Messages)
	}
	// typing, then the reply
	_ = ws.conn.WriteJSON(inFrame{Type: "typing", Conv: cu.Conv, Typing: true})
	cu.Wait("agent typing", func(e chat.Envelope) bool {
		return e.Type == chat.TypeTyping && chattest.Payload(e)["sender"] == "agent" && chattest.Payload(e)["state"] == true
	})
	if code := maya.do("POST", "/console/api/conversations/"+cu.Conv+"/reply", map[string]string{"text": "Hi, Maya here. Let me check."}, nil); code != 200 {
		t.Fatal(code)
	}
	r := cu.Wait("agent reply", func(e chat.Envelope) bool {
		return e.Type == chat.TypeMessage && chattest.Payload(e)["sender"] == "agent"
	})
	if chattest.Payload(r)["text"] != "Hi, Maya here. Let me check." || chattest.Payload(r)["agent_name"] != "Maya" {
		t.Fatalf("reply %v", chattest.Payload(r))
	}
	// the customer's answer reaches the console with its NLU
	cu.Say("m4", "thanks, it's order A10023")
	ws.wait(t, "customer message on the console", func(f frame) bool {
		return f.Type == "message" && f.Message.Sender == kb.SenderCustomer && f.Message.Text == "thanks, it's order A10023" && f.Message.Intent != ""
	})
	// back to the bot, which answers the next question
	if code := maya.do("POST", "/console/api/conversations/"+cu.Conv+"/return", nil, nil); code != 200 {
		t.Fatal(code)
	}
	cu.Wait("returned", chattest.IsEvent("handoff.returned"))
	cu.Say("m5", "when will it arrive?")
	cu.Wait("bot answers again", func(e chat.Envelope) bool {
		return e.Type == chat.TypeMessage && chattest.Payload(e)["sender"] == "bot" && strings.Contains(fmt.Sprint(chattest.Payload(e)["text"]), "arrive tomorrow")
	})

	// a second handoff, resolved, then rated over the socket
	cu.Say("m6", "actually, a person please")
	cu.Wait("queued again", chattest.IsEvent("handoff.queued"))
	if code := maya.do("POST", "/console/api/conversations/"+cu.Conv+"/claim", nil, nil); code != 200 {
		t.Fatal(code)
	}
	cu.Wait("joined again", chattest.IsEvent("handoff.assigned"))
	maya.do("POST", "/console/api/conversations/"+cu.Conv+"/reply", map[string]string{"text": "Done: refund issued."}, nil)
	if code := maya.do("POST", "/console/api/conversations/"+cu.Conv+"/resolve", nil, nil); code != 200 {
		t.Fatal(code)
	}
	cu.Wait("csat question", chattest.IsEvent("csat.request"))
	_ = cu.WS.WriteJSON(chat.Envelope{V: 1, Type: "csat", ID: "r1", Conv: cu.Conv, Payload: json.RawMessage(`{"rating":4,"comment":"fast"}`)})
	_ = cu.WS.WriteJSON(chat.Envelope{V: 1, Type: "csat", ID: "r2", Conv: cu.Conv, Payload: json.RawMessage(`{"rating":5}`)})
	e := cu.Wait("second rating refused", func(e chat.Envelope) bool { return e.Type == chat.TypeError })
	if chattest.Payload(e)["code"] != chat.CodeBadRequest || !strings.Contains(fmt.Sprint(chattest.Payload(e)["message"]), "already rated") {
		t.Fatalf("%v", chattest.Payload(e))
	}
}

// TestQueuePositionsReachCustomers: three customers wait; when the first is taken the others are told
// their new positions on their sockets.
func TestQueuePositionsReachCustomers(t *testing.T) {
	s := startStack(t, EngineConfig{ManualOnly: true})
	maya := s.agentLogin(t, "Maya")
	maya.do("POST", "/console/api/status", map[string]string{"status": "online"}, nil)
	var cs []*chattest.Customer
	for i := 0; i < 3; i++ {
		c := s.customer(t)
		c.Say("h", "a human please")
		p := c.Wait("queued", chattest.IsEvent("handoff.queued"))
		if chattest.Payload(p)["position"] != float64(i+1) {
			t.Fatalf("customer %d position %v", i, chattest.Payload(p))
		}
		cs = append(cs, c)
	}
	if code := maya.do("POST", "/console/api/conversations/"+cs[0].Conv+"/claim", nil, nil); code != 200 {
		t.Fatal(code)
	}
	for i, c := range cs[1:] {
		p := c.Wait("new position", chattest.IsEvent("handoff.position"))
		if chattest.Payload(p)["position"] != float64(i+1) {
			t.Fatalf("customer %d now %v", i+1, chattest.Payload(p))
		}
	}
}

// BenchmarkHandoffToAgentJoined measures, over the real chat server and store, the time from the
// customer's "a human please" leaving the customer socket to the "agent joined" notice arriving on it,
// with a free agent online (auto-assignment). Reports p50 and p99 in milliseconds.
func BenchmarkHandoffToAgentJoined(b *testing.B) {
	s := startStack(b, EngineConfig{AnswerTimeout: -1})
	ctx := context.Background()
	if _, err := s.engine.SetAgent(ctx, AgentInfo{ID: s.agents["Maya"].ID, Name: "Maya", Status: AgentOnline, MaxConcurrent: 1000000}); err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		cu := s.customer(b)
		b.StartTimer()
		start := time.Now()
		cu.Say("h", "a human please")
		cu.Wait("agent joined", chattest.IsEvent("handoff.assigned"))
		lat = append(lat, time.Since(start))
		b.StopTimer()
		cu.WS.Close()
		b.StartTimer()
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99_ms")
}
