package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopchat/shopchat/intents"
	"github.com/shopchat/shopchat/kb"
	"github.com/shopchat/shopchat/nlp"
	"github.com/shopchat/shopchat/recommender"
)

// ruleClassifier stands in for the neural intent model (tested in package intents): the first rule
// whose keyword is in the text wins; no rule gives an unsure, ambiguous result.
type ruleClassifier struct{ rules [][3]string }

var demoRules = [][3]string{
	{"person", "talk_to_human", "0.95"}, {"human", "talk_to_human", "0.95"},
	{"where is my order", "order_status", "0.92"}, {"track", "track_order", "0.9"},
	{"return", "return_item", "0.88"}, {"recommend", "recommend_products", "0.9"},
	{"in stock", "product_availability", "0.85"}, {"similar", "similar_products", "0.85"},
	{"never mind", "deny", "0.9"}, {"hello", "greeting", "0.97"}, {"thanks", "thanks", "0.95"},
	{"delivery take", "delivery_options", "0.3"}, {"complain", "complaint", "0.9"},
}

func (c ruleClassifier) Classify(ctx context.Context, text string) (intents.Result, error) {
	l := strings.ToLower(text)
	for _, r := range c.rules {
		if strings.Contains(l, r[0]) {
			var conf float64
			fmt.Sscan(r[2], &conf)
			return intents.Result{Intent: r[1], Confidence: conf, Ranked: []intents.Prediction{{Intent: r[1], Confidence: conf}, {Intent: "oos", Confidence: 1 - conf}}}, nil
		}
	}
	return intents.Result{Intent: intents.OutOfScope, Confidence: 0.2, OutOfScope: true, Ambiguous: true,
		Ranked: []intents.Prediction{{Intent: "return_item", Confidence: 0.2}, {Intent: "refund_status", Confidence: 0.18}}}, nil
}

// recordingHandoff records requests; Active follows them unless noAgents.
type recordingHandoff struct {
	mu       sync.Mutex
	reqs     []HandoffRequest
	noAgents bool
	active   map[string]bool
}

func (h *recordingHandoff) Request(ctx context.Context, r HandoffRequest) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reqs = append(h.reqs, r)
	if h.noAgents {
		return ErrNoAgents
	}
	if h.active == nil {
		h.active = map[string]bool{}
	}
	h.active[r.ConvID] = true
	return nil
}

func (h *recordingHandoff) Active(ctx context.Context, conv string) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.active[conv], nil
}

// fixedRecommender returns the first k of its SKUs not excluded.
type fixedRecommender struct{ skus []string }

func (r fixedRecommender) Recommend(ctx context.Context, q recommender.Query) ([]recommender.Item, error) {
	ex := map[string]bool{}
	for _, s := range q.Exclude {
		ex[s] = true
	}
	var out []recommender.Item
	for _, s := range r.skus {
		if !ex[s] && len(out) < q.K {
			out = append(out, recommender.Item{SKU: s, Score: 1, Reason: recommender.ReasonPopular})
		}
	}
	return out, nil
}

var (
	demoOnce sync.Once
	demoPath string
	demoErr  error
	demoDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if demoDir != "" {
		os.RemoveAll(demoDir)
	}
	os.Exit(code)
}

// demoStore opens a copy of a database with the demo shop loaded (loaded once per test run).
func demoStore(t testing.TB) *kb.Store {
	t.Helper()
	demoOnce.Do(func() {
		demoDir, demoErr = os.MkdirTemp("", "chat-demo-")
		if demoErr != nil {
			return
		}
		demoPath = filepath.Join(demoDir, "demo.db")
		s, err := kb.Open(context.Background(), kb.Config{Path: demoPath})
		if err != nil {
			demoErr = err
			return
		}
		demoErr = errors.Join(kb.LoadDemo(context.Background(), s), s.Close())
	})
	if demoErr != nil {
		t.Fatal(demoErr)
	}
	b, err := os.ReadFile(demoPath)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "shop.db")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := kb.Open(context.Background(), kb.Config{Path: p, Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type botEnv struct {
	*testServer
	kb      *kb.Store
	handoff *recordingHandoff
	dlg     *Dialogue
}

func startBot(t *testing.T, st *kb.Store, h *recordingHandoff) *botEnv {
	t.Helper()
	return startBotTB(t, st, h)
}

func startBotB(b *testing.B, st *kb.Store) *botEnv { return startBotTB(b, st, nil) }

func startBotTB(t testing.TB, st *kb.Store, h *recordingHandoff) *botEnv {
	t.Helper()
	if st == nil {
		st = demoStore(t)
	}
	if h == nil {
		h = &recordingHandoff{}
	}
	ex, err := nlp.NewExtractor(nlp.ExtractorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ps, _ := st.ListProducts(context.Background())
	names := make([]nlp.ProductName, 0, len(ps))
	for _, p := range ps {
		names = append(names, nlp.ProductName{SKU: p.SKU, Name: p.Name})
	}
	ex.SetProducts(names)
	dlg, err := NewDialogue(DialogueConfig{Classifier: ruleClassifier{demoRules}, Entities: ex, Knowledge: st, States: st,
		Impressions: st, Handoff: h, Recommender: fixedRecommender{skus: []string{ps[0].SKU, ps[1].SKU, ps[2].SKU, ps[3].SKU, ps[4].SKU}},
		Shop: map[string]any{"shop.hours": "Mon–Sat 8:00–20:00", "delivery.options": "standard (2–4 days), express (next day)",
			"delivery.free_threshold": "€60", "delivery.cost": "€4.95", "payment.methods": "cards, PayPal, Klarna"}})
	if err != nil {
		t.Fatal(err)
	}
	ts := startChatWith(t, Config{Messages: st, Conversations: st, Bot: dlg, Handoff: h, Secret: []byte("0123456789abcdef0123"),
		CustomerSecret: []byte("shop-secret"), IPRate: -1, MaxConnsPerIP: -1, ConnRate: 1e6, ConnBurst: 1000})
	return &botEnv{testServer: ts, kb: st, handoff: h, dlg: dlg}
}

func startChatWith(t testing.TB, cfg Config) *testServer {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return &testServer{srv: s, url: "ws://" + ln.Addr().String() + "/ws", base: "http://" + ln.Addr().String()}
}

var msgN int

// say sends text (and a quick-reply payload) and returns the bot's answer's payload.
func (c *client) say(text, replyPayload string) map[string]any {
	c.t.Helper()
	msgN++
	p := map[string]string{"text": text}
	if replyPayload != "" {
		p["reply"] = replyPayload
	}
	b, _ := json.Marshal(p)
	c.send(Envelope{V: 1, Type: TypeMessage, ID: fmt.Sprint("m", msgN), Payload: b})
	c.readType(TypeAck)
	return payloadMap(c.readType(TypeMessage))
}

func wantText(t *testing.T, p map[string]any, subs ...string) {
	t.Helper()
	text, _ := p["text"].(string)
	for _, s := range subs {
		if !strings.Contains(strings.ToLower(text), strings.ToLower(s)) {
			t.Fatalf("answer %q lacks %q", text, s)
		}
	}
}

func TestDialogueGuestOrderForm(t *testing.T) {
	e := startBot(t, nil, nil)
	c := e.dial(t, nil)
	conv, _ := c.hello("")
	wantText(t, c.say("Hi, where is my order?", ""), "order number")
	wantText(t, c.say("it's #A10438", ""), "email", "postcode")
	// Wrong verification: re-prompt, the order stays private.
	p := c.say("someone@else.example", "")
	wantText(t, p, "couldn't find")
	if p["cards"] != nil {
		t.Fatalf("an order card was shown without verification: %v", p)
	}
	wantText(t, c.say("A10438", ""), "email", "postcode")
	p = c.say("ida.walsh@example.org", "")
	wantText(t, p, "A10438", "Ida")
	cards, _ := p["cards"].([]any)
	if len(cards) != 1 || cards[0].(map[string]any)["type"] != "order" || cards[0].(map[string]any)["number"] != "A10438" {
		t.Fatalf("order card: %v", p["cards"])
	}
	// Every bot message stores what it answered.
	msgs, _ := e.kb.MessagesAfter(context.Background(), conv, 0, 100)
	last := msgs[len(msgs)-1]
	if last.Sender != kb.SenderBot || last.Intent != "order_status" || last.Confidence == 0 {
		t.Fatalf("last bot message %+v", last)
	}
	var sawEntities bool
	for _, m := range msgs {
		if m.Sender == kb.SenderCustomer && strings.Contains(string(m.Entities), "A10438") {
			sawEntities = true
		}
	}
	if !sawEntities {
		t.Fatal("the customer's order number was not stored as an entity")
	}
}

func TestDialogueFormWayOutAndPostcode(t *testing.T) {
	e := startBot(t, nil, nil)
	c := e.dial(t, nil)
	c.hello("")
	c.say("where is my order", "")
	wantText(t, c.say("never mind", ""), "stopped")
	// Postcode verification, given in the same message as the number.
	c.say("where is my order", "")
	wantText(t, c.say("A10442", ""), "postcode")
	p := c.say("12033", "")
	wantText(t, p, "A10442")
}

func TestDialogueSignedInCustomerSeesOwnOrders(t *testing.T) {
	e := startBot(t, nil, nil)
	c := e.dial(t, nil)
	id := SignIdentity("C1042", time.Now().Add(time.Hour), []byte("shop-secret"))
	c.hello(fmt.Sprintf(`{"customer":%q}`, id))
	p := c.say("where is my order?", "")
	// Either the one recent order, or a choice between them, without asking for verification.
	if qr, ok := p["quick_replies"].([]any); ok && strings.Contains(p["text"].(string), "Which order") {
		first := qr[0].(map[string]any)
		p = c.say(first["title"].(string), first["payload"].(string))
	}
	if p["cards"] == nil {
		t.Fatalf("no order card for a signed-in customer: %v", p)
	}
	// Another customer's order still needs verification.
	wantText(t, c.say("where is my order A10441", ""), "email")
}

func TestDialogueTwoStageFallbackThenHuman(t *testing.T) {
	e := startBot(t, nil, nil)
	c := e.dial(t, nil)
	conv, _ := c.hello("")
	p := c.say("blorp zib qux", "")
	qr, _ := p["quick_replies"].([]any)
	if len(qr) != 3 || qr[0].(map[string]any)["payload"] != "intent:return_item" {
		t.Fatalf("stage 1 should offer the top two intents: %v", p)
	}
	wantText(t, c.say("flim flam", ""), "another way")
	p = c.say("wibble", "")
	wantText(t, p, "colleague")
	c.send(Envelope{V: 1, Type: TypeMessage, ID: "yes1", Payload: json.RawMessage(`{"text":"Yes, connect me","reply":"yes"}`)})
	c.readType(TypeAck)
	c.expectNothingPending() // the handoff speaks for itself
	if len(e.handoff.reqs) != 1 || e.handoff.reqs[0].Reason != HandoffReasonFallback || e.handoff.reqs[0].ConvID != conv {
		t.Fatalf("handoff requests %+v", e.handoff.reqs)
	}
	// While a human owns the conversation the bot is silent.
	c.send(Envelope{V: 1, Type: TypeMessage, ID: "h1", Payload: json.RawMessage(`{"text":"hello?"}`)})
	c.readType(TypeAck)
	c.expectNothingPending()
}

func TestDialogueImmediateHandoffAndNoAgents(t *testing.T) {
	h := &recordingHandoff{noAgents: true}
	e := startBot(t, nil, h)
	c := e.dial(t, nil)
	c.hello("")
	c.say("where is my order", "")
	p := c.say("I want to talk to a person", "")
	wantText(t, p, "none of my colleagues", "Mon–Sat")
	if len(h.reqs) != 1 || h.reqs[0].Reason != HandoffReasonCustomer || h.reqs[0].Skill != "orders" {
		t.Fatalf("requests %+v", h.reqs)
	}
}

func TestDialogueFAQWhenUnsure(t *testing.T) {
	e := startBot(t, nil, nil)
	c := e.dial(t, nil)
	c.hello("")
	p := c.say("How long does delivery take?", "")
	if p["text"] == "" || strings.Contains(p["text"].(string), "another way") {
		t.Fatalf("want an FAQ answer, got %v", p)
	}
}

func TestDialogueRecommendationsAsCards(t *testing.T) {
	e := startBot(t, nil, nil)
	c := e.dial(t, nil)
	conv, _ := c.hello("")
	p := c.say("can you recommend something?", "")
	cards, _ := p["cards"].([]any)
	if len(cards) != 3 || cards[0].(map[string]any)["type"] != "product" {
		t.Fatalf("cards %v", p)
	}
	p2 := c.say("recommend more", "")
	cards2, _ := p2["cards"].([]any)
	if len(cards2) != 2 || cards2[0].(map[string]any)["sku"] == cards[0].(map[string]any)["sku"] {
		t.Fatalf("shown products repeated: %v", p2["cards"])
	}
	shown, _ := e.kb.ShownSKUs(context.Background(), conv)
	if len(shown) != 5 {
		t.Fatalf("impressions %v", shown)
	}
}

func TestDialogueStateSurvivesRestart(t *testing.T) {
	st := demoStore(t)
	e1 := startBot(t, st, nil)
	c := e1.dial(t, nil)
	_, tok := c.hello("")
	c.say("where is my order", "")
	wantText(t, c.say("A10438", ""), "email")
	c.ws.Close()
	// A new server (a restart) on the same database continues the form.
	e2 := startBot(t, st, nil)
	c2 := e2.dial(t, nil)
	c2.send(Envelope{V: 1, Type: TypeResume, Payload: json.RawMessage(fmt.Sprintf(`{"token":%q,"last_seq":4}`, tok))})
	c2.readType(TypeWelcome)
	wantText(t, c2.say("ida.walsh@example.org", ""), "A10438")
}

func TestDialogueAnswersAResendOnlyOnce(t *testing.T) {
	e := startBot(t, nil, nil)
	ctx := context.Background()
	conv, err := e.kb.CreateConversation(ctx, kb.Conversation{Status: "bot"})
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := e.kb.AppendMessage(ctx, kb.Message{ConvID: conv.ID, ClientID: "x", Sender: kb.SenderCustomer, Type: "message", Text: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := e.dlg.Understand(ctx, m.Text)
	for i := 0; i < 3; i++ {
		if err := e.dlg.Reply(ctx, Turn{ConvID: conv.ID, Message: m, NLU: u}, e.srv); err != nil {
			t.Fatal(err)
		}
	}
	msgs, _ := e.kb.MessagesAfter(ctx, conv.ID, 0, 10)
	if len(msgs) != 2 || msgs[1].Intent != "greeting" {
		t.Fatalf("messages %+v", msgs)
	}
}

func TestOnlyIdentifiers(t *testing.T) {
	ex, err := nlp.NewExtractor(nlp.ExtractorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		text string
		want bool
	}{
		{"A10438", true},
		{"ida.walsh@example.org", true},
		{"#A10438.", true},
		{"A10438 ida.walsh@example.org", true},
		{"my order is A10438", false},
		{"how do I change my email address?", false},
		{"thanks!", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := onlyIdentifiers(tt.text, ex.Extract(tt.text, time.Now())); got != tt.want {
			t.Errorf("%q: %v, want %v (entities %+v)", tt.text, got, tt.want, ex.Extract(tt.text, time.Now()))
		}
	}
}

// countingKnowledge counts FAQ searches.
type countingKnowledge struct {
	Knowledge
	searches atomic.Int64
}

func (k *countingKnowledge) SearchFAQ(ctx context.Context, query, locale string, limit int) ([]kb.FAQHit, error) {
	k.searches.Add(1)
	return k.Knowledge.SearchFAQ(ctx, query, locale, limit)
}

// TestDialogueBareIdentifierIsNotSearched: an email address on its own, outside a form, gets the
// fallback without an FAQ search; a question still gets one.
func TestDialogueBareIdentifierIsNotSearched(t *testing.T) {
	e := startBot(t, nil, nil)
	k := &countingKnowledge{Knowledge: e.kb}
	cfg := e.dlg.cfg
	cfg.Knowledge, cfg.Registry = k, nil
	d, err := NewDialogue(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conv, err := e.kb.CreateConversation(ctx, kb.Conversation{Status: "bot"})
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range []struct {
		text     string
		searched int64
	}{
		{"ida.walsh@example.org", 0},
		{"can I pay by invoice", 1},
	} {
		m, _, err := e.kb.AppendMessage(ctx, kb.Message{ConvID: conv.ID, ClientID: fmt.Sprint(i), Sender: kb.SenderCustomer, Type: "message", Text: tt.text})
		if err != nil {
			t.Fatal(err)
		}
		u, _ := d.Understand(ctx, m.Text)
		before := k.searches.Load()
		if err := d.Reply(ctx, Turn{ConvID: conv.ID, Message: m, NLU: u}, e.srv); err != nil {
			t.Fatal(err)
		}
		if n := k.searches.Load() - before; n != tt.searched {
			t.Fatalf("%q: %d FAQ searches, want %d", tt.text, n, tt.searched)
		}
	}
	msgs, _ := e.kb.MessagesAfter(ctx, conv.ID, 0, 10)
	if len(msgs) != 4 || msgs[1].Sender != kb.SenderBot || strings.HasPrefix(msgs[1].Intent, "faq") || msgs[3].Intent != "faq:payment-methods" {
		t.Fatalf("answers %q %q", msgs[1].Intent, msgs[len(msgs)-1].Intent)
	}
}
