package handoff

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shopchat/shopchat/chat"
	"github.com/shopchat/shopchat/kb"
)

// Console socket frames from the console: {"type":"typing","conv":ID,"typing":true},
// {"type":"watch","conv":ID}, {"type":"unwatch","conv":ID}, {"type":"status","status":"away"},
// {"type":"ping"}. Actions (claim, reply, resolve, ...) go through the HTTP API with the CSRF token.
type inFrame struct {
	Type   string      `json:"type"`
	Conv   string      `json:"conv,omitempty"`
	Typing bool        `json:"typing,omitempty"`
	Status AgentStatus `json:"status,omitempty"`
}

const (
	wsMaxFrame     = 8 << 10
	wsWriteTimeout = 10 * time.Second
	wsPing         = 25 * time.Second
	wsSessionCheck = time.Minute
)

// checkOrigin accepts the console's own origin and the configured ones: a page on another site cannot
// open an agent's socket with the agent's cookie.
func (s *Service) checkOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return false
	}
	if slices.Contains(s.cfg.AllowedOrigins, o) {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

func (s *Service) handleWS(w http.ResponseWriter, r *http.Request) {
	sess, err := s.session(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	if !s.checkOrigin(r) {
		apiError(w, http.StatusForbidden, "origin", "origin not allowed")
		return
	}
	up := websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 8192, CheckOrigin: s.checkOrigin}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader wrote the error
	}
	conn.SetReadLimit(wsMaxFrame)
	c := &client{agentID: sess.Agent.ID, send: make(chan []byte, 512), done: make(chan struct{}), watch: map[string]bool{}}
	s.hub.add(c)
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	st := s.agentConnected(ctx, sess.Agent)
	me := sess.Agent
	hello := frame{Type: "hello", Me: &me, Status: st}
	if b, err := json.Marshal(hello); err == nil {
		trySend(c, b)
	}
	if b, err := json.Marshal(s.queueFrame()); err == nil {
		trySend(c, b)
	}
	mine, _ := s.engine.Assigned(ctx, sess.Agent.ID)
	if b, err := json.Marshal(frame{Type: "mine", Mine: nonNil(mine)}); err == nil {
		trySend(c, b)
	}
	if agents, err := s.engine.Agents(ctx); err == nil {
		if b, err := json.Marshal(frame{Type: "agents", Agents: agents}); err == nil {
			trySend(c, b)
		}
	}
	go s.wsWriter(conn, c)
	s.wsReader(ctx, conn, c, sess)
	s.hub.remove(c)
	conn.Close()
	s.agentDisconnected(sess.Agent)
}

func nonNil(h []Handoff) []Handoff {
	if h == nil {
		return []Handoff{}
	}
	return h
}

func (s *Service) wsWriter(conn *websocket.Conn, c *client) {
	ping := time.NewTicker(wsPing)
	defer ping.Stop()
	defer conn.Close()
	for {
		select {
		case <-c.done:
			_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			return
		case b := <-c.send:
			_ = conn.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
			if err := conn.WriteMessage(websocket.TextMessage, b); err != nil {
				c.close()
				return
			}
		case <-ping.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(wsWriteTimeout)); err != nil {
				c.close()
				return
			}
		}
	}
}

func (s *Service) wsError(c *client, code, msg string) {
	if b, err := json.Marshal(frame{Type: "error", Code: code, Error: msg}); err == nil {
		trySend(c, b)
	}
}

func (s *Service) wsReader(ctx context.Context, conn *websocket.Conn, c *client, sess Session) {
	lastCheck := time.Now()
	for {
		_ = conn.SetReadDeadline(time.Now().Add(2 * wsPing))
		conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(2 * wsPing)) })
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		select {
		case <-c.done:
			return
		default:
		}
		if time.Since(lastCheck) > wsSessionCheck {
			// a logged-out, expired or disabled session loses its socket too
			if _, err := s.auth.store.AgentSession(ctx, sess.tokenHash); err != nil || !s.cfg.Now().Before(sess.ExpiresAt) {
				s.wsError(c, "unauthenticated", "session ended")
				return
			}
			lastCheck = time.Now()
		}
		var f inFrame
		if err := json.Unmarshal(data, &f); err != nil {
			s.wsError(c, "bad_request", "frame is not JSON")
			continue
		}
		switch f.Type {
		case "ping":
			if b, err := json.Marshal(frame{Type: "pong"}); err == nil {
				trySend(c, b)
			}
		case "watch", "unwatch":
			if checkConvID(f.Conv) != nil {
				s.wsError(c, "bad_request", "conv required")
				continue
			}
			s.hub.setWatch(c, f.Conv, f.Type == "watch")
		case "typing":
			h, _ := s.engine.Get(ctx, f.Conv)
			if h.State != StateAssigned || (h.AgentID != sess.Agent.ID && !sess.IsAdmin()) {
				s.wsError(c, "not_assignee", "only the assigned agent may type in this conversation")
				continue
			}
			if out := s.outbound(); out != nil {
				_ = out.Publish(ctx, chat.Event{Kind: chat.EventTyping, Conv: f.Conv, Sender: kb.SenderAgent, AgentID: sess.Agent.ID, Typing: f.Typing})
			}
		case "status":
			if _, err := s.setStatus(ctx, sess.Agent, f.Status); err != nil {
				s.wsError(c, "bad_request", err.Error())
			}
		default:
			s.wsError(c, "bad_request", "unknown frame type")
		}
	}
}

// agentConnected registers the agent with the engine with its chosen status (online on its first
// socket) and cancels a pending offline.
func (s *Service) agentConnected(ctx context.Context, ag kb.Agent) AgentStatus {
	s.mu.Lock()
	s.conns[ag.ID]++
	if t := s.offTimer[ag.ID]; t != nil {
		t.Stop()
		delete(s.offTimer, ag.ID)
	}
	st, ok := s.status[ag.ID]
	if !ok || st == AgentOffline {
		st = AgentOnline
	}
	s.status[ag.ID] = st
	s.mu.Unlock()
	if _, err := s.engine.SetAgent(ctx, agentInfo(ag, st)); err != nil {
		s.log.Error("console: register agent", "agent", ag.ID, "err", err)
	}
	return st
}

// agentDisconnected sets the agent offline OfflineGrace after its last socket closed, so a reload does
// not bounce its conversations.
func (s *Service) agentDisconnected(ag kb.Agent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns[ag.ID]--
	if s.conns[ag.ID] > 0 {
		return
	}
	delete(s.conns, ag.ID)
	if t := s.offTimer[ag.ID]; t != nil {
		t.Stop()
	}
	s.offTimer[ag.ID] = time.AfterFunc(s.cfg.OfflineGrace, func() {
		s.mu.Lock()
		if s.conns[ag.ID] > 0 {
			s.mu.Unlock()
			return
		}
		delete(s.offTimer, ag.ID)
		delete(s.status, ag.ID)
		s.mu.Unlock()
		if _, err := s.engine.SetAgentStatus(context.Background(), ag.ID, AgentOffline); err != nil {
			s.log.Warn("console: agent offline", "agent", ag.ID, "err", err)
		}
	})
}
