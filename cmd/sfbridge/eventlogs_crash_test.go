package main

import (
	"bufio"
	"encoding/json"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/keys"
)

// killAfterGrowth kills p with SIGKILL once the file at path has grown by
// delta bytes past base, or returns when done closes. The point of the
// kill is chosen in the collector's progress (what it wrote), not in time;
// the ticker only samples the file.
func killAfterGrowth(p *os.Process, path string, base, delta int64, done <-chan struct{}) bool {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return false
		case <-tick.C:
			if fi, err := os.Stat(path); err == nil && fi.Size() >= base+delta {
				_ = p.Kill() // SIGKILL: no deferred function, no flush runs
				return true
			}
		}
	}
}

func eventIDs(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var doc struct {
			Event struct {
				ID string `json:"id"`
			} `json:"event"`
		}
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil || doc.Event.ID == "" {
			t.Fatalf("%s line %d: not an event (%v): %.120q", path, len(ids)+1, err, sc.Text())
		}
		ids = append(ids, doc.Event.ID)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// crashOrg is an emulated org with about 9,700 events in event log files
// and SetupAuditTrail, a profile logged in to it, and the event ids of a
// clean collection of it.
type crashOrg struct {
	dir  string
	env  []string
	want []string
	// total is the size of the clean run's NDJSON file.
	total int64
}

func (o *crashOrg) sfbridge(args ...string) *exec.Cmd {
	cmd := exec.Command("sfbridge", args...)
	cmd.Env, cmd.Dir = o.env, o.dir
	return cmd
}

// collect is the collection every run of a crash test repeats, into output.
func (o *crashOrg) collect(output string, extra ...string) *exec.Cmd {
	args := append([]string{"eventlogs", "collect", "--since", "3d", "--type", "all", "--objects", "SetupAuditTrail", "--batch-events", "150",
		"--output", output, "--state", "sqlite:" + filepath.Join(o.dir, "state.db")}, extra...)
	return o.sfbridge(args...)
}

func newCrashOrg(t *testing.T) *crashOrg {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the CLI some 30 times")
	}
	if _, err := exec.LookPath("sfbridge"); err != nil {
		t.Skip("the sfbridge command of TestMain is not on PATH")
	}
	dir := t.TempDir()
	pair, err := keys.NewPair(nil, keys.CertificateOptions{Subject: "CN=crash", Days: 2, Backdate: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "server.key")
	if err := os.WriteFile(keyFile, pair.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	clientID := emulator.ConsumerKeyFor(pair.Cert)
	fx := emulator.DefaultFixture(clientID, pair.CertPEM)
	fx.EventMonitoring = &emulator.EventMonitoringSpec{RowsPerHour: 25, SampleDays: 1, Types: []string{"Login", "API", "URI"}, LateEvery: -1}
	// The org's clock stands still, so no file appears during the test.
	frozen := time.Now().UTC().Truncate(time.Second)
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	org, err := emulator.New(emulator.Config{Fixture: fx, BaseURL: base, Now: func() time.Time { return frozen }, LoginsPerHour: -1})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = org
	srv.Start()
	t.Cleanup(srv.Close)
	for _, n := range []int{4000, 2500} {
		if _, err := org.AddEventLogFile(emulator.EventLogFileSpec{EventType: "API", Rows: n}); err != nil {
			t.Fatal(err)
		}
	}
	o := &crashOrg{dir: dir, env: append(os.Environ(), "SFBRIDGE_CONFIG_DIR="+filepath.Join(dir, "cfg"), "NO_COLOR=1")}
	if out, err := o.sfbridge("login", "--client-id", clientID, "--jwt-key-file", keyFile, "--username", emulator.UserIntegration,
		"--instance-url", base, "--alias", "emu", "--set-default").CombinedOutput(); err != nil {
		t.Fatalf("login: %v\n%s", err, out)
	}
	ref := filepath.Join(dir, "ref.ndjson")
	if out, err := o.collect("ndjson:" + ref).CombinedOutput(); err != nil {
		t.Fatalf("reference run: %v\n%s", err, out)
	}
	o.want = eventIDs(t, ref)
	fi, err := os.Stat(ref)
	if err != nil {
		t.Fatal(err)
	}
	o.total = fi.Size()
	if len(o.want) < 6500 {
		t.Fatalf("reference: %d events; the test needs more", len(o.want))
	}
	return o
}

// killUntilDone runs cmd() until a run completes, killing runs with
// SIGKILL at the points kill picks: kill gets the process and a channel
// that closes when it exits, and reports whether it killed it. It returns
// the number of kills.
func killUntilDone(t *testing.T, cmd func() *exec.Cmd, kill func(p *os.Process, done <-chan struct{}) bool) int {
	t.Helper()
	kills := 0
	for run := 1; ; run++ {
		if run > 200 {
			t.Fatalf("no complete run after %d runs", run-1)
		}
		c := cmd()
		var stderr strings.Builder
		c.Stderr = &stderr
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		killedc := make(chan bool, 1)
		go func() { killedc <- kill(c.Process, done) }()
		err := c.Wait()
		close(done)
		if <-killedc && err != nil {
			kills++
			continue
		}
		if err != nil {
			t.Fatalf("run %d failed without being killed: %v\n%s", run, err, stderr.String())
		}
		return kills
	}
}

// killWhen kills p with SIGKILL once cond holds, or returns when done
// closes. The ticker only samples cond: the point of the kill is chosen in
// the collector's progress, not in time.
func killWhen(p *os.Process, cond func() bool, done <-chan struct{}) bool {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return false
		case <-tick.C:
			if cond() {
				_ = p.Kill() // SIGKILL: no deferred function, no flush runs
				return true
			}
		}
	}
}

// TestEventlogsCollectSurvivesKill9 kills `sfbridge eventlogs collect` at
// least 20 times at random points of its downloads, resuming each time,
// and checks the NDJSON file then holds every event of a clean run once.
func TestEventlogsCollectSurvivesKill9(t *testing.T) {
	o := newCrashOrg(t)
	out := filepath.Join(o.dir, "out.ndjson")
	rng := rand.New(rand.NewPCG(uint64(time.Now().Unix()), 16))
	kills := killUntilDone(t, func() *exec.Cmd { return o.collect("ndjson:" + out) }, func(p *os.Process, done <-chan struct{}) bool {
		var base int64
		if fi, err := os.Stat(out); err == nil {
			base = fi.Size()
		}
		// Kill once the output grew by 0 to 2.5 % of the whole: sometimes
		// before the first write, mostly between writes and commits.
		return killAfterGrowth(p, out, base, rng.Int64N(o.total/40), done)
	})
	// About 40 kills are expected; a loaded machine notices the growth
	// late and kills fewer times, but issue 16 asks for at least 20.
	if kills < 20 {
		t.Fatalf("only %d kills before the collection completed", kills)
	}
	got := eventIDs(t, out)
	seen := make(map[string]int, len(got))
	for _, id := range got {
		seen[id]++
		if seen[id] == 2 {
			t.Errorf("event %s delivered twice", id)
		}
	}
	for _, id := range o.want {
		if seen[id] != 1 {
			t.Errorf("event %s delivered %d times", id, seen[id])
		}
	}
	if len(got) != len(o.want) {
		t.Errorf("%d events after %d kills, want %d", len(got), kills, len(o.want))
	}
	t.Logf("%d kills, %d events, each once", kills, len(got))
}
