// Package inputfile opens the files a user names as input (keys, keystores,
// password and token files, configs) without ever blocking on them.
//
// Opening a FIFO for reading blocks until a writer appears, and a read from a
// character device may never end; a process stuck there ignores its context.
// Open refuses anything that is not a regular file before opening it, and
// checks again on the opened descriptor, so a path swapped between the two
// checks is refused too.
package inputfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// ErrNotRegular is matched (errors.Is) by the error for a path that names a
// FIFO, socket, device or directory.
var ErrNotRegular = errors.New("not a regular file")

// NotRegularError says which path was refused and what it was.
type NotRegularError struct {
	Path string
	Kind string // "a FIFO (named pipe)", "a directory", …
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s is %s, not a regular file: give the file itself (for a secret from a pipe, use - to read standard input)", e.Path, e.Kind)
}

// Is makes errors.Is(err, ErrNotRegular) true.
func (e *NotRegularError) Is(target error) bool { return target == ErrNotRegular }

// Open opens path for reading if it is a regular file (a symlink to one is
// followed).
func Open(path string) (*os.File, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := check(path, fi.Mode()); err != nil {
		return nil, err
	}
	// O_NONBLOCK: if the path became a FIFO after Stat, open still returns
	// at once and the Stat below refuses it.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	fi, err = f.Stat()
	if err == nil {
		err = check(path, fi.Mode())
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// ReadLimit reads at most limit bytes of the regular file at path. It
// returns the bytes and whether the file held more than limit.
func ReadLimit(path string, limit int64) (data []byte, tooLarge bool, err error) {
	f, err := Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	data, err = io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(data)) > limit {
		return data[:limit], true, nil
	}
	return data, false, nil
}

// Read reads the whole regular file at path, refusing one larger than
// limit bytes.
func Read(path string, limit int64) ([]byte, error) {
	data, tooLarge, err := ReadLimit(path, limit)
	if err != nil {
		return nil, err
	}
	if tooLarge {
		return nil, fmt.Errorf("%s is larger than %d bytes: is it the right file?", path, limit)
	}
	return data, nil
}

func check(path string, m fs.FileMode) error {
	if m.IsRegular() {
		return nil
	}
	kind := "not a regular file"
	switch {
	case m.IsDir():
		kind = "a directory"
	case m&fs.ModeNamedPipe != 0:
		kind = "a FIFO (named pipe)"
	case m&fs.ModeSocket != 0:
		kind = "a socket"
	case m&fs.ModeCharDevice != 0:
		kind = "a character device"
	case m&fs.ModeDevice != 0:
		kind = "a device"
	}
	return &NotRegularError{Path: path, Kind: kind}
}
