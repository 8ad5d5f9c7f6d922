package dirlock

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestSecondAcquireIsRefusedWithThePID(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(b)), strconv.Itoa(os.Getpid()); got != want {
		t.Errorf("lock file holds %q, want the PID %q", got, want)
	}

	_, err = Acquire(dir)
	var busy *BusyError
	if !errors.As(err, &busy) {
		t.Fatalf("second Acquire: %v, want a *BusyError", err)
	}
	if busy.PID != os.Getpid() || busy.Dir != dir {
		t.Errorf("BusyError = %+v, want PID %d and dir %s", busy, os.Getpid(), dir)
	}
	if msg := err.Error(); !strings.Contains(msg, "PID "+strconv.Itoa(os.Getpid())) || !strings.Contains(msg, "--state-dir") {
		t.Errorf("message %q does not name the PID and the way out", msg)
	}

	l.Release()
	l.Release()
	l2, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	l2.Release()
}
