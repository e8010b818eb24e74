package kb

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one embedded schema step.
type migration struct {
	version int    // the NNNN prefix
	name    string // the file name
	sql     string
}

var migrationName = regexp.MustCompile(`^(\d{4})_[a-z0-9_]+\.sql$`)

// migrations returns the embedded migrations in lexical (= version) order.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("kb: migrations: %w", err)
	}
	var out []migration
	seen := map[int]string{}
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("kb: migration file %q: want NNNN_name.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("kb: migrations %s and %s share version %d", prev, e.Name(), v)
		}
		seen[v] = e.Name()
		b, err := migrationFS.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("kb: migration %s: %w", e.Name(), err)
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// SchemaVersion is the highest migration version this build knows.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at INTEGER NOT NULL
)`

// migrate applies every pending migration, each in its own transaction together with its version
// record, and refuses a database that has versions this build does not know.
func (s *Store) migrate(ctx context.Context) error {
	all, err := migrations()
	if err != nil {
		return err
	}
	if _, err := s.w.ExecContext(ctx, createMigrationsTable); err != nil {
		return s.wrapErr("migrate", err)
	}
	applied, err := s.readVersions(ctx, s.w)
	if err != nil {
		return err
	}
	if err := checkKnown(applied, all, s.path); err != nil {
		return err
	}
	for _, m := range all {
		if _, done := applied[m.version]; done {
			continue
		}
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return s.wrapErr("migrate "+m.name, err)
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			tx.Rollback()
			return s.wrapErr("migrate "+m.name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)`,
			m.version, m.name, s.now().UnixMilli()); err != nil {
			tx.Rollback()
			return s.wrapErr("migrate "+m.name, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.version)); err != nil {
			tx.Rollback()
			return s.wrapErr("migrate "+m.name, err)
		}
		if err := tx.Commit(); err != nil {
			return s.wrapErr("migrate "+m.name, err)
		}
		s.log.Info("kb: applied migration", "name", m.name, "path", s.path)
	}
	return nil
}

// checkVersion is migrate for a read-only store: it refuses unknown (newer) versions and a database
// that still needs migrations.
func (s *Store) checkVersion(ctx context.Context) error {
	all, err := migrations()
	if err != nil {
		return err
	}
	applied, err := s.readVersions(ctx, s.r)
	if err != nil {
		return err
	}
	if err := checkKnown(applied, all, s.path); err != nil {
		return err
	}
	for _, m := range all {
		if _, ok := applied[m.version]; !ok {
			return fmt.Errorf("kb: %s needs migration %s; open it once read-write to upgrade: %w", s.path, m.name, ErrReadOnly)
		}
	}
	return nil
}

func (s *Store) readVersions(ctx context.Context, db dbQueryer) (map[int]string, error) {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n); err != nil {
		return nil, s.wrapErr("read schema version", err)
	}
	out := map[int]string{}
	if n == 0 {
		return out, nil
	}
	rows, err := db.QueryContext(ctx, `SELECT version, name FROM schema_migrations`)
	if err != nil {
		return nil, s.wrapErr("read schema version", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		var name string
		if err := rows.Scan(&v, &name); err != nil {
			return nil, s.wrapErr("read schema version", err)
		}
		out[v] = name
	}
	return out, s.wrapErr("read schema version", rows.Err())
}

func checkKnown(applied map[int]string, all []migration, path string) error {
	known := map[int]bool{}
	for _, m := range all {
		known[m.version] = true
	}
	var newest, newestKnown int
	var unknown string
	for v, name := range applied {
		if !known[v] && v > newest {
			newest, unknown = v, name
		}
	}
	if len(all) > 0 {
		newestKnown = all[len(all)-1].version
	}
	if unknown != "" {
		return fmt.Errorf("%w: %s has migration %s (version %04d) but this shopchat knows versions up to %04d; "+
			"run the newer shopchat or restore a backup", ErrSchemaTooNew, path, unknown, newest, newestKnown)
	}
	return nil
}

// dbQueryer is what *sql.DB and *sql.Tx share for reading.
type dbQueryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
