package kb

import (
	"strings"
	"testing"
)

func TestPGSQL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"SELECT 1", "SELECT 1"},
		{"UPDATE t SET a = ?, b = ? WHERE id = ?", "UPDATE t SET a = $1, b = $2 WHERE id = $3"},
		{"VALUES (?,?,?,?,?,?,?,?,?,?,?)", "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)"},
	}
	for _, tt := range tests {
		if got := pgSQL(tt.in); got != tt.want {
			t.Errorf("pgSQL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := pgSQL(handoffUpsertSQL); got == handoffUpsertSQL || !strings.Contains(got, "$1,") || !strings.Contains(got, "$16)") || strings.Contains(got, "?") {
		t.Fatalf("handoff upsert for PostgreSQL: %s", got)
	}
}
