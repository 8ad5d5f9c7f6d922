package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/sfbridge/sfbridge/internal/backoff"
	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/state"
)

// DefaultLeaseTTL is how long a pipeline's lease lasts unless renewed; the
// holder renews it every third of that, and a replica that dies leaves
// its pipelines to the others within it.
const DefaultLeaseTTL = 30 * time.Second

// PipelineStatus is what /v1/orgs/{alias} shows of one pipeline.
type PipelineStatus struct {
	Name  string `json:"name"`
	State State  `json:"state"`
	// Holder is the replica that holds the pipeline's lease, when another.
	Holder      string     `json:"holder,omitempty"`
	LastSuccess *time.Time `json:"last_success,omitempty"`
	// LagSeconds is the time since the last completed pass: the local copy
	// (or the output) is at most this much behind, plus the pass itself.
	LagSeconds float64 `json:"lag_seconds,omitempty"`
	// Events counts the events (event-log rows, case events, knowledge
	// changes, directory entries) the pipeline committed in this process.
	Events int64 `json:"events"`
	Errors int64 `json:"errors"`
	// APICalls are the calls of the last 24 hours; APIBudget the number
	// its share allows (absent until the org's allocation is known).
	APICalls  int    `json:"api_calls_24h"`
	APIBudget *int64 `json:"api_budget,omitempty"`
	LastError string `json:"last_error,omitempty"`
	Message   string `json:"message,omitempty"`
}

// pipelineWork is what a pipeline does while it holds its lease: run until
// ctx ends (nil) or something fails (the error). It reports each completed
// pass with done(events) and a failed pass that it recovers from itself
// with failed(err).
type pipelineWork func(ctx context.Context, fence state.Fence, p *pipeline) error

// pipeline is a component that holds the lease of one (org, pipeline),
// renews it every third of its TTL while it works, and gives it back when
// it stops. A replica that cannot take the lease stands by (reported as
// "standby (held by <owner>)") and tries again; so with a shared store
// every (org, pipeline) runs on exactly one replica. The work's commits
// are fenced with the lease's token: a replica that was stopped (SIGSTOP)
// past its lease and resumes writes nothing, and it stops working as soon
// as its renewal fails.
type pipeline struct {
	*Tracker
	org, name, lease string
	store            state.Store
	owner            string
	ttl              time.Duration
	clk              clock.Clock
	log              *slog.Logger
	metrics          *Metrics
	budget           *Budget
	retry            backoff.Policy
	sessionReady     <-chan struct{}
	work             pipelineWork
	notify           func(org string)

	mu          sync.Mutex
	events      int64
	errors      int64
	holder      string
	lastSuccess time.Time

	// The API budget as last stored (see keepBudget); used by hold only.
	budgetVersion int64
	budgetSaved   []byte
}

// BudgetPipeline is the checkpoint pipeline under which the daemon keeps
// each pipeline's API budget (key: the pipeline's name), so that the
// replica that takes a pipeline over counts what the last one spent.
const BudgetPipeline = "daemon.budget"

func newPipeline(org *OrgEnv, name, lease string, budget *Budget, work pipelineWork) *pipeline {
	ttl := org.LeaseTTL
	if ttl <= 0 {
		ttl = DefaultLeaseTTL
	}
	return &pipeline{Tracker: org.Tracker(), org: org.Alias, name: name, lease: lease, store: org.Store, owner: org.Owner, ttl: ttl,
		clk: org.Clock, log: org.Logger.With("pipeline", name), metrics: org.Metrics, budget: budget,
		retry:        backoff.Policy{Initial: min(org.RetryInterval, ttl), Max: max(org.RetryInterval, 5*time.Minute), Jitter: 0.2},
		sessionReady: org.SessionReady(), work: work, notify: org.Notify}
}

func (p *pipeline) Name() string { return p.name }

// done records a completed pass that committed n events.
func (p *pipeline) done(n int, msg string) {
	now := p.clk.Now()
	p.mu.Lock()
	p.events += int64(n)
	p.lastSuccess = now
	p.mu.Unlock()
	p.metrics.pipelinePass(p.org, p.name, n, now)
	p.Succeeded(msg)
	if n > 0 && p.notify != nil {
		p.notify(p.org) // wake the org's event streams: the pass committed
	}
}

// failed records a failed pass; the work goes on (or returns the error).
func (p *pipeline) failed(err error) {
	p.mu.Lock()
	p.errors++
	p.mu.Unlock()
	p.metrics.pipelineError(p.org, p.name)
	p.Degraded(err)
	p.log.Warn("pipeline pass failed", "err", err)
}

// Status reports the pipeline for the org's status.
func (p *pipeline) Status(now time.Time) PipelineStatus {
	h := p.Health()
	p.mu.Lock()
	defer p.mu.Unlock()
	s := PipelineStatus{Name: p.name, State: h.State, Events: p.events, Errors: p.errors, LastError: h.LastError, Message: h.Message,
		LastSuccess: timePtr(p.lastSuccess)}
	if h.State == StateStandby {
		s.Holder = p.holder
	}
	if !p.lastSuccess.IsZero() {
		s.LagSeconds = now.Sub(p.lastSuccess).Seconds()
	}
	calls, allowed := p.budget.Used()
	s.APICalls = calls
	if allowed >= 0 {
		s.APIBudget = &allowed
	}
	return s
}

// Run takes the lease (standing by while another replica holds it), works
// under it, and gives it back; a failure of the work is returned, so the
// group restarts the pipeline after a backoff.
func (p *pipeline) Run(ctx context.Context) error {
	p.Starting("waiting for the session")
	select {
	case <-p.sessionReady:
	case <-ctx.Done():
		return nil
	}
	for {
		lease, err := p.store.AcquireLease(ctx, p.lease, p.owner, p.ttl)
		if ctx.Err() != nil {
			return nil
		}
		var held *state.LeaseHeldError
		switch {
		case errors.As(err, &held):
			p.mu.Lock()
			p.holder = held.Owner
			p.mu.Unlock()
			p.Standby("standby (held by " + held.Owner + ")")
			// Try again when the holder's lease would run out, at least
			// every third of the TTL so a released lease is taken soon.
			wait := min(max(held.ExpiresAt.Sub(p.clk.Now()), time.Second), p.ttl/3)
			if clock.Sleep(ctx, p.clk, wait) != nil {
				return nil
			}
			continue
		case err != nil:
			return fmt.Errorf("taking the lease %s: %w", p.lease, err)
		}
		p.log.Info("pipeline lease taken", "lease", p.lease, "token", lease.Token)
		if h := p.Health(); h.State == StateStandby {
			p.Starting("took the lease over")
		}
		err = p.hold(ctx, lease)
		if ctx.Err() != nil {
			return nil
		}
		if !errors.Is(err, state.ErrFenced) {
			return err
		}
		// The lease is gone (this replica was paused past it, or another
		// took it): nothing more was written; stand by for it again.
		p.log.Warn("pipeline lost its lease; standing by", "err", err)
		if clock.Sleep(ctx, p.clk, p.ttl/3) != nil {
			return nil
		}
	}
}

// hold runs the work under lease, renewing it, and releases it at the end.
func (p *pipeline) hold(ctx context.Context, lease state.Lease) error {
	workCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var wg sync.WaitGroup
	wg.Go(func() { p.renew(workCtx, lease, stop) })
	if p.budget != nil {
		p.loadBudget(workCtx)
		wg.Go(func() { p.keepBudget(workCtx, state.FenceOf(lease)) })
	}
	err := p.work(workCtx, state.FenceOf(lease), p)
	stop(nil)
	wg.Wait()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if p.budget != nil {
		// The calls since the last save, while the lease still fences.
		berr := p.saveBudget(rctx, state.FenceOf(lease))
		if errors.Is(berr, state.ErrFenced) {
			// The work may have given the lease up itself (the event-log
			// collector releases it as it stops): take it back for this
			// one write, unless another replica holds it now.
			if l, aerr := p.store.AcquireLease(rctx, p.lease, p.owner, p.ttl); aerr == nil {
				lease = l // released below
				berr = p.saveBudget(rctx, state.FenceOf(l))
			}
		}
		if berr != nil && !errors.Is(berr, state.ErrFenced) {
			p.log.Warn("storing the API budget", "err", berr)
		}
	}
	if rerr := p.store.ReleaseLease(rctx, lease); rerr != nil {
		p.log.Warn("releasing the pipeline lease", "err", rerr)
	}
	if cause := context.Cause(workCtx); ctx.Err() == nil && cause != nil && !errors.Is(cause, context.Canceled) {
		// The lease was lost: whatever the work returned, that is why.
		p.failed(cause)
		return cause
	}
	if ctx.Err() != nil {
		return nil
	}
	if err == nil {
		return nil
	}
	p.failed(err)
	return err
}

func (p *pipeline) budgetKey() state.CheckpointKey {
	return state.CheckpointKey{Org: p.org, Pipeline: BudgetPipeline, Key: p.name}
}

// loadBudget adds the calls the stored budget counts (spent by whichever
// replica held the pipeline before) to this replica's budget. Without the
// store's answer the pipeline goes on with what this replica counted; the
// next save merges again.
func (p *pipeline) loadBudget(ctx context.Context) {
	cp, err := p.store.Checkpoint(ctx, p.budgetKey())
	switch {
	case errors.Is(err, state.ErrNotFound):
		p.budgetVersion = 0
		return
	case err != nil:
		p.log.Warn("reading the stored API budget", "err", err)
		return
	}
	p.budgetVersion = cp.Version
	if err := p.budget.Merge(cp.Value); err != nil {
		p.log.Warn("reading the stored API budget", "err", err)
	}
}

// saveBudget stores the budget's calls under the pipeline's lease, when
// they changed since the last save. A store that moved on (another writer
// of an older lease, or a save that failed after it committed) is read and
// merged, and the save tried once more.
func (p *pipeline) saveBudget(ctx context.Context, fence state.Fence) error {
	for attempt := 0; ; attempt++ {
		data := p.budget.Snapshot()
		if p.budgetSaved != nil && string(data) == string(p.budgetSaved) {
			return nil
		}
		cp, err := p.store.Commit(ctx, state.Commit{Key: p.budgetKey(), Expect: p.budgetVersion, Value: data, Fence: fence})
		var conflict *state.ConflictError
		if errors.As(err, &conflict) && attempt == 0 {
			p.loadBudget(ctx)
			continue
		}
		if err != nil {
			return err
		}
		p.budgetVersion, p.budgetSaved = cp.Version, data
		return nil
	}
}

// budgetSaveEvery is how often a pipeline stores its API budget while it
// works (and once more when it gives the lease up): what a replica that
// dies spent in the last minute is all a new holder can miss, at one
// small commit a minute per pipeline.
const budgetSaveEvery = time.Minute

// keepBudget saves the budget every budgetSaveEvery while the work runs.
func (p *pipeline) keepBudget(ctx context.Context, fence state.Fence) {
	for clock.Sleep(ctx, p.clk, budgetSaveEvery) == nil {
		if err := p.saveBudget(ctx, fence); err != nil && ctx.Err() == nil {
			p.log.Warn("storing the API budget", "err", err)
		}
	}
}

// renew extends the lease every third of its TTL. A renewal refused
// (another owner has it) or failing for longer than the TTL ends the work.
func (p *pipeline) renew(ctx context.Context, lease state.Lease, stop context.CancelCauseFunc) {
	last := p.clk.Now()
	for {
		if clock.Sleep(ctx, p.clk, p.ttl/3) != nil {
			return
		}
		l, err := p.store.RenewLease(ctx, lease, p.ttl)
		if ctx.Err() != nil {
			return
		}
		switch {
		case err == nil:
			lease, last = l, p.clk.Now()
		case errors.Is(err, state.ErrFenced):
			stop(fmt.Errorf("pipeline %s lost its lease: %w", p.name, err))
			return
		case p.clk.Since(last) >= p.ttl:
			stop(fmt.Errorf("pipeline %s could not renew its lease for %s: %w", p.name, p.ttl, err))
			return
		default:
			p.log.Warn("renewing the pipeline lease failed; trying again", "err", err)
		}
	}
}

// every runs pass now, again after a random part of interval (the
// pipeline's phase), and then every interval while ctx lasts; a failed
// pass is reported and retried with backoff (from the retry interval up to
// the pipeline's interval), without ending the work, unless it was fenced
// off: then the lease is gone and the work ends.
func (p *pipeline) every(ctx context.Context, interval time.Duration, pass func(ctx context.Context) (events int, msg string, err error)) error {
	b := p.retry.Start(p.clk)
	phased := false
	for {
		n, msg, err := pass(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := interval
		switch {
		case errors.Is(err, state.ErrFenced):
			return err
		case err != nil:
			p.failed(err)
			wait, _ = b.Next(backoff.Verdict{Retry: true, Reason: err.Error()})
			wait = min(wait, max(interval, p.retry.Initial))
		default:
			b.Reset()
			p.done(n, msg)
			if !phased {
				// The orgs' pipelines start together: the first wait,
				// drawn from [0, interval), puts each at a phase of its
				// own, so that N orgs do not poll in the same second for
				// ever. The later waits are the interval, so the rate of
				// calls and the longest wait stay what was configured.
				wait = backoff.Policy{Jitter: 1, Rand: p.retry.Rand}.Spread(interval)
				phased = true
			}
		}
		if clock.Sleep(ctx, p.clk, wait) != nil {
			return nil
		}
	}
}

// NewOwner names this process in leases: host name, process id and a
// random suffix, so two daemons on one host (or a restarted one that
// reuses a pid) never take each other's leases for their own.
func NewOwner() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// budgetTransport reserves every call in budget before it goes out, and
// waits (telling wait how long) while the budget has no room, so the
// calls through it never exceed the budget.
func budgetTransport(budget *Budget, clk clock.Clock, wait func(time.Duration), base http.RoundTripper) http.RoundTripper {
	if budget == nil {
		return base
	}
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		for {
			d := budget.Reserve()
			if d <= 0 {
				break
			}
			if wait != nil {
				wait(d)
			}
			if err := clock.Sleep(req.Context(), clk, min(d, time.Minute)); err != nil {
				return nil, err
			}
		}
		return base.RoundTrip(req)
	})
}
