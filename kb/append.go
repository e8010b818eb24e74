package kb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// Message appends are group-committed: concurrent AppendMessage calls queue their messages for the
// writer goroutine, which stores up to Config.MaxBatch of them in one transaction (each under its own
// SAVEPOINT, so one bad message does not fail the others) and answers every caller only after COMMIT
// returned. With synchronous=FULL (the default) a returned message is on disk.

type appendReq struct {
	ctx  context.Context
	m    Message
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
	req := &appendReq{ctx: ctx, m: m, done: make(chan appendRes, 1)}
	select {
	case s.appendCh <- req:
	case <-ctx.Done():
		return Message{}, false, fmt.Errorf("kb: append message: %w", ctx.Err())
	case <-s.closed:
		return Message{}, false, fmt.Errorf("kb: append message: %w", ErrClosed)
	}
	// Once queued, wait for the outcome: the writer always answers, also when closing.
	res := <-req.done
	return res.m, res.dup, res.err
}

// writerLoop batches queued appends into transactions until Close.
func (s *Store) writerLoop() {
	defer s.writerWG.Done()
	batch := make([]*appendReq, 0, s.cfg.MaxBatch)
	for {
		select {
		case req := <-s.appendCh:
			batch = append(batch[:0], req)
		drain:
			for len(batch) < s.cfg.MaxBatch {
				select {
				case r := <-s.appendCh:
					batch = append(batch, r)
				default:
					break drain
				}
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

// commitBatch stores a batch in one transaction and answers every request.
func (s *Store) commitBatch(batch []*appendReq) {
	results := make([]appendRes, len(batch))
	fail := func(err error) {
		for i, req := range batch {
			if results[i].err == nil {
				results[i] = appendRes{err: err}
			}
			req.done <- results[i]
		}
	}
	ctx := context.Background() // a caller's cancellation must not abort the others' transaction
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		fail(s.wrapErr("append message", err))
		return
	}
	dedup, bump, insert := tx.Stmt(s.stmts.appendDedup), tx.Stmt(s.stmts.appendBump), tx.Stmt(s.stmts.appendInsert)
	for i, req := range batch {
		if req.ctx.Err() != nil {
			results[i] = appendRes{err: fmt.Errorf("kb: append message: %w", req.ctx.Err())}
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT m"); err != nil {
			tx.Rollback()
			fail(s.wrapErr("append message", err))
			return
		}
		res := s.appendOne(ctx, dedup, bump, insert, req.m)
		if res.err != nil {
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO m"); err != nil {
				tx.Rollback()
				fail(s.wrapErr("append message", err))
				return
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE m"); err != nil {
			tx.Rollback()
			fail(s.wrapErr("append message", err))
			return
		}
		results[i] = res
	}
	if err := tx.Commit(); err != nil {
		for i := range results {
			if results[i].err == nil {
				results[i] = appendRes{err: s.wrapErr("append message: commit", err)}
			}
		}
	}
	for i, req := range batch {
		req.done <- results[i]
	}
}

func (s *Store) appendOne(ctx context.Context, dedup, bump, insert *sql.Stmt, m Message) appendRes {
	if m.ClientID != "" {
		stored, err := scanMessage(dedup.QueryRowContext(ctx, m.ConvID, m.Sender, m.ClientID))
		switch {
		case err == nil:
			return appendRes{m: stored, dup: true}
		case !errors.Is(err, sql.ErrNoRows):
			return appendRes{err: s.wrapErr("append message", err)}
		}
	}
	var seq int64
	err := bump.QueryRowContext(ctx, ms(m.CreatedAt), m.ConvID).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return appendRes{err: fmt.Errorf("kb: append message: conversation %q: %w", m.ConvID, ErrNotFound)}
	}
	if err != nil {
		return appendRes{err: s.wrapErr("append message", err)}
	}
	m.Seq = seq
	if _, err := insert.ExecContext(ctx, m.ConvID, m.Seq, m.ClientID, m.Sender, m.AgentID, m.Type, m.Text,
		nullJSON(m.Payload), m.Intent, m.Confidence, nullJSON(m.Entities), ms(m.CreatedAt)); err != nil {
		return appendRes{err: s.wrapErr("append message", err)}
	}
	return appendRes{m: m}
}

func isConstraint(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == sqlite3.ErrConstraint
}
