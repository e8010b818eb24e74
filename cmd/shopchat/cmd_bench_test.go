package main

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopchat/shopchat/chat"
	"github.com/shopchat/shopchat/kb"
)

func TestBenchScanFrame(t *testing.T) {
	tests := []struct {
		frame    string
		typ      string
		customer bool
	}{
		{`{"v":1,"type":"ack","id":"b1","conv":"c","seq":3,"payload":{}}`, "ack", false},
		{`{"v":1,"type":"typing","conv":"c","payload":{"sender":"bot","state":true}}`, "typing", false},
		{`{"v":1,"type":"message","conv":"c","seq":4,"payload":{"cards":[{"type":"order"}],"sender":"bot","text":"say \"sender\":\"customer\""}}`, "message", false},
		{`{"v":1,"type":"message","id":"b1","conv":"c","seq":3,"payload":{"sender":"customer","text":"hi"}}`, "message", true},
		{`{"v":1,"type":"event","conv":"c","seq":5,"payload":{"sender":"system"}}`, "event", false},
		{`{"v":1,"type":"error","id":"b1","payload":{"code":"rate_limited"}}`, "error", false},
		{`not json`, "", false},
	}
	for _, tt := range tests {
		typ, customer := scanFrame([]byte(tt.frame))
		if typ != tt.typ || customer != tt.customer {
			t.Errorf("%s: %q %v, want %q %v", tt.frame, typ, customer, tt.typ, tt.customer)
		}
	}
	if got := string(appendBenchMessage(nil, 7, benchJSONTexts[1])); got != `{"v":1,"type":"message","id":"b7","payload":{"text":"where is my order?"}}` {
		t.Fatalf("message frame %s", got)
	}
}

// greeter answers every message with one bot message.
type greeter struct{}

func (greeter) Understand(ctx context.Context, text string) (chat.Understanding, error) {
	return chat.Understanding{}, nil
}

func (greeter) Reply(ctx context.Context, t chat.Turn, out chat.Outbound) error {
	_, err := out.Deliver(ctx, kb.Message{ConvID: t.ConvID, Sender: kb.SenderBot, ClientID: "r" + t.Message.ClientID, Text: "hello"})
	return err
}

// TestBenchRepliesAgainstAServer runs bench replies against a real chat server: every message sent
// is answered and measured.
func TestBenchRepliesAgainstAServer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := kb.Open(ctx, kb.Config{Path: filepath.Join(t.TempDir(), "kb.db"), Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := chat.New(chat.Config{Messages: st, Conversations: st, Bot: greeter{}, IPRate: -1, MaxConnsPerIP: -1,
		Secret: []byte("0123456789abcdef0123")})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() {
		cancel()
		<-done
	}()
	var out bytes.Buffer
	b := &bench{out: &out, url: "ws://" + ln.Addr().String() + "/ws", metricsURL: "http://" + ln.Addr().String() + "/metrics",
		conns: 4, dialConc: 4, rate: 40, duration: 1500 * time.Millisecond}
	if err := b.replies(ctx); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	report := out.String()
	if !strings.Contains(report, " 0 errors") || !strings.Contains(report, "p99") {
		t.Fatalf("report:\n%s", report)
	}
	var sent, replies int
	for _, line := range strings.Split(report, "\n") {
		if strings.HasPrefix(line, "sent ") {
			fields := strings.Fields(line)
			sent, _ = strconv.Atoi(fields[1])
			replies, _ = strconv.Atoi(fields[3])
		}
	}
	if sent < 40 || replies != sent {
		t.Fatalf("sent %d, measured %d replies:\n%s", sent, replies, report)
	}
}
