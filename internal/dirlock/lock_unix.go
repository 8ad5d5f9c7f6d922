//go:build unix

package dirlock

import (
	"errors"
	"os"
	"syscall"
)

// tryLock opens path and takes an exclusive flock on it without blocking.
func tryLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errBusy
		}
		return nil, err
	}
	return f, nil
}

// unlock releases the flock by closing the file; the file stays, so that
// the next process locks the same inode.
func unlock(f *os.File, _ string) error { return f.Close() }
