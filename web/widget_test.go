package web_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/shopchat/shopchat/chat"
	"github.com/shopchat/shopchat/intents"
	"github.com/shopchat/shopchat/internal/testbrowser"
	shopkb "github.com/shopchat/shopchat/kb"
	"github.com/shopchat/shopchat/nlp"
	"github.com/shopchat/shopchat/web"
)

// keywordClassifier stands in for the neural intent model (tested in package intents; training one
// here would cost minutes): these tests are about the widget.
type keywordClassifier struct{}

func (keywordClassifier) Classify(ctx context.Context, text string) (intents.Result, error) {
	l := strings.ToLower(text)
	for _, r := range []struct{ kw, intent string }{{"where is my order", "order_status"}, {"thank", "thanks"}, {"person", "talk_to_human"}} {
		if strings.Contains(l, r.kw) {
			return intents.Result{Intent: r.intent, Confidence: 0.95, Ranked: []intents.Prediction{{Intent: r.intent, Confidence: 0.95}}}, nil
		}
	}
	return intents.Result{Intent: intents.OutOfScope, Confidence: 0.1, OutOfScope: true}, nil
}

// proxy forwards TCP connections to target and can cut them all at once, like a flaky network.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); u.Close() }()
			go func() { _, _ = io.Copy(c, u); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

type shop struct {
	srv   *chat.Server
	store *shopkb.Store
	url   string
	proxy *proxy
}

func startShop(t *testing.T) *shop {
	t.Helper()
	ctx := context.Background()
	st, err := shopkb.Open(ctx, shopkb.Config{Path: filepath.Join(t.TempDir(), "shop.db"), Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := shopkb.LoadDemo(ctx, st); err != nil {
		t.Fatal(err)
	}
	ex, err := nlp.NewExtractor(nlp.ExtractorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	dlg, err := chat.NewDialogue(chat.DialogueConfig{Classifier: keywordClassifier{}, Entities: ex, Knowledge: st, States: st})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := chat.New(chat.Config{Messages: st, Conversations: st, Bot: dlg, Secret: []byte("widget-test-secret-0123")})
	if err != nil {
		t.Fatal(err)
	}
	srv.Handle("/widget/", web.Handler(true))
	srv.Handle("GET /{$}", web.Handler(true))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	p := newProxy(t, ln.Addr().String())
	return &shop{srv: srv, store: st, url: "http://" + p.ln.Addr().String() + "/", proxy: p}
}

func browser(t *testing.T) context.Context {
	t.Helper()
	actx := testbrowser.Allocator(t)
	bctx, cancelB := chromedp.NewContext(actx)
	tctx, cancelT := context.WithTimeout(bctx, 90*time.Second)
	t.Cleanup(func() { cancelT(); cancelB() })
	if err := chromedp.Run(tctx); err != nil {
		t.Skipf("chromium at %s does not start: %v", testbrowser.Path(), err)
	}
	return tctx
}

// waitFor polls a JavaScript predicate.
func waitFor(expr string) chromedp.Action {
	return chromedp.Poll(expr, nil, chromedp.WithPollingTimeout(15*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))
}

// logHas is a predicate: some message in the widget's log contains s.
func logHas(s string) string {
	return fmt.Sprintf(`Array.from(document.querySelectorAll('.sc-log .sc-msg')).some(li => li.textContent.includes(%q))`, s)
}

func countOf(s string) string {
	return fmt.Sprintf(`Array.from(document.querySelectorAll('.sc-log .sc-msg')).filter(li => li.textContent.includes(%q)).length`, s)
}

func sendText(text string) chromedp.Action {
	return chromedp.SendKeys("#sc-input", text+kb.Enter, chromedp.ByID)
}

func TestWidgetOrderStatusReloadAndFlakyConnection(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	s := startShop(t)
	ctx := browser(t)
	var bodyLabel string
	err := chromedp.Run(ctx,
		chromedp.Navigate(s.url),
		chromedp.WaitVisible(".sc-launcher", chromedp.ByQuery),
		chromedp.AttributeValue(".sc-launcher", "aria-label", &bodyLabel, nil, chromedp.ByQuery),
		chromedp.Click(".sc-launcher", chromedp.ByQuery),
		waitFor(`document.querySelector('.sc-root').dataset.state === 'online'`),
		// The order-status form: number, then verification, then the answer with an order card.
		sendText("Hello, where is my order?"),
		waitFor(logHas("order number")),
		sendText("A10438"),
		waitFor(logHas("email address or the postcode")),
		sendText("ida.walsh@example.org"),
		waitFor(`!!document.querySelector('.sc-card-order') && document.querySelector('.sc-card-order').textContent.includes('A10438')`),
	)
	if err != nil {
		t.Fatalf("order form in the widget: %v", err)
	}
	if bodyLabel == "" {
		t.Fatal("the launcher has no accessible label")
	}
	var before int
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.querySelectorAll('.sc-log .sc-msg[data-seq]:not([data-seq="0"])').length`, &before)); err != nil {
		t.Fatal(err)
	}
	if before != 6 {
		t.Fatalf("want 6 messages before the reload, got %d", before)
	}

	// Reload: the widget reopens, resumes and shows the history.
	var after int
	err = chromedp.Run(ctx,
		chromedp.Reload(),
		waitFor(`document.querySelector('.sc-root') && document.querySelector('.sc-root').dataset.state === 'online'`),
		waitFor(`!!document.querySelector('.sc-card-order')`),
		waitFor(fmt.Sprintf(`document.querySelectorAll('.sc-log .sc-msg[data-seq]').length === %d`, before)),
		chromedp.Evaluate(`document.querySelectorAll('.sc-log .sc-msg[data-seq]').length`, &after),
	)
	if err != nil || after != before {
		t.Fatalf("history after reload: %d messages (want %d): %v", after, before, err)
	}

	// Cut the connection while a message is on its way, and have an agent write while the
	// customer is offline: after the reconnect every message is there exactly once.
	var conv string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`ShopChat._state().conv`, &conv)); err != nil || conv == "" {
		t.Fatalf("conversation id: %q %v", conv, err)
	}
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.querySelector('#sc-input').value = 'thanks a lot'; true`, nil)); err != nil {
		t.Fatal(err)
	}
	s.proxy.cut()
	if err := chromedp.Run(ctx, chromedp.SendKeys("#sc-input", kb.Enter, chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.srv.Deliver(context.Background(), shopkb.Message{ConvID: conv, Sender: shopkb.SenderAgent, Text: "Maya here, anything else about A10438?"}); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Run(ctx,
		waitFor(logHas("Maya here")),
		waitFor(logHas("You're welcome")),
		waitFor(`document.querySelectorAll('.sc-pending').length === 0`),
	)
	if err != nil {
		t.Fatalf("after the connection was cut: %v", err)
	}
	for _, text := range []string{"thanks a lot", "Maya here", "You're welcome", "ida.walsh@example.org"} {
		var n int
		if err := chromedp.Run(ctx, chromedp.Evaluate(countOf(text), &n)); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("%q shown %d times, want once", text, n)
		}
	}
	msgs, err := s.store.MessagesAfter(context.Background(), conv, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var customerThanks int
	for _, m := range msgs {
		if m.Text == "thanks a lot" {
			customerThanks++
		}
	}
	if customerThanks != 1 || len(msgs) != 9 {
		t.Fatalf("stored %d messages, %d of them the resent one", len(msgs), customerThanks)
	}
	var rendered int
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.querySelectorAll('.sc-log .sc-msg[data-seq]').length`, &rendered)); err != nil {
		t.Fatal(err)
	}
	if rendered != len(msgs) {
		t.Fatalf("widget shows %d messages, the store has %d", rendered, len(msgs))
	}
	_ = errors.New
}
