package kb_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/shopchat/shopchat/kb"
)

func TestForgetAndExportCustomer(t *testing.T) {
	ctx := context.Background()
	s := openOrders(t, kb.Config{})
	c, err := s.CreateConversation(ctx, kb.Conversation{CustomerID: "C1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AppendMessage(ctx, kb.Message{ConvID: c.ID, Sender: kb.SenderCustomer, Text: "my address is Lindenstraße 1"}); err != nil {
		t.Fatal(err)
	}
	s.RecordImpressions(ctx, c.ID, "C1", []string{"SKU-9"}, "recommend")
	s.RecordInteraction(ctx, kb.Interaction{CustomerID: "C1", SKU: "SKU-9", Kind: kb.InteractionCart})
	s.AppendEvent(ctx, kb.Event{Kind: "intent", ConvID: c.ID, CustomerID: "C1", Data: []byte(`{"intent":"order_status"}`)})

	exp, err := s.ExportCustomer(ctx, "C1")
	if err != nil {
		t.Fatal(err)
	}
	if exp.Customer == nil || exp.Customer.Email != "ada@example.com" || len(exp.Orders) != 1 || len(exp.Conversations) != 1 ||
		len(exp.Conversations[0].Messages) != 1 || len(exp.Interactions) != 1 || len(exp.Impressions) != 1 || len(exp.Events) != 1 {
		t.Fatalf("export %+v", exp)
	}

	rep, err := s.ForgetCustomer(ctx, "C1")
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Customer || rep.Conversations != 1 || rep.Orders != 1 || rep.Interactions != 1 || rep.Impressions != 1 || rep.Events != 1 {
		t.Fatalf("forget %+v", rep)
	}
	if _, err := s.Customer(ctx, "C1"); !errors.Is(err, kb.ErrNotFound) {
		t.Fatalf("customer still there: %v", err)
	}
	if _, err := s.Conversation(ctx, c.ID); !errors.Is(err, kb.ErrNotFound) {
		t.Fatalf("conversation still there: %v", err)
	}
	if _, err := s.ExportCustomer(ctx, "C1"); !errors.Is(err, kb.ErrNotFound) {
		t.Fatalf("export after erasure: %v", err)
	}
	// The order is kept for accounting, without personal data: nobody can look it up any more.
	if _, err := s.LookupOrder(ctx, kb.OrderQuery{Number: "A10001", Email: "ada@example.com", Requester: "x"}); !errors.Is(err, kb.ErrNotFound) {
		t.Fatalf("anonymised order still disclosed: %v", err)
	}
	st, _ := s.Stats(ctx)
	if st.Orders != 3 {
		t.Fatalf("orders %d, want 3 (kept, anonymised)", st.Orders)
	}
	if _, err := s.ForgetCustomer(ctx, "C1"); !errors.Is(err, kb.ErrNotFound) {
		t.Fatalf("second erasure: %v", err)
	}
	// No personal data left anywhere in the file.
	s.Close()
	db, _ := sql.Open("sqlite3", s.Path())
	defer db.Close()
	var n int
	db.QueryRow(`SELECT count(*) FROM orders WHERE email LIKE '%ada%' OR postcode = '10115'`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d orders still hold Ada's data", n)
	}
}

func TestSchemaTooNewIsRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kb.db")
	s, err := kb.Open(ctx, kb.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, _ := sql.Open("sqlite3", path)
	if _, err := db.Exec(`INSERT INTO schema_migrations(version, name, applied_at) VALUES (9999, '9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, ro := range []bool{false, true} {
		_, err = kb.Open(ctx, kb.Config{Path: path, ReadOnly: ro})
		if !errors.Is(err, kb.ErrSchemaTooNew) || !strings.Contains(err.Error(), "9999_future.sql") {
			t.Fatalf("read-only %v: err = %v, want ErrSchemaTooNew naming the migration", ro, err)
		}
	}
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kb.db")
	s, err := kb.Open(ctx, kb.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := s.CreateConversation(ctx, kb.Conversation{})
	s.AppendMessage(ctx, kb.Message{ConvID: c.ID, Sender: kb.SenderCustomer, Text: "hi"})
	s.Close()
	s, err = kb.Open(ctx, kb.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	msgs, err := s.MessagesAfter(ctx, c.ID, 0, 10)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("after reopen: %v %v", msgs, err)
	}
	if kb.SchemaVersion() < 1 {
		t.Fatal("no schema version")
	}
}

func TestReadOnlyStore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kb.db")
	s := openOrders(t, kb.Config{Path: path})
	s.Close()
	ro, err := kb.Open(ctx, kb.Config{Path: path, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.LookupOrder(ctx, kb.OrderQuery{Number: "A10001", CustomerID: "C1"}); err != nil {
		t.Fatalf("read: %v", err)
	}
	_, err = ro.Import(ctx, kb.KindAnswers, kb.FormatCSV, "a.csv", strings.NewReader("intent,text\nthanks,You're welcome!\n"))
	if !errors.Is(err, kb.ErrReadOnly) {
		t.Fatalf("import on read-only: %v", err)
	}
	if _, _, err := ro.AppendMessage(ctx, kb.Message{ConvID: "x", Sender: kb.SenderBot}); !errors.Is(err, kb.ErrReadOnly) {
		t.Fatalf("append on read-only: %v", err)
	}
	if _, err := kb.Open(ctx, kb.Config{Path: filepath.Join(t.TempDir(), "missing.db"), ReadOnly: true}); err == nil {
		t.Fatal("read-only open of a missing file succeeded")
	}
}

// Another process holding the write lock makes writes fail with ErrLocked after the busy timeout, and
// nothing stored is lost.
func TestLockedDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kb.db")
	s := openOrders(t, kb.Config{Path: path, BusyTimeout: 200 * time.Millisecond})
	other, _ := sql.Open("sqlite3", path+"?_txlock=exclusive")
	defer other.Close()
	tx, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Import(ctx, kb.KindAnswers, kb.FormatCSV, "a.csv", strings.NewReader("intent,text\nthanks,You're welcome!\n"))
	if !errors.Is(err, kb.ErrLocked) {
		t.Fatalf("import while locked: %v", err)
	}
	c, err := s.CreateConversation(ctx, kb.Conversation{})
	if !errors.Is(err, kb.ErrLocked) {
		t.Fatalf("create while locked: %v (%+v)", err, c)
	}
	tx.Rollback()
	if _, err := s.LookupOrder(ctx, kb.OrderQuery{Number: "A10001", CustomerID: "C1"}); err != nil {
		t.Fatalf("data after lock: %v", err)
	}
	if _, err := s.Import(ctx, kb.KindAnswers, kb.FormatCSV, "a.csv", strings.NewReader("intent,text\nthanks,You're welcome!\n")); err != nil {
		t.Fatalf("import after the lock is gone: %v", err)
	}
}
