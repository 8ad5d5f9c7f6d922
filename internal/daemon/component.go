package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/sfbridge/sfbridge/internal/backoff"
	"github.com/sfbridge/sfbridge/internal/clock"
)

// Component is a unit of long-running work for one org: the session
// keeper, the doctor, later each pipeline.
//
// Run works until ctx ends and then returns promptly. Returning an error
// before that is a failure: the [Group] reports it and runs the component
// again after a backoff. Returning nil before ctx ends means the work is
// done; the component is then reported stopped and not run again.
//
// Health is called concurrently with Run and must be cheap; [Tracker]
// implements it. Run reports as it goes: starting first (a restarted
// component otherwise shows the health its last run left), then each
// success or degradation.
type Component interface {
	Name() string
	Run(ctx context.Context) error
	Health() Health
}

// State is where a component is in its life.
type State string

// The states of a component. Only running (and, for a pipeline,
// standby) counts as ready.
const (
	StateStarting State = "starting" // not yet done its first piece of work
	StateRunning  State = "running"  // working, and the last piece of work succeeded
	StateDegraded State = "degraded" // working, but the last piece of work failed
	StateFailed   State = "failed"   // Run returned an error; waiting to restart
	StateStopping State = "stopping" // the daemon is shutting down
	StateStopped  State = "stopped"  // Run returned
	// StateStandby is a pipeline whose lease another replica holds: it
	// waits to take over, and counts as ready.
	StateStandby State = "standby"
)

// Health is what a component reports about itself.
type Health struct {
	State State
	// Message says what the component is doing or waiting for.
	Message string
	// LastSuccess is when the last piece of work succeeded.
	LastSuccess time.Time
	// LastError describes the last failure, at LastErrorAt. It never holds
	// a token or a key.
	LastError   string
	LastErrorAt time.Time
}

// Tracker records a component's health; embed a *Tracker to implement
// [Component.Health]. It is safe for concurrent use.
type Tracker struct {
	clk      clock.Clock
	onChange func()

	mu sync.Mutex
	h  Health
}

// NewTracker returns a tracker in the starting state that timestamps on
// clk and calls onChange (when non-nil) after every change.
func NewTracker(clk clock.Clock, onChange func()) *Tracker {
	return &Tracker{clk: clock.Or(clk), onChange: onChange, h: Health{State: StateStarting}}
}

// Health returns the recorded health.
func (t *Tracker) Health() Health {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.h
}

func (t *Tracker) update(f func(h *Health)) {
	t.mu.Lock()
	f(&t.h)
	t.mu.Unlock()
	if t.onChange != nil {
		t.onChange()
	}
}

// Starting records that the component is getting ready, doing msg.
func (t *Tracker) Starting(msg string) {
	t.update(func(h *Health) { h.State, h.Message = StateStarting, msg })
}

// Succeeded records a successful piece of work: the component is running.
func (t *Tracker) Succeeded(msg string) {
	now := t.clk.Now()
	t.update(func(h *Health) { h.State, h.Message, h.LastSuccess = StateRunning, msg, now })
}

// Note replaces the component's message and leaves its state as it is,
// for news that is neither a success nor a failure (work postponed).
func (t *Tracker) Note(msg string) {
	t.update(func(h *Health) { h.Message = msg })
}

// Degraded records a failed piece of work after which the component goes
// on working.
func (t *Tracker) Degraded(err error) {
	now := t.clk.Now()
	t.update(func(h *Health) { h.State, h.Message, h.LastError, h.LastErrorAt = StateDegraded, "", err.Error(), now })
}

// Standby records that another replica does the work (msg says which);
// the component waits to take over.
func (t *Tracker) Standby(msg string) {
	t.update(func(h *Health) { h.State, h.Message = StateStandby, msg })
}

// ComponentStatus is a component's health as the daemon reports it.
type ComponentStatus struct {
	Name        string     `json:"name"`
	State       State      `json:"state"`
	Message     string     `json:"message,omitempty"`
	Restarts    int        `json:"restarts"`
	LastSuccess *time.Time `json:"last_success,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
	// NextRestart is when a failed component runs again.
	NextRestart *time.Time `json:"next_restart,omitempty"`
}

// Group runs components, restarts the ones that fail with backoff and
// stops them all when its context ends.
type Group struct {
	clk      clock.Clock
	log      *slog.Logger
	restart  backoff.Policy
	metrics  *Metrics
	onChange func(org string)
	members  []*member
	stopping chan struct{}
	stopOnce sync.Once
}

// member is one component in the group and what the group knows of it.
type member struct {
	org string
	c   Component

	mu          sync.Mutex
	restarts    int
	failed      bool // Run returned an error and the component waits to restart
	stopped     bool
	lastErr     string
	lastErrAt   time.Time
	nextRestart time.Time
}

// newGroup returns an empty group whose failed components restart under
// restart, timed on clk.
func newGroup(clk clock.Clock, log *slog.Logger, restart backoff.Policy, m *Metrics, onChange func(org string)) *Group {
	return &Group{clk: clock.Or(clk), log: log, restart: restart, metrics: m, onChange: onChange, stopping: make(chan struct{})}
}

// add puts c into the group under org; call it before Run.
func (g *Group) add(org string, c Component) {
	g.members = append(g.members, &member{org: org, c: c})
	g.metrics.componentAdded(org, c.Name())
	if _, ok := c.(*pipeline); ok {
		g.metrics.pipelineAdded(org, c.Name())
	}
}

// Stopping marks every component as stopping; Run's context should end
// soon after.
func (g *Group) Stopping() { g.stopOnce.Do(func() { close(g.stopping) }) }

func (g *Group) isStopping() bool {
	select {
	case <-g.stopping:
		return true
	default:
		return false
	}
}

// Run runs every component until ctx ends and returns when all have
// returned.
func (g *Group) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, m := range g.members {
		wg.Go(func() { g.keep(ctx, m) })
	}
	wg.Wait()
}

// keep runs m's component, restarting it after each failure. The backoff
// starts again from its initial delay after a run in which the component
// reported a success, so a component that fails now and then is not held
// back by failures long past; one that never gets going waits longer each
// time, up to the policy's cap. Every restart waits, so a component that
// fails at once cannot spin.
func (g *Group) keep(ctx context.Context, m *member) {
	b := g.restart.Start(g.clk)
	log := g.log.With("org", m.org, "component", m.c.Name())
	for {
		started := g.clk.Now()
		err := runSafely(ctx, m.c)
		if ctx.Err() != nil || err == nil {
			if err == nil && ctx.Err() == nil {
				log.Info("component finished")
			}
			m.set(func() { m.stopped, m.failed = true, false })
			g.changed(m.org)
			return
		}
		if h := m.c.Health(); !h.LastSuccess.Before(started) {
			b.Reset()
		}
		d, _ := b.Next(backoff.Verdict{Retry: true, Reason: "component failed"})
		now := g.clk.Now()
		m.set(func() { m.failed, m.lastErr, m.lastErrAt, m.nextRestart = true, err.Error(), now, now.Add(d) })
		g.changed(m.org)
		log.Warn("component failed; restarting it after a backoff", "err", err, "delay", d.String())
		if clock.Sleep(ctx, g.clk, d) != nil {
			m.set(func() { m.stopped, m.failed = true, false })
			g.changed(m.org)
			return
		}
		m.set(func() { m.restarts++; m.failed = false })
		g.metrics.componentRestarted(m.org, m.c.Name())
	}
}

func (g *Group) changed(org string) {
	if g.onChange != nil {
		g.onChange(org)
	}
}

// runSafely runs c, turning a panic into an error so that one broken
// component does not take the daemon down.
func runSafely(ctx context.Context, c Component) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("component %s panicked: %v\n%s", c.Name(), r, debug.Stack())
		}
	}()
	return c.Run(ctx)
}

func (m *member) set(f func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f()
}

// status merges what the component reports with what the group knows.
func (g *Group) status(m *member) ComponentStatus {
	h := m.c.Health()
	m.mu.Lock()
	s := ComponentStatus{Name: m.c.Name(), State: h.State, Message: h.Message, Restarts: m.restarts,
		LastError: h.LastError, LastSuccess: timePtr(h.LastSuccess), LastErrorAt: timePtr(h.LastErrorAt)}
	if m.lastErrAt.After(h.LastErrorAt) {
		s.LastError, s.LastErrorAt = m.lastErr, timePtr(m.lastErrAt)
	}
	switch {
	case m.stopped:
		s.State, s.Message = StateStopped, ""
	case g.isStopping():
		s.State, s.Message = StateStopping, ""
	case m.failed:
		s.State, s.Message, s.NextRestart = StateFailed, "", timePtr(m.nextRestart)
	}
	m.mu.Unlock()
	return s
}

// orgStatus returns the status of org's components, in the order they
// were added.
func (g *Group) orgStatus(org string) []ComponentStatus {
	var out []ComponentStatus
	for _, m := range g.members {
		if m.org == org {
			out = append(out, g.status(m))
		}
	}
	return out
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
