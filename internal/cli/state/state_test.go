package state

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/webhook"
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

// dead-letters lists what the webhook deliverer gave up on, per org and
// newest first, in text and whole in JSON, and says when there is none.
func TestDeadLettersListsWhatWasGivenUp(t *testing.T) {
	url := statetest.SQLiteURL(t)
	st, err := libstate.Open(t.Context(), url, libstate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dead := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var docs []libstate.Document
	for i, d := range []struct {
		org, id string
		status  int
	}{{"acme", "ev-1", 500}, {"acme", "ev-2", 0}, {"beta", "ev-9", 410}} {
		dl := webhook.DeadLetter{ID: d.id, Type: "case.updated", Topic: "cases.events", Seq: int64(i + 1), DeadAt: dead.Add(time.Duration(i) * time.Minute),
			Attempts: 3, LastStatus: d.status, Error: "the receiver failed", Payload: json.RawMessage(`{"id":"` + d.id + `"}`)}
		data, _ := json.Marshal(dl)
		docs = append(docs, libstate.Document{Org: d.org, Kind: webhook.KindDeadLetter, ID: d.id, Data: data, UpdatedAt: dl.DeadAt})
	}
	docs = append(docs, libstate.Document{Org: "acme", Kind: "case", ID: "500x", Data: []byte(`{}`)})
	if err := st.PutDocuments(t.Context(), docs); err != nil {
		t.Fatal(err)
	}
	st.Close()

	ios, _, stdout, stderr := iostreams.Test()
	f := factory.New(ios, func(string) string { return "" }, "test")
	run := func(args ...string) error {
		stdout.Reset()
		stderr.Reset()
		cmd := NewCmd(f)
		cmd.SetArgs(append([]string{"dead-letters", "--state", url}, args...))
		cmd.SetOut(stdout)
		cmd.SetErr(stderr)
		return cmd.ExecuteContext(t.Context())
	}
	if err := run(); err != nil {
		t.Fatal(err)
	}
	want := "2026-03-01T12:01:00Z  acme  ev-2  case.updated  3 attempts, no answer: the receiver failed\n" +
		"2026-03-01T12:00:00Z  acme  ev-1  case.updated  3 attempts, HTTP 500: the receiver failed\n" +
		"2026-03-01T12:02:00Z  beta  ev-9  case.updated  3 attempts, HTTP 410: the receiver failed\n"
	if stdout.String() != want {
		t.Fatalf("dead-letters:\n%s\nwant:\n%s", stdout, want)
	}
	if err := run("--org", "acme", "--limit", "1", "--json"); err != nil {
		t.Fatal(err)
	}
	var got []DeadLetter
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout)
	}
	var payload struct{ ID string }
	if len(got) == 1 {
		_ = json.Unmarshal(got[0].Payload, &payload)
	}
	if len(got) != 1 || got[0].Org != "acme" || got[0].ID != "ev-2" || payload.ID != "ev-2" || got[0].Topic != "cases.events" {
		t.Fatalf("--org acme --limit 1 --json = %+v", got)
	}
	if err := run("--org", "gamma"); err != nil || stdout.Len() != 0 || !strings.Contains(stderr.String(), "no dead letters") {
		t.Fatalf("an org without dead letters: %v, stdout %q, stderr %q", err, stdout, stderr)
	}
	if err := run("--limit", "0"); err == nil {
		t.Fatal("--limit 0 was accepted")
	}

	// redrive puts named dead letters back in the journal and marks them;
	// --all takes the rest of the org's; an unknown id writes nothing.
	redrive := func(args ...string) error {
		stdout.Reset()
		stderr.Reset()
		cmd := NewCmd(f)
		cmd.SetArgs(append([]string{"redrive", "--state", url}, args...))
		cmd.SetOut(stdout)
		cmd.SetErr(stderr)
		return cmd.ExecuteContext(t.Context())
	}
	for _, bad := range [][]string{{"ev-1"}, {"--org", "acme"}, {"--org", "acme", "--all", "ev-1"}} {
		if err := redrive(bad...); exitcode.Of(err) != exitcode.Usage {
			t.Errorf("redrive %q: %v, want a usage error", bad, err)
		}
	}
	if err := redrive("--org", "acme", "ev-1", "ev-404"); err == nil || !strings.Contains(err.Error(), `no dead letter with event id "ev-404"`) {
		t.Fatalf("redrive of an unknown id: %v", err)
	}
	if err := redrive("--org", "acme", "ev-1"); err != nil || !strings.Contains(stdout.String(), "ev-1  case.updated  sent again") {
		t.Fatalf("redrive ev-1: %v\n%s", err, stdout)
	}
	if err := run("--org", "acme"); err != nil || !strings.Contains(stdout.String(), "ev-1  case.updated  3 attempts, HTTP 500: the receiver failed (sent again 20") {
		t.Fatalf("dead-letters after a redrive: %v\n%s", err, stdout)
	}
	if err := redrive("--org", "acme", "--all", "--json"); err != nil {
		t.Fatal(err)
	}
	got = nil
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil || len(got) != 1 || got[0].ID != "ev-2" || got[0].RedrivenAt.IsZero() {
		t.Fatalf("redrive --all: %v, %+v (want ev-2 only: ev-1 was sent again already)", err, got)
	}
	st, err = libstate.Open(t.Context(), url, libstate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.Outbox(t.Context(), libstate.OutboxQuery{Org: "acme", Topic: webhook.TopicRedrive})
	if err != nil || len(recs) != 2 || string(recs[0].Payload) != `{"id":"ev-1"}` || string(recs[1].Payload) != `{"id":"ev-2"}` {
		t.Fatalf("journal %s: %+v, %v; want ev-1 then ev-2 with their payloads", webhook.TopicRedrive, recs, err)
	}
}
