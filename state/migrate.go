package state

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations
var migrationFS embed.FS

// migration is one embedded, versioned schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads migrations/<engine>/NNNN_name.sql in version order.
func loadMigrations(engine string) ([]migration, error) {
	dir := path.Join("migrations", engine)
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("state: embedded migration %s/%s is not named NNNN_name.sql", dir, e.Name())
		}
		b, err := fs.ReadFile(migrationFS, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("state: embedded %s migrations skip from %d to %d", engine, i, m.version)
		}
	}
	return out, nil
}

// LatestSchemaVersion is the newest schema version this binary knows for
// an engine ("sqlite" or "postgres").
func LatestSchemaVersion(engine string) int {
	ms, err := loadMigrations(engine)
	if err != nil {
		return 0
	}
	return len(ms)
}

const createMigrationTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at BIGINT  NOT NULL
)`

func currentVersion(ctx context.Context, q querier) (int, error) {
	var v int64
	err := q.queryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v)
	return int(v), err
}

// migrate brings the schema up to date in one transaction, refusing a
// schema newer than this binary knows.
func (s *sqlStore) migrate(ctx context.Context) error {
	known := len(s.d.migrations)
	return s.db.inTx(ctx, func(q querier) error {
		if s.d.strictCommit != "" {
			if _, err := q.exec(ctx, s.d.strictCommit); err != nil {
				return err
			}
		}
		if s.d.migrationLock != "" {
			if _, err := q.exec(ctx, s.d.migrationLock); err != nil {
				return fmt.Errorf("state: lock for migration: %w", err)
			}
		}
		if _, err := q.exec(ctx, createMigrationTable); err != nil {
			return fmt.Errorf("state: create schema_migrations: %w", err)
		}
		have, err := currentVersion(ctx, q)
		if err != nil {
			return err
		}
		if have > known {
			return &SchemaTooNewError{Engine: s.d.engine, Have: have, Known: known}
		}
		for _, m := range s.d.migrations[have:] {
			if _, err := q.exec(ctx, m.sql); err != nil {
				return fmt.Errorf("state: apply %s migration %s: %w", s.d.engine, m.name, err)
			}
			if _, err := q.exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", m.version, m.name, ms(s.now())); err != nil {
				return err
			}
			if s.opts.Logger != nil {
				s.opts.Logger.InfoContext(ctx, "state: applied migration", "engine", s.d.engine, "migration", m.name)
			}
		}
		return nil
	})
}

// checkVersion refuses a newer schema without changing anything.
func (s *sqlStore) checkVersion(ctx context.Context) error {
	have, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if known := len(s.d.migrations); have > known {
		return &SchemaTooNewError{Engine: s.d.engine, Have: have, Known: known}
	}
	return nil
}

// SchemaVersion reports the database's schema version (0 before the first
// migration).
func (s *sqlStore) SchemaVersion(ctx context.Context) (int, error) {
	v, err := currentVersion(ctx, s.db)
	if err != nil && isMissingTable(err) {
		return 0, nil
	}
	return v, err
}

func isMissingTable(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "no such table") || strings.Contains(msg, "does not exist")
}

// Open opens the state store a URL names (see [ParseURL]) and applies
// pending migrations. A schema newer than this binary knows is a
// *SchemaTooNewError.
func Open(ctx context.Context, rawURL string, opts Options) (Store, error) {
	loc, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	var s *sqlStore
	switch loc.Engine {
	case "sqlite":
		s, err = openSQLite(ctx, loc, opts)
	case "postgres":
		s, err = openPostgres(ctx, loc, opts)
	default:
		err = errors.New("state: unknown engine " + loc.Engine)
	}
	if err != nil {
		return nil, err
	}
	if opts.SkipMigrate {
		err = s.checkVersion(ctx)
	} else {
		err = s.migrate(ctx)
	}
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}
