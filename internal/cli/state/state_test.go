package state

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	libstate "github.com/sfbridge/sfbridge/state"
	"github.com/sfbridge/sfbridge/state/statetest"
)

// The commands on both engines: inspect reports the checkpoints and the
// live lease, reset is refused while it is live and works with --force.
func TestInspectAndResetOnBothEngines(t *testing.T) {
	for _, eng := range []struct {
		name string
		url  func(testing.TB) string
	}{{"sqlite", statetest.SQLiteURL}, {"postgres", statetest.PostgresURL}} {
		t.Run(eng.name, func(t *testing.T) {
			url := eng.url(t)
			now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			st, err := libstate.Open(t.Context(), url, libstate.Options{Clock: clock.NewFake(now)})
			if err != nil {
				t.Fatal(err)
			}
			l, err := st.AcquireLease(t.Context(), libstate.PipelineLease("acme", "cases"), "replica-7", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.Commit(t.Context(), libstate.Commit{Key: libstate.CheckpointKey{Org: "acme", Pipeline: "cases", Key: "watermark"},
				Value: []byte("2026-03-01T11:59:00Z"), Fence: libstate.FenceOf(l)}); err != nil {
				t.Fatal(err)
			}
			st.Close()

			ios, _, stdout, stderr := iostreams.Test()
			f := factory.New(ios, func(string) string { return "" }, "test")
			f.Now = func() time.Time { return now.Add(10 * time.Second) }
			run := func(args ...string) error {
				stdout.Reset()
				stderr.Reset()
				cmd := NewCmd(f)
				cmd.SetArgs(args)
				cmd.SetOut(stdout)
				cmd.SetErr(stderr)
				return cmd.ExecuteContext(t.Context())
			}
			if err := run("inspect", "--state", url, "--json"); err != nil {
				t.Fatal(err)
			}
			var r Report
			if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
				t.Fatalf("inspect --json: %v\n%s", err, stdout)
			}
			if r.Engine != eng.name || r.SchemaVersion != libstate.LatestSchemaVersion(eng.name) || len(r.Checkpoints) != 1 ||
				r.Checkpoints[0].Value != "2026-03-01T11:59:00Z" || len(r.Leases) != 1 || !r.Leases[0].Live || r.Leases[0].Owner != "replica-7" {
				t.Fatalf("report = %+v", r)
			}
			err = run("reset", "--state", url, "--org", "acme", "--pipeline", "cases")
			if err == nil || !strings.Contains(err.Error(), "held by replica-7") {
				t.Fatalf("reset under a live lease: err = %v", err)
			}
			if err := run("reset", "--state", url, "--org", "acme", "--pipeline", "cases", "--force"); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(stderr.String(), "Deleted 1 checkpoints of acme/cases.") {
				t.Fatalf("stderr = %q", stderr)
			}
			if err := run("inspect", "--state", url); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(stdout.String(), "Checkpoints:\n  none\n") || !strings.Contains(stdout.String(), "held by replica-7 (token 1) for 50s more") {
				t.Fatalf("inspect after reset:\n%s", stdout)
			}
		})
	}
}
