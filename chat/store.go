package chat

import (
	"context"

	"github.com/shopchat/shopchat/kb"
)

// MessageStore stores a conversation's messages. Implementations (kb's SQLite and PostgreSQL stores) must
// be safe for concurrent use and durable: a message is committed before AppendMessage returns.
type MessageStore interface {
	// AppendMessage stores m with the next seq of its conversation and returns it as stored. When
	// m.ClientID is not empty and a message with the same ConvID, Sender and ClientID exists, nothing is
	// written and the stored message is returned with duplicate == true.
	AppendMessage(ctx context.Context, m kb.Message) (stored kb.Message, duplicate bool, err error)
	// MessagesAfter returns up to limit messages with seq > afterSeq, in seq order.
	MessagesAfter(ctx context.Context, convID string, afterSeq int64, limit int) ([]kb.Message, error)
	// MessagesBefore returns up to limit messages with seq < beforeSeq, in seq order (the page just
	// before beforeSeq).
	MessagesBefore(ctx context.Context, convID string, beforeSeq int64, limit int) ([]kb.Message, error)
}

// ConversationStore creates and reads conversations and keeps the dialogue's state.
type ConversationStore interface {
	// CreateConversation stores c; an empty ID is filled with a new random one.
	CreateConversation(ctx context.Context, c kb.Conversation) (kb.Conversation, error)
	// Conversation returns the conversation or kb.ErrNotFound.
	Conversation(ctx context.Context, id string) (kb.Conversation, error)
	// SaveState replaces the dialogue state of a conversation.
	SaveState(ctx context.Context, id string, state []byte) error
}

// StateAppender is a MessageStore that can also replace a conversation's dialogue state in the same
// transaction as a message (kb's SQLite and PostgreSQL stores implement it). The bot saves its state
// with its last answer of a turn this way: one commit instead of two, and the answer is never sent
// before the state it leaves the conversation in is durable. Implementations must be safe for
// concurrent use.
type StateAppender interface {
	// AppendMessageState is AppendMessage that also sets the conversation's state, as
	// ConversationStore.SaveState does; the state is saved also when m is a duplicate.
	AppendMessageState(ctx context.Context, m kb.Message, state []byte) (stored kb.Message, duplicate bool, err error)
}
