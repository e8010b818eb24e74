package handoff

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/shopchat/shopchat/chat"
	"github.com/shopchat/shopchat/intents"
	"github.com/shopchat/shopchat/kb"
)

// ServiceStore is the storage the console and the customer-side hooks read and write. *kb.Store
// implements it; implementations must be safe for concurrent use.
type ServiceStore interface {
	Conversation(ctx context.Context, id string) (kb.Conversation, error)
	MessagesBefore(ctx context.Context, convID string, beforeSeq int64, limit int) ([]kb.Message, error)
	RecentOrders(ctx context.Context, customerID string, limit int) ([]kb.Order, error)
	Customer(ctx context.Context, id string) (kb.Customer, error)
	LiveConversations(ctx context.Context, since time.Time, limit int) ([]kb.LiveConversation, error)
	LatestHandoff(ctx context.Context, convID string) (kb.HandoffRecord, error)
	HandoffEvents(ctx context.Context, convID string) ([]kb.HandoffEvent, error)
	SaveCanned(ctx context.Context, c kb.CannedResponse) (kb.CannedResponse, error)
	ListCanned(ctx context.Context) ([]kb.CannedResponse, error)
	DeleteCanned(ctx context.Context, id int64) error
	AddNote(ctx context.Context, n kb.Note) (kb.Note, error)
	Notes(ctx context.Context, convID string) ([]kb.Note, error)
	SaveCSAT(ctx context.Context, c kb.CSAT) error
	AddUnanswered(ctx context.Context, u kb.Unanswered) error
	ListUnanswered(ctx context.Context, onlyOpen bool, limit int) ([]kb.Unanswered, error)
	LabelUnanswered(ctx context.Context, id int64, label, agentID string) (kb.Unanswered, error)
	HandoffReport(ctx context.Context, from, to time.Time) (kb.HandoffReport, error)
}

// ServiceConfig configures a Service. Zero values get defaults; Engine, Store and Auth are required.
type ServiceConfig struct {
	Engine *Engine
	Store  ServiceStore
	Auth   *Auth
	// Bus carries the conversations' messages and typing to the console (optional: without it the
	// console sees only what it does itself).
	Bus chat.Bus
	// Webhooks, when set, lists its delivery log in the console.
	Webhooks *Webhooks
	Logger   *slog.Logger
	Now      func() time.Time
	// LowConfidence: customer messages classified below it (or out of scope) go to the unanswered
	// inbox (default 0.5).
	LowConfidence float64
	// TrainingFile receives labelled examples as CSV text,label (default: none; labels are stored only).
	TrainingFile string
	// OfflineGrace is how long an agent whose last console socket closed stays online (default 30s).
	OfflineGrace time.Duration
	// MaxNoteBytes and MaxReplyBytes bound notes and replies (defaults 4000 and 4000).
	MaxNoteBytes  int
	MaxReplyBytes int
	// SecureCookies marks the session cookie Secure (set it behind HTTPS).
	SecureCookies bool
	// AllowedOrigins may open the console socket besides the console's own origin.
	AllowedOrigins []string
	// PositionInterval bounds how often queue positions are pushed to waiting customers (default 1s).
	PositionInterval time.Duration

	// Dispatcher, when set, makes the handoff decisions instead of Engine (for example the cluster-wide
	// dispatcher of package cluster); its events reach the Service through Observe. Engine may then be
	// nil.
	Dispatcher ObservableDispatcher
}

// Service joins the engine to the chat server and the console: it implements chat.Handoff and
// chat.CustomerFrameHandler, tells customers what happens to their handoff, and serves the console's
// HTTP API and socket. It is safe for concurrent use.
type Service struct {
	cfg    ServiceConfig
	log    *slog.Logger
	engine ObservableDispatcher
	store  ServiceStore
	auth   *Auth

	outMu sync.RWMutex
	out   chat.Outbound

	hub *hub

	mu       sync.Mutex
	events   []Event
	work     []func(context.Context)
	wake     chan struct{}
	dirty    map[string]bool        // skills whose queue changed since positions were last pushed
	lastPos  map[string]int         // conv -> position last pushed to the customer
	status   map[string]AgentStatus // agent -> chosen status while connected
	conns    map[string]int         // agent -> open console sockets
	offTimer map[string]*time.Timer
	// queueDirty: some queue changed since the consoles last got the queue
	queueDirty bool

	trainMu sync.Mutex
}

var (
	_ chat.Handoff              = (*Service)(nil)
	_ chat.CustomerFrameHandler = (*Service)(nil)
	_ Observer                  = (*Service)(nil)
)

// NewService returns a Service and registers it as an observer of the engine. Call SetOutbound before
// serving and run Run.
func NewService(cfg ServiceConfig) (*Service, error) {
	if cfg.Dispatcher == nil && cfg.Engine != nil {
		cfg.Dispatcher = cfg.Engine
	}
	if cfg.Dispatcher == nil || cfg.Store == nil || cfg.Auth == nil {
		return nil, errors.New("handoff: NewService: Engine (or Dispatcher), Store and Auth are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LowConfidence <= 0 {
		cfg.LowConfidence = 0.5
	}
	if cfg.OfflineGrace <= 0 {
		cfg.OfflineGrace = 30 * time.Second
	}
	if cfg.MaxNoteBytes <= 0 {
		cfg.MaxNoteBytes = 4000
	}
	if cfg.MaxReplyBytes <= 0 {
		cfg.MaxReplyBytes = 4000
	}
	if cfg.PositionInterval <= 0 {
		cfg.PositionInterval = time.Second
	}
	s := &Service{
		cfg: cfg, log: cfg.Logger, engine: cfg.Dispatcher, store: cfg.Store, auth: cfg.Auth,
		hub:  newHub(),
		wake: make(chan struct{}, 1), dirty: map[string]bool{}, lastPos: map[string]int{},
		status: map[string]AgentStatus{}, conns: map[string]int{}, offTimer: map[string]*time.Timer{},
	}
	s.hub.owner = func(conv string) string {
		h, _ := s.engine.Get(context.Background(), conv)
		if h.State == StateAssigned {
			return h.AgentID
		}
		return ""
	}
	s.hub.queue = s.queueFrame
	cfg.Dispatcher.Observe(s)
	if cfg.Bus != nil {
		if _, err := cfg.Bus.Subscribe("", s.busEvent); err != nil {
			return nil, fmt.Errorf("handoff: subscribe to the bus: %w", err)
		}
	}
	return s, nil
}

// SetOutbound sets the path to the customers (the *chat.Server), which is built after the Service.
func (s *Service) SetOutbound(o chat.Outbound) {
	s.outMu.Lock()
	s.out = o
	s.outMu.Unlock()
}

func (s *Service) outbound() chat.Outbound {
	s.outMu.RLock()
	defer s.outMu.RUnlock()
	return s.out
}

// Engine returns the in-process engine (nil when a Dispatcher was configured instead).
func (s *Service) Engine() *Engine { return s.cfg.Engine }

// ObservableDispatcher is a Dispatcher whose events can be observed: *Engine, or a cluster-wide
// dispatcher that delivers the engine's events on every node.
type ObservableDispatcher interface {
	Dispatcher
	// Observe adds an observer of every later event.
	Observe(o Observer)
	// QueueHead returns the first limit waiting conversations across every skill and the number
	// waiting (see Engine.QueueHead).
	QueueHead(ctx context.Context, limit int) ([]QueueEntry, int)
}

// --- chat.Handoff ---

// canServe reports whether any connected (online or away) agent could take skill, and which queue to
// use: the skill's own when someone has it, else the general one.
func (s *Service) route(ctx context.Context, skill string) (string, bool) {
	if skill == "general" {
		skill = ""
	}
	agents, _ := s.engine.Agents(ctx)
	any, skilled := false, false
	for _, a := range agents {
		if a.Status == AgentOffline {
			continue
		}
		any = true
		if skill != "" && serves(&agentState{info: a.AgentInfo}, skill) {
			skilled = true
		}
	}
	if !skilled {
		skill = ""
	}
	return skill, any
}

// Request queues the conversation for a human; chat.ErrNoAgents when no agent is online or away. A
// conversation already with the humans is left as it is.
func (s *Service) Request(ctx context.Context, req chat.HandoffRequest) error {
	skill, anyone := s.route(ctx, req.Skill)
	if !anyone {
		return chat.ErrNoAgents
	}
	name := ""
	if req.CustomerID != "" {
		if c, err := s.store.Customer(ctx, req.CustomerID); err == nil {
			name = strings.TrimSpace(c.FirstName + " " + c.LastName)
		}
	}
	reason := req.Reason
	if reason == chat.HandoffReasonFallback {
		reason = ReasonFallback
	}
	_, err := s.engine.Request(ctx, Request{ConvID: req.ConvID, CustomerID: req.CustomerID, CustomerName: name,
		Skill: skill, Reason: reason})
	if errors.Is(err, ErrTransition) {
		return nil
	}
	if err != nil {
		return err
	}
	s.later(func(ctx context.Context) { s.recordHandoffMessage(ctx, req) })
	return nil
}

// Active reports whether the conversation is queued or assigned.
func (s *Service) Active(ctx context.Context, convID string) (bool, error) {
	h, err := s.engine.Get(ctx, convID)
	if err != nil {
		return false, err
	}
	return h.State == StateQueued || h.State == StateAssigned, nil
}

// FrameTypes are the customer frames the handoff handles.
func (s *Service) FrameTypes() []string { return []string{"csat", "handoff.cancel"} }

// csatFrame is the payload of a customer's "csat" frame.
type csatFrame struct {
	Rating  int    `json:"rating"`
	Comment string `json:"comment"`
}

// HandleCustomerFrame handles "csat" ({"rating":1-5,"comment":"..."}, once per resolved handoff) and
// "handoff.cancel" (leave the queue).
func (s *Service) HandleCustomerFrame(ctx context.Context, cs chat.CustomerSession, frameType string, payload json.RawMessage) error {
	err := s.customerFrame(ctx, cs, frameType, payload)
	var te *TransitionError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te):
		return &chat.WireError{Code: chat.CodeBadRequest, Message: fmt.Sprintf("not possible now: the conversation is %s", te.From)}
	case errors.Is(err, ErrBadInput):
		return &chat.WireError{Code: chat.CodeBadRequest, Message: strings.TrimPrefix(err.Error(), ErrBadInput.Error()+": ")}
	}
	return err
}

func (s *Service) customerFrame(ctx context.Context, cs chat.CustomerSession, frameType string, payload json.RawMessage) error {
	switch frameType {
	case "csat":
		var f csatFrame
		if err := json.Unmarshal(payload, &f); err != nil {
			return fmt.Errorf("%w: csat payload: %v", ErrBadInput, err)
		}
		return s.RateConversation(ctx, cs.ConvID, f.Rating, f.Comment)
	case "handoff.cancel":
		_, err := s.engine.Cancel(ctx, cs.ConvID)
		return err
	}
	return fmt.Errorf("%w: frame type %q", ErrBadInput, frameType)
}

// RateConversation stores the customer's rating of the conversation's last, resolved handoff.
func (s *Service) RateConversation(ctx context.Context, convID string, rating int, comment string) error {
	if rating < 1 || rating > 5 {
		return fmt.Errorf("%w: rating %d (want 1-5)", ErrBadInput, rating)
	}
	if len(comment) > 1000 {
		return fmt.Errorf("%w: comment longer than 1000 bytes", ErrBadInput)
	}
	h, err := s.store.LatestHandoff(ctx, convID)
	if err != nil {
		return fmt.Errorf("%w: nothing to rate in this conversation", ErrBadInput)
	}
	if h.State != kb.HandoffResolved && h.Outcome != "resolved" {
		return fmt.Errorf("%w: the conversation with an agent is not resolved", ErrBadInput)
	}
	err = s.store.SaveCSAT(ctx, kb.CSAT{ConvID: convID, RequestedAt: h.RequestedAt, AgentID: h.AgentID, Rating: rating,
		Comment: strings.TrimSpace(comment), CreatedAt: s.cfg.Now()})
	if errors.Is(err, kb.ErrExists) {
		return fmt.Errorf("%w: already rated", ErrBadInput)
	}
	return err
}

// recordHandoffMessage puts the customer message that led to a handoff in the unanswered inbox.
func (s *Service) recordHandoffMessage(ctx context.Context, req chat.HandoffRequest) {
	msgs, err := s.store.MessagesBefore(ctx, req.ConvID, math.MaxInt64, 10)
	if err != nil {
		return
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if m.Sender != kb.SenderCustomer || m.Type != "message" || strings.TrimSpace(m.Text) == "" {
			continue
		}
		if err := s.store.AddUnanswered(ctx, kb.Unanswered{ConvID: m.ConvID, Seq: m.Seq, Text: m.Text, Intent: m.Intent,
			Confidence: m.Confidence, Reason: "handoff"}); err != nil {
			s.log.Error("unanswered inbox", "err", err)
		}
		return
	}
}

// --- events ---

// HandoffEvent queues an engine event for the worker.
func (s *Service) HandoffEvent(ev Event) {
	s.mu.Lock()
	s.events = append(s.events, ev)
	s.mu.Unlock()
	s.poke()
}

func (s *Service) later(fn func(context.Context)) {
	s.mu.Lock()
	s.work = append(s.work, fn)
	s.mu.Unlock()
	s.poke()
}

func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run processes events (customer notices, console updates, queue positions) until ctx is done.
func (s *Service) Run(ctx context.Context) {
	tick := time.NewTicker(s.cfg.PositionInterval)
	defer tick.Stop()
	lastPush := time.Time{}
	for {
		s.mu.Lock()
		evs, work := s.events, s.work
		s.events, s.work = nil, nil
		s.mu.Unlock()
		for _, ev := range evs {
			s.handle(ctx, ev)
		}
		for _, fn := range work {
			fn(ctx)
		}
		s.mu.Lock()
		qd := s.queueDirty
		s.queueDirty = false
		s.mu.Unlock()
		if qd && s.hub.count() > 0 {
			s.hub.broadcastQueue()
		}
		if time.Since(lastPush) >= s.cfg.PositionInterval {
			if s.pushPositions(ctx) {
				lastPush = time.Now()
			}
		}
		if len(evs) > 0 || len(work) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			s.hub.closeAll()
			return
		case <-s.wake:
		case <-tick.C:
		}
	}
}

func (s *Service) deliver(ctx context.Context, convID, event, text string, extra map[string]any) {
	out := s.outbound()
	if out == nil {
		return
	}
	p := map[string]any{"event": event}
	for k, v := range extra {
		p[k] = v
	}
	b, _ := json.Marshal(p)
	if _, err := out.Deliver(ctx, kb.Message{ConvID: convID, Sender: kb.SenderSystem, Type: "event", Text: text, Payload: b}); err != nil {
		s.log.Error("handoff: tell the customer", "conv", convID, "event", event, "err", err)
	}
}

func waitText(d time.Duration) string {
	if d < 0 {
		return "An agent will be with you as soon as one is available."
	}
	m := int(math.Ceil(d.Minutes()))
	if m <= 1 {
		return "Estimated wait: about a minute."
	}
	return fmt.Sprintf("Estimated wait: about %d minutes.", m)
}

func waitSeconds(d time.Duration) int {
	if d < 0 {
		return -1
	}
	return int(math.Ceil(d.Seconds()))
}

func (s *Service) tellQueued(ctx context.Context, h Handoff, event string) {
	p, err := s.engine.Position(ctx, h.ConvID)
	if err != nil {
		return // already assigned: the assigned notice follows
	}
	s.mu.Lock()
	s.lastPos[h.ConvID] = p.Position
	s.mu.Unlock()
	s.deliver(ctx, h.ConvID, event,
		fmt.Sprintf("You are number %d in the queue. %s", p.Position, waitText(p.EstimatedWait)),
		map[string]any{"position": p.Position, "wait_s": waitSeconds(p.EstimatedWait)})
}

// handle tells the customer and the consoles about one engine event.
func (s *Service) handle(ctx context.Context, ev Event) {
	switch ev.Kind {
	case EventQueue:
		s.mu.Lock()
		s.dirty[ev.Skill] = true
		s.queueDirty = true
		s.mu.Unlock()
		return
	case EventAgent:
		s.hub.broadcast(frame{Type: "agent", Agent: ev.Agent})
		return
	}
	h := ev.Handoff
	if h == nil {
		return
	}
	s.hub.broadcast(frame{Type: "handoff", Event: string(ev.Kind), Handoff: h, Detail: ev.Detail, PrevAgent: ev.PrevAgent})
	switch ev.Kind {
	case EventQueued:
		s.tellQueued(ctx, *h, "handoff.queued")
	case EventAssigned:
		s.forget(h.ConvID)
		s.deliver(ctx, h.ConvID, "handoff.assigned", fmt.Sprintf("%s joined the conversation.", agentLabel(h.AgentName)),
			map[string]any{"agent_name": agentLabel(h.AgentName), "agent_id": h.AgentID})
	case EventTransferred:
		prev := s.agentName(ctx, ev.PrevAgent)
		s.deliver(ctx, h.ConvID, "handoff.agent_left", fmt.Sprintf("%s left the conversation.", agentLabel(prev)),
			map[string]any{"agent_name": agentLabel(prev)})
		if h.State == StateAssigned {
			s.deliver(ctx, h.ConvID, "handoff.assigned", fmt.Sprintf("%s joined the conversation.", agentLabel(h.AgentName)),
				map[string]any{"agent_name": agentLabel(h.AgentName), "agent_id": h.AgentID})
		} else {
			s.tellQueued(ctx, *h, "handoff.queued")
		}
	case EventRequeued:
		if ev.PrevAgent != "" && ev.Detail != "restart" {
			prev := s.agentName(ctx, ev.PrevAgent)
			s.deliver(ctx, h.ConvID, "handoff.agent_left", fmt.Sprintf("%s left the conversation.", agentLabel(prev)),
				map[string]any{"agent_name": agentLabel(prev)})
		}
		s.tellQueued(ctx, *h, "handoff.queued")
	case EventReturned:
		s.forget(h.ConvID)
		if ev.Detail == "customer_cancelled" {
			s.deliver(ctx, h.ConvID, "handoff.returned", "You left the queue. The shop assistant is here to help.", nil)
		} else {
			s.deliver(ctx, h.ConvID, "handoff.returned", "You are back with the shop assistant. Ask me anything!", nil)
		}
	case EventFailed:
		s.forget(h.ConvID)
		s.deliver(ctx, h.ConvID, "handoff.returned", "Sorry, no agent could take your conversation in time. The shop assistant is back; you can ask for a person again later.",
			map[string]any{"failed": true})
	case EventResolved:
		s.forget(h.ConvID)
		s.deliver(ctx, h.ConvID, "handoff.resolved", "The agent marked this conversation as resolved.", nil)
		if h.AgentID != "" {
			s.deliver(ctx, h.ConvID, "csat.request", "How did we do? Rate this conversation from 1 to 5.",
				map[string]any{"scale": 5})
		}
	}
}

func (s *Service) forget(convID string) {
	s.mu.Lock()
	delete(s.lastPos, convID)
	s.mu.Unlock()
}

func agentLabel(name string) string {
	if name == "" {
		return "An agent"
	}
	return name
}

func (s *Service) agentName(ctx context.Context, id string) string {
	if id == "" {
		return ""
	}
	agents, _ := s.engine.Agents(ctx)
	for _, a := range agents {
		if a.ID == id {
			return a.Name
		}
	}
	return ""
}

// pushPositions sends the new position to every waiting customer of a changed queue whose position
// moved. Reports whether it pushed anything.
func (s *Service) pushPositions(ctx context.Context) bool {
	s.mu.Lock()
	skills := make([]string, 0, len(s.dirty))
	for k := range s.dirty {
		skills = append(skills, k)
	}
	s.dirty = map[string]bool{}
	s.mu.Unlock()
	out := s.outbound()
	if out == nil || len(skills) == 0 {
		return false
	}
	for _, sk := range skills {
		q, _ := s.engine.Queue(ctx, sk)
		for _, e := range q {
			s.mu.Lock()
			last, known := s.lastPos[e.ConvID]
			if known && last != e.Position {
				s.lastPos[e.ConvID] = e.Position
			}
			s.mu.Unlock()
			if !known || last == e.Position {
				continue
			}
			b, _ := json.Marshal(map[string]any{"event": "handoff.position", "position": e.Position,
				"wait_s": waitSeconds(e.EstimatedWait),
				"text":   fmt.Sprintf("You are number %d in the queue. %s", e.Position, waitText(e.EstimatedWait))})
			if err := out.Publish(ctx, chat.Event{Kind: chat.EventEphemeral, Conv: e.ConvID, Type: "event", Payload: b}); err != nil {
				s.log.Warn("handoff: position update", "conv", e.ConvID, "err", err)
			}
		}
	}
	return true
}

// busEvent routes conversation events to the consoles and fills the unanswered inbox. It must not
// block.
func (s *Service) busEvent(ev chat.Event) {
	switch ev.Kind {
	case chat.EventMessage:
		if ev.Message == nil {
			return
		}
		m := *ev.Message
		if s.hub.count() > 0 {
			s.hub.toConv(m.ConvID, frame{Type: "message", Conv: m.ConvID, Message: &m})
		}
		if m.Sender == kb.SenderCustomer && m.Type == "message" && strings.TrimSpace(m.Text) != "" &&
			(m.Intent == intents.OutOfScope || (m.Intent != "" && m.Confidence < s.cfg.LowConfidence)) {
			reason := "low_confidence"
			if m.Intent == intents.OutOfScope {
				reason = "out_of_scope"
			}
			s.later(func(ctx context.Context) {
				if err := s.store.AddUnanswered(ctx, kb.Unanswered{ConvID: m.ConvID, Seq: m.Seq, Text: m.Text, Intent: m.Intent,
					Confidence: m.Confidence, Reason: reason}); err != nil {
					s.log.Error("unanswered inbox", "err", err)
				}
			})
		}
	case chat.EventTyping:
		if ev.Sender == kb.SenderCustomer {
			s.hub.toConv(ev.Conv, frame{Type: "typing", Conv: ev.Conv, Sender: ev.Sender, Typing: ev.Typing})
		}
	}
}

// --- training data from the unanswered inbox ---

// appendTraining appends one labelled example to the training CSV (text,label), writing the header
// when the file is new.
func (s *Service) appendTraining(text, label string) error {
	if s.cfg.TrainingFile == "" {
		return nil
	}
	s.trainMu.Lock()
	defer s.trainMu.Unlock()
	if err := os.MkdirAll(filepath.Dir(s.cfg.TrainingFile), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(s.cfg.TrainingFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	w := csv.NewWriter(f)
	if st.Size() == 0 {
		_ = w.Write([]string{"text", "label"})
	}
	_ = w.Write([]string{strings.Join(strings.Fields(text), " "), label})
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// checkLabel validates an intent label: snake_case, 1-64 bytes.
func checkLabel(l string) error {
	if l == "" || len(l) > 64 || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" || l[0] == '_' {
		return fmt.Errorf("%w: intent %q (snake_case, 1-64 bytes)", ErrBadInput, l)
	}
	return nil
}
