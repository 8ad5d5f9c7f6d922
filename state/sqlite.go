package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/sfbridge/sfbridge/internal/clock"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver (pure Go, FTS5 built in)
)

// sqliteBackend keeps one connection for writes (SQLite has one writer
// anyway; one connection avoids lock contention inside the process) and a
// small pool for reads, which WAL lets run beside the writer.
type sqliteBackend struct {
	w *sql.DB
	r *sql.DB
}

func sqliteDSN(loc Location, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", loc.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+strings.ToUpper(loc.Synchronous)+")")
	q.Add("_pragma", "foreign_keys(ON)")
	if readOnly {
		q.Add("_pragma", "query_only(ON)")
		// Searches read the full-text index's pages at random: map the
		// file instead of copying each page in through a read(2) call.
		q.Add("_pragma", "mmap_size(268435456)")
	} else {
		// BEGIN IMMEDIATE: take the write lock at the start of a
		// transaction, so a read-then-write never fails to upgrade.
		q.Set("_txlock", "immediate")
	}
	return "file:" + (&url.URL{Path: loc.Path}).EscapedPath() + "?" + q.Encode()
}

func openSQLite(ctx context.Context, loc Location, opts Options) (*sqlStore, error) {
	if opts.SkipMigrate {
		// Opening without migrating changes nothing, so it creates no file.
		if _, err := os.Stat(loc.Path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("state: there is no SQLite database at %s (%w); opening it without SkipMigrate creates it", loc.Path, ErrNotFound)
		}
	}
	if dir := filepath.Dir(loc.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("state: create the directory for the SQLite database: %w", err)
		}
	}
	// Create the file owner-only before SQLite does, so the database and
	// the -wal and -shm files SQLite derives from its mode are never
	// readable by others (they hold sealed keys and pipeline state).
	if fh, err := os.OpenFile(loc.Path, os.O_RDWR|os.O_CREATE, 0o600); err == nil {
		_ = fh.Close()
	}
	w, err := sql.Open("sqlite", sqliteDSN(loc, false))
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("state: open SQLite database %s: %w", loc.Path, err)
	}
	if err := os.Chmod(loc.Path, 0o600); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("state: restrict the SQLite database to its owner: %w", err)
	}
	r, err := sql.Open("sqlite", sqliteDSN(loc, true))
	if err != nil {
		_ = w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	ms, err := loadMigrations("sqlite")
	if err != nil {
		_ = w.Close()
		_ = r.Close()
		return nil, err
	}
	return &sqlStore{
		db:    &sqliteBackend{w: w, r: r},
		d:     sqliteDialect(ms),
		clock: clock.Or(opts.Clock),
		opts:  opts,
	}, nil
}

func sqliteDialect(ms []migration) dialect {
	return dialect{
		engine:     "sqlite",
		migrations: ms,
		docInsert:  "INSERT INTO documents (org, kind, id, version, lang, title, body, data, updated_at) VALUES ",
		docRow: func(n int) string {
			return fmt.Sprintf("($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", n, n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8)
		},
		docConflict: ` ON CONFLICT (org, kind, id) DO UPDATE SET version = excluded.version, lang = excluded.lang, title = excluded.title,
    body = excluded.body, data = excluded.data, updated_at = excluded.updated_at`,
		search: sqliteSearch,
	}
}

// sqliteSearch quotes every term, so user text is never FTS5 syntax, and
// ranks with bm25 (title weighted over body); the score is negated so that
// higher is better in both engines, and computed once per match.
func sqliteSearch(sq SearchQuery, terms []string) (string, []any) {
	quoted := make([]string, len(terms))
	for i, t := range terms {
		quoted[i] = `"` + strings.ReplaceAll(t, `"`, `""`) + `"`
	}
	cols := "d.id, d.title, d.lang"
	if sq.WithData {
		cols += ", d.data"
	}
	return `SELECT ` + cols + `, -bm25(documents_fts, 4.0, 1.0) AS score
FROM documents_fts JOIN documents d ON d.rowid = documents_fts.rowid
WHERE documents_fts MATCH $1 AND d.org = $2 AND d.kind = $3 AND ($4 = '' OR d.lang = $4)
ORDER BY score DESC, d.id LIMIT $5`,
		[]any{strings.Join(quoted, " "), sq.Org, sq.Kind, sq.Lang, sq.Limit}
}

func (b *sqliteBackend) close() error { return errors.Join(b.r.Close(), b.w.Close()) }

func (b *sqliteBackend) exec(ctx context.Context, q string, args ...any) (int64, error) {
	return sqlExec(ctx, b.w, q, args...)
}

func (b *sqliteBackend) query(ctx context.Context, q string, args ...any) (rows, error) {
	return sqlQuery(ctx, b.r, q, args...)
}

func (b *sqliteBackend) queryRow(ctx context.Context, q string, args ...any) scanner {
	return sqlRow{b.r.QueryRowContext(ctx, q, args...)}
}

func (b *sqliteBackend) inTx(ctx context.Context, fn func(q querier) error) error {
	tx, err := b.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("state: begin SQLite transaction: %w", err)
	}
	if err := fn(sqlTx{tx}); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// sqlConn is what *sql.DB and *sql.Tx share.
type sqlConn interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func sqlExec(ctx context.Context, c sqlConn, q string, args ...any) (int64, error) {
	res, err := c.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func sqlQuery(ctx context.Context, c sqlConn, q string, args ...any) (rows, error) {
	rs, err := c.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rs}, nil
}

type sqlTx struct{ tx *sql.Tx }

func (t sqlTx) exec(ctx context.Context, q string, args ...any) (int64, error) {
	return sqlExec(ctx, t.tx, q, args...)
}

func (t sqlTx) query(ctx context.Context, q string, args ...any) (rows, error) {
	return sqlQuery(ctx, t.tx, q, args...)
}

func (t sqlTx) queryRow(ctx context.Context, q string, args ...any) scanner {
	return sqlRow{t.tx.QueryRowContext(ctx, q, args...)}
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

type sqlRow struct{ r *sql.Row }

func (r sqlRow) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return errNoRows
	}
	return err
}
