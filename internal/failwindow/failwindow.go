// Package failwindow counts failures per key in a sliding time window: failed order lookups per
// requester and per order number, failed console logins per email and per IP. The counts live in
// memory, so a restart forgets them.
package failwindow

import (
	"sync"
	"time"
)

// maxKeys is how many keys may be tracked before idle ones are forgotten at once rather than at the
// next periodic sweep (a spray of distinct keys must not grow memory without bound).
const maxKeys = 100000

// Counter counts failures per key within Window and blocks a key at Max of them. It is safe for
// concurrent use.
type Counter struct {
	max    int
	window time.Duration

	mu    sync.Mutex
	fails map[string][]time.Time // per key, the failures within the window, oldest first, at most max
	sweep time.Time
}

// New returns a Counter that blocks a key after max failures within window.
func New(max int, window time.Duration) *Counter {
	return &Counter{max: max, window: window, fails: map[string][]time.Time{}}
}

// Blocked reports whether key has max failures within the window at now and, if so, how long until
// the oldest of them expires.
func (c *Counter) Blocked(key string, now time.Time) (bool, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ts := c.recent(key, now)
	if len(ts) >= c.max {
		return true, ts[0].Add(c.window).Sub(now)
	}
	return false, 0
}

// Fail records a failure of key at now.
func (c *Counter) Fail(key string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ts := c.recent(key, now); len(ts) < c.max {
		c.fails[key] = append(ts, now)
	}
	if now.Sub(c.sweep) > c.window || len(c.fails) > maxKeys {
		c.sweep = now
		for k := range c.fails {
			c.recent(k, now)
		}
	}
}

// Reset forgets key's failures (after a success).
func (c *Counter) Reset(key string) {
	c.mu.Lock()
	delete(c.fails, key)
	c.mu.Unlock()
}

// recent drops key's failures older than the window and returns the rest. c.mu must be held.
func (c *Counter) recent(key string, now time.Time) []time.Time {
	ts := c.fails[key]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= c.window {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(c.fails, key)
		return nil
	}
	c.fails[key] = ts
	return ts
}
