package servicedesk_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/emulator/data"
	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/rest"
	"github.com/sfbridge/sfbridge/servicedesk"
	"github.com/sfbridge/sfbridge/sftest"
	"github.com/sfbridge/sfbridge/state"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var start = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

type desk struct {
	t       testing.TB
	srv     *sftest.Server
	clk     *clock.Fake
	client  *rest.Client
	store   state.Store
	agent   context.Context // writes as an agent (not the integration user)
	agentID string
}

func full(string) data.ObjectAccess {
	return data.ObjectAccess{Read: true, Create: true, Edit: true, Delete: true}
}

func newDesk(tb testing.TB) *desk {
	tb.Helper()
	clk := clock.NewFake(start)
	srv := sftest.NewServerWith(tb, sftest.Options{Now: clk.Now})
	src, err := auth.NewTokenSource(auth.Config{ConsumerKey: srv.ClientID, Username: emulator.UserIntegration, PrivateKey: srv.Key, LoginURL: srv.URL, Clock: clk})
	if err != nil {
		tb.Fatal(err)
	}
	c, err := rest.New(src, rest.WithClock(clk), rest.WithRetry(rest.RetryPolicy{Sleep: func(context.Context, time.Duration) error { return nil }}))
	if err != nil {
		tb.Fatal(err)
	}
	st, err := state.Open(tb.Context(), "sqlite:"+filepath.Join(tb.TempDir(), "state.db"), state.Options{Clock: clk})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	agentID, ok := srv.Org.UserID("no-eventlogs@sfbridge.test")
	if !ok {
		tb.Fatal("no agent user in the default org")
	}
	agent := data.WithPrincipal(context.Background(), &data.Principal{UserID: agentID, OrgID: srv.Org.OrgID(), Object: full})
	return &desk{t: tb, srv: srv, clk: clk, client: c, store: st, agent: agent, agentID: string(agentID)}
}

func (d *desk) create(object string, fields map[string]any) string {
	d.t.Helper()
	id, err := d.srv.Org.Store().Create(d.agent, object, fields)
	if err != nil {
		d.t.Fatalf("create %s: %v", object, err)
	}
	return string(id)
}

func (d *desk) update(object, id string, fields map[string]any) {
	d.t.Helper()
	if err := d.srv.Org.Store().Update(d.agent, object, id, fields); err != nil {
		d.t.Fatalf("update %s %s: %v", object, id, err)
	}
}

func (d *desk) usage() int64 { return d.srv.Org.Summary(nil).APIUsage }

func (d *desk) watcher(cfg servicedesk.WatchConfig) *servicedesk.Watcher {
	d.t.Helper()
	cfg.Client, cfg.Store, cfg.Clock = d.client, d.store, d.clk
	if cfg.Org == "" {
		cfg.Org = "emu"
	}
	if cfg.Since.IsZero() {
		cfg.Since = start.Add(-time.Minute)
	}
	w, err := servicedesk.NewWatcher(cfg)
	if err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(func() { _ = w.Close(context.Background()) })
	return w
}

// sink collects delivered events and counts each id.
type sink struct {
	events []servicedesk.Event
	seen   map[string]int
	fail   int // fail this many deliveries first
}

func (s *sink) deliver(_ context.Context, evs []servicedesk.Event) error {
	if s.fail > 0 {
		s.fail--
		return errors.New("sink down")
	}
	if s.seen == nil {
		s.seen = map[string]int{}
	}
	for _, e := range evs {
		s.seen[e.ID]++
		s.events = append(s.events, e)
	}
	return nil
}

func (s *sink) types() []string {
	var out []string
	for _, e := range s.events {
		out = append(out, e.Type)
	}
	return out
}

func (s *sink) assertOnce(t *testing.T) {
	t.Helper()
	for id, n := range s.seen {
		if n != 1 {
			t.Errorf("event %s delivered %d times", id, n)
		}
	}
}

func (d *desk) cycle(w *servicedesk.Watcher, s *sink) servicedesk.Stats {
	d.t.Helper()
	st, err := w.Cycle(d.t.Context(), s.deliver)
	if err != nil {
		d.t.Fatal(err)
	}
	return st
}

func TestWatcherFollowsACaseThroughItsLife(t *testing.T) {
	d := newDesk(t)
	contact := d.create("Contact", map[string]any{"FirstName": "Ana", "LastName": "Smith", "Email": "ana.smith@example.com"})
	w := d.watcher(servicedesk.WatchConfig{})
	var s sink

	id := d.create("Case", map[string]any{"Subject": "VPN down", "ContactId": contact, "Origin": "Web"})
	d.clk.Advance(time.Second)
	d.cycle(w, &s)
	if got := s.types(); !slices.Equal(got, []string{"case.created"}) {
		t.Fatalf("after create: %v", got)
	}
	e := s.events[0]
	if e.CaseID != id || e.CaseNumber == "" || e.Contact.Name != "Ana Smith" || e.Contact.Email != "ana.smith@example.com" || e.Owner.ID != d.agentID || e.Owner.Name == "" || e.Status != "New" {
		t.Fatalf("created event %+v", e)
	}

	// Two updates in the same second, a poll between them.
	d.clk.Advance(100 * time.Millisecond)
	d.update("Case", id, map[string]any{"Priority": "High"})
	d.cycle(w, &s)
	d.clk.Advance(300 * time.Millisecond)
	d.update("Case", id, map[string]any{"Subject": "VPN down for everyone"})
	d.cycle(w, &s)
	if got := s.types(); !slices.Equal(got, []string{"case.created", "case.updated", "case.updated"}) {
		t.Fatalf("after same-second updates: %v", got)
	}
	if ch := s.events[1].Changed; len(ch) != 1 || ch["Priority"].From != "Medium" || ch["Priority"].To != "High" {
		t.Fatalf("first update changed %v", ch)
	}
	if ch := s.events[2].Changed; len(ch) != 1 || ch["Subject"].To != "VPN down for everyone" {
		t.Fatalf("second update changed %v", ch)
	}

	// Two updates in the same millisecond, a poll between them: the
	// second version is told apart by its content.
	d.update("Case", id, map[string]any{"Priority": "Low"})
	d.cycle(w, &s)
	d.update("Case", id, map[string]any{"Priority": "High"})
	d.cycle(w, &s)
	if n := len(s.events); n != 5 || s.events[3].ID == s.events[4].ID || !strings.Contains(s.events[4].ID, "~") ||
		s.events[4].Changed["Priority"].To != "High" || s.events[3].Time != s.events[4].Time {
		t.Fatalf("same-millisecond updates: %+v", s.events[3:])
	}
	d.cycle(w, &s) // and read again in the overlap, neither comes back
	if len(s.events) != 5 {
		t.Fatalf("a same-millisecond version came back: %v", s.types())
	}
	s.events = append(s.events[:3:3], s.events[5:]...)

	// Close, comment (by the agent and by the integration itself), reopen.
	d.clk.Advance(time.Second)
	d.update("Case", id, map[string]any{"Status": "Closed"})
	d.create("CaseComment", map[string]any{"ParentId": id, "CommentBody": "Fixed the tunnel", "IsPublished": true})
	if _, err := d.client.SObjects.Create(t.Context(), "CaseComment", map[string]any{"ParentId": id, "CommentBody": "Bot note", "IsPublished": false}); err != nil {
		t.Fatal(err)
	}
	d.clk.Advance(time.Second)
	d.update("Case", id, map[string]any{"Status": "Working"})
	d.cycle(w, &s)
	// The close was overwritten by the reopen before the poll: only the
	// visible version (reopened → Working, never seen closed) remains.
	got := s.types()[3:]
	if !slices.Equal(got, []string{"comment.created", "comment.created", "case.updated"}) {
		t.Fatalf("after close+comments+reopen in one poll: %v", got)
	}
	var own, agent *servicedesk.Comment
	for _, e := range s.events[3:5] {
		if e.Comment.Own {
			own = e.Comment
		} else {
			agent = e.Comment
		}
		if e.CaseNumber != s.events[0].CaseNumber || e.Contact.Email != "ana.smith@example.com" {
			t.Fatalf("comment event without its case: %+v", e)
		}
	}
	if own == nil || agent == nil || own.Body != "Bot note" || own.Public || !agent.Public || agent.Author.ID != d.agentID {
		t.Fatalf("comments: own %+v agent %+v", own, agent)
	}

	d.clk.Advance(time.Second)
	d.update("Case", id, map[string]any{"Status": "Closed"})
	d.cycle(w, &s)
	d.clk.Advance(time.Second)
	d.update("Case", id, map[string]any{"Status": "Working"})
	d.cycle(w, &s)
	if got := s.types()[6:]; !slices.Equal(got, []string{"case.closed", "case.reopened"}) {
		t.Fatalf("close then reopen: %v", got)
	}

	// Delete and undelete.
	d.clk.Advance(time.Second)
	if err := d.srv.Org.Store().Delete(d.agent, "Case", id); err != nil {
		t.Fatal(err)
	}
	d.cycle(w, &s)
	d.clk.Advance(time.Second)
	if err := d.srv.Org.UndeleteRecord(t.Context(), "Case", id); err != nil {
		t.Fatal(err)
	}
	d.cycle(w, &s)
	if got := s.types()[8:]; !slices.Equal(got, []string{"case.deleted", "case.undeleted"}) {
		t.Fatalf("delete then undelete: %v", got)
	}

	// Idle polls: nothing new, one API call each.
	before := d.usage()
	for range 3 {
		d.clk.Advance(30 * time.Second)
		if st := d.cycle(w, &s); st.Calls != 1 || st.Events != 0 {
			t.Fatalf("idle poll: %+v", st)
		}
	}
	if used := d.usage() - before; used != 3 {
		t.Fatalf("3 idle polls cost %d API calls, want 3", used)
	}
	if len(s.events) != 10 {
		t.Fatalf("events: %v", s.types())
	}
	s.assertOnce(t)
}

func TestWatcherFindsLateCommitsThatAWatermarkMisses(t *testing.T) {
	d := newDesk(t)
	careful := d.watcher(servicedesk.WatchConfig{Name: "careful"})
	naive := d.watcher(servicedesk.WatchConfig{Name: "naive", Overlap: time.Millisecond})
	var sc, sn sink

	d.srv.Org.Store().SetCommitDelay(20 * time.Second)
	late := d.create("Case", map[string]any{"Subject": "long transaction"})
	d.srv.Org.Store().SetCommitDelay(0)
	d.clk.Advance(5 * time.Second)
	early := d.create("Case", map[string]any{"Subject": "quick one"})
	d.clk.Advance(time.Second)
	d.cycle(careful, &sc)
	d.cycle(naive, &sn)
	d.clk.Advance(30 * time.Second) // the long transaction commits
	d.cycle(careful, &sc)
	d.cycle(naive, &sn)

	ids := func(s *sink) []string {
		var out []string
		for _, e := range s.events {
			out = append(out, e.CaseID)
		}
		return out
	}
	if got := ids(&sc); !slices.Equal(got, []string{early, late}) {
		t.Fatalf("careful watcher saw %v, want %v then %v", got, early, late)
	}
	if got := ids(&sn); !slices.Equal(got, []string{early}) {
		t.Fatalf("a watcher without overlap should miss the late commit as on a real org; saw %v", got)
	}
	sc.assertOnce(t)
}

func TestWatcherSurvivesFaultsAndRestartsWithoutLossOrRepeat(t *testing.T) {
	d := newDesk(t)
	var s sink
	w := d.watcher(servicedesk.WatchConfig{})
	var want []string
	for i := range 3 {
		want = append(want, d.create("Case", map[string]any{"Subject": fmt.Sprint("case ", i)}))
	}
	d.clk.Advance(time.Second)

	// 5xx on the composite poll, then a dropped connection.
	for _, action := range []string{emulator.FaultError, emulator.FaultReset} {
		if _, err := d.srv.Org.AddFault(emulator.FaultSpec{Path: "/services/data/*/composite", Action: action, Count: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Cycle(t.Context(), s.deliver); err == nil {
			t.Fatalf("%s: the poll did not fail", action)
		}
	}
	// The session is revoked: the client logs in again by itself.
	d.srv.Org.RevokeUserSessions(emulator.UserIntegration)
	d.cycle(w, &s)
	if len(s.events) != 3 {
		t.Fatalf("after faults: %v", s.types())
	}

	// A delivery that fails keeps the events in the outbox.
	want = append(want, d.create("Case", map[string]any{"Subject": "during the outage"}))
	d.clk.Advance(time.Second)
	s.fail = 1
	if _, err := w.Cycle(t.Context(), s.deliver); err == nil {
		t.Fatal("a failing sink must fail the cycle")
	}
	// Restart: a new watcher on the same state store.
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	w2 := d.watcher(servicedesk.WatchConfig{})
	want = append(want, d.create("Case", map[string]any{"Subject": "after the restart"}))
	d.clk.Advance(time.Second)
	d.cycle(w2, &s)
	var got []string
	for _, e := range s.events {
		got = append(got, e.CaseID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
	s.assertOnce(t)

	// A second watcher of the same org and name is refused while the
	// first holds the lease.
	other, err := servicedesk.NewWatcher(servicedesk.WatchConfig{Client: d.client, Store: d.store, Org: "emu", Clock: d.clk, Owner: "other"})
	if err != nil {
		t.Fatal(err)
	}
	var held *state.LeaseHeldError
	if _, err := other.Poll(t.Context()); !errors.As(err, &held) {
		t.Fatalf("second watcher: %v", err)
	}
}

func TestWatcherPagesThroughABacklogAndFilters(t *testing.T) {
	d := newDesk(t)
	var s sink
	w := d.watcher(servicedesk.WatchConfig{BatchSize: 200, Filter: map[string][]string{"Origin": {"Web"}}})
	for i := range 450 {
		d.create("Case", map[string]any{"Subject": fmt.Sprint("web ", i), "Origin": "Web"})
	}
	phone := d.create("Case", map[string]any{"Subject": "phone", "Origin": "Phone"})
	d.create("CaseComment", map[string]any{"ParentId": phone, "CommentBody": "not watched"})
	d.clk.Advance(time.Second)
	st := d.cycle(w, &s)
	// One identity call (the first poll only), the composite, two more pages.
	if st.Cases != 450 || st.Calls != 4 || len(s.events) != 450 {
		t.Fatalf("backlog poll: %+v, %d events", st, len(s.events))
	}
	for _, e := range s.events {
		if e.Type != servicedesk.CaseCreated || e.CaseID == phone {
			t.Fatalf("unexpected event %+v", e)
		}
	}
	s.assertOnce(t)
}

func TestRunStopsWithTheContextAndRetriesWithBackoff(t *testing.T) {
	d := newDesk(t)
	w := d.watcher(servicedesk.WatchConfig{})
	if _, err := d.srv.Org.AddFault(emulator.FaultSpec{Path: "/services/data/*/composite", Action: emulator.FaultError, Count: 1}); err != nil {
		t.Fatal(err)
	}
	d.create("Case", map[string]any{"Subject": "seen by Run"})
	d.clk.Advance(time.Second)
	ctx, cancel := context.WithCancel(t.Context())
	got := make(chan servicedesk.Event, 10)
	done := make(chan error, 1)
	go func() {
		done <- w.Run(ctx, 30*time.Second, func(_ context.Context, evs []servicedesk.Event) error {
			for _, e := range evs {
				got <- e
			}
			return nil
		})
	}()
	// The first cycle fails; Run waits for its backoff on the fake clock.
	for {
		if err := d.clk.BlockUntil(t.Context(), 1); err != nil {
			t.Fatal(err)
		}
		if len(got) > 0 {
			break
		}
		next, _ := d.clk.NextDeadline()
		d.clk.Set(next)
	}
	if e := <-got; e.Type != servicedesk.CaseCreated {
		t.Fatalf("Run delivered %+v", e)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
}

func TestNDJSONSinkWritesEachEventOnceAcrossCrashes(t *testing.T) {
	d := newDesk(t)
	path := filepath.Join(t.TempDir(), "events.ndjson")
	open := func() (*servicedesk.Watcher, *servicedesk.NDJSONSink) {
		w := d.watcher(servicedesk.WatchConfig{})
		s, err := servicedesk.OpenNDJSON(t.Context(), w, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return w, s
	}
	w, s := open()
	for i := range 3 {
		d.create("Case", map[string]any{"Subject": fmt.Sprint("case ", i)})
	}
	d.clk.Advance(time.Second)
	if _, err := w.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Crash after the file and its length were committed, before the
	// outbox was acknowledged: the batch comes again and is skipped.
	crash := errors.New("killed")
	if _, err := w.Deliver(t.Context(), func(ctx context.Context, evs []servicedesk.Event) error {
		if err := s.Write(ctx, evs); err != nil {
			return err
		}
		return crash
	}); !errors.Is(err, crash) {
		t.Fatal(err)
	}
	_ = s.Close()
	_ = w.Close(t.Context())
	w, s = open()
	if _, err := w.Cycle(t.Context(), s.Write); err != nil {
		t.Fatal(err)
	}
	// Crash in the middle of writing a batch: half a line on disk.
	d.create("Case", map[string]any{"Subject": "case 3"})
	d.clk.Advance(time.Second)
	if _, err := w.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	_ = w.Close(t.Context())
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"id":"half`); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	w, s = open()
	if _, err := w.Cycle(t.Context(), s.Write); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	seen := map[string]bool{}
	for _, l := range lines {
		var e servicedesk.Event
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if seen[e.ID] {
			t.Fatalf("event %s written twice", e.ID)
		}
		seen[e.ID] = true
	}
	if len(lines) != 4 {
		t.Fatalf("file holds %d events, want 4:\n%s", len(lines), b)
	}
}
