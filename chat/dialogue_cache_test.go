package chat

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopchat/shopchat/kb"
)

func TestStateCache(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		put    int64 // seq of the bot's last answer
		msgSeq int64 // seq of the customer message being answered
		now    time.Time
		hit    bool
	}{
		{"next message", 5, 6, t0, true},
		{"something happened in between", 5, 7, t0, false},
		{"an older message", 5, 5, t0, false},
		{"expired", 5, 6, t0.Add(stateCacheTTL + time.Second), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newStateCache(10, stateCacheTTL)
			c.put("c1", cachedState{st: newState(), seq: tt.put, at: t0})
			_, hit := c.take("c1", tt.msgSeq, tt.now)
			if hit != tt.hit {
				t.Fatalf("hit %v, want %v", hit, tt.hit)
			}
			if _, again := c.take("c1", tt.msgSeq, tt.now); again {
				t.Fatal("take left the entry in the cache")
			}
		})
	}
	c := newStateCache(64, stateCacheTTL)
	for i := 0; i < 1000; i++ {
		c.put(fmt.Sprint("c", i), cachedState{st: newState(), seq: 1, at: t0})
	}
	if n := len(c.entries); n > 64 {
		t.Fatalf("%d entries in a cache of 64", n)
	}
	if _, hit := c.take("c999", 2, t0); !hit {
		t.Fatal("the latest entry was evicted")
	}
	if newStateCache(-1, time.Minute) != nil {
		t.Fatal("a negative size should disable the cache")
	}
}

// countingStates counts the conversation reads of the dialogue.
type countingStates struct {
	ConversationStore
	reads atomic.Int64
}

func (c *countingStates) Conversation(ctx context.Context, id string) (kb.Conversation, error) {
	c.reads.Add(1)
	return c.ConversationStore.Conversation(ctx, id)
}

// TestDialogueStateCache: consecutive turns use the state kept in memory, every turn's state is in the
// store before its answer is, and a turn after anything else happened in the conversation (here a
// message and a state written by another node) reads the store's state.
func TestDialogueStateCache(t *testing.T) {
	e := startBot(t, nil, nil)
	ctx := context.Background()
	states := &countingStates{ConversationStore: e.kb}
	cfg := e.dlg.cfg
	cfg.States, cfg.Registry = states, nil
	d, err := NewDialogue(cfg)
	if err != nil {
		t.Fatal(err)
	}
	conv, err := e.kb.CreateConversation(ctx, kb.Conversation{Status: "bot"})
	if err != nil {
		t.Fatal(err)
	}
	say := func(text string) kb.Message {
		t.Helper()
		m, _, err := e.kb.AppendMessage(ctx, kb.Message{ConvID: conv.ID, ClientID: text, Sender: kb.SenderCustomer, Type: "message", Text: text})
		if err != nil {
			t.Fatal(err)
		}
		u, _ := d.Understand(ctx, text)
		if err := d.Reply(ctx, Turn{ConvID: conv.ID, Message: m, NLU: u}, e.srv); err != nil {
			t.Fatal(err)
		}
		return m
	}
	lastAnswer := func() kb.Message {
		t.Helper()
		msgs, err := e.kb.MessagesBefore(ctx, conv.ID, 1<<62, 1)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("last message: %v %v", msgs, err)
		}
		return msgs[0]
	}
	storedState := func() *dialogueState {
		t.Helper()
		c, err := e.kb.Conversation(ctx, conv.ID)
		if err != nil {
			t.Fatal(err)
		}
		st, err := decodeState(c.State)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}

	say("where is my order?")
	m := say("A10438")
	if n := states.reads.Load(); n != 1 {
		t.Fatalf("%d state reads for two consecutive turns, want 1", n)
	}
	if st := storedState(); st.LastHandled != m.Seq || st.Slots[slotOrder] != "A10438" || st.Form == nil {
		t.Fatalf("stored state after the turn: %+v", st)
	}
	// Another node answers in between: a message and a state without the form.
	if _, _, err := e.kb.AppendMessage(ctx, kb.Message{ConvID: conv.ID, Sender: kb.SenderAgent, Text: "I'll take it from here"}); err != nil {
		t.Fatal(err)
	}
	if err := e.kb.SaveState(ctx, conv.ID, []byte(`{"v":1,"last_handled":`+fmt.Sprint(m.Seq)+`}`)); err != nil {
		t.Fatal(err)
	}
	say("ida.walsh@example.org")
	if n := states.reads.Load(); n != 2 {
		t.Fatalf("%d state reads, want 2 (the store's state after another node's message)", n)
	}
	if a := lastAnswer(); a.Sender != kb.SenderBot || strings.Contains(a.Text, "A10438") {
		t.Fatalf("answered from the stale cached form: %+v", a)
	}
}
