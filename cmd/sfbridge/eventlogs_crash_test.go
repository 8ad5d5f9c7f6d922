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

// TestEventlogsCollectSurvivesKill9 kills `sfbridge eventlogs collect` at
// least 20 times at random points of its downloads, resuming each time,
// and checks the NDJSON file then holds every event of a clean run once.
func TestEventlogsCollectSurvivesKill9(t *testing.T) {
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
	defer srv.Close()
	for _, n := range []int{4000, 2500} {
		if _, err := org.AddEventLogFile(emulator.EventLogFileSpec{EventType: "API", Rows: n}); err != nil {
			t.Fatal(err)
		}
	}

	env := append(os.Environ(), "SFBRIDGE_CONFIG_DIR="+filepath.Join(dir, "cfg"), "NO_COLOR=1")
	sfbridge := func(args ...string) *exec.Cmd {
		cmd := exec.Command("sfbridge", args...)
		cmd.Env, cmd.Dir = env, dir
		return cmd
	}
	if out, err := sfbridge("login", "--client-id", clientID, "--jwt-key-file", keyFile, "--username", emulator.UserIntegration,
		"--instance-url", base, "--alias", "emu", "--set-default").CombinedOutput(); err != nil {
		t.Fatalf("login: %v\n%s", err, out)
	}
	collect := func(output string) *exec.Cmd {
		return sfbridge("eventlogs", "collect", "--since", "3d", "--type", "all", "--objects", "SetupAuditTrail", "--batch-events", "150",
			"--output", "ndjson:"+output, "--state", "sqlite:"+filepath.Join(dir, "state.db"))
	}
	if out, err := collect("ref.ndjson").CombinedOutput(); err != nil {
		t.Fatalf("reference run: %v\n%s", err, out)
	}
	want := eventIDs(t, filepath.Join(dir, "ref.ndjson"))
	fi, err := os.Stat(filepath.Join(dir, "ref.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	total := fi.Size()
	if len(want) < 6500 {
		t.Fatalf("reference: %d events; the test needs more", len(want))
	}
	out := filepath.Join(dir, "out.ndjson")

	rng := rand.New(rand.NewPCG(uint64(frozen.Unix()), 16))
	kills := 0
	for run := 1; ; run++ {
		if run > 200 {
			t.Fatalf("no complete run after %d runs", run-1)
		}
		cmd := collect("out.ndjson")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		var base int64
		if fi, err := os.Stat(out); err == nil {
			base = fi.Size()
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill once the output grew by 0 to 4 % of the whole: sometimes
		// before the first write, mostly between writes and commits.
		done := make(chan struct{})
		killedc := make(chan bool, 1)
		delta := rng.Int64N(total / 25)
		go func() { killedc <- killAfterGrowth(cmd.Process, out, base, delta, done) }()
		err := cmd.Wait()
		close(done)
		if <-killedc && err != nil {
			kills++
			continue
		}
		if err != nil {
			t.Fatalf("run %d failed without being killed: %v\n%s", run, err, stderr.String())
		}
		break
	}
	if kills < 20 {
		t.Fatalf("only %d kills before the collection completed", kills)
	}
	got := eventIDs(t, filepath.Join(dir, "out.ndjson"))
	seen := make(map[string]int, len(got))
	for _, id := range got {
		seen[id]++
		if seen[id] == 2 {
			t.Errorf("event %s delivered twice", id)
		}
	}
	for _, id := range want {
		if seen[id] != 1 {
			t.Errorf("event %s delivered %d times", id, seen[id])
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d events after %d kills, want %d", len(got), kills, len(want))
	}
	t.Logf("%d kills, %d events, each once", kills, len(got))
}
