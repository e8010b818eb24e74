package chat

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"sync"
	"time"
)

// ReadinessCheck reports whether one part of the server (a model, the database, the bus) is ready.
// Ready must return quickly and be safe for concurrent use.
type ReadinessCheck interface {
	Name() string
	Ready(ctx context.Context) error
}

// CheckFunc adapts a function to ReadinessCheck.
type CheckFunc struct {
	Label string
	Fn    func(ctx context.Context) error
}

// Name returns the check's label.
func (c CheckFunc) Name() string { return c.Label }

// Ready calls the function.
func (c CheckFunc) Ready(ctx context.Context) error { return c.Fn(ctx) }

// readiness is the set of registered checks. It is safe for concurrent use.
type readiness struct {
	mu     sync.RWMutex
	checks []ReadinessCheck
}

func (r *readiness) add(c ReadinessCheck) {
	r.mu.Lock()
	r.checks = append(r.checks, c)
	r.mu.Unlock()
}

type componentStatus struct {
	Ready bool   `json:"ready"`
	Error string `json:"error,omitempty"`
}

type readyReport struct {
	Ready      bool                       `json:"ready"`
	Components map[string]componentStatus `json:"components"`
}

func (r *readiness) report(ctx context.Context) readyReport {
	r.mu.RLock()
	checks := append([]ReadinessCheck(nil), r.checks...)
	r.mu.RUnlock()
	sort.Slice(checks, func(i, j int) bool { return checks[i].Name() < checks[j].Name() })
	rep := readyReport{Ready: true, Components: make(map[string]componentStatus, len(checks))}
	for _, c := range checks {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := c.Ready(cctx)
		cancel()
		st := componentStatus{Ready: err == nil}
		if err != nil {
			st.Error = err.Error()
			rep.Ready = false
		}
		rep.Components[c.Name()] = st
	}
	return rep
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	rep := s.ready.report(r.Context())
	code := http.StatusOK
	if !rep.Ready {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, rep)
}

func (s *Server) handleVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"version": s.cfg.Version})
}
