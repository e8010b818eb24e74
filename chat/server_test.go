package chat

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"
)

func startServer(t *testing.T, checks ...ReadinessCheck) (string, context.CancelFunc, <-chan error) {
	t.Helper()
	s, err := New(Config{Version: "test-1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		s.AddReadinessCheck(c)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	return "http://" + ln.Addr().String(), cancel, done
}

func TestHealthEndpoints(t *testing.T) {
	modelMissing := errors.New("no intent model at var/models/intent")
	tests := []struct {
		name      string
		checks    []ReadinessCheck
		path      string
		wantCode  int
		wantReady bool
	}{
		{"healthz", nil, "/healthz", 200, false},
		{"ready with no parts", nil, "/readyz", 200, true},
		{"ready", []ReadinessCheck{CheckFunc{"database", func(context.Context) error { return nil }}}, "/readyz", 200, true},
		{"not ready", []ReadinessCheck{
			CheckFunc{"database", func(context.Context) error { return nil }},
			CheckFunc{"intent_model", func(context.Context) error { return modelMissing }},
		}, "/readyz", 503, false},
		{"version", nil, "/version", 200, false},
		{"unknown path", nil, "/nope", 404, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, cancel, done := startServer(t, tt.checks...)
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("serve: %v", err)
				}
			}()
			resp, err := http.Get(base + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantCode)
			}
			if tt.path == "/readyz" {
				var rep readyReport
				if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
					t.Fatal(err)
				}
				if rep.Ready != tt.wantReady {
					t.Fatalf("ready = %v, want %v (%+v)", rep.Ready, tt.wantReady, rep)
				}
				if len(rep.Components) != len(tt.checks) {
					t.Fatalf("components %v", rep.Components)
				}
				if !tt.wantReady && rep.Components["intent_model"].Error != modelMissing.Error() {
					t.Fatalf("the failing part's reason is missing: %+v", rep)
				}
			}
			if tt.path == "/version" {
				var v map[string]string
				_ = json.NewDecoder(resp.Body).Decode(&v)
				if v["version"] != "test-1" {
					t.Fatalf("version %v", v)
				}
			}
		})
	}
}

func TestGracefulShutdown(t *testing.T) {
	base, cancel, done := startServer(t)
	if _, err := http.Get(base + "/healthz"); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server did not stop")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("server still answering after shutdown")
	}
}
