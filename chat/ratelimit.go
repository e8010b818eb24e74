package chat

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ipLimiter keeps one token bucket per client IP (shared by all that IP's sockets) and counts its open
// connections. It is safe for concurrent use; idle entries are dropped by sweep.
type ipLimiter struct {
	mu      sync.Mutex
	perSec  rate.Limit
	burst   int
	maxConn int
	m       map[string]*ipEntry
}

type ipEntry struct {
	lim   *rate.Limiter
	conns int
	seen  time.Time
}

func newIPLimiter(perSec float64, burst, maxConn int) *ipLimiter {
	return &ipLimiter{perSec: rate.Limit(perSec), burst: burst, maxConn: maxConn, m: make(map[string]*ipEntry)}
}

func (l *ipLimiter) entry(ip string, now time.Time) *ipEntry {
	e := l.m[ip]
	if e == nil {
		e = &ipEntry{lim: rate.NewLimiter(l.perSec, l.burst)}
		l.m[ip] = e
	}
	e.seen = now
	return e
}

// allow takes one token for ip; when none is left it returns false and how long to wait.
func (l *ipLimiter) allow(ip string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entry(ip, now)
	r := e.lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// connect registers a new connection of ip, refusing it beyond maxConn (0 = unlimited).
func (l *ipLimiter) connect(ip string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entry(ip, now)
	if l.maxConn > 0 && e.conns >= l.maxConn {
		return false
	}
	e.conns++
	return true
}

func (l *ipLimiter) disconnect(ip string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.m[ip]; e != nil {
		e.conns--
		e.seen = now
	}
}

// sweep forgets IPs with no connection that were not seen for idle.
func (l *ipLimiter) sweep(now time.Time, idle time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for ip, e := range l.m {
		if e.conns <= 0 && now.Sub(e.seen) > idle {
			delete(l.m, ip)
		}
	}
}

// connLimiter is a per-connection token bucket; used only by the connection's reader goroutine.
type connLimiter struct{ lim *rate.Limiter }

func (c connLimiter) allow(now time.Time) (bool, time.Duration) {
	r := c.lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}
