package daemon

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/state"
)

func fakeStore(t *testing.T, clk clock.Clock) state.Store {
	t.Helper()
	st, err := state.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "s.db"), state.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func testOrgEnv(clk clock.Clock, st state.Store, owner string) *OrgEnv {
	ready := make(chan struct{})
	close(ready)
	return &OrgEnv{Alias: "acme", Store: st, Owner: owner, LeaseTTL: 30 * time.Second, RetryInterval: time.Second,
		Clock: clk, Logger: slog.New(slog.DiscardHandler), Metrics: NewMetrics(), sessionReady: ready}
}

// A replica paused past its lease (SIGSTOP, a frozen VM) resumes to find
// another owner holding it: its renewal fails, its work is stopped, it
// stands by for the lease again, and a commit under its old fence is
// refused.
func TestPausedPipelineStopsAndCommitsNothing(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	st := fakeStore(t, clk)
	fences := make(chan state.Fence, 1)
	p := newPipeline(testOrgEnv(clk, st, "replica-a"), "cases", state.PipelineLease("acme", "cases"), nil,
		func(ctx context.Context, fence state.Fence, _ *pipeline) error {
			fences <- fence
			<-ctx.Done()
			return nil
		})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	fence := <-fences
	// The work and the renewer are both waiting; nothing renews while the
	// clock jumps past the TTL, as when the process is stopped, and
	// another replica takes the expired lease meanwhile.
	if err := clk.BlockUntil(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	clk.Jump(31 * time.Second) // paused: no timer fires before B acquires
	if _, err := st.AcquireLease(t.Context(), fence.Lease, "replica-b", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	// The paused replica's renewer wakes, fails, stops the work; the
	// pipeline stands by for the lease again, naming the new holder.
	waitFor(t, "the paused pipeline to stand by", func() bool {
		clk.Advance(time.Second)
		return p.Health().State == StateStandby
	})
	if s := p.Status(clk.Now()); s.Holder != "replica-b" || s.Errors != 1 || !strings.Contains(s.LastError, "lost its lease") {
		t.Fatalf("status after losing the lease: %+v", s)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	var err error
	_, err = st.Commit(t.Context(), state.Commit{Key: state.CheckpointKey{Org: "acme", Pipeline: "cases", Key: "w"}, Value: []byte("{}"), Fence: fence,
		Outbox: []state.OutboxRecord{{Org: "acme", Topic: TopicCases, Payload: []byte(`{"id":"stale"}`)}}})
	if !errors.Is(err, state.ErrFenced) {
		t.Fatalf("a commit under the paused replica's fence: %v, want refused", err)
	}
	if recs, _ := st.Outbox(t.Context(), state.OutboxQuery{Org: "acme", Topic: TopicCases}); len(recs) != 0 {
		t.Fatalf("stale records committed: %v", recs)
	}
}

// A pipeline whose lease another replica holds stands by, naming the
// holder, and takes over once the holder releases it.
func TestStandbyTakesOverAReleasedLease(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	st := fakeStore(t, clk)
	held, err := st.AcquireLease(t.Context(), state.PipelineLease("acme", "knowledge"), "replica-b", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var worked atomic.Bool
	p := newPipeline(testOrgEnv(clk, st, "replica-a"), "knowledge", held.Name, nil, func(ctx context.Context, _ state.Fence, p *pipeline) error {
		worked.Store(true)
		p.done(1, "ok")
		<-ctx.Done()
		return nil
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	waitFor(t, "standby", func() bool { return p.Health().State == StateStandby })
	if s := p.Status(clk.Now()); s.Holder != "replica-b" || s.State != StateStandby || worked.Load() {
		t.Fatalf("status while standing by: %+v", s)
	}
	if err := st.ReleaseLease(t.Context(), held); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the takeover", func() bool {
		clk.Advance(time.Second)
		return p.Health().State == StateRunning
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	// Stopping gave the lease back at once.
	if _, err := st.AcquireLease(t.Context(), held.Name, "replica-c", time.Minute); err != nil {
		t.Fatalf("the lease was not released: %v", err)
	}
}

// Calls through a pipeline's budget transport wait for room and never
// exceed the budget.
func TestBudgetTransportWaitsAndNeverExceeds(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { calls.Add(1) }))
	t.Cleanup(srv.Close)
	b := NewBudgetFor(clk, 0.02, "pipeline cases")
	b.ObserveLimit(100) // 2 calls a day
	var waits atomic.Int32
	c := &http.Client{Transport: budgetTransport(b, clk, func(time.Duration) { waits.Add(1) }, http.DefaultTransport)}
	get := func() error {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	for range 2 {
		if err := get(); err != nil {
			t.Fatal(err)
		}
	}
	third := make(chan error, 1)
	go func() { third <- get() }()
	waitFor(t, "the third call to wait", func() bool { return waits.Load() > 0 })
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d calls went out, budget 2", n)
	}
	if over, why := b.Over(); !over || why == "" {
		t.Fatalf("Over = %v %q", over, why)
	}
	for range 24 * 60 {
		clk.Advance(time.Minute)
		select {
		case err := <-third:
			if err != nil || calls.Load() != 3 {
				t.Fatalf("third call: %v, %d calls", err, calls.Load())
			}
			return
		default:
		}
		if clk.Now().Sub(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)) < 24*time.Hour && calls.Load() > 2 {
			t.Fatal("a call went out before the window had room")
		}
	}
	select {
	case err := <-third:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the third call never went out after a day")
	}
}

// The janitor removes journal records older than the retention, in every
// topic of its org, and keeps the rest and other orgs'.
func TestSweepJournal(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	st := fakeStore(t, clk)
	ctx := t.Context()
	lease, err := st.AcquireLease(ctx, "w", "me", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	write := func(org, topic string, n int) {
		t.Helper()
		var out []state.OutboxRecord
		for range n {
			out = append(out, state.OutboxRecord{Org: org, Topic: topic, Payload: []byte(`{}`), CreatedAt: clk.Now()})
		}
		key := state.CheckpointKey{Org: org, Pipeline: topic, Key: "k"}
		var expect int64
		if cp, err := st.Checkpoint(ctx, key); err == nil {
			expect = cp.Version
		}
		if _, err := st.Commit(ctx, state.Commit{Key: key, Expect: expect, Value: []byte("1"), Fence: state.FenceOf(lease), Outbox: out}); err != nil {
			t.Fatal(err)
		}
	}
	write("acme", TopicCases, 600)
	write("acme", "handoff.h1", 3)
	write("globex", TopicCases, 2)
	clk.Advance(2 * time.Hour)
	if lease, err = st.AcquireLease(ctx, "w", "me", time.Hour); err != nil {
		t.Fatal(err)
	}
	write("acme", TopicCases, 4)
	n, err := sweepJournal(ctx, st, "acme", clk.Now().Add(-time.Hour))
	if err != nil || n != 603 {
		t.Fatalf("swept %d (%v), want 603", n, err)
	}
	for topic, want := range map[string]int{TopicCases: 4, "handoff.h1": 0} {
		if recs, _ := st.Outbox(ctx, state.OutboxQuery{Org: "acme", Topic: topic, Limit: 1000}); len(recs) != want {
			t.Errorf("acme %s keeps %d, want %d", topic, len(recs), want)
		}
	}
	if recs, _ := st.Outbox(ctx, state.OutboxQuery{Org: "globex", Topic: TopicCases}); len(recs) != 2 {
		t.Errorf("globex lost its records: %d", len(recs))
	}
}

// A pipeline's second pass comes after a random part of its interval, its
// phase, and the passes after it every interval: the pipelines of many
// orgs started together spread over the interval instead of polling in
// the same second, at the configured rate.
func TestEveryTakesARandomPhaseOnce(t *testing.T) {
	for _, tc := range []struct {
		rand  float64
		phase time.Duration
	}{{0.25, 7500 * time.Millisecond}, {0.9, 27 * time.Second}} {
		clk := clock.NewFake(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
		p := newPipeline(testOrgEnv(clk, fakeStore(t, clk), "replica-a"), "cases", state.PipelineLease("acme", "cases"), nil, nil)
		p.retry.Rand = func() float64 { return tc.rand }
		passes := make(chan time.Time, 10)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			done <- p.every(ctx, 30*time.Second, func(context.Context) (int, string, error) {
				passes <- clk.Now()
				return 0, "ok", nil
			})
		}()
		start := <-passes
		for i, wait := range []time.Duration{tc.phase, 30 * time.Second, 30 * time.Second} {
			if err := clk.BlockUntil(t.Context(), 1); err != nil {
				t.Fatal(err)
			}
			clk.Advance(wait - time.Millisecond)
			select {
			case at := <-passes:
				t.Fatalf("rand %v: pass %d at %v, before its wait of %v", tc.rand, i+2, at.Sub(start), wait)
			case <-time.After(20 * time.Millisecond):
			}
			before := clk.Now().Add(time.Millisecond).Sub(start)
			clk.Advance(time.Millisecond)
			select {
			case at := <-passes:
				if at.Sub(start) != before {
					t.Fatalf("rand %v: pass %d at %v, want %v", tc.rand, i+2, at.Sub(start), before)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("rand %v: no pass %d after its wait of %v", tc.rand, i+2, wait)
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("every = %v", err)
		}
	}
}

// A pipeline's API budget outlives the replica that spent it: the replica
// that takes the pipeline over counts the calls the last holder made in
// the last 24 hours, and a replica that takes it back does not count its
// own calls twice.
func TestBudgetSurvivesFailover(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC))
	st := fakeStore(t, clk)
	lease := state.PipelineLease("acme", "cases")
	// run holds the pipeline on replica owner with budget b, spends n
	// calls, and gives the lease back; it returns what b counted when the
	// work began.
	run := func(owner string, b *Budget, n int) int {
		t.Helper()
		began := make(chan int, 1)
		p := newPipeline(testOrgEnv(clk, st, owner), "cases", lease, b, func(ctx context.Context, _ state.Fence, _ *pipeline) error {
			used, _ := b.Used()
			for range n {
				if w := b.Reserve(); w != 0 {
					t.Errorf("%s: call refused (wait %s) after %d calls", owner, w, used)
				}
			}
			began <- used
			<-ctx.Done()
			return nil
		})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		used := <-began
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("%s: Run = %v", owner, err)
		}
		return used
	}
	a := NewBudgetFor(clk, 0.1, "pipeline cases")
	a.ObserveLimit(1000) // 100 calls a day for this pipeline
	if got := run("replica-a", a, 60); got != 0 {
		t.Fatalf("replica-a began with %d calls counted, want 0", got)
	}
	clk.Advance(time.Hour)
	b := NewBudgetFor(clk, 0.1, "pipeline cases")
	b.ObserveLimit(1000)
	if got := run("replica-b", b, 30); got != 60 {
		t.Fatalf("replica-b took over with %d calls counted, want replica-a's 60", got)
	}
	if w := b.Reserve(); w != 0 {
		t.Fatalf("the 91st call waits %s, want none", w)
	}
	for range 9 {
		b.Reserve()
	}
	if w := b.Reserve(); w < 23*time.Hour || w > 23*time.Hour+time.Minute {
		t.Fatalf("the 101st call in 24 hours waits %s; want until replica-a's calls leave the window (23h, and at most a minute more)", w)
	}
	clk.Advance(time.Hour)
	// The ten calls replica-b counted after it gave the lease up were
	// never stored (a pipeline calls only while it holds the lease).
	if got := run("replica-a", a, 0); got != 90 {
		t.Fatalf("replica-a took the pipeline back with %d calls counted, want 90 (its own 60 once, and replica-b's 30)", got)
	}
	// A day after replica-a's calls, only replica-b's remain.
	clk.Advance(22*time.Hour + 2*time.Minute)
	if used, _ := a.Used(); used != 30 {
		t.Fatalf("a day later replica-a counts %d calls, want replica-b's 30", used)
	}
}

func TestBudgetSnapshotAndMerge(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 5, 12, 0, 30, 0, time.UTC))
	a := NewBudgetFor(clk, 0.5, "pipeline x")
	a.Count()
	a.Count()
	clk.Advance(2 * time.Minute)
	a.Count()
	snap := a.Snapshot()
	if want := `{"v":1,"minutes":[[29941200,2],[29941202,1]]}`; string(snap) != want {
		t.Fatalf("Snapshot = %s, want %s", snap, want)
	}
	b := NewBudgetFor(clk, 0.5, "pipeline x")
	b.Count() // one call of its own in the last minute
	if err := b.Merge(snap); err != nil {
		t.Fatal(err)
	}
	if used, _ := b.Used(); used != 3 {
		t.Fatalf("after Merge: %d calls, want 3 (the larger count of each minute)", used)
	}
	if err := b.Merge(snap); err != nil {
		t.Fatal(err)
	}
	if used, _ := b.Used(); used != 3 {
		t.Fatalf("after a second Merge: %d calls, want still 3", used)
	}
	// Merged calls sit at the end of their minute: the two of 12:00 leave
	// the window at 12:00:59 the next day, not at 12:00:30.
	clk.Advance(24*time.Hour - 2*time.Minute + 15*time.Second) // 12:00:45 the next day
	if used, _ := b.Used(); used != 3 {
		t.Fatalf("at 12:00:45 the next day: %d calls, want 3", used)
	}
	for _, bad := range []string{`nonsense`, `{"v":2,"minutes":[]}`, `{"v":1,"minutes":[[1,20000000]]}`, `{"v":1,"minutes":[[1,6000000],[2,6000000]]}`} {
		if err := b.Merge([]byte(bad)); err == nil {
			t.Errorf("Merge(%s): no error", bad)
		}
	}
}

// While it holds the lease a pipeline stores its budget every minute, so a
// replica that dies without giving the lease up loses at most a minute of
// counted calls.
func TestBudgetIsStoredWhileThePipelineWorks(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC))
	st := fakeStore(t, clk)
	b := NewBudgetFor(clk, 0.1, "pipeline cases")
	b.ObserveLimit(1000)
	spent := make(chan struct{})
	p := newPipeline(testOrgEnv(clk, st, "replica-a"), "cases", state.PipelineLease("acme", "cases"), b, func(ctx context.Context, _ state.Fence, _ *pipeline) error {
		for range 12 {
			b.Reserve()
		}
		close(spent)
		<-ctx.Done()
		return nil
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { _ = p.Run(ctx) }()
	<-spent
	key := state.CheckpointKey{Org: "acme", Pipeline: BudgetPipeline, Key: "cases"}
	waitFor(t, "the budget to be stored", func() bool {
		clk.Advance(10 * time.Second)
		cp, err := st.Checkpoint(t.Context(), key)
		if err != nil {
			return false
		}
		other := NewBudgetFor(clk, 0.1, "pipeline cases")
		if err := other.Merge(cp.Value); err != nil {
			t.Fatal(err)
		}
		used, _ := other.Used()
		return used == 12
	})
	if l, err := st.Leases(t.Context()); err != nil || len(l) != 1 || !l[0].Live(clk.Now()) {
		t.Fatalf("the budget was stored only after the lease was given up: %+v, %v", l, err)
	}
}

// A pipeline whose work gives the lease up itself as it stops (the
// event-log collector does) still stores the calls it made: the final
// save takes the lease back for that one write.
func TestBudgetIsStoredWhenTheWorkReleasedTheLease(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC))
	st := fakeStore(t, clk)
	b := NewBudgetFor(clk, 0.1, "pipeline eventlogs")
	b.ObserveLimit(1000)
	name := state.PipelineLease("acme", "eventlogs")
	began := make(chan struct{})
	p := newPipeline(testOrgEnv(clk, st, "replica-a"), "eventlogs", name, b, func(ctx context.Context, _ state.Fence, _ *pipeline) error {
		own, err := st.AcquireLease(ctx, name, "replica-a", 30*time.Second) // the same owner: the same tenure
		if err != nil {
			return err
		}
		for range 7 {
			b.Reserve()
		}
		close(began)
		<-ctx.Done()
		return st.ReleaseLease(context.WithoutCancel(ctx), own)
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	<-began
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	cp, err := st.Checkpoint(t.Context(), state.CheckpointKey{Org: "acme", Pipeline: BudgetPipeline, Key: "eventlogs"})
	if err != nil {
		t.Fatalf("the budget was not stored: %v", err)
	}
	other := NewBudgetFor(clk, 0.1, "pipeline eventlogs")
	if err := other.Merge(cp.Value); err != nil {
		t.Fatal(err)
	}
	if used, _ := other.Used(); used != 7 {
		t.Fatalf("stored %d calls, want 7", used)
	}
	if l, err := st.Leases(t.Context()); err != nil || len(l) != 1 || l[0].Live(clk.Now()) {
		t.Fatalf("after the stop the lease is %+v, %v; want it released", l, err)
	}
}
