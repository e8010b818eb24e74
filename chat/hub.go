package chat

import "sync"

// hub is the registry of live customer sockets per conversation on this node. The first socket of a
// conversation subscribes the hub to the conversation's events on the Bus, the last one unsubscribes.
// It is safe for concurrent use. Lock order: hub.mu, then the bus's lock (Subscribe); Publish calls
// dispatch without holding the bus's lock.
type hub struct {
	bus   Bus
	mu    sync.RWMutex
	convs map[string]*hubConv
	conns map[*conn]struct{}
}

type hubConv struct {
	conns []*conn
	unsub func()
}

func newHub(b Bus) *hub {
	return &hub{bus: b, convs: make(map[string]*hubConv), conns: make(map[*conn]struct{})}
}

// join registers c as a socket of conv.
func (h *hub) join(conv string, c *conn) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	hc := h.convs[conv]
	if hc == nil {
		hc = &hubConv{}
		unsub, err := h.bus.Subscribe(conv, func(ev Event) { h.dispatch(conv, ev) })
		if err != nil {
			return err
		}
		hc.unsub = unsub
		h.convs[conv] = hc
	}
	hc.conns = append(hc.conns, c)
	return nil
}

// leave removes c from conv (a no-op if it is not there).
func (h *hub) leave(conv string, c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	hc := h.convs[conv]
	if hc == nil {
		return
	}
	for i, x := range hc.conns {
		if x == c {
			hc.conns = append(hc.conns[:i:i], hc.conns[i+1:]...)
			break
		}
	}
	if len(hc.conns) == 0 {
		delete(h.convs, conv)
		hc.unsub()
	}
}

// dispatch hands ev to every socket of conv without blocking.
func (h *hub) dispatch(conv string, ev Event) {
	h.mu.RLock()
	var conns []*conn
	if hc := h.convs[conv]; hc != nil {
		conns = hc.conns
	}
	h.mu.RUnlock()
	for _, c := range conns {
		c.deliver(ev)
	}
}

// track and untrack keep the set of all open sockets, for closeAll.
func (h *hub) track(c *conn) {
	h.mu.Lock()
	h.conns[c] = struct{}{}
	h.mu.Unlock()
}

func (h *hub) untrack(c *conn) {
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
}

// count returns the number of sockets of conv on this node.
func (h *hub) count(conv string) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if hc := h.convs[conv]; hc != nil {
		return len(hc.conns)
	}
	return 0
}

// closeAll closes every socket (server shutdown).
func (h *hub) closeAll(reason string) {
	h.mu.RLock()
	conns := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.RUnlock()
	for _, c := range conns {
		c.closeWith(closeGoingAway, reason)
	}
}
