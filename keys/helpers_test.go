package keys

import (
	"bytes"
	"crypto/rsa"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// requireTool returns the path of a command-line tool. Without it the test
// is skipped on a developer machine and fails under CI, where the tools are
// part of the environment the interop claims rest on.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed, and CI is set: install it (the interop tests need the real tool)", name)
		}
		t.Skipf("%s is not installed; skipping (set CI to make this a failure)", name)
	}
	return p
}

// run runs a tool in dir and returns its stdout; a failure fails the test.
func run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	requireTool(t, name)
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// testKey generates a fresh 2048-bit key.
func testKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := GenerateKey(2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testPair(t *testing.T, subject string, days int, now time.Time) (*rsa.PrivateKey, []byte, []byte) {
	t.Helper()
	k := testKey(t)
	c, err := NewSelfSignedCertificate(k, CertificateOptions{Subject: subject, Days: days, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := MarshalPrivateKeyPEM(k, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return k, keyPEM, MarshalCertificatesPEM(c)
}

// wantErr asserts err is a *Error wrapping sentinel whose message names the
// input and contains every fragment, and never the secret.
func wantErr(t *testing.T, err, sentinel error, name string, secret string, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", sentinel)
	}
	if !errors.Is(err, sentinel) {
		t.Fatalf("got %v, want errors.Is(%v)", err, sentinel)
	}
	var ke *Error
	if !errors.As(err, &ke) {
		t.Fatalf("got %T, want *keys.Error", err)
	}
	msg := err.Error()
	if name != "" && !strings.Contains(msg, name) {
		t.Errorf("error %q does not name %q", msg, name)
	}
	if secret != "" && strings.Contains(msg, secret) {
		t.Errorf("error %q contains the secret", msg)
	}
	if ke.Fix == "" {
		t.Errorf("error %q has no fix", msg)
	}
	for _, f := range fragments {
		if !strings.Contains(msg, f) {
			t.Errorf("error %q does not contain %q", msg, f)
		}
	}
}
