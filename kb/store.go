package kb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/shopchat/shopchat/internal/failwindow"
)

// The package needs go-sqlite3 built with FTS5: build with `-tags sqlite_fts5` (the Makefile does).

// Config configures Open. Zero values take the documented defaults.
type Config struct {
	// Path is the database file; it is created when missing (unless ReadOnly). Required.
	Path string
	// Logger receives the store's logs; default discards them.
	Logger *slog.Logger
	// ReadOnly opens the file read-only: no migrations, every write returns ErrReadOnly.
	ReadOnly bool
	// Synchronous is SQLite's synchronous setting for the writer: "FULL" (default) makes every
	// committed message durable against power loss as well as process crashes; "NORMAL" survives
	// process crashes but may lose the last commits on power loss.
	Synchronous string
	// BusyTimeout is how long a write waits for another process's lock before ErrLocked; default 5s.
	BusyTimeout time.Duration
	// MaxReaders bounds the reader connection pool; default 2×GOMAXPROCS, at least 4.
	MaxReaders int
	// MaxBatch bounds how many concurrent AppendMessage calls share one transaction (group commit);
	// default 256.
	MaxBatch int
	// LookupMaxFailures is how many failed order lookups a requester (and an order number) may make
	// within LookupWindow before ErrTooManyAttempts; defaults 5 and 15 minutes.
	LookupMaxFailures int
	LookupWindow      time.Duration
	// CheckpointInterval is how often a background goroutine copies the WAL into the database
	// (default 250ms; negative: never, SQLite's commits checkpoint by themselves).
	CheckpointInterval time.Duration
	// TemplateTTL is how long answer templates are served from memory before they are read again
	// (default 2s): templates imported by another process are used within it (this Store's own
	// imports at once).
	TemplateTTL time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Store is the knowledge base on one SQLite file: a single writer connection (all writes are
// serialised through it, message appends are group-committed) and a pool of reader connections. A
// Store is safe for concurrent use by multiple goroutines.
type Store struct {
	cfg  Config
	log  *slog.Logger
	w    *sql.DB // exactly one connection; nil when read-only
	ckpt *sql.DB // the background checkpointer's connection; nil when read-only or off
	r    *sql.DB // readers
	now  func() time.Time
	path string

	appendCh  chan *appendReq
	appending atomic.Int64 // AppendMessage calls in flight
	quit      chan struct{}
	writerWG  sync.WaitGroup
	closeOnce sync.Once
	closeMu   sync.RWMutex // held for reading while an append is queued
	isClosed  bool
	closed    chan struct{}

	limiter   *failwindow.Counter
	templates templateCache
	stmts     readStmts
}

const driverName = "sqlite3_shopchat"

func init() {
	sql.Register(driverName, &sqlite3.SQLiteDriver{
		ConnectHook: func(c *sqlite3.SQLiteConn) error {
			// Per-connection pragmas that have no DSN parameter.
			for _, p := range []string{
				"PRAGMA temp_store = MEMORY",
				"PRAGMA cache_size = -16000", // 16 MiB page cache per connection
				// Reads map the database file rather than copy its pages: in WAL mode a connection's
				// page cache is emptied whenever another connection committed, which on a busy chat
				// server is before nearly every read.
				"PRAGMA mmap_size = 268435456",
				// A writable Store copies the WAL into the database from a checkpointer goroutine of
				// its own (Config.CheckpointInterval), off the commit path; a commit checkpoints
				// itself only when the WAL has reached walCheckpointPages pages all the same (the
				// checkpointer fell behind). A checkpoint copies a page once however often it was
				// committed since the last one. Durability is the same (every commit is synced to
				// the WAL).
				"PRAGMA wal_autocheckpoint = " + strconv.Itoa(walCheckpointPages),
				"PRAGMA secure_delete = ON", // erased personal data is overwritten, not left in free pages
			} {
				if _, err := c.Exec(p, nil); err != nil {
					return fmt.Errorf("%s: %w", p, err)
				}
			}
			return nil
		},
	})
}

// Open opens (creating if needed) the database at cfg.Path, applies pending migrations and starts the
// writer. A database written by a newer schema version is refused with ErrSchemaTooNew.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Path == "" {
		return nil, fmt.Errorf("kb: open: %w: empty path", ErrInvalid)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	switch strings.ToUpper(cfg.Synchronous) {
	case "":
		cfg.Synchronous = "FULL"
	case "FULL", "NORMAL", "EXTRA":
		cfg.Synchronous = strings.ToUpper(cfg.Synchronous)
	default:
		return nil, fmt.Errorf("kb: open: %w: synchronous %q (want FULL or NORMAL)", ErrInvalid, cfg.Synchronous)
	}
	if cfg.BusyTimeout <= 0 {
		cfg.BusyTimeout = 5 * time.Second
	}
	if cfg.MaxReaders <= 0 {
		cfg.MaxReaders = max(4, 2*runtime.GOMAXPROCS(0))
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 256
	}
	if cfg.LookupMaxFailures <= 0 {
		cfg.LookupMaxFailures = 5
	}
	if cfg.LookupWindow <= 0 {
		cfg.LookupWindow = 15 * time.Minute
	}
	if cfg.CheckpointInterval == 0 {
		cfg.CheckpointInterval = 250 * time.Millisecond
	}
	if cfg.TemplateTTL <= 0 {
		cfg.TemplateTTL = 2 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	abs, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("kb: open %s: %w", cfg.Path, err)
	}
	s := &Store{
		cfg: cfg, log: cfg.Logger, now: cfg.Now, path: abs,
		appendCh: make(chan *appendReq, cfg.MaxBatch),
		quit:     make(chan struct{}),
		closed:   make(chan struct{}),
		limiter:  failwindow.New(cfg.LookupMaxFailures, cfg.LookupWindow),
	}
	busy := int(cfg.BusyTimeout / time.Millisecond)
	// Every connection keeps its recently used statements prepared (_stmt_cache_size), so that the
	// queries that are not among the prepared readStmts are not compiled again on every call.
	base := (&url.URL{Scheme: "file", Path: abs}).String() + "?_stmt_cache_size=" + strconv.Itoa(stmtCacheSize)
	if cfg.ReadOnly {
		s.r, err = sql.Open(driverName, fmt.Sprintf("%s&mode=ro&_foreign_keys=1&_busy_timeout=%d&_query_only=1", base, busy))
		if err != nil {
			return nil, fmt.Errorf("kb: open %s: %w", cfg.Path, err)
		}
	} else {
		s.w, err = sql.Open(driverName, fmt.Sprintf("%s&mode=rwc&_journal_mode=WAL&_synchronous=%s&_foreign_keys=1&_busy_timeout=%d&_txlock=immediate",
			base, cfg.Synchronous, busy))
		if err != nil {
			return nil, fmt.Errorf("kb: open %s: %w", cfg.Path, err)
		}
		s.w.SetMaxOpenConns(1)
		s.w.SetMaxIdleConns(1)
		s.w.SetConnMaxLifetime(0)
		s.w.SetConnMaxIdleTime(0)
		if err := s.w.PingContext(ctx); err != nil {
			s.w.Close()
			return nil, s.wrapErr(fmt.Sprintf("open %s", cfg.Path), err)
		}
		if err := s.migrate(ctx); err != nil {
			s.w.Close()
			return nil, err
		}
		s.r, err = sql.Open(driverName, fmt.Sprintf("%s&mode=ro&_foreign_keys=1&_busy_timeout=%d&_query_only=1", base, busy))
		if err != nil {
			s.w.Close()
			return nil, fmt.Errorf("kb: open %s: %w", cfg.Path, err)
		}
	}
	s.r.SetMaxOpenConns(cfg.MaxReaders)
	s.r.SetMaxIdleConns(cfg.MaxReaders)
	if err := s.r.PingContext(ctx); err != nil {
		s.closeDBs()
		return nil, s.wrapErr(fmt.Sprintf("open %s", cfg.Path), err)
	}
	if cfg.ReadOnly {
		if err := s.checkVersion(ctx); err != nil {
			s.closeDBs()
			return nil, err
		}
	}
	if err := s.prepare(ctx); err != nil {
		s.closeDBs()
		return nil, err
	}
	if s.w != nil {
		s.writerWG.Add(1)
		go s.writerLoop()
		if cfg.CheckpointInterval > 0 {
			// A connection of its own: a checkpoint on the writer connection would hold up every
			// message waiting for the next group commit while it copies pages and syncs the file.
			s.ckpt, err = sql.Open(driverName, fmt.Sprintf("%s&mode=rw&_busy_timeout=%d", base, busy))
			if err != nil {
				s.Close()
				return nil, fmt.Errorf("kb: open %s: %w", cfg.Path, err)
			}
			s.ckpt.SetMaxOpenConns(1)
			s.writerWG.Add(1)
			go s.checkpointLoop(cfg.CheckpointInterval)
		}
	}
	return s, nil
}

// checkpointLoop copies the WAL into the database every interval with a PASSIVE checkpoint, which
// never blocks the writer or the readers: it copies what no reader still needs, and the writer starts
// the WAL over once all of it was copied.
func (s *Store) checkpointLoop(interval time.Duration) {
	defer s.writerWG.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
			if _, err := s.ckpt.Exec("PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
				s.log.Warn("kb: background checkpoint", "err", err)
			}
		}
	}
}

// walCheckpointPages is the WAL size, in pages, at which a commit copies it into the database itself
// (the background checkpointer normally keeps it far smaller).
const walCheckpointPages = 20000

// stmtCacheSize is how many statements each connection keeps prepared.
const stmtCacheSize = 64

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// Close stops the writer (waiting for appends in flight) and closes the connections. It is safe to call
// more than once.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.closeMu.Lock()
		s.isClosed = true
		s.closeMu.Unlock()
		close(s.closed)
		close(s.quit)
		s.writerWG.Wait()
		s.stmts.close()
		err = s.closeDBs()
	})
	return err
}

func (s *Store) closeDBs() error {
	var errs []error
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.ckpt != nil {
		errs = append(errs, s.ckpt.Close())
	}
	if s.w != nil {
		// Checkpoint so that the -wal file does not linger; harmless if it fails.
		_, _ = s.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		errs = append(errs, s.w.Close())
	}
	return errors.Join(errs...)
}

// writable returns the writer or ErrReadOnly/ErrClosed.
func (s *Store) writer() (*sql.DB, error) {
	select {
	case <-s.closed:
		return nil, ErrClosed
	default:
	}
	if s.w == nil {
		return nil, ErrReadOnly
	}
	return s.w, nil
}

// wrapErr turns SQLite's busy and read-only errors into the package's sentinels with a clear message.
func (s *Store) wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrBusy, sqlite3.ErrLocked:
			return fmt.Errorf("kb: %s: %w (waited %s for %s): %v", op, ErrLocked, s.cfg.BusyTimeout, s.path, err)
		case sqlite3.ErrReadonly:
			return fmt.Errorf("kb: %s: %w: %s cannot be written (file or directory permissions?): %v", op, ErrReadOnly, s.path, err)
		case sqlite3.ErrCantOpen:
			return fmt.Errorf("kb: %s: cannot open %s (missing directory or permissions?): %w", op, s.path, err)
		case sqlite3.ErrNotADB, sqlite3.ErrCorrupt:
			return fmt.Errorf("kb: %s: %s is not a valid shopchat database: %w", op, s.path, err)
		}
	}
	if strings.Contains(err.Error(), "no such module: fts5") {
		return fmt.Errorf("kb: %s: this binary was built without SQLite FTS5; build with -tags sqlite_fts5 (the Makefile does): %w", op, err)
	}
	if strings.HasPrefix(err.Error(), "kb: ") {
		return err
	}
	return fmt.Errorf("kb: %s: %w", op, err)
}

// ms converts a time to the stored Unix milliseconds (0 for the zero time).
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS converts stored Unix milliseconds back (0 is the zero time).
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// nullMS is ms for nullable columns.
func nullMS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func fromNullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}
