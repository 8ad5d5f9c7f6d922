package webhook

import (
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/state"
	"github.com/sfbridge/sfbridge/state/statetest"
)

// Two replicas on one store: only the lease holder delivers; one that
// stalled in a POST past the lease's TTL cannot move the cursor when it
// wakes, and stands by.
func TestOnlyTheLeaseHolderDelivers(t *testing.T) {
	engines := map[string]func(testing.TB) string{"sqlite": statetest.SQLiteURL, "postgres": statetest.PostgresURL}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			testOnlyTheLeaseHolderDelivers(t, newEnv(t, engines[name](t), state.Options{}))
		})
	}
}

func testOnlyTheLeaseHolderDelivers(t *testing.T, e *env) {
	t.Helper()
	e.write(t, casesTopic, "e1", "case.created")
	e.write(t, casesTopic, "e2", "case.updated")
	inA, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	letGo := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(letGo) // before the receiver closes, or its Close waits forever
	e.rcv.setAnswer(func(n int, _ delivery, _ http.ResponseWriter) int {
		if n == 0 { // replica A's first POST hangs, as in a long GC pause
			close(inA)
			<-release
		}
		return http.StatusOK
	})
	ttl := 2 * time.Minute
	cfgA := e.config(e.rcv.srv.URL, "replica-a")
	cfgA.LeaseTTL, cfgA.AttemptTimeout = ttl, time.Minute
	cfgB := cfgA
	cfgB.Owner = "replica-b"
	a, _ := start(t, cfgA)
	select {
	case <-inA:
	case <-time.After(60 * time.Second):
		t.Fatal("replica A never posted")
	}
	b, _ := start(t, cfgB)
	eventually(t, "replica B to stand by", func() bool { return b.Status().State == StateStandby && e.clk.Waiters() >= 1 })
	if st := a.Status(); !st.Holder {
		t.Fatalf("replica A does not hold the lease: %+v", st)
	}
	if n := len(e.rcv.ids()); n != 0 {
		t.Fatalf("%d requests finished while A held the lease; want none (B must wait)", n)
	}

	// A's lease runs out while it waits for the receiver; B takes over
	// and delivers both events.
	e.clk.Advance(ttl)
	eventually(t, "replica B to deliver both events", func() bool { return b.Status().Delivered == 2 })
	if st := b.Status(); !st.Holder {
		t.Fatalf("replica B does not hold the lease: %+v", st)
	}
	cpB, seqB := cursorOf(t, e.st, casesTopic)

	// A's POST now succeeds, but its commit is fenced off.
	letGo()
	eventually(t, "replica A to notice it lost the lease", func() bool {
		st := a.Status()
		return st.Failed == 1 && st.State == StateStandby
	})
	cp, seq := cursorOf(t, e.st, casesTopic)
	if cp.Version != cpB.Version || seq != seqB || seq != 2 || cp.Token != cpB.Token {
		t.Fatalf("cursor at version %d seq %d token %d after A woke; want B's version %d seq 2 token %d",
			cp.Version, seq, cp.Token, cpB.Version, cpB.Token)
	}
	if a.Status().Delivered != 0 {
		t.Errorf("A counted a delivery it could not record: %+v", a.Status())
	}
	// The receiver saw e1 twice (at least once), and B's deliveries in
	// order.
	if ids := e.rcv.ids(); !slices.Equal(ids, []string{"e1", "e2", "e1"}) {
		t.Errorf("requests finished in order %v; want B's e1, e2, then A's late e1", ids)
	}
	// New events go to B only.
	e.write(t, casesTopic, "e3", "case.updated")
	deadline := time.Now().Add(60 * time.Second)
	for b.Status().Delivered != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("B did not deliver e3 within 60s: %+v", b.Status())
		}
		e.clk.Advance(time.Second)
		time.Sleep(time.Millisecond)
	}
	if a.Status().Holder || a.Status().Delivered != 0 {
		t.Errorf("A delivered while B held the lease: %+v", a.Status())
	}
}
