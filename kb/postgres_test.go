package kb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// testPGDSN is the database the PostgreSQL tests use; SHOPCHAT_TEST_PG_DSN overrides it.
func testPGDSN() string {
	if d := os.Getenv("SHOPCHAT_TEST_PG_DSN"); d != "" {
		return d
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// openTestPG opens n stores (as n nodes would) on a fresh schema, or skips when PostgreSQL is absent.
func openTestPG(t *testing.T, n int) []*PGStore {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testPGDSN())
	if err != nil {
		t.Skipf("PostgreSQL not reachable at %s (set SHOPCHAT_TEST_PG_DSN): %v", testPGDSN(), err)
	}
	schema := fmt.Sprintf("kbtest_%d", time.Now().UnixNano())
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
		conn.Close(context.Background())
	})
	var out []*PGStore
	for i := 0; i < n; i++ {
		s, err := OpenPostgres(context.Background(), PGConfig{DSN: testPGDSN(), Schema: schema, MaxConns: 8})
		if err != nil {
			t.Fatalf("open node %d: %v", i, err)
		}
		t.Cleanup(s.Close)
		out = append(out, s)
	}
	return out
}

func TestPGConversationsAndState(t *testing.T) {
	s := openTestPG(t, 1)[0]
	ctx := context.Background()
	c, err := s.CreateConversation(ctx, Conversation{CustomerID: "cus_1", Locale: "en"})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID == "" || c.Status != "bot" {
		t.Fatalf("created %+v", c)
	}
	if err := s.SaveState(ctx, c.ID, []byte(`{"form":"order"}`)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Conversation(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.State) != `{"form":"order"}` || got.CustomerID != "cus_1" {
		t.Fatalf("read back %+v", got)
	}
	if _, err := s.Conversation(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing conversation: %v", err)
	}
	if err := s.SaveState(ctx, "nope", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("state of missing conversation: %v", err)
	}
	if _, _, err := s.AppendMessage(ctx, Message{ConvID: "nope", Sender: SenderBot, Text: "x"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("append to missing conversation: %v", err)
	}
}

// TestPGSeqGapFreeAcrossNodes appends from three stores (three nodes) at once, with clients retrying the
// same ids, and checks that seqs are 1..N without gaps and every client message is stored exactly once.
func TestPGSeqGapFreeAcrossNodes(t *testing.T) {
	nodes := openTestPG(t, 3)
	ctx := context.Background()
	c, err := nodes[0].CreateConversation(ctx, Conversation{})
	if err != nil {
		t.Fatal(err)
	}
	const writers, perWriter = 6, 40
	var wg sync.WaitGroup
	errc := make(chan error, writers*perWriter*2)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				m := Message{ConvID: c.ID, Sender: SenderCustomer, ClientID: fmt.Sprintf("c%d", i%(perWriter/2)+w*1000), Text: "hi"}
				if w%2 == 1 { // odd writers send the same ids as the even writer before them: duplicates across nodes
					m.ClientID = fmt.Sprintf("c%d", i%(perWriter/2)+(w-1)*1000)
				}
				if _, _, err := nodes[(w+i)%3].AppendMessage(ctx, m); err != nil {
					errc <- err
				}
				if _, _, err := nodes[(w+i+1)%3].AppendMessage(ctx, Message{ConvID: c.ID, Sender: SenderBot, Text: "answer"}); err != nil {
					errc <- err
				}
			}
		}(w)
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	all, err := nodes[1].MessagesAfter(ctx, c.ID, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	wantCustomer := (writers / 2) * (perWriter / 2)
	wantBot := writers * perWriter
	if len(all) != wantCustomer+wantBot {
		t.Fatalf("stored %d messages, want %d", len(all), wantCustomer+wantBot)
	}
	seen := map[string]bool{}
	for i, m := range all {
		if m.Seq != int64(i+1) {
			t.Fatalf("message %d has seq %d: gap or disorder", i, m.Seq)
		}
		if m.ClientID != "" {
			if seen[m.ClientID] {
				t.Fatalf("client id %s stored twice", m.ClientID)
			}
			seen[m.ClientID] = true
		}
	}
	conv, _ := nodes[2].Conversation(ctx, c.ID)
	if conv.LastSeq != int64(len(all)) {
		t.Fatalf("last_seq %d, want %d", conv.LastSeq, len(all))
	}
	// Retrying a stored client message returns the stored one.
	first := all[0]
	for _, m := range all {
		if m.ClientID != "" {
			first = m
			break
		}
	}
	got, dup, err := nodes[2].AppendMessage(ctx, Message{ConvID: c.ID, Sender: SenderCustomer, ClientID: first.ClientID, Text: "retry"})
	if err != nil || !dup || got.Seq != first.Seq || got.Text != first.Text {
		t.Fatalf("retry: %+v dup=%v err=%v, want seq %d", got, dup, err, first.Seq)
	}
	// Paging backwards.
	page, err := nodes[0].MessagesBefore(ctx, c.ID, 11, 5)
	if err != nil || len(page) != 5 || page[0].Seq != 6 || page[4].Seq != 10 {
		t.Fatalf("page before 11: %v %v", page, err)
	}
}

func TestPGRejectsNewerSchema(t *testing.T) {
	s := openTestPG(t, 1)[0]
	ctx := context.Background()
	if _, err := s.pool.Exec(ctx, "INSERT INTO schema_migrations (version) VALUES ('9999_future')"); err != nil {
		t.Fatal(err)
	}
	if err := s.migrate(ctx); err == nil {
		t.Fatal("a database from a newer shopchat was accepted")
	}
}
