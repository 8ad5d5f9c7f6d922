package clock

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

var epoch = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func TestFakeTimerFiresAtDeadlineNotBefore(t *testing.T) {
	c := NewFake(epoch)
	tm := c.NewTimer(10 * time.Second)
	c.Advance(9 * time.Second)
	select {
	case <-tm.C():
		t.Fatal("timer fired 1s early")
	default:
	}
	c.Advance(time.Second)
	select {
	case got := <-tm.C():
		if !got.Equal(epoch.Add(10 * time.Second)) {
			t.Fatalf("fired with %v, want the deadline %v", got, epoch.Add(10*time.Second))
		}
	default:
		t.Fatal("timer did not fire at its deadline")
	}
	if tm.Stop() {
		t.Error("Stop after firing reported true")
	}
}

func TestFakeFiresEachTimerWithItsOwnDeadline(t *testing.T) {
	c := NewFake(epoch)
	ds := []time.Duration{3 * time.Second, time.Second, 2 * time.Second}
	var timers []Timer
	for _, d := range ds {
		timers = append(timers, c.NewTimer(d))
	}
	// A timer armed by an AfterFunc callback at +1s for +1s more must fire
	// within the same Advance, at +2s.
	chained := make(chan Timer, 1)
	c.AfterFunc(time.Second, func() { chained <- c.NewTimer(time.Second) })
	c.Advance(time.Minute)
	for i, tm := range timers {
		if got := <-tm.C(); !got.Equal(epoch.Add(ds[i])) {
			t.Errorf("timer %d fired with %v, want its deadline %v", i, got, epoch.Add(ds[i]))
		}
	}
	if !c.Now().Equal(epoch.Add(time.Minute)) {
		t.Fatalf("Now = %v after Advance(1m)", c.Now())
	}
	late := <-chained // armed after Advance returned, so relative to +1m
	c.Advance(time.Second)
	if got := <-late.C(); !got.Equal(epoch.Add(time.Minute + time.Second)) {
		t.Fatalf("late timer fired with %v", got)
	}
}

func TestFakeTickerRearmsAndDropsUntakenTicks(t *testing.T) {
	c := NewFake(epoch)
	tk := c.NewTicker(time.Second)
	c.Advance(5 * time.Second) // five ticks, the reader takes none: one is kept
	select {
	case got := <-tk.C():
		if !got.Equal(epoch.Add(time.Second)) {
			t.Fatalf("kept tick = %v, want the first one", got)
		}
	default:
		t.Fatal("no tick")
	}
	select {
	case <-tk.C():
		t.Fatal("a dropped tick was delivered")
	default:
	}
	if d, ok := c.NextDeadline(); !ok || !d.Equal(epoch.Add(6*time.Second)) {
		t.Fatalf("next deadline = %v %v, want +6s", d, ok)
	}
	tk.Stop()
	if c.Waiters() != 0 {
		t.Fatalf("waiters after Stop = %d", c.Waiters())
	}
}

func TestFakeResetClearsStaleValue(t *testing.T) {
	c := NewFake(epoch)
	tm := c.NewTimer(time.Second)
	c.Advance(time.Second)
	if tm.Reset(time.Minute) {
		t.Error("Reset of a fired timer reported it active")
	}
	select {
	case <-tm.C():
		t.Fatal("stale value after Reset")
	default:
	}
	c.Advance(time.Minute)
	<-tm.C()
}

func TestSleepReturnsOnAdvanceOrCancel(t *testing.T) {
	c := NewFake(epoch)
	ctx := t.Context()
	errc := make(chan error, 1)
	go func() { errc <- Sleep(ctx, c, time.Hour) }()
	if err := c.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Hour)
	if err := <-errc; err != nil {
		t.Fatalf("Sleep = %v, want nil", err)
	}

	cctx, cancel := context.WithCancel(ctx)
	go func() { errc <- Sleep(cctx, c, time.Hour) }()
	if err := c.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep after cancel = %v", err)
	}
	if c.Waiters() != 0 {
		t.Fatalf("Sleep left %d timers armed", c.Waiters())
	}
}

func TestFakeAfterFuncStop(t *testing.T) {
	c := NewFake(epoch)
	var n atomic.Int32
	tm := c.AfterFunc(time.Second, func() { n.Add(1) })
	if !tm.Stop() {
		t.Fatal("Stop of an armed AfterFunc reported false")
	}
	c.Advance(time.Hour)
	if n.Load() != 0 {
		t.Fatal("stopped AfterFunc ran")
	}
}

func TestAdvanceBackwardFiresNothing(t *testing.T) {
	c := NewFake(epoch)
	tm := c.NewTimer(time.Second)
	c.Advance(-time.Hour)
	if !c.Now().Equal(epoch.Add(-time.Hour)) {
		t.Fatalf("Now = %v", c.Now())
	}
	select {
	case <-tm.C():
		t.Fatal("fired on a backward move")
	default:
	}
}

func TestRealClockSleep(t *testing.T) {
	if err := Sleep(t.Context(), nil, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if Or(nil).Since(time.Now().Add(-time.Second)) < time.Second {
		t.Fatal("real Since runs backwards")
	}
}

// Jump moves the time without firing what falls due; the next Advance
// fires it, late, as a resumed process sees its timers.
func TestFakeJumpFiresNothingUntilTheNextAdvance(t *testing.T) {
	f := NewFake(epoch)
	tm := f.NewTimer(10 * time.Second)
	f.Jump(31 * time.Second)
	if got := f.Now(); !got.Equal(epoch.Add(31 * time.Second)) {
		t.Fatalf("Now after Jump = %v", got)
	}
	select {
	case <-tm.C():
		t.Fatal("Jump fired a timer")
	default:
	}
	f.Advance(0)
	select {
	case at := <-tm.C():
		if !at.Equal(epoch.Add(31 * time.Second)) {
			t.Fatalf("the late timer fired at %v, want the time it was noticed", at)
		}
	default:
		t.Fatal("the next Advance did not fire the overdue timer")
	}
}
