package handoff

import "sort"

// rec is the engine's record of one conversation.
type rec struct {
	h       Handoff
	arrival uint64 // tie-breaker in the queue: order of (re)queueing with equal priority and QueuedAt
	// excluded is the agent that last failed to answer; auto-assignment passes it over while another
	// agent can take the conversation.
	excluded string
}

// before reports whether a is ahead of b in a queue: higher priority, then longer waiting, then
// earlier arrival.
func before(a, b *rec) bool {
	if a.h.Priority != b.h.Priority {
		return a.h.Priority > b.h.Priority
	}
	if !a.h.QueuedAt.Equal(b.h.QueuedAt) {
		return a.h.QueuedAt.Before(b.h.QueuedAt)
	}
	return a.arrival < b.arrival
}

// queue is one skill's waiting conversations in order. Insert, remove and position are O(log n) to
// find plus O(n) to shift, which stays in microseconds for tens of thousands of entries. Not safe for
// concurrent use: the engine's mutex guards it.
type queue struct {
	items []*rec
}

func (q *queue) search(r *rec) int {
	return sort.Search(len(q.items), func(i int) bool { return !before(q.items[i], r) })
}

func (q *queue) insert(r *rec) {
	i := q.search(r)
	q.items = append(q.items, nil)
	copy(q.items[i+1:], q.items[i:])
	q.items[i] = r
}

// index returns r's index or -1.
func (q *queue) index(r *rec) int {
	i := q.search(r)
	if i < len(q.items) && q.items[i] == r {
		return i
	}
	return -1
}

func (q *queue) remove(r *rec) bool {
	i := q.index(r)
	if i < 0 {
		return false
	}
	copy(q.items[i:], q.items[i+1:])
	q.items[len(q.items)-1] = nil
	q.items = q.items[:len(q.items)-1]
	return true
}
