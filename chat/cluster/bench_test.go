package cluster

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/shopchat/shopchat/chat"
	"github.com/shopchat/shopchat/chat/chattest"
	"github.com/shopchat/shopchat/kb"
)

// BenchmarkClusterReplies is a load generator over real sockets: 48 customers, spread round-robin over
// the nodes, each sending messages one after the other and waiting for the bot's reply. b.N is the
// total number of messages. It reports replies/s and the p50/p99 time from sending a message to
// receiving its reply. Sub-benchmarks: one SQLite node (the single-binary default), then one and
// three nodes on PostgreSQL and NATS. Run:
//
//	go test ./cluster -run '^$' -bench ClusterReplies -benchtime 3000x
func BenchmarkClusterReplies(b *testing.B) {
	b.Run("sqlite-1node", func(b *testing.B) {
		store, err := kb.Open(context.Background(), kb.Config{Path: filepath.Join(b.TempDir(), "kb.db")})
		if err != nil {
			b.Fatal(err)
		}
		defer store.Close()
		srv, err := chat.New(chat.Config{Messages: store, Conversations: store, Bot: testBot{}, Secret: testSecret, IPRate: -1, MaxConnsPerIP: -1, ConnRate: 1e6, ConnBurst: 1 << 20})
		if err != nil {
			b.Fatal(err)
		}
		base, stop := serveBench(b, srv)
		defer stop()
		loadRun(b, []string{base})
	})
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("cluster-%dnode", n), func(b *testing.B) {
			env := newTestEnv(b)
			var bases []string
			for i := 0; i < n; i++ {
				node, err := NewNode(context.Background(), NodeConfig{Name: fmt.Sprintf("bench%d", i), DSN: env.dsn, Schema: env.schema,
					NATSURL: env.nats, Prefix: env.prefix})
				if err != nil {
					b.Fatal(err)
				}
				srv, err := chat.New(chat.Config{Messages: node.Store, Conversations: node.Store, Bus: node.Bus, Bot: testBot{svc: node.Service},
					Handoff: node.Service, Secret: testSecret, IPRate: -1, MaxConnsPerIP: -1, ConnRate: 1e6, ConnBurst: 1 << 20})
				if err != nil {
					b.Fatal(err)
				}
				node.Attach(srv)
				base, stop := serveBench(b, srv)
				defer node.Close()
				defer stop()
				bases = append(bases, base)
			}
			loadRun(b, bases)
		})
	}
}

func serveBench(b *testing.B, srv *chat.Server) (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ctx, ln) }()
	return "http://" + ln.Addr().String(), func() { cancel(); <-done }
}

func loadRun(b *testing.B, bases []string) {
	const customers = 48
	clients := make([]*chattest.Customer, customers)
	for i := range clients {
		c := chattest.NewCustomer(b)
		c.Connect(bases[i%len(bases)])
		clients[i] = c
	}
	var mu sync.Mutex
	var lat []time.Duration
	per := (b.N + customers - 1) / customers
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, per)
			for j := 0; j < per; j++ {
				t0 := time.Now()
				c.Say(fmt.Sprintf("m%d", j), "where is my order?")
				c.Wait("reply", func(e chat.Envelope) bool {
					return e.Type == chat.TypeMessage && chattest.Payload(e)["sender"] == kb.SenderBot
				})
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	for _, c := range clients {
		c.WS.Close()
	}
	if len(lat) == 0 {
		b.Fatal("no reply arrived")
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(len(lat))/el.Seconds(), "replies/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
}
