package botapi_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves goroutines behind (a deliverer,
// a pump or a stream not stopped).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
