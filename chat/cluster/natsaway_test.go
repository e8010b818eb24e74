package cluster

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopchat/shopchat/chat"
	"github.com/shopchat/shopchat/chat/chattest"
	"github.com/shopchat/shopchat/kb"
)

// privateNATS runs a nats-server of the test's own on a fixed free port, so the test can stop it.
type privateNATS struct {
	t    *testing.T
	bin  string
	port int
	cmd  *exec.Cmd
}

func startPrivateNATS(t *testing.T) *privateNATS {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		for _, p := range []string{"/usr/sbin/nats-server", "/usr/bin/nats-server"} {
			if _, err := os.Stat(p); err == nil {
				bin = p
			}
		}
	}
	if bin == "" {
		t.Skip("nats-server not installed (Debian package nats-server); skipping")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &privateNATS{t: t, bin: bin, port: ln.Addr().(*net.TCPAddr).Port}
	ln.Close()
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *privateNATS) url() string { return "nats://127.0.0.1:" + strconv.Itoa(s.port) }

func (s *privateNATS) start() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, "-a", "127.0.0.1", "-p", strconv.Itoa(s.port))
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	waitFor(s.t, 5*time.Second, "nats-server", func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(s.port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

func (s *privateNATS) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

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
	ns := startPrivateNATS(t)
	env.nats = ns.url()
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

	ns.stop()
	waitFor(t, 10*time.Second, "readyz to say NATS is away", func() bool {
		code, body := get(t, cn.base+"/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, `"nats":{"ready":false`)
	})
	if _, m := get(t, cn.base+"/metrics"); !strings.Contains(m, "shopchat_cluster_nats_connected 0") {
		t.Fatal("metrics do not say NATS is away")
	}
	cu.Say("m2", "and my refund?")
	cu.Wait("bot answer while NATS is away", botReply)

	ns.start()
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
