package daemon

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/doctor"
)

// OrgStatus is what the daemon knows about one org.
type OrgStatus struct {
	Alias string `json:"alias"`
	// State is starting, ready, degraded (a session but a required check
	// failed) or failed (no session).
	State             string          `json:"state"`
	Ready             bool            `json:"ready"`
	OrgID             string          `json:"org_id,omitempty"`
	UserID            string          `json:"user_id,omitempty"`
	InstanceURL       string          `json:"instance_url,omitempty"`
	SessionIssuedAt   *time.Time      `json:"session_issued_at,omitempty"`
	SessionAgeSeconds float64         `json:"session_age_seconds,omitempty"`
	LastCheck         *time.Time      `json:"last_check,omitempty"`
	Error             string          `json:"error,omitempty"`
	Checks            []doctor.Result `json:"checks,omitempty"`
}

type cachedSource interface{ Cached() *auth.Token }

// keeper owns one org's session and checks.
type keeper struct {
	spec OrgSpec
	d    *Daemon

	mu        sync.Mutex
	state     string
	ready     bool
	lastErr   string
	lastCheck time.Time
	checks    []doctor.Result
	lastTok   *auth.Token
}

// run checks the org at start and then on the interval; after a failure it
// retries sooner, backing off up to the interval.
func (k *keeper) run(ctx context.Context) {
	retry := k.d.opts.RetryInterval
	for {
		ok := k.check(ctx)
		if ctx.Err() != nil {
			return
		}
		wait := k.d.opts.DoctorInterval
		if !ok {
			wait = retry
			retry = min(retry*2, max(k.d.opts.DoctorInterval, k.d.opts.RetryInterval))
		} else {
			retry = k.d.opts.RetryInterval
		}
		if wait <= 0 {
			if ok {
				<-ctx.Done()
				return
			}
			wait = retry
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// check obtains a session and runs the doctor; it reports readiness.
func (k *keeper) check(ctx context.Context) bool {
	log := k.d.opts.Logger.With("org", k.spec.Alias)
	tok, err := k.spec.Session.Token(ctx)
	if ctx.Err() != nil {
		return false
	}
	now := k.d.opts.Now()
	if err != nil {
		log.Warn("no session", "err", err)
		k.set(func() {
			k.state, k.ready, k.lastErr, k.lastCheck = "failed", false, err.Error(), now
		})
		k.d.opts.Metrics.setReady(k.spec.Alias, false)
		return false
	}
	var report *doctor.Report
	if k.spec.Doctor != nil {
		report = k.spec.Doctor(ctx)
		if ctx.Err() != nil {
			return false
		}
		k.d.opts.Metrics.doctorRun(k.spec.Alias, report.OK())
	}
	ready := report == nil || report.OK()
	k.set(func() {
		k.lastTok, k.lastCheck, k.ready = tok, now, ready
		k.state, k.lastErr, k.checks = "ready", "", nil
		if report != nil {
			k.checks = report.Checks
			if !ready {
				k.state = "degraded"
				k.lastErr = "required checks failed: " + report.Summary()
			}
		}
	})
	k.d.opts.Metrics.setReady(k.spec.Alias, ready)
	if ready {
		log.Info("org ready", "org_id", tok.OrgID, "instance_url", tok.InstanceURL)
	} else {
		log.Warn("org not ready", "checks", report.Summary())
	}
	return ready
}

func (k *keeper) set(f func()) {
	k.mu.Lock()
	defer k.mu.Unlock()
	f()
}

func (k *keeper) status() OrgStatus {
	k.mu.Lock()
	s := OrgStatus{Alias: k.spec.Alias, State: k.state, Ready: k.ready, Error: k.lastErr, Checks: k.checks}
	tok := k.lastTok
	if !k.lastCheck.IsZero() {
		t := k.lastCheck
		s.LastCheck = &t
	}
	k.mu.Unlock()
	if c, ok := k.spec.Session.(cachedSource); ok {
		tok = c.Cached()
	}
	if tok != nil {
		s.OrgID, s.UserID, s.InstanceURL = tok.OrgID, tok.UserID, tok.InstanceURL
		if !tok.IssuedAt.IsZero() {
			t := tok.IssuedAt
			s.SessionIssuedAt = &t
			s.SessionAgeSeconds = k.d.opts.Now().Sub(t).Seconds()
		}
	}
	return s
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing to tell it
}
