package inputfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestOpenRefusesFIFOWithoutBlocking(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "key.pem")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() { _, err := Read(fifo, 1<<20); done <- err }()
	// No writer ever opens the FIFO: a plain os.Open would block forever
	// and the test binary's -timeout would end the run.
	err := <-done
	if !errors.Is(err, ErrNotRegular) {
		t.Fatalf("err = %v, want ErrNotRegular", err)
	}
	if !strings.Contains(err.Error(), "a FIFO (named pipe)") || !strings.Contains(err.Error(), "use - to read standard input") {
		t.Fatalf("message %q does not say what and how", err)
	}
}

func TestOpenRefusesDirectoryAndDevice(t *testing.T) {
	for path, kind := range map[string]string{t.TempDir(): "a directory", os.DevNull: "a character device"} {
		_, err := Read(path, 10)
		var nr *NotRegularError
		if !errors.As(err, &nr) || nr.Kind != kind {
			t.Errorf("Read(%s) = %v, want %s", path, err, kind)
		}
	}
}

func TestReadRegularFileAndSymlink(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pass")
	if err := os.WriteFile(file, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{file, link} {
		got, err := Read(p, 100)
		if err != nil || string(got) != "secret\n" {
			t.Errorf("Read(%s) = %q, %v", p, got, err)
		}
	}
	if _, err := Read(file, 3); err == nil || !strings.Contains(err.Error(), "larger than 3 bytes") {
		t.Errorf("over-limit read: %v", err)
	}
	if _, tooLarge, err := ReadLimit(file, 3); err != nil || !tooLarge {
		t.Errorf("ReadLimit over limit = %v, %v", tooLarge, err)
	}
	if _, err := Read(filepath.Join(dir, "missing"), 3); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
