// Package backoff is the one retry policy of sfbridge: capped, jittered
// exponential backoff that waits on an injected [clock.Clock] and listens to
// the context, honours server hints (Retry-After), and stops after a number
// of attempts or a span of time.
//
// A [Policy] describes the delays; [Policy.Start] begins one series of
// attempts as a [Backoff], whose Next says how long to wait after a failure
// (and whether to try again at all). A caller with its own loop uses
// Backoff directly; [Policy.Retry] runs the loop for an operation whose
// errors a [Classifier] judges. Components restarted by the daemon keep one
// Backoff and Reset it after a healthy run.
package backoff

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/sfbridge/sfbridge/internal/clock"
)

// Policy describes a capped, jittered exponential backoff. Zero fields take
// the defaults named on each.
type Policy struct {
	// Initial is the delay after the first failure; default 250ms.
	Initial time.Duration
	// Max caps every delay, server hints included; default 30s.
	Max time.Duration
	// Multiplier grows the delay after each further failure; default 2.
	// Values below 1 are refused by Validate.
	Multiplier float64
	// Jitter is the fraction of each computed delay that is random: the
	// delay d is drawn uniformly from [d·(1−Jitter), d], so clients that
	// failed together do not retry together. 0 means none; at most 1.
	Jitter float64
	// MaxAttempts bounds the attempts of one series, the first included;
	// 0 means no bound.
	MaxAttempts int
	// MaxElapsed bounds the time of one series: no wait is started that
	// would end beyond it. 0 means no bound.
	MaxElapsed time.Duration
	// Rand returns a number in [0, 1) for the jitter; nil means
	// math/rand/v2. Tests inject a fixed one.
	Rand func() float64
}

// Validate reports a policy that cannot work: negative durations or
// attempts, a multiplier below 1, a jitter outside [0, 1], or an initial
// delay above the cap.
func (p Policy) Validate() error {
	switch {
	case p.Initial < 0 || p.Max < 0 || p.MaxElapsed < 0:
		return errors.New("backoff: negative duration in policy")
	case p.MaxAttempts < 0:
		return errors.New("backoff: negative MaxAttempts")
	case p.Multiplier != 0 && p.Multiplier < 1:
		return fmt.Errorf("backoff: Multiplier %g is below 1; delays would shrink", p.Multiplier)
	case p.Jitter < 0 || p.Jitter > 1:
		return fmt.Errorf("backoff: Jitter %g is outside [0, 1]", p.Jitter)
	case p.Initial > 0 && p.Max > 0 && p.Initial > p.Max:
		return fmt.Errorf("backoff: Initial %s is above Max %s", p.Initial, p.Max)
	}
	return nil
}

func (p Policy) withDefaults() Policy {
	if p.Initial <= 0 {
		p.Initial = 250 * time.Millisecond
	}
	if p.Max <= 0 {
		p.Max = max(30*time.Second, p.Initial)
	}
	if p.Multiplier < 1 {
		p.Multiplier = 2
	}
	if p.Rand == nil {
		p.Rand = rand.Float64
	}
	return p
}

// Delay is the delay after the n-th consecutive failure (1-based) before
// jitter: Initial·Multiplier^(n−1), capped at Max.
func (p Policy) Delay(n int) time.Duration {
	p = p.withDefaults()
	d := float64(p.Initial)
	for i := 1; i < n && d < float64(p.Max); i++ {
		d *= p.Multiplier
	}
	return time.Duration(min(d, float64(p.Max)))
}

// jittered draws the delay after the n-th failure.
func (p Policy) jittered(n int) time.Duration {
	return p.Spread(p.Delay(n))
}

// Spread draws a period from [d·(1−Jitter), d], for work repeated every d
// that many processes start at the same moment (the pipelines of many
// orgs): each waits a little less than d, by a different amount, so they
// drift apart instead of calling at the same second for ever, and none
// waits longer than d.
func (p Policy) Spread(d time.Duration) time.Duration {
	if p.Jitter == 0 || d <= 0 {
		return d
	}
	if p.Rand == nil {
		p.Rand = rand.Float64
	}
	fixed := time.Duration(float64(d) * (1 - p.Jitter))
	return fixed + time.Duration(p.Rand()*float64(d-fixed))
}

// Start begins a series of attempts timed on clk (nil means real time).
// The first attempt is assumed to be under way.
func (p Policy) Start(clk clock.Clock) *Backoff {
	clk = clock.Or(clk)
	return &Backoff{p: p.withDefaults(), clk: clk, start: clk.Now(), attempts: 1}
}

// Backoff is one series of attempts under a [Policy]. It is not safe for
// concurrent use.
type Backoff struct {
	p        Policy
	clk      clock.Clock
	start    time.Time
	attempts int
	failures int
}

// Verdict is a judgement on one failure: whether it is worth another
// attempt, why (for logs and errors), and how long the server asked to wait.
type Verdict struct {
	Retry  bool
	Reason string
	// After is the server's hint (Retry-After), 0 for none. A hint replaces
	// the computed delay, capped at the policy's Max.
	After time.Duration
}

// Classifier judges an error. It should be a pure function of the error;
// it is never asked about a nil error or after the context ended.
type Classifier func(error) Verdict

// Next is called after a failed attempt. It returns the delay before the
// next attempt and true, or false when the series is over: the failure is
// not retryable, the attempts are used up, or waiting would pass
// MaxElapsed.
func (b *Backoff) Next(v Verdict) (time.Duration, bool) {
	if !v.Retry {
		return 0, false
	}
	if b.p.MaxAttempts > 0 && b.attempts >= b.p.MaxAttempts {
		return 0, false
	}
	b.failures++
	d := b.p.jittered(b.failures)
	if v.After > 0 {
		d = min(v.After, b.p.Max)
	}
	if b.p.MaxElapsed > 0 && b.clk.Since(b.start)+d > b.p.MaxElapsed {
		return 0, false
	}
	b.attempts++
	return d, true
}

// Reset starts a new series: the next delay is Initial again and attempts
// and elapsed time count from now. Call it after a healthy run.
func (b *Backoff) Reset() {
	b.start, b.attempts, b.failures = b.clk.Now(), 1, 0
}

// Attempt is the number of the attempt under way (1 for the first).
func (b *Backoff) Attempt() int { return b.attempts }

// Wait waits d on the series' clock, or until ctx ends (returning
// ctx.Err()).
func (b *Backoff) Wait(ctx context.Context, d time.Duration) error {
	return clock.Sleep(ctx, b.clk, d)
}

// GiveUpError is returned by [Policy.Retry] when a retryable failure could
// not be overcome: the attempts or the time ran out, or ctx ended while
// waiting. It wraps the last failure (and the context's error, if any).
type GiveUpError struct {
	Attempts int
	Elapsed  time.Duration
	// Reason is the verdict on the last failure.
	Reason string
	// Err is the last failure; Ctx is the context's error when the context
	// ended the wait, else nil.
	Err, Ctx error
}

func (e *GiveUpError) Error() string {
	why := "giving up"
	if e.Ctx != nil {
		why = "stopped waiting (" + e.Ctx.Error() + ")"
	}
	return fmt.Sprintf("%s after %d attempt(s) in %s; last failure (%s): %v", why, e.Attempts, e.Elapsed.Round(time.Millisecond), e.Reason, e.Err)
}

// Unwrap returns the last failure and the context's error.
func (e *GiveUpError) Unwrap() []error {
	if e.Ctx != nil {
		return []error{e.Err, e.Ctx}
	}
	return []error{e.Err}
}

// Retry calls op until it returns nil or classify rules a failure final
// (that error is returned as it is), waiting on clk between attempts. When
// the attempts or MaxElapsed run out, or ctx ends while waiting, it returns
// a [*GiveUpError] wrapping the last failure. It never calls op once ctx
// has ended.
func (p Policy) Retry(ctx context.Context, clk clock.Clock, classify Classifier, op func(context.Context) error) error {
	b := p.Start(clk)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := op(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return &GiveUpError{Attempts: b.attempts, Elapsed: b.clk.Since(b.start), Reason: "context ended", Err: err, Ctx: ctx.Err()}
		}
		v := classify(err)
		if !v.Retry {
			return err
		}
		d, ok := b.Next(v)
		if !ok {
			return &GiveUpError{Attempts: b.attempts, Elapsed: b.clk.Since(b.start), Reason: v.Reason, Err: err}
		}
		if werr := b.Wait(ctx, d); werr != nil {
			return &GiveUpError{Attempts: b.attempts - 1, Elapsed: b.clk.Since(b.start), Reason: v.Reason, Err: err, Ctx: werr}
		}
	}
}
