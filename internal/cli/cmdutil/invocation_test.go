package cmdutil

import (
	"os"
	"path/filepath"
	"testing"
)

func TestInvocation(t *testing.T) {
	dir := t.TempDir()
	write := func(p string) string {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("bin"), 0o700); err != nil {
			t.Fatal(err)
		}
		return p
	}
	installed := write(filepath.Join(dir, "bin", "sfbridge"))
	linked := filepath.Join(dir, "path", "sfbridge")
	if err := os.MkdirAll(filepath.Dir(linked), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(installed, linked); err != nil {
		t.Fatal(err)
	}
	other := write(filepath.Join(dir, "other", "sfbridge"))
	goRunTmp := write(filepath.Join(dir, "go-build2549658503", "b001", "exe", "sfbridge"))
	goRunCache := write(filepath.Join(dir, "cache", "0b", "0b79bacc696c959eae267af7f4eb13a16c38f6c4462d8e62c4886786616d7e18-d", "sfbridge"))
	built := write(filepath.Join(dir, "my build", "sfbridge"))

	for _, tc := range []struct {
		name, exe, onPath, want string
	}{
		{"the sfbridge on PATH is this program", installed, linked, "sfbridge"},
		{"go run, temporary directory, nothing on PATH", goRunTmp, "", GoRun},
		{"go run, build cache", goRunCache, "", GoRun},
		{"go run while another sfbridge is on PATH", goRunTmp, other, GoRun},
		{"a built binary that is not on PATH", other, "", other},
		{"a built binary in a path with a space", built, installed, "'" + built + "'"},
		{"executable unknown", "", linked, GoRun},
	} {
		if got := Invocation(tc.exe, tc.onPath); got != tc.want {
			t.Errorf("%s: Invocation(%q, %q) = %q, want %q", tc.name, tc.exe, tc.onPath, got, tc.want)
		}
	}
}
