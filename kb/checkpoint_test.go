package kb

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBackgroundCheckpoint: with the checkpointer on, committed messages reach the database file
// without any commit checkpointing (they would otherwise stay in the WAL until it holds
// walCheckpointPages pages); with it off, they stay in the WAL.
func TestBackgroundCheckpoint(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
		grows    bool
	}{
		{"on", 20 * time.Millisecond, true},
		{"off", -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "kb.db")
			s, err := Open(ctx, Config{Path: path, CheckpointInterval: tt.interval})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if (s.ckpt != nil) != tt.grows {
				t.Fatalf("checkpointer connection %v, want %v", s.ckpt != nil, tt.grows)
			}
			c, err := s.CreateConversation(ctx, Conversation{})
			if err != nil {
				t.Fatal(err)
			}
			// Let a checkpoint copy what migrations and the conversation wrote, then measure.
			time.Sleep(100 * time.Millisecond)
			before := fileSize(t, path)
			text := strings.Repeat("where is my parcel? ", 40)
			for i := 0; i < 300; i++ {
				if _, _, err := s.AppendMessage(ctx, Message{ConvID: c.ID, Sender: SenderCustomer, ClientID: fmt.Sprint(i), Text: text}); err != nil {
					t.Fatal(err)
				}
			}
			deadline := time.Now().Add(5 * time.Second)
			for tt.grows && fileSize(t, path) <= before && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if !tt.grows {
				time.Sleep(100 * time.Millisecond)
			}
			if grew := fileSize(t, path) > before; grew != tt.grows {
				t.Fatalf("database file grew %v (from %d bytes), want %v", grew, before, tt.grows)
			}
			// Everything is readable either way.
			ms, err := s.MessagesAfter(ctx, c.ID, 0, 1000)
			if err != nil || len(ms) != 300 {
				t.Fatalf("read back %d messages, err %v", len(ms), err)
			}
		})
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
