package kb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// Message appends are group-committed: concurrent AppendMessage calls queue their messages for the
// writer goroutine, which stores up to Config.MaxBatch of them in one transaction (each under its own
// retry, so one bad message does not fail the others) and answers every caller only after COMMIT
// returned. With synchronous=FULL (the default) a returned message is on disk.

type appendReq struct {
	ctx       context.Context
	m         Message
	state     []byte // the conversation's new dialogue state, when withState
	withState bool
	// exec, when set, is the request instead of m: another small write that shares the group commit
	// (see groupWrite).
	exec func(ctx context.Context, tx *sql.Tx) error
	done chan appendRes
}

type appendRes struct {
	m   Message
	dup bool
	err error
}

// AppendMessage stores m with the next seq of its conversation and returns it as stored, after the
// transaction committed. When m.ClientID is not empty and a message with the same ConvID, Sender and
// ClientID exists, nothing is written and the stored message is returned with duplicate == true. An
// unknown conversation gives ErrNotFound.
func (s *Store) AppendMessage(ctx context.Context, m Message) (Message, bool, error) {
	return s.appendMessage(ctx, &appendReq{ctx: ctx, m: m})
}

// AppendMessageState is AppendMessage that also replaces the conversation's dialogue state (as
// SaveState does) in the same transaction: a bot's answer and the state it leaves the conversation in
// are committed together, with one commit. The state is saved also when m is a duplicate.
func (s *Store) AppendMessageState(ctx context.Context, m Message, state []byte) (Message, bool, error) {
	return s.appendMessage(ctx, &appendReq{ctx: ctx, m: m, state: state, withState: true})
}

func (s *Store) appendMessage(ctx context.Context, req *appendReq) (Message, bool, error) {
	m := req.m
	if _, err := s.writer(); err != nil {
		return Message{}, false, fmt.Errorf("kb: append message: %w", err)
	}
	if err := validateMessage(&m); err != nil {
		return Message{}, false, fmt.Errorf("kb: append message: %w", err)
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = s.now()
	}
	m.CreatedAt = m.CreatedAt.UTC().Truncate(1e6)
	req.m = m
	res, err := s.enqueue(ctx, req)
	if err != nil {
		return Message{}, false, fmt.Errorf("kb: append message: %w", err)
	}
	return res.m, res.dup, res.err
}

// groupWrite runs fn in the writer's next group-committed transaction and returns after it committed
// (or failed): small writes (impressions, the unanswered inbox, dialogue states) share the messages'
// commits instead of taking the writer for a transaction and a sync of their own. fn runs under a
// savepoint: when it returns an error, what it wrote is undone and the error is returned as it is.
func (s *Store) groupWrite(ctx context.Context, op string, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if _, err := s.writer(); err != nil {
		return fmt.Errorf("kb: %s: %w", op, err)
	}
	res, err := s.enqueue(ctx, &appendReq{ctx: ctx, exec: fn})
	if err != nil {
		return fmt.Errorf("kb: %s: %w", op, err)
	}
	return res.err
}

// enqueue hands req to the writer and waits for its outcome.
func (s *Store) enqueue(ctx context.Context, req *appendReq) (appendRes, error) {
	req.done = make(chan appendRes, 1)
	s.appending.Add(1)
	defer s.appending.Add(-1)
	// Enqueue under the read lock: Close takes the write lock before it stops the writer, so every
	// queued request is answered.
	s.closeMu.RLock()
	if s.isClosed {
		s.closeMu.RUnlock()
		return appendRes{}, ErrClosed
	}
	select {
	case s.appendCh <- req:
		s.closeMu.RUnlock()
	case <-ctx.Done():
		s.closeMu.RUnlock()
		return appendRes{}, ctx.Err()
	}
	// Once queued, wait for the outcome: the writer always answers, also when closing.
	return <-req.done, nil
}

// writerLoop batches queued appends into transactions until Close. A batch takes what is queued and,
// while fewer requests are queued than AppendMessage calls are in flight, lingers up to appendLinger
// for the rest: the callers that were just answered are about to send their next message, and waiting
// a fraction of an fsync for them lets one commit carry them all.
func (s *Store) writerLoop() {
	defer s.writerWG.Done()
	batch := make([]*appendReq, 0, s.cfg.MaxBatch)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for {
		select {
		case req := <-s.appendCh:
			batch = append(batch[:0], req)
			lingering := false
		gather:
			for len(batch) < s.cfg.MaxBatch {
				select {
				case r := <-s.appendCh:
					batch = append(batch, r)
					continue
				default:
				}
				if int64(len(batch)) >= s.appending.Load() {
					break
				}
				if !lingering {
					lingering = true
					linger.Reset(appendLinger)
				}
				select {
				case r := <-s.appendCh:
					batch = append(batch, r)
				case <-linger.C:
					lingering = false
					break gather
				}
			}
			if lingering && !linger.Stop() {
				<-linger.C
			}
			s.commitBatch(batch)
		case <-s.quit:
			// Answer whatever is still queued, then stop.
			for {
				select {
				case req := <-s.appendCh:
					s.commitBatch([]*appendReq{req})
				default:
					return
				}
			}
		}
	}
}

// appendLinger is the longest a batch waits for more messages from callers in flight.
const appendLinger = 5 * time.Millisecond

// commitBatch stores a batch in one transaction and answers every request. When the transaction fails
// after some messages were written, it is rolled back and each message is retried on its own, so one
// bad message cannot fail the others.
func (s *Store) commitBatch(batch []*appendReq) {
	results, err := s.tryBatch(batch)
	if err != nil && len(batch) > 1 {
		for _, req := range batch {
			s.commitBatch([]*appendReq{req})
		}
		return
	}
	for i, req := range batch {
		if err != nil {
			req.done <- appendRes{err: err}
			continue
		}
		req.done <- results[i]
	}
}

// tryBatch writes the batch in one transaction. Per-message outcomes that write nothing (duplicate,
// unknown conversation, cancelled caller) are results; any other error fails the whole transaction.
func (s *Store) tryBatch(batch []*appendReq) ([]appendRes, error) {
	results := make([]appendRes, len(batch))
	ctx := context.Background() // a caller's cancellation must not abort the others' transaction
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, s.wrapErr("append message", err)
	}
	st := &appendStmts{tx: tx}
	for i, req := range batch {
		if req.ctx.Err() != nil {
			results[i] = appendRes{err: fmt.Errorf("kb: append message: %w", req.ctx.Err())}
			continue
		}
		if req.exec != nil {
			// Another write, under a savepoint: when it fails, what it wrote is undone and the
			// error is its caller's alone.
			if _, err := tx.ExecContext(ctx, "SAVEPOINT group_write"); err != nil {
				tx.Rollback()
				return nil, s.wrapErr("group write", err)
			}
			if err := req.exec(ctx, tx); err != nil {
				results[i] = appendRes{err: err}
				if _, err := tx.ExecContext(ctx, "ROLLBACK TO group_write"); err != nil {
					tx.Rollback()
					return nil, s.wrapErr("group write", err)
				}
			}
			if _, err := tx.ExecContext(ctx, "RELEASE group_write"); err != nil {
				tx.Rollback()
				return nil, s.wrapErr("group write", err)
			}
			continue
		}
		res, fatal := s.appendOne(ctx, st, req)
		if fatal != nil {
			tx.Rollback()
			return nil, fatal
		}
		results[i] = res
	}
	if err := tx.Commit(); err != nil {
		return nil, s.wrapErr("append message: commit", err)
	}
	return results, nil
}

// appendOne writes one message: it takes the conversation's next seq and inserts the message; when the
// insert hits the (conv, sender, client id) unique index the message is a duplicate, the seq is given
// back (nothing else took a seq in between: there is one writer) and the stored message is returned. A
// returned res.err wrote nothing; a fatal error may have written part of it and fails the transaction.
func (s *Store) appendOne(ctx context.Context, st *appendStmts, req *appendReq) (res appendRes, fatal error) {
	m := req.m
	var seq int64
	var err error
	if req.withState {
		err = st.stmt(&st.bumpState, s.stmts.appendBumpState).QueryRowContext(ctx, ms(m.CreatedAt), nullBytes(req.state), m.ConvID).Scan(&seq)
	} else {
		err = st.stmt(&st.bump, s.stmts.appendBump).QueryRowContext(ctx, ms(m.CreatedAt), m.ConvID).Scan(&seq)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return appendRes{err: fmt.Errorf("kb: append message: conversation %q: %w", m.ConvID, ErrNotFound)}, nil
	}
	if err != nil {
		return appendRes{}, s.wrapErr("append message", err)
	}
	m.Seq = seq
	r, err := st.stmt(&st.insert, s.stmts.appendInsert).ExecContext(ctx, m.ConvID, m.Seq, m.ClientID, m.Sender, m.AgentID, m.Type, m.Text,
		nullJSON(m.Payload), m.Intent, m.Confidence, nullJSON(m.Entities), ms(m.CreatedAt))
	if err != nil {
		return appendRes{}, s.wrapErr("append message", err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 1 {
		return appendRes{m: m}, s.wrapErr("append message", err)
	}
	// A duplicate: give the seq back (the state, if any, stays saved) and return what is stored.
	if _, err := st.stmt(&st.unbump, s.stmts.appendUnbump).ExecContext(ctx, m.ConvID); err != nil {
		return appendRes{}, s.wrapErr("append message", err)
	}
	stored, err := scanMessage(st.stmt(&st.dedup, s.stmts.appendDedup).QueryRowContext(ctx, m.ConvID, m.Sender, m.ClientID))
	if err != nil {
		return appendRes{}, s.wrapErr("append message: read duplicate", err)
	}
	return appendRes{m: stored, dup: true}, nil
}

// appendStmts are the writer's statements bound to one transaction, bound when first used.
type appendStmts struct {
	tx                                     *sql.Tx
	dedup, bump, bumpState, unbump, insert *sql.Stmt
}

func (a *appendStmts) stmt(dst **sql.Stmt, prepared *sql.Stmt) *sql.Stmt {
	if *dst == nil {
		*dst = a.tx.Stmt(prepared)
	}
	return *dst
}

func isConstraint(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == sqlite3.ErrConstraint
}
