package kb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The handoff storage of a cluster: agents, console sessions (a login on one node is valid on every
// node), handoff episodes and their events, canned responses, notes, webhook deliveries, CSAT and the
// unanswered inbox. Each method mirrors the *Store method of the same name; all are safe for concurrent
// use.

func isPGUnique(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

func pgWrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("kb: %s: %w", op, err)
}

func pgNow() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// CreateAgent stores a new agent; an empty ID gets a random one, a taken email gives ErrExists.
func (s *PGStore) CreateAgent(ctx context.Context, a Agent) (Agent, error) {
	if err := checkAgent(a); err != nil {
		return Agent{}, fmt.Errorf("kb: create agent: %w", err)
	}
	if a.ID == "" {
		a.ID = newID()
	}
	now := pgNow()
	a.CreatedAt, a.UpdatedAt = now, now
	_, err := s.pool.Exec(ctx, `INSERT INTO agents(`+agentColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		a.ID, a.Email, a.Name, a.Role, joinSkills(a.Skills), a.MaxConcurrent, a.Disabled, a.PasswordHash, ms(now), ms(now))
	if isPGUnique(err) {
		return Agent{}, fmt.Errorf("kb: agent %s: %w", a.Email, ErrExists)
	}
	if err != nil {
		return Agent{}, pgWrap("create agent", err)
	}
	return a, nil
}

func (s *PGStore) agentWhere(ctx context.Context, where, key string) (Agent, error) {
	a, err := scanAgent(s.pool.QueryRow(ctx, `SELECT `+agentColumns+` FROM agents WHERE `+where, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return Agent{}, fmt.Errorf("kb: agent %q: %w", key, ErrNotFound)
	}
	return a, pgWrap("agent", err)
}

// Agent returns an agent by id or ErrNotFound.
func (s *PGStore) Agent(ctx context.Context, id string) (Agent, error) {
	return s.agentWhere(ctx, `id = $1`, id)
}

// AgentByEmail returns an agent by email (case-insensitive) or ErrNotFound.
func (s *PGStore) AgentByEmail(ctx context.Context, email string) (Agent, error) {
	return s.agentWhere(ctx, `lower(email) = lower($1)`, email)
}

// ListAgents returns every agent by email.
func (s *PGStore) ListAgents(ctx context.Context) ([]Agent, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+agentColumns+` FROM agents ORDER BY lower(email)`)
	if err != nil {
		return nil, pgWrap("list agents", err)
	}
	defer rows.Close()
	var out []Agent
	for rows.Next() {
		a, err := scanAgent(rows)
		if err != nil {
			return nil, pgWrap("list agents", err)
		}
		out = append(out, a)
	}
	return out, pgWrap("list agents", rows.Err())
}

// UpdateAgent replaces an agent's name, role, skills, capacity and disabled flag (ErrNotFound when
// unknown).
func (s *PGStore) UpdateAgent(ctx context.Context, a Agent) error {
	if err := checkAgent(a); err != nil {
		return fmt.Errorf("kb: update agent: %w", err)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE agents SET name = $1, role = $2, skills = $3, max_concurrent = $4, disabled = $5, updated_at = $6 WHERE id = $7`,
		a.Name, a.Role, joinSkills(a.Skills), a.MaxConcurrent, a.Disabled, ms(pgNow()), a.ID)
	if err != nil {
		return pgWrap("update agent", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("kb: agent %q: %w", a.ID, ErrNotFound)
	}
	return nil
}

// SetAgentPassword replaces an agent's password hash (ErrNotFound when unknown).
func (s *PGStore) SetAgentPassword(ctx context.Context, id, hash string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE agents SET password_hash = $1, updated_at = $2 WHERE id = $3`, hash, ms(pgNow()), id)
	if err != nil {
		return pgWrap("set agent password", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("kb: agent %q: %w", id, ErrNotFound)
	}
	return nil
}

// CreateAgentSession stores a console session (and drops expired ones).
func (s *PGStore) CreateAgentSession(ctx context.Context, a AgentSession) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM agent_sessions WHERE expires_at < $1`, ms(pgNow())); err != nil {
		return pgWrap("create session", err)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO agent_sessions(token_hash, agent_id, csrf, created_at, expires_at, user_agent, remote_ip)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, a.TokenHash, a.AgentID, a.CSRF, ms(a.CreatedAt), ms(a.ExpiresAt), a.UserAgent, a.RemoteIP)
	return pgWrap("create session", err)
}

// AgentSession returns the session with this token hash or ErrNotFound.
func (s *PGStore) AgentSession(ctx context.Context, tokenHash string) (AgentSession, error) {
	var a AgentSession
	var ca, ea int64
	err := s.pool.QueryRow(ctx, `SELECT token_hash, agent_id, csrf, created_at, expires_at, user_agent, remote_ip
		FROM agent_sessions WHERE token_hash = $1`, tokenHash).Scan(&a.TokenHash, &a.AgentID, &a.CSRF, &ca, &ea, &a.UserAgent, &a.RemoteIP)
	if errors.Is(err, pgx.ErrNoRows) {
		return AgentSession{}, fmt.Errorf("kb: session: %w", ErrNotFound)
	}
	a.CreatedAt, a.ExpiresAt = fromMS(ca), fromMS(ea)
	return a, pgWrap("session", err)
}

// DeleteAgentSession ends one session.
func (s *PGStore) DeleteAgentSession(ctx context.Context, tokenHash string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM agent_sessions WHERE token_hash = $1`, tokenHash)
	return pgWrap("delete session", err)
}

// DeleteAgentSessions ends every session of an agent.
func (s *PGStore) DeleteAgentSessions(ctx context.Context, agentID string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM agent_sessions WHERE agent_id = $1`, agentID)
	return pgWrap("delete sessions", err)
}

// pgHandoffUpsertSQL is handoffUpsertSQL with PostgreSQL's placeholders.
var pgHandoffUpsertSQL = pgSQL(handoffUpsertSQL)

// SaveHandoff inserts or updates a handoff episode (only when h.Version is not older than the stored
// one, so late writes, from this node or another, never undo newer ones), keeps the first assignment
// and first reply times, and sets the conversation's status when the conversation exists.
func (s *PGStore) SaveHandoff(ctx context.Context, h HandoffRecord) error {
	if err := validateHandoff(h); err != nil {
		return err
	}
	now := ms(pgNow())
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return pgWrap("save handoff", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	tag, err := tx.Exec(ctx, pgHandoffUpsertSQL,
		h.ConvID, ms(h.RequestedAt), h.CustomerID, h.State, h.Skill, h.Priority, h.Reason, h.AgentID, h.Requeues,
		ms(h.QueuedAt), ms(h.AssignedAt), ms(h.FirstResponseAt), ms(h.ResolvedAt), h.Outcome, h.Version, now)
	if err != nil {
		return pgWrap("save handoff", err)
	}
	if tag.RowsAffected() == 0 {
		return nil // older than the stored version
	}
	if _, err := tx.Exec(ctx, `UPDATE conversations SET status = $1, updated_at = now() WHERE id = $2`, h.State, h.ConvID); err != nil {
		return pgWrap("save handoff", err)
	}
	return pgWrap("save handoff", tx.Commit(ctx))
}

func (s *PGStore) queryHandoffs(ctx context.Context, op, q string, args ...any) ([]HandoffRecord, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, pgWrap(op, err)
	}
	defer rows.Close()
	var out []HandoffRecord
	for rows.Next() {
		h, err := scanHandoff(rows)
		if err != nil {
			return nil, pgWrap(op, err)
		}
		out = append(out, h)
	}
	return out, pgWrap(op, rows.Err())
}

// OpenHandoffs returns the latest episode of every conversation that is queued or assigned.
func (s *PGStore) OpenHandoffs(ctx context.Context) ([]HandoffRecord, error) {
	return s.queryHandoffs(ctx, "open handoffs", `SELECT `+handoffColumns+` FROM handoffs h
		WHERE state IN ('queued', 'assigned')
		  AND requested_at = (SELECT MAX(requested_at) FROM handoffs WHERE conv_id = h.conv_id)
		ORDER BY queued_at`)
}

// LatestHandoff returns a conversation's most recent handoff episode or ErrNotFound.
func (s *PGStore) LatestHandoff(ctx context.Context, convID string) (HandoffRecord, error) {
	h, err := scanHandoff(s.pool.QueryRow(ctx, `SELECT `+handoffColumns+` FROM handoffs
		WHERE conv_id = $1 ORDER BY requested_at DESC LIMIT 1`, convID))
	if errors.Is(err, pgx.ErrNoRows) {
		return HandoffRecord{}, fmt.Errorf("kb: handoff of %q: %w", convID, ErrNotFound)
	}
	return h, pgWrap("latest handoff", err)
}

// AppendHandoffEvent adds a line to a conversation's handoff history.
func (s *PGStore) AppendHandoffEvent(ctx context.Context, e HandoffEvent) error {
	if e.At.IsZero() {
		e.At = pgNow()
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO handoff_events(conv_id, kind, agent_id, prev_agent, actor, detail, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, e.ConvID, e.Kind, e.AgentID, e.PrevAgent, e.Actor, e.Detail, ms(e.At))
	return pgWrap("append handoff event", err)
}

// HandoffEvents returns a conversation's handoff history, oldest first.
func (s *PGStore) HandoffEvents(ctx context.Context, convID string) ([]HandoffEvent, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, conv_id, kind, agent_id, prev_agent, actor, detail, at
		FROM handoff_events WHERE conv_id = $1 ORDER BY id`, convID)
	if err != nil {
		return nil, pgWrap("handoff events", err)
	}
	defer rows.Close()
	var out []HandoffEvent
	for rows.Next() {
		var e HandoffEvent
		var at int64
		if err := rows.Scan(&e.ID, &e.ConvID, &e.Kind, &e.AgentID, &e.PrevAgent, &e.Actor, &e.Detail, &at); err != nil {
			return nil, pgWrap("handoff events", err)
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, pgWrap("handoff events", rows.Err())
}

// SaveCanned inserts a canned response, or updates the one with the same ID (ID > 0). A shortcut in
// use by another gives ErrExists.
func (s *PGStore) SaveCanned(ctx context.Context, c CannedResponse) (CannedResponse, error) {
	c.UpdatedAt = pgNow()
	if c.ID > 0 {
		tag, err := s.pool.Exec(ctx, `UPDATE canned_responses SET shortcut = $1, title = $2, text = $3, updated_at = $4 WHERE id = $5`,
			c.Shortcut, c.Title, c.Text, ms(c.UpdatedAt), c.ID)
		if isPGUnique(err) {
			return CannedResponse{}, fmt.Errorf("kb: canned response /%s: %w", c.Shortcut, ErrExists)
		}
		if err != nil {
			return CannedResponse{}, pgWrap("save canned response", err)
		}
		if tag.RowsAffected() == 0 {
			return CannedResponse{}, fmt.Errorf("kb: canned response %d: %w", c.ID, ErrNotFound)
		}
		return c, nil
	}
	err := s.pool.QueryRow(ctx, `INSERT INTO canned_responses(shortcut, title, text, created_by, updated_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		c.Shortcut, c.Title, c.Text, c.CreatedBy, ms(c.UpdatedAt)).Scan(&c.ID)
	if isPGUnique(err) {
		return CannedResponse{}, fmt.Errorf("kb: canned response /%s: %w", c.Shortcut, ErrExists)
	}
	return c, pgWrap("save canned response", err)
}

// ListCanned returns every canned response by shortcut.
func (s *PGStore) ListCanned(ctx context.Context) ([]CannedResponse, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, shortcut, title, text, created_by, updated_at FROM canned_responses ORDER BY lower(shortcut)`)
	if err != nil {
		return nil, pgWrap("list canned responses", err)
	}
	defer rows.Close()
	var out []CannedResponse
	for rows.Next() {
		var c CannedResponse
		var at int64
		if err := rows.Scan(&c.ID, &c.Shortcut, &c.Title, &c.Text, &c.CreatedBy, &at); err != nil {
			return nil, pgWrap("list canned responses", err)
		}
		c.UpdatedAt = fromMS(at)
		out = append(out, c)
	}
	return out, pgWrap("list canned responses", rows.Err())
}

// DeleteCanned removes a canned response (ErrNotFound when there is none).
func (s *PGStore) DeleteCanned(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM canned_responses WHERE id = $1`, id)
	if err != nil {
		return pgWrap("delete canned response", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("kb: canned response %d: %w", id, ErrNotFound)
	}
	return nil
}

// AddNote stores an internal note.
func (s *PGStore) AddNote(ctx context.Context, n Note) (Note, error) {
	n.CreatedAt = pgNow()
	err := s.pool.QueryRow(ctx, `INSERT INTO handoff_notes(conv_id, agent_id, text, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		n.ConvID, n.AgentID, n.Text, ms(n.CreatedAt)).Scan(&n.ID)
	if err != nil {
		return Note{}, pgWrap("add note", err)
	}
	return n, nil
}

// Notes returns a conversation's internal notes, oldest first.
func (s *PGStore) Notes(ctx context.Context, convID string) ([]Note, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, conv_id, agent_id, text, created_at FROM handoff_notes WHERE conv_id = $1 ORDER BY id`, convID)
	if err != nil {
		return nil, pgWrap("notes", err)
	}
	defer rows.Close()
	var out []Note
	for rows.Next() {
		var n Note
		var at int64
		if err := rows.Scan(&n.ID, &n.ConvID, &n.AgentID, &n.Text, &at); err != nil {
			return nil, pgWrap("notes", err)
		}
		n.CreatedAt = fromMS(at)
		out = append(out, n)
	}
	return out, pgWrap("notes", rows.Err())
}

// EnqueueDelivery stores a pending webhook delivery; an EventID already stored gives ErrExists (so
// that two nodes never send the same event twice).
func (s *PGStore) EnqueueDelivery(ctx context.Context, d WebhookDelivery) (WebhookDelivery, error) {
	now := pgNow()
	d.Status, d.CreatedAt, d.UpdatedAt = DeliveryPending, now, now
	if d.NextAttemptAt.IsZero() {
		d.NextAttemptAt = now
	}
	err := s.pool.QueryRow(ctx, `INSERT INTO webhook_deliveries(event_id, kind, conv_id, url, payload, status, attempts,
		next_attempt_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9) RETURNING id`,
		d.EventID, d.Kind, d.ConvID, d.URL, string(d.Payload), d.Status, ms(d.NextAttemptAt), ms(now), ms(now)).Scan(&d.ID)
	if isPGUnique(err) {
		return WebhookDelivery{}, fmt.Errorf("kb: delivery %s: %w", d.EventID, ErrExists)
	}
	if err != nil {
		return WebhookDelivery{}, pgWrap("enqueue delivery", err)
	}
	return d, nil
}

// UpdateDelivery records an attempt: status, attempts, last code and error, next attempt time.
func (s *PGStore) UpdateDelivery(ctx context.Context, d WebhookDelivery) error {
	_, err := s.pool.Exec(ctx, `UPDATE webhook_deliveries SET status = $1, attempts = $2, last_status_code = $3, last_error = $4,
		next_attempt_at = $5, updated_at = $6 WHERE id = $7`, d.Status, d.Attempts, d.LastStatusCode, truncateString(d.LastError, 500),
		ms(d.NextAttemptAt), ms(pgNow()), d.ID)
	return pgWrap("update delivery", err)
}

// DueDeliveries returns up to limit pending deliveries whose next attempt is at or before now, oldest
// first.
func (s *PGStore) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]WebhookDelivery, error) {
	return s.queryDeliveries(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries
		WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2`, ms(now), limit)
}

// Deliveries returns the delivery log, newest first.
func (s *PGStore) Deliveries(ctx context.Context, limit int) ([]WebhookDelivery, error) {
	return s.queryDeliveries(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries ORDER BY id DESC LIMIT $1`, limit)
}

func (s *PGStore) queryDeliveries(ctx context.Context, q string, args ...any) ([]WebhookDelivery, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, pgWrap("deliveries", err)
	}
	defer rows.Close()
	var out []WebhookDelivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, pgWrap("deliveries", err)
		}
		out = append(out, d)
	}
	return out, pgWrap("deliveries", rows.Err())
}

// SaveCSAT stores a rating of a handoff episode; a second rating of the same episode gives ErrExists.
func (s *PGStore) SaveCSAT(ctx context.Context, c CSAT) error {
	if c.Rating < 1 || c.Rating > 5 {
		return fmt.Errorf("kb: save csat: %w: rating %d (want 1-5)", ErrInvalid, c.Rating)
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = pgNow()
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO csat(conv_id, requested_at, agent_id, rating, comment, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		c.ConvID, ms(c.RequestedAt), c.AgentID, c.Rating, c.Comment, ms(c.CreatedAt))
	if isPGUnique(err) {
		return fmt.Errorf("kb: csat of %s: %w", c.ConvID, ErrExists)
	}
	return pgWrap("save csat", err)
}

// AddUnanswered records a customer message for labelling; the same (conversation, seq) twice is a
// no-op.
func (s *PGStore) AddUnanswered(ctx context.Context, u Unanswered) error {
	if u.CreatedAt.IsZero() {
		u.CreatedAt = pgNow()
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO unanswered(conv_id, seq, text, intent, confidence, reason, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (conv_id, seq) DO NOTHING`,
		u.ConvID, u.Seq, u.Text, u.Intent, u.Confidence, u.Reason, ms(u.CreatedAt))
	return pgWrap("add unanswered", err)
}

const unansweredColumns = `id, conv_id, seq, text, intent, confidence, reason, label, labelled_by, labelled_at, created_at`

func scanUnanswered(sc interface{ Scan(...any) error }) (Unanswered, error) {
	var u Unanswered
	var la, ca int64
	err := sc.Scan(&u.ID, &u.ConvID, &u.Seq, &u.Text, &u.Intent, &u.Confidence, &u.Reason, &u.Label, &u.LabelledBy, &la, &ca)
	u.LabelledAt, u.CreatedAt = fromMS(la), fromMS(ca)
	return u, err
}

// ListUnanswered returns up to limit messages, newest first: only those not yet labelled when
// onlyOpen.
func (s *PGStore) ListUnanswered(ctx context.Context, onlyOpen bool, limit int) ([]Unanswered, error) {
	q := `SELECT ` + unansweredColumns + ` FROM unanswered`
	if onlyOpen {
		q += ` WHERE label = ''`
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT $1`
	rows, err := s.pool.Query(ctx, q, limit)
	if err != nil {
		return nil, pgWrap("list unanswered", err)
	}
	defer rows.Close()
	var out []Unanswered
	for rows.Next() {
		u, err := scanUnanswered(rows)
		if err != nil {
			return nil, pgWrap("list unanswered", err)
		}
		out = append(out, u)
	}
	return out, pgWrap("list unanswered", rows.Err())
}

// LabelUnanswered sets the intent of an unanswered message and returns it (ErrNotFound when unknown).
func (s *PGStore) LabelUnanswered(ctx context.Context, id int64, label, agentID string) (Unanswered, error) {
	u, err := scanUnanswered(s.pool.QueryRow(ctx, `UPDATE unanswered SET label = $1, labelled_by = $2, labelled_at = $3 WHERE id = $4
		RETURNING `+unansweredColumns, label, agentID, ms(pgNow()), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Unanswered{}, fmt.Errorf("kb: unanswered %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Unanswered{}, pgWrap("label unanswered", err)
	}
	return u, nil
}

// LiveConversations returns up to limit conversations in the bot state updated since since, newest
// first, each with its last customer message.
func (s *PGStore) LiveConversations(ctx context.Context, since time.Time, limit int) ([]LiveConversation, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.id, c.customer_id, c.locale, c.status, c.last_seq, c.created_at, c.updated_at,
		COALESCE((SELECT text FROM messages m WHERE m.conv_id = c.id AND m.sender = 'customer' ORDER BY seq DESC LIMIT 1), '')
		FROM conversations c WHERE c.status IN ('bot', 'resolved') AND c.updated_at >= $1 ORDER BY c.updated_at DESC LIMIT $2`, since, limit)
	if err != nil {
		return nil, pgWrap("live conversations", err)
	}
	defer rows.Close()
	var out []LiveConversation
	for rows.Next() {
		var c LiveConversation
		if err := rows.Scan(&c.ID, &c.CustomerID, &c.Locale, &c.Status, &c.LastSeq, &c.CreatedAt, &c.UpdatedAt, &c.LastText); err != nil {
			return nil, pgWrap("live conversations", err)
		}
		c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
		out = append(out, c)
	}
	return out, pgWrap("live conversations", rows.Err())
}

// HandoffReport computes the report for [from, to), as *Store.HandoffReport does.
func (s *PGStore) HandoffReport(ctx context.Context, from, to time.Time) (HandoffReport, error) {
	rep := HandoffReport{From: from, To: to}
	f, t := ms(from), ms(to)
	err := s.pool.QueryRow(ctx, `SELECT COUNT(*),
		COUNT(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM handoffs h WHERE h.conv_id = c.id))
		FROM conversations c WHERE c.created_at >= $1 AND c.created_at < $2`, from, to).Scan(&rep.Conversations, &rep.BotOnly)
	if err != nil {
		return rep, pgWrap("handoff report", err)
	}
	var withHandoff int
	err = s.pool.QueryRow(ctx, `SELECT COUNT(*), COUNT(DISTINCT conv_id),
		COUNT(*) FILTER (WHERE assigned_at <> 0),
		COUNT(*) FILTER (WHERE outcome = 'resolved'),
		COUNT(*) FILTER (WHERE outcome IN ('returned', 'cancelled')),
		COUNT(*) FILTER (WHERE outcome = 'failed'),
		COALESCE(AVG(assigned_at - requested_at) FILTER (WHERE assigned_at <> 0), 0)::float8 / 1000.0,
		COALESCE(AVG(first_response_at - assigned_at) FILTER (WHERE first_response_at <> 0 AND assigned_at <> 0), 0)::float8 / 1000.0,
		COALESCE(percentile_disc(0.9) WITHIN GROUP (ORDER BY assigned_at - requested_at) FILTER (WHERE assigned_at <> 0), 0)::float8 / 1000.0
		FROM handoffs WHERE requested_at >= $1 AND requested_at < $2`, f, t).Scan(&rep.Handoffs, &withHandoff,
		&rep.HandledByAgents, &rep.Resolved, &rep.ReturnedToBot, &rep.Failed, &rep.AvgWaitSeconds, &rep.AvgFirstResponseSecs, &rep.P90WaitSeconds)
	if err != nil {
		return rep, pgWrap("handoff report", err)
	}
	if rep.Conversations > 0 {
		rep.HandoffRate = float64(min(withHandoff, rep.Conversations)) / float64(rep.Conversations)
	}
	rows, err := s.pool.Query(ctx, `SELECT rating, COUNT(*) FROM csat WHERE created_at >= $1 AND created_at < $2 GROUP BY rating`, f, t)
	if err != nil {
		return rep, pgWrap("handoff report", err)
	}
	sum := 0
	for rows.Next() {
		var r, c int
		if err := rows.Scan(&r, &c); err != nil {
			rows.Close()
			return rep, pgWrap("handoff report", err)
		}
		if r >= 1 && r <= 5 {
			rep.CSATDistribution[r-1] = c
			rep.CSATCount += c
			sum += r * c
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, pgWrap("handoff report", err)
	}
	if rep.CSATCount > 0 {
		rep.CSATAverage = float64(sum) / float64(rep.CSATCount)
	}
	rows, err = s.pool.Query(ctx, `SELECT conv_id, requested_at, agent_id, rating, comment, created_at FROM csat
		WHERE created_at >= $1 AND created_at < $2 AND comment <> '' ORDER BY created_at DESC LIMIT 20`, f, t)
	if err != nil {
		return rep, pgWrap("handoff report", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c CSAT
		var ra, ca int64
		if err := rows.Scan(&c.ConvID, &ra, &c.AgentID, &c.Rating, &c.Comment, &ca); err != nil {
			return rep, pgWrap("handoff report", err)
		}
		c.RequestedAt, c.CreatedAt = fromMS(ra), fromMS(ca)
		rep.RecentCSATComments = append(rep.RecentCSATComments, c)
	}
	return rep, pgWrap("handoff report", rows.Err())
}
