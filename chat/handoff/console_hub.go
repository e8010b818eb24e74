package handoff

import (
	"encoding/json"
	"sync"

	"github.com/shopchat/shopchat/kb"
)

// frame is one message on the console socket (server to console). Type says which fields are set:
// hello, queue, mine, handoff, agent, message, note, typing, error.
type frame struct {
	Type      string       `json:"type"`
	Event     string       `json:"event,omitempty"`
	Conv      string       `json:"conv,omitempty"`
	Handoff   *Handoff     `json:"handoff,omitempty"`
	Detail    string       `json:"detail,omitempty"`
	PrevAgent string       `json:"prev_agent,omitempty"`
	Agent     *AgentLoad   `json:"agent,omitempty"`
	Me        *kb.Agent    `json:"me,omitempty"`
	Message   *kb.Message  `json:"message,omitempty"`
	Note      *kb.Note     `json:"note,omitempty"`
	Sender    string       `json:"sender,omitempty"`
	Typing    bool         `json:"typing,omitempty"`
	Queue     []QueueEntry `json:"queue,omitempty"`
	Total     *int         `json:"total,omitempty"`
	Mine      []Handoff    `json:"mine,omitempty"`
	Agents    []AgentLoad  `json:"agents,omitempty"`
	Status    AgentStatus  `json:"status,omitempty"`
	Code      string       `json:"code,omitempty"`
	Error     string       `json:"error,omitempty"`
}

// client is one console socket.
type client struct {
	agentID string
	send    chan []byte
	done    chan struct{}
	once    sync.Once
	watch   map[string]bool // guarded by hub.mu
}

func (c *client) close() { c.once.Do(func() { close(c.done) }) }

// hub fans frames out to the console sockets. It is safe for concurrent use.
type hub struct {
	mu      sync.RWMutex
	clients map[*client]struct{}
	// owner returns the agent a conversation is assigned to (set by the Service).
	owner func(conv string) string
	// queue returns the queue snapshot frame (set by the Service).
	queue func() frame
}

func newHub() *hub { return &hub{clients: map[*client]struct{}{}} }

func (h *hub) add(c *client) {
	h.mu.Lock()
	h.clients[c] = struct{}{}
	h.mu.Unlock()
}

func (h *hub) remove(c *client) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
	c.close()
}

func (h *hub) closeAll() {
	h.mu.Lock()
	for c := range h.clients {
		c.close()
	}
	h.mu.Unlock()
}

// trySend queues b for c; a console too slow to keep up is disconnected (it reloads its state on
// reconnect).
func trySend(c *client, b []byte) {
	select {
	case c.send <- b:
	case <-c.done:
	default:
		c.close()
	}
}

func (h *hub) broadcast(f frame) {
	b, err := json.Marshal(f)
	if err != nil {
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.clients {
		trySend(c, b)
	}
}

func (h *hub) broadcastQueue() {
	if h.queue == nil {
		return
	}
	h.broadcast(h.queue())
}

// toConv sends f to the consoles watching conv and to the agent it is assigned to.
func (h *hub) toConv(conv string, f frame) {
	b, err := json.Marshal(f)
	if err != nil {
		return
	}
	owner := ""
	if h.owner != nil {
		owner = h.owner(conv)
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.clients {
		if c.watch[conv] || (owner != "" && c.agentID == owner) {
			trySend(c, b)
		}
	}
}

func (h *hub) setWatch(c *client, conv string, on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if on {
		if len(c.watch) < 50 {
			c.watch[conv] = true
		}
	} else {
		delete(c.watch, conv)
	}
}

func (h *hub) count() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.clients)
}
