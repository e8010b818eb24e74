package handoff

import (
	"context"
	"time"
)

// State is a conversation's handoff state.
type State string

// Handoff states. A conversation without a handoff record is in StateBot.
const (
	StateBot      State = "bot"      // the bot answers
	StateQueued   State = "queued"   // waiting for an agent
	StateAssigned State = "assigned" // an agent answers
	StateResolved State = "resolved" // the agent closed it; new customer messages go to the bot again
)

// Action names a lifecycle action (in errors and events).
type Action string

// Lifecycle actions.
const (
	ActionRequest  Action = "request"  // bot/resolved → queued
	ActionClaim    Action = "claim"    // queued → assigned (manual) or bot → assigned (take over)
	ActionAssign   Action = "assign"   // queued → assigned (automatic)
	ActionResolve  Action = "resolve"  // queued/assigned → resolved
	ActionReturn   Action = "return"   // queued/assigned → bot
	ActionTransfer Action = "transfer" // assigned → assigned (another agent) or → queued (another skill)
	ActionRequeue  Action = "requeue"  // assigned → queued (agent offline, no answer)
	ActionFail     Action = "fail"     // queued → bot (waited too long)
	ActionCancel   Action = "cancel"   // queued → bot (the customer withdrew)
	ActionReply    Action = "reply"    // agent message on an assigned conversation
)

// AgentStatus is an agent's availability.
type AgentStatus string

// Agent statuses: only online agents get conversations automatically; away agents keep theirs and may
// claim; offline agents' conversations go back to the queue.
const (
	AgentOnline  AgentStatus = "online"
	AgentAway    AgentStatus = "away"
	AgentOffline AgentStatus = "offline"
)

// Valid reports whether s is a known status.
func (s AgentStatus) Valid() bool { return s == AgentOnline || s == AgentAway || s == AgentOffline }

// Reasons a handoff was requested.
const (
	ReasonCustomer = "customer_request" // the customer asked for a person
	ReasonFallback = "bot_fallback"     // the dialogue could not help
	ReasonTakeover = "agent_takeover"   // an agent took over from the live list
)

// Handoff is the handoff record of one conversation, as the engine last set it. Values are snapshots:
// modifying one does not change the engine.
type Handoff struct {
	ConvID          string    `json:"conv"`
	CustomerID      string    `json:"customer_id,omitempty"`
	CustomerName    string    `json:"customer_name,omitempty"`
	State           State     `json:"state"`
	Skill           string    `json:"skill,omitempty"` // "" = any agent
	Priority        int       `json:"priority"`        // higher first
	Reason          string    `json:"reason,omitempty"`
	AgentID         string    `json:"agent_id,omitempty"`
	AgentName       string    `json:"agent_name,omitempty"`
	Requeues        int       `json:"requeues"`
	RequestedAt     time.Time `json:"requested_at,omitzero"` // when this handoff began (first queued)
	QueuedAt        time.Time `json:"queued_at,omitzero"`    // the queue key: kept across requeues
	AssignedAt      time.Time `json:"assigned_at,omitzero"`
	FirstResponseAt time.Time `json:"first_response_at,omitzero"` // the agent's first reply since assigned
	ResolvedAt      time.Time `json:"resolved_at,omitzero"`
	Version         int64     `json:"version"` // increases with every change
}

// Actor is who performs an action: an agent (with its role) or, with an empty AgentID, the system or
// the customer.
type Actor struct {
	AgentID string
	Admin   bool
}

// System is the actor for the engine's own and the customer's actions.
var System = Actor{}

// AgentInfo is what the engine needs to know about an agent.
type AgentInfo struct {
	ID            string      `json:"id"`
	Name          string      `json:"name"`
	Status        AgentStatus `json:"status"`
	MaxConcurrent int         `json:"max_concurrent"` // 0 = the engine's default
	Skills        []string    `json:"skills,omitempty"`
}

// AgentLoad is an agent's state in the engine.
type AgentLoad struct {
	AgentInfo
	Active int `json:"active"` // conversations assigned now
}

// Request asks for a human.
type Request struct {
	ConvID       string
	CustomerID   string
	CustomerName string
	Skill        string
	Priority     int
	Reason       string
}

// QueueEntry is one waiting conversation with its place in its skill's queue.
type QueueEntry struct {
	Handoff
	Position int `json:"position"` // 1 = next
	// EstimatedWait is the expected time until an agent takes it; -1 when no agent who could take it is
	// online.
	EstimatedWait time.Duration `json:"estimated_wait"`
}

// EventKind names an engine event.
type EventKind string

// Event kinds. Webhooks carry queued, assigned, resolved and failed.
const (
	EventQueued      EventKind = "queued"
	EventAssigned    EventKind = "assigned"
	EventResolved    EventKind = "resolved"
	EventFailed      EventKind = "failed"
	EventReturned    EventKind = "returned"    // back to the bot (by an agent, or the customer cancelled)
	EventTransferred EventKind = "transferred" // to another agent (Handoff.AgentID) or another skill's queue
	EventRequeued    EventKind = "requeued"    // the agent went offline or did not answer
	EventAgent       EventKind = "agent"       // an agent's status or load changed (Agent set)
	EventQueue       EventKind = "queue"       // the order of a skill's queue changed (Skill set)
)

// Event is one change in the engine, delivered to observers in order (Seq increases by one).
type Event struct {
	Seq       int64      `json:"seq"`
	Kind      EventKind  `json:"kind"`
	At        time.Time  `json:"at"`
	Handoff   *Handoff   `json:"handoff,omitempty"`
	PrevAgent string     `json:"prev_agent,omitempty"` // for transferred, requeued, resolved, returned
	Actor     string     `json:"actor,omitempty"`      // the acting agent's id, "" for system/customer
	Detail    string     `json:"detail,omitempty"`     // why (e.g. "agent_offline", "no_answer")
	Agent     *AgentLoad `json:"agent,omitempty"`
	Skill     string     `json:"skill,omitempty"`
}

// Observer receives the engine's events in order. HandoffEvent is called from one goroutine at a time
// and must not block for long; it may call back into the engine.
type Observer interface {
	HandoffEvent(ev Event)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(ev Event)

// HandoffEvent calls f.
func (f ObserverFunc) HandoffEvent(ev Event) { f(ev) }

// Dispatcher makes and records the handoff decisions: who waits where, who gets what. *Engine is the
// in-process implementation for one node; a cluster-wide implementation must keep the same contract:
// every transition is atomic per conversation (of two concurrent claims exactly one wins, the other gets
// an error matching ErrTransition), the queue is ordered by priority (higher first) then QueuedAt then
// arrival, and auto-assignment never exceeds an agent's MaxConcurrent nor gives work to an agent that is
// not online. All methods are safe for concurrent use.
type Dispatcher interface {
	Request(ctx context.Context, r Request) (Handoff, error)
	Claim(ctx context.Context, convID string, a Actor) (Handoff, error)
	Takeover(ctx context.Context, r Request, a Actor) (Handoff, error)
	Resolve(ctx context.Context, convID string, a Actor) (Handoff, error)
	ReturnToBot(ctx context.Context, convID string, a Actor) (Handoff, error)
	Cancel(ctx context.Context, convID string) (Handoff, error)
	TransferToAgent(ctx context.Context, convID string, a Actor, toAgent string) (Handoff, error)
	TransferToSkill(ctx context.Context, convID string, a Actor, skill string) (Handoff, error)
	AgentReplied(ctx context.Context, convID string, a Actor) (Handoff, error)
	SetAgent(ctx context.Context, info AgentInfo) (AgentLoad, error)
	SetAgentStatus(ctx context.Context, agentID string, s AgentStatus) (AgentLoad, error)
	Get(ctx context.Context, convID string) (Handoff, error)
	Position(ctx context.Context, convID string) (QueueEntry, error)
	Queue(ctx context.Context, skill string) ([]QueueEntry, error)
	QueueAll(ctx context.Context) ([]QueueEntry, error)
	Assigned(ctx context.Context, agentID string) ([]Handoff, error)
	Agents(ctx context.Context) ([]AgentLoad, error)
}
