package servicedesk_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/rest"
	"github.com/sfbridge/sfbridge/servicedesk"
	"github.com/sfbridge/sfbridge/state"
)

var (
	errKilled = errors.New("killed")
	restAll   = rest.QueryOptions{All: true}
)

// TestKilledAtRandomPointsTheFileHoldsEveryVersionOnce kills the watcher
// (an error from inside a state transaction, the file left as it is, the
// lease left held) at random points of a run with deletes, undeletes,
// closes, reopens, comments and late commits, restarts it, and checks
// that the NDJSON file holds each (Id, SystemModstamp) at most once and
// the last version of every Case and every comment.
func TestKilledAtRandomPointsTheFileHoldsEveryVersionOnce(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) { killedRun(t, seed) })
	}
}

func killedRun(t *testing.T, seed uint64) {
	t.Helper()
	d := newDesk(t)
	rng := rand.New(rand.NewPCG(seed, 17))
	var commits, killAt atomic.Int64
	st, err := state.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "crash.db"), state.Options{Clock: d.clk,
		BeforeCommit: func(context.Context) error {
			if commits.Add(1) == killAt.Load() {
				return errKilled
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	path := filepath.Join(t.TempDir(), "events.ndjson")
	gen := 0
	start := func() (*servicedesk.Watcher, *servicedesk.NDJSONSink) {
		gen++
		w, err := servicedesk.NewWatcher(servicedesk.WatchConfig{Client: d.client, Store: st, Org: "emu", Clock: d.clk,
			Since: d.clk.Now().Add(-time.Minute), Owner: fmt.Sprint("process ", gen)})
		if err != nil {
			t.Fatal(err)
		}
		s, err := servicedesk.OpenNDJSON(t.Context(), w, path)
		if err != nil {
			t.Fatal(err)
		}
		return w, s
	}
	w, s := start()
	var cases []string
	deleted := map[string]bool{}
	kills := 0
	for round := range 40 {
		// Some activity, some of it committed late.
		d.srv.Org.Store().SetCommitDelay(time.Duration(rng.IntN(3)) * 10 * time.Second)
		for range 1 + rng.IntN(3) {
			switch op := rng.IntN(6); {
			case op == 0 || len(cases) == 0:
				cases = append(cases, d.create("Case", map[string]any{"Subject": fmt.Sprint("round ", round)}))
			default:
				id := cases[rng.IntN(len(cases))]
				switch {
				case deleted[id]:
					if err := d.srv.Org.UndeleteRecord(t.Context(), "Case", id); err != nil {
						t.Fatal(err)
					}
					deleted[id] = false
				case op == 1:
					if err := d.srv.Org.Store().Delete(d.agent, "Case", id); err != nil {
						t.Fatal(err)
					}
					deleted[id] = true
				case op == 2:
					d.create("CaseComment", map[string]any{"ParentId": id, "CommentBody": fmt.Sprint("comment ", round)})
				default:
					d.update("Case", id, map[string]any{"Status": []string{"Working", "Closed", "Escalated", "New"}[rng.IntN(4)], "Priority": []string{"High", "Low"}[rng.IntN(2)]})
				}
			}
			d.clk.Advance(time.Duration(1+rng.IntN(900)) * time.Millisecond)
		}
		d.srv.Org.Store().SetCommitDelay(0)
		d.clk.Advance(5 * time.Second)
		if rng.IntN(3) == 0 {
			killAt.Store(commits.Load() + 1 + int64(rng.IntN(3)))
		}
		if _, err := w.Cycle(t.Context(), s.Write); err != nil {
			if !errors.Is(err, errKilled) {
				t.Fatalf("round %d: %v", round, err)
			}
			kills++
			if rng.IntN(2) == 0 {
				continue // a transient failure: the same process goes on
			}
			// kill -9: nothing is closed or released; the next process
			// waits for the lease to expire.
			_ = s.Close()
			d.clk.Advance(3 * time.Minute)
			w, s = start()
		}
	}
	d.clk.Advance(time.Minute)
	killAt.Store(0)
	if _, err := w.Cycle(t.Context(), s.Write); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	if kills == 0 {
		t.Fatal("the run was never killed")
	}

	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]servicedesk.Event{}
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		var e servicedesk.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if _, dup := seen[e.ID]; dup {
			t.Fatalf("event %s written twice", e.ID)
		}
		seen[e.ID] = e
	}
	// Every version of every Case was processed up to the last one, and
	// every event committed was delivered: no loss.
	for _, id := range cases {
		r, err := d.client.Query.Page(t.Context(), "SELECT SystemModstamp FROM Case WHERE Id = '"+id+"'", &restAll)
		if err != nil || len(r.Records) != 1 {
			t.Fatalf("reading case %s: %v", id, err)
		}
		text, _ := r.Records[0]["SystemModstamp"].(string)
		stamp, err := rest.ParseDateTime(text)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := st.Document(t.Context(), "emu", "servicedesk.cases.case", id)
		if err != nil || doc.Version != fmt.Sprint(stamp.UnixMilli()) {
			t.Errorf("case %s: last version %s, last processed %q (%v)", id, text, doc.Version, err)
		}
		if e, ok := seen[fmt.Sprintf("%s@%d", id, stamp.UnixMilli())]; !ok {
			t.Logf("case %s: its last version made no event (no tracked field changed, or it changed while deleted)", id)
		} else if e.CaseID != id {
			t.Errorf("event %s is about %s", e.ID, e.CaseID)
		}
	}
	if left, err := st.Outbox(t.Context(), state.OutboxQuery{Org: "emu", Topic: "servicedesk.cases.events"}); err != nil || len(left) != 0 {
		t.Fatalf("undelivered events at the end: %d (%v)", len(left), err)
	}
	t.Logf("seed %d: %d events, %d kills, %d cases", seed, len(seen), kills, len(cases))
}

// TestWatcherFollowsSimulatedAgents runs the emulator's simulated agents
// (updates, comments, closes, reopens, deletes, undeletes, new Cases) at
// 120 actions a minute against the sample org and a watcher polling every
// 30 s: each event is delivered once and every Case's last version is
// processed.
func TestWatcherFollowsSimulatedAgents(t *testing.T) {
	d := newDesk(t)
	if err := d.srv.Org.AddSampleRecords(3); err != nil {
		t.Fatal(err)
	}
	w := d.watcher(servicedesk.WatchConfig{Since: d.clk.Now()})
	var s sink
	if err := d.srv.Org.SetDeskActivity(emulator.DeskActivitySpec{RatePerMinute: 120, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		d.clk.Advance(30 * time.Second)
		d.cycle(w, &s)
	}
	if err := d.srv.Org.SetDeskActivity(emulator.DeskActivitySpec{}); err != nil {
		t.Fatal(err)
	}
	d.clk.Advance(30 * time.Second)
	d.cycle(w, &s)
	s.assertOnce(t)
	acts := d.srv.Org.DeskActivity().Actions
	types := map[string]int{}
	for _, e := range s.events {
		types[e.Type]++
	}
	if acts["failed"] != 0 || types["comment.created"] == 0 || types["comment.created"] > acts["comment.create"] ||
		types["case.closed"] == 0 || types["case.deleted"] == 0 || types["case.created"] == 0 {
		t.Fatalf("agents did %v; the watcher saw %v", acts, types)
	}
	for r, err := range d.client.Query.Records(t.Context(), "SELECT Id, SystemModstamp FROM Case WHERE SystemModstamp > "+rest.FormatDateTime(start), &restAll) {
		if err != nil {
			t.Fatal(err)
		}
		stamp, err := rest.ParseDateTime(r["SystemModstamp"].(string))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := d.store.Document(t.Context(), "emu", "servicedesk.cases.case", r.ID())
		if err != nil || doc.Version != fmt.Sprint(stamp.UnixMilli()) {
			t.Errorf("case %s changed at %s; the watcher's last version is %q (%v)", r.ID(), stamp, doc.Version, err)
		}
	}
	t.Logf("agents: %v; events: %v", acts, types)
}
