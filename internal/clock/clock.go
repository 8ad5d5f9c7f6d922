// Package clock is the one source of time for sfbridge's library, daemon and
// emulator code.
//
// Code that needs the time, a timer or a ticker takes a [Clock] instead of
// calling the time package directly, so tests can drive it with [Fake]: expiry,
// backoff, poll intervals and lease TTLs are then tested without sleeping. The
// shape follows the injectable clocks of tailscale's tstime and prometheus's
// tests: Now, timers and tickers, and AfterFunc.
package clock

import (
	"context"
	"time"
)

// Clock tells the time and makes timers that fire on it.
//
// Implementations are safe for concurrent use.
type Clock interface {
	// Now reports the current time.
	Now() time.Time
	// Since is Now().Sub(t).
	Since(t time.Time) time.Duration
	// NewTimer starts a timer that sends the time on its channel after d.
	NewTimer(d time.Duration) Timer
	// NewTicker starts a ticker that sends the time on its channel every d.
	// It panics if d <= 0, as time.NewTicker does.
	NewTicker(d time.Duration) Ticker
	// AfterFunc calls f in its own goroutine after d. The returned Timer's C
	// is nil.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a single event, as time.Timer.
type Timer interface {
	// C delivers the time when the timer fires (nil for AfterFunc timers).
	C() <-chan time.Time
	// Stop prevents the timer from firing. It reports whether the call
	// stopped it, false if it had already fired or been stopped.
	Stop() bool
	// Reset changes the timer to fire after d. It reports whether the timer
	// had been active.
	Reset(d time.Duration) bool
}

// Ticker delivers ticks at intervals, as time.Ticker.
type Ticker interface {
	C() <-chan time.Time
	Stop()
	Reset(d time.Duration)
}

// Or returns c, or the real clock when c is nil, so that a nil Clock field in
// an options struct means "real time".
func Or(c Clock) Clock {
	if c == nil {
		return Real()
	}
	return c
}

// Sleep waits for d on c, or until ctx is done, whichever comes first. It
// returns ctx.Err() when ctx ended the wait, and nil otherwise. A d <= 0
// returns at once (with ctx.Err() if ctx is already done).
func Sleep(ctx context.Context, c Clock, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := Or(c).NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}

// FuncNow adapts a clock to the `Now func() time.Time` fields that public
// Config structs keep as their knob: a non-nil now wins, otherwise c.Now.
func FuncNow(now func() time.Time, c Clock) func() time.Time {
	if now != nil {
		return now
	}
	return Or(c).Now
}
