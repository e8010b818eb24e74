package handoff

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/shopchat/shopchat/internal/failwindow"
	"github.com/shopchat/shopchat/kb"
)

// AgentStore keeps agent accounts and console sessions. *kb.Store implements it; implementations must
// be safe for concurrent use.
type AgentStore interface {
	// CreateAgent stores a new agent (an empty ID gets a random one); a taken email gives kb.ErrExists.
	CreateAgent(ctx context.Context, a kb.Agent) (kb.Agent, error)
	// Agent and AgentByEmail (case-insensitive) return kb.ErrNotFound for an unknown agent.
	Agent(ctx context.Context, id string) (kb.Agent, error)
	AgentByEmail(ctx context.Context, email string) (kb.Agent, error)
	// ListAgents returns every agent by email.
	ListAgents(ctx context.Context) ([]kb.Agent, error)
	// UpdateAgent replaces name, role, skills, capacity and disabled of an existing agent.
	UpdateAgent(ctx context.Context, a kb.Agent) error
	// SetAgentPassword replaces the password hash.
	SetAgentPassword(ctx context.Context, id, hash string) error
	CreateAgentSession(ctx context.Context, s kb.AgentSession) error
	// AgentSession returns the session with this token hash or kb.ErrNotFound.
	AgentSession(ctx context.Context, tokenHash string) (kb.AgentSession, error)
	DeleteAgentSession(ctx context.Context, tokenHash string) error
	// DeleteAgentSessions ends every session of the agent (password reset, disabling).
	DeleteAgentSessions(ctx context.Context, agentID string) error
}

// Auth errors.
var (
	// ErrBadCredentials means an unknown email, a wrong password or a disabled account (the three are
	// indistinguishable on purpose).
	ErrBadCredentials = errors.New("handoff: wrong email or password")
	// ErrTooManyAttempts means too many failed logins for this email or address; Retry-After says when.
	ErrTooManyAttempts = errors.New("handoff: too many failed login attempts")
	// ErrNoSession means the request carries no valid session (none, forged, expired, or its agent was
	// disabled).
	ErrNoSession = errors.New("handoff: not logged in")
	// ErrForbidden means the agent's role does not allow the action.
	ErrForbidden = errors.New("handoff: not allowed for this role")
	// ErrCSRF means a state-changing request lacks the session's CSRF token.
	ErrCSRF = errors.New("handoff: missing or wrong CSRF token")
)

// RetryError carries how long to wait after ErrTooManyAttempts.
type RetryError struct {
	After time.Duration
}

func (e *RetryError) Error() string {
	return fmt.Sprintf("%v: retry in %s", ErrTooManyAttempts, e.After.Round(time.Second))
}

// Is reports whether target is ErrTooManyAttempts.
func (e *RetryError) Is(target error) bool { return target == ErrTooManyAttempts }

// AuthConfig configures Auth. Zero values get defaults.
type AuthConfig struct {
	Store  AgentStore
	Logger *slog.Logger
	Now    func() time.Time
	// SessionTTL is how long a console session lasts (default 12h).
	SessionTTL time.Duration
	// MaxFailures failed logins per email, and per remote address, within FailureWindow block further
	// attempts (defaults 5 and 15m).
	MaxFailures   int
	FailureWindow time.Duration
	// Password sets argon2id's cost for new hashes (default DefaultPasswordParams).
	Password PasswordParams
}

// Auth manages agent accounts, logins and sessions. It is safe for concurrent use.
type Auth struct {
	cfg      AuthConfig
	store    AgentStore
	log      *slog.Logger
	byEmail  *failwindow.Counter
	byIP     *failwindow.Counter
	dummyPHC string
}

// Session is an authenticated console session.
type Session struct {
	Agent     kb.Agent
	CSRF      string
	ExpiresAt time.Time
	tokenHash string
}

// NewAuth returns an Auth with cfg's zero values defaulted; cfg.Store is required.
func NewAuth(cfg AuthConfig) (*Auth, error) {
	if cfg.Store == nil {
		return nil, errors.New("handoff: NewAuth: nil Store")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = 5
	}
	if cfg.FailureWindow <= 0 {
		cfg.FailureWindow = 15 * time.Minute
	}
	if cfg.Password.Memory == 0 {
		cfg.Password = DefaultPasswordParams
	}
	dummy, err := HashPassword("not-a-real-password", cfg.Password)
	if err != nil {
		return nil, err
	}
	return &Auth{
		cfg: cfg, store: cfg.Store, log: cfg.Logger,
		byEmail:  failwindow.New(cfg.MaxFailures, cfg.FailureWindow),
		byIP:     failwindow.New(cfg.MaxFailures*4, cfg.FailureWindow),
		dummyPHC: dummy,
	}, nil
}

// NewAgent is what AddAgent needs.
type NewAgent struct {
	Email, Name, Role, Password string
	Skills                      []string
	MaxConcurrent               int
}

func normEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 {
		return "", fmt.Errorf("%w: email %q is not a plain address like ana@shop.example", ErrBadInput, s)
	}
	return strings.ToLower(s), nil
}

func checkRole(role string) error {
	if role != kb.RoleAgent && role != kb.RoleAdmin {
		return fmt.Errorf("%w: role %q (want agent or admin)", ErrBadInput, role)
	}
	return nil
}

func cleanSkills(skills []string) ([]string, error) {
	var out []string
	for _, s := range skills {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "" {
			continue
		}
		if len(s) > 64 || strings.ContainsAny(s, " ,\t\n") {
			return nil, fmt.Errorf("%w: skill %q (one word, up to 64 bytes)", ErrBadInput, s)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// AddAgent creates an account.
func (a *Auth) AddAgent(ctx context.Context, n NewAgent) (kb.Agent, error) {
	email, err := normEmail(n.Email)
	if err != nil {
		return kb.Agent{}, err
	}
	n.Name = strings.TrimSpace(n.Name)
	if n.Name == "" || len(n.Name) > 100 {
		return kb.Agent{}, fmt.Errorf("%w: name must be 1-100 bytes", ErrBadInput)
	}
	if n.Role == "" {
		n.Role = kb.RoleAgent
	}
	if err := checkRole(n.Role); err != nil {
		return kb.Agent{}, err
	}
	skills, err := cleanSkills(n.Skills)
	if err != nil {
		return kb.Agent{}, err
	}
	if n.MaxConcurrent < 0 || n.MaxConcurrent > 100 {
		return kb.Agent{}, fmt.Errorf("%w: max concurrent conversations must be 0-100", ErrBadInput)
	}
	hash, err := HashPassword(n.Password, a.cfg.Password)
	if err != nil {
		return kb.Agent{}, err
	}
	ag, err := a.store.CreateAgent(ctx, kb.Agent{Email: email, Name: n.Name, Role: n.Role, Skills: skills,
		MaxConcurrent: n.MaxConcurrent, PasswordHash: hash})
	if err != nil {
		return kb.Agent{}, fmt.Errorf("add agent %s: %w", email, err)
	}
	return ag, nil
}

// lookup finds an agent by id or email.
func (a *Auth) lookup(ctx context.Context, idOrEmail string) (kb.Agent, error) {
	if strings.Contains(idOrEmail, "@") {
		return a.store.AgentByEmail(ctx, strings.ToLower(strings.TrimSpace(idOrEmail)))
	}
	return a.store.Agent(ctx, idOrEmail)
}

// SetDisabled disables (ending its sessions) or re-enables an account, by id or email.
func (a *Auth) SetDisabled(ctx context.Context, idOrEmail string, disabled bool) (kb.Agent, error) {
	ag, err := a.lookup(ctx, idOrEmail)
	if err != nil {
		return kb.Agent{}, fmt.Errorf("agent %s: %w", idOrEmail, err)
	}
	ag.Disabled = disabled
	if err := a.store.UpdateAgent(ctx, ag); err != nil {
		return kb.Agent{}, err
	}
	if disabled {
		if err := a.store.DeleteAgentSessions(ctx, ag.ID); err != nil {
			return kb.Agent{}, err
		}
	}
	return ag, nil
}

// ResetPassword sets a new password, by id or email, and ends the agent's sessions.
func (a *Auth) ResetPassword(ctx context.Context, idOrEmail, password string) (kb.Agent, error) {
	ag, err := a.lookup(ctx, idOrEmail)
	if err != nil {
		return kb.Agent{}, fmt.Errorf("agent %s: %w", idOrEmail, err)
	}
	hash, err := HashPassword(password, a.cfg.Password)
	if err != nil {
		return kb.Agent{}, err
	}
	if err := a.store.SetAgentPassword(ctx, ag.ID, hash); err != nil {
		return kb.Agent{}, err
	}
	if err := a.store.DeleteAgentSessions(ctx, ag.ID); err != nil {
		return kb.Agent{}, err
	}
	return ag, nil
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Login checks the credentials and opens a session, returning the session and its token (the cookie
// value). Failures count per email and per remote address; past the limit every attempt gets a
// *RetryError, right password or not.
func (a *Auth) Login(ctx context.Context, email, password, remoteIP, userAgent string) (Session, string, error) {
	now := a.cfg.Now()
	key := strings.ToLower(strings.TrimSpace(email))
	if len(key) > 254 {
		key = key[:254]
	}
	if b, after := a.byEmail.Blocked("e:"+key, now); b {
		return Session{}, "", &RetryError{After: after}
	}
	if b, after := a.byIP.Blocked("i:"+remoteIP, now); b {
		return Session{}, "", &RetryError{After: after}
	}
	fail := func() (Session, string, error) {
		a.byEmail.Fail("e:"+key, now)
		a.byIP.Fail("i:"+remoteIP, now)
		a.log.Warn("console login failed", "remote", remoteIP)
		return Session{}, "", ErrBadCredentials
	}
	ag, err := a.store.AgentByEmail(ctx, key)
	if err != nil && !errors.Is(err, kb.ErrNotFound) {
		return Session{}, "", err
	}
	hash := ag.PasswordHash
	if err != nil || hash == "" {
		hash = a.dummyPHC // spend the same time as for a real account
	}
	ok, cerr := CheckPassword(hash, password)
	if cerr != nil {
		a.log.Error("stored password hash unreadable", "agent", ag.ID, "err", cerr)
	}
	if err != nil || !ok || ag.Disabled {
		return fail()
	}
	a.byEmail.Reset("e:" + key)
	token := randomToken()
	s := kb.AgentSession{TokenHash: hashToken(token), AgentID: ag.ID, CSRF: randomToken(), CreatedAt: now,
		ExpiresAt: now.Add(a.cfg.SessionTTL), RemoteIP: remoteIP, UserAgent: truncate(userAgent, 200)}
	if err := a.store.CreateAgentSession(ctx, s); err != nil {
		return Session{}, "", fmt.Errorf("login: %w", err)
	}
	return Session{Agent: ag, CSRF: s.CSRF, ExpiresAt: s.ExpiresAt, tokenHash: s.TokenHash}, token, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Authenticate returns the session of a token: ErrNoSession when it is unknown (forged), expired, or
// its agent is disabled or gone.
func (a *Auth) Authenticate(ctx context.Context, token string) (Session, error) {
	if token == "" || len(token) > 100 {
		return Session{}, ErrNoSession
	}
	th := hashToken(token)
	s, err := a.store.AgentSession(ctx, th)
	if errors.Is(err, kb.ErrNotFound) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, err
	}
	if !a.cfg.Now().Before(s.ExpiresAt) {
		_ = a.store.DeleteAgentSession(ctx, th)
		return Session{}, fmt.Errorf("%w: session expired", ErrNoSession)
	}
	ag, err := a.store.Agent(ctx, s.AgentID)
	if errors.Is(err, kb.ErrNotFound) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, err
	}
	if ag.Disabled {
		return Session{}, fmt.Errorf("%w: account disabled", ErrNoSession)
	}
	return Session{Agent: ag, CSRF: s.CSRF, ExpiresAt: s.ExpiresAt, tokenHash: th}, nil
}

// Logout ends the session.
func (a *Auth) Logout(ctx context.Context, s Session) error {
	return a.store.DeleteAgentSession(ctx, s.tokenHash)
}

// CheckCSRF compares a request's CSRF token with the session's in constant time.
func (s Session) CheckCSRF(token string) error {
	if token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(s.CSRF)) != 1 {
		return ErrCSRF
	}
	return nil
}

// IsAdmin reports whether the session's agent is an admin.
func (s Session) IsAdmin() bool { return s.Agent.Role == kb.RoleAdmin }

// Actor is the session's agent as an engine actor.
func (s Session) Actor() Actor { return Actor{AgentID: s.Agent.ID, Admin: s.IsAdmin()} }

// ListAgents returns every account.
func (a *Auth) ListAgents(ctx context.Context) ([]kb.Agent, error) { return a.store.ListAgents(ctx) }
