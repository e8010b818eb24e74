package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/shopchat/shopchat/kb"
)

func normalizeOrigin(o string) (string, error) {
	if o == "*" || strings.Contains(o, "*") {
		return "", errors.New("wildcards are not allowed; list each origin")
	}
	u, err := url.Parse(strings.TrimRight(o, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || (u.Path != "" && u.Path != "/") {
		return "", errors.New("want scheme://host[:port]")
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// checkOrigin accepts requests without an Origin (not from a browser), from the server's own origin
// and from the configured allow-list; never every origin.
func (s *Server) checkOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	n, err := normalizeOrigin(o)
	return err == nil && s.origins[n]
}

func (s *Server) upgradeError(w http.ResponseWriter, r *http.Request, status int, reason error) {
	result := "bad_handshake"
	if status == http.StatusForbidden {
		result = "origin_rejected"
	}
	s.metrics.connsTotal.WithLabelValues(result).Inc()
	http.Error(w, "websocket: "+reason.Error(), status)
}

func (s *Server) clientIP(r *http.Request) string {
	if s.cfg.TrustForwardedFor {
		if f := r.Header.Get("X-Forwarded-For"); f != "" {
			ip, _, _ := strings.Cut(f, ",")
			return strings.TrimSpace(ip)
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) newConnID() string {
	s.idMu.Lock()
	s.nextID++
	n := s.nextID
	s.idMu.Unlock()
	return "s" + strconv.FormatUint(n, 36)
}

// handleWS upgrades a customer's request and runs the socket.
func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Messages == nil || s.cfg.Conversations == nil {
		http.Error(w, "chat is not configured on this server", http.StatusServiceUnavailable)
		return
	}
	ip := s.clientIP(r)
	now := time.Now()
	if ok, d := s.ipLim.allow(ip, now); !ok {
		s.metrics.connsTotal.WithLabelValues("rate_limited").Inc()
		w.Header().Set("Retry-After", strconv.Itoa(int(d/time.Second)+1))
		http.Error(w, "too many connection attempts from your address; retry later", http.StatusTooManyRequests)
		return
	}
	if !s.ipLim.connect(ip, now) {
		s.metrics.connsTotal.WithLabelValues("too_many").Inc()
		http.Error(w, "too many open connections from your address", http.StatusTooManyRequests)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.ipLim.disconnect(ip, time.Now())
		return // upgradeError answered
	}
	s.metrics.connsTotal.WithLabelValues("accepted").Inc()
	s.metrics.connections.Inc()
	c := &conn{
		s: s, ws: ws, id: s.newConnID(), ip: ip,
		send: make(chan outItem, s.cfg.SendQueue),
		done: make(chan struct{}),
		lim:  connLimiter{lim: rate.NewLimiter(rate.Limit(s.cfg.ConnRate), s.cfg.ConnBurst)},
	}
	s.hub.track(c)
	// The reader runs on its own goroutine so that this handler returns and the HTTP server's
	// per-request state (buffers, a deep stack) is freed: an idle socket costs little memory.
	go c.writeLoop()
	go func() {
		c.readLoop()
		if c.conv != "" {
			s.hub.leave(c.conv, c)
		}
		c.closeWith(closeNormal, "")
		s.hub.untrack(c)
		s.metrics.connections.Dec()
		s.ipLim.disconnect(ip, time.Now())
	}()
}

// readLoop reads frames until the socket fails or closes.
func (c *conn) readLoop() {
	s := c.s
	c.ws.SetReadLimit(int64(s.cfg.MaxFrameBytes) * 4)
	_ = c.ws.SetReadDeadline(time.Now().Add(s.cfg.HelloTimeout))
	c.ws.SetPongHandler(func(string) error {
		return c.ws.SetReadDeadline(time.Now().Add(s.cfg.PongWait))
	})
	for {
		mt, r, err := c.ws.NextReader()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				s.metrics.errors.WithLabelValues(CodeTooLarge).Inc()
			}
			return
		}
		data, over, err := readLimited(r, s.cfg.MaxFrameBytes)
		if err != nil {
			return
		}
		if c.conv != "" {
			_ = c.ws.SetReadDeadline(time.Now().Add(s.cfg.PongWait))
		}
		if over {
			c.sendError("", wireErr(CodeTooLarge, "frame is larger than %d bytes", s.cfg.MaxFrameBytes))
			c.closeAfterQueue(closeTooBig, "frame too large")
			return
		}
		if mt != websocket.TextMessage {
			c.sendError("", wireErr(CodeBadRequest, "binary frames are not accepted; send JSON text frames"))
			continue
		}
		if ok, d := c.lim.allow(time.Now()); !ok {
			c.rateLimited("", d)
			if c.strikes > 3*s.cfg.ConnBurst {
				c.closeAfterQueue(closePolicy, "flood: too many frames")
				return
			}
			continue
		}
		c.strikes = 0
		if !c.handleFrame(data) {
			return
		}
		if c.closed.Load() {
			return
		}
	}
}

func (c *conn) rateLimited(id string, d time.Duration) {
	c.strikes++
	e := wireErr(CodeRateLimited, "too many messages; slow down")
	e.Retryable = true
	e.RetryAfterMS = d.Milliseconds() + 1
	c.sendError(id, e)
}

// closeAfterQueue lets the writer flush what is queued (the error frame) before closing.
func (c *conn) closeAfterQueue(code int, reason string) {
	deadline := time.Now().Add(time.Second)
	for len(c.send) > 0 && time.Now().Before(deadline) && !c.closed.Load() {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond)
	c.closeWith(code, reason)
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readLimited reads a frame of at most max bytes; over reports a larger one (not read to the end).
func readLimited(r io.Reader, max int) (data []byte, over bool, err error) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	n, err := buf.ReadFrom(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return nil, false, err
	}
	if n > int64(max) {
		return nil, true, nil
	}
	return bytes.Clone(buf.Bytes()), false, nil
}

// handleFrame handles one client frame; false ends the socket.
func (c *conn) handleFrame(data []byte) bool {
	s := c.s
	env, werr := DecodeEnvelope(data, s.frames)
	if werr != nil {
		s.metrics.messagesIn.WithLabelValues("invalid").Inc()
		c.sendError(env.ID, werr)
		return true
	}
	s.metrics.messagesIn.WithLabelValues(env.Type).Inc()
	if c.conv == "" && env.Type != TypeHello && env.Type != TypeResume {
		c.sendError(env.ID, wireErr(CodeHelloRequired, "send hello (or resume) first"))
		return true
	}
	if c.conv != "" && env.Conv != "" && env.Conv != c.conv {
		c.sendError(env.ID, wireErr(CodeBadRequest, "this socket belongs to another conversation"))
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ReplyTimeout)
	defer cancel()
	switch env.Type {
	case TypeHello, TypeResume:
		return c.handleHello(ctx, env)
	case TypeMessage:
		c.handleMessage(ctx, env)
	case TypeTyping:
		var p typingPayload
		if e := decodePayload(env.Payload, &p); e != nil {
			c.sendError(env.ID, e)
			return true
		}
		_ = s.bus.Publish(ctx, Event{Kind: EventTyping, Conv: c.conv, Sender: kb.SenderCustomer, Typing: p.State, Origin: c.id})
	case TypeRead:
		var p readPayload
		if e := decodePayload(env.Payload, &p); e != nil {
			c.sendError(env.ID, e)
			return true
		}
		_ = s.bus.Publish(ctx, Event{Kind: EventRead, Conv: c.conv, Sender: kb.SenderCustomer, Seq: p.Seq, Origin: c.id})
	case TypeHistory:
		c.handleHistory(ctx, env)
	case TypeAck:
		// Clients may acknowledge frames; resume uses last_seq, so nothing to do.
	default:
		if s.frameH != nil && s.frames[env.Type] {
			err := s.frameH.HandleCustomerFrame(ctx, CustomerSession{ConvID: c.conv, CustomerID: c.customer, FrameID: env.ID, Origin: c.id}, env.Type, env.Payload)
			if err != nil {
				var we *WireError
				if errors.As(err, &we) {
					c.sendError(env.ID, we)
				} else {
					s.log.Warn("customer frame failed", "type", env.Type, "conv", c.conv, "err", err)
					c.sendError(env.ID, &WireError{Code: CodeInternal, Message: "could not handle the frame", Retryable: true})
				}
			}
		}
	}
	return true
}

// handleHello starts a conversation, or resumes one from a token; false ends the socket.
func (c *conn) handleHello(ctx context.Context, env Envelope) bool {
	s := c.s
	if c.conv != "" {
		if env.Type == TypeResume {
			var p helloPayload
			if e := decodePayload(env.Payload, &p); e != nil {
				c.sendError(env.ID, e)
				return true
			}
			c.enqueue(outItem{kind: itemReset, seq: max(p.LastSeq, 0)})
			return true
		}
		c.sendError(env.ID, wireErr(CodeBadRequest, "hello was already received on this socket"))
		return true
	}
	var p helloPayload
	if e := decodePayload(env.Payload, &p); e != nil {
		c.sendError(env.ID, e)
		return true
	}
	if p.LastSeq < 0 {
		c.sendError(env.ID, wireErr(CodeBadRequest, "last_seq must not be negative"))
		return true
	}
	if len(p.Locale) > 16 {
		c.sendError(env.ID, wireErr(CodeBadRequest, "locale is too long"))
		return true
	}
	now := time.Now()
	customer := ""
	if p.Customer != "" {
		id, err := VerifyIdentity(p.Customer, s.cfg.CustomerSecret, now)
		if err != nil {
			code, msg := CodeBadIdentity, "the customer identity is not valid"
			if errors.Is(err, ErrTokenExpired) {
				msg = "the customer identity has expired; the shop must sign a new one"
			}
			c.sendError(env.ID, wireErr(code, "%s", msg))
			return true
		}
		customer = id.CustomerID
	}
	var conv kb.Conversation
	resumed := false
	if p.Token != "" {
		cl, err := s.tokens.verify(p.Token, now)
		switch {
		case errors.Is(err, ErrTokenExpired):
			c.sendError(env.ID, wireErr(CodeTokenExpired, "the resume token has expired; send hello without a token to start again"))
			return true
		case err != nil:
			c.sendError(env.ID, wireErr(CodeBadToken, "the resume token is not valid"))
			return true
		}
		if customer != "" && cl.Customer != "" && cl.Customer != customer {
			// Another customer logged in on this browser: start a new conversation.
		} else {
			cv, err := s.cfg.Conversations.Conversation(ctx, cl.Conv)
			if errors.Is(err, kb.ErrNotFound) {
				c.sendError(env.ID, wireErr(CodeNotFound, "the conversation no longer exists; send hello without a token"))
				return true
			}
			if err != nil {
				s.log.Error("load conversation", "conv", cl.Conv, "err", err)
				c.sendError(env.ID, &WireError{Code: CodeUnavailable, Message: "try again shortly", Retryable: true})
				return true
			}
			conv, resumed = cv, true
			if customer == "" {
				customer = cl.Customer
			}
		}
	}
	if !resumed {
		cv, err := s.cfg.Conversations.CreateConversation(ctx, kb.Conversation{CustomerID: customer, Locale: p.Locale, Status: "bot"})
		if err != nil {
			s.log.Error("create conversation", "err", err)
			c.sendError(env.ID, &WireError{Code: CodeUnavailable, Message: "try again shortly", Retryable: true})
			return true
		}
		conv = cv
	}
	c.conv, c.customer = conv.ID, customer
	tok := s.tokens.sign(sessionClaims{Conv: conv.ID, Customer: customer, Expires: now.Add(s.cfg.TokenTTL).Unix()})
	wp, _ := json.Marshal(welcomePayload{Token: tok, LastSeq: conv.LastSeq, Customer: customer, Resumed: resumed, Status: conv.Status})
	from := conv.LastSeq
	if resumed {
		from = min(p.LastSeq, conv.LastSeq)
	}
	ts := now.UTC()
	c.enqueue(outItem{kind: itemWelcome, seq: from, env: &Envelope{V: 1, Type: TypeWelcome, ID: env.ID, Conv: conv.ID, TS: &ts, Payload: wp}})
	if err := s.hub.join(conv.ID, c); err != nil {
		s.log.Error("join conversation", "conv", conv.ID, "err", err)
		c.sendError(env.ID, &WireError{Code: CodeUnavailable, Message: "try again shortly", Retryable: true})
		c.closeAfterQueue(closeTryAgainLater, "bus unavailable")
		return false
	}
	_ = c.ws.SetReadDeadline(time.Now().Add(s.cfg.PongWait))
	if resumed {
		c.enqueue(outItem{kind: itemSync})
	}
	return true
}

// handleMessage stores a customer message, acknowledges it and lets the bot answer.
func (c *conn) handleMessage(ctx context.Context, env Envelope) {
	s := c.s
	start := time.Now()
	var p messagePayload
	if e := decodePayload(env.Payload, &p); e != nil {
		c.sendError(env.ID, e)
		return
	}
	p.Text = strings.TrimSpace(p.Text)
	switch {
	case env.ID == "":
		c.sendError("", wireErr(CodeBadRequest, "a message needs an id (the client's id, used to deduplicate resends)"))
		return
	case p.Text == "" && p.Reply == "":
		c.sendError(env.ID, wireErr(CodeBadRequest, "payload.text is empty"))
		return
	case utf8.RuneCountInString(p.Text) > s.cfg.MaxTextRunes:
		c.sendError(env.ID, wireErr(CodeBadRequest, "payload.text is longer than %d characters", s.cfg.MaxTextRunes))
		return
	case len(p.Reply) > 256:
		c.sendError(env.ID, wireErr(CodeBadRequest, "payload.reply is too long"))
		return
	}
	if ok, d := s.ipLim.allow(c.ip, start); !ok {
		c.rateLimited(env.ID, d)
		return
	}
	unlock := s.convLock.lock(c.conv)
	defer unlock()
	m := kb.Message{ConvID: c.conv, ClientID: env.ID, Sender: kb.SenderCustomer, Type: msgTypeMessage, Text: p.Text}
	if p.Reply != "" {
		m.Payload, _ = json.Marshal(map[string]string{"reply": p.Reply})
	}
	var nlu Understanding
	if s.cfg.Bot != nil && p.Text != "" {
		var err error
		nlu, err = s.cfg.Bot.Understand(ctx, p.Text)
		if err != nil {
			s.log.Warn("understand failed", "conv", c.conv, "err", err)
		} else {
			m.Intent, m.Confidence = nlu.Result.Intent, nlu.Result.Confidence
			if len(nlu.Entities) > 0 {
				m.Entities, _ = json.Marshal(nlu.Entities)
			}
		}
	}
	c.noteOwn(env.ID)
	stored, dup, err := s.cfg.Messages.AppendMessage(ctx, m)
	if err != nil {
		s.log.Error("store message", "conv", c.conv, "err", err)
		c.sendError(env.ID, &WireError{Code: CodeUnavailable, Message: "your message was not saved; send it again", Retryable: true})
		return
	}
	ack, _ := json.Marshal(ackPayload{Duplicate: dup})
	ts := stored.CreatedAt
	c.enqueue(outItem{kind: itemAck, seq: stored.Seq, env: &Envelope{V: 1, Type: TypeAck, ID: env.ID, Conv: c.conv, Seq: stored.Seq, TS: &ts, Payload: ack}})
	if dup {
		s.metrics.duplicates.Inc()
	} else {
		if err := s.bus.Publish(ctx, Event{Kind: EventMessage, Conv: c.conv, Message: &stored, Origin: c.id}); err != nil {
			s.log.Warn("publish", "conv", c.conv, "err", err)
		}
	}
	if s.cfg.Mask != nil {
		s.log.Debug("customer message", "conv", c.conv, "seq", stored.Seq, "intent", stored.Intent, "text", s.cfg.Mask(stored.Text))
	}
	if s.cfg.Bot == nil {
		return
	}
	active, err := s.cfg.Handoff.Active(ctx, c.conv)
	if err != nil {
		s.log.Warn("handoff state", "conv", c.conv, "err", err)
	}
	if active {
		return
	}
	typing := s.botTyping(c.conv)
	if len(nlu.Entities) > 0 || nlu.Result.Intent != "" {
		stored.Entities = m.Entities
	}
	err = s.cfg.Bot.Reply(ctx, Turn{ConvID: c.conv, CustomerID: c.customer, Message: stored, Reply: p.Reply, NLU: nlu, Duplicate: dup}, s)
	if shown := typing.stop(); shown && (err != nil || s.cfg.TypingDelay > 0) {
		// The answer clears the indicator; a late "typing" frame, or a failed answer, needs this.
		_ = s.bus.Publish(ctx, Event{Kind: EventTyping, Conv: c.conv, Sender: kb.SenderBot, Typing: false})
	}
	if err != nil {
		s.log.Error("reply failed", "conv", c.conv, "seq", stored.Seq, "err", err)
		c.sendError(env.ID, &WireError{Code: CodeInternal, Message: "the assistant could not answer; please try again", Retryable: true})
		return
	}
	s.metrics.replyLatency.Observe(time.Since(start).Seconds())
}

const maxHistoryPage = 100

// handleHistory sends a page of messages before payload.before.
func (c *conn) handleHistory(ctx context.Context, env Envelope) {
	s := c.s
	var p historyPayload
	if e := decodePayload(env.Payload, &p); e != nil {
		c.sendError(env.ID, e)
		return
	}
	if p.Limit <= 0 || p.Limit > maxHistoryPage {
		p.Limit = maxHistoryPage
	}
	before := p.Before
	if before <= 0 {
		before = 1<<62 - 1
	}
	msgs, err := s.cfg.Messages.MessagesBefore(ctx, c.conv, before, p.Limit)
	if err != nil {
		s.log.Error("history", "conv", c.conv, "err", err)
		c.sendError(env.ID, &WireError{Code: CodeUnavailable, Message: "history is not available; try again", Retryable: true})
		return
	}
	out := make([]Envelope, 0, len(msgs))
	for i := range msgs {
		if msgs[i].Type == msgTypeNote {
			continue
		}
		out = append(out, messageEnvelope(&msgs[i]))
	}
	hasMore := len(msgs) == p.Limit && len(msgs) > 0 && msgs[0].Seq > 1
	b, err := json.Marshal(map[string]any{"messages": out, "has_more": hasMore})
	if err != nil {
		c.sendError(env.ID, &WireError{Code: CodeInternal, Message: fmt.Sprint("history: ", err)})
		return
	}
	c.enqueue(outItem{kind: itemFrame, env: &Envelope{V: 1, Type: TypeHistory, ID: env.ID, Conv: c.conv, Payload: b}})
}

// typingIndicator publishes the bot's typing frame once Config.TypingDelay has passed without an
// answer. It is safe for concurrent use.
type typingIndicator struct {
	mu    sync.Mutex
	t     *time.Timer
	shown bool
	done  bool
}

// botTyping starts the bot's typing indicator for conv.
func (s *Server) botTyping(conv string) *typingIndicator {
	ti := &typingIndicator{}
	publish := func() {
		ti.mu.Lock()
		defer ti.mu.Unlock()
		if ti.done {
			return
		}
		ti.shown = true
		_ = s.bus.Publish(context.Background(), Event{Kind: EventTyping, Conv: conv, Sender: kb.SenderBot, Typing: true})
	}
	if s.cfg.TypingDelay < 0 {
		publish()
		return ti
	}
	ti.mu.Lock()
	ti.t = time.AfterFunc(s.cfg.TypingDelay, publish)
	ti.mu.Unlock()
	return ti
}

// stop ends the indicator and reports whether the typing frame was published.
func (ti *typingIndicator) stop() (shown bool) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	ti.done = true
	if ti.t != nil {
		ti.t.Stop()
	}
	return ti.shown
}
