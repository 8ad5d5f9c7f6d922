package state_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves goroutines behind (a pool or a
// database handle not closed).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
