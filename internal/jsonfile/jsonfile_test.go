package jsonfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "info.json")
	// A file already there, readable by others, and a stale temporary file
	// do not loosen the new file's permissions.
	for _, f := range []string{p, p + ".tmp"} {
		if err := os.WriteFile(f, []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
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
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Fatalf("temporary file left behind: %v", ents)
	}
	if err := Write(filepath.Join(t.TempDir(), "missing", "x.json"), 1, 0o600); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
	if err := Write(p, func() {}, 0o600); err == nil {
		t.Fatal("unmarshalable value accepted")
	}
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	var v struct{ N int }
	if found, err := Read(filepath.Join(dir, "missing.json"), &v, "log in again"); found || err != nil {
		t.Fatalf("missing file: found %v, err %v", found, err)
	}
	p := filepath.Join(dir, "p.json")
	if err := os.WriteFile(p, []byte(`{"N": 7}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if found, err := Read(p, &v, "log in again"); !found || err != nil || v.N != 7 {
		t.Fatalf("Read = %v %v %+v", found, err, v)
	}
	if err := os.WriteFile(p, []byte(`{"N":`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Read(p, &v, "log in again")
	if err == nil || !strings.Contains(err.Error(), "is not valid JSON") || !strings.HasSuffix(err.Error(), "fix or delete it and log in again") {
		t.Fatalf("bad JSON: %v", err)
	}
}
