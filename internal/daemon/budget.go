package daemon

import (
	"encoding/json"
	"fmt"
	"slices"
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

// budgetRecord is a budget's calls as the state store keeps them, so that
// the replica that takes a pipeline over goes on from what the last one
// spent: the calls of the last 24 hours counted per minute, oldest first.
type budgetRecord struct {
	V       int        `json:"v"`
	Minutes [][2]int64 `json:"minutes"` // [Unix minute, calls]
}

// maxStoredCalls bounds the calls a stored budget may count (each costs
// memory when merged): more than any org's daily API allocation.
const maxStoredCalls = 10_000_000

// Snapshot encodes the calls of the last 24 hours, counted per minute.
func (b *Budget) Snapshot() []byte {
	rec := budgetRecord{V: 1, Minutes: [][2]int64{}}
	if b != nil {
		now := b.clk.Now()
		b.mu.Lock()
		b.calls = b.trim(now)
		for _, c := range b.calls {
			m := c.Unix() / 60
			if n := len(rec.Minutes); n > 0 && rec.Minutes[n-1][0] == m {
				rec.Minutes[n-1][1]++
			} else {
				rec.Minutes = append(rec.Minutes, [2]int64{m, 1})
			}
		}
		b.mu.Unlock()
	}
	data, _ := json.Marshal(rec) // a struct of numbers cannot fail
	return data
}

// Merge counts the calls of a snapshot that the budget has not counted
// itself: in each minute the larger of the two counts stands. A call it
// adds is placed at the end of its minute, so that it leaves the 24-hour
// window no earlier than the call it stands for.
func (b *Budget) Merge(data []byte) error {
	var rec budgetRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return fmt.Errorf("daemon: reading the stored API budget of %s: %w", b.who, err)
	}
	if rec.V != 1 {
		return fmt.Errorf("daemon: the stored API budget of %s has version %d; this daemon reads version 1", b.who, rec.V)
	}
	now := b.clk.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = b.trim(now)
	mine := map[int64]int64{}
	for _, c := range b.calls {
		mine[c.Unix()/60]++
	}
	var total int64
	for _, mc := range rec.Minutes {
		total += max(mc[1], 0)
		if mc[1] > maxStoredCalls || total > maxStoredCalls {
			return fmt.Errorf("daemon: the stored API budget of %s counts more than %d calls; it is not one this daemon wrote", b.who, maxStoredCalls)
		}
	}
	added := false
	for _, mc := range rec.Minutes {
		m, n := mc[0], mc[1]
		at := time.Unix(m*60+59, 0)
		if at.After(now) {
			at = now // a clock behind the last writer's: count the calls as made now
		}
		for range n - mine[m] {
			b.calls = append(b.calls, at)
			added = true
		}
	}
	if added {
		slices.SortFunc(b.calls, func(x, y time.Time) int { return x.Compare(y) })
		b.calls = b.trim(now)
	}
	return nil
}

func formatShare(s float64) string {
	return fmt.Sprintf("%.4g%%", s*100)
}
