package state

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sfbridge/sfbridge/internal/clock"
)

// DefaultIdleInTransactionTimeout is the PostgreSQL
// idle_in_transaction_session_timeout the store sets unless the URL sets
// one: a transaction left idle that long is rolled back by the server.
const DefaultIdleInTransactionTimeout = "10s"

type pgBackend struct {
	pool *pgxpool.Pool
}

func openPostgres(ctx context.Context, loc Location, opts Options) (*sqlStore, error) {
	cfg, err := pgxpool.ParseConfig(loc.DSN)
	if err != nil {
		return nil, &URLError{URL: loc.DSN, Reason: "pgx cannot parse it: " + redactPgErr(err)}
	}
	// A replica stalled inside a transaction (stopped, swapped out) would
	// hold its row locks and stall every other replica's takeover; the
	// server ends such a session, which rolls the transaction back.
	if _, set := cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"]; !set {
		cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = DefaultIdleInTransactionTimeout
	}
	// Checkpoint commits are acknowledged before the server flushes them:
	// a server crash may lose the last few hundred milliseconds of them,
	// which the pipelines replay (nothing is ever half-written, and WAL
	// order keeps what survives consistent). Leases, secrets and resets
	// are always flushed: a lost lease commit could hand one token to two
	// owners. A URL that sets synchronous_commit itself is obeyed for all.
	_, set := cfg.ConnConfig.RuntimeParams["synchronous_commit"]
	relaxed := !set
	if relaxed {
		cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("state: connect to PostgreSQL %s: %w", Redacted(loc.DSN), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("state: connect to PostgreSQL %s: %w; check that the server runs and the URL's user, host, port and database are right", Redacted(loc.DSN), err)
	}
	ms, err := loadMigrations("postgres")
	if err != nil {
		pool.Close()
		return nil, err
	}
	d := postgresDialect(ms)
	if relaxed {
		d.strictCommit = "SET LOCAL synchronous_commit = on"
	}
	return &sqlStore{
		db:    &pgBackend{pool: pool},
		d:     d,
		clock: clock.Or(opts.Clock),
		opts:  opts,
	}, nil
}

// redactPgErr keeps a parse error's message without the connection string
// (pgx's messages can quote it, password included).
func redactPgErr(err error) string {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) && pe.Unwrap() != nil {
		return pe.Unwrap().Error()
	}
	return "invalid connection string"
}

func postgresDialect(ms []migration) dialect {
	return dialect{
		engine:         "postgres",
		migrations:     ms,
		lockLease:      " FOR UPDATE",
		lockLeaseShare: " FOR SHARE",
		// One lock per schema, so replicas (and parallel tests in their own
		// schemas) never apply the same migration twice.
		migrationLock: "SELECT pg_advisory_xact_lock(hashtext('sfbridge-state-migrate:' || current_schema()))",
		docInsert:     "INSERT INTO documents (org, kind, id, version, lang, title, body, data, updated_at, ts_config, tsv) VALUES ",
		docRow: func(n int) string {
			return fmt.Sprintf("($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d::regconfig, "+
				"setweight(to_tsvector($%[10]d::regconfig, $%[6]d::text), 'A') || setweight(to_tsvector($%[10]d::regconfig, $%[7]d::text), 'B'))",
				n, n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+9)
		},
		docConflict: ` ON CONFLICT (org, kind, id) DO UPDATE SET version = excluded.version, lang = excluded.lang, title = excluded.title, body = excluded.body,
    data = excluded.data, updated_at = excluded.updated_at, ts_config = excluded.ts_config, tsv = excluded.tsv`,
		docConfigArg: true,
		search:       postgresSearch,
	}
}

// postgresSearch matches every term (plainto_tsquery ANDs them). With a
// language filter the query uses that language's configuration, so the GIN
// index applies; without one each document is matched in its own language.
func postgresSearch(sq SearchQuery, terms []string) (string, []any) {
	text := joinTerms(terms)
	cols := "id, title, lang"
	if sq.WithData {
		cols += ", data"
	}
	if sq.Lang != "" {
		return `SELECT ` + cols + `, ts_rank(tsv, q)::float8 AS score
FROM documents, plainto_tsquery($1::regconfig, $2) AS q
WHERE tsv @@ q AND org = $3 AND kind = $4 AND lang = $5
ORDER BY score DESC, id LIMIT $6`, []any{tsConfig(sq.Lang), text, sq.Org, sq.Kind, sq.Lang, sq.Limit}
	}
	return `SELECT ` + cols + `, ts_rank(tsv, q)::float8 AS score
FROM documents CROSS JOIN LATERAL plainto_tsquery(documents.ts_config, $1) AS q
WHERE tsv @@ q AND org = $2 AND kind = $3
ORDER BY score DESC, id LIMIT $4`, []any{text, sq.Org, sq.Kind, sq.Limit}
}

func joinTerms(terms []string) string {
	out := ""
	for i, t := range terms {
		if i > 0 {
			out += " "
		}
		out += t
	}
	return out
}

// tsConfig maps a document language to a PostgreSQL text-search
// configuration; unknown or empty languages are indexed without stemming.
func tsConfig(lang string) string {
	switch lang {
	case "en":
		return "english"
	case "de":
		return "german"
	case "fr":
		return "french"
	case "es":
		return "spanish"
	case "it":
		return "italian"
	case "pt":
		return "portuguese"
	case "nl":
		return "dutch"
	case "sv":
		return "swedish"
	case "da":
		return "danish"
	case "fi":
		return "finnish"
	case "no", "nb":
		return "norwegian"
	case "ru":
		return "russian"
	}
	return "simple"
}

func (b *pgBackend) close() error {
	b.pool.Close()
	return nil
}

func (b *pgBackend) exec(ctx context.Context, q string, args ...any) (int64, error) {
	return pgExec(ctx, b.pool, q, args...)
}

func (b *pgBackend) query(ctx context.Context, q string, args ...any) (rows, error) {
	rs, err := b.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return pgRows{rs}, nil
}

func (b *pgBackend) queryRow(ctx context.Context, q string, args ...any) scanner {
	return pgRow{b.pool.QueryRow(ctx, q, args...)}
}

func (b *pgBackend) inTx(ctx context.Context, fn func(q querier) error) error {
	tx, err := b.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("state: begin PostgreSQL transaction: %w", err)
	}
	if err := fn(pgTx{tx}); err != nil {
		_ = tx.Rollback(ctx)
		return err
	}
	return tx.Commit(ctx)
}

type pgConn interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func pgExec(ctx context.Context, c pgConn, q string, args ...any) (int64, error) {
	tag, err := c.Exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

type pgTx struct{ tx pgx.Tx }

func (t pgTx) exec(ctx context.Context, q string, args ...any) (int64, error) {
	return pgExec(ctx, t.tx, q, args...)
}

func (t pgTx) query(ctx context.Context, q string, args ...any) (rows, error) {
	rs, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return pgRows{rs}, nil
}

func (t pgTx) queryRow(ctx context.Context, q string, args ...any) scanner {
	return pgRow{t.tx.QueryRow(ctx, q, args...)}
}

type pgRows struct{ pgx.Rows }

func (r pgRows) Close() { r.Rows.Close() }

type pgRow struct{ r pgx.Row }

func (r pgRow) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return errNoRows
	}
	return err
}
