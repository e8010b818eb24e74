package kb

import "time"

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
