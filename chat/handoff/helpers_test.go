package handoff

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/shopchat/shopchat/kb"
)

// Compile-time guards: *kb.Store is the storage this package consumes.
var (
	_ AgentStore    = (*kb.Store)(nil)
	_ HandoffStore  = (*kb.Store)(nil)
	_ DeliveryStore = (*kb.Store)(nil)
)

func openStore(t testing.TB) *kb.Store {
	t.Helper()
	s, err := kb.Open(context.Background(), kb.Config{Path: filepath.Join(t.TempDir(), "kb.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// cheap argon2id parameters keep the tests fast; one test checks the defaults.
var testParams = PasswordParams{Memory: 1024, Time: 1, Threads: 1}
