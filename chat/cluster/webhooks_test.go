package cluster

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/shopchat/shopchat/chat/handoff"
)

// TestWebhooksSentOnceByTheCluster: three nodes observe every handoff event, but each webhook reaches
// the receiver once.
func TestWebhooksSentOnceByTheCluster(t *testing.T) {
	env := newTestEnv(t)
	var mu sync.Mutex
	got := map[string]int{} // delivery id -> times received
	kinds := map[string]int{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got[r.Header.Get(handoff.HeaderDelivery)]++
		kinds[r.Header.Get(handoff.HeaderEvent)]++
		mu.Unlock()
	}))
	defer hook.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var nodes []*Node
	for i := 0; i < 3; i++ {
		n, err := NewNode(ctx, NodeConfig{Name: fmt.Sprintf("wh%d", i), DSN: env.dsn, Schema: env.schema, NATSURL: env.nats, Prefix: env.prefix,
			Webhook:    handoff.WebhookConfig{URL: hook.URL, Secret: "0123456789abcdef-webhook", Poll: 50 * time.Millisecond},
			Dispatcher: DispatcherConfig{LockRetry: 100 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		go n.Run(ctx)
		nodes = append(nodes, n)
	}
	waitFor(t, 10*time.Second, "a leader", func() bool {
		for _, n := range nodes {
			if n.Dispatcher.IsLeader() {
				return true
			}
		}
		return false
	})
	for i := 0; i < 3; i++ {
		if _, err := nodes[i].Dispatcher.Request(ctx, handoff.Request{ConvID: fmt.Sprintf("c%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "three queued webhooks", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return kinds["handoff.queued"] >= 3
	})
	time.Sleep(300 * time.Millisecond) // room for duplicates to show up
	mu.Lock()
	defer mu.Unlock()
	if kinds["handoff.queued"] != 3 || len(got) != 3 {
		t.Fatalf("webhooks received: %v (deliveries %v), want 3 queued, once each", kinds, got)
	}
	for id, n := range got {
		if n != 1 {
			t.Fatalf("delivery %s received %d times", id, n)
		}
	}
}
