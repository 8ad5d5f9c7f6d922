package daemon

import (
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/internal/clock"
)

func TestBudgetCapsTheChecksShareOfTheDailyAllocation(t *testing.T) {
	fake := clock.NewFake(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	b := NewBudget(fake, 0.01)
	for range 50 {
		b.Count()
	}
	if over, _ := b.Over(); over {
		t.Fatal("over budget before the allocation is known")
	}
	b.ObserveLimit(1000) // 1% of 1,000 = 10 calls a day, 50 spent
	over, why := b.Over()
	if !over {
		t.Fatal("50 calls of a 10-call budget are not over it")
	}
	for _, want := range []string{"50 API calls", "budget is 10", "1% of the org's daily 1000", "resume in 24h0m0s"} {
		if !strings.Contains(why, want) {
			t.Errorf("reason %q lacks %q", why, want)
		}
	}
	if got := b.Wait(); got != 24*time.Hour {
		t.Errorf("Wait = %s, want 24h", got)
	}
	fake.Advance(24*time.Hour + time.Second)
	if over, why := b.Over(); over {
		t.Errorf("still over once the calls left the 24-hour window: %s", why)
	}
	// Spread calls: room again when the oldest leaves the window.
	for range 10 {
		b.Count()
		fake.Advance(time.Hour)
	}
	if got, want := b.Wait(), 14*time.Hour; got != want {
		t.Errorf("Wait = %s, want %s", got, want)
	}
	var none *Budget
	if over, _ := none.Over(); over || none.Wait() != 0 {
		t.Error("a nil budget limits")
	}
}

// FuzzBudgetMerge: whatever a stored budget holds, Merge never panics,
// refuses what it cannot read, and a budget merged with its own snapshot
// counts what it counted.
func FuzzBudgetMerge(f *testing.F) {
	f.Add([]byte(`{"v":1,"minutes":[[29941200,2],[29941202,1]]}`))
	f.Add([]byte(`{"v":1,"minutes":[[-5,3],[29941200,-2]]}`))
	f.Add([]byte(`{"v":1,"minutes":[[99999999999,1]]}`))
	f.Add([]byte(`{"v":2}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		clk := clock.NewFake(time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC))
		b := NewBudgetFor(clk, 0.5, "pipeline x")
		b.ObserveLimit(1000)
		if err := b.Merge(data); err != nil {
			return
		}
		used, _ := b.Used()
		if err := b.Merge(b.Snapshot()); err != nil {
			t.Fatalf("merging its own snapshot: %v", err)
		}
		if again, _ := b.Used(); again != used {
			t.Fatalf("merging its own snapshot moved the count from %d to %d", used, again)
		}
		if w := b.Reserve(); w < 0 || w > budgetWindow {
			t.Fatalf("Reserve waits %s", w)
		}
	})
}
