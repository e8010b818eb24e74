package chat

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shopchat/shopchat/internal/testnats"
	"github.com/shopchat/shopchat/kb"
)

type collector struct {
	mu  sync.Mutex
	evs []Event
	ch  chan struct{}
}

func newCollector() *collector { return &collector{ch: make(chan struct{}, 1<<16)} }

func (c *collector) handle(ev Event) {
	c.mu.Lock()
	c.evs = append(c.evs, ev)
	c.mu.Unlock()
	c.ch <- struct{}{}
}

func (c *collector) wait(t *testing.T, n int) []Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		got := len(c.evs)
		c.mu.Unlock()
		if got >= n {
			c.mu.Lock()
			defer c.mu.Unlock()
			return append([]Event(nil), c.evs...)
		}
		select {
		case <-c.ch:
		case <-timeout:
			t.Fatalf("got %d events, want %d", got, n)
		}
	}
}

func newTestNATSBus(t *testing.T, url, prefix string) *NATSBus {
	t.Helper()
	b, err := NewNATSBus(NATSBusConfig{URL: url, Prefix: prefix, ReconnectWait: 20 * time.Millisecond, MaxReconnectWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func waitConnected(t *testing.T, b *NATSBus, want bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for b.Connected() != want {
		if time.Now().After(deadline) {
			t.Fatalf("connected = %v, want %v", b.Connected(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNATSBusAcrossNodes(t *testing.T) {
	srv := testnats.Start(t)
	prefix := fmt.Sprintf("t%d", time.Now().UnixNano())
	a := newTestNATSBus(t, srv.URL(), prefix)
	b := newTestNATSBus(t, srv.URL(), prefix)
	waitConnected(t, a, true)
	waitConnected(t, b, true)
	onA, onB, allB := newCollector(), newCollector(), newCollector()
	a.Subscribe("conv-1", onA.handle)
	b.Subscribe("conv-1", onB.handle)
	b.Subscribe("", allB.handle)
	other := newCollector()
	b.Subscribe("conv-2", other.handle)
	// Make sure b's subscription reached the server before publishing.
	if err := b.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const n = 200
	for i := 1; i <= n; i++ {
		m := &kb.Message{ConvID: "conv-1", Seq: int64(i), Sender: kb.SenderAgent, Text: "hello"}
		if err := a.Publish(ctx, Event{Kind: EventMessage, Conv: "conv-1", Message: m}); err != nil {
			t.Fatal(err)
		}
	}
	// Odd conversation ids travel too.
	if err := a.Publish(ctx, Event{Kind: EventTyping, Conv: "weird.id *>", Sender: kb.SenderCustomer, Typing: true}); err != nil {
		t.Fatal(err)
	}
	local := onA.wait(t, n)
	remote := onB.wait(t, n)
	all := allB.wait(t, n+1)
	if len(local) != n {
		t.Fatalf("local subscriber got %d events, want %d (no echo duplicates)", len(local), n)
	}
	for i, ev := range remote {
		if ev.Message == nil || ev.Message.Seq != int64(i+1) || ev.Message.Text != "hello" {
			t.Fatalf("remote event %d out of order or mangled: %+v", i, ev)
		}
	}
	if last := all[len(all)-1]; last.Conv != "weird.id *>" || !last.Typing {
		t.Fatalf("odd conversation id: %+v", last)
	}
	if len(other.evs) != 0 {
		t.Fatalf("conv-2 subscriber got %d events of conv-1", len(other.evs))
	}
	if st := a.Stats(); st.Published != n+1 || !st.Connected {
		t.Fatalf("stats of a: %+v", st)
	}
	if err := a.Ready(ctx); err != nil {
		t.Fatalf("ready: %v", err)
	}
}

// TestNATSBusOutage stops the NATS server: nodes keep delivering locally and say they are not ready;
// when it comes back they reconnect and the cluster's delivery resumes.
func TestNATSBusOutage(t *testing.T) {
	srv := testnats.Start(t)
	prefix := fmt.Sprintf("t%d", time.Now().UnixNano())
	a := newTestNATSBus(t, srv.URL(), prefix)
	b := newTestNATSBus(t, srv.URL(), prefix)
	waitConnected(t, a, true)
	waitConnected(t, b, true)
	onA, onB := newCollector(), newCollector()
	a.Subscribe("c", onA.handle)
	b.Subscribe("c", onB.handle)
	_ = b.nc.Flush()
	ctx := context.Background()
	srv.Stop()
	waitConnected(t, a, false)
	if err := a.Ready(ctx); err == nil {
		t.Fatal("ready while NATS is down")
	}
	if err := a.Publish(ctx, Event{Kind: EventTyping, Conv: "c", Typing: true}); err != nil {
		t.Fatalf("publish while NATS is down: %v", err)
	}
	onA.wait(t, 1) // local sockets still served
	srv.Restart()
	waitConnected(t, a, true)
	waitConnected(t, b, true)
	_ = b.nc.Flush()
	if err := a.Publish(ctx, Event{Kind: EventTyping, Conv: "c", Typing: false}); err != nil {
		t.Fatal(err)
	}
	// The event published during the outage may reach b too (it waits in a's reconnect buffer, and b
	// may or may not have resubscribed when it is flushed); the one published after must.
	deadline := time.After(10 * time.Second)
	for {
		got := onB.wait(t, 1)
		if last := got[len(got)-1]; !last.Typing {
			break
		}
		select {
		case <-onB.ch:
		case <-deadline:
			t.Fatalf("after reconnect b never got the event published after it: %+v", got)
		}
	}
	if a.Stats().Reconnects == 0 {
		t.Fatal("reconnect not counted")
	}
}

func TestNATSBusStartsWithoutServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	b := newTestNATSBus(t, fmt.Sprintf("nats://127.0.0.1:%d", port), "t")
	c := newCollector()
	b.Subscribe("x", c.handle)
	if err := b.Publish(context.Background(), Event{Kind: EventTyping, Conv: "x"}); err != nil {
		t.Fatal(err)
	}
	c.wait(t, 1)
	if err := b.Ready(context.Background()); err == nil {
		t.Fatal("ready without a NATS server")
	}
	if _, err := NewNATSBus(NATSBusConfig{Prefix: "bad.prefix"}); err == nil {
		t.Fatal("bad prefix accepted")
	}
}

func BenchmarkNATSBusPublish(b *testing.B) {
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		bin = "/usr/sbin/nats-server"
	}
	if _, err := os.Stat(bin); err != nil {
		b.Skip("nats-server not installed")
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "-a", "127.0.0.1", "-p", strconv.Itoa(port))
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	pa, _ := NewNATSBus(NATSBusConfig{URL: url, Prefix: "bench"})
	pb, _ := NewNATSBus(NATSBusConfig{URL: url, Prefix: "bench"})
	defer pa.Close()
	defer pb.Close()
	got := make(chan struct{}, 1<<20)
	pb.Subscribe("", func(Event) { got <- struct{}{} })
	_ = pb.nc.Flush()
	m := &kb.Message{ConvID: "c_0123456789abcdef", Seq: 1, Sender: kb.SenderBot, Type: "message", Text: "Your order A10023 shipped yesterday with DHL.", CreatedAt: time.Now()}
	ev := Event{Kind: EventMessage, Conv: m.ConvID, Message: m}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := pa.Publish(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < b.N; i++ {
		<-got
	}
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N), "ns/delivered")
}
