package daemon

import (
	"fmt"
	"sync"
	"time"

	"github.com/sfbridge/sfbridge/internal/clock"
)

// budgetWindow is the span of Salesforce's daily API allocation: a rolling
// 24 hours.
const budgetWindow = 24 * time.Hour

// Budget caps the share of an org's daily API allocation that one
// spender — the daemon's own checks (doctor runs, probes), or one pipeline
// — spends in any 24 hours. It counts the calls the spender makes
// ([Budget.Count], or [Budget.Reserve] before each call) and learns the
// allocation from the Sforce-Limit-Info header of any answer
// ([Budget.ObserveLimit]); until it knows the allocation it allows every
// call.
type Budget struct {
	clk   clock.Clock
	share float64
	who   string

	mu    sync.Mutex
	calls []time.Time // the checks' calls in the last 24 hours, oldest first
	limit int64       // the org's daily allocation; 0 while unknown
}

// NewBudget returns a budget of share (0 < share <= 1) of the org's daily
// allocation, timed by clk (nil: real time).
func NewBudget(clk clock.Clock, share float64) *Budget {
	return NewBudgetFor(clk, share, "the daemon's checks")
}

// NewBudgetFor returns a budget of share for the spender who ("pipeline
// cases"), named in its messages.
func NewBudgetFor(clk clock.Clock, share float64, who string) *Budget {
	return &Budget{clk: clock.Or(clk), share: share, who: who}
}

// Reserve counts one call if the budget has room for it now and returns
// 0; otherwise it counts nothing and returns how long until there is room.
// Callers that reserve before every call never exceed the budget.
func (b *Budget) Reserve() time.Duration {
	if b == nil {
		return 0
	}
	now := b.clk.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = b.trim(now)
	allowed := b.allowedLocked()
	if allowed < 0 || int64(len(b.calls)) < allowed {
		b.calls = append(b.calls, now)
		return 0
	}
	if allowed == 0 {
		return budgetWindow
	}
	return b.calls[int64(len(b.calls))-allowed].Add(budgetWindow).Sub(now)
}

// Used returns the calls counted in the last 24 hours and the number the
// share allows (-1 while the org's allocation is unknown).
func (b *Budget) Used() (calls int, allowed int64) {
	if b == nil {
		return 0, -1
	}
	now := b.clk.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = b.trim(now)
	return len(b.calls), b.allowedLocked()
}

// Count records one API call made by the checks.
func (b *Budget) Count() {
	if b == nil {
		return
	}
	now := b.clk.Now()
	b.mu.Lock()
	b.calls = append(b.trim(now), now)
	b.mu.Unlock()
}

// ObserveLimit records the org's daily allocation.
func (b *Budget) ObserveLimit(limit int64) {
	if b == nil || limit <= 0 {
		return
	}
	b.mu.Lock()
	b.limit = limit
	b.mu.Unlock()
}

// Over reports whether the checks have spent their share of the last 24
// hours, with a sentence saying how much and when there is room again.
func (b *Budget) Over() (over bool, why string) {
	if b == nil {
		return false, ""
	}
	now := b.clk.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = b.trim(now)
	allowed := b.allowedLocked()
	if allowed < 0 || int64(len(b.calls)) < allowed {
		return false, ""
	}
	// Room again when enough of the oldest calls leave the window.
	free := b.calls[int64(len(b.calls))-allowed].Add(budgetWindow).Sub(now)
	if allowed == 0 {
		free = budgetWindow
	}
	return true, fmt.Sprintf("%d API calls by %s in the last 24h, their budget is %d (%s of the org's daily %d); they resume in %s",
		len(b.calls), b.who, allowed, formatShare(b.share), b.limit, free.Round(time.Second))
}

// Wait is how long until the checks may call again (0 when they may now).
func (b *Budget) Wait() time.Duration {
	if b == nil {
		return 0
	}
	now := b.clk.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = b.trim(now)
	allowed := b.allowedLocked()
	if allowed < 0 || int64(len(b.calls)) < allowed {
		return 0
	}
	if allowed == 0 {
		return budgetWindow
	}
	return b.calls[int64(len(b.calls))-allowed].Add(budgetWindow).Sub(now)
}

// allowedLocked is the number of calls the share allows, or -1 while the
// allocation is unknown.
func (b *Budget) allowedLocked() int64 {
	if b.limit <= 0 {
		return -1
	}
	return int64(float64(b.limit) * b.share)
}

// trim drops the calls older than the window.
func (b *Budget) trim(now time.Time) []time.Time {
	i := 0
	for i < len(b.calls) && !b.calls[i].After(now.Add(-budgetWindow)) {
		i++
	}
	return b.calls[i:]
}

func formatShare(s float64) string {
	return fmt.Sprintf("%.4g%%", s*100)
}
