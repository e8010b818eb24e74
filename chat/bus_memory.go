package chat

import (
	"context"
	"sync"
)

// MemoryBus is the in-process Bus of a single node. It is safe for concurrent use; Publish calls the
// handlers synchronously on the caller's goroutine.
type MemoryBus struct {
	mu     sync.RWMutex
	next   uint64
	byConv map[string]map[uint64]func(Event)
	all    map[uint64]func(Event)
	closed bool
}

var _ Bus = (*MemoryBus)(nil)

// NewMemoryBus returns an empty in-process bus.
func NewMemoryBus() *MemoryBus {
	return &MemoryBus{byConv: make(map[string]map[uint64]func(Event)), all: make(map[uint64]func(Event))}
}

// Publish calls every handler subscribed to ev.Conv or to all conversations.
func (b *MemoryBus) Publish(ctx context.Context, ev Event) error {
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return ErrBusClosed
	}
	subs := b.byConv[ev.Conv]
	hs := make([]func(Event), 0, len(subs)+len(b.all))
	for _, h := range subs {
		hs = append(hs, h)
	}
	for _, h := range b.all {
		hs = append(hs, h)
	}
	b.mu.RUnlock()
	for _, h := range hs {
		h(ev)
	}
	return nil
}

// Subscribe registers h for conv ("" = every conversation).
func (b *MemoryBus) Subscribe(conv string, h func(Event)) (func(), error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrBusClosed
	}
	b.next++
	id := b.next
	if conv == "" {
		b.all[id] = h
	} else {
		m := b.byConv[conv]
		if m == nil {
			m = make(map[uint64]func(Event))
			b.byConv[conv] = m
		}
		m[id] = h
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			if conv == "" {
				delete(b.all, id)
				return
			}
			if m := b.byConv[conv]; m != nil {
				delete(m, id)
				if len(m) == 0 {
					delete(b.byConv, conv)
				}
			}
		})
	}, nil
}

// Close stops the bus; later calls return ErrBusClosed.
func (b *MemoryBus) Close() error {
	b.mu.Lock()
	b.closed = true
	b.byConv = map[string]map[uint64]func(Event){}
	b.all = map[uint64]func(Event){}
	b.mu.Unlock()
	return nil
}
