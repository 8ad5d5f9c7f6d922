package state

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in   string
		want Location
		err  string
	}{
		{in: "sqlite:state.db", want: Location{Engine: "sqlite", Path: "state.db", Synchronous: "normal", BusyTimeout: DefaultBusyTimeout}},
		{in: "sqlite:/var/lib/sfbridge/state.db?synchronous=full&busy_timeout=2s", want: Location{Engine: "sqlite", Path: "/var/lib/sfbridge/state.db", Synchronous: "full", BusyTimeout: 2 * time.Second}},
		{in: "postgres://u:secret@db:5432/sf?sslmode=disable", want: Location{Engine: "postgres", DSN: "postgres://u:secret@db:5432/sf?sslmode=disable"}},
		{in: "postgresql://db/sf", want: Location{Engine: "postgres", DSN: "postgresql://db/sf"}},
		{in: "", err: "empty"},
		{in: "mysql://db/x", err: "unknown engine"},
		{in: "sqlite:", err: "no file path"},
		{in: "sqlite://x.db", err: "not sqlite://"},
		{in: "sqlite:x.db?synchronous=off", err: "synchronous must be"},
		{in: "sqlite:x.db?busy_timeout=forever", err: "busy_timeout"},
		{in: "sqlite:x.db?cache=shared", err: "unknown parameter cache"},
		{in: "postgres:///nohost", err: "no host"},
	}
	for _, tc := range tests {
		got, err := ParseURL(tc.in)
		if tc.err != "" {
			var ue *URLError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseURL(%q) err = %v, want URLError containing %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestURLErrorHidesPassword(t *testing.T) {
	err := &URLError{URL: "postgres://u:hunter2@db/x", Reason: "test"}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("message shows the password: %s", err)
	}
	if got := Redacted("postgres://u:hunter2@db/x"); strings.Contains(got, "hunter2") || !strings.Contains(got, "u:xxxxx@db") {
		t.Fatalf("Redacted = %q", got)
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"sqlite:a.db", "sqlite:/x?synchronous=full&busy_timeout=1s", "postgres://u:p@h:5/d?search_path=s", "sqlite:%zz?", "postgresql://[::1]/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		loc, err := ParseURL(s)
		if err != nil {
			var ue *URLError
			if !errors.As(err, &ue) {
				t.Fatalf("ParseURL(%q) returned %T, want *URLError", s, err)
			}
			_ = err.Error()
			return
		}
		switch loc.Engine {
		case "sqlite":
			if loc.Path == "" || (loc.Synchronous != "normal" && loc.Synchronous != "full") || loc.BusyTimeout < 0 {
				t.Fatalf("ParseURL(%q) = %+v: accepted an unusable SQLite location", s, loc)
			}
		case "postgres":
			if loc.DSN != s {
				t.Fatalf("ParseURL(%q) changed the DSN to %q", s, loc.DSN)
			}
		default:
			t.Fatalf("ParseURL(%q) engine %q", s, loc.Engine)
		}
	})
}
