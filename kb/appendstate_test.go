package kb

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

// stateAppender is what both stores offer the chat server for a bot answer and its dialogue state.
type stateAppender interface {
	CreateConversation(ctx context.Context, c Conversation) (Conversation, error)
	Conversation(ctx context.Context, id string) (Conversation, error)
	AppendMessage(ctx context.Context, m Message) (Message, bool, error)
	AppendMessageState(ctx context.Context, m Message, state []byte) (Message, bool, error)
}

// TestAppendMessageState runs the same contract against the SQLite store and, when PostgreSQL is
// reachable, the PostgreSQL store: the message and the state are saved together, a duplicate still
// saves the state, a nil state clears it, seqs stay gap-free, an unknown conversation is ErrNotFound.
func TestAppendMessageState(t *testing.T) {
	stores := []struct {
		name string
		open func(t *testing.T) stateAppender
	}{
		{"sqlite", func(t *testing.T) stateAppender {
			s, err := Open(context.Background(), Config{Path: filepath.Join(t.TempDir(), "kb.db")})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}},
		{"postgres", func(t *testing.T) stateAppender { return openTestPG(t, 1)[0] }},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			s := st.open(t)
			ctx := context.Background()
			c, err := s.CreateConversation(ctx, Conversation{Locale: "en"})
			if err != nil {
				t.Fatal(err)
			}
			steps := []struct {
				name    string
				m       Message
				state   string
				wantSeq int64
				wantDup bool
			}{
				{"new message and state", Message{ConvID: c.ID, Sender: SenderBot, ClientID: "r1.0", Text: "hello"}, `{"v":1,"last_handled":1}`, 1, false},
				{"another", Message{ConvID: c.ID, Sender: SenderBot, ClientID: "r2.0", Text: "again"}, `{"v":1,"last_handled":2}`, 2, false},
				{"duplicate still saves the state", Message{ConvID: c.ID, Sender: SenderBot, ClientID: "r1.0", Text: "hello"}, `{"v":1,"last_handled":3}`, 1, true},
				{"nil state clears it", Message{ConvID: c.ID, Sender: SenderBot, Text: "plain"}, "", 3, false},
			}
			for _, tt := range steps {
				var state []byte
				if tt.state != "" {
					state = []byte(tt.state)
				}
				got, dup, err := s.AppendMessageState(ctx, tt.m, state)
				if err != nil {
					t.Fatalf("%s: %v", tt.name, err)
				}
				if got.Seq != tt.wantSeq || dup != tt.wantDup {
					t.Fatalf("%s: seq %d dup %v, want %d %v", tt.name, got.Seq, dup, tt.wantSeq, tt.wantDup)
				}
				cv, err := s.Conversation(ctx, c.ID)
				if err != nil {
					t.Fatalf("%s: %v", tt.name, err)
				}
				if string(cv.State) != tt.state {
					t.Fatalf("%s: state %q, want %q", tt.name, cv.State, tt.state)
				}
			}
			if _, _, err := s.AppendMessageState(ctx, Message{ConvID: "nope", Sender: SenderBot, Text: "x"}, []byte(`{}`)); !errors.Is(err, ErrNotFound) {
				t.Fatalf("unknown conversation: %v", err)
			}
			// The seq stays gap-free after the duplicate: the next message takes 4.
			if m, _, err := s.AppendMessage(ctx, Message{ConvID: c.ID, Sender: SenderCustomer, Text: "hi"}); err != nil || m.Seq != 4 {
				t.Fatalf("next seq %d, %v", m.Seq, err)
			}
		})
	}
}
