package adminapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sfemu "github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
)

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	info := filepath.Join(dir, "info.json")
	if err := os.WriteFile(info, []byte(`{"base_url":"http://127.0.0.1:1/","admin_token":"emu_x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name             string
		t                Target
		base, token, err string
	}{
		{"info file", Target{InfoFile: info}, "http://127.0.0.1:1", "emu_x", ""},
		{"flags win over the file", Target{InfoFile: info, URL: "http://h:2", AdminToken: "tok"}, "http://h:2", "tok", ""},
		{"default file", Target{DefaultInfoFile: func() (string, error) { return info, nil }}, "http://127.0.0.1:1", "emu_x", ""},
		{"nothing", Target{}, "", "", "which emulator?"},
		{"not a URL", Target{URL: "ftp://x", AdminToken: "t"}, "", "", "is not an http(s) URL"},
		{"missing file", Target{InfoFile: filepath.Join(dir, "nope")}, "", "", "start `sfbridge serve --dev`"},
	}
	for _, c := range cases {
		base, token, err := c.t.Resolve()
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err = %v, want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || base != c.base || token != c.token {
			t.Errorf("%s: %q %q %v, want %q %q", c.name, base, token, err, c.base, c.token)
		}
	}
}

func TestDoSendsTheTokenAndTypesRefusals(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(sfemu.AdminTokenHeader) != "tok" {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"bad token"}`))
			return
		}
		if r.URL.Path == sfemu.AdminPrefix+"clock" {
			w.Write([]byte(`{"now":"x"}`))
			return
		}
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":"no such thing"}`))
	}))
	defer srv.Close()
	ctx := context.Background()
	b, err := Do(ctx, srv.Client(), Target{URL: srv.URL, AdminToken: "tok"}, Request{Method: "GET", Path: "clock"})
	if err != nil || string(b) != `{"now":"x"}` {
		t.Fatalf("Do = %q, %v", b, err)
	}
	_, err = Do(ctx, srv.Client(), Target{URL: srv.URL, AdminToken: "tok"}, Request{Method: "GET", Path: "nope"})
	var ae *Error
	if !errors.As(err, &ae) || ae.Status != 404 || ae.Message != "no such thing" {
		t.Fatalf("refusal = %#v", err)
	}
	_, err = Do(ctx, srv.Client(), Target{URL: srv.URL, AdminToken: "wrong"}, Request{Method: "GET", Path: "clock"})
	if err == nil || !strings.Contains(err.Error(), "use its own --info-file") {
		t.Fatalf("401 = %v", err)
	}
	srv.Close()
	_, err = Do(ctx, nil, Target{URL: srv.URL, AdminToken: "tok"}, Request{Method: "GET", Path: "clock"})
	if code := exitcode.Of(err); code != exitcode.Unreachable {
		t.Fatalf("unreachable: %v (code %v)", err, code)
	}
}
