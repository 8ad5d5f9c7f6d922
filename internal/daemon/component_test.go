package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/doctor"
	"github.com/sfbridge/sfbridge/internal/backoff"
	"github.com/sfbridge/sfbridge/internal/clock"
)

// script is a component that plays a list of runs: each run reports a
// success first when ok, then returns err (nil: waits for the context).
type script struct {
	*Tracker
	mu    sync.Mutex
	runs  []scriptRun
	calls int
	times []time.Time
	clk   clock.Clock
}

type scriptRun struct {
	ok  bool
	err error
	pan string
}

func (s *script) Name() string { return "script" }

func (s *script) Run(ctx context.Context) error {
	s.mu.Lock()
	s.times = append(s.times, s.clk.Now())
	r := scriptRun{}
	if s.calls < len(s.runs) {
		r = s.runs[s.calls]
	}
	s.calls++
	s.mu.Unlock()
	if r.pan != "" {
		panic(r.pan)
	}
	if r.ok {
		s.Succeeded("did one piece of work")
	}
	if r.err != nil {
		return r.err
	}
	<-ctx.Done()
	return nil
}

func (s *script) startTimes() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.times...)
}

// A failing component is restarted after a delay that doubles up to the
// cap, starts again from the initial delay after a run that succeeded, and
// is never restarted without waiting; a panic counts as a failure.
func TestGroupRestartsWithBackoff(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	clk := clock.NewFake(t0)
	boom := errors.New("boom")
	c := &script{clk: clk, Tracker: NewTracker(clk, nil), runs: []scriptRun{
		{err: boom}, {pan: "nil map"}, {err: boom}, {err: boom}, // 1s, 2s, 4s, then capped at 5s
		{ok: true, err: boom}, // a healthy run: the next delay is 1s again
		{},                    // runs until the group stops
	}}
	m := NewMetrics()
	g := newGroup(clk, slog.New(slog.DiscardHandler), backoff.Policy{Initial: time.Second, Max: 5 * time.Second}, m, nil)
	g.add("acme", c)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.Run(ctx)
	}()
	for n := 1; n < 6; n++ {
		waitFor(t, fmt.Sprintf("run %d", n), func() bool { return len(c.startTimes()) == n })
		if err := clk.BlockUntil(t.Context(), 1); err != nil {
			t.Fatal(err)
		}
		st := g.orgStatus("acme")[0]
		if st.State != StateFailed || st.NextRestart == nil || st.LastError == "" {
			t.Fatalf("while waiting to restart: %+v", st)
		}
		at, _ := clk.NextDeadline()
		if !at.Equal(*st.NextRestart) {
			t.Errorf("next restart reported %v, timer at %v", st.NextRestart, at)
		}
		clk.Set(at)
	}
	waitFor(t, "run 6", func() bool { return len(c.startTimes()) == 6 })
	var gaps []time.Duration
	times := c.startTimes()
	for i := 1; i < len(times); i++ {
		gaps = append(gaps, times[i].Sub(times[i-1]))
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, time.Second}
	if fmt.Sprint(gaps) != fmt.Sprint(want) {
		t.Errorf("restart delays %v, want %v", gaps, want)
	}
	waitFor(t, "the last run to report", func() bool { return g.orgStatus("acme")[0].State == StateRunning })
	st := g.orgStatus("acme")[0]
	if st.Restarts != 5 || st.LastSuccess == nil || !strings.Contains(st.LastError, "boom") {
		t.Errorf("status %+v", st)
	}
	g.Stopping()
	if s := g.orgStatus("acme")[0].State; s != StateStopping {
		t.Errorf("state while stopping = %s", s)
	}
	cancel()
	<-done
	if s := g.orgStatus("acme")[0].State; s != StateStopped {
		t.Errorf("state after stop = %s", s)
	}
	if got := testGather(t, m, "sfbridge_component_restarts_total"); got != `{component=script,org=acme} 5` {
		t.Errorf("restarts metric %q", got)
	}
}

// A component that finishes (nil before the context ends) is not run again.
func TestGroupDoesNotRestartFinishedComponent(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC))
	c := &finisher{Tracker: NewTracker(clk, nil)}
	g := newGroup(clk, slog.New(slog.DiscardHandler), backoff.Policy{Initial: time.Second}, NewMetrics(), nil)
	g.add("acme", c)
	g.Run(t.Context()) // returns once the only component has finished
	if c.calls != 1 || clk.Waiters() != 0 {
		t.Fatalf("runs %d, timers %d", c.calls, clk.Waiters())
	}
	if st := g.orgStatus("acme")[0]; st.State != StateStopped || st.Restarts != 0 {
		t.Errorf("status %+v", st)
	}
}

type finisher struct {
	*Tracker
	calls int
}

func (f *finisher) Name() string                  { return "finisher" }
func (f *finisher) Run(ctx context.Context) error { f.calls++; return nil }

// During shutdown /readyz answers 503 "stopping" while the listener still
// serves: the components stop first (here, one asks /readyz as it stops),
// the HTTP server last.
func TestReadyzSaysStoppingBeforeListenerCloses(t *testing.T) {
	var seen struct {
		sync.Mutex
		code int
		body string
	}
	var base string
	probe := ComponentFactory{Name: "probe", New: func(org *OrgEnv) (Component, error) {
		return &stopProbe{Tracker: org.Tracker(), onStop: func() {
			resp, err := http.Get(base + "/readyz?verbose")
			if err != nil {
				t.Errorf("readyz while stopping: %v", err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			seen.Lock()
			seen.code, seen.body = resp.StatusCode, string(b)
			seen.Unlock()
		}}, nil
	}}
	d, err := New(t.Context(), Options{Listen: "127.0.0.1:0", Orgs: []OrgSpec{{Alias: "a", Session: session(okToken)}},
		Components: append(Components(), probe)})
	if err != nil {
		t.Fatal(err)
	}
	base = "http://" + d.Addr()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	waitFor(t, "ready", d.Ready)
	if code, body := get(t, base+"/readyz?verbose", ""); code != 200 || body != "ready\n[+]a/session running\n[+]a/probe running\n" {
		t.Errorf("readyz?verbose = %d %q", code, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	seen.Lock()
	defer seen.Unlock()
	if seen.code != http.StatusServiceUnavailable || !strings.HasPrefix(seen.body, "stopping\n") || !strings.Contains(seen.body, "[-]a/probe stopping") {
		t.Errorf("readyz during shutdown = %d %q", seen.code, seen.body)
	}
	if d.Ready() {
		t.Error("Ready after shutdown")
	}
}

type stopProbe struct {
	*Tracker
	onStop func()
}

func (p *stopProbe) Name() string { return "probe" }
func (p *stopProbe) Run(ctx context.Context) error {
	p.Succeeded("probing")
	<-ctx.Done()
	p.onStop()
	return nil
}

// testGather renders the series of one metric as "{label=value,...} v"
// lines, sorted as the registry gathers them.
func testGather(t *testing.T, m *Metrics, name string) string {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, met := range mf.GetMetric() {
			var labels []string
			for _, l := range met.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			v := met.GetCounter().GetValue() + met.GetGauge().GetValue()
			lines = append(lines, fmt.Sprintf("{%s} %g", strings.Join(labels, ","), v))
		}
	}
	return strings.Join(lines, "\n")
}

// The doctor waits for the session, checks again sooner after a failed
// run (backing off from the retry interval towards the doctor interval),
// and on the doctor interval once the checks pass.
func TestDoctorComponentBacksOffWhileDegraded(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	clk := clock.NewFake(t0)
	var mu sync.Mutex
	var runs []time.Time
	outcomes := []doctor.Status{doctor.Fail, doctor.Fail, doctor.Pass, doctor.Pass}
	env := &OrgEnv{Alias: "acme", Clock: clk, Logger: slog.New(slog.DiscardHandler), Metrics: NewMetrics(),
		RetryInterval: 10 * time.Second, DoctorInterval: time.Minute, sessionReady: make(chan struct{}),
		Doctor: func(context.Context) *doctor.Report {
			mu.Lock()
			defer mu.Unlock()
			st := outcomes[min(len(runs), len(outcomes)-1)]
			runs = append(runs, clk.Now())
			return &doctor.Report{Checks: []doctor.Result{{ID: "servicedesk.case", Status: st, Required: true}}}
		}}
	c, err := newDoctorComponent(env)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	clk.Advance(time.Hour) // nothing runs before the session is there
	mu.Lock()
	if len(runs) != 0 {
		t.Fatalf("checks ran before the session: %v", runs)
	}
	mu.Unlock()
	close(env.sessionReady)
	for n := 1; n <= 3; n++ {
		if err := clk.BlockUntil(t.Context(), 1); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			if h := c.Health(); h.State != StateDegraded || !strings.Contains(h.LastError, "required checks failed") {
				t.Errorf("after a failed run: %+v", h)
			}
		}
		at, _ := clk.NextDeadline()
		clk.Set(at)
	}
	if err := clk.BlockUntil(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	next, _ := clk.NextDeadline()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	gaps := []time.Duration{runs[1].Sub(runs[0]), runs[2].Sub(runs[1]), runs[3].Sub(runs[2]), next.Sub(runs[3])}
	if gaps[0] < 8*time.Second || gaps[0] > 10*time.Second || gaps[1] < 16*time.Second || gaps[1] > 20*time.Second ||
		gaps[2] != time.Minute || gaps[3] != time.Minute {
		t.Errorf("gaps between runs %v, want ~10s, ~20s (less up to a fifth), then 1m, 1m", gaps)
	}
	if h := c.Health(); h.State != StateRunning || !h.LastSuccess.Equal(runs[3]) {
		t.Errorf("after passing runs: %+v", h)
	}
}

// A doctor run after the first keeps the org ready while it runs: readiness
// changes with a verdict, not with every run.
func TestDoctorRerunKeepsReadiness(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC))
	inRun, release := make(chan struct{}, 1), make(chan struct{})
	var n atomic.Int32
	check := func(context.Context) *doctor.Report {
		if n.Add(1) == 2 {
			inRun <- struct{}{}
			<-release
		}
		return &doctor.Report{Checks: []doctor.Result{{ID: "servicedesk.case", Status: doctor.Pass, Required: true}}}
	}
	d, _ := start(t, Options{Clock: clk, DoctorInterval: time.Minute, ProbeInterval: time.Hour,
		Orgs: []OrgSpec{{Alias: "acme", Session: session(okToken), Doctor: check}}})
	waitFor(t, "the org to be ready", d.Ready)
	clk.Advance(time.Minute)
	<-inRun
	if !d.Ready() {
		t.Errorf("not ready during the second doctor run: %+v", d.Status())
	}
	close(release)
}
