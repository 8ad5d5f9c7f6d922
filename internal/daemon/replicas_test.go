package daemon

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/servicedesk"
	"github.com/sfbridge/sfbridge/sftest"
	"github.com/sfbridge/sfbridge/state"
	"github.com/sfbridge/sfbridge/state/statetest"
)

// replica is one `sfbridge serve` process of the three-replica test.
type replica struct {
	n    int
	cmd  *exec.Cmd
	base string
	logs *syncBuffer
	dead bool
}

func (r *replica) status(t *testing.T) (OrgStatus, bool) {
	t.Helper()
	// A stopped process still accepts connections (the kernel does) but
	// never answers: give up on it after a while.
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(r.base + "/v1/orgs/acme")
	if err != nil {
		return OrgStatus{}, false
	}
	defer resp.Body.Close()
	var st OrgStatus
	if json.NewDecoder(resp.Body).Decode(&st) != nil {
		return OrgStatus{}, false
	}
	return st, true
}

// Three real `sfbridge serve` processes share one PostgreSQL store: every
// (org, pipeline) runs on exactly one; a replica killed with SIGKILL
// leaves its work to another within the lease TTL; one stopped with
// SIGSTOP and continued commits nothing stale; and across the whole run
// no case event or event-log row is lost or written twice.
func TestThreeReplicasOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/sfbridge and runs three processes")
	}
	url := statetest.PostgresURL(t)
	s := sftest.NewServer(t)
	if err := s.Org.AddSampleRecords(1); err != nil {
		t.Fatal(err)
	}
	const files, rows = 3, 5
	for range files {
		if _, err := s.Org.AddEventLogFile(emulator.EventLogFileSpec{EventType: "Login", Rows: rows}); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "sfbridge")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/sfbridge")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ndjsonPath := filepath.Join(dir, "eventlogs.ndjson")
	conf := filepath.Join(dir, "sfbridge.yaml")
	const ttl = 4 * time.Second
	y := fmt.Sprintf(`state: %q
lease_ttl: %s
doctor_interval: 0s
orgs:
  - alias: acme
    client_id: %s
    username: %s
    login_url: %s
    audience: %s
    key: {file: %s}
    eventlogs: {types: [Login], since: 2d, poll: 1m, output: {ndjson: %s}}
    cases: {poll: 5s}
    knowledge: {interval: 1m}
    employees: {interval: 1m}
`, url, ttl, s.ClientID, s.Username("integration"), s.URL, s.URL, s.KeyFile, ndjsonPath)
	if err := os.WriteFile(conf, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	reps := make([]*replica, 3)
	for i := range reps {
		info := filepath.Join(dir, fmt.Sprintf("r%d.json", i))
		r := &replica{n: i, logs: &syncBuffer{}}
		r.cmd = exec.Command(bin, "serve", "--config", conf, "--state-dir", filepath.Join(dir, fmt.Sprintf("r%d", i)),
			"--listen", "127.0.0.1:0", "--info-file", info, "--log-level", "info")
		r.cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
		r.cmd.Stdout, r.cmd.Stderr = r.logs, r.logs
		if err := r.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if !r.dead {
				_ = r.cmd.Process.Signal(syscall.SIGCONT)
				_ = r.cmd.Process.Signal(syscall.SIGTERM)
				_ = r.cmd.Wait()
			}
			if t.Failed() {
				t.Logf("replica %d logs:\n%s", r.n, r.logs.String())
			}
		})
		waitLong(t, fmt.Sprintf("replica %d to listen", i), func() bool {
			b, err := os.ReadFile(info)
			var inf struct{ URL string }
			if err != nil || json.Unmarshal(b, &inf) != nil || inf.URL == "" {
				return false
			}
			r.base = inf.URL
			return true
		})
		reps[i] = r
	}
	names := []string{"eventlogs", "cases", "knowledge", "employees", "journal"}
	// runners maps each pipeline to the live replicas that run it.
	runners := func() map[string][]int {
		out := map[string][]int{}
		for _, r := range reps {
			if r.dead {
				continue
			}
			st, ok := r.status(t)
			if !ok {
				continue
			}
			for _, n := range names {
				if pipelineOf(st, n).State == StateRunning {
					out[n] = append(out[n], r.n)
				}
			}
		}
		return out
	}
	spread := func(what string, exclude int) {
		t.Helper()
		waitLong(t, what, func() bool {
			h := runners()
			for _, n := range names {
				if len(h[n]) != 1 || h[n][0] == exclude {
					return false
				}
			}
			return true
		})
	}
	spread("every pipeline on exactly one replica", -1)

	// Cases keep being created during the whole run.
	var mu sync.Mutex
	var created []string
	stopCases := make(chan struct{})
	casesDone := make(chan struct{})
	go func() {
		defer close(casesDone)
		for i := 0; ; i++ {
			select {
			case <-stopCases:
				return
			case <-time.After(300 * time.Millisecond):
			}
			id, err := s.Org.Store().Insert("Case", "", map[string]any{"Subject": fmt.Sprintf("replica test %d", i), "Status": "New", "Origin": "Web"})
			if err == nil {
				mu.Lock()
				created = append(created, string(id))
				mu.Unlock()
			}
		}
	}()
	defer func() {
		select {
		case <-stopCases:
		default:
			close(stopCases)
		}
		<-casesDone
	}()

	// kill -9 the replica running cases: another takes it over.
	victim := reps[runners()["cases"][0]]
	killed := time.Now()
	if err := victim.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = victim.cmd.Wait()
	victim.dead = true
	spread("the killed replica's pipelines to move", victim.n)
	t.Logf("cases moved %.1fs after kill -9 (lease TTL %s)", time.Since(killed).Seconds(), ttl)

	// SIGSTOP the replica running cases past its lease, then continue it.
	paused := reps[runners()["cases"][0]]
	if err := paused.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	spread("the paused replica's pipelines to move", paused.n)
	time.Sleep(ttl) // let the new holder commit under its own token
	if err := paused.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitLong(t, "the continued replica to answer", func() bool { _, ok := paused.status(t); return ok })
	time.Sleep(2 * ttl)
	spread("every pipeline on exactly one replica after the pause", -1)

	close(stopCases)
	<-casesDone
	mu.Lock()
	want := append([]string(nil), created...)
	mu.Unlock()

	st, err := state.Open(t.Context(), url, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	waitLong(t, "a case.created event for every case created", func() bool {
		recs, err := st.Outbox(t.Context(), state.OutboxQuery{Org: "acme", Topic: TopicCases, Limit: 100000})
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		createdFor := map[string]int{}
		for _, r := range recs {
			var ev servicedesk.Event
			if err := json.Unmarshal(r.Payload, &ev); err != nil {
				t.Fatal(err)
			}
			if ids[ev.ID] {
				t.Fatalf("case event %s journaled twice", ev.ID)
			}
			ids[ev.ID] = true
			if ev.Type == servicedesk.CaseCreated {
				createdFor[ev.CaseID]++
			}
		}
		for _, id := range want {
			if createdFor[id] != 1 {
				return false
			}
		}
		return true
	})

	b, err := os.ReadFile(ndjsonPath)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for sc := bufio.NewScanner(bytes.NewReader(b)); sc.Scan(); {
		var doc struct {
			Event struct {
				ID string `json:"id"`
			} `json:"event"`
		}
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil || doc.Event.ID == "" {
			t.Fatalf("NDJSON line %q: %v", sc.Text(), err)
		}
		if seen[doc.Event.ID] {
			t.Fatalf("event-log row %s written twice", doc.Event.ID)
		}
		seen[doc.Event.ID] = true
	}
	if len(seen) != files*rows {
		t.Fatalf("NDJSON holds %d events, want %d", len(seen), files*rows)
	}
	if strings.Contains(strings.Join([]string{reps[0].logs.String(), reps[1].logs.String(), reps[2].logs.String()}, ""), "panic") {
		t.Fatal("a replica panicked")
	}
}
