package kb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Agent roles.
const (
	RoleAgent = "agent" // answers customers in the console
	RoleAdmin = "admin" // also manages agents, canned responses, webhooks and reads reports
)

// ErrExists means a record with the same unique key (an agent's email, a canned response's shortcut,
// a rating of the same handoff) is already stored.
var ErrExists = errors.New("kb: already exists")

// Agent is a support agent's account.
type Agent struct {
	ID            string    `json:"id"`
	Email         string    `json:"email"`
	Name          string    `json:"name"`
	Role          string    `json:"role"` // RoleAgent or RoleAdmin
	Skills        []string  `json:"skills,omitempty"`
	MaxConcurrent int       `json:"max_concurrent"` // 0 = the server's default
	Disabled      bool      `json:"disabled"`
	PasswordHash  string    `json:"-"` // PHC string (argon2id)
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// AgentSession is a logged-in console session. Only the SHA-256 of the session token is stored.
type AgentSession struct {
	TokenHash string    `json:"-"`
	AgentID   string    `json:"agent_id"`
	CSRF      string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	UserAgent string    `json:"user_agent,omitempty"`
	RemoteIP  string    `json:"remote_ip,omitempty"`
}

const agentColumns = `id, email, name, role, skills, max_concurrent, disabled, password_hash, created_at, updated_at`

func scanAgent(sc interface{ Scan(...any) error }) (Agent, error) {
	var a Agent
	var skills string
	var ca, ua int64
	err := sc.Scan(&a.ID, &a.Email, &a.Name, &a.Role, &skills, &a.MaxConcurrent, &a.Disabled, &a.PasswordHash, &ca, &ua)
	if skills != "" && skills != "[]" {
		a.Skills = splitSkills(skills)
	}
	a.CreatedAt, a.UpdatedAt = fromMS(ca), fromMS(ua)
	return a, err
}

// skills are stored as a JSON array of plain words.
func joinSkills(skills []string) string {
	if len(skills) == 0 {
		return "[]"
	}
	return `["` + strings.Join(skills, `","`) + `"]`
}

func splitSkills(s string) []string {
	s = strings.TrimSuffix(strings.TrimPrefix(s, `["`), `"]`)
	if s == "" {
		return nil
	}
	return strings.Split(s, `","`)
}

func checkAgent(a Agent) error {
	if a.Email == "" || a.Name == "" || (a.Role != RoleAgent && a.Role != RoleAdmin) {
		return fmt.Errorf("%w: agent needs an email, a name and the role agent or admin", ErrInvalid)
	}
	for _, s := range a.Skills {
		if s == "" || strings.ContainsAny(s, `",[]`) {
			return fmt.Errorf("%w: skill %q", ErrInvalid, s)
		}
	}
	return nil
}

// CreateAgent stores a new agent; an empty ID gets a random one, a taken email gives ErrExists.
func (s *Store) CreateAgent(ctx context.Context, a Agent) (Agent, error) {
	w, err := s.writer()
	if err != nil {
		return Agent{}, fmt.Errorf("kb: create agent: %w", err)
	}
	if err := checkAgent(a); err != nil {
		return Agent{}, fmt.Errorf("kb: create agent: %w", err)
	}
	if a.ID == "" {
		a.ID = newID()
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	a.CreatedAt, a.UpdatedAt = now, now
	_, err = w.ExecContext(ctx, `INSERT INTO agents(`+agentColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Email, a.Name, a.Role, joinSkills(a.Skills), a.MaxConcurrent, a.Disabled, a.PasswordHash, ms(now), ms(now))
	if err != nil {
		if isConstraint(err) {
			return Agent{}, fmt.Errorf("kb: agent %s: %w", a.Email, ErrExists)
		}
		return Agent{}, s.wrapErr("create agent", err)
	}
	return a, nil
}

// Agent returns an agent by id or ErrNotFound.
func (s *Store) Agent(ctx context.Context, id string) (Agent, error) {
	a, err := scanAgent(s.r.QueryRowContext(ctx, `SELECT `+agentColumns+` FROM agents WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Agent{}, fmt.Errorf("kb: agent %q: %w", id, ErrNotFound)
	}
	return a, s.wrapErr("agent", err)
}

// AgentByEmail returns an agent by email (case-insensitive) or ErrNotFound.
func (s *Store) AgentByEmail(ctx context.Context, email string) (Agent, error) {
	a, err := scanAgent(s.r.QueryRowContext(ctx, `SELECT `+agentColumns+` FROM agents WHERE email = ?`, email))
	if errors.Is(err, sql.ErrNoRows) {
		return Agent{}, fmt.Errorf("kb: agent %q: %w", email, ErrNotFound)
	}
	return a, s.wrapErr("agent by email", err)
}

// ListAgents returns every agent by email.
func (s *Store) ListAgents(ctx context.Context) ([]Agent, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+agentColumns+` FROM agents ORDER BY email`)
	if err != nil {
		return nil, s.wrapErr("list agents", err)
	}
	defer rows.Close()
	var out []Agent
	for rows.Next() {
		a, err := scanAgent(rows)
		if err != nil {
			return nil, s.wrapErr("list agents", err)
		}
		out = append(out, a)
	}
	return out, s.wrapErr("list agents", rows.Err())
}

// UpdateAgent replaces an agent's name, role, skills, capacity and disabled flag (ErrNotFound when
// unknown).
func (s *Store) UpdateAgent(ctx context.Context, a Agent) error {
	w, err := s.writer()
	if err != nil {
		return fmt.Errorf("kb: update agent: %w", err)
	}
	if err := checkAgent(a); err != nil {
		return fmt.Errorf("kb: update agent: %w", err)
	}
	res, err := w.ExecContext(ctx, `UPDATE agents SET name = ?, role = ?, skills = ?, max_concurrent = ?, disabled = ?, updated_at = ? WHERE id = ?`,
		a.Name, a.Role, joinSkills(a.Skills), a.MaxConcurrent, a.Disabled, s.now().UnixMilli(), a.ID)
	if err != nil {
		return s.wrapErr("update agent", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("kb: agent %q: %w", a.ID, ErrNotFound)
	}
	return nil
}

// SetAgentPassword replaces an agent's password hash (ErrNotFound when unknown).
func (s *Store) SetAgentPassword(ctx context.Context, id, hash string) error {
	w, err := s.writer()
	if err != nil {
		return fmt.Errorf("kb: set agent password: %w", err)
	}
	res, err := w.ExecContext(ctx, `UPDATE agents SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, s.now().UnixMilli(), id)
	if err != nil {
		return s.wrapErr("set agent password", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("kb: agent %q: %w", id, ErrNotFound)
	}
	return nil
}

// CreateAgentSession stores a console session (and drops expired ones).
func (s *Store) CreateAgentSession(ctx context.Context, a AgentSession) error {
	w, err := s.writer()
	if err != nil {
		return fmt.Errorf("kb: create session: %w", err)
	}
	if _, err := w.ExecContext(ctx, `DELETE FROM agent_sessions WHERE expires_at < ?`, s.now().UnixMilli()); err != nil {
		return s.wrapErr("create session", err)
	}
	_, err = w.ExecContext(ctx, `INSERT INTO agent_sessions(token_hash, agent_id, csrf, created_at, expires_at, user_agent, remote_ip)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, a.TokenHash, a.AgentID, a.CSRF, ms(a.CreatedAt), ms(a.ExpiresAt), a.UserAgent, a.RemoteIP)
	return s.wrapErr("create session", err)
}

// AgentSession returns the session with this token hash or ErrNotFound.
func (s *Store) AgentSession(ctx context.Context, tokenHash string) (AgentSession, error) {
	var a AgentSession
	var ca, ea int64
	err := s.r.QueryRowContext(ctx, `SELECT token_hash, agent_id, csrf, created_at, expires_at, user_agent, remote_ip
		FROM agent_sessions WHERE token_hash = ?`, tokenHash).Scan(&a.TokenHash, &a.AgentID, &a.CSRF, &ca, &ea, &a.UserAgent, &a.RemoteIP)
	if errors.Is(err, sql.ErrNoRows) {
		return AgentSession{}, fmt.Errorf("kb: session: %w", ErrNotFound)
	}
	a.CreatedAt, a.ExpiresAt = fromMS(ca), fromMS(ea)
	return a, s.wrapErr("session", err)
}

// DeleteAgentSession ends one session.
func (s *Store) DeleteAgentSession(ctx context.Context, tokenHash string) error {
	w, err := s.writer()
	if err != nil {
		return fmt.Errorf("kb: delete session: %w", err)
	}
	_, err = w.ExecContext(ctx, `DELETE FROM agent_sessions WHERE token_hash = ?`, tokenHash)
	return s.wrapErr("delete session", err)
}

// DeleteAgentSessions ends every session of an agent.
func (s *Store) DeleteAgentSessions(ctx context.Context, agentID string) error {
	w, err := s.writer()
	if err != nil {
		return fmt.Errorf("kb: delete sessions: %w", err)
	}
	_, err = w.ExecContext(ctx, `DELETE FROM agent_sessions WHERE agent_id = ?`, agentID)
	return s.wrapErr("delete sessions", err)
}
