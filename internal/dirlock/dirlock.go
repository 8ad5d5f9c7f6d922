// Package dirlock gives one process at a time a directory: the daemon's
// state directory is locked for as long as `sfbridge serve` runs, so a
// second daemon (or a second `serve --dev`) on the same directory stops
// before it writes anything there.
package dirlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// FileName is the lock file kept in a locked directory. It holds the PID of
// the process holding the lock, for the message the next one gets.
const FileName = "sfbridge.lock"

// Lock is a held directory lock; Release gives it up. The operating system
// also gives it up when the process ends, however it ends.
type Lock struct {
	f    *os.File
	path string
}

// BusyError says that another process holds the directory.
type BusyError struct {
	Dir string
	// PID is the holder's process id as its lock file records it; 0 when
	// it could not be read.
	PID int
}

func (e *BusyError) Error() string {
	who := "another process"
	if e.PID > 0 {
		who = "another process (PID " + strconv.Itoa(e.PID) + ")"
	}
	return fmt.Sprintf("state directory %s is in use by %s: two daemons must not share one state directory; stop that process first, or give this one its own --state-dir", e.Dir, who)
}

// Acquire creates dir (mode 0700) if needed and locks it for this process
// without waiting. When another process holds it, the error is a
// *BusyError naming that process. Nothing else in dir is touched.
func Acquire(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	f, err := tryLock(path)
	if errors.Is(err, errBusy) {
		return nil, &BusyError{Dir: dir, PID: readPID(path)}
	}
	if err != nil {
		return nil, fmt.Errorf("locking the state directory %s: %w", dir, err)
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("locking the state directory %s: %w", dir, err)
		}
	}
	return &Lock{f: f, path: path}, nil
}

// Release gives the lock up and clears the lock file's PID. Calling it more
// than once is harmless. It reports no error: closing the file releases the
// lock, and the operating system releases it at exit in any case.
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	_ = l.f.Truncate(0)
	_ = unlock(l.f, l.path)
	l.f = nil
}

var errBusy = errors.New("locked by another process")

func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
