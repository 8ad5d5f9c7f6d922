package jsonfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	p := filepath.Join(t.TempDir(), "info.json")
	if err := Write(p, map[string]any{"url": "http://127.0.0.1:1", "n": 2}, 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "{\n  \"n\": 2,\n  \"url\": \"http://127.0.0.1:1\"\n}\n" {
		t.Fatalf("content %q", b)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	if _, err := os.Stat(p + ".tmp"); !os.IsNotExist(err) {
		t.Fatal("temporary file left behind")
	}
	if err := Write(filepath.Join(t.TempDir(), "missing", "x.json"), 1, 0o600); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
	if err := Write(p, func() {}, 0o600); err == nil {
		t.Fatal("unmarshalable value accepted")
	}
}
