package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/sfbridge/sfbridge/internal/clock"
)

// Live follows an org's health from the work done through its session, as
// it happens: every login (through auth.Config.OnLogin) and every API call
// (through [Live.Transport]) reports its outcome, so the org turns
// degraded the moment Salesforce stops answering and ready again at the
// next success, instead of at the next doctor run. The session keeper
// watches it and probes the org when nothing else has called it lately.
type Live struct {
	clk clock.Clock

	mu       sync.Mutex
	down     error     // the failure that took the org down; nil while it works
	lastCall time.Time // last answer of any kind from the org
	watch    func(err error)
}

// NewLive returns a signal timed by clk (nil: real time).
func NewLive(clk clock.Clock) *Live { return &Live{clk: clock.Or(clk)} }

// Watch makes f hear of every change: the failure that took the org down,
// or nil when it works again.
func (l *Live) Watch(f func(err error)) {
	l.mu.Lock()
	l.watch = f
	l.mu.Unlock()
}

// Down returns the failure the org is down with, or nil.
func (l *Live) Down() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.down
}

// SinceCall is how long ago the org last answered a call through its
// session (any status); ok is false before the first.
func (l *Live) SinceCall() (d time.Duration, ok bool) {
	if l == nil {
		return 0, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lastCall.IsZero() {
		return 0, false
	}
	return l.clk.Since(l.lastCall), true
}

// Report records an outcome: nil for a success, else the failure. A
// cancelled context says nothing about the org and is ignored.
func (l *Live) Report(err error) {
	if l == nil || errors.Is(err, context.Canceled) {
		return
	}
	l.mu.Lock()
	was := l.down
	l.down = err
	if err == nil {
		l.lastCall = l.clk.Now()
	}
	watch := l.watch
	l.mu.Unlock()
	if watch != nil && (was == nil) != (err == nil) {
		watch(err)
	}
}

// Login is the auth.Config.OnLogin hook.
func (l *Live) Login(err error) {
	if err != nil {
		err = fmt.Errorf("login failed: %w", err)
	}
	l.Report(err)
}

// Transport reports every API call through base: a network error or a 5xx
// answer takes the org down, any 2xx brings it back. Other answers (a 401
// the session's renewal handles, a 404 for a missing object) say nothing
// about whether the org is reachable, only update the time of the last
// call.
func (l *Live) Transport(base http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := base.RoundTrip(req)
		switch {
		case err != nil:
			if req.Context().Err() == nil {
				l.Report(fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err))
			}
		case resp.StatusCode >= 500:
			l.Report(fmt.Errorf("%s %s: Salesforce answered %s", req.Method, req.URL.Path, resp.Status))
		case resp.StatusCode < 300:
			l.Report(nil)
		default:
			l.mu.Lock()
			l.lastCall = l.clk.Now()
			l.mu.Unlock()
		}
		return resp, err
	})
}
