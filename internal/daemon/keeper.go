package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/doctor"
	"github.com/sfbridge/sfbridge/internal/backoff"
	"github.com/sfbridge/sfbridge/internal/clock"
)

// OrgStatus is what the daemon knows about one org.
type OrgStatus struct {
	Alias string `json:"alias"`
	// State is starting, ready, degraded (a session, but a required check
	// failed or the org stopped answering: a failed login, a network error
	// or a 5xx), failed (no session; or a component failed), stopping or
	// stopped: the worst of its components' states.
	State             string            `json:"state"`
	Ready             bool              `json:"ready"`
	OrgID             string            `json:"org_id,omitempty"`
	UserID            string            `json:"user_id,omitempty"`
	InstanceURL       string            `json:"instance_url,omitempty"`
	SessionIssuedAt   *time.Time        `json:"session_issued_at,omitempty"`
	SessionAgeSeconds float64           `json:"session_age_seconds,omitempty"`
	LastCheck         *time.Time        `json:"last_check,omitempty"`
	Error             string            `json:"error,omitempty"`
	Checks            []doctor.Result   `json:"checks,omitempty"`
	Components        []ComponentStatus `json:"components"`
	// Pipelines are the org's pipeline components (also listed in
	// Components) with their progress.
	Pipelines []PipelineStatus `json:"pipelines,omitempty"`
}

type cachedSource interface{ Cached() *auth.Token }

// orgState names the org state a component state leads to, and ranks it:
// the org takes the state of its worst component.
func orgState(s State) (name string, rank int) {
	switch s {
	case StateStopped:
		return "stopped", 5
	case StateStopping:
		return "stopping", 4
	case StateFailed:
		return "failed", 3
	case StateDegraded:
		return "degraded", 2
	case StateStarting:
		return "starting", 1
	}
	// running, or standby: another replica does the pipeline's work
	return "ready", 0
}

// summarize derives the org's state, readiness, error and last check from
// its components. The error is that of the first component, in table
// order, that failed or is degraded.
func summarize(s *OrgStatus) {
	worst := 0
	s.State = "ready"
	for _, c := range s.Components {
		if name, rank := orgState(c.State); rank > worst {
			s.State, worst = name, rank
		}
		if s.Error == "" && (c.State == StateFailed || c.State == StateDegraded) {
			s.Error = c.LastError
		}
		for _, t := range []*time.Time{c.LastSuccess, c.LastErrorAt} {
			if t != nil && (s.LastCheck == nil || t.After(*s.LastCheck)) {
				s.LastCheck = t
			}
		}
	}
	s.Ready = worst == 0 && len(s.Components) > 0
}

// sessionKeeper obtains the org's session at start and then follows the
// org's health as it happens: it watches the org's [Live] signal, so a
// failed login or API call turns it degraded at once and the next success
// running again, and it probes the org (a cheap limits call) when nothing
// has called it for a probe interval. A failure to obtain the first session
// fails the component, which the group restarts with backoff. Renewals
// happen where a call is refused (auth.Transport).
type sessionKeeper struct {
	*Tracker
	src        auth.Source
	live       *Live
	probe      func(ctx context.Context) error
	probeEvery time.Duration
	retry      backoff.Policy
	budget     *Budget
	clk        clock.Clock
	log        *slog.Logger
	ready      chan struct{}
	once       sync.Once
	watching   atomic.Bool
}

func newSessionKeeper(org *OrgEnv) (Component, error) {
	if org.Session == nil {
		return nil, fmt.Errorf("daemon: org %q has no session", org.Alias)
	}
	k := &sessionKeeper{Tracker: org.Tracker(), src: org.Session, live: org.Live, probe: org.Probe, probeEvery: org.ProbeInterval,
		retry:  backoff.Policy{Initial: min(org.RetryInterval, org.ProbeInterval), Max: org.ProbeInterval, Jitter: 0.2},
		budget: org.Budget, clk: org.Clock, log: org.Logger, ready: org.sessionReady}
	if k.live != nil {
		k.live.Watch(k.signal)
	}
	return k, nil
}

func (k *sessionKeeper) Name() string { return "session" }

// signal hears the org's live signal once the first session is obtained.
func (k *sessionKeeper) signal(err error) {
	if !k.watching.Load() {
		return
	}
	if err != nil {
		k.log.Warn("org not answering", "err", err)
		k.Degraded(err)
		return
	}
	k.log.Info("org answering again")
	k.Succeeded("the org answers again")
}

func (k *sessionKeeper) Run(ctx context.Context) error {
	k.watching.Store(false)
	k.Starting("obtaining a session")
	tok, err := k.src.Token(ctx)
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		k.log.Warn("no session", "err", err)
		return fmt.Errorf("no session: %w", err)
	}
	k.Succeeded("session for org " + tok.OrgID)
	k.watching.Store(true)
	defer k.watching.Store(false)
	k.once.Do(func() { close(k.ready) })
	k.log.Info("session obtained", "org_id", tok.OrgID, "instance_url", tok.InstanceURL)
	if k.probe == nil || k.probeEvery <= 0 {
		<-ctx.Done()
		return nil
	}
	b := k.retry.Start(k.clk)
	wait := k.probeEvery
	for {
		if clock.Sleep(ctx, k.clk, wait) != nil {
			return nil
		}
		// Work through the session (the doctor, a pipeline) is a probe
		// already: probe only an org that has been quiet, or is down.
		if since, ok := k.live.SinceCall(); ok && since < k.probeEvery && k.live.Down() == nil {
			wait = k.probeEvery - since
			continue
		}
		if k.budget != nil {
			if over, why := k.budget.Over(); over {
				k.log.Warn("probe skipped: the checks' API budget is spent", "budget", why)
				wait = k.probeEvery
				continue
			}
		}
		err := k.probe(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			k.live.Report(fmt.Errorf("probe: %w", err))
			k.Degraded(fmt.Errorf("probe: %w", err))
			wait, _ = b.Next(backoff.Verdict{Retry: true, Reason: "probe failed"})
			continue
		}
		b.Reset()
		k.live.Report(nil)
		if h := k.Health(); h.State != StateRunning {
			k.Succeeded("the org answers again")
		}
		wait = k.probeEvery
	}
}

// doctorComponent runs the org's checks once it has a session, then on
// the doctor interval; after a failed run it checks again sooner, backing
// off from the retry interval up to the doctor interval.
type doctorComponent struct {
	*Tracker
	alias        string
	check        func(ctx context.Context) *doctor.Report
	interval     time.Duration
	retry        backoff.Policy
	clk          clock.Clock
	metrics      *Metrics
	log          *slog.Logger
	sessionReady <-chan struct{}
	budget       *Budget
	mu           sync.Mutex
	lastChecks   []doctor.Result
}

func newDoctorComponent(org *OrgEnv) (Component, error) {
	if org.Doctor == nil {
		return nil, nil
	}
	return &doctorComponent{
		Tracker: org.Tracker(), alias: org.Alias, check: org.Doctor, interval: org.DoctorInterval,
		retry: backoff.Policy{Initial: org.RetryInterval, Max: max(org.DoctorInterval, org.RetryInterval), Jitter: 0.2},
		clk:   org.Clock, metrics: org.Metrics, log: org.Logger, sessionReady: org.SessionReady(), budget: org.Budget,
	}, nil
}

func (c *doctorComponent) Name() string { return "doctor" }

// Checks returns the results of the latest run.
func (c *doctorComponent) Checks() []doctor.Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastChecks
}

func (c *doctorComponent) Run(ctx context.Context) error {
	c.Starting("waiting for the session")
	select {
	case <-c.sessionReady:
	case <-ctx.Done():
		return nil
	}
	b := c.retry.Start(c.clk)
	for {
		// Over the checks' API budget the run waits until there is room
		// again, and says so; the last results stand meanwhile.
		if over, why := c.budget.Over(); over {
			c.Note("checks postponed: " + why)
			c.log.Warn("org checks postponed: the checks' API budget is spent", "budget", why)
			if clock.Sleep(ctx, c.clk, max(c.budget.Wait(), time.Minute)) != nil {
				return nil
			}
			continue
		}
		// Only the first run makes the component "starting": a later run
		// keeps the last verdict (and the org's readiness) until it has
		// its own, so readiness does not flap at every doctor run.
		if h := c.Health(); h.State == StateStarting {
			c.Starting("running the checks")
		} else {
			c.Note("running the checks")
		}
		report := c.check(ctx)
		if ctx.Err() != nil {
			return nil
		}
		c.metrics.doctorRun(c.alias, report.OK())
		c.mu.Lock()
		c.lastChecks = report.Checks
		c.mu.Unlock()
		wait := c.interval
		if report.OK() {
			b.Reset()
			c.Succeeded(report.Summary())
			c.log.Info("org checks passed", "checks", report.Summary())
		} else {
			wait, _ = b.Next(backoff.Verdict{Retry: true, Reason: "required checks failed"})
			c.Degraded(errors.New("required checks failed: " + report.Summary()))
			c.log.Warn("org checks failed", "checks", report.Summary(), "next_run_in", wait.String())
		}
		if wait <= 0 {
			<-ctx.Done()
			return nil
		}
		if clock.Sleep(ctx, c.clk, wait) != nil {
			return nil
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing to tell it
}
