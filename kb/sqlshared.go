package kb

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Statements that the SQLite and PostgreSQL stores share are written once, with SQLite's ?
// placeholders; pgSQL turns them into PostgreSQL's $1, $2, …

// handoffUpsertSQL saves a handoff record unless the stored one has a newer version: the agent, the
// first assignment and response times and the outcome, once set, are kept.
const handoffUpsertSQL = `INSERT INTO handoffs(` + handoffColumns + `, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (conv_id, requested_at) DO UPDATE SET
			customer_id = excluded.customer_id, state = excluded.state, skill = excluded.skill,
			priority = excluded.priority, reason = excluded.reason,
			agent_id = CASE WHEN excluded.agent_id <> '' THEN excluded.agent_id ELSE handoffs.agent_id END,
			requeues = excluded.requeues, queued_at = excluded.queued_at,
			assigned_at = CASE WHEN handoffs.assigned_at <> 0 THEN handoffs.assigned_at ELSE excluded.assigned_at END,
			first_response_at = CASE WHEN handoffs.first_response_at <> 0 THEN handoffs.first_response_at ELSE excluded.first_response_at END,
			resolved_at = excluded.resolved_at,
			outcome = CASE WHEN excluded.outcome <> '' THEN excluded.outcome ELSE handoffs.outcome END,
			version = excluded.version, updated_at = excluded.updated_at
		WHERE excluded.version >= handoffs.version`

// pgSQL rewrites q's ? placeholders as $1, $2, … in order. The shared statements hold no ? inside
// string literals.
func pgSQL(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// exactSKUFirst is how both stores' FindProducts start: when query looks like one SKU and an active
// product has it, that product comes first. It returns the products so far and the SKUs to skip.
func exactSKUFirst(ctx context.Context, query string, bySKU func(context.Context, string) (Product, error)) ([]Product, map[string]bool) {
	var out []Product
	seen := map[string]bool{}
	if query != "" && len(query) <= 64 && !strings.ContainsAny(query, " \t") {
		if p, err := bySKU(ctx, query); err == nil && p.Active {
			out = append(out, p)
			seen[p.SKU] = true
		}
	}
	return out, seen
}

// validateHandoff is what both stores' SaveHandoff refuse: a record without conversation or request
// time, or with an unknown state (ErrInvalid).
func validateHandoff(h HandoffRecord) error {
	if h.ConvID == "" || h.RequestedAt.IsZero() {
		return fmt.Errorf("kb: save handoff: %w: empty conversation or request time", ErrInvalid)
	}
	switch h.State {
	case HandoffBot, HandoffQueued, HandoffAssigned, HandoffResolved:
		return nil
	default:
		return fmt.Errorf("kb: save handoff: %w: state %q", ErrInvalid, h.State)
	}
}
