package handoff

import (
	"errors"
	"fmt"
)

// Sentinel errors. Each is returned wrapped; test with errors.Is.
var (
	// ErrTransition means the action is not allowed from the conversation's current state (for example
	// resolving a conversation that is already resolved). The concrete error is a *TransitionError.
	ErrTransition = errors.New("handoff: transition not allowed")
	// ErrNotFound means the engine knows no such conversation or agent.
	ErrNotFound = errors.New("handoff: not found")
	// ErrNotAssignee means the acting agent is not the one the conversation is assigned to (and is not
	// an admin).
	ErrNotAssignee = errors.New("handoff: conversation is assigned to another agent")
	// ErrAgentUnavailable means the agent is offline or disabled and cannot take conversations.
	ErrAgentUnavailable = errors.New("handoff: agent is not available")
	// ErrAgentAtCapacity means the agent already has its maximum number of concurrent conversations.
	ErrAgentAtCapacity = errors.New("handoff: agent is at capacity")
	// ErrBadInput means a request carried an invalid value (unknown status, empty id, oversized text).
	ErrBadInput = errors.New("handoff: bad input")
)

// TransitionError reports an action that the state machine refuses. It matches ErrTransition with
// errors.Is.
type TransitionError struct {
	ConvID string
	From   State
	Action Action
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("handoff: cannot %s conversation %s: it is %s", e.Action, e.ConvID, e.From)
}

// Is reports whether target is ErrTransition.
func (e *TransitionError) Is(target error) bool { return target == ErrTransition }
