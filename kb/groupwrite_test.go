package kb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

// TestGroupWrite: small writes share the messages' group commit; a failing one leaves nothing behind
// and fails only its own caller.
func TestGroupWrite(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Config{Path: filepath.Join(t.TempDir(), "kb.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := s.CreateConversation(ctx, Conversation{})
	if err != nil {
		t.Fatal(err)
	}
	errBoom := errors.New("boom")
	insert := func(sku string) func(context.Context, *sql.Tx) error {
		return func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO impressions(conv_id, customer_id, sku, source, at) VALUES (?, '', ?, 'test', 0)`, c.ID, sku)
			return err
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := 0; i < 50; i++ {
		wg.Add(3)
		go func(i int) {
			defer wg.Done()
			if _, _, err := s.AppendMessage(ctx, Message{ConvID: c.ID, Sender: SenderCustomer, ClientID: fmt.Sprint(i), Text: "hi"}); err != nil {
				errs <- err
			}
		}(i)
		go func(i int) {
			defer wg.Done()
			if err := s.groupWrite(ctx, "test", insert(fmt.Sprint("OK", i))); err != nil {
				errs <- err
			}
		}(i)
		go func(i int) {
			defer wg.Done()
			err := s.groupWrite(ctx, "test", func(ctx context.Context, tx *sql.Tx) error {
				if err := insert(fmt.Sprint("BAD", i))(ctx, tx); err != nil {
					return err
				}
				return errBoom
			})
			if !errors.Is(err, errBoom) {
				errs <- fmt.Errorf("failing write: %v", err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	shown, err := s.ShownSKUs(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(shown) != 50 {
		t.Fatalf("%d impressions stored, want the 50 good ones: %v", len(shown), shown)
	}
	for _, sku := range shown {
		if sku[:2] != "OK" {
			t.Fatalf("a failed write left %s behind", sku)
		}
	}
	msgs, err := s.MessagesAfter(ctx, c.ID, 0, 100)
	if err != nil || len(msgs) != 50 || msgs[49].Seq != 50 {
		t.Fatalf("%d messages, %v", len(msgs), err)
	}
	if err := s.SaveState(ctx, "nope", []byte("{}")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("save state of an unknown conversation: %v", err)
	}
}
