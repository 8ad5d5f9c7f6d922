package state_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/sfbridge/sfbridge/state"
	"github.com/sfbridge/sfbridge/state/statetest"
)

func TestSQLite(t *testing.T) {
	statetest.Run(t, statetest.SQLiteURL)
}

func TestPostgres(t *testing.T) {
	statetest.PostgresServer(t)
	statetest.Run(t, statetest.PostgresURL)
}

func TestSQLiteSkipMigrateCreatesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "state.db")
	_, err := state.Open(t.Context(), "sqlite:"+path, state.Options{SkipMigrate: true})
	if !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("opening without migrating created %s (%v)", filepath.Dir(path), err)
	}
	st, err := state.Open(t.Context(), "sqlite:"+path, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("database file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}
