//go:build !unix

package dirlock

import (
	"errors"
	"io/fs"
	"os"
)

// tryLock creates path exclusively: where flock is not available the lock
// is the file's existence. A process that dies without Release leaves it
// behind, and the BusyError names the PID to check before deleting it.
func tryLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, errBusy
	}
	return f, err
}

func unlock(f *os.File, path string) error {
	err := f.Close()
	if rerr := os.Remove(path); err == nil {
		err = rerr
	}
	return err
}
