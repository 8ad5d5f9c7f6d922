// Package statetest is the contract suite every state engine passes, and
// the helpers that give each test its own database: a SQLite file in a
// temporary directory, or a PostgreSQL schema of its own so tests run in
// parallel against one server.
package statetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sfbridge/sfbridge/state"
)

// PostgresEnv names the variable with the PostgreSQL server tests use.
const PostgresEnv = "SFBRIDGE_TEST_POSTGRES"

// DefaultPostgres is the server tests use when PostgresEnv is unset.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test"

// SQLiteURL returns a state URL for a new SQLite file in t's temporary
// directory.
func SQLiteURL(tb testing.TB) string {
	tb.Helper()
	return "sqlite:" + filepath.Join(tb.TempDir(), "state.db")
}

// PostgresServer returns the test server's URL, after checking that it
// answers. When it does not, the test fails under CI=true (CI must test
// PostgreSQL) and is skipped elsewhere with the reason.
func PostgresServer(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		base = DefaultPostgres
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err == nil {
		err = conn.Ping(ctx)
		_ = conn.Close(ctx)
	}
	if err != nil {
		msg := "PostgreSQL at " + state.Redacted(base) + " is unreachable (" + err.Error() + "); start it, or point " + PostgresEnv + " at a server"
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return base
}

// PostgresURL creates a fresh schema on the test server, drops it when the
// test ends, and returns a state URL whose connections use it.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	base := PostgresServer(tb)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "sfbridge_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("connect to PostgreSQL: %v", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer func() { _ = c.Close(ctx) }()
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withParam(base, "search_path", schema)
}

func withParam(raw, name, value string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set(name, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// RawExec runs a statement on the database a state URL names, around the
// store (for tests that must corrupt or age a database on purpose).
func RawExec(tb testing.TB, stateURL, stmt string) {
	tb.Helper()
	ctx := context.Background()
	loc, err := state.ParseURL(stateURL)
	if err != nil {
		tb.Fatal(err)
	}
	switch loc.Engine {
	case "sqlite":
		db, err := sql.Open("sqlite", "file:"+loc.Path)
		if err != nil {
			tb.Fatal(err)
		}
		defer func() { _ = db.Close() }()
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			tb.Fatalf("%s: %v", firstLine(stmt), err)
		}
	case "postgres":
		conn, err := pgx.Connect(ctx, loc.DSN)
		if err != nil {
			tb.Fatal(err)
		}
		defer func() { _ = conn.Close(ctx) }()
		if _, err := conn.Exec(ctx, stmt); err != nil {
			tb.Fatalf("%s: %v", firstLine(stmt), err)
		}
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
