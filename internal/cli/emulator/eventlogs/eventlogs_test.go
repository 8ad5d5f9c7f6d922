package eventlogs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sfemu "github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/sftest"
)

func newFactory() (*factory.Factory, *bytes.Buffer) {
	ios, _, out, _ := iostreams.Test()
	return factory.New(ios, func(string) string { return "" }, "test"), out
}

// execute runs the command line against s and returns its output.
func execute(t *testing.T, s *sftest.Server, infoFile string, args ...string) (string, error) {
	t.Helper()
	f, out := newFactory()
	cmd := NewCmd(f, func(ctx context.Context, o *Options) error {
		o.HTTPClient = s.Client()
		return run(ctx, o)
	})
	cmd.SetArgs(append(args, "--info-file", infoFile))
	cmd.SetOut(out)
	cmd.SetErr(out)
	err := cmd.ExecuteContext(t.Context())
	return out.String(), err
}

func TestEventLogsCommands(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	s := sftest.NewServerWith(t, sftest.Options{Now: func() time.Time { return now }})
	info := filepath.Join(t.TempDir(), "emu.json")
	b, _ := json.Marshal(map[string]string{"base_url": s.URL, "admin_token": s.AdminToken})
	if err := os.WriteFile(info, b, 0o600); err != nil {
		t.Fatal(err)
	}

	out, err := execute(t, s, info, "add", "--type", "Login", "--rows", "42", "--log-date", "2026-12-04T08:00:00Z", "--created-date", "2026-12-04T09:30:00Z")
	if err != nil {
		t.Fatal(err)
	}
	var added sfemu.EventLogFileInfo
	if err := json.Unmarshal([]byte(out), &added); err != nil || added.Rows != 42 || added.Sequence != 1 || added.EventType != "Login" {
		t.Fatalf("add: %v %s", err, out)
	}
	if _, err := execute(t, s, info, "late", added.ID, "--rows", "5"); err != nil {
		t.Fatal(err)
	}
	if _, err := execute(t, s, info, "fault", "--kind", "reset", "--after-bytes", "1000"); err != nil {
		t.Fatal(err)
	}
	out, err = execute(t, s, info, "list")
	if err != nil {
		t.Fatal(err)
	}
	var files []sfemu.EventLogFileInfo
	if err := json.Unmarshal([]byte(out), &files); err != nil || len(files) != 2 || files[1].Sequence != 2 {
		t.Fatalf("list: %v %s", err, out)
	}
	if _, err := execute(t, s, info, "settings", "--hourly=false"); err != nil {
		t.Fatal(err)
	}
	out, err = execute(t, s, info, "settings")
	if err != nil || !strings.Contains(out, `"hourly": false`) {
		t.Fatalf("settings: %v %s", err, out)
	}
	_, err = execute(t, s, info, "expire", "0ATxx0000099999AAA")
	var ae *Error
	if !errors.As(err, &ae) || ae.Status != 404 {
		t.Fatalf("expire unknown: %v", err)
	}
	if _, err := execute(t, s, info, "add"); err == nil || !strings.Contains(err.Error(), "--type") {
		t.Fatalf("add without --type: %v", err)
	}
}
