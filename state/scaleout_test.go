package state_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/state"
	"github.com/sfbridge/sfbridge/state/statetest"
)

// The scale-out proof: three real processes share one PostgreSQL database
// and run a small component under one lease. Killing the holder with
// SIGKILL hands the work to another within TTL + 1 s; stopping the holder
// (SIGSTOP) past its TTL and resuming it commits nothing of its own.

const (
	workerEnv  = "SFBRIDGE_SCALEOUT_WORKER"
	workerURL  = "SFBRIDGE_SCALEOUT_URL"
	scaleTTL   = 2 * time.Second
	scaleLease = "acme/eventlogs"
)

var scaleKey = state.CheckpointKey{Org: "acme", Pipeline: "eventlogs", Key: "cursor"}

type event struct {
	worker  string
	kind    string // ACQUIRED, COMMIT, FENCED, LOST
	token   int64
	version int64
	at      time.Time
}

func TestScaleOutThreeReplicas(t *testing.T) {
	if id := os.Getenv(workerEnv); id != "" {
		runWorker(t, id, os.Getenv(workerURL))
		return
	}
	if testing.Short() {
		t.Skip("starts three processes for about 10 s")
	}
	// A transaction stalled by SIGSTOP is ended by the server after 1 s.
	url := statetest.PostgresURL(t) + "&idle_in_transaction_session_timeout=1000"
	st, err := state.Open(t.Context(), url, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	events := make(chan event, 1000)
	procs := map[string]*exec.Cmd{}
	var wg sync.WaitGroup
	for _, id := range []string{"r1", "r2", "r3"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestScaleOutThreeReplicas$", "-test.count=1")
		cmd.Env = append(os.Environ(), workerEnv+"="+id, workerURL+"="+url)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs[id] = cmd
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGCONT)
			_ = cmd.Process.Kill()
		})
		wg.Go(func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				if len(f) < 3 || f[0] != "WORKER" {
					continue
				}
				e := event{worker: id, kind: f[1], at: time.Now()}
				e.token, _ = strconv.ParseInt(f[2], 10, 64)
				if len(f) > 3 {
					e.version, _ = strconv.ParseInt(f[3], 10, 64)
				}
				events <- e
			}
		})
	}
	defer func() {
		for _, c := range procs {
			_ = c.Process.Signal(syscall.SIGCONT)
			_ = c.Process.Kill()
			_ = c.Wait()
		}
		wg.Wait()
	}()

	versions := map[int64]string{} // every committed version, by whom
	var log []event
	wait := func(what string, limit time.Duration, match func(e event) bool) event {
		t.Helper()
		deadline := time.After(limit)
		for {
			select {
			case e := <-events:
				log = append(log, e)
				if e.kind == "COMMIT" {
					if prev, dup := versions[e.version]; dup {
						t.Fatalf("version %d committed twice, by %s and %s", e.version, prev, e.worker)
					}
					versions[e.version] = e.worker
				}
				if match(e) {
					return e
				}
			case <-deadline:
				t.Fatalf("%s: nothing within %s; events so far: %+v", what, limit, log)
			}
		}
	}
	commitsBy := func(worker string, token int64, n int) {
		t.Helper()
		seen := 0
		wait(fmt.Sprintf("%d commits by %s", n, worker), 5*time.Second, func(e event) bool {
			if e.kind == "COMMIT" && e.worker == worker && e.token == token {
				seen++
			}
			return seen >= n
		})
	}

	// One replica takes the lease and works.
	first := wait("first acquisition", 15*time.Second, func(e event) bool { return e.kind == "ACQUIRED" })
	commitsBy(first.worker, first.token, 3)

	// SIGKILL the holder: another takes over within TTL + 1 s.
	killed := time.Now()
	if err := procs[first.worker].Process.Kill(); err != nil {
		t.Fatal(err)
	}
	second := wait("takeover after SIGKILL", scaleTTL+3*time.Second, func(e event) bool {
		return e.kind == "ACQUIRED" && e.worker != first.worker
	})
	if took := second.at.Sub(killed); took > scaleTTL+time.Second {
		t.Fatalf("takeover after SIGKILL took %s, want at most TTL + 1 s = %s", took, scaleTTL+time.Second)
	} else {
		t.Logf("takeover after SIGKILL: %s (TTL %s)", took.Round(time.Millisecond), scaleTTL)
	}
	if second.token != first.token+1 {
		t.Fatalf("new owner's token = %d, want %d", second.token, first.token+1)
	}
	commitsBy(second.worker, second.token, 3)

	// SIGSTOP the new holder past its TTL: the third takes over.
	stalled := procs[second.worker]
	if err := stalled.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	third := wait("takeover after SIGSTOP", scaleTTL+3*time.Second, func(e event) bool {
		return e.kind == "ACQUIRED" && e.worker != second.worker
	})
	if took := third.at.Sub(stopped); took > scaleTTL+time.Second {
		t.Fatalf("takeover after SIGSTOP took %s, want at most %s", took, scaleTTL+time.Second)
	}
	commitsBy(third.worker, third.token, 3)

	// SIGCONT: the stalled replica finds itself fenced and commits nothing.
	if err := stalled.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	resumed := time.Now()
	fenced := wait("the resumed replica noticing it lost the lease", 5*time.Second, func(e event) bool {
		if e.worker == second.worker && e.kind == "COMMIT" && e.at.After(resumed) {
			t.Fatalf("the resumed replica committed version %d with stale token %d", e.version, e.token)
		}
		return e.worker == second.worker && (e.kind == "FENCED" || e.kind == "LOST")
	})
	t.Logf("resumed replica: %s with token %d", fenced.kind, fenced.token)
	commitsBy(third.worker, third.token, 3)

	cp, err := st.Checkpoint(t.Context(), scaleKey)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Token != third.token || !strings.HasPrefix(string(cp.Value), third.worker+"/") {
		t.Fatalf("checkpoint %q written under token %d, want the current holder %s (token %d)", cp.Value, cp.Token, third.worker, third.token)
	}
	if int(cp.Version) < len(versions) {
		t.Fatalf("checkpoint at version %d, but %d commits were reported", cp.Version, len(versions))
	}
}

// runWorker is one replica: it competes for the lease, and while it holds
// it advances the checkpoint every 100 ms (commit first, then renew, so a
// replica resumed after a stall tries a stale write before anything else).
func runWorker(t *testing.T, id, url string) {
	t.Helper()
	ctx := context.Background()
	c := clock.Real()
	st, err := state.Open(ctx, url, state.Options{Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var held *state.Lease
	lastRenew := time.Time{}
	for n := 0; ; n++ {
		if held == nil {
			l, err := st.AcquireLease(ctx, scaleLease, id, scaleTTL)
			var busy *state.LeaseHeldError
			switch {
			case errors.As(err, &busy):
			case err != nil:
				fmt.Fprintln(os.Stderr, id, "acquire:", err)
			default:
				held, lastRenew = &l, c.Now()
				fmt.Printf("WORKER ACQUIRED %d\n", l.Token)
			}
		}
		if held != nil {
			cur, err := st.Checkpoint(ctx, scaleKey)
			if err != nil && !errors.Is(err, state.ErrNotFound) {
				fmt.Fprintln(os.Stderr, id, "read:", err)
			}
			got, err := st.Commit(ctx, state.Commit{Key: scaleKey, Expect: cur.Version, Value: fmt.Appendf(nil, "%s/%d", id, n), Fence: state.FenceOf(*held)})
			switch {
			case errors.Is(err, state.ErrFenced):
				fmt.Printf("WORKER FENCED %d\n", held.Token)
				held = nil
			case err != nil:
				fmt.Fprintln(os.Stderr, id, "commit:", err)
			default:
				fmt.Printf("WORKER COMMIT %d %d\n", got.Token, got.Version)
			}
		}
		if held != nil && c.Since(lastRenew) >= scaleTTL/4 {
			l, err := st.RenewLease(ctx, *held, scaleTTL)
			switch {
			case errors.Is(err, state.ErrFenced):
				fmt.Printf("WORKER LOST %d\n", held.Token)
				held = nil
			case err != nil:
				fmt.Fprintln(os.Stderr, id, "renew:", err)
			default:
				held, lastRenew = &l, c.Now()
			}
		}
		if err := clock.Sleep(ctx, c, 100*time.Millisecond); err != nil {
			return
		}
	}
}
