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
	"github.com/sfbridge/sfbridge/internal/botapi"
	"github.com/sfbridge/sfbridge/servicedesk"
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
// (org, pipeline) runs on exactly one; the replica holding the handoff
// pump's lease, killed with SIGKILL, leaves its work to another within the
// lease TTL; the next holder, stopped with SIGSTOP and continued, commits
// nothing stale; and across the whole run no case event or event-log row
// is lost or written twice, every agent message of a handoff open the whole
// time is journaled exactly once and in order, and every case event reaches
// the webhook receiver at least once.
func TestThreeReplicasOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/sfbridge and runs three processes")
	}
	url := statetest.PostgresURL(t)
	// The org of the bot API test: a contact, the daemon's User
	// Verification key in the messaging keyset, and a webhook receiver.
	b := newBotSetup(t)
	s := b.s
	// A person answers the handoff: the scripted agent stays away.
	msg := s.Org.Messaging()
	if err := msg.SetPresence("Emma Bot", "Offline"); err != nil {
		t.Fatal(err)
	}
	if err := msg.SetPresence("Alex Agent", "Available"); err != nil {
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
webhooks:
  url: %s
  secret_file: %s
  events: ["case.*"]
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
    messaging:
      scrt_url: %s
      org_id: %s
      deployment: sfbridge_api
      key_file: %s
      key_id: bot-key-1
      issuer: https://bot.example
      routing: {Topic: General}
`, url, ttl, b.hookURL, filepath.Join(b.dir, "hook.secret"), s.ClientID, s.Username("integration"), s.URL, s.URL, s.KeyFile, ndjsonPath,
		s.SCRTURL, string(s.Org.OrgID()), s.KeyFile)
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
	// The webhooks' lease lasts at least 20s (two delivery attempts),
	// whatever lease_ttl says: waitLong's deadline allows for it.
	names := []string{"eventlogs", "cases", "knowledge", "employees", "journal", "messaging", "webhooks"}
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

	// A handoff opened through one replica's API; a person accepts it and
	// writes a numbered message every so often for the whole run.
	api := botClient{t: t, base: reps[0].base}
	var h struct {
		ID             string `json:"id"`
		ConversationID string `json:"conversation_id"`
	}
	hb := map[string]any{"user_id": "emp-42", "transcript": []map[string]string{{"role": "Employee", "text": "My payslip is missing"}}}
	if code := api.do("POST", "/v1/orgs/acme/handoffs", hb, nil, &h); code != http.StatusCreated || h.ID == "" || h.ConversationID == "" {
		t.Fatalf("create handoff: %d %+v", code, h)
	}
	waitLong(t, "Alex Agent to accept the handoff", func() bool { return msg.Accept("Alex Agent", h.ConversationID) == nil })
	type sent struct{ entry, text string }
	var said []sent
	stopAgent := make(chan struct{})
	agentDone := make(chan struct{})
	go func() {
		defer close(agentDone)
		for i := 1; ; i++ {
			select {
			case <-stopAgent:
				return
			case <-time.After(400 * time.Millisecond):
			}
			text := fmt.Sprintf("agent message %d", i)
			if entry, err := msg.Send("Alex Agent", h.ConversationID, text); err == nil {
				mu.Lock()
				said = append(said, sent{entry, text})
				mu.Unlock()
			}
		}
	}()
	defer func() {
		select {
		case <-stopAgent:
		default:
			close(stopAgent)
		}
		<-agentDone
	}()
	st, err := state.Open(t.Context(), url, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	journaled := func(typ string) int {
		recs, err := st.Outbox(t.Context(), state.OutboxQuery{Org: "acme", Topic: botapi.HandoffTopic(h.ID), Limit: 100000})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range recs {
			var ev botapi.HandoffEvent
			if json.Unmarshal(r.Payload, &ev) == nil && ev.Type == typ {
				n++
			}
		}
		return n
	}
	waitLong(t, "the pump to journal an agent message", func() bool { return journaled(botapi.EventAgentMessage) > 0 })

	// kill -9 the replica running the handoff pump: another takes its
	// pipelines over, the pump following the handoff again.
	victim := reps[runners()["messaging"][0]]
	killed := time.Now()
	if err := victim.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = victim.cmd.Wait()
	victim.dead = true
	waitLong(t, "the pump to move", func() bool { h := runners()["messaging"]; return len(h) == 1 && h[0] != victim.n })
	t.Logf("the pump moved %.1fs after kill -9 (lease TTL %s)", time.Since(killed).Seconds(), ttl)
	spread("the killed replica's pipelines to move", victim.n)
	t.Logf("the pipelines of replica %d (the pump among them) moved %.1fs after kill -9 (lease TTL %s; the webhooks' at least 20s)", victim.n, time.Since(killed).Seconds(), ttl)

	// SIGSTOP the replica now running the pump past its lease, then
	// continue it: its pump must not journal what the new holder did.
	paused := reps[runners()["messaging"][0]]
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
	close(stopAgent)
	<-agentDone
	mu.Lock()
	want := append([]string(nil), created...)
	wantSaid := append([]sent(nil), said...)
	mu.Unlock()
	if len(wantSaid) == 0 {
		t.Fatal("the agent could send no message during the run")
	}

	// The bot ends the handoff through a surviving replica and reads it
	// from the start: every agent message exactly once, in order.
	survivor := reps[(victim.n+1)%3]
	api = botClient{t: t, base: survivor.base}
	if code := api.do("DELETE", "/v1/orgs/acme/handoffs/"+h.ID, nil, nil, nil); code != http.StatusNoContent {
		t.Fatalf("end handoff: %d", code)
	}
	hs := api.open("/v1/orgs/acme/handoffs/"+h.ID+"/events", "")
	read := hs.until(t, "the handoff's end", func(ev sseEvent) bool { return ev.Type == botapi.EventEnded })
	hs.close()
	var gotSaid []sent
	ids := map[string]bool{}
	for _, ev := range read {
		id, _ := ev.Data["id"].(string)
		if ids[id] {
			t.Errorf("handoff event %s (%s) delivered twice", id, ev.Type)
		}
		ids[id] = true
		if ev.Type == botapi.EventAgentMessage {
			text, _ := ev.Data["text"].(string)
			gotSaid = append(gotSaid, sent{strings.TrimSuffix(id, ":"+botapi.EventAgentMessage), text})
		}
	}
	if len(gotSaid) != len(wantSaid) {
		t.Errorf("the handoff stream has %d agent messages, the agent sent %d", len(gotSaid), len(wantSaid))
	}
	for i := range min(len(gotSaid), len(wantSaid)) {
		if gotSaid[i] != wantSaid[i] {
			t.Fatalf("agent message %d: got %+v, the agent sent %+v\ngot %+v\nsent %+v", i, gotSaid[i], wantSaid[i], gotSaid, wantSaid)
		}
	}
	if n := journaled(botapi.EventAgentMessage); n != len(wantSaid) {
		t.Errorf("the journal holds %d agent messages, the agent sent %d", n, len(wantSaid))
	}
	t.Logf("%d agent messages across the failover, each journaled once", len(wantSaid))
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

	// Every case event reached the webhook receiver; repeats are allowed
	// (at least once) and counted.
	recs, err := st.Outbox(t.Context(), state.OutboxQuery{Org: "acme", Topic: TopicCases, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	var caseEvents []string
	for _, r := range recs {
		var ev servicedesk.Event
		if err := json.Unmarshal(r.Payload, &ev); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(ev.Type, "case.") {
			caseEvents = append(caseEvents, ev.ID)
		}
	}
	delivered := func() (map[string]int, []string) {
		b.hooks.mu.Lock()
		defer b.hooks.mu.Unlock()
		n := map[string]int{}
		for _, ev := range b.hooks.events {
			id, _ := ev["id"].(string)
			n[id]++
		}
		return n, append([]string(nil), b.hooks.bad...)
	}
	waitLong(t, "every case event at the webhook receiver", func() bool {
		n, _ := delivered()
		for _, id := range caseEvents {
			if n[id] == 0 {
				return false
			}
		}
		return true
	})
	n, bad := delivered()
	if len(bad) > 0 {
		t.Errorf("the receiver refused deliveries: %v", bad)
	}
	repeats := 0
	for _, c := range n {
		repeats += c - 1
	}
	t.Logf("%d case events delivered by webhook, %d repeated deliveries (at least once across the failover)", len(caseEvents), repeats)

	data, err := os.ReadFile(ndjsonPath)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for sc := bufio.NewScanner(bytes.NewReader(data)); sc.Scan(); {
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
