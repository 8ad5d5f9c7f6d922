package clock

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Fake is a clock that moves only when told to, for tests. Advance and Set
// fire every timer, ticker and AfterFunc that falls due, in deadline order,
// with the clock reading each one's deadline as it fires.
//
// The zero value is not usable; call NewFake.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	seq     uint64
	waiters map[*fakeTimer]struct{}
	changed chan struct{} // closed and replaced whenever waiters change
}

// NewFake returns a fake clock that reads start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, waiters: map[*fakeTimer]struct{}{}, changed: make(chan struct{})}
}

// Now reports the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Since is Now().Sub(t).
func (f *Fake) Since(t time.Time) time.Duration { return f.Now().Sub(t) }

// Advance moves the clock forward by d, firing what falls due. A negative d
// moves it back without firing anything.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	target := f.now.Add(d)
	f.mu.Unlock()
	f.Set(target)
}

// Set moves the clock to t, firing (in order) whatever falls due on the way.
func (f *Fake) Set(t time.Time) {
	for {
		f.mu.Lock()
		next := f.nextDueLocked(t)
		if next == nil {
			f.now = t
			f.mu.Unlock()
			return
		}
		if next.when.After(f.now) {
			f.now = next.when
		}
		fire := next.fireLocked(f)
		f.mu.Unlock()
		fire()
	}
}

// Jump moves the time forward by d without firing the timers and tickers
// that fall due on the way: they fire, late, at the next Advance or Set,
// as a process stopped (SIGSTOP, a frozen VM) and resumed finds them. A
// test uses it to make another party act while this one is paused.
func (f *Fake) Jump(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// Waiters reports how many timers and tickers are armed.
func (f *Fake) Waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waiters)
}

// BlockUntil waits until at least n timers or tickers are armed, so a test
// can advance the clock exactly when the code under test has started to
// wait. It returns ctx.Err() if ctx ends first.
func (f *Fake) BlockUntil(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		if len(f.waiters) >= n {
			f.mu.Unlock()
			return nil
		}
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// NextDeadline reports the earliest armed deadline, and false if nothing is
// armed.
func (f *Fake) NextDeadline() (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var (
		best  time.Time
		found bool
	)
	for t := range f.waiters {
		if !found || t.when.Before(best) {
			best, found = t.when, true
		}
	}
	return best, found
}

func (f *Fake) nextDueLocked(limit time.Time) *fakeTimer {
	var due []*fakeTimer
	for t := range f.waiters {
		if !t.when.After(limit) {
			due = append(due, t)
		}
	}
	if len(due) == 0 {
		return nil
	}
	sort.Slice(due, func(i, j int) bool {
		if !due[i].when.Equal(due[j].when) {
			return due[i].when.Before(due[j].when)
		}
		return due[i].seq < due[j].seq
	})
	return due[0]
}

func (f *Fake) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *Fake) armLocked(t *fakeTimer, d time.Duration) {
	f.seq++
	t.seq = f.seq
	t.when = f.now.Add(d)
	f.waiters[t] = struct{}{}
	f.notifyLocked()
}

func (f *Fake) disarmLocked(t *fakeTimer) bool {
	if _, ok := f.waiters[t]; !ok {
		return false
	}
	delete(f.waiters, t)
	f.notifyLocked()
	return true
}

// NewTimer starts a fake timer.
func (f *Fake) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{clock: f, ch: make(chan time.Time, 1)}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armLocked(t, d)
	return t
}

// AfterFunc calls fn in its own goroutine when the fake clock passes d.
func (f *Fake) AfterFunc(d time.Duration, fn func()) Timer {
	t := &fakeTimer{clock: f, fn: fn}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armLocked(t, d)
	return t
}

// NewTicker starts a fake ticker. Like time.Ticker it drops ticks the reader
// has not taken.
func (f *Fake) NewTicker(d time.Duration) Ticker {
	if d <= 0 {
		panic("clock: non-positive interval for NewTicker")
	}
	t := &fakeTimer{clock: f, ch: make(chan time.Time, 1), period: d}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armLocked(t, d)
	return fakeTicker{t}
}

type fakeTimer struct {
	clock  *Fake
	ch     chan time.Time
	fn     func()
	period time.Duration
	when   time.Time
	seq    uint64
}

// fireLocked disarms (or re-arms a ticker) and returns what to do outside
// the lock.
func (t *fakeTimer) fireLocked(f *Fake) func() {
	now := f.now
	delete(f.waiters, t)
	if t.period > 0 {
		f.seq++
		t.seq = f.seq
		t.when = t.when.Add(t.period)
		f.waiters[t] = struct{}{}
	}
	f.notifyLocked()
	if t.fn != nil {
		fn := t.fn
		return func() { go fn() }
	}
	return func() {
		select {
		case t.ch <- now:
		default: // a tick the reader has not taken is dropped
		}
	}
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	return t.clock.disarmLocked(t)
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	was := t.clock.disarmLocked(t)
	if t.ch != nil {
		select { // as Go 1.23 timers: no stale value after Reset
		case <-t.ch:
		default:
		}
	}
	t.clock.armLocked(t, d)
	return was
}

type fakeTicker struct{ t *fakeTimer }

func (k fakeTicker) C() <-chan time.Time { return k.t.ch }
func (k fakeTicker) Stop()               { k.t.Stop() }
func (k fakeTicker) Reset(d time.Duration) {
	if d <= 0 {
		panic("clock: non-positive interval for Ticker.Reset")
	}
	k.t.clock.mu.Lock()
	defer k.t.clock.mu.Unlock()
	k.t.clock.disarmLocked(k.t)
	k.t.period = d
	k.t.clock.armLocked(k.t, d)
}
