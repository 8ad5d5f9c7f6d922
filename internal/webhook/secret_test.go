package webhook

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func writeSecret(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "webhook.secret")
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // umask may have narrowed it
		t.Fatal(err)
	}
	return p
}

func TestLoadSecret(t *testing.T) {
	const s = "0123456789abcdef0123"
	for _, content := range []string{s, s + "\n", s + "\r\n"} {
		got, err := LoadSecret(writeSecret(t, content, 0o600))
		if err != nil {
			t.Fatalf("LoadSecret(%q): %v", content, err)
		}
		if string(got) != s {
			t.Errorf("LoadSecret(%q) = %q; want %q", content, got, s)
		}
	}
	// Only one newline is trimmed: the rest is the secret.
	if got, err := LoadSecret(writeSecret(t, " "+s+" \n", 0o400)); err != nil || string(got) != " "+s+" " {
		t.Errorf("LoadSecret with spaces = %q, %v; want the spaces kept", got, err)
	}
}

func TestLoadSecretRefuses(t *testing.T) {
	const s = "0123456789abcdef0123"
	var sfe *SecretFileError
	_, err := LoadSecret(writeSecret(t, "short\n", 0o600))
	if !errors.As(err, &sfe) || !strings.Contains(err.Error(), "5 bytes") {
		t.Errorf("short secret: %v; want a SecretFileError naming its length", err)
	}
	if strings.Contains(err.Error(), "short") {
		t.Errorf("the error shows the secret: %v", err)
	}
	_, err = LoadSecret(filepath.Join(t.TempDir(), "missing"))
	if !errors.As(err, &sfe) || !strings.Contains(err.Error(), "openssl rand") {
		t.Errorf("missing file: %v; want a SecretFileError saying how to make one", err)
	}
	_, err = LoadSecret(t.TempDir())
	if !errors.As(err, &sfe) {
		t.Errorf("a directory: %v; want a SecretFileError", err)
	}
	if runtime.GOOS == "windows" {
		return
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o660} {
		p := writeSecret(t, s, mode)
		_, err := LoadSecret(p)
		if !errors.As(err, &sfe) || !strings.Contains(err.Error(), "chmod 600 "+p) {
			t.Errorf("mode %04o: %v; want a SecretFileError with the chmod fix", mode, err)
		}
		if err != nil && strings.Contains(err.Error(), s) {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
}

func TestFilter(t *testing.T) {
	f, err := newFilter([]string{"case.*", "knowledge.published"})
	if err != nil {
		t.Fatal(err)
	}
	for typ, want := range map[string]bool{
		"case.created": true, "case.comment.x": true, "case.": false, "cases.created": false, "case": false,
		"knowledge.published": true, "knowledge.updated": false, "": false,
	} {
		if got := f.match(typ); got != want {
			t.Errorf("match(%q) = %v; want %v", typ, got, want)
		}
	}
	all, _ := newFilter(nil)
	star, _ := newFilter([]string{"*"})
	if !all.match("x") || !star.match("") {
		t.Error("an empty filter and * must match every type")
	}
	for _, bad := range []string{"", "case*", "*.created", "ca*e.*"} {
		if _, err := newFilter([]string{bad}); err == nil {
			t.Errorf("newFilter(%q) accepted it", bad)
		}
	}
}
