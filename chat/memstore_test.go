package chat

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/shopchat/shopchat/kb"
)

// memStore is a small in-memory MessageStore and ConversationStore for the transport tests, with the
// same contract as kb's (gap-free seq per conversation, dedup by conv+sender+client id).
type memStore struct {
	mu    sync.Mutex
	convs map[string]*kb.Conversation
	msgs  map[string][]kb.Message
	n     int
	fail  bool
}

func newMemStore() *memStore {
	return &memStore{convs: map[string]*kb.Conversation{}, msgs: map[string][]kb.Message{}}
}

func (s *memStore) AppendMessage(ctx context.Context, m kb.Message) (kb.Message, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return kb.Message{}, false, fmt.Errorf("disk full")
	}
	c := s.convs[m.ConvID]
	if c == nil {
		return kb.Message{}, false, kb.ErrNotFound
	}
	if m.ClientID != "" {
		for _, x := range s.msgs[m.ConvID] {
			if x.Sender == m.Sender && x.ClientID == m.ClientID {
				return x, true, nil
			}
		}
	}
	c.LastSeq++
	m.Seq = c.LastSeq
	m.CreatedAt = time.Now().UTC()
	s.msgs[m.ConvID] = append(s.msgs[m.ConvID], m)
	return m, false, nil
}

func (s *memStore) MessagesAfter(ctx context.Context, conv string, after int64, limit int) ([]kb.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []kb.Message
	for _, m := range s.msgs[conv] {
		if m.Seq > after && len(out) < limit {
			out = append(out, m)
		}
	}
	return out, nil
}

func (s *memStore) MessagesBefore(ctx context.Context, conv string, before int64, limit int) ([]kb.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []kb.Message
	for _, m := range s.msgs[conv] {
		if m.Seq < before {
			out = append(out, m)
		}
	}
	if len(out) > limit {
		out = out[len(out)-limit:]
	}
	return append([]kb.Message(nil), out...), nil
}

func (s *memStore) CreateConversation(ctx context.Context, c kb.Conversation) (kb.Conversation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ID == "" {
		s.n++
		c.ID = fmt.Sprintf("conv%d", s.n)
	}
	c.CreatedAt = time.Now()
	cc := c
	s.convs[c.ID] = &cc
	return c, nil
}

func (s *memStore) Conversation(ctx context.Context, id string) (kb.Conversation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.convs[id]
	if c == nil {
		return kb.Conversation{}, kb.ErrNotFound
	}
	return *c, nil
}

func (s *memStore) SaveState(ctx context.Context, id string, state []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.convs[id]
	if c == nil {
		return kb.ErrNotFound
	}
	c.State = append([]byte(nil), state...)
	return nil
}
