package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shopchat/shopchat/chat"
	"github.com/shopchat/shopchat/chat/chattest"
	"github.com/shopchat/shopchat/chat/handoff"
	"github.com/shopchat/shopchat/intents"
	"github.com/shopchat/shopchat/kb"
)

// testBot stands in for the dialogue, whose intent model is trained elsewhere: "human" asks for a
// person through the node's handoff, anything else gets a bot answer. Everything around it is real.
type testBot struct{ svc *handoff.Service }

func (b testBot) Understand(ctx context.Context, text string) (chat.Understanding, error) {
	if strings.Contains(strings.ToLower(text), "human") {
		return chat.Understanding{Result: intents.Result{Intent: "talk_to_human", Confidence: 0.97}}, nil
	}
	return chat.Understanding{Result: intents.Result{Intent: "order_status", Confidence: 0.9}}, nil
}

func (b testBot) Reply(ctx context.Context, t chat.Turn, out chat.Outbound) error {
	if t.NLU.Result.Intent == "talk_to_human" {
		if err := b.svc.Request(ctx, chat.HandoffRequest{ConvID: t.ConvID, CustomerID: t.CustomerID, Reason: chat.HandoffReasonCustomer,
			Intent: "talk_to_human", Confidence: t.Message.Confidence, Text: t.Message.Text}); err == nil {
			return nil
		}
	}
	_, err := out.Deliver(ctx, kb.Message{ConvID: t.ConvID, Sender: kb.SenderBot, ClientID: fmt.Sprintf("r%d", t.Message.Seq),
		Text: "Bot: your order is on its way.", Intent: t.NLU.Result.Intent})
	return err
}

var testSecret = []byte("cluster-test-secret-0123456789")

// clusterNode is one in-process `shopchat serve` node on a real socket.
type clusterNode struct {
	name   string
	node   *Node
	srv    *chat.Server
	base   string
	cancel context.CancelFunc
	done   sync.WaitGroup
}

func startClusterNode(t *testing.T, env testEnv, name string) *clusterNode {
	t.Helper()
	ctx := context.Background()
	n, err := NewNode(ctx, NodeConfig{
		Name: name, DSN: env.dsn, Schema: env.schema, NATSURL: env.nats, Prefix: env.prefix,
		Engine:     handoff.EngineConfig{ManualOnly: true},
		Auth:       handoff.AuthConfig{Password: handoff.PasswordParams{Memory: 1024, Time: 1, Threads: 1}},
		Service:    handoff.ServiceConfig{PositionInterval: 50 * time.Millisecond},
		Dispatcher: DispatcherConfig{LockRetry: 100 * time.Millisecond, Heartbeat: 200 * time.Millisecond, NodeTimeout: 2 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := chat.New(chat.Config{Messages: n.Store, Conversations: n.Store, Bus: n.Bus, Bot: testBot{svc: n.Service},
		Handoff: n.Service, Secret: testSecret, IPRate: -1, ShutdownTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	n.Attach(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	cn := &clusterNode{name: name, node: n, srv: srv, base: "http://" + ln.Addr().String(), cancel: cancel}
	cn.done.Add(2)
	go func() { defer cn.done.Done(); n.Run(rctx) }()
	go func() { defer cn.done.Done(); _ = srv.Serve(rctx, ln) }()
	t.Cleanup(cn.kill)
	return cn
}

// kill stops the node: its sockets close, its PostgreSQL session (and so the handoff lead) and NATS
// connections end.
func (cn *clusterNode) kill() {
	cn.cancel()
	cn.done.Wait()
	cn.node.Close()
}

func fromAgent(text string) func(chat.Envelope) bool {
	return func(e chat.Envelope) bool {
		return e.Type == chat.TypeMessage && chattest.Payload(e)["sender"] == kb.SenderAgent && chattest.Payload(e)["text"] == text
	}
}

// agentHTTP is an agent's browser on one node's console.
type agentHTTP struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

// consoleSocket opens the agent's console socket on a node and returns its frames.
func (a *agentHTTP) consoleSocket(base string) <-chan map[string]any {
	a.t.Helper()
	u, _ := url.Parse(base + "/console/")
	h := http.Header{}
	for _, c := range a.c.Jar.Cookies(u) {
		h.Add("Cookie", c.Name+"="+c.Value)
	}
	h.Set("Origin", base)
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/console/ws", h)
	if err != nil {
		a.t.Fatal(err)
	}
	a.t.Cleanup(func() { ws.Close() })
	ch := make(chan map[string]any, 256)
	go func() {
		defer close(ch)
		for {
			var f map[string]any
			if err := ws.ReadJSON(&f); err != nil {
				return
			}
			select {
			case ch <- f:
			default: // the test reads only what it waits for
			}
		}
	}()
	return ch
}

func waitFrame(t *testing.T, ch <-chan map[string]any, what string, ok func(map[string]any) bool) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case f, open := <-ch:
			if !open {
				t.Fatalf("console socket closed waiting for %s", what)
			}
			if ok(f) {
				return
			}
		case <-deadline:
			t.Fatalf("console: timed out waiting for %s", what)
		}
	}
}

func login(t *testing.T, base, email, password string) *agentHTTP {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	a := &agentHTTP{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
	var me struct {
		CSRF string `json:"csrf"`
	}
	if code := a.do("POST", "/console/api/login", map[string]string{"email": email, "password": password}, &me); code != 200 {
		t.Fatalf("login on %s: %d", base, code)
	}
	a.csrf = me.CSRF
	return a
}

func (a *agentHTTP) do(method, path string, body, out any) int {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.base+path, rd)
	if a.csrf != "" {
		req.Header.Set(handoff.HeaderCSRF, a.csrf)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.c.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		_ = json.Unmarshal(b, out)
	}
	if resp.StatusCode != 200 {
		a.t.Logf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode
}

// TestClusterThreeNodes is the story on three in-process nodes with real sockets, one NATS and
// one PostgreSQL: a customer on node 1 asks for a human, an agent on node 2 takes it and replies, the
// customer receives it; node 1 (the handoff leader) is killed, the customer resumes on node 3 with
// nothing lost or duplicated, and the agent keeps working.
func TestClusterThreeNodes(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	n1 := startClusterNode(t, env, "node1")
	waitFor(t, 10*time.Second, "node 1 to lead", n1.node.Dispatcher.IsLeader)
	n2 := startClusterNode(t, env, "node2")
	n3 := startClusterNode(t, env, "node3")

	// The agent account is created on node 3; the agent logs in on node 2.
	if _, err := n3.node.Auth.AddAgent(ctx, handoff.NewAgent{Email: "maya@shop.example", Name: "Maya", Role: kb.RoleAgent, Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	maya := login(t, n2.base, "maya@shop.example", "correct horse battery")
	if code := maya.do("POST", "/console/api/status", map[string]string{"status": "online"}, nil); code != 200 {
		t.Fatalf("status: %d", code)
	}
	console := maya.consoleSocket(n2.base)

	cu := chattest.NewCustomer(t)
	cu.Connect(n1.base)
	cu.Say("m1", "where is my order?")
	cu.Wait("bot answer", func(e chat.Envelope) bool {
		return e.Type == chat.TypeMessage && chattest.Payload(e)["sender"] == kb.SenderBot
	})
	cu.Say("m2", "I want to talk to a human")
	q := cu.Wait("queued", chattest.IsEvent("handoff.queued"))
	if chattest.Payload(q)["position"] != float64(1) {
		t.Fatalf("queued: %v", chattest.Payload(q))
	}
	// The agent on node 2 takes it and replies; the customer on node 1 gets both.
	if code := maya.do("POST", "/console/api/conversations/"+cu.Conv+"/claim", nil, nil); code != 200 {
		t.Fatalf("claim on node 2: %d", code)
	}
	j := cu.Wait("agent joined", chattest.IsEvent("handoff.assigned"))
	if chattest.Payload(j)["agent_name"] != "Maya" {
		t.Fatalf("joined: %v", chattest.Payload(j))
	}
	if code := maya.do("POST", "/console/api/conversations/"+cu.Conv+"/reply", map[string]string{"text": "Hi, Maya here."}, nil); code != 200 {
		t.Fatalf("reply: %d", code)
	}
	cu.Wait("agent reply", fromAgent("Hi, Maya here."))
	// The login made on node 2 is valid on node 3 (the session is in PostgreSQL), and node 3 sees the
	// assignment made through node 2.
	var mine struct {
		Mine []handoff.Handoff `json:"mine"`
	}
	if code := (&agentHTTP{t: t, base: n3.base, c: maya.c, csrf: maya.csrf}).do("GET", "/console/api/mine", nil, &mine); code != 200 {
		t.Fatalf("session made on node 2, used on node 3: %d", code)
	}
	if len(mine.Mine) != 1 || mine.Mine[0].ConvID != cu.Conv {
		t.Fatalf("node 3 sees Maya's conversations as %+v", mine.Mine)
	}

	// Node 1 dies. The agent replies while the customer is away.
	n1.kill()
	waitFor(t, 15*time.Second, "a new handoff leader", func() bool { return n2.node.Dispatcher.IsLeader() || n3.node.Dispatcher.IsLeader() })
	if code := maya.do("POST", "/console/api/conversations/"+cu.Conv+"/reply", map[string]string{"text": "Your parcel left our warehouse."}, nil); code != 200 {
		t.Fatalf("reply after node 1 died: %d", code)
	}

	// The customer resumes on node 3 and gets what it missed, once.
	w := cu.Connect(n3.base)
	if chattest.Payload(w)["resumed"] != true || w.Conv == "" {
		t.Fatalf("resume on node 3: %v", chattest.Payload(w))
	}
	cu.Wait("missed agent reply", fromAgent("Your parcel left our warehouse."))
	// A message resent after the reconnect is stored once.
	cu.Say("m2", "I want to talk to a human")
	a := cu.Wait("ack of the resent message", func(e chat.Envelope) bool { return e.Type == chat.TypeAck && e.ID == "m2" })
	if chattest.Payload(a)["duplicate"] != true {
		t.Fatalf("resent message not recognised: %v", chattest.Payload(a))
	}
	// The conversation is still Maya's: the bot stays silent, Maya answers from node 2.
	cu.Say("m3", "thanks! when will it arrive?")
	cu.Wait("ack", func(e chat.Envelope) bool { return e.Type == chat.TypeAck && e.ID == "m3" })
	waitFrame(t, console, "the customer's message from node 3 on Maya's console on node 2", func(f map[string]any) bool {
		m, _ := f["message"].(map[string]any)
		return f["type"] == "message" && m != nil && m["text"] == "thanks! when will it arrive?"
	})
	if code := maya.do("POST", "/console/api/conversations/"+cu.Conv+"/reply", map[string]string{"text": "Tomorrow before noon."}, nil); code != 200 {
		t.Fatalf("reply after failover: %d", code)
	}
	cu.Wait("agent reply after failover", fromAgent("Tomorrow before noon."))
	if code := maya.do("POST", "/console/api/conversations/"+cu.Conv+"/resolve", nil, nil); code != 200 {
		t.Fatalf("resolve after failover: %d", code)
	}
	cu.Wait("resolved", chattest.IsEvent("handoff.resolved"))

	// Nothing lost, nothing duplicated: the customer saw every stored seq exactly once.
	stored, err := n2.node.Store.MessagesAfter(ctx, cu.Conv, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the customer to see every stored message", func() bool {
		return cu.MaxSeen() >= stored[len(stored)-1].Seq
	})
	for i, m := range stored {
		if m.Seq != int64(i+1) {
			t.Fatalf("stored seqs have a gap at %d: %d", i+1, m.Seq)
		}
		if m.Sender == kb.SenderBot && m.Seq > 4 {
			t.Fatalf("bot answered while the agent had the conversation: %+v", m)
		}
		if m.Type == "note" {
			continue
		}
		if n := cu.Seen(m.Seq); n != 1 {
			t.Fatalf("seq %d (%s %q) reached the customer %d times", m.Seq, m.Sender, m.Text, n)
		}
	}
	joined := 0
	for _, m := range stored {
		if strings.Contains(m.Text, "joined the conversation") {
			joined++
		}
	}
	if joined != 1 {
		t.Fatalf("%d 'joined' notices, want 1 (failover must not repeat them)", joined)
	}
}
