package state_test

import (
	"testing"

	"github.com/sfbridge/sfbridge/state/statetest"
)

func TestSQLite(t *testing.T) {
	statetest.Run(t, statetest.SQLiteURL)
}

func TestPostgres(t *testing.T) {
	statetest.PostgresServer(t)
	statetest.Run(t, statetest.PostgresURL)
}
