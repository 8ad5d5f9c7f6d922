package state

import (
	"context"
	"errors"
	"log/slog"

	"github.com/sfbridge/sfbridge/internal/clock"
)

// Options tune [Open]. The zero value is usable.
type Options struct {
	// Clock is where every time the store reads comes from: lease
	// expiry, dedupe expiry, timestamps. Nil means the real clock.
	Clock clock.Clock
	// Logger receives migration notes; nil discards.
	Logger *slog.Logger
	// BeforeCommit, when set, runs inside every write transaction just
	// before it commits; an error rolls the transaction back. Tests use it
	// to stop a process between write and commit.
	BeforeCommit func(ctx context.Context) error
	// SkipMigrate opens the database without changing it (for `sfbridge
	// state inspect`): no migration is applied, and a SQLite file that does
	// not exist is an error wrapping ErrNotFound rather than created. A
	// newer schema is still refused; an older one is reported by
	// SchemaVersion.
	SkipMigrate bool
}

// errNoRows is what both adapters return from a row scan that found none.
var errNoRows = errors.New("state: no rows")

// querier runs statements; both a pool and a transaction are one. Queries
// use numbered bind parameters ($1, $2…), which both engines accept.
type querier interface {
	exec(ctx context.Context, q string, args ...any) (int64, error)
	query(ctx context.Context, q string, args ...any) (rows, error)
	queryRow(ctx context.Context, q string, args ...any) scanner
}

type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

type scanner interface {
	Scan(dest ...any) error
}

// backend is what an engine adapter provides to the shared SQL store.
type backend interface {
	querier
	// inTx runs fn in one write transaction: committed if fn returns nil,
	// rolled back otherwise.
	inTx(ctx context.Context, fn func(q querier) error) error
	close() error
}

// dialect holds the statements that differ between the engines.
type dialect struct {
	engine string
	// lockLease is appended to the lease read of a write transaction.
	lockLease      string
	lockLeaseShare string
	// putDocuments is a multi-row upsert: docInsert, then one docRow per
	// document (its arguments numbered from the given first index), then
	// docConflict.
	docInsert   string
	docRow      func(first int) string
	docConflict string
	// docConfigArg adds the text-search configuration as a tenth argument
	// of each document row.
	docConfigArg bool
	search       func(q SearchQuery, terms []string) (string, []any)
	migrations   []migration
	// strictCommit, when set, runs first in every transaction that is not
	// replayable data (leases, secrets, resets, migrations), because the
	// session acknowledges commits before they are flushed.
	strictCommit string
	// migrationLock runs first in the migration transaction.
	migrationLock string
}
