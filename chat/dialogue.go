package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shopchat/shopchat/intents"
	"github.com/shopchat/shopchat/kb"
	"github.com/shopchat/shopchat/nlp"
	"github.com/shopchat/shopchat/recommender"
)

// Classifier maps a customer's text to ranked intents (implemented by *intents.Classifier). It must be
// safe for concurrent use.
type Classifier interface {
	Classify(ctx context.Context, text string) (intents.Result, error)
}

// EntityExtractor finds entities in a customer's text (implemented by *nlp.Extractor). It must be safe
// for concurrent use.
type EntityExtractor interface {
	Extract(text string, now time.Time) []nlp.Entity
}

// Knowledge is what the dialogue reads from the knowledge base (implemented by *kb.Store). It must be
// safe for concurrent use.
type Knowledge interface {
	LookupOrder(ctx context.Context, q kb.OrderQuery) (kb.Order, error)
	RecentOrders(ctx context.Context, customerID string, limit int) ([]kb.Order, error)
	SearchFAQ(ctx context.Context, query, locale string, limit int) ([]kb.FAQHit, error)
	AnswerTemplate(ctx context.Context, intent, locale string) (kb.Template, error)
	FindProducts(ctx context.Context, query string, limit int) ([]kb.Product, error)
	ProductBySKU(ctx context.Context, sku string) (kb.Product, error)
	Customer(ctx context.Context, id string) (kb.Customer, error)
}

// Impressions records which products were shown in a conversation (implemented by *kb.Store), so that
// recommendations do not repeat themselves and purchases are never recommended again.
type Impressions interface {
	RecordImpressions(ctx context.Context, convID, customerID string, skus []string, source string) error
	ShownSKUs(ctx context.Context, convID string) ([]string, error)
	PurchasedSKUs(ctx context.Context, customerID string) ([]string, error)
}

// Recommender suggests products (implemented by *recommender.Service). It must be safe for concurrent
// use.
type Recommender interface {
	Recommend(ctx context.Context, q recommender.Query) ([]recommender.Item, error)
}

// DialogueConfig configures a Dialogue. Classifier, Entities, Knowledge and States are required.
type DialogueConfig struct {
	Classifier  Classifier
	Entities    EntityExtractor
	Knowledge   Knowledge
	States      ConversationStore
	Recommender Recommender // nil: recommendations come from a catalogue search
	Impressions Impressions // nil: shown products are remembered in the dialogue state only
	Handoff     Handoff     // nil: nobody is ever available
	Logger      *slog.Logger
	// Registry receives the intent and fallback counters (nil: not exported).
	Registry prometheus.Registerer
	// Locale is the answer templates' default locale (default "en").
	Locale string
	// Confident is the confidence from which the top intent is answered directly (default 0.55).
	Confident float64
	// Plausible is the confidence from which the top two intents are offered as a choice (default 0.25).
	Plausible float64
	// FAQMinScore is the FAQ search score (kb's negated BM25) from which an FAQ answers an unsure
	// message (default 6.5: on the demo shop, exact questions score 6.5–12 and unrelated best hits
	// 4–6).
	FAQMinScore float64
	// MaxFormTries is how many times a form re-asks before offering a person (default 3).
	MaxFormTries int
	// Shop fills the shop-wide template slots (delivery.options, payment.methods, shop.hours, ...).
	Shop map[string]any
	// ShopURL is the shop's base URL for product, return-label and invoice links (default
	// https://shop.example).
	ShopURL string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// StateCache is how many conversations' dialogue states are kept in memory between turns, so
	// that a turn does not read its state from the store (default 10000; negative: none). The store
	// stays the truth: states are written through, and a cached state is used only when nothing else
	// happened in the conversation since the bot's last answer.
	StateCache int
}

// Dialogue is the bot: it turns a classified customer message and the conversation's state into
// answers (templates from the knowledge base, forms, FAQ answers, product and order cards), a
// two-stage fallback and the handoff. It implements Bot and is safe for concurrent use; the server
// calls it for one conversation at a time.
type Dialogue struct {
	cfg       DialogueConfig
	log       *slog.Logger
	states    *stateCache
	intents   *prometheus.CounterVec
	fallbacks *prometheus.CounterVec
	handoffs  *prometheus.CounterVec
}

var _ Bot = (*Dialogue)(nil)

// NewDialogue returns a Dialogue with cfg's zero values defaulted.
func NewDialogue(cfg DialogueConfig) (*Dialogue, error) {
	if cfg.Classifier == nil || cfg.Entities == nil || cfg.Knowledge == nil || cfg.States == nil {
		return nil, errors.New("chat: dialogue needs Classifier, Entities, Knowledge and States")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Handoff == nil {
		cfg.Handoff = noHandoff{}
	}
	if cfg.Locale == "" {
		cfg.Locale = "en"
	}
	if cfg.Confident <= 0 {
		cfg.Confident = 0.55
	}
	if cfg.Plausible <= 0 {
		cfg.Plausible = 0.25
	}
	if cfg.FAQMinScore <= 0 {
		cfg.FAQMinScore = 6.5
	}
	if cfg.MaxFormTries <= 0 {
		cfg.MaxFormTries = 3
	}
	if cfg.ShopURL == "" {
		cfg.ShopURL = "https://shop.example"
	}
	cfg.ShopURL = strings.TrimRight(cfg.ShopURL, "/")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.StateCache == 0 {
		cfg.StateCache = 10000
	}
	d := &Dialogue{cfg: cfg, log: cfg.Logger, states: newStateCache(cfg.StateCache, stateCacheTTL),
		intents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shopchat_intents_total", Help: "Intents the bot answered."}, []string{"intent"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shopchat_fallbacks_total", Help: "Fallback steps: faq, clarify, rephrase, offer_human."}, []string{"stage"}),
		handoffs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shopchat_handoff_requests_total", Help: "Handoff requests by reason and result."}, []string{"reason", "result"}),
	}
	if cfg.Registry != nil {
		for _, c := range []prometheus.Collector{d.intents, d.fallbacks, d.handoffs} {
			if err := cfg.Registry.Register(c); err != nil {
				return nil, fmt.Errorf("chat: dialogue metrics: %w", err)
			}
		}
	}
	return d, nil
}

// Understand classifies text and extracts its entities.
func (d *Dialogue) Understand(ctx context.Context, text string) (Understanding, error) {
	u := Understanding{Entities: d.cfg.Entities.Extract(text, d.cfg.Now())}
	res, err := d.cfg.Classifier.Classify(ctx, text)
	if err != nil {
		return u, fmt.Errorf("chat: classify: %w", err)
	}
	u.Result = res
	return u, nil
}

// reply is one bot message being built.
type reply struct {
	text    string
	intent  string
	replies []QuickReply
	cards   []any
	typ     string // "" = message
}

// QuickReply is a button under a bot message: Title is shown and sent as the text, Payload is sent
// as payload.reply ("intent:order_status", "order:A10023", "product:SKU", "handoff", "cancel", ...).
type QuickReply struct {
	Title   string `json:"title"`
	Payload string `json:"payload"`
}

// turnCtx is what one turn works with.
type turnCtx struct {
	t        Turn
	st       *dialogueState
	locale   string
	intent   string
	conf     float64
	ranked   []intents.Prediction
	out      []reply
	customer *kb.Customer
}

func (tc *turnCtx) say(r reply) { tc.out = append(tc.out, r) }

// stateCacheTTL is how long a cached dialogue state is used after the conversation's last turn.
const stateCacheTTL = 30 * time.Minute

// Reply answers one customer message: it loads the conversation's state (from memory when the
// conversation's last turn was answered here and nothing happened since), decides, delivers the
// answers (idempotently: ClientID "r<seq>.<n>") and saves the state with the last answer.
func (d *Dialogue) Reply(ctx context.Context, t Turn, out Outbound) error {
	now := d.cfg.Now()
	cs, ok := d.states.take(t.ConvID, t.Message.Seq, now)
	if !ok || t.Duplicate {
		conv, err := d.cfg.States.Conversation(ctx, t.ConvID)
		if err != nil {
			return fmt.Errorf("chat: load conversation: %w", err)
		}
		st, err := decodeState(conv.State)
		if err != nil {
			d.log.Warn("dialogue state unreadable; starting afresh", "conv", t.ConvID, "err", err)
			st = newState()
		}
		cs = cachedState{st: st, locale: conv.Locale, customerID: conv.CustomerID}
	}
	st := cs.st
	if st.LastHandled >= t.Message.Seq {
		return nil // already answered (a resend)
	}
	locale := cs.locale
	if locale == "" {
		locale = d.cfg.Locale
	}
	customerID := t.CustomerID
	if customerID == "" {
		customerID = cs.customerID
	}
	t.CustomerID = customerID
	so, withState := out.(StateOutbound)
	var before string
	if !withState {
		before = st.significant()
	}
	tc := &turnCtx{t: t, st: st, locale: locale}
	if customerID != "" {
		if c, err := d.cfg.Knowledge.Customer(ctx, customerID); err == nil {
			tc.customer = &c
		}
	}
	d.understandTurn(tc)
	d.decide(ctx, tc)
	st.LastHandled = t.Message.Seq
	st.pushIntent(tc.intent)

	var last kb.Message
	for i, r := range tc.out {
		m := kb.Message{ConvID: t.ConvID, Sender: kb.SenderBot, ClientID: "r" + strconv.FormatInt(t.Message.Seq, 10) + "." + strconv.Itoa(i),
			Type: msgTypeMessage, Text: r.text, Intent: r.intent, Confidence: tc.conf, Entities: t.Message.Entities}
		if r.typ != "" {
			m.Type = r.typ
		}
		if len(r.replies) > 0 || len(r.cards) > 0 {
			p := map[string]any{}
			if len(r.replies) > 0 {
				p["quick_replies"] = r.replies
			}
			if len(r.cards) > 0 {
				p["cards"] = r.cards
			}
			m.Payload, _ = json.Marshal(p)
		}
		var err error
		if withState && i == len(tc.out)-1 {
			// The last answer carries the state: one commit for both.
			b, eerr := st.encode()
			if eerr != nil {
				return eerr
			}
			last, err = so.DeliverState(ctx, m, b)
		} else {
			last, err = out.Deliver(ctx, m)
		}
		if err != nil {
			return err
		}
		if r.intent != "" {
			d.intents.WithLabelValues(r.intent).Inc()
		}
	}
	switch {
	case withState && len(tc.out) > 0:
		// Saved with the last answer.
	case !withState && st.significant() == before:
		// A turn that changed nothing but the bookkeeping (most answers) is not saved: answering it
		// again after a crash gives the same answers, which the store deduplicates by their ClientID.
	default:
		b, err := st.encode()
		if err != nil {
			return err
		}
		if err := d.cfg.States.SaveState(ctx, t.ConvID, b); err != nil {
			return fmt.Errorf("chat: save dialogue state: %w", err)
		}
	}
	if len(tc.out) > 0 && last.Seq > 0 {
		cs.seq, cs.at = last.Seq, now
		d.states.put(t.ConvID, cs)
	}
	return nil
}

// understandTurn sets the turn's intent from a quick reply or the classifier, and merges entities
// into the slots.
func (d *Dialogue) understandTurn(tc *turnCtx) {
	r := tc.t.NLU.Result
	tc.intent, tc.conf, tc.ranked = r.Intent, r.Confidence, r.Ranked
	if r.OutOfScope && tc.intent == "" {
		tc.intent = intents.OutOfScope
	}
	switch p := tc.t.Reply; {
	case strings.HasPrefix(p, "intent:"):
		tc.intent, tc.conf = strings.TrimPrefix(p, "intent:"), 1
	case strings.HasPrefix(p, "order:"):
		tc.st.Slots[slotOrder] = strings.TrimPrefix(p, "order:")
	case strings.HasPrefix(p, "product:"):
		tc.st.Slots[slotProduct] = strings.TrimPrefix(p, "product:")
	case p == replyHandoff:
		tc.intent, tc.conf = "talk_to_human", 1
	case p == replyCancel:
		tc.intent, tc.conf = "deny", 1
	case p == replyYes:
		tc.intent, tc.conf = "affirm", 1
	case p == replyNo:
		tc.intent, tc.conf = "deny", 1
	}
	for _, e := range tc.t.NLU.Entities {
		switch e.Type {
		case nlp.EntityOrderNumber:
			// While verifying an order, a bare number is the postcode rather than another order.
			if tc.st.Form != nil && tc.st.Form.Asked == askVerify && tc.st.Slots[slotOrder] != "" && looksLikePostcode(tc.t.Message.Text) {
				tc.st.Slots[slotPostcode] = strings.TrimSpace(tc.t.Message.Text)
				continue
			}
			if tc.st.Slots[slotOrder] != e.Value {
				delete(tc.st.Slots, slotEmail)
				delete(tc.st.Slots, slotPostcode)
			}
			tc.st.Slots[slotOrder] = e.Value
		case nlp.EntityEmail:
			tc.st.Slots[slotEmail] = e.Value
		case nlp.EntityPostcode:
			if tc.st.Form != nil && tc.st.Form.Asked == askVerify || tc.st.Slots[slotOrder] != "" {
				tc.st.Slots[slotPostcode] = e.Value
			}
		case nlp.EntityProduct:
			tc.st.Slots[slotProduct] = e.Value
		}
	}
}

func looksLikePostcode(s string) bool {
	s = strings.TrimSpace(s)
	if len(s) < 4 || len(s) > 10 {
		return false
	}
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == ' ' || r == '-' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z':
		default:
			return false
		}
	}
	return digits >= 3
}

// Quick-reply payloads the dialogue understands.
const (
	replyHandoff = "handoff"
	replyCancel  = "cancel"
	replyYes     = "yes"
	replyNo      = "no"
)

// decide picks what to say.
func (d *Dialogue) decide(ctx context.Context, tc *turnCtx) {
	st := tc.st
	// A person, right away, whatever else is going on.
	if tc.intent == "talk_to_human" && tc.conf >= d.cfg.Plausible {
		st.Form, st.Pending = nil, nil
		d.handoff(ctx, tc, HandoffReasonCustomer)
		return
	}
	// An answer to the offer of a person (last fallback stage) or to a clarification.
	if p := st.Pending; p != nil {
		st.Pending = nil
		switch p.Kind {
		case pendingOfferHuman:
			if tc.intent == "affirm" {
				d.handoff(ctx, tc, HandoffReasonFallback)
				return
			}
			if tc.intent == "deny" {
				st.Fallbacks = 0
				tc.say(reply{text: "Alright. Ask me anything about orders, deliveries, returns, payments or our products.", intent: "deny"})
				return
			}
		case pendingClarify:
			// The customer typed instead of choosing: treat as a fresh message.
		}
	}
	// A form in progress: fill it, or leave it when the customer wants out or clearly asks
	// something else.
	if f := st.Form; f != nil {
		if tc.intent == "deny" || tc.intent == "goodbye" || tc.t.Reply == replyCancel {
			st.Form = nil
			tc.say(reply{text: "No problem, I've stopped that. What else can I do for you?", intent: "deny"})
			return
		}
		switching := tc.conf >= d.cfg.Confident && tc.intent != f.Intent && !formCompatible(tc.intent) && tc.t.Reply == ""
		if !switching || needsOrder(tc.intent) {
			if needsOrder(tc.intent) && tc.conf >= d.cfg.Confident {
				f.Intent = tc.intent
			}
			d.continueForm(ctx, tc)
			return
		}
		st.Form = nil
	}
	// Unsure: FAQ, then the two-stage fallback.
	if tc.intent == "" || tc.intent == intents.OutOfScope || tc.conf < d.cfg.Confident {
		d.unsure(ctx, tc)
		return
	}
	st.Fallbacks = 0
	d.answer(ctx, tc)
}

// formCompatible intents may be said in the middle of a form without leaving it.
func formCompatible(intent string) bool {
	switch intent {
	case "affirm", "thanks", "greeting", intents.OutOfScope, "":
		return true
	}
	return false
}

// unsure handles a message the intent model is not sure about.
func (d *Dialogue) unsure(ctx context.Context, tc *turnCtx) {
	st := tc.st
	text := tc.t.Message.Text
	if text != "" && !onlyIdentifiers(text, tc.t.NLU.Entities) {
		hits, err := d.cfg.Knowledge.SearchFAQ(ctx, text, tc.locale, 3)
		if err != nil {
			d.log.Warn("faq search", "err", err)
		}
		if len(hits) > 0 && hits[0].Score >= d.cfg.FAQMinScore {
			st.Fallbacks = 0
			d.fallbacks.WithLabelValues("faq").Inc()
			tc.intent = "faq"
			tc.say(reply{text: hits[0].Answer, intent: "faq:" + hits[0].Key, replies: []QuickReply{
				{Title: "That helps, thanks", Payload: "intent:thanks"}, {Title: "Talk to a person", Payload: replyHandoff}}})
			return
		}
	}
	st.Fallbacks++
	switch {
	case st.Fallbacks == 1 && len(tc.ranked) >= 2 && tc.ranked[0].Intent != intents.OutOfScope && tc.ranked[1].Intent != intents.OutOfScope &&
		tc.ranked[0].Confidence+tc.ranked[1].Confidence >= d.cfg.Plausible:
		d.fallbacks.WithLabelValues("clarify").Inc()
		a, b := tc.ranked[0].Intent, tc.ranked[1].Intent
		st.Pending = &pending{Kind: pendingClarify, Options: []string{a, b}}
		tc.intent = "clarify"
		tc.say(reply{text: "Just to be sure I help with the right thing — did you mean:", intent: "clarify", replies: []QuickReply{
			{Title: intentTitle(a), Payload: "intent:" + a}, {Title: intentTitle(b), Payload: "intent:" + b},
			{Title: "Something else", Payload: "intent:oos_rephrase"}}})
	case st.Fallbacks <= 2:
		d.fallbacks.WithLabelValues("rephrase").Inc()
		tc.intent = "fallback"
		text, err := d.render(ctx, tc, "fallback", nil)
		if err != nil {
			text = "Sorry, I didn't quite get that. Could you put it another way? You can also ask for a human at any time."
		}
		tc.say(reply{text: text, intent: "fallback"})
	default:
		d.fallbacks.WithLabelValues("offer_human").Inc()
		st.Pending = &pending{Kind: pendingOfferHuman}
		tc.intent = "offer_human"
		tc.say(reply{text: "I'm sorry, I'm not able to help with this one. Shall I connect you with a colleague from our team?", intent: "offer_human",
			replies: []QuickReply{{Title: "Yes, connect me", Payload: replyYes}, {Title: "No, thanks", Payload: replyNo}}})
	}
}

// onlyIdentifiers reports whether text is nothing but identifiers (order and tracking numbers, email
// addresses, phone numbers, postcodes) and punctuation: no FAQ answers a bare "A10023", so such a
// message is not searched for.
func onlyIdentifiers(text string, ents []nlp.Entity) bool {
	covered := make([]bool, len(text))
	any := false
	for _, e := range ents {
		switch e.Type {
		case nlp.EntityOrderNumber, nlp.EntityTracking, nlp.EntityEmail, nlp.EntityPhone, nlp.EntityPostcode:
		default:
			continue
		}
		if e.Start < 0 || e.End > len(text) || e.Start >= e.End {
			return false
		}
		for i := e.Start; i < e.End; i++ {
			covered[i] = true
		}
		any = true
	}
	if !any {
		return false
	}
	for i, r := range text {
		if !covered[i] && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return false
		}
	}
	return true
}

// handoff asks for a person and tells the customer when nobody can come.
func (d *Dialogue) handoff(ctx context.Context, tc *turnCtx, reason string) {
	tc.st.Fallbacks = 0
	tc.intent = "talk_to_human"
	err := d.cfg.Handoff.Request(ctx, HandoffRequest{ConvID: tc.t.ConvID, CustomerID: tc.t.CustomerID, Reason: reason,
		Intent: tc.t.NLU.Result.Intent, Confidence: tc.t.NLU.Result.Confidence, Text: tc.t.Message.Text, Skill: skillOf(tc.st.lastIntent())})
	switch {
	case err == nil:
		d.handoffs.WithLabelValues(reason, "queued").Inc()
		// The handoff delivers the queue events itself.
	case errors.Is(err, ErrNoAgents):
		d.handoffs.WithLabelValues(reason, "no_agents").Inc()
		tc.say(reply{text: d.noAgentsText(ctx, tc), intent: "talk_to_human"})
	default:
		d.handoffs.WithLabelValues(reason, "error").Inc()
		d.log.Error("handoff request failed", "conv", tc.t.ConvID, "err", err)
		tc.say(reply{text: d.noAgentsText(ctx, tc), intent: "talk_to_human"})
	}
}

func (d *Dialogue) noAgentsText(ctx context.Context, tc *turnCtx) string {
	hours, _ := d.cfg.Shop["shop.hours"].(string)
	if hours == "" {
		hours = "during opening hours"
	}
	return "I'm sorry — none of my colleagues is available right now (we're here " + hours +
		"). You can write to us at " + d.shopString("shop.email", "our support address") + " and we'll answer within a day, or keep asking me in the meantime."
}

func (d *Dialogue) shopString(key, def string) string {
	if v, ok := d.cfg.Shop[key].(string); ok && v != "" {
		return v
	}
	return def
}

// skillOf maps an intent to a team for the handoff queue.
func skillOf(intent string) string {
	switch intent {
	case "order_status", "track_order", "cancel_order", "change_order", "change_address", "delivery_options", "shipping_cost":
		return "orders"
	case "return_item", "refund_status", "refund_policy", "exchange_item", "damaged_item", "wrong_item":
		return "returns"
	case "payment_methods", "payment_failed", "invoice", "discount_code":
		return "payments"
	case "account_login", "password_reset", "delete_account", "newsletter":
		return "account"
	case "product_availability", "size_fit", "product_details", "warranty", "recommend_products", "similar_products":
		return "product"
	}
	return "general"
}

var intentTitles = map[string]string{
	"order_status": "Where is my order?", "track_order": "Track my parcel", "cancel_order": "Cancel an order",
	"change_order": "Change an order", "change_address": "Change the delivery address", "delivery_options": "Delivery options",
	"shipping_cost": "Delivery costs", "return_item": "Return an item", "refund_status": "Where is my refund?",
	"refund_policy": "Returns and refunds policy", "exchange_item": "Exchange an item", "damaged_item": "My item arrived damaged",
	"wrong_item": "I got the wrong item", "payment_methods": "Payment methods", "payment_failed": "My payment failed",
	"invoice": "Get an invoice", "discount_code": "Discount codes", "account_login": "I can't sign in",
	"password_reset": "Reset my password", "delete_account": "Delete my account", "newsletter": "Newsletter",
	"product_availability": "Is it in stock?", "size_fit": "Sizes and fit", "product_details": "Product details",
	"warranty": "Warranty", "store_hours_contact": "Opening hours and contact", "complaint": "Make a complaint",
	"compliment": "Say thanks", "recommend_products": "Recommend something", "similar_products": "Show similar products",
	"talk_to_human": "Talk to a person",
}

func intentTitle(intent string) string {
	if t, ok := intentTitles[intent]; ok {
		return t
	}
	return strings.ReplaceAll(intent, "_", " ")
}
