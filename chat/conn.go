package chat

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shopchat/shopchat/kb"
)

// WebSocket close codes used by the server.
const (
	closeNormal        = websocket.CloseNormalClosure
	closeGoingAway     = websocket.CloseGoingAway
	closePolicy        = websocket.ClosePolicyViolation
	closeTooBig        = websocket.CloseMessageTooBig
	closeTryAgainLater = websocket.CloseTryAgainLater
)

// item kinds in a socket's send queue.
const (
	itemFrame   = iota // a ready frame (error, typing, history, ephemeral)
	itemMessage        // a stored message: sent in seq order, gaps filled from the store
	itemAck            // an ack for the customer's own stored message (counts as delivering its seq)
	itemWelcome        // the welcome frame; sets the seq the client already has
	itemSync           // send everything stored after the last seq sent
	itemReset          // the client asks again from seq (a resume on an open socket)
)

type outItem struct {
	kind int
	env  *Envelope
	msg  *kb.Message
	seq  int64
}

// conn is one customer socket. The HTTP handler's goroutine reads (readLoop), writeLoop writes; the
// send queue between them is bounded. deliver and closeWith may be called from any goroutine.
type conn struct {
	s      *Server
	ws     *websocket.Conn
	id     string
	ip     string
	send   chan outItem
	done   chan struct{}
	closed atomic.Bool
	once   sync.Once
	// needSync is set when a stored message did not fit in the queue: the writer then sends
	// everything after lastSent from the store, so a burst never grows memory nor loses a message.
	needSync atomic.Bool

	// reader-owned
	conv     string
	customer string
	lim      connLimiter
	strikes  int

	// writer-owned
	lastSent int64
	wconv    string

	// ownIDs holds the client ids of the messages this socket sent recently (the last ownIDsMax). Their
	// echo is the ack, so a replay that runs while one is being stored skips it rather than sending
	// the customer's own message back before its ack. Messages sent on an earlier socket are not in it
	// and are replayed as usual.
	ownMu    sync.Mutex
	ownIDs   map[string]struct{}
	ownOrder []string
}

const ownIDsMax = 64

// noteOwn records a client id received on this socket. Safe for concurrent use.
func (c *conn) noteOwn(id string) {
	if id == "" {
		return
	}
	c.ownMu.Lock()
	defer c.ownMu.Unlock()
	if c.ownIDs == nil {
		c.ownIDs = make(map[string]struct{}, ownIDsMax)
	}
	if _, ok := c.ownIDs[id]; ok {
		return
	}
	if len(c.ownOrder) == ownIDsMax {
		delete(c.ownIDs, c.ownOrder[0])
		c.ownOrder = c.ownOrder[1:]
	}
	c.ownIDs[id] = struct{}{}
	c.ownOrder = append(c.ownOrder, id)
}

// isOwn reports whether id was sent on this socket recently. Safe for concurrent use.
func (c *conn) isOwn(id string) bool {
	c.ownMu.Lock()
	defer c.ownMu.Unlock()
	_, ok := c.ownIDs[id]
	return ok
}

// deliver hands a bus event to the writer without blocking; a full queue drops the socket.
func (c *conn) deliver(ev Event) {
	var it outItem
	switch ev.Kind {
	case EventMessage:
		if ev.Message == nil {
			return
		}
		it = outItem{kind: itemMessage, msg: ev.Message}
	case EventTyping:
		if ev.Sender == kb.SenderCustomer {
			return
		}
		p, _ := json.Marshal(map[string]any{"sender": ev.Sender, "state": ev.Typing})
		it = outItem{kind: itemFrame, env: &Envelope{V: 1, Type: TypeTyping, Conv: ev.Conv, Payload: p}}
	case EventRead:
		if ev.Sender == kb.SenderCustomer {
			return
		}
		p, _ := json.Marshal(map[string]any{"sender": ev.Sender, "seq": ev.Seq})
		it = outItem{kind: itemFrame, env: &Envelope{V: 1, Type: TypeRead, Conv: ev.Conv, Payload: p}}
	case EventEphemeral:
		if ev.Type == "" {
			return
		}
		it = outItem{kind: itemFrame, env: &Envelope{V: 1, Type: ev.Type, Conv: ev.Conv, Payload: ev.Payload}}
	default:
		return
	}
	c.enqueue(it)
}

// enqueue queues it without blocking. When the queue is full, a stored message is left to the
// writer's next sync from the store; any other frame means the socket cannot keep up: it is dropped
// as a slow consumer (the client resumes later and gets every stored message).
func (c *conn) enqueue(it outItem) bool {
	if c.closed.Load() {
		return false
	}
	select {
	case c.send <- it:
		return true
	default:
		if it.kind == itemMessage {
			c.needSync.Store(true)
			return true
		}
		c.s.metrics.errors.WithLabelValues(CodeSlowConsumer).Inc()
		c.closeWith(closePolicy, "slow consumer: send queue full")
		return false
	}
}

func (c *conn) sendError(id string, e *WireError) {
	c.s.metrics.errors.WithLabelValues(e.Code).Inc()
	p, _ := json.Marshal(e)
	c.enqueue(outItem{kind: itemFrame, env: &Envelope{V: 1, Type: TypeError, ID: id, Payload: p}})
}

// closeWith closes the socket once, sending a close frame with code and reason first (best effort,
// never blocking the caller for long).
func (c *conn) closeWith(code int, reason string) {
	c.once.Do(func() {
		c.closed.Store(true)
		close(c.done)
		c.s.metrics.disconnections.WithLabelValues(closeReasonLabel(code)).Inc()
		go func() {
			msg := websocket.FormatCloseMessage(code, reason)
			_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
			// Give the peer a moment to read the close frame before the TCP connection goes.
			time.Sleep(50 * time.Millisecond)
			_ = c.ws.Close()
		}()
	})
}

func closeReasonLabel(code int) string {
	switch code {
	case closeNormal:
		return "normal"
	case closeGoingAway:
		return "going_away"
	case closePolicy:
		return "policy"
	case closeTooBig:
		return "too_big"
	case closeTryAgainLater:
		return "try_again_later"
	}
	return "other"
}

// writeLoop sends queued items and pings until the socket closes.
func (c *conn) writeLoop() {
	ticker := time.NewTicker(c.s.cfg.PingInterval)
	defer ticker.Stop()
	for {
		select {
		case it := <-c.send:
			err := c.write(it)
			if err == nil && len(c.send) == 0 && c.needSync.Swap(false) {
				err = c.sync(-1)
			}
			if err != nil {
				if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
					c.s.metrics.errors.WithLabelValues(CodeSlowConsumer).Inc()
					c.closeWith(closePolicy, "slow consumer: write timed out")
				} else {
					c.closeWith(closeGoingAway, "write failed")
				}
				return
			}
		case <-ticker.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.s.cfg.WriteWait)); err != nil {
				c.closeWith(closeGoingAway, "ping failed")
				return
			}
		case <-c.done:
			return
		}
	}
}

func (c *conn) writeEnv(env *Envelope) error {
	b, err := json.Marshal(env)
	if err != nil {
		return err
	}
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteWait))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

func (c *conn) write(it outItem) error {
	switch it.kind {
	case itemFrame:
		return c.writeEnv(it.env)
	case itemWelcome:
		c.wconv = it.env.Conv
		c.lastSent = it.seq
		return c.writeEnv(it.env)
	case itemReset:
		c.lastSent = it.seq
		return c.sync(-1)
	case itemSync:
		return c.sync(-1)
	case itemAck:
		if it.seq-1 > c.lastSent {
			if err := c.sync(it.seq - 1); err != nil {
				return err
			}
		}
		if it.seq > c.lastSent {
			c.lastSent = it.seq
		}
		return c.writeEnv(it.env)
	case itemMessage:
		m := it.msg
		if m.Seq <= c.lastSent || c.wconv == "" {
			return nil
		}
		if m.Seq > c.lastSent+1 {
			if err := c.sync(m.Seq - 1); err != nil {
				return err
			}
		}
		c.lastSent = m.Seq
		if m.Type == msgTypeNote {
			return nil
		}
		env := messageEnvelope(m)
		return c.writeEnv(&env)
	}
	return nil
}

// sync sends the stored messages after lastSent, up to upto (-1 = all), in seq order.
func (c *conn) sync(upto int64) error {
	if c.wconv == "" || (upto >= 0 && upto <= c.lastSent) {
		return nil
	}
	const page = 200
	for {
		ctx, cancel := context.WithTimeout(context.Background(), c.s.cfg.WriteWait)
		msgs, err := c.s.cfg.Messages.MessagesAfter(ctx, c.wconv, c.lastSent, page)
		cancel()
		if err != nil {
			c.s.log.Warn("replay failed", "conv", c.wconv, "err", err)
			return err
		}
		for i := range msgs {
			m := &msgs[i]
			if upto >= 0 && m.Seq > upto {
				return nil
			}
			if m.Seq <= c.lastSent {
				continue
			}
			c.lastSent = m.Seq
			if m.Type == msgTypeNote {
				continue
			}
			if m.Sender == kb.SenderCustomer && m.ClientID != "" && c.isOwn(m.ClientID) {
				// Its ack, queued by the reader, is its delivery, and what follows it (the answer)
				// must not overtake the ack: stop here and sync again once the ack is written.
				c.needSync.Store(true)
				return nil
			}
			c.s.metrics.replays.Inc()
			env := messageEnvelope(m)
			if err := c.writeEnv(&env); err != nil {
				return err
			}
			select {
			case <-c.done:
				return nil
			default:
			}
		}
		if len(msgs) < page {
			return nil
		}
	}
}

// Stored message types (kb.Message.Type).
const (
	msgTypeMessage = "message"
	msgTypeEvent   = "event"
	msgTypeNote    = "note"
)

// messageEnvelope is the customer's frame for a stored message: the fields of its Payload (a JSON
// object) merged with sender, text and agent_id.
func messageEnvelope(m *kb.Message) Envelope {
	typ := TypeMessage
	if m.Type == msgTypeEvent {
		typ = TypeEvent
	}
	fields := map[string]json.RawMessage{}
	if len(m.Payload) > 0 && m.Payload[0] == '{' {
		_ = json.Unmarshal(m.Payload, &fields)
	}
	put := func(k string, v any) {
		b, _ := json.Marshal(v)
		fields[k] = b
	}
	put("sender", m.Sender)
	if m.Text != "" {
		put("text", m.Text)
	}
	if m.AgentID != "" {
		put("agent_id", m.AgentID)
	}
	p, _ := json.Marshal(fields)
	ts := m.CreatedAt
	env := Envelope{V: 1, Type: typ, Conv: m.ConvID, Seq: m.Seq, Payload: p}
	if !ts.IsZero() {
		env.TS = &ts
	}
	if m.Sender == kb.SenderCustomer {
		env.ID = m.ClientID
	}
	return env
}
