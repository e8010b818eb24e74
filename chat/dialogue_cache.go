package chat

import (
	"sync"
	"time"
)

// stateCache keeps the dialogue state of recently answered conversations in memory, so that a turn
// does not read and decode it from the store again. It is write-through: an entry is put back only
// after the turn's answers and the state were stored. An entry is used only while nothing else
// happened in the conversation since the bot answered: the customer message being answered must be
// the very next seq after the bot's last answer. A message from an agent, a system event, or a turn
// answered by another node takes a seq and so sends the turn to the store. It is safe for concurrent
// use.
type stateCache struct {
	mu      sync.Mutex
	max     int
	ttl     time.Duration
	entries map[string]cachedState
}

// cachedState is a conversation's state after the bot answered up to seq (its last stored answer).
type cachedState struct {
	st         *dialogueState
	locale     string // the conversation's locale
	customerID string // the conversation's customer
	seq        int64
	at         time.Time
}

func newStateCache(max int, ttl time.Duration) *stateCache {
	if max <= 0 {
		return nil
	}
	return &stateCache{max: max, ttl: ttl, entries: make(map[string]cachedState, min(max, 1024))}
}

// take removes and returns conv's entry when it is current for a customer message with seq msgSeq.
// The caller owns the state until it puts it back.
func (c *stateCache) take(conv string, msgSeq int64, now time.Time) (cachedState, bool) {
	if c == nil {
		return cachedState{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[conv]
	if !ok {
		return cachedState{}, false
	}
	delete(c.entries, conv)
	if e.seq != msgSeq-1 || now.Sub(e.at) > c.ttl {
		return cachedState{}, false
	}
	return e, true
}

// put stores conv's entry. When the cache is full it makes room for a few more at once: it drops the
// expired entries, then arbitrary ones down to 15/16 of max.
func (c *stateCache) put(conv string, e cachedState) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[conv]; !ok && len(c.entries) >= c.max {
		for k, old := range c.entries {
			if e.at.Sub(old.at) > c.ttl {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) <= c.max-max(1, c.max/16) {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[conv] = e
}

// drop forgets conv.
func (c *stateCache) drop(conv string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.entries, conv)
	c.mu.Unlock()
}
