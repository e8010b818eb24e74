package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"github.com/spf13/cobra"
)

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load-test a running chat server",
		Long: `Load-test a running chat server over its WebSocket, like real widgets would, and print the figures
for docs/BENCHMARKS.md. Start the server with the per-IP limits off, since every bench client comes
from 127.0.0.1:

  shopchat serve --demo --ip-rate -1 --max-conns-per-ip -1 &
  shopchat bench idle    --conns 10000       # memory per idle connection (server RSS and heap)
  shopchat bench replies --conns 500 --rate 2000 --duration 30s   # bot replies/s, p50/p99, CPU
  shopchat bench storm   --conns 5000        # everyone reconnects at once and resumes

Send traffic only to servers you run.`,
		Args: cobra.ExactArgs(1),
		RunE: runBench,
	}
	f := cmd.Flags()
	f.String("url", "ws://127.0.0.1:8080/ws", "the server's WebSocket URL")
	f.String("metrics", "", "the server's /metrics URL (default: from --url)")
	f.Int("conns", 1000, "connections")
	f.Int("dial-concurrency", 200, "connections being opened at once")
	f.Float64("rate", 2000, "replies: messages per second over all connections")
	f.Duration("duration", 30*time.Second, "replies: how long to send")
	f.Duration("hold", 10*time.Second, "idle: how long to hold the connections before measuring")
	return cmd
}

func runBench(cmd *cobra.Command, args []string) error {
	f := cmd.Flags()
	b := &bench{out: cmd.OutOrStdout()}
	b.url, _ = f.GetString("url")
	b.metricsURL, _ = f.GetString("metrics")
	b.conns, _ = f.GetInt("conns")
	b.dialConc, _ = f.GetInt("dial-concurrency")
	b.rate, _ = f.GetFloat64("rate")
	b.duration, _ = f.GetDuration("duration")
	b.hold, _ = f.GetDuration("hold")
	u, err := url.Parse(b.url)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") {
		return usageError{fmt.Errorf("--url %q: want ws://host:port/ws", b.url)}
	}
	if b.metricsURL == "" {
		scheme := "http"
		if u.Scheme == "wss" {
			scheme = "https"
		}
		b.metricsURL = scheme + "://" + u.Host + "/metrics"
	}
	if b.conns <= 0 || b.dialConc <= 0 {
		return usageError{errors.New("--conns and --dial-concurrency must be positive")}
	}
	raiseFileLimit(b.out)
	ctx := cmd.Context()
	switch args[0] {
	case "idle":
		return b.idle(ctx)
	case "replies":
		return b.replies(ctx)
	case "storm":
		return b.storm(ctx)
	default:
		return usageError{fmt.Errorf("unknown scenario %q: want idle, replies or storm", args[0])}
	}
}

type bench struct {
	out        io.Writer
	url        string
	metricsURL string
	conns      int
	dialConc   int
	rate       float64
	duration   time.Duration
	hold       time.Duration
}

// raiseFileLimit lifts the soft open-file limit to the hard one (each connection is a descriptor).
func raiseFileLimit(w io.Writer) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
	fmt.Fprintf(w, "open-file limit: %d\n", rl.Cur)
}

// frame is the part of a server frame the bench reads.
type frame struct {
	Type    string          `json:"type"`
	ID      string          `json:"id"`
	Conv    string          `json:"conv"`
	Seq     int64           `json:"seq"`
	Payload json.RawMessage `json:"payload"`
}

type benchConn struct {
	ws      *websocket.Conn
	conv    string
	token   string
	lastSeq int64
}

var dialer = &websocket.Dialer{HandshakeTimeout: 20 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 1024}

func (b *bench) dial(ctx context.Context) (*websocket.Conn, error) {
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		var ws *websocket.Conn
		ws, _, err = dialer.DialContext(ctx, b.url, nil)
		if err == nil {
			return ws, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(50<<attempt)*time.Millisecond + time.Duration(rand.IntN(100))*time.Millisecond):
		}
	}
	return nil, err
}

func readFrame(ws *websocket.Conn, d time.Duration) (frame, error) {
	_ = ws.SetReadDeadline(time.Now().Add(d))
	var f frame
	_, b, err := ws.ReadMessage()
	if err != nil {
		return f, err
	}
	return f, json.Unmarshal(b, &f)
}

// hello opens a conversation (or resumes one when token is set) and returns the welcome.
func (b *bench) hello(ctx context.Context, token string, lastSeq int64) (*benchConn, frame, error) {
	ws, err := b.dial(ctx)
	if err != nil {
		return nil, frame{}, err
	}
	msg := `{"v":1,"type":"hello"}`
	if token != "" {
		msg = fmt.Sprintf(`{"v":1,"type":"resume","payload":{"token":%q,"last_seq":%d}}`, token, lastSeq)
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		ws.Close()
		return nil, frame{}, err
	}
	for {
		f, err := readFrame(ws, 30*time.Second)
		if err != nil {
			ws.Close()
			return nil, frame{}, err
		}
		if f.Type == "welcome" {
			var p struct {
				Token string `json:"token"`
			}
			_ = json.Unmarshal(f.Payload, &p)
			return &benchConn{ws: ws, conv: f.Conv, token: p.Token, lastSeq: lastSeq}, f, nil
		}
		if f.Type == "error" {
			ws.Close()
			return nil, frame{}, fmt.Errorf("hello refused: %s", f.Payload)
		}
	}
}

// openMany opens n conversations with at most dialConc handshakes at a time.
func (b *bench) openMany(ctx context.Context, n int) ([]*benchConn, int, time.Duration) {
	start := time.Now()
	conns := make([]*benchConn, n)
	var failed atomic.Int64
	sem := make(chan struct{}, b.dialConc)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			c, _, err := b.hello(ctx, "", 0)
			if err != nil {
				failed.Add(1)
				return
			}
			conns[i] = c
		}(i)
	}
	wg.Wait()
	return conns, int(failed.Load()), time.Since(start)
}

// serverMetrics reads a few gauges and counters from the server's /metrics.
func (b *bench) serverMetrics(ctx context.Context) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.metricsURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	want := map[string]bool{"process_resident_memory_bytes": true, "go_memstats_heap_inuse_bytes": true, "go_goroutines": true,
		"shopchat_connections": true, "process_cpu_seconds_total": true, "go_memstats_stack_inuse_bytes": true,
		"shopchat_reply_latency_seconds_count": true, "shopchat_reply_latency_seconds_sum": true}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		name, val, ok := strings.Cut(line, " ")
		if !ok || !want[name] {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err == nil {
			out[name] = v
		}
	}
	return out, sc.Err()
}

func mib(v float64) string { return fmt.Sprintf("%.1f MiB", v/(1<<20)) }

// idle opens --conns connections that say hello and then stay idle, and reports the server's
// memory per connection.
func (b *bench) idle(ctx context.Context) error {
	before, err := b.serverMetrics(ctx)
	if err != nil {
		return err
	}
	conns, failed, took := b.openMany(ctx, b.conns)
	defer closeAll(conns)
	// Keep reading so pings are answered.
	for _, c := range conns {
		if c != nil {
			go func(ws *websocket.Conn) {
				for {
					_ = ws.SetReadDeadline(time.Now().Add(time.Hour))
					if _, _, err := ws.ReadMessage(); err != nil {
						return
					}
				}
			}(c.ws)
		}
	}
	fmt.Fprintf(b.out, "opened %d connections in %s (%d failed); holding %s\n", b.conns-failed, took.Round(time.Millisecond), failed, b.hold)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(b.hold):
	}
	after, err := b.serverMetrics(ctx)
	if err != nil {
		return err
	}
	n := after["shopchat_connections"] - before["shopchat_connections"]
	if n <= 0 {
		return errors.New("the server reports no new connections")
	}
	rss := after["process_resident_memory_bytes"] - before["process_resident_memory_bytes"]
	heap := after["go_memstats_heap_inuse_bytes"] - before["go_memstats_heap_inuse_bytes"]
	stack := after["go_memstats_stack_inuse_bytes"] - before["go_memstats_stack_inuse_bytes"]
	fmt.Fprintf(b.out, "server: %0.f open connections, %0.f goroutines\n", after["shopchat_connections"], after["go_goroutines"])
	fmt.Fprintf(b.out, "server RSS   %s -> %s: %.1f KB per connection\n", mib(before["process_resident_memory_bytes"]), mib(after["process_resident_memory_bytes"]), rss/n/1024)
	fmt.Fprintf(b.out, "server heap  %s -> %s: %.1f KB per connection\n", mib(before["go_memstats_heap_inuse_bytes"]), mib(after["go_memstats_heap_inuse_bytes"]), heap/n/1024)
	fmt.Fprintf(b.out, "server stack %s -> %s: %.1f KB per connection\n", mib(before["go_memstats_stack_inuse_bytes"]), mib(after["go_memstats_stack_inuse_bytes"]), stack/n/1024)
	return nil
}

func closeAll(conns []*benchConn) {
	for _, c := range conns {
		if c != nil {
			c.ws.Close()
		}
	}
}

// benchTexts are what the bench's shoppers say, in turn.
var benchTexts = []string{
	"Hi there", "where is my order?", "A10438", "ida.walsh@example.org", "thanks!",
	"what payment methods do you accept?", "how long does delivery take to Germany?",
	"can you recommend a warm jacket?", "I want to return my boots", "never mind",
	"do you have the linen t-shirt in size M?", "what are your opening hours?",
}

// replies sends --rate messages per second over --conns conversations for --duration and measures
// the time from sending a message to receiving the bot's reply.
func (b *bench) replies(ctx context.Context) error {
	conns, failed, _ := b.openMany(ctx, b.conns)
	defer closeAll(conns)
	if failed > 0 {
		return fmt.Errorf("%d of %d connections failed", failed, b.conns)
	}
	per := time.Duration(float64(time.Second) * float64(b.conns) / b.rate)
	before, err := b.serverMetrics(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(b.out, "%d conversations, one message every %s each (%.0f/s), for %s\n", b.conns, per, b.rate, b.duration)
	start := time.Now()
	deadline := start.Add(b.duration)
	var mu sync.Mutex
	var lat []time.Duration
	var sent, errs, late atomic.Int64
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func(i int, c *benchConn) {
			defer wg.Done()
			local := make([]time.Duration, 0, int(b.duration/per)+1)
			next := start.Add(time.Duration(rand.Int64N(int64(per))))
			var msg []byte
			var buf bytes.Buffer
			for n := 0; ; n++ {
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				} else if -d > per {
					late.Add(1)
				}
				if time.Now().After(deadline) {
					break
				}
				next = next.Add(per)
				msg = appendBenchMessage(msg[:0], n, benchJSONTexts[(i+n)%len(benchJSONTexts)])
				t0 := time.Now()
				if err := c.ws.WriteMessage(websocket.TextMessage, msg); err != nil {
					errs.Add(1)
					return
				}
				sent.Add(1)
				if err := waitReply(c.ws, &buf); err != nil {
					errs.Add(1)
					return
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}(i, c)
	}
	wg.Wait()
	elapsed := time.Since(start)
	after, err := b.serverMetrics(ctx)
	if err != nil {
		return err
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) == 0 {
		return errors.New("no replies")
	}
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	cpu := (after["process_cpu_seconds_total"] - before["process_cpu_seconds_total"]) / elapsed.Seconds()
	fmt.Fprintf(b.out, "sent %d messages, %d bot replies in %s: %.0f replies/s; %d errors; %d sends behind schedule\n",
		sent.Load(), len(lat), elapsed.Round(time.Millisecond), float64(len(lat))/elapsed.Seconds(), errs.Load(), late.Load())
	fmt.Fprintf(b.out, "send -> reply latency: p50 %s  p90 %s  p99 %s  max %s\n", q(.50).Round(10*time.Microsecond),
		q(.90).Round(10*time.Microsecond), q(.99).Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond))
	fmt.Fprintf(b.out, "server CPU: %.2f cores on average; server RSS %s\n", cpu, mib(after["process_resident_memory_bytes"]))
	if errs.Load() > 0 {
		return fmt.Errorf("%d connections failed during the run", errs.Load())
	}
	return nil
}

// benchJSONTexts are benchTexts as JSON strings.
var benchJSONTexts = func() [][]byte {
	out := make([][]byte, len(benchTexts))
	for i, t := range benchTexts {
		out[i], _ = json.Marshal(t)
	}
	return out
}()

// appendBenchMessage appends the n-th message frame of a shopper: id "b<n>", text a JSON string.
func appendBenchMessage(b []byte, n int, text []byte) []byte {
	b = append(b, `{"v":1,"type":"message","id":"b`...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, `","payload":{"text":`...)
	b = append(b, text...)
	return append(b, "}}"...)
}

// waitReply reads until the bot's (or the system's) answer to the message just sent: an ack, then a
// message or event that is not the customer's. It reads every frame into buf (reused) and looks only
// at its type and sender, without decoding it.
func waitReply(ws *websocket.Conn, buf *bytes.Buffer) error {
	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	acked := false
	for {
		_, r, err := ws.NextReader()
		if err != nil {
			return err
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			return err
		}
		typ, customer := scanFrame(buf.Bytes())
		switch typ {
		case "ack":
			acked = true
		case "message", "event":
			if acked && !customer {
				return nil
			}
		case "error":
			return fmt.Errorf("error frame: %s", buf.Bytes())
		}
	}
}

var (
	typeKey     = []byte(`"type":"`)
	customerKey = []byte(`"sender":"customer"`)
)

// scanFrame returns a server frame's type (the first "type" key: the server writes the envelope's
// before its payload) and whether it says "sender":"customer" (inside JSON strings quotes are
// escaped, so text cannot fake it).
func scanFrame(b []byte) (typ string, customer bool) {
	i := bytes.Index(b, typeKey)
	if i < 0 {
		return "", false
	}
	rest := b[i+len(typeKey):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return "", false
	}
	switch t := rest[:j]; string(t) { // no allocation: the compiler compares in place
	case "ack":
		typ = "ack"
	case "message":
		typ = "message"
	case "event":
		typ = "event"
	case "error":
		typ = "error"
	default:
		typ = string(t)
	}
	return typ, bytes.Contains(b, customerKey)
}

// storm: every client sends a message and leaves before the answer; then all reconnect at once
// and resume. Each must receive every message it missed, in order, exactly once.
func (b *bench) storm(ctx context.Context) error {
	conns, failed, took := b.openMany(ctx, b.conns)
	if failed > 0 {
		closeAll(conns)
		return fmt.Errorf("%d of %d connections failed", failed, b.conns)
	}
	fmt.Fprintf(b.out, "opened %d conversations in %s\n", b.conns, took.Round(time.Millisecond))
	type left struct {
		token   string
		lastSeq int64
	}
	gone := make([]left, len(conns))
	var wg sync.WaitGroup
	var errs atomic.Int64
	sem := make(chan struct{}, b.dialConc)
	for i, c := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int, c *benchConn) {
			defer wg.Done()
			defer func() { <-sem }()
			defer c.ws.Close()
			msg := fmt.Sprintf(`{"v":1,"type":"message","id":"s1","payload":{"text":%q}}`, benchTexts[i%len(benchTexts)])
			if err := c.ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
				errs.Add(1)
				return
			}
			for {
				f, err := readFrame(c.ws, 30*time.Second)
				if err != nil {
					errs.Add(1)
					return
				}
				if f.Type == "ack" {
					gone[i] = left{token: c.token, lastSeq: f.Seq}
					return // leave before the bot answers
				}
			}
		}(i, c)
	}
	wg.Wait()
	if errs.Load() > 0 {
		return fmt.Errorf("%d clients failed before leaving", errs.Load())
	}
	time.Sleep(2 * time.Second) // the bot answers while everyone is away
	fmt.Fprintf(b.out, "all %d left with an unanswered message; reconnecting all at once\n", len(gone))
	start := time.Now()
	var mu sync.Mutex
	var times []time.Duration
	var missed, dup, lost atomic.Int64
	release := make(chan struct{})
	for i := range gone {
		wg.Add(1)
		go func(g left) {
			defer wg.Done()
			<-release
			t0 := time.Now()
			c, w, err := b.hello(ctx, g.token, g.lastSeq)
			if err != nil {
				errs.Add(1)
				return
			}
			defer c.ws.Close()
			var p struct {
				LastSeq int64 `json:"last_seq"`
			}
			_ = json.Unmarshal(w.Payload, &p)
			want := p.LastSeq
			if want <= g.lastSeq {
				want = g.lastSeq + 1 // the answer is still being written: it arrives live
			}
			got := g.lastSeq
			for got < want {
				f, err := readFrame(c.ws, 30*time.Second)
				if err != nil {
					lost.Add(want - got)
					return
				}
				if f.Type != "message" && f.Type != "event" {
					continue
				}
				switch {
				case f.Seq <= got:
					dup.Add(1)
				case f.Seq > got+1:
					lost.Add(f.Seq - got - 1)
					got = f.Seq
				default:
					got = f.Seq
					missed.Add(1)
				}
			}
			mu.Lock()
			times = append(times, time.Since(t0))
			mu.Unlock()
		}(gone[i])
	}
	close(release)
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	fmt.Fprintf(b.out, "%d of %d resumed in %s; %d missed messages delivered, %d lost, %d duplicated, %d failed\n",
		len(times), len(gone), elapsed.Round(time.Millisecond), missed.Load(), lost.Load(), dup.Load(), errs.Load())
	if len(times) > 0 {
		q := func(p float64) time.Duration { return times[min(len(times)-1, int(p*float64(len(times))))] }
		fmt.Fprintf(b.out, "reconnect -> last missed message: p50 %s  p99 %s  max %s\n", q(.5).Round(time.Millisecond),
			q(.99).Round(time.Millisecond), times[len(times)-1].Round(time.Millisecond))
	}
	if lost.Load() > 0 || dup.Load() > 0 || errs.Load() > 0 || len(times) != len(gone) {
		return errors.New("the storm lost, duplicated or failed messages")
	}
	return nil
}
