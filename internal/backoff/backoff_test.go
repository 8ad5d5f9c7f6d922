package backoff

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/internal/clock"
)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func half() float64 { return 0.5 }

func TestDelayGrowsAndIsCapped(t *testing.T) {
	t.Parallel()
	p := Policy{Initial: 100 * time.Millisecond, Max: time.Second, Multiplier: 3}
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 300 * time.Millisecond, 3: 900 * time.Millisecond, 4: time.Second, 60: time.Second} {
		if got := p.Delay(n); got != want {
			t.Errorf("Delay(%d) = %v, want %v", n, got, want)
		}
	}
	if got := (Policy{}).Delay(1); got != 250*time.Millisecond {
		t.Errorf("default Initial = %v", got)
	}
	if got := (Policy{}).Delay(100); got != 30*time.Second {
		t.Errorf("default Max = %v", got)
	}
}

func TestNextJittersWithinRange(t *testing.T) {
	t.Parallel()
	var r float64
	p := Policy{Initial: 100 * time.Millisecond, Max: time.Second, Jitter: 0.5, Rand: func() float64 { return r }}
	for _, tc := range []struct {
		r    float64
		want []time.Duration
	}{
		{0, []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 500 * time.Millisecond}},
		{0.5, []time.Duration{75 * time.Millisecond, 150 * time.Millisecond, 300 * time.Millisecond, 600 * time.Millisecond, 750 * time.Millisecond}},
	} {
		r = tc.r
		b := p.Start(clock.NewFake(epoch))
		for i, want := range tc.want {
			got, ok := b.Next(Verdict{Retry: true})
			if !ok || got != want {
				t.Errorf("r=%v: delay %d = %v, %v; want %v", tc.r, i+1, got, ok, want)
			}
		}
	}
}

// Spread shortens a period by up to Jitter of it, never lengthens it, and
// leaves it alone without jitter.
func TestSpreadStaysWithinThePeriod(t *testing.T) {
	t.Parallel()
	var r float64
	p := Policy{Jitter: 0.1, Rand: func() float64 { return r }}
	for _, tc := range []struct {
		r    float64
		want time.Duration
	}{{0, 27 * time.Second}, {0.5, 28500 * time.Millisecond}, {0.999999, 29999997 * time.Microsecond}} {
		r = tc.r
		if got := p.Spread(30 * time.Second); got != tc.want {
			t.Errorf("r=%v: Spread(30s) = %v, want %v", tc.r, got, tc.want)
		}
	}
	if got := (Policy{}).Spread(30 * time.Second); got != 30*time.Second {
		t.Errorf("without jitter: Spread(30s) = %v", got)
	}
	if got := p.Spread(0); got != 0 {
		t.Errorf("Spread(0) = %v", got)
	}
}

func TestHintWinsButIsCapped(t *testing.T) {
	t.Parallel()
	b := Policy{Initial: time.Second, Max: 10 * time.Second, Rand: half}.Start(clock.NewFake(epoch))
	if d, _ := b.Next(Verdict{Retry: true, After: 200 * time.Millisecond}); d != 200*time.Millisecond {
		t.Errorf("short hint: %v, want the hint", d)
	}
	if d, _ := b.Next(Verdict{Retry: true, After: time.Hour}); d != 10*time.Second {
		t.Errorf("long hint: %v, want Max", d)
	}
	// The hint does not hold back the series: the next computed delay is
	// the third one.
	if d, _ := b.Next(Verdict{Retry: true}); d != 4*time.Second {
		t.Errorf("after hints: %v, want 4s", d)
	}
}

func TestNextStops(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(epoch)
	b := Policy{Initial: time.Second, MaxAttempts: 3}.Start(clk)
	if _, ok := b.Next(Verdict{Retry: false, Reason: "4xx"}); ok {
		t.Fatal("a final verdict was retried")
	}
	for i := range 2 {
		if _, ok := b.Next(Verdict{Retry: true}); !ok {
			t.Fatalf("retry %d refused", i+1)
		}
	}
	if b.Attempt() != 3 {
		t.Errorf("Attempt = %d", b.Attempt())
	}
	if _, ok := b.Next(Verdict{Retry: true}); ok {
		t.Fatal("a fourth attempt was allowed with MaxAttempts 3")
	}
	b.Reset()
	if d, ok := b.Next(Verdict{Retry: true}); !ok || d != time.Second {
		t.Errorf("after Reset: %v, %v", d, ok)
	}

	b = Policy{Initial: time.Second, MaxElapsed: 5 * time.Second}.Start(clk)
	if d, ok := b.Next(Verdict{Retry: true}); !ok || d != time.Second {
		t.Fatalf("first: %v %v", d, ok)
	}
	clk.Advance(3 * time.Second)
	if d, ok := b.Next(Verdict{Retry: true}); !ok || d != 2*time.Second {
		t.Errorf("a 2s wait ending exactly at MaxElapsed: %v, %v", d, ok)
	}
	clk.Advance(time.Second)
	if d, ok := b.Next(Verdict{Retry: true}); ok {
		t.Errorf("a 4s wait at 4s of 5s was allowed (%v)", d)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, p := range []Policy{
		{Initial: -1}, {MaxAttempts: -1}, {Multiplier: 0.5}, {Jitter: 1.5}, {Initial: time.Minute, Max: time.Second},
	} {
		if p.Validate() == nil {
			t.Errorf("Validate accepted %+v", p)
		}
	}
	if err := (Policy{}).Validate(); err != nil {
		t.Errorf("the zero policy: %v", err)
	}
}

var errTransient = errors.New("503 Service Unavailable")

func classify(err error) Verdict {
	if errors.Is(err, errTransient) {
		return Verdict{Retry: true, Reason: "5xx"}
	}
	return Verdict{Reason: "4xx"}
}

// drive advances clk each time the code under test starts to wait, until
// done is closed.
func drive(t *testing.T, clk *clock.Fake, done <-chan struct{}) []time.Duration {
	t.Helper()
	var waits []time.Duration
	for {
		select {
		case <-done:
			return waits
		default:
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
		err := clk.BlockUntil(ctx, 1)
		cancel()
		if err != nil {
			continue
		}
		at, ok := clk.NextDeadline()
		if !ok {
			continue
		}
		waits = append(waits, at.Sub(clk.Now()))
		clk.Set(at)
	}
}

func TestRetryWaitsOnTheClock(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(epoch)
	p := Policy{Initial: time.Second, MaxAttempts: 4, Rand: half}
	calls := 0
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		err = p.Retry(t.Context(), clk, classify, func(context.Context) error {
			calls++
			if calls < 3 {
				return errTransient
			}
			return nil
		})
	}()
	waits := drive(t, clk, done)
	if err != nil || calls != 3 {
		t.Fatalf("Retry = %v after %d calls", err, calls)
	}
	if len(waits) != 2 || waits[0] != time.Second || waits[1] != 2*time.Second {
		t.Errorf("waits %v, want [1s 2s]", waits)
	}
}

func TestRetryGivesUp(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(epoch)
	done := make(chan struct{})
	var err error
	calls := 0
	go func() {
		defer close(done)
		err = Policy{Initial: time.Second, MaxAttempts: 3}.Retry(t.Context(), clk, classify, func(context.Context) error {
			calls++
			return errTransient
		})
	}()
	drive(t, clk, done)
	var gu *GiveUpError
	if !errors.As(err, &gu) || gu.Attempts != 3 || calls != 3 || !errors.Is(err, errTransient) || gu.Reason != "5xx" {
		t.Fatalf("err = %#v (%v), calls %d", err, err, calls)
	}
	if gu.Elapsed != 3*time.Second || !strings.Contains(err.Error(), "after 3 attempt(s) in 3s") {
		t.Errorf("message %q, elapsed %v", err, gu.Elapsed)
	}

	final := errors.New("400 invalid_grant")
	calls = 0
	err = Policy{}.Retry(t.Context(), clk, classify, func(context.Context) error { calls++; return final })
	if !errors.Is(err, final) || errors.As(err, new(*GiveUpError)) || calls != 1 {
		t.Errorf("final error: %v after %d calls", err, calls)
	}
}

func TestRetryListensToContext(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(epoch)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- Policy{Initial: time.Hour}.Retry(ctx, clk, classify, func(context.Context) error { return errTransient })
	}()
	if err := clk.BlockUntil(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	err := <-done
	var gu *GiveUpError
	if !errors.Is(err, context.Canceled) || !errors.Is(err, errTransient) || !errors.As(err, &gu) || gu.Attempts != 1 {
		t.Fatalf("err = %v", err)
	}
	if clk.Waiters() != 0 {
		t.Errorf("%d timers left armed", clk.Waiters())
	}
	if err := (Policy{}).Retry(ctx, clk, classify, func(context.Context) error { t.Error("op called after cancel"); return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Retry on a done ctx = %v", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 2 * time.Minute, true},
		{" 3 ", 3 * time.Second, true},
		{"0", 0, true},
		{epoch.Add(90 * time.Second).Format(http1123), 90 * time.Second, true},
		{epoch.Add(-time.Minute).Format(http1123), 0, true},
		{"", 0, false},
		{"-1", 0, false},
		{"soon", 0, false},
		{"99999999999", 0, false},
	} {
		got, ok := ParseRetryAfter(tc.in, epoch)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"
