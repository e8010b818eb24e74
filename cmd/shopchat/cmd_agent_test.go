package main

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopchat/shopchat/chat"
	"github.com/shopchat/shopchat/kb"
)

func runCLI(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestAgentCommands(t *testing.T) {
	dir := t.TempDir()
	out, err := runCLI(t, "", "agent", "add", "--data-dir", dir, "--email", "maya@shop.example", "--name", "Maya", "--role", "admin", "--skills", "returns,payments")
	if err != nil || !strings.Contains(out, "added admin Maya") || !strings.Contains(out, "password: ") {
		t.Fatalf("%q %v", out, err)
	}
	if _, err := runCLI(t, "a very long password\n", "agent", "add", "--data-dir", dir, "--email", "tom@shop.example", "--name", "Tom", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	var ue usageError
	if _, err := runCLI(t, "", "agent", "add", "--data-dir", dir, "--email", "x@shop.example", "--name", "X", "--role", "root"); !errors.As(err, &ue) {
		t.Fatalf("bad role: %v", err)
	}
	if _, err := runCLI(t, "short\n", "agent", "add", "--data-dir", dir, "--email", "x@shop.example", "--name", "X", "--password-stdin"); !errors.As(err, &ue) {
		t.Fatalf("short password: %v", err)
	}
	if _, err := runCLI(t, "", "agent", "add", "--data-dir", dir, "--email", "tom@shop.example", "--name", "Tom"); err == nil {
		t.Fatal("duplicate email accepted")
	}
	if _, err := runCLI(t, "", "agent", "disable", "--data-dir", dir, "tom@shop.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "another long password\n", "agent", "reset-password", "--data-dir", dir, "--password-stdin", "maya@shop.example"); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, "", "agent", "list", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "returns,payments") || !strings.Contains(lines[2], "disabled") {
		t.Fatalf("list:\n%s", out)
	}
	if _, err := runCLI(t, "", "agent", "enable", "--data-dir", dir, "nobody@shop.example"); err == nil {
		t.Fatal("enabled an unknown agent")
	}
}

func TestHandoffWiring(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	store, err := kb.Open(ctx, kb.Config{Path: filepath.Join(dir, "kb.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	c := &config{DataDir: dir}
	c.Handoff.WebhookURL = "http://127.0.0.1:1/hook"
	c.Handoff.WebhookSecret = "0123456789abcdef"
	bus := chat.NewMemoryBus()
	h, err := newHandoff(ctx, c, store, bus, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := chat.New(chat.Config{Messages: store, Conversations: store, Bus: bus, Handoff: h.Service})
	if err != nil {
		t.Fatal(err)
	}
	h.Attach(srv)
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/console/api/me", nil))
	if rec.Code != 401 {
		t.Fatalf("console not mounted: %d", rec.Code)
	}
	c.Handoff.WebhookURL = "ftp://nope"
	var ue usageError
	if _, err := newHandoff(ctx, c, store, bus, nil); !errors.As(err, &ue) {
		t.Fatalf("bad webhook URL: %v", err)
	}
	cancel()
	<-done
}
