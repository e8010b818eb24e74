package handoff

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/shopchat/shopchat/internal/testbrowser"
	storekb "github.com/shopchat/shopchat/kb"
	"github.com/shopchat/shopchat/web"
)

// waitJS polls a JavaScript condition in the page until it is true.
func waitJS(ctx context.Context, what, expr string) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		var ok bool
		if err := chromedp.Run(ctx, chromedp.Evaluate(expr, &ok)); err == nil && ok {
			return nil
		}
		if time.Now().After(deadline) {
			var dump string
			_ = chromedp.Run(ctx, chromedp.Evaluate(`document.body ? document.body.innerText.slice(0, 2000) : ""`, &dump))
			return fmt.Errorf("timed out waiting for %s; page text:\n%s", what, dump)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBrowserHandoffEndToEnd runs the story in a real headless Chromium with two pages: a customer in
// the demo shop's widget asks for a human; the agent, logged into the console, sees the conversation
// queued, takes it and replies; the customer sees the agent join and the reply; the agent returns the
// conversation to the bot, and the bot answers the next question.
func TestBrowserHandoffEndToEnd(t *testing.T) {
	s := startStack(t, EngineConfig{ManualOnly: true})
	s.srv.Handle("/", web.Handler(true))
	if _, err := s.store.SaveCanned(context.Background(), storekb.CannedResponse{Shortcut: "greet", Title: "Greeting", Text: "Hi, {agent.name} here. How can I help?"}); err != nil {
		t.Fatal(err)
	}

	allocCtx := testbrowser.Allocator(t, chromedp.WindowSize(1280, 900))
	// The pinned chromedp's protocol tables predate some of this Chromium's event values; those
	// decoding complaints are noise for this test, anything else is logged.
	quiet := func(format string, args ...any) {
		if msg := fmt.Sprintf(format, args...); !strings.Contains(msg, "could not unmarshal event") {
			t.Log(msg)
		}
	}
	agent, cancelAgent := chromedp.NewContext(allocCtx, chromedp.WithErrorf(quiet))
	defer cancelAgent()
	agent, cancelT := context.WithTimeout(agent, 3*time.Minute)
	defer cancelT()
	// the first Run starts the browser
	if err := chromedp.Run(agent, chromedp.Navigate(s.base+"/console/")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	customer, cancelCustomer := chromedp.NewContext(agent)
	defer cancelCustomer()

	step := func(ctx context.Context, name string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	wait := func(ctx context.Context, what, expr string) {
		t.Helper()
		if err := waitJS(ctx, what, expr); err != nil {
			t.Fatal(err)
		}
	}

	// The agent logs in.
	step(agent, "login",
		chromedp.WaitVisible("#login-email", chromedp.ByQuery),
		chromedp.SendKeys("#login-email", "maya@shop.example", chromedp.ByQuery),
		chromedp.SendKeys("#login-password", "correct horse battery", chromedp.ByQuery),
		chromedp.Click("#login-submit", chromedp.ByQuery),
	)
	wait(agent, "console live", `document.querySelector("#conn-state").textContent === "live"`)

	// The customer opens the widget and asks for a human.
	step(customer, "open shop", chromedp.Navigate(s.base+"/"),
		chromedp.WaitVisible(".sc-launcher", chromedp.ByQuery),
		chromedp.Click(".sc-launcher", chromedp.ByQuery),
		chromedp.WaitVisible("#sc-input", chromedp.ByQuery),
	)
	wait(customer, "widget connected", `!!document.querySelector(".sc-root") && document.querySelector(".sc-root").dataset.state !== "connecting"`)
	step(customer, "ask for a human",
		chromedp.SendKeys("#sc-input", "I want to talk to a human", chromedp.ByQuery),
		chromedp.Click(".sc-send", chromedp.ByQuery),
	)
	wait(customer, "queued notice", `[...document.querySelectorAll(".sc-msg.sc-event")].some(e => e.textContent.includes("number 1 in the queue"))`)

	// The agent sees it queued and takes it.
	wait(agent, "queued in the console", `document.querySelectorAll("#queue-list li[data-conv]").length === 1`)
	step(agent, "take", chromedp.Click("#queue-list li[data-conv] button.claim", chromedp.ByQuery))
	wait(agent, "assigned to me", `document.querySelector("#conv-state").textContent.startsWith("assigned")`)
	wait(agent, "transcript with the bot's understanding", `[...document.querySelectorAll("#transcript .msg.customer")].some(m => m.textContent.includes("talk_to_human"))`)
	wait(customer, "agent joined", `[...document.querySelectorAll(".sc-msg.sc-event")].some(e => e.textContent.includes("Maya joined the conversation"))`)

	// The agent writes an internal note, then replies with a canned response inserted by its shortcut.
	step(agent, "note",
		chromedp.Click("#note-mode", chromedp.ByQuery),
		chromedp.SendKeys("#reply-input", "Customer waited a while, be quick", chromedp.ByQuery),
		chromedp.Click("#reply-send", chromedp.ByQuery),
	)
	wait(agent, "note in the transcript", `[...document.querySelectorAll("#transcript .msg.note")].some(m => m.textContent.includes("be quick"))`)
	step(agent, "canned reply",
		chromedp.Click("#note-mode", chromedp.ByQuery),
		chromedp.SendKeys("#reply-input", "/gre", chromedp.ByQuery),
	)
	wait(agent, "canned suggestion", `!document.querySelector("#canned-suggest").classList.contains("hidden")`)
	step(agent, "insert canned", chromedp.SendKeys("#reply-input", kb.Tab, chromedp.ByQuery))
	wait(agent, "canned text filled in", `document.querySelector("#reply-input").value === "Hi, Maya here. How can I help?"`)
	step(agent, "send reply", chromedp.Click("#reply-send", chromedp.ByQuery))
	wait(customer, "agent reply", `[...document.querySelectorAll(".sc-msg.sc-from-agent")].some(e => e.textContent.includes("Maya here"))`)
	var leaked bool
	step(customer, "notes stay internal", chromedp.Evaluate(`document.querySelector(".sc-log").textContent.includes("be quick")`, &leaked))
	if leaked {
		t.Fatal("the internal note reached the customer")
	}

	// The customer answers; the console shows it.
	step(customer, "customer answers",
		chromedp.SendKeys("#sc-input", "My order A10023 is late", chromedp.ByQuery),
		chromedp.Click(".sc-send", chromedp.ByQuery),
	)
	wait(agent, "customer message in the console", `[...document.querySelectorAll("#transcript .msg.customer")].some(m => m.textContent.includes("A10023 is late"))`)

	// Back to the bot, which answers the next question.
	step(agent, "return to bot", chromedp.Click("#btn-return", chromedp.ByQuery))
	wait(customer, "returned notice", `[...document.querySelectorAll(".sc-msg.sc-event")].some(e => e.textContent.includes("back with the shop assistant"))`)
	var botBefore int
	step(customer, "count bot answers", chromedp.Evaluate(`document.querySelectorAll(".sc-msg.sc-from-bot").length`, &botBefore))
	step(customer, "next question",
		chromedp.SendKeys("#sc-input", "When will it arrive?", chromedp.ByQuery),
		chromedp.Click(".sc-send", chromedp.ByQuery),
	)
	wait(customer, "bot answers again", `[...document.querySelectorAll(".sc-msg.sc-from-bot")].length > `+strconv.Itoa(botBefore)+
		` && document.querySelector(".sc-log").lastElementChild.textContent.includes("arrive tomorrow")`)
	wait(agent, "conversation back with the bot", `document.querySelector("#conv-state").textContent.startsWith("bot")`)

	// A second handoff, resolved: the customer answers the satisfaction question in the widget.
	step(customer, "ask again",
		chromedp.SendKeys("#sc-input", "Actually, can a person help me?", chromedp.ByQuery),
		chromedp.Click(".sc-send", chromedp.ByQuery),
	)
	wait(agent, "queued again", `document.querySelectorAll("#queue-list li[data-conv]").length === 1`)
	step(agent, "take again", chromedp.Click("#queue-list li[data-conv] button.claim", chromedp.ByQuery))
	wait(agent, "assigned again", `document.querySelector("#conv-state").textContent.startsWith("assigned") && !document.querySelector("#btn-resolve").disabled`)
	step(agent, "resolve", chromedp.Click("#btn-resolve", chromedp.ByQuery))
	wait(customer, "rating question", `!!document.querySelector(".sc-csat button.sc-reply")`)
	step(customer, "rate 5", chromedp.Click(`.sc-csat button[aria-label="Rate 5 out of 5"]`, chromedp.ByQuery))
	wait(customer, "thanks", `[...document.querySelectorAll(".sc-msg")].some(e => e.textContent.includes("Thanks for your feedback"))`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		rep, err := s.store.HandoffReport(context.Background(), time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
		if err == nil && rep.CSATCount == 1 && rep.CSATAverage == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rating not stored: %+v %v", rep, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
