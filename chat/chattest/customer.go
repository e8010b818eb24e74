// Package chattest holds what tests of the chat server's packages share: a widget-like client of the
// customer socket. It is meant for tests only.
package chattest

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shopchat/shopchat/chat"
)

// WaitTimeout is how long Customer.Wait waits for a frame before failing the test.
const WaitTimeout = 15 * time.Second

// Customer is a widget-like client of a server's customer socket (/ws). It remembers, across
// reconnections, how many times each seq reached it, so that tests can check that nothing was lost or
// duplicated. Frames are read by a goroutine of its own; Wait, Say and Connect must be called from
// one goroutine at a time, Seen and MaxSeen from any.
type Customer struct {
	T     testing.TB
	WS    *websocket.Conn
	Conv  string
	Token string

	frames  chan chat.Envelope
	mu      sync.Mutex
	seen    map[int64]int // seq -> how many times a message/event frame (or the ack of its own message) carried it
	maxSeen int64
}

// NewCustomer returns a customer that is not connected yet.
func NewCustomer(t testing.TB) *Customer {
	return &Customer{T: t, seen: map[int64]int{}}
}

// Connect opens a socket to base (http://host:port, also sent as the Origin) and says hello,
// resuming from the last seq it saw when it has a token, and returns the welcome.
func (c *Customer) Connect(base string) chat.Envelope {
	c.T.Helper()
	h := http.Header{}
	h.Set("Origin", base)
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/ws", h)
	if err != nil {
		c.T.Fatal(err)
	}
	c.WS = ws
	c.frames = make(chan chat.Envelope, 256)
	c.T.Cleanup(func() { ws.Close() })
	go c.read(ws, c.frames)
	p := map[string]any{}
	if c.Token != "" {
		p["token"], p["last_seq"] = c.Token, c.MaxSeen()
	}
	b, _ := json.Marshal(p)
	if err := ws.WriteJSON(chat.Envelope{V: 1, Type: chat.TypeHello, ID: "hello", Payload: b}); err != nil {
		c.T.Fatal(err)
	}
	w := c.Wait("welcome", func(e chat.Envelope) bool { return e.Type == chat.TypeWelcome })
	c.Conv = w.Conv
	c.Token, _ = Payload(w)["token"].(string)
	return w
}

func (c *Customer) read(ws *websocket.Conn, frames chan<- chat.Envelope) {
	defer close(frames)
	for {
		var env chat.Envelope
		if err := ws.ReadJSON(&env); err != nil {
			return
		}
		if env.Seq > 0 {
			c.mu.Lock()
			switch env.Type {
			case chat.TypeMessage, chat.TypeEvent:
				c.seen[env.Seq]++
			case chat.TypeAck:
				if c.seen[env.Seq] == 0 { // its own message, stored: the ack is its one copy
					c.seen[env.Seq] = 1
				}
			}
			if env.Type == chat.TypeMessage || env.Type == chat.TypeEvent || env.Type == chat.TypeAck {
				c.maxSeen = max(c.maxSeen, env.Seq)
			}
			c.mu.Unlock()
		}
		frames <- env
	}
}

// Say sends a text message with the client id id.
func (c *Customer) Say(id, text string) {
	c.T.Helper()
	b, _ := json.Marshal(map[string]string{"text": text})
	if err := c.WS.WriteJSON(chat.Envelope{V: 1, Type: chat.TypeMessage, ID: id, Conv: c.Conv, Payload: b}); err != nil {
		c.T.Fatal(err)
	}
}

// Wait reads frames until ok accepts one and returns it; it fails the test after WaitTimeout or when
// the socket closes.
func (c *Customer) Wait(what string, ok func(chat.Envelope) bool) chat.Envelope {
	c.T.Helper()
	deadline := time.After(WaitTimeout)
	for {
		select {
		case env, open := <-c.frames:
			if !open {
				c.T.Fatalf("customer socket closed while waiting for %s", what)
			}
			if ok(env) {
				return env
			}
		case <-deadline:
			c.T.Fatalf("customer: timed out waiting for %s", what)
		}
	}
}

// Seen reports how many times seq reached the customer.
func (c *Customer) Seen(seq int64) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen[seq]
}

// MaxSeen is the highest seq that reached the customer.
func (c *Customer) MaxSeen() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.maxSeen
}

// Payload decodes a frame's payload as a JSON object (nil when it is not one).
func Payload(e chat.Envelope) map[string]any {
	var m map[string]any
	_ = json.Unmarshal(e.Payload, &m)
	return m
}

// IsEvent matches the event frames named name.
func IsEvent(name string) func(chat.Envelope) bool {
	return func(e chat.Envelope) bool { return e.Type == chat.TypeEvent && Payload(e)["event"] == name }
}
