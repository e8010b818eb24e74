package handoff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shopchat/shopchat/chat"
	"github.com/shopchat/shopchat/kb"
	"github.com/shopchat/shopchat/web/console"
)

// CookieName is the console session cookie (Path /console, HttpOnly, SameSite=Strict).
const CookieName = "shopchat_console"

// HeaderCSRF carries the session's CSRF token on every state-changing console request.
const HeaderCSRF = "X-CSRF-Token"

const maxBody = 64 << 10

// Handler returns the console: the embedded UI at /console/, its JSON API under /console/api/ and its
// socket at /console/ws. Mount it on the chat server with srv.Handle("/console/", svc.Handler()).
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(console.FS, ".")
	files := http.FileServerFS(static)
	mux.Handle("GET /console/", http.StripPrefix("/console/", securityHeaders(files)))
	mux.HandleFunc("POST /console/api/login", s.handleLogin)
	mux.HandleFunc("POST /console/api/logout", s.authed(roleAgent, s.handleLogout))
	mux.HandleFunc("GET /console/api/me", s.authed(roleAgent, s.handleMe))
	mux.HandleFunc("POST /console/api/status", s.authed(roleAgent, s.handleStatus))
	mux.HandleFunc("GET /console/api/queue", s.authed(roleAgent, s.handleQueue))
	mux.HandleFunc("GET /console/api/mine", s.authed(roleAgent, s.handleMine))
	mux.HandleFunc("GET /console/api/live", s.authed(roleAgent, s.handleLive))
	mux.HandleFunc("GET /console/api/agents", s.authed(roleAgent, s.handleAgents))
	mux.HandleFunc("GET /console/api/conversations/{id}", s.authed(roleAgent, s.handleConversation))
	mux.HandleFunc("POST /console/api/conversations/{id}/{action}", s.authed(roleAgent, s.handleAction))
	mux.HandleFunc("GET /console/api/canned", s.authed(roleAgent, s.handleCannedList))
	mux.HandleFunc("POST /console/api/canned", s.authed(roleAdmin, s.handleCannedSave))
	mux.HandleFunc("DELETE /console/api/canned/{id}", s.authed(roleAdmin, s.handleCannedDelete))
	mux.HandleFunc("GET /console/api/unanswered", s.authed(roleAgent, s.handleUnanswered))
	mux.HandleFunc("POST /console/api/unanswered/{id}/label", s.authed(roleAgent, s.handleLabel))
	mux.HandleFunc("GET /console/api/reports", s.authed(roleAdmin, s.handleReports))
	mux.HandleFunc("GET /console/api/webhooks/deliveries", s.authed(roleAdmin, s.handleDeliveries))
	mux.HandleFunc("GET /console/ws", s.handleWS)
	return mux
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

type role int

const (
	roleAgent role = iota
	roleAdmin
)

type apiErr struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	State   string `json:"state,omitempty"`
}

func apiError(w http.ResponseWriter, code int, kind, msg string) {
	writeJSON(w, code, apiErr{Error: kind, Message: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// fail maps an error to its HTTP status and a clear body.
func (s *Service) fail(w http.ResponseWriter, err error) {
	var te *TransitionError
	var re *RetryError
	switch {
	case errors.As(err, &te):
		writeJSON(w, http.StatusConflict, apiErr{Error: "transition", Message: err.Error(), State: string(te.From)})
	case errors.As(err, &re):
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(re.After.Seconds()))))
		apiError(w, http.StatusTooManyRequests, "too_many_attempts", err.Error())
	case errors.Is(err, ErrNoSession):
		apiError(w, http.StatusUnauthorized, "unauthenticated", err.Error())
	case errors.Is(err, ErrBadCredentials):
		apiError(w, http.StatusUnauthorized, "bad_credentials", err.Error())
	case errors.Is(err, ErrCSRF):
		apiError(w, http.StatusForbidden, "csrf", err.Error())
	case errors.Is(err, ErrForbidden):
		apiError(w, http.StatusForbidden, "forbidden", err.Error())
	case errors.Is(err, ErrNotAssignee):
		apiError(w, http.StatusForbidden, "not_assignee", err.Error())
	case errors.Is(err, ErrAgentUnavailable), errors.Is(err, ErrAgentAtCapacity):
		apiError(w, http.StatusConflict, "agent_unavailable", err.Error())
	case errors.Is(err, errTooLarge):
		apiError(w, http.StatusRequestEntityTooLarge, "too_large", err.Error())
	case errors.Is(err, ErrBadInput), errors.Is(err, kb.ErrInvalid):
		apiError(w, http.StatusBadRequest, "bad_request", err.Error())
	case errors.Is(err, ErrNotFound), errors.Is(err, kb.ErrNotFound):
		apiError(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, kb.ErrExists):
		apiError(w, http.StatusConflict, "exists", err.Error())
	default:
		s.log.Error("console", "err", err)
		apiError(w, http.StatusInternalServerError, "internal", "internal error")
	}
}

var errTooLarge = errors.New("handoff: too large")

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// session authenticates the request's cookie.
func (s *Service) session(r *http.Request) (Session, error) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return Session{}, ErrNoSession
	}
	return s.auth.Authenticate(r.Context(), c.Value)
}

// authed wraps a console endpoint: a valid session, the CSRF token on every state-changing method,
// and the role.
func (s *Service) authed(need role, h func(http.ResponseWriter, *http.Request, Session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.session(r)
		if err != nil {
			s.fail(w, err)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := sess.CheckCSRF(r.Header.Get(HeaderCSRF)); err != nil {
				s.fail(w, err)
				return
			}
		}
		if need == roleAdmin && !sess.IsAdmin() {
			s.fail(w, fmt.Errorf("%w: admins only", ErrForbidden))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		h(w, r, sess)
	}
}

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fmt.Errorf("%w: body larger than %d bytes", errTooLarge, maxBody)
		}
		return fmt.Errorf("%w: JSON body: %v", ErrBadInput, err)
	}
	return nil
}

type loginReq struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type meResp struct {
	Agent     kb.Agent    `json:"agent"`
	CSRF      string      `json:"csrf"`
	ExpiresAt time.Time   `json:"expires_at"`
	Status    AgentStatus `json:"status"`
	Variables []string    `json:"canned_variables"`
}

func (s *Service) handleLogin(w http.ResponseWriter, r *http.Request) {
	// JSON only: a cross-site HTML form cannot send it, so another site cannot log a browser in.
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		apiError(w, http.StatusUnsupportedMediaType, "bad_request", "login takes a JSON body (Content-Type: application/json)")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	var req loginReq
	if err := decode(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	sess, token, err := s.auth.Login(r.Context(), req.Email, req.Password, remoteIP(r), r.UserAgent())
	if err != nil {
		s.fail(w, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: token, Path: "/console", Expires: sess.ExpiresAt,
		MaxAge: int(time.Until(sess.ExpiresAt).Seconds()), HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: s.cfg.SecureCookies || r.TLS != nil,
	})
	writeJSON(w, http.StatusOK, s.me(sess))
}

func (s *Service) me(sess Session) meResp {
	s.mu.Lock()
	st, ok := s.status[sess.Agent.ID]
	s.mu.Unlock()
	if !ok {
		st = AgentOffline
	}
	return meResp{Agent: sess.Agent, CSRF: sess.CSRF, ExpiresAt: sess.ExpiresAt, Status: st, Variables: CannedVariables}
}

func (s *Service) handleLogout(w http.ResponseWriter, r *http.Request, sess Session) {
	if err := s.auth.Logout(r.Context(), sess); err != nil {
		s.fail(w, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/console", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (s *Service) handleMe(w http.ResponseWriter, r *http.Request, sess Session) {
	writeJSON(w, http.StatusOK, s.me(sess))
}

type statusReq struct {
	Status AgentStatus `json:"status"`
}

func (s *Service) handleStatus(w http.ResponseWriter, r *http.Request, sess Session) {
	var req statusReq
	if err := decode(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	l, err := s.setStatus(r.Context(), sess.Agent, req.Status)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, l)
}

// setStatus records the agent's chosen status and tells the engine.
func (s *Service) setStatus(ctx context.Context, ag kb.Agent, st AgentStatus) (AgentLoad, error) {
	if !st.Valid() {
		return AgentLoad{}, fmt.Errorf("%w: status %q (want online, away or offline)", ErrBadInput, st)
	}
	s.mu.Lock()
	s.status[ag.ID] = st
	s.mu.Unlock()
	return s.engine.SetAgent(ctx, agentInfo(ag, st))
}

func agentInfo(ag kb.Agent, st AgentStatus) AgentInfo {
	return AgentInfo{ID: ag.ID, Name: ag.Name, Status: st, MaxConcurrent: ag.MaxConcurrent, Skills: ag.Skills}
}

const queueSnapshot = 200

func (s *Service) queueFrame() frame {
	head, n := s.engine.QueueHead(context.Background(), queueSnapshot)
	if head == nil {
		head = []QueueEntry{}
	}
	return frame{Type: "queue", Queue: head, Total: &n}
}

func (s *Service) handleQueue(w http.ResponseWriter, r *http.Request, sess Session) {
	writeJSON(w, http.StatusOK, s.queueFrame())
}

func (s *Service) handleMine(w http.ResponseWriter, r *http.Request, sess Session) {
	mine, _ := s.engine.Assigned(r.Context(), sess.Agent.ID)
	if mine == nil {
		mine = []Handoff{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"mine": mine})
}

func (s *Service) handleLive(w http.ResponseWriter, r *http.Request, sess Session) {
	live, err := s.store.LiveConversations(r.Context(), s.cfg.Now().Add(-30*time.Minute), 50)
	if err != nil {
		s.fail(w, err)
		return
	}
	if live == nil {
		live = []kb.LiveConversation{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"live": live})
}

func (s *Service) handleAgents(w http.ResponseWriter, r *http.Request, sess Session) {
	agents, _ := s.engine.Agents(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"agents": agents})
}

// transcript is what the console shows for one conversation.
type transcript struct {
	Handoff      Handoff           `json:"handoff"`
	Conversation kb.Conversation   `json:"conversation"`
	Customer     *kb.Customer      `json:"customer,omitempty"`
	Orders       []kb.Order        `json:"orders"`
	Messages     []kb.Message      `json:"messages"`
	Notes        []kb.Note         `json:"notes"`
	Events       []kb.HandoffEvent `json:"events"`
	Mine         bool              `json:"mine"`
}

func checkConvID(id string) error {
	if id == "" || len(id) > 128 {
		return fmt.Errorf("%w: conversation id", ErrBadInput)
	}
	return nil
}

func (s *Service) handleConversation(w http.ResponseWriter, r *http.Request, sess Session) {
	id := r.PathValue("id")
	if err := checkConvID(id); err != nil {
		s.fail(w, err)
		return
	}
	ctx := r.Context()
	conv, err := s.store.Conversation(ctx, id)
	if err != nil {
		s.fail(w, err)
		return
	}
	h, _ := s.engine.Get(ctx, id)
	t := transcript{Handoff: h, Conversation: conv, Mine: h.State == StateAssigned && h.AgentID == sess.Agent.ID,
		Orders: []kb.Order{}, Notes: []kb.Note{}, Events: []kb.HandoffEvent{}}
	if t.Messages, err = s.store.MessagesBefore(ctx, id, math.MaxInt64, 200); err != nil {
		s.fail(w, err)
		return
	}
	if t.Messages == nil {
		t.Messages = []kb.Message{}
	}
	if n, err := s.store.Notes(ctx, id); err == nil && n != nil {
		t.Notes = n
	}
	if e, err := s.store.HandoffEvents(ctx, id); err == nil && e != nil {
		t.Events = e
	}
	if conv.CustomerID != "" {
		if c, err := s.store.Customer(ctx, conv.CustomerID); err == nil {
			t.Customer = &c
		}
		if o, err := s.store.RecentOrders(ctx, conv.CustomerID, 5); err == nil && o != nil {
			t.Orders = o
		}
	}
	writeJSON(w, http.StatusOK, t)
}

type actionReq struct {
	Text     string `json:"text,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	ToAgent  string `json:"to_agent,omitempty"`
	ToSkill  string `json:"to_skill,omitempty"`
	// ToQueue transfers to the general queue (to_skill "" with to_queue true).
	ToQueue bool `json:"to_queue,omitempty"`
}

func (s *Service) handleAction(w http.ResponseWriter, r *http.Request, sess Session) {
	id := r.PathValue("id")
	if err := checkConvID(id); err != nil {
		s.fail(w, err)
		return
	}
	var req actionReq
	if r.ContentLength != 0 {
		if err := decode(r, &req); err != nil {
			s.fail(w, err)
			return
		}
	}
	ctx := r.Context()
	actor := sess.Actor()
	var h Handoff
	var err error
	switch r.PathValue("action") {
	case "claim":
		h, err = s.engine.Claim(ctx, id, actor)
	case "takeover":
		conv, cerr := s.store.Conversation(ctx, id)
		if cerr != nil {
			s.fail(w, cerr)
			return
		}
		name := ""
		if conv.CustomerID != "" {
			if c, err := s.store.Customer(ctx, conv.CustomerID); err == nil {
				name = strings.TrimSpace(c.FirstName + " " + c.LastName)
			}
		}
		h, err = s.engine.Takeover(ctx, Request{ConvID: id, CustomerID: conv.CustomerID, CustomerName: name}, actor)
	case "resolve":
		h, err = s.engine.Resolve(ctx, id, actor)
	case "return":
		h, err = s.engine.ReturnToBot(ctx, id, actor)
	case "transfer":
		switch {
		case req.ToAgent != "":
			h, err = s.engine.TransferToAgent(ctx, id, actor, req.ToAgent)
		case req.ToSkill != "" || req.ToQueue:
			h, err = s.engine.TransferToSkill(ctx, id, actor, strings.ToLower(strings.TrimSpace(req.ToSkill)))
		default:
			err = fmt.Errorf("%w: transfer needs to_agent, to_skill or to_queue", ErrBadInput)
		}
	case "reply":
		m, rerr := s.reply(ctx, sess, id, req)
		if rerr != nil {
			s.fail(w, rerr)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"message": m})
		return
	case "notes":
		n, nerr := s.addNote(ctx, sess, id, req.Text)
		if nerr != nil {
			s.fail(w, nerr)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"note": n})
		return
	default:
		apiError(w, http.StatusNotFound, "not_found", "unknown action "+strconv.Quote(r.PathValue("action")))
		return
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"handoff": h})
}

// reply sends an agent's message to the customer: only the assignee (or an admin) of an assigned
// conversation may.
func (s *Service) reply(ctx context.Context, sess Session, convID string, req actionReq) (kb.Message, error) {
	text := strings.TrimSpace(req.Text)
	if text == "" {
		return kb.Message{}, fmt.Errorf("%w: empty reply", ErrBadInput)
	}
	if len(text) > s.cfg.MaxReplyBytes {
		return kb.Message{}, fmt.Errorf("%w: reply longer than %d bytes", errTooLarge, s.cfg.MaxReplyBytes)
	}
	if len(req.ClientID) > 64 {
		return kb.Message{}, fmt.Errorf("%w: client_id longer than 64 bytes", ErrBadInput)
	}
	if _, err := s.engine.AgentReplied(ctx, convID, sess.Actor()); err != nil {
		return kb.Message{}, err
	}
	out := s.outbound()
	if out == nil {
		return kb.Message{}, errors.New("handoff: no outbound to the customers")
	}
	payload, _ := json.Marshal(map[string]string{"agent_name": sess.Agent.Name})
	m, err := out.Deliver(ctx, kb.Message{ConvID: convID, Sender: kb.SenderAgent, AgentID: sess.Agent.ID, Type: "message",
		Text: text, ClientID: req.ClientID, Payload: payload})
	if err != nil {
		return kb.Message{}, err
	}
	_ = out.Publish(ctx, chat.Event{Kind: chat.EventTyping, Conv: convID, Sender: kb.SenderAgent, AgentID: sess.Agent.ID, Typing: false})
	return m, nil
}

func (s *Service) addNote(ctx context.Context, sess Session, convID, text string) (kb.Note, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return kb.Note{}, fmt.Errorf("%w: empty note", ErrBadInput)
	}
	if len(text) > s.cfg.MaxNoteBytes {
		return kb.Note{}, fmt.Errorf("%w: note longer than %d bytes", errTooLarge, s.cfg.MaxNoteBytes)
	}
	if _, err := s.store.Conversation(ctx, convID); err != nil {
		return kb.Note{}, err
	}
	n, err := s.store.AddNote(ctx, kb.Note{ConvID: convID, AgentID: sess.Agent.ID, Text: text})
	if err != nil {
		return kb.Note{}, err
	}
	s.hub.toConv(convID, frame{Type: "note", Conv: convID, Note: &n})
	return n, nil
}

type cannedView struct {
	kb.CannedResponse
	Rendered string   `json:"rendered,omitempty"`
	Missing  []string `json:"missing,omitempty"`
}

// handleCannedList lists canned responses; with ?conv=ID each is also rendered for that conversation.
func (s *Service) handleCannedList(w http.ResponseWriter, r *http.Request, sess Session) {
	ctx := r.Context()
	list, err := s.store.ListCanned(ctx)
	if err != nil {
		s.fail(w, err)
		return
	}
	var vars map[string]string
	if conv := r.URL.Query().Get("conv"); conv != "" {
		vars = s.variables(ctx, conv, sess.Agent)
	}
	out := make([]cannedView, 0, len(list))
	for _, c := range list {
		v := cannedView{CannedResponse: c}
		if vars != nil {
			v.Rendered, v.Missing = RenderCanned(c.Text, vars)
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"canned": out, "variables": CannedVariables})
}

// variables are the values of the canned-response variables for a conversation.
func (s *Service) variables(ctx context.Context, convID string, ag kb.Agent) map[string]string {
	vars := map[string]string{"agent.name": ag.Name}
	conv, err := s.store.Conversation(ctx, convID)
	if err != nil || conv.CustomerID == "" {
		return vars
	}
	if c, err := s.store.Customer(ctx, conv.CustomerID); err == nil {
		vars["customer.first_name"], vars["customer.last_name"], vars["customer.email"] = c.FirstName, c.LastName, c.Email
	}
	if o, err := s.store.RecentOrders(ctx, conv.CustomerID, 1); err == nil && len(o) > 0 {
		vars["order.number"], vars["order.status"] = o[0].Number, o[0].Status
	}
	return vars
}

type cannedReq struct {
	ID       int64  `json:"id,omitempty"`
	Shortcut string `json:"shortcut"`
	Title    string `json:"title"`
	Text     string `json:"text"`
}

func (s *Service) handleCannedSave(w http.ResponseWriter, r *http.Request, sess Session) {
	var req cannedReq
	if err := decode(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	req.Shortcut = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(req.Shortcut), "/"))
	if err := checkCanned(req.Shortcut, req.Title, req.Text); err != nil {
		s.fail(w, err)
		return
	}
	c, err := s.store.SaveCanned(r.Context(), kb.CannedResponse{ID: req.ID, Shortcut: req.Shortcut, Title: strings.TrimSpace(req.Title),
		Text: req.Text, CreatedBy: sess.Agent.ID})
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Service) handleCannedDelete(w http.ResponseWriter, r *http.Request, sess Session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.fail(w, fmt.Errorf("%w: canned response id", ErrBadInput))
		return
	}
	if err := s.store.DeleteCanned(r.Context(), id); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (s *Service) handleUnanswered(w http.ResponseWriter, r *http.Request, sess Session) {
	all := r.URL.Query().Get("all") == "1"
	list, err := s.store.ListUnanswered(r.Context(), !all, 200)
	if err != nil {
		s.fail(w, err)
		return
	}
	if list == nil {
		list = []kb.Unanswered{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"unanswered": list})
}

type labelReq struct {
	Intent string `json:"intent"`
}

// handleLabel labels an unanswered message and appends it to the training file.
func (s *Service) handleLabel(w http.ResponseWriter, r *http.Request, sess Session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.fail(w, fmt.Errorf("%w: unanswered id", ErrBadInput))
		return
	}
	var req labelReq
	if err := decode(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	label := strings.ToLower(strings.TrimSpace(req.Intent))
	if err := checkLabel(label); err != nil {
		s.fail(w, err)
		return
	}
	u, err := s.store.LabelUnanswered(r.Context(), id, label, sess.Agent.ID)
	if err != nil {
		s.fail(w, err)
		return
	}
	if err := s.appendTraining(u.Text, label); err != nil {
		s.fail(w, fmt.Errorf("append to the training file: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Service) handleReports(w http.ResponseWriter, r *http.Request, sess Session) {
	q := r.URL.Query()
	to := s.cfg.Now()
	from := to.Add(-7 * 24 * time.Hour)
	for name, dst := range map[string]*time.Time{"from": &from, "to": &to} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				if d, derr := time.Parse("2006-01-02", v); derr == nil {
					t = d
				} else {
					s.fail(w, fmt.Errorf("%w: %s=%q (RFC 3339 or YYYY-MM-DD)", ErrBadInput, name, v))
					return
				}
			}
			*dst = t
		}
	}
	if !from.Before(to) {
		s.fail(w, fmt.Errorf("%w: from must be before to", ErrBadInput))
		return
	}
	rep, err := s.store.HandoffReport(r.Context(), from, to)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (s *Service) handleDeliveries(w http.ResponseWriter, r *http.Request, sess Session) {
	if s.cfg.Webhooks == nil {
		writeJSON(w, http.StatusOK, map[string]any{"deliveries": []kb.WebhookDelivery{}, "configured": false})
		return
	}
	list, err := s.cfg.Webhooks.Deliveries(r.Context(), 200)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": list, "configured": true})
}
