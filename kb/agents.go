package kb

import (
	"errors"
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
