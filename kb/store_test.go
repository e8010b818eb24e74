package kb_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopchat/shopchat/chat"
	"github.com/shopchat/shopchat/kb"
)

// Compile-time guards: *kb.Store is what package chat consumes.
var (
	_ chat.MessageStore      = (*kb.Store)(nil)
	_ chat.ConversationStore = (*kb.Store)(nil)
	_ chat.StateAppender     = (*kb.Store)(nil)
)

func openTest(t testing.TB) *kb.Store {
	t.Helper()
	s, err := kb.Open(context.Background(), kb.Config{Path: filepath.Join(t.TempDir(), "kb.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConversationCreateAndState(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	c, err := s.CreateConversation(ctx, kb.Conversation{CustomerID: "C1", Locale: "en"})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID == "" || c.Status != kb.ConversationBot {
		t.Fatalf("created %+v", c)
	}
	if _, err := s.CreateConversation(ctx, kb.Conversation{ID: c.ID}); !errors.Is(err, kb.ErrInvalid) {
		t.Fatalf("duplicate id: %v", err)
	}
	if err := s.SaveState(ctx, c.ID, []byte(`{"slot":"x"}`)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Conversation(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.State) != `{"slot":"x"}` || got.CustomerID != "C1" {
		t.Fatalf("got %+v", got)
	}
	if _, err := s.Conversation(ctx, "nope"); !errors.Is(err, kb.ErrNotFound) {
		t.Fatalf("unknown conversation: %v", err)
	}
	if err := s.SaveState(ctx, "nope", nil); !errors.Is(err, kb.ErrNotFound) {
		t.Fatalf("save state unknown: %v", err)
	}
}

func TestAppendMessage(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	c, err := s.CreateConversation(ctx, kb.Conversation{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		m       kb.Message
		wantSeq int64
		wantDup bool
		wantErr error
	}{
		{"first", kb.Message{ConvID: c.ID, Sender: kb.SenderCustomer, ClientID: "a", Text: "hi"}, 1, false, nil},
		{"second", kb.Message{ConvID: c.ID, Sender: kb.SenderBot, Text: "hello"}, 2, false, nil},
		{"duplicate", kb.Message{ConvID: c.ID, Sender: kb.SenderCustomer, ClientID: "a", Text: "hi again"}, 1, true, nil},
		{"same client id other sender", kb.Message{ConvID: c.ID, Sender: kb.SenderAgent, ClientID: "a", Text: "x"}, 3, false, nil},
		{"unknown conversation", kb.Message{ConvID: "nope", Sender: kb.SenderCustomer, Text: "x"}, 0, false, kb.ErrNotFound},
		{"bad sender", kb.Message{ConvID: c.ID, Sender: "robot", Text: "x"}, 0, false, kb.ErrInvalid},
		{"huge text", kb.Message{ConvID: c.ID, Sender: kb.SenderCustomer, Text: string(make([]byte, kb.MaxMessageText+1))}, 0, false, kb.ErrInvalid},
		{"sql text", kb.Message{ConvID: c.ID, Sender: kb.SenderCustomer, Text: "'); DROP TABLE messages; --"}, 4, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, dup, err := s.AppendMessage(ctx, tt.m)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Seq != tt.wantSeq || dup != tt.wantDup {
				t.Fatalf("seq %d dup %v, want %d %v", got.Seq, dup, tt.wantSeq, tt.wantDup)
			}
			if tt.wantDup && got.Text != "hi" {
				t.Fatalf("duplicate returned %q, want the stored message", got.Text)
			}
		})
	}
	after, err := s.MessagesAfter(ctx, c.ID, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != 3 || after[0].Seq != 2 || after[2].Text != "'); DROP TABLE messages; --" {
		t.Fatalf("after = %+v", after)
	}
	before, err := s.MessagesBefore(ctx, c.ID, 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != 2 || before[0].Seq != 2 || before[1].Seq != 3 {
		t.Fatalf("before = %+v", before)
	}
	conv, _ := s.Conversation(ctx, c.ID)
	if conv.LastSeq != 4 {
		t.Fatalf("last seq %d", conv.LastSeq)
	}
}

// Concurrent appends to a few conversations get gap-free seqs, and retries deduplicate.
func TestAppendConcurrentGapFree(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	const convs, writers, per = 3, 8, 40
	ids := make([]string, convs)
	for i := range ids {
		c, err := s.CreateConversation(ctx, kb.Conversation{})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = c.ID
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				m := kb.Message{ConvID: ids[(w+i)%convs], Sender: kb.SenderCustomer, ClientID: fmt.Sprintf("w%d-%d", w, i), Text: "x"}
				for try := 0; try < 2; try++ { // the second try is a retry and must deduplicate
					_, dup, err := s.AppendMessage(ctx, m)
					if err != nil || dup != (try == 1) {
						errs <- fmt.Errorf("append %v try %d: dup=%v err=%v", m.ClientID, try, dup, err)
						return
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := 0
	for _, id := range ids {
		msgs, err := s.MessagesAfter(ctx, id, 0, 10000)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range msgs {
			if m.Seq != int64(i+1) {
				t.Fatalf("conversation %s: seq %d at %d", id, m.Seq, i)
			}
		}
		total += len(msgs)
	}
	if total != writers*per {
		t.Fatalf("stored %d messages, want %d", total, writers*per)
	}
}

// Appends racing with Close either succeed or fail with ErrClosed; none hangs.
func TestAppendDuringClose(t *testing.T) {
	ctx := context.Background()
	s, err := kb.Open(ctx, kb.Config{Path: filepath.Join(t.TempDir(), "kb.db")})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := s.CreateConversation(ctx, kb.Conversation{})
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				_, _, err := s.AppendMessage(ctx, kb.Message{ConvID: c.ID, Sender: kb.SenderBot, Text: "x"})
				if errors.Is(err, kb.ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	s.Close()
	wg.Wait()
}

func TestModelRegistry(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	if _, err := s.ActiveModel(ctx, "intent"); !errors.Is(err, kb.ErrNotFound) {
		t.Fatalf("no model yet: %v", err)
	}
	for _, v := range []string{"aaa", "bbb"} {
		if err := s.RegisterModel(ctx, kb.ModelRecord{Kind: "intent", Version: v, Path: "models/" + v, Metrics: []byte(`{"accuracy":0.9}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ActivateModel(ctx, "intent", "aaa"); err != nil {
		t.Fatal(err)
	}
	if err := s.ActivateModel(ctx, "intent", "bbb"); err != nil {
		t.Fatal(err)
	}
	m, err := s.ActiveModel(ctx, "intent")
	if err != nil || m.Version != "bbb" || m.Path != "models/bbb" {
		t.Fatalf("active %+v %v", m, err)
	}
	if err := s.ActivateModel(ctx, "intent", "zzz"); !errors.Is(err, kb.ErrNotFound) {
		t.Fatalf("unknown version: %v", err)
	}
	all, _ := s.Models(ctx, "")
	if len(all) != 2 {
		t.Fatalf("models %+v", all)
	}
	if err := s.RegisterModel(ctx, kb.ModelRecord{Kind: "intent"}); !errors.Is(err, kb.ErrInvalid) {
		t.Fatalf("incomplete record: %v", err)
	}
}

// TestAnswerTemplatesFromMemory: the store's own imports are answered at once; another process's
// (here a second Store on the same file) within TemplateTTL.
func TestAnswerTemplatesFromMemory(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kb.db")
	open := func() *kb.Store {
		s, err := kb.Open(ctx, kb.Config{Path: path, TemplateTTL: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	server, cli := open(), open()
	load := func(s *kb.Store, text string) {
		t.Helper()
		if _, err := s.Import(ctx, kb.KindAnswers, kb.FormatCSV, "answers.csv", strings.NewReader("intent,locale,text\ngreeting,en,"+text+"\n")); err != nil {
			t.Fatal(err)
		}
	}
	text := func(locale string) string {
		t.Helper()
		tp, err := server.AnswerTemplate(ctx, "greeting", locale)
		if err != nil {
			t.Fatal(err)
		}
		return tp.Text
	}
	if _, err := server.AnswerTemplate(ctx, "greeting", "en"); !errors.Is(err, kb.ErrNotFound) {
		t.Fatalf("before any import: %v", err)
	}
	load(server, "Hello!")
	if got := text("en-GB"); got != "Hello!" {
		t.Fatalf("after the store's own import: %q", got)
	}
	load(cli, "Hi {customer.first_name}!")
	deadline := time.Now().Add(5 * time.Second)
	for text("en") != "Hi {customer.first_name}!" {
		if time.Now().After(deadline) {
			t.Fatal("another process's import was never used")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if tp, _ := server.AnswerTemplate(ctx, "greeting", "de"); len(tp.Slots) != 1 || tp.Slots[0] != "customer.first_name" {
		t.Fatalf("slots %v", tp.Slots)
	}
}
