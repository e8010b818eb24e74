package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shopchat/shopchat/intents"
	"github.com/shopchat/shopchat/kb"
)

// echoBot answers every message with "you said: TEXT".
type echoBot struct{}

func (echoBot) Understand(ctx context.Context, text string) (Understanding, error) {
	return Understanding{Result: intents.Result{Intent: "echo", Confidence: 0.9}}, nil
}

func (echoBot) Reply(ctx context.Context, t Turn, out Outbound) error {
	_, err := out.Deliver(ctx, kb.Message{ConvID: t.ConvID, Sender: kb.SenderBot, ClientID: fmt.Sprintf("r%d.0", t.Message.Seq),
		Text: "you said: " + t.Message.Text, Intent: t.Message.Intent, Confidence: t.Message.Confidence})
	return err
}

type testServer struct {
	srv   *Server
	store *kb.Store
	url   string
	base  string
}

func startChat(t *testing.T, mod func(*Config)) *testServer {
	t.Helper()
	st, err := kb.Open(context.Background(), kb.Config{Path: filepath.Join(t.TempDir(), "chat.db"), Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := Config{Messages: st, Conversations: st, Bot: echoBot{}, Secret: []byte("0123456789abcdef0123"),
		CustomerSecret: []byte("shop-secret"), AllowedOrigins: []string{"https://shop.example"}}
	if mod != nil {
		mod(&cfg)
	}
	ts := startChatWith(t, cfg)
	ts.store = st
	return ts
}

type client struct {
	t  *testing.T
	ws *websocket.Conn
}

func (ts *testServer) dial(t *testing.T, hdr http.Header) *client {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(ts.url, hdr)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	t.Cleanup(func() { ws.Close() })
	return &client{t: t, ws: ws}
}

func (c *client) sendRaw(s string) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) send(env Envelope) {
	c.t.Helper()
	b, _ := json.Marshal(env)
	c.sendRaw(string(b))
}

func (c *client) read() Envelope {
	c.t.Helper()
	env, err := c.tryRead(5 * time.Second)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return env
}

func (c *client) tryRead(d time.Duration) (Envelope, error) {
	_ = c.ws.SetReadDeadline(time.Now().Add(d))
	_, b, err := c.ws.ReadMessage()
	if err != nil {
		return Envelope{}, err
	}
	var env Envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return Envelope{}, fmt.Errorf("server sent non-JSON %q", b)
	}
	return env, nil
}

// readType reads frames until one of type typ, failing on anything but typing frames in between.
func (c *client) readType(typ string) Envelope {
	c.t.Helper()
	for {
		env := c.read()
		if env.Type == typ {
			return env
		}
		if env.Type != TypeTyping {
			c.t.Fatalf("want %s, got %s %s", typ, env.Type, env.Payload)
		}
	}
}

// expectNothingPending checks that the next frame is the answer to a history probe (a read timeout
// would break a gorilla connection, so we probe instead of waiting).
func (c *client) expectNothingPending() {
	c.t.Helper()
	c.sendRaw(`{"v":1,"type":"history","id":"probe","payload":{"limit":1}}`)
	for {
		env := c.read()
		if env.Type == TypeHistory && env.ID == "probe" {
			return
		}
		if env.Type != TypeTyping {
			c.t.Fatalf("unexpected frame %s seq %d %s", env.Type, env.Seq, env.Payload)
		}
	}
}

func payloadMap(env Envelope) map[string]any {
	var m map[string]any
	_ = json.Unmarshal(env.Payload, &m)
	return m
}

func (c *client) hello(payload string) (conv, token string) {
	c.t.Helper()
	if payload == "" {
		c.sendRaw(`{"v":1,"type":"hello"}`)
	} else {
		c.sendRaw(`{"v":1,"type":"hello","payload":` + payload + `}`)
	}
	w := c.readType(TypeWelcome)
	p := payloadMap(w)
	tok, _ := p["token"].(string)
	if w.Conv == "" || tok == "" {
		c.t.Fatalf("welcome without conv or token: %+v", w)
	}
	return w.Conv, tok
}

func TestMinimalExchange(t *testing.T) {
	ts := startChat(t, nil)
	c := ts.dial(t, nil)
	c.sendRaw(`{"v":1,"type":"hello"}`)
	w := c.read()
	if w.Type != TypeWelcome || w.Conv == "" || payloadMap(w)["token"] == "" {
		t.Fatalf("welcome: %+v %s", w, w.Payload)
	}
	c.sendRaw(`{"v":1,"type":"message","id":"c1","payload":{"text":"where is my order?"}}`)
	ack := c.read()
	if ack.Type != TypeAck || ack.ID != "c1" || ack.Seq != 1 {
		t.Fatalf("want ack for c1 with seq 1, got %+v", ack)
	}
	msg := c.readType(TypeMessage)
	p := payloadMap(msg)
	if p["text"] != "you said: where is my order?" || p["sender"] != "bot" || msg.Seq != 2 {
		t.Fatalf("bot message: %+v %s", msg, msg.Payload)
	}
	// The customer message is stored with what the bot understood.
	stored, _ := ts.store.MessagesAfter(context.Background(), w.Conv, 0, 10)
	if len(stored) != 2 || stored[0].Intent != "echo" || stored[1].Intent != "echo" || stored[0].ClientID != "c1" {
		t.Fatalf("stored %+v", stored)
	}
}

func TestInboundDeduplicated(t *testing.T) {
	ts := startChat(t, nil)
	c := ts.dial(t, nil)
	conv, _ := c.hello("")
	c.sendRaw(`{"v":1,"type":"message","id":"c1","payload":{"text":"hi"}}`)
	a1 := c.readType(TypeAck)
	c.readType(TypeMessage)
	c.sendRaw(`{"v":1,"type":"message","id":"c1","payload":{"text":"hi"}}`)
	a2 := c.readType(TypeAck)
	if a2.Seq != a1.Seq || payloadMap(a2)["duplicate"] != true {
		t.Fatalf("resend: %+v %s (first %+v)", a2, a2.Payload, a1)
	}
	time.Sleep(100 * time.Millisecond)
	c.expectNothingPending()
	msgs, _ := ts.store.MessagesAfter(context.Background(), conv, 0, 100)
	if len(msgs) != 2 {
		t.Fatalf("want 2 stored messages, got %d", len(msgs))
	}
}

func TestResumeReplaysExactlyWhatWasMissed(t *testing.T) {
	ts := startChat(t, nil)
	ctx := context.Background()
	c := ts.dial(t, nil)
	conv, tok := c.hello("")
	c.sendRaw(`{"v":1,"type":"message","id":"c1","payload":{"text":"one"}}`)
	c.readType(TypeAck)
	last := c.readType(TypeMessage).Seq // 2
	c.ws.Close()
	// While the customer is away: a bot message, an internal note and an agent message.
	for i, m := range []kb.Message{
		{Sender: kb.SenderAgent, AgentID: "a1", Text: "Hello, Maya here", Payload: json.RawMessage(`{"agent_name":"Maya"}`)},
		{Sender: kb.SenderAgent, Type: "note", Text: "VIP customer"},
		{Sender: kb.SenderSystem, Type: "event", Text: "Maya joined", Payload: json.RawMessage(`{"event":"handoff.assigned"}`)},
	} {
		m.ConvID = conv
		if _, err := ts.srv.Deliver(ctx, m); err != nil {
			t.Fatal(i, err)
		}
	}
	c2 := ts.dial(t, nil)
	c2.sendRaw(fmt.Sprintf(`{"v":1,"type":"resume","payload":{"token":%q,"last_seq":%d}}`, tok, last))
	w := c2.readType(TypeWelcome)
	if w.Conv != conv || payloadMap(w)["resumed"] != true {
		t.Fatalf("welcome %+v %s", w, w.Payload)
	}
	m1 := c2.read()
	m2 := c2.read()
	if m1.Seq != 3 || m1.Type != TypeMessage || payloadMap(m1)["agent_name"] != "Maya" || m2.Seq != 5 || m2.Type != TypeEvent {
		t.Fatalf("replay: %+v %s / %+v %s", m1, m1.Payload, m2, m2.Payload)
	}
	c2.expectNothingPending()
	// Live delivery continues after the replay, without duplicates.
	if _, err := ts.srv.Deliver(ctx, kb.Message{ConvID: conv, Sender: kb.SenderAgent, Text: "anything else?"}); err != nil {
		t.Fatal(err)
	}
	if m := c2.read(); m.Seq != 6 {
		t.Fatalf("live after replay: %+v", m)
	}
}

func TestResumeUnderConcurrentDelivery(t *testing.T) {
	ts := startChat(t, nil)
	ctx := context.Background()
	c := ts.dial(t, nil)
	conv, tok := c.hello("")
	c.ws.Close()
	const n = 300
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < n; i++ {
			if _, err := ts.srv.Deliver(ctx, kb.Message{ConvID: conv, Sender: kb.SenderAgent, Text: fmt.Sprint(i)}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	time.Sleep(2 * time.Millisecond)
	c2 := ts.dial(t, nil)
	c2.sendRaw(fmt.Sprintf(`{"v":1,"type":"hello","payload":{"token":%q,"last_seq":0}}`, tok))
	c2.readType(TypeWelcome)
	for want := int64(1); want <= n; want++ {
		m := c2.read()
		if m.Seq != want {
			t.Fatalf("got seq %d, want %d", m.Seq, want)
		}
	}
	wg.Wait()
}

func TestBadInputGetsErrorFrames(t *testing.T) {
	ts := startChat(t, func(c *Config) { c.MaxFrameBytes = 1024 })
	expired := ts.srv.tokens.sign(sessionClaims{Conv: "conv1", Expires: time.Now().Add(-time.Minute).Unix()})
	forged := tokenSigner{key: []byte("another-secret-0123")}.sign(sessionClaims{Conv: "conv1", Expires: time.Now().Add(time.Hour).Unix()})
	tests := []struct {
		name      string
		hello     bool
		frame     string
		binary    bool
		wantCode  string
		wantClose int
	}{
		{"malformed json", false, `{"v":1,"type":`, false, CodeBadJSON, 0},
		{"not an object", false, `[1,2]`, false, CodeBadJSON, 0},
		{"trailing data", false, `{"v":1,"type":"hello"} {}`, false, CodeBadJSON, 0},
		{"wrong version", false, `{"v":2,"type":"hello"}`, false, CodeBadVersion, 0},
		{"no version", false, `{"type":"hello"}`, false, CodeBadVersion, 0},
		{"unknown type", true, `{"v":1,"type":"launch_missiles"}`, false, CodeUnknownType, 0},
		{"invalid utf-8", true, "{\"v\":1,\"type\":\"message\",\"id\":\"x\",\"payload\":{\"text\":\"\xff\xfe\"}}", false, CodeBadUTF8, 0},
		{"message before hello", false, `{"v":1,"type":"message","id":"c1","payload":{"text":"hi"}}`, false, CodeHelloRequired, 0},
		{"message without id", true, `{"v":1,"type":"message","payload":{"text":"hi"}}`, false, CodeBadRequest, 0},
		{"empty text", true, `{"v":1,"type":"message","id":"c1","payload":{"text":"  "}}`, false, CodeBadRequest, 0},
		{"payload not object", true, `{"v":1,"type":"message","id":"c1","payload":"hi"}`, false, CodeBadRequest, 0},
		{"text wrong type", true, `{"v":1,"type":"message","id":"c1","payload":{"text":5}}`, false, CodeBadRequest, 0},
		{"forged token", false, fmt.Sprintf(`{"v":1,"type":"hello","payload":{"token":%q}}`, forged), false, CodeBadToken, 0},
		{"garbage token", false, `{"v":1,"type":"hello","payload":{"token":"abc.def"}}`, false, CodeBadToken, 0},
		{"expired token", false, fmt.Sprintf(`{"v":1,"type":"hello","payload":{"token":%q}}`, expired), false, CodeTokenExpired, 0},
		{"forged identity", false, `{"v":1,"type":"hello","payload":{"customer":"v1.cust1.9999999999.00ff"}}`, false, CodeBadIdentity, 0},
		{"binary frame", true, `{"v":1,"type":"hello"}`, true, CodeBadRequest, 0},
		{"oversized frame", true, `{"v":1,"type":"message","id":"c1","payload":{"text":"` + strings.Repeat("a", 2000) + `"}}`, false, CodeTooLarge, websocket.CloseMessageTooBig},
	}
	// A bystander conversation must not be affected by any of it.
	by := ts.dial(t, nil)
	by.hello("")
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ts.dial(t, nil)
			if tt.hello {
				c.hello("")
			}
			mt := websocket.TextMessage
			if tt.binary {
				mt = websocket.BinaryMessage
			}
			if err := c.ws.WriteMessage(mt, []byte(tt.frame)); err != nil {
				t.Fatal(err)
			}
			env := c.read()
			p := payloadMap(env)
			if env.Type != TypeError || p["code"] != tt.wantCode || p["message"] == "" {
				t.Fatalf("want error %s, got %+v %s", tt.wantCode, env, env.Payload)
			}
			if tt.wantClose != 0 {
				_, err := c.tryRead(2 * time.Second)
				if !websocket.IsCloseError(err, tt.wantClose) {
					t.Fatalf("want close %d, got %v", tt.wantClose, err)
				}
				return
			}
			// The socket still works after the error.
			c.sendRaw(`{"v":1,"type":"hello"}`)
			if env := c.read(); env.Type != TypeWelcome && !(tt.hello && env.Type == TypeError) {
				t.Fatalf("socket unusable after error: %+v", env)
			}
			by.send(Envelope{V: 1, Type: TypeMessage, ID: fmt.Sprint("b", i), Payload: json.RawMessage(`{"text":"still there?"}`)})
			if a := by.readType(TypeAck); a.ID != fmt.Sprint("b", i) {
				t.Fatalf("bystander ack %+v", a)
			}
			by.readType(TypeMessage)
		})
	}
}

func TestFloodIsRateLimited(t *testing.T) {
	ts := startChat(t, func(c *Config) { c.ConnRate = 2; c.ConnBurst = 3; c.IPRate = -1 })
	c := ts.dial(t, nil)
	c.hello("")
	for i := 0; i < 8; i++ {
		c.send(Envelope{V: 1, Type: TypeTyping, Payload: json.RawMessage(`{"state":true}`)})
	}
	var limited map[string]any
	for i := 0; i < 8 && limited == nil; i++ {
		env := c.read()
		if env.Type == TypeError {
			limited = payloadMap(env)
		}
	}
	if limited == nil || limited["code"] != CodeRateLimited || limited["retryable"] != true || limited["retry_after_ms"] == nil {
		t.Fatalf("want a retryable rate_limited error, got %v", limited)
	}
	// A sustained flood closes the socket with a policy violation.
	for i := 0; i < 200; i++ {
		if err := c.ws.WriteMessage(websocket.TextMessage, []byte(`{"v":1,"type":"typing","payload":{"state":true}}`)); err != nil {
			break
		}
	}
	for {
		_, err := c.tryRead(3 * time.Second)
		if err != nil {
			if !websocket.IsCloseError(err, websocket.ClosePolicyViolation) {
				t.Fatalf("want policy close, got %v", err)
			}
			break
		}
	}
	// Another client is unaffected by that socket's limit.
	c2 := ts.dial(t, nil)
	c2.hello("")
}

func TestPerIPMessageLimit(t *testing.T) {
	ts := startChat(t, func(c *Config) { c.IPRate = 1; c.IPBurst = 4 })
	c := ts.dial(t, nil)
	c.hello("")
	gotLimited := false
	for i := 0; i < 6; i++ {
		c.send(Envelope{V: 1, Type: TypeMessage, ID: fmt.Sprint("m", i), Payload: json.RawMessage(`{"text":"hi"}`)})
	}
	for i := 0; i < 12 && !gotLimited; i++ {
		env, err := c.tryRead(2 * time.Second)
		if err != nil {
			break
		}
		if env.Type == TypeError && payloadMap(env)["code"] == CodeRateLimited {
			gotLimited = true
		}
	}
	if !gotLimited {
		t.Fatal("per-IP limit did not answer with rate_limited")
	}
}

func TestOriginAllowList(t *testing.T) {
	ts := startChat(t, nil)
	host := strings.TrimPrefix(ts.base, "http://")
	tests := []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{"https://shop.example", true},
		{"HTTPS://SHOP.EXAMPLE", true},
		{"http://" + host, true},
		{"https://evil.example", false},
		{"https://shop.example.evil.example", false},
		{"null", false},
	}
	for _, tt := range tests {
		hdr := http.Header{}
		if tt.origin != "" {
			hdr.Set("Origin", tt.origin)
		}
		ws, resp, err := websocket.DefaultDialer.Dial(ts.url, hdr)
		if tt.ok != (err == nil) {
			t.Fatalf("origin %q: err %v", tt.origin, err)
		}
		if err == nil {
			ws.Close()
		} else if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("origin %q: status %d", tt.origin, resp.StatusCode)
		}
	}
	if _, err := New(Config{AllowedOrigins: []string{"*"}}); err == nil {
		t.Fatal("a wildcard origin was accepted")
	}
}

func TestSlowConsumerDroppedThenResumes(t *testing.T) {
	ts := startChat(t, func(c *Config) { c.SendQueue = 4; c.WriteWait = 500 * time.Millisecond })
	ctx := context.Background()
	// A raw TCP client that handshakes and then never reads.
	c := ts.dial(t, nil)
	conv, tok := c.hello("")
	big := strings.Repeat("x", 16000)
	for i := 0; i < 600; i++ {
		if _, err := ts.srv.Deliver(ctx, kb.Message{ConvID: conv, Sender: kb.SenderAgent, Text: big}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for ts.srv.hub.count(conv) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if ts.srv.hub.count(conv) != 0 {
		t.Fatal("slow consumer still registered")
	}
	c2 := ts.dial(t, nil)
	c2.sendRaw(fmt.Sprintf(`{"v":1,"type":"resume","payload":{"token":%q,"last_seq":0}}`, tok))
	c2.readType(TypeWelcome)
	for want := int64(1); want <= 600; want++ {
		if m := c2.read(); m.Seq != want {
			t.Fatalf("seq %d, want %d", m.Seq, want)
		}
	}
}

func TestHistoryPages(t *testing.T) {
	ts := startChat(t, nil)
	ctx := context.Background()
	c := ts.dial(t, nil)
	conv, _ := c.hello("")
	for i := 1; i <= 25; i++ {
		typ := "message"
		if i == 10 {
			typ = "note"
		}
		if _, err := ts.srv.Deliver(ctx, kb.Message{ConvID: conv, Sender: kb.SenderAgent, Type: typ, Text: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for seen := 0; seen < 24; {
		env, _ := c.tryRead(2 * time.Second)
		if env.Type == TypeMessage {
			seen++
		}
	}
	c.sendRaw(`{"v":1,"type":"history","id":"h1","payload":{"limit":10}}`)
	h := c.readType(TypeHistory)
	var page struct {
		Messages []Envelope `json:"messages"`
		HasMore  bool       `json:"has_more"`
	}
	_ = json.Unmarshal(h.Payload, &page)
	if h.ID != "h1" || len(page.Messages) != 10 || page.Messages[0].Seq != 16 || !page.HasMore {
		t.Fatalf("page 1: %+v", page)
	}
	c.sendRaw(`{"v":1,"type":"history","id":"h2","payload":{"before":16,"limit":10}}`)
	_ = json.Unmarshal(c.readType(TypeHistory).Payload, &page)
	if len(page.Messages) != 9 || page.Messages[0].Seq != 6 { // seq 10 is an internal note
		t.Fatalf("page 2: %d msgs from %d", len(page.Messages), page.Messages[0].Seq)
	}
}

func TestCustomerIdentity(t *testing.T) {
	ts := startChat(t, nil)
	secret := []byte("shop-secret")
	exp := time.Now().Add(time.Hour)
	for _, id := range []string{SignIdentity("cust-7", exp, secret), SignJWT("cust-7", exp, secret)} {
		c := ts.dial(t, nil)
		c.send(Envelope{V: 1, Type: TypeHello, Payload: json.RawMessage(fmt.Sprintf(`{"customer":%q}`, id))})
		w := c.readType(TypeWelcome)
		if payloadMap(w)["customer"] != "cust-7" {
			t.Fatalf("welcome %s", w.Payload)
		}
		cv, _ := ts.store.Conversation(context.Background(), w.Conv)
		if cv.CustomerID != "cust-7" {
			t.Fatalf("conversation customer %q", cv.CustomerID)
		}
		// The resume token carries the verified identity.
		c2 := ts.dial(t, nil)
		c2.send(Envelope{V: 1, Type: TypeResume, Payload: json.RawMessage(fmt.Sprintf(`{"token":%q}`, payloadMap(w)["token"]))})
		if w2 := c2.readType(TypeWelcome); payloadMap(w2)["customer"] != "cust-7" || w2.Conv != w.Conv {
			t.Fatalf("resumed welcome %s", w2.Payload)
		}
	}
	for _, bad := range []string{
		SignIdentity("cust-7", time.Now().Add(-time.Minute), secret),
		SignJWT("cust-7", exp, []byte("wrong")),
		"eyJhbGciOiJub25lIn0.eyJzdWIiOiJjdXN0LTciLCJleHAiOjk5OTk5OTk5OTl9.",
	} {
		if _, err := VerifyIdentity(bad, secret, time.Now()); err == nil {
			t.Fatalf("accepted %q", bad)
		}
	}
}

func TestMetricsEndpoint(t *testing.T) {
	ts := startChat(t, nil)
	c := ts.dial(t, nil)
	c.hello("")
	c.sendRaw(`{"v":1,"type":"message","id":"c1","payload":{"text":"hi"}}`)
	c.readType(TypeAck)
	c.readType(TypeMessage)
	resp, err := http.Get(ts.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{"shopchat_connections 1", `shopchat_messages_in_total{type="message"} 1`,
		`shopchat_messages_out_total{sender="bot"} 1`, "shopchat_reply_latency_seconds_count 1", "process_resident_memory_bytes"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// slowBot is echoBot after a pause.
type slowBot struct {
	echoBot
	pause time.Duration
}

func (b slowBot) Reply(ctx context.Context, t Turn, out Outbound) error {
	time.Sleep(b.pause)
	return b.echoBot.Reply(ctx, t, out)
}

// TestBotTypingOnlyWhenSlow: a quick answer comes without a typing frame; a slow one is preceded by
// typing on and followed by typing off; with a negative TypingDelay typing always comes first.
func TestBotTypingOnlyWhenSlow(t *testing.T) {
	tests := []struct {
		name  string
		delay time.Duration
		pause time.Duration
		want  []string // frame types after the ack; "typing+"/"typing-" for the state
	}{
		{"quick answer", 200 * time.Millisecond, 0, []string{"message"}},
		{"slow answer", 20 * time.Millisecond, 150 * time.Millisecond, []string{"typing+", "message", "typing-"}},
		{"typing at once", -1, 0, []string{"typing+", "message"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startChat(t, func(c *Config) { c.Bot, c.TypingDelay = slowBot{pause: tt.pause}, tt.delay })
			c := ts.dial(t, nil)
			c.hello("")
			c.sendRaw(`{"v":1,"type":"message","id":"m1","payload":{"text":"hi"}}`)
			if env := c.read(); env.Type != TypeAck {
				t.Fatalf("first frame %s", env.Type)
			}
			var got []string
			for len(got) < len(tt.want) {
				env := c.read()
				typ := env.Type
				if typ == TypeTyping {
					typ += map[bool]string{true: "+", false: "-"}[payloadMap(env)["state"] == true]
				}
				got = append(got, typ)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("frames %v, want %v", got, tt.want)
			}
			c.expectNothingPending()
		})
	}
}
