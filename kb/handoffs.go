package kb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Handoff states as stored (the same strings as Conversation.Status).
const (
	HandoffBot      = "bot"
	HandoffQueued   = "queued"
	HandoffAssigned = "assigned"
	HandoffResolved = "resolved"
)

// HandoffRecord is one handoff episode of a conversation, keyed by (ConvID, RequestedAt).
type HandoffRecord struct {
	ConvID          string    `json:"conv"`
	RequestedAt     time.Time `json:"requested_at"`
	CustomerID      string    `json:"customer_id,omitempty"`
	State           string    `json:"state"`
	Skill           string    `json:"skill,omitempty"`
	Priority        int       `json:"priority"`
	Reason          string    `json:"reason,omitempty"`
	AgentID         string    `json:"agent_id,omitempty"`
	Requeues        int       `json:"requeues"`
	QueuedAt        time.Time `json:"queued_at,omitzero"`
	AssignedAt      time.Time `json:"assigned_at,omitzero"` // the first assignment of the episode
	FirstResponseAt time.Time `json:"first_response_at,omitzero"`
	ResolvedAt      time.Time `json:"resolved_at,omitzero"`
	Outcome         string    `json:"outcome,omitempty"` // resolved, returned, failed, cancelled
	Version         int64     `json:"version"`
}

// HandoffEvent is one line of a conversation's handoff history.
type HandoffEvent struct {
	ID        int64     `json:"id"`
	ConvID    string    `json:"conv"`
	Kind      string    `json:"kind"`
	AgentID   string    `json:"agent_id,omitempty"`
	PrevAgent string    `json:"prev_agent,omitempty"`
	Actor     string    `json:"actor,omitempty"`
	Detail    string    `json:"detail,omitempty"`
	At        time.Time `json:"at"`
}

// CannedResponse is a reusable answer with {variables}; agents insert it by its shortcut.
type CannedResponse struct {
	ID        int64     `json:"id"`
	Shortcut  string    `json:"shortcut"`
	Title     string    `json:"title"`
	Text      string    `json:"text"`
	CreatedBy string    `json:"created_by,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Note is an internal note on a conversation, for agents only.
type Note struct {
	ID        int64     `json:"id"`
	ConvID    string    `json:"conv"`
	AgentID   string    `json:"agent_id"`
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"created_at"`
}

// Webhook delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed" // gave up after the last attempt
)

// WebhookDelivery is one outbound webhook call and its attempts so far.
type WebhookDelivery struct {
	ID             int64     `json:"id"`
	EventID        string    `json:"event_id"`
	Kind           string    `json:"kind"`
	ConvID         string    `json:"conv,omitempty"`
	URL            string    `json:"url"`
	Payload        []byte    `json:"-"`
	Status         string    `json:"status"`
	Attempts       int       `json:"attempts"`
	LastStatusCode int       `json:"last_status_code,omitempty"`
	LastError      string    `json:"last_error,omitempty"`
	NextAttemptAt  time.Time `json:"next_attempt_at,omitzero"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// CSAT is a customer's rating (1-5) of a resolved handoff.
type CSAT struct {
	ConvID      string    `json:"conv"`
	RequestedAt time.Time `json:"requested_at"`
	AgentID     string    `json:"agent_id,omitempty"`
	Rating      int       `json:"rating"`
	Comment     string    `json:"comment,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// Unanswered is a customer message the bot was unsure about or that led to a handoff, and the intent an
// agent labelled it with.
type Unanswered struct {
	ID         int64     `json:"id"`
	ConvID     string    `json:"conv"`
	Seq        int64     `json:"seq"`
	Text       string    `json:"text"`
	Intent     string    `json:"intent,omitempty"` // what the bot understood
	Confidence float64   `json:"confidence"`
	Reason     string    `json:"reason"` // low_confidence, out_of_scope, handoff
	Label      string    `json:"label,omitempty"`
	LabelledBy string    `json:"labelled_by,omitempty"`
	LabelledAt time.Time `json:"labelled_at,omitzero"`
	CreatedAt  time.Time `json:"created_at"`
}

// HandoffReport sums up a period.
type HandoffReport struct {
	From, To             time.Time
	Conversations        int     `json:"conversations"`        // conversations started in the period
	BotOnly              int     `json:"bot_only"`             // of those, never handed to an agent
	Handoffs             int     `json:"handoffs"`             // handoff episodes requested in the period
	HandledByAgents      int     `json:"handled_by_agents"`    // episodes an agent took
	Resolved             int     `json:"resolved"`             // episodes resolved by an agent
	ReturnedToBot        int     `json:"returned_to_bot"`      // episodes an agent handed back, or the customer cancelled
	Failed               int     `json:"failed"`               // episodes that waited too long
	HandoffRate          float64 `json:"handoff_rate"`         // conversations with a handoff / conversations
	AvgWaitSeconds       float64 `json:"avg_wait_s"`           // request to first assignment
	P90WaitSeconds       float64 `json:"p90_wait_s"`           //
	AvgFirstResponseSecs float64 `json:"avg_first_response_s"` // first assignment to first reply
	CSATCount            int     `json:"csat_count"`
	CSATAverage          float64 `json:"csat_average"`
	CSATDistribution     [5]int  `json:"csat_distribution"` // counts of ratings 1..5
	RecentCSATComments   []CSAT  `json:"recent_csat_comments"`
}

func scanHandoff(sc interface{ Scan(...any) error }) (HandoffRecord, error) {
	var h HandoffRecord
	var req, q, a, f, r int64
	err := sc.Scan(&h.ConvID, &req, &h.CustomerID, &h.State, &h.Skill, &h.Priority, &h.Reason, &h.AgentID,
		&h.Requeues, &q, &a, &f, &r, &h.Outcome, &h.Version)
	h.RequestedAt, h.QueuedAt, h.AssignedAt, h.FirstResponseAt, h.ResolvedAt = fromMS(req), fromMS(q), fromMS(a), fromMS(f), fromMS(r)
	return h, err
}

const handoffColumns = `conv_id, requested_at, customer_id, state, skill, priority, reason, agent_id, requeues,
	queued_at, assigned_at, first_response_at, resolved_at, outcome, version`

// SaveHandoff inserts or updates a handoff episode (only when h.Version is not older than the stored
// one, so late writes never undo newer ones), keeps the first assignment and first reply times, and
// sets the conversation's status when the conversation exists.
func (s *Store) SaveHandoff(ctx context.Context, h HandoffRecord) error {
	w, err := s.writer()
	if err != nil {
		return fmt.Errorf("kb: save handoff: %w", err)
	}
	if err := validateHandoff(h); err != nil {
		return err
	}
	now := s.now().UnixMilli()
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return s.wrapErr("save handoff", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, handoffUpsertSQL,
		h.ConvID, ms(h.RequestedAt), h.CustomerID, h.State, h.Skill, h.Priority, h.Reason, h.AgentID, h.Requeues,
		ms(h.QueuedAt), ms(h.AssignedAt), ms(h.FirstResponseAt), ms(h.ResolvedAt), h.Outcome, h.Version, now)
	if err != nil {
		return s.wrapErr("save handoff", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // an older version than the stored one: nothing to do
	}
	if _, err := tx.ExecContext(ctx, `UPDATE conversations SET status = ?, updated_at = ? WHERE id = ?`, h.State, now, h.ConvID); err != nil {
		return s.wrapErr("save handoff", err)
	}
	return s.wrapErr("save handoff", tx.Commit())
}

// OpenHandoffs returns the latest episode of every conversation that is queued or assigned.
func (s *Store) OpenHandoffs(ctx context.Context) ([]HandoffRecord, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+handoffColumns+` FROM handoffs h
		WHERE state IN ('queued', 'assigned')
		  AND requested_at = (SELECT MAX(requested_at) FROM handoffs WHERE conv_id = h.conv_id)
		ORDER BY queued_at`)
	if err != nil {
		return nil, s.wrapErr("open handoffs", err)
	}
	defer rows.Close()
	var out []HandoffRecord
	for rows.Next() {
		h, err := scanHandoff(rows)
		if err != nil {
			return nil, s.wrapErr("open handoffs", err)
		}
		out = append(out, h)
	}
	return out, s.wrapErr("open handoffs", rows.Err())
}

// LatestHandoff returns a conversation's most recent handoff episode or ErrNotFound.
func (s *Store) LatestHandoff(ctx context.Context, convID string) (HandoffRecord, error) {
	h, err := scanHandoff(s.r.QueryRowContext(ctx, `SELECT `+handoffColumns+` FROM handoffs
		WHERE conv_id = ? ORDER BY requested_at DESC LIMIT 1`, convID))
	if errors.Is(err, sql.ErrNoRows) {
		return HandoffRecord{}, fmt.Errorf("kb: handoff of %q: %w", convID, ErrNotFound)
	}
	return h, s.wrapErr("latest handoff", err)
}

// AppendHandoffEvent adds a line to a conversation's handoff history.
func (s *Store) AppendHandoffEvent(ctx context.Context, e HandoffEvent) error {
	w, err := s.writer()
	if err != nil {
		return fmt.Errorf("kb: append handoff event: %w", err)
	}
	if e.At.IsZero() {
		e.At = s.now()
	}
	_, err = w.ExecContext(ctx, `INSERT INTO handoff_events(conv_id, kind, agent_id, prev_agent, actor, detail, at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, e.ConvID, e.Kind, e.AgentID, e.PrevAgent, e.Actor, e.Detail, ms(e.At))
	return s.wrapErr("append handoff event", err)
}

// HandoffEvents returns a conversation's handoff history, oldest first.
func (s *Store) HandoffEvents(ctx context.Context, convID string) ([]HandoffEvent, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, conv_id, kind, agent_id, prev_agent, actor, detail, at
		FROM handoff_events WHERE conv_id = ? ORDER BY id`, convID)
	if err != nil {
		return nil, s.wrapErr("handoff events", err)
	}
	defer rows.Close()
	var out []HandoffEvent
	for rows.Next() {
		var e HandoffEvent
		var at int64
		if err := rows.Scan(&e.ID, &e.ConvID, &e.Kind, &e.AgentID, &e.PrevAgent, &e.Actor, &e.Detail, &at); err != nil {
			return nil, s.wrapErr("handoff events", err)
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, s.wrapErr("handoff events", rows.Err())
}

// SaveCanned inserts a canned response, or updates the one with the same ID (ID > 0). A shortcut in
// use by another gives ErrExists.
func (s *Store) SaveCanned(ctx context.Context, c CannedResponse) (CannedResponse, error) {
	w, err := s.writer()
	if err != nil {
		return CannedResponse{}, fmt.Errorf("kb: save canned response: %w", err)
	}
	c.UpdatedAt = s.now().UTC().Truncate(time.Millisecond)
	if c.ID > 0 {
		res, err := w.ExecContext(ctx, `UPDATE canned_responses SET shortcut = ?, title = ?, text = ?, updated_at = ? WHERE id = ?`,
			c.Shortcut, c.Title, c.Text, ms(c.UpdatedAt), c.ID)
		if err != nil {
			if isConstraint(err) {
				return CannedResponse{}, fmt.Errorf("kb: canned response /%s: %w", c.Shortcut, ErrExists)
			}
			return CannedResponse{}, s.wrapErr("save canned response", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return CannedResponse{}, fmt.Errorf("kb: canned response %d: %w", c.ID, ErrNotFound)
		}
		return c, nil
	}
	res, err := w.ExecContext(ctx, `INSERT INTO canned_responses(shortcut, title, text, created_by, updated_at) VALUES (?, ?, ?, ?, ?)`,
		c.Shortcut, c.Title, c.Text, c.CreatedBy, ms(c.UpdatedAt))
	if err != nil {
		if isConstraint(err) {
			return CannedResponse{}, fmt.Errorf("kb: canned response /%s: %w", c.Shortcut, ErrExists)
		}
		return CannedResponse{}, s.wrapErr("save canned response", err)
	}
	c.ID, _ = res.LastInsertId()
	return c, nil
}

// ListCanned returns every canned response by shortcut.
func (s *Store) ListCanned(ctx context.Context) ([]CannedResponse, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, shortcut, title, text, created_by, updated_at FROM canned_responses ORDER BY shortcut`)
	if err != nil {
		return nil, s.wrapErr("list canned responses", err)
	}
	defer rows.Close()
	var out []CannedResponse
	for rows.Next() {
		var c CannedResponse
		var at int64
		if err := rows.Scan(&c.ID, &c.Shortcut, &c.Title, &c.Text, &c.CreatedBy, &at); err != nil {
			return nil, s.wrapErr("list canned responses", err)
		}
		c.UpdatedAt = fromMS(at)
		out = append(out, c)
	}
	return out, s.wrapErr("list canned responses", rows.Err())
}

// DeleteCanned removes a canned response (ErrNotFound when there is none).
func (s *Store) DeleteCanned(ctx context.Context, id int64) error {
	w, err := s.writer()
	if err != nil {
		return fmt.Errorf("kb: delete canned response: %w", err)
	}
	res, err := w.ExecContext(ctx, `DELETE FROM canned_responses WHERE id = ?`, id)
	if err != nil {
		return s.wrapErr("delete canned response", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("kb: canned response %d: %w", id, ErrNotFound)
	}
	return nil
}

// AddNote stores an internal note.
func (s *Store) AddNote(ctx context.Context, n Note) (Note, error) {
	w, err := s.writer()
	if err != nil {
		return Note{}, fmt.Errorf("kb: add note: %w", err)
	}
	n.CreatedAt = s.now().UTC().Truncate(time.Millisecond)
	res, err := w.ExecContext(ctx, `INSERT INTO handoff_notes(conv_id, agent_id, text, created_at) VALUES (?, ?, ?, ?)`,
		n.ConvID, n.AgentID, n.Text, ms(n.CreatedAt))
	if err != nil {
		return Note{}, s.wrapErr("add note", err)
	}
	n.ID, _ = res.LastInsertId()
	return n, nil
}

// Notes returns a conversation's internal notes, oldest first.
func (s *Store) Notes(ctx context.Context, convID string) ([]Note, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, conv_id, agent_id, text, created_at FROM handoff_notes WHERE conv_id = ? ORDER BY id`, convID)
	if err != nil {
		return nil, s.wrapErr("notes", err)
	}
	defer rows.Close()
	var out []Note
	for rows.Next() {
		var n Note
		var at int64
		if err := rows.Scan(&n.ID, &n.ConvID, &n.AgentID, &n.Text, &at); err != nil {
			return nil, s.wrapErr("notes", err)
		}
		n.CreatedAt = fromMS(at)
		out = append(out, n)
	}
	return out, s.wrapErr("notes", rows.Err())
}

const deliveryColumns = `id, event_id, kind, conv_id, url, payload, status, attempts, last_status_code, last_error,
	next_attempt_at, created_at, updated_at`

func scanDelivery(sc interface{ Scan(...any) error }) (WebhookDelivery, error) {
	var d WebhookDelivery
	var payload string
	var next, created, updated int64
	err := sc.Scan(&d.ID, &d.EventID, &d.Kind, &d.ConvID, &d.URL, &payload, &d.Status, &d.Attempts, &d.LastStatusCode,
		&d.LastError, &next, &created, &updated)
	d.Payload = []byte(payload)
	d.NextAttemptAt, d.CreatedAt, d.UpdatedAt = fromMS(next), fromMS(created), fromMS(updated)
	return d, err
}

// EnqueueDelivery stores a pending webhook delivery; an EventID already stored gives ErrExists.
func (s *Store) EnqueueDelivery(ctx context.Context, d WebhookDelivery) (WebhookDelivery, error) {
	w, err := s.writer()
	if err != nil {
		return WebhookDelivery{}, fmt.Errorf("kb: enqueue delivery: %w", err)
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	d.Status, d.CreatedAt, d.UpdatedAt = DeliveryPending, now, now
	if d.NextAttemptAt.IsZero() {
		d.NextAttemptAt = now
	}
	res, err := w.ExecContext(ctx, `INSERT INTO webhook_deliveries(event_id, kind, conv_id, url, payload, status, attempts,
		next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)`,
		d.EventID, d.Kind, d.ConvID, d.URL, string(d.Payload), d.Status, ms(d.NextAttemptAt), ms(now), ms(now))
	if err != nil {
		if isConstraint(err) {
			return WebhookDelivery{}, fmt.Errorf("kb: delivery %s: %w", d.EventID, ErrExists)
		}
		return WebhookDelivery{}, s.wrapErr("enqueue delivery", err)
	}
	d.ID, _ = res.LastInsertId()
	return d, nil
}

// UpdateDelivery records an attempt: status, attempts, last code and error, next attempt time.
func (s *Store) UpdateDelivery(ctx context.Context, d WebhookDelivery) error {
	w, err := s.writer()
	if err != nil {
		return fmt.Errorf("kb: update delivery: %w", err)
	}
	_, err = w.ExecContext(ctx, `UPDATE webhook_deliveries SET status = ?, attempts = ?, last_status_code = ?, last_error = ?,
		next_attempt_at = ?, updated_at = ? WHERE id = ?`, d.Status, d.Attempts, d.LastStatusCode, truncateString(d.LastError, 500),
		ms(d.NextAttemptAt), s.now().UnixMilli(), d.ID)
	return s.wrapErr("update delivery", err)
}

func truncateString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// DueDeliveries returns up to limit pending deliveries whose next attempt is at or before now, oldest
// first.
func (s *Store) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]WebhookDelivery, error) {
	return s.queryDeliveries(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries
		WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`, ms(now), limit)
}

// Deliveries returns the delivery log, newest first.
func (s *Store) Deliveries(ctx context.Context, limit int) ([]WebhookDelivery, error) {
	return s.queryDeliveries(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries ORDER BY id DESC LIMIT ?`, limit)
}

func (s *Store) queryDeliveries(ctx context.Context, q string, args ...any) ([]WebhookDelivery, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrapErr("deliveries", err)
	}
	defer rows.Close()
	var out []WebhookDelivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, s.wrapErr("deliveries", err)
		}
		out = append(out, d)
	}
	return out, s.wrapErr("deliveries", rows.Err())
}

// SaveCSAT stores a rating of a handoff episode; a second rating of the same episode gives ErrExists.
func (s *Store) SaveCSAT(ctx context.Context, c CSAT) error {
	w, err := s.writer()
	if err != nil {
		return fmt.Errorf("kb: save csat: %w", err)
	}
	if c.Rating < 1 || c.Rating > 5 {
		return fmt.Errorf("kb: save csat: %w: rating %d (want 1-5)", ErrInvalid, c.Rating)
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.now()
	}
	_, err = w.ExecContext(ctx, `INSERT INTO csat(conv_id, requested_at, agent_id, rating, comment, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		c.ConvID, ms(c.RequestedAt), c.AgentID, c.Rating, c.Comment, ms(c.CreatedAt))
	if err != nil {
		if isConstraint(err) {
			return fmt.Errorf("kb: csat of %s: %w", c.ConvID, ErrExists)
		}
		return s.wrapErr("save csat", err)
	}
	return nil
}

// AddUnanswered records a customer message for labelling; the same (conversation, seq) twice is a
// no-op.
func (s *Store) AddUnanswered(ctx context.Context, u Unanswered) error {
	if u.CreatedAt.IsZero() {
		u.CreatedAt = s.now()
	}
	return s.groupWrite(ctx, "add unanswered", func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO unanswered(conv_id, seq, text, intent, confidence, reason, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(conv_id, seq) DO NOTHING`,
			u.ConvID, u.Seq, u.Text, u.Intent, u.Confidence, u.Reason, ms(u.CreatedAt))
		return s.wrapErr("add unanswered", err)
	})
}

// ListUnanswered returns up to limit messages, newest first: only those not yet labelled when
// onlyOpen.
func (s *Store) ListUnanswered(ctx context.Context, onlyOpen bool, limit int) ([]Unanswered, error) {
	q := `SELECT id, conv_id, seq, text, intent, confidence, reason, label, labelled_by, labelled_at, created_at FROM unanswered`
	if onlyOpen {
		q += ` WHERE label = ''`
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	rows, err := s.r.QueryContext(ctx, q, limit)
	if err != nil {
		return nil, s.wrapErr("list unanswered", err)
	}
	defer rows.Close()
	var out []Unanswered
	for rows.Next() {
		var u Unanswered
		var la, ca int64
		if err := rows.Scan(&u.ID, &u.ConvID, &u.Seq, &u.Text, &u.Intent, &u.Confidence, &u.Reason, &u.Label, &u.LabelledBy, &la, &ca); err != nil {
			return nil, s.wrapErr("list unanswered", err)
		}
		u.LabelledAt, u.CreatedAt = fromMS(la), fromMS(ca)
		out = append(out, u)
	}
	return out, s.wrapErr("list unanswered", rows.Err())
}

// LabelUnanswered sets the intent of an unanswered message and returns it (ErrNotFound when unknown).
func (s *Store) LabelUnanswered(ctx context.Context, id int64, label, agentID string) (Unanswered, error) {
	w, err := s.writer()
	if err != nil {
		return Unanswered{}, fmt.Errorf("kb: label unanswered: %w", err)
	}
	now := s.now()
	var u Unanswered
	var la, ca int64
	err = w.QueryRowContext(ctx, `UPDATE unanswered SET label = ?, labelled_by = ?, labelled_at = ? WHERE id = ?
		RETURNING id, conv_id, seq, text, intent, confidence, reason, label, labelled_by, labelled_at, created_at`,
		label, agentID, ms(now), id).Scan(&u.ID, &u.ConvID, &u.Seq, &u.Text, &u.Intent, &u.Confidence, &u.Reason, &u.Label, &u.LabelledBy, &la, &ca)
	if errors.Is(err, sql.ErrNoRows) {
		return Unanswered{}, fmt.Errorf("kb: unanswered %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Unanswered{}, s.wrapErr("label unanswered", err)
	}
	u.LabelledAt, u.CreatedAt = fromMS(la), fromMS(ca)
	return u, nil
}

// LiveConversation is a conversation the bot is handling, for the console's live list.
type LiveConversation struct {
	Conversation
	LastText string `json:"last_text"`
}

// LiveConversations returns up to limit conversations in the bot state updated since since, newest
// first, each with its last customer message.
func (s *Store) LiveConversations(ctx context.Context, since time.Time, limit int) ([]LiveConversation, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT c.id, c.customer_id, c.locale, c.status, c.last_seq, c.created_at, c.updated_at,
		COALESCE((SELECT text FROM messages m WHERE m.conv_id = c.id AND m.sender = 'customer' ORDER BY seq DESC LIMIT 1), '')
		FROM conversations c WHERE c.status IN ('bot', 'resolved') AND c.updated_at >= ? ORDER BY c.updated_at DESC LIMIT ?`, ms(since), limit)
	if err != nil {
		return nil, s.wrapErr("live conversations", err)
	}
	defer rows.Close()
	var out []LiveConversation
	for rows.Next() {
		var c LiveConversation
		var ca, ua int64
		if err := rows.Scan(&c.ID, &c.CustomerID, &c.Locale, &c.Status, &c.LastSeq, &ca, &ua, &c.LastText); err != nil {
			return nil, s.wrapErr("live conversations", err)
		}
		c.CreatedAt, c.UpdatedAt = fromMS(ca), fromMS(ua)
		out = append(out, c)
	}
	return out, s.wrapErr("live conversations", rows.Err())
}

// HandoffReport computes the report for [from, to).
func (s *Store) HandoffReport(ctx context.Context, from, to time.Time) (HandoffReport, error) {
	rep := HandoffReport{From: from, To: to}
	f, t := ms(from), ms(to)
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*),
		COALESCE(SUM(NOT EXISTS (SELECT 1 FROM handoffs h WHERE h.conv_id = c.id)), 0)
		FROM conversations c WHERE c.created_at >= ? AND c.created_at < ?`, f, t).Scan(&rep.Conversations, &rep.BotOnly)
	if err != nil {
		return rep, s.wrapErr("handoff report", err)
	}
	var withHandoff int
	err = s.r.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT conv_id),
		COALESCE(SUM(assigned_at <> 0), 0),
		COALESCE(SUM(outcome = 'resolved'), 0),
		COALESCE(SUM(outcome IN ('returned', 'cancelled')), 0),
		COALESCE(SUM(outcome = 'failed'), 0),
		COALESCE(AVG(CASE WHEN assigned_at <> 0 THEN assigned_at - requested_at END), 0) / 1000.0,
		COALESCE(AVG(CASE WHEN first_response_at <> 0 AND assigned_at <> 0 THEN first_response_at - assigned_at END), 0) / 1000.0
		FROM handoffs WHERE requested_at >= ? AND requested_at < ?`, f, t).Scan(&rep.Handoffs, &withHandoff,
		&rep.HandledByAgents, &rep.Resolved, &rep.ReturnedToBot, &rep.Failed, &rep.AvgWaitSeconds, &rep.AvgFirstResponseSecs)
	if err != nil {
		return rep, s.wrapErr("handoff report", err)
	}
	if rep.Conversations > 0 {
		rep.HandoffRate = float64(min(withHandoff, rep.Conversations)) / float64(rep.Conversations)
	}
	// p90 wait: the value at the 90th percentile of the assigned episodes' waits.
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM handoffs WHERE requested_at >= ? AND requested_at < ? AND assigned_at <> 0`, f, t).Scan(&n); err != nil {
		return rep, s.wrapErr("handoff report", err)
	}
	if n > 0 {
		off := (n*9 + 9) / 10 // ceil(0.9 n)
		var w int64
		err := s.r.QueryRowContext(ctx, `SELECT assigned_at - requested_at FROM handoffs WHERE requested_at >= ? AND requested_at < ? AND assigned_at <> 0
			ORDER BY assigned_at - requested_at LIMIT 1 OFFSET ?`, f, t, off-1).Scan(&w)
		if err != nil {
			return rep, s.wrapErr("handoff report", err)
		}
		rep.P90WaitSeconds = float64(w) / 1000
	}
	rows, err := s.r.QueryContext(ctx, `SELECT rating, COUNT(*) FROM csat WHERE created_at >= ? AND created_at < ? GROUP BY rating`, f, t)
	if err != nil {
		return rep, s.wrapErr("handoff report", err)
	}
	sum := 0
	for rows.Next() {
		var r, c int
		if err := rows.Scan(&r, &c); err != nil {
			rows.Close()
			return rep, s.wrapErr("handoff report", err)
		}
		if r >= 1 && r <= 5 {
			rep.CSATDistribution[r-1] = c
			rep.CSATCount += c
			sum += r * c
		}
	}
	rows.Close()
	if rep.CSATCount > 0 {
		rep.CSATAverage = float64(sum) / float64(rep.CSATCount)
	}
	rows, err = s.r.QueryContext(ctx, `SELECT conv_id, requested_at, agent_id, rating, comment, created_at FROM csat
		WHERE created_at >= ? AND created_at < ? AND comment <> '' ORDER BY created_at DESC LIMIT 20`, f, t)
	if err != nil {
		return rep, s.wrapErr("handoff report", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c CSAT
		var ra, ca int64
		if err := rows.Scan(&c.ConvID, &ra, &c.AgentID, &c.Rating, &c.Comment, &ca); err != nil {
			return rep, s.wrapErr("handoff report", err)
		}
		c.RequestedAt, c.CreatedAt = fromMS(ra), fromMS(ca)
		rep.RecentCSATComments = append(rep.RecentCSATComments, c)
	}
	return rep, s.wrapErr("handoff report", rows.Err())
}
