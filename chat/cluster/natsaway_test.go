package cluster

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shopchat/shopchat/chat"
	"github.com/shopchat/shopchat/chat/chattest"
	"github.com/shopchat/shopchat/internal/testnats"
	"github.com/shopchat/shopchat/kb"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestNodeServesLocalSocketsWhileNATSIsAway: with NATS down the node keeps answering the sockets it
// holds, /readyz and /metrics say NATS is away, and all is ready again when NATS is back.
func TestNodeServesLocalSocketsWhileNATSIsAway(t *testing.T) {
	env := newTestEnv(t)
	ns := testnats.Start(t)
	env.nats = ns.URL()
	cn := startClusterNode(t, env, "solo")
	waitFor(t, 10*time.Second, "the node to lead", cn.node.Dispatcher.IsLeader)
	botReply := func(e chat.Envelope) bool {
		return e.Type == chat.TypeMessage && chattest.Payload(e)["sender"] == kb.SenderBot
	}

	cu := chattest.NewCustomer(t)
	cu.Connect(cn.base)
	cu.Say("m1", "where is my order?")
	cu.Wait("bot answer", botReply)
	if code, body := get(t, cn.base+"/readyz"); !strings.Contains(body, `"nats":{"ready":true}`) {
		t.Fatalf("readyz with NATS up: %d %s", code, body)
	}

	ns.Stop()
	waitFor(t, 10*time.Second, "readyz to say NATS is away", func() bool {
		code, body := get(t, cn.base+"/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, `"nats":{"ready":false`)
	})
	if _, m := get(t, cn.base+"/metrics"); !strings.Contains(m, "shopchat_cluster_nats_connected 0") {
		t.Fatal("metrics do not say NATS is away")
	}
	cu.Say("m2", "and my refund?")
	cu.Wait("bot answer while NATS is away", botReply)

	ns.Restart()
	waitFor(t, 15*time.Second, "NATS back in readyz", func() bool {
		_, body := get(t, cn.base+"/readyz")
		return strings.Contains(body, `"nats":{"ready":true}`)
	})
	if _, m := get(t, cn.base+"/metrics"); !strings.Contains(m, "shopchat_cluster_nats_connected 1") {
		t.Fatal("metrics do not say NATS is back")
	}
	cu.Say("m3", "thanks")
	cu.Wait("bot answer after NATS is back", botReply)
}
