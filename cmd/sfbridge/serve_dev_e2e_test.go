package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/internal/botapi/ssetest"
	"github.com/sfbridge/sfbridge/webhooksig"
)

// devDaemon is a real `sfbridge serve --dev` process and the URL of its
// API.
type devDaemon struct {
	t    *testing.T
	dir  string
	env  []string
	base string // http://127.0.0.1:PORT
	org  string // base + /v1/orgs/dev
}

// hookReceiver records the webhooks it is sent, refusing any whose
// signature does not verify.
type hookReceiver struct {
	secret []byte
	mu     sync.Mutex
	ids    []string
	types  map[string][]string // event type → ids
	bodies map[string]string
	bad    []string
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := webhooksig.Verify(h.secret, r.Header.Get(webhooksig.HeaderSignature), body, 5*time.Minute, time.Now()); err != nil {
		h.bad = append(h.bad, err.Error())
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	id := r.Header.Get(webhooksig.HeaderEventID)
	h.ids = append(h.ids, id)
	h.types[r.Header.Get(webhooksig.HeaderEventType)] = append(h.types[r.Header.Get(webhooksig.HeaderEventType)], id)
	h.bodies[id] = string(body)
	w.WriteHeader(http.StatusNoContent)
}

type sseEvent = ssetest.Event

// openSSE opens a stream of the dev daemon's API, resuming after lastID
// when set.
func openSSE(t *testing.T, url, lastID string) *ssetest.Stream {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ssetest.Open(t, http.DefaultClient, req, lastID)
}

func (d *devDaemon) call(method, path string, body any, hdr map[string]string, out any) int {
	d.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			d.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(d.t.Context(), method, d.org+path, rd)
	if err != nil {
		d.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		d.t.Fatal(err)
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			d.t.Fatalf("%s %s: %s: %v\n%s", method, path, resp.Status, err, b)
		}
	}
	if resp.StatusCode >= 300 {
		d.t.Logf("%s %s: %s %s", method, path, resp.Status, b)
	}
	return resp.StatusCode
}

func (d *devDaemon) get(path string) string {
	d.t.Helper()
	resp, err := http.Get(d.base + path)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestServeDevEndToEnd runs `sfbridge serve --dev` as its own process with
// a webhook receiver and drives every route of the bot-facing API against
// it: employees, cases (idempotent create, get, comment), the event
// stream and its replay, knowledge search and get, and a handoff answered
// by the scripted agent; the receiver checks every webhook's signature.
func TestServeDevEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts serve --dev as a process")
	}
	if _, err := exec.LookPath("sfbridge"); err != nil {
		t.Skip("the sfbridge command of TestMain is not on PATH")
	}
	dir := t.TempDir()
	hooks := &hookReceiver{secret: []byte("dev-webhook-secret-0123456789"), types: map[string][]string{}, bodies: map[string]string{}}
	recv := httptest.NewServer(hooks)
	t.Cleanup(recv.Close)
	secretFile := filepath.Join(dir, "hook.secret")
	if err := os.WriteFile(secretFile, hooks.secret, 0o600); err != nil {
		t.Fatal(err)
	}
	d := &devDaemon{t: t, dir: dir, env: append(os.Environ(), "SFBRIDGE_CONFIG_DIR="+filepath.Join(dir, "cfg"), "NO_COLOR=1")}
	info := filepath.Join(dir, "serve.json")
	cmd := exec.Command("sfbridge", "serve", "--dev", "--listen", "127.0.0.1:0", "--state-dir", filepath.Join(dir, "state"),
		"--info-file", info, "--webhook-url", recv.URL+"/hooks", "--webhook-secret-file", secretFile)
	cmd.Env, cmd.Dir = d.env, dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		var v struct {
			URL string `json:"url"`
		}
		if b, err := os.ReadFile(info); err == nil && json.Unmarshal(b, &v) == nil && v.URL != "" {
			d.base, d.org = v.URL, v.URL+"/v1/orgs/dev"
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("serve --dev exited: %v\n%s\n%s", err, stdout.String(), stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve --dev wrote no info file in 60s\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for !strings.Contains(d.get("/readyz"), "ready") || strings.Contains(d.get("/readyz"), "not ready") {
		if time.Now().After(deadline) {
			t.Fatalf("not ready in 60s: %s", d.get("/readyz?verbose"))
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The event stream, opened before the case is made.
	events := openSSE(t, d.org+"/events", "")

	// An employee, found by the email of a sample Contact.
	q := exec.Command("sfbridge", "query", "SELECT Email FROM Contact WHERE Email != null ORDER BY Email LIMIT 1", "-o", "dev", "--csv")
	q.Env, q.Dir = d.env, dir
	out, err := q.Output()
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("query output %q: %v", out, err)
	}
	email := rows[1][0]
	var emp struct {
		Found bool `json:"found"`
	}
	if st := d.call("GET", "/employees?email="+email, nil, nil, &emp); st != 200 || !emp.Found {
		t.Fatalf("employees?email=%s: %d %+v", email, st, emp)
	}

	// A case, created once under an Idempotency-Key, read back, commented.
	type created struct {
		ID         string `json:"id"`
		CaseNumber string `json:"case_number"`
		Reused     bool   `json:"reused"`
	}
	newCase := map[string]any{"email": email, "subject": "Printer on fire (e2e)", "description": "It smokes", "priority": "High", "origin": "Web"}
	key := map[string]string{"Idempotency-Key": "e2e-case-1"}
	var c1, c2 created
	if st := d.call("POST", "/cases", newCase, key, &c1); st != 201 || c1.ID == "" || c1.CaseNumber == "" {
		t.Fatalf("create case: %d %+v", st, c1)
	}
	if st := d.call("POST", "/cases", newCase, key, &c2); st != 200 || c2.ID != c1.ID || !c2.Reused {
		t.Fatalf("create case again with the same key: %d %+v, want 200 and %s", st, c2, c1.ID)
	}
	var got map[string]any
	if st := d.call("GET", "/cases/"+c1.ID, nil, nil, &got); st != 200 || !strings.Contains(fmt.Sprint(got), "Printer on fire (e2e)") {
		t.Fatalf("get case: %d %v", st, got)
	}
	if st := d.call("GET", "/cases/500000000000000AAA", nil, nil, nil); st != 404 {
		t.Fatalf("get an unknown case: %d, want 404", st)
	}
	if st := d.call("POST", "/cases/"+c1.ID+"/comments", map[string]any{"body": "Fire brigade called", "public": true}, nil, nil); st != 201 && st != 200 {
		t.Fatalf("comment: %d", st)
	}

	// Its events arrive on the stream; a reconnect from the first one
	// replays what followed and not the first one again.
	first := events.Next(t, "case.created of "+c1.ID, 90*time.Second, func(ev sseEvent) bool {
		return ev.Type == "case.created" && ev.Data["case_id"] == c1.ID
	})
	events.Next(t, "comment.created on "+c1.ID, 90*time.Second, func(ev sseEvent) bool {
		return ev.Type == "comment.created" && ev.Data["case_id"] == c1.ID
	})
	events.Close()
	replay := openSSE(t, d.org+"/events", first.ID)
	again := replay.Next(t, "the replayed comment", 30*time.Second, func(ev sseEvent) bool {
		if ev.Data["id"] == first.Data["id"] {
			t.Fatalf("the replay from %s repeated that event", first.ID)
		}
		return ev.Type == "comment.created" && ev.Data["case_id"] == c1.ID
	})
	if again.ID == first.ID {
		t.Fatalf("replayed event has the cursor it was replayed from")
	}
	replay.Close()

	// Knowledge: search over the synced copy, then one article.
	var hits struct {
		Articles []struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		} `json:"articles"`
	}
	for {
		if st := d.call("GET", "/knowledge?q=password&language=en_US", nil, nil, &hits); st == 200 && len(hits.Articles) > 0 {
			break
		}
		if time.Now().After(deadline.Add(60 * time.Second)) {
			t.Fatalf("knowledge search found nothing: %+v", hits)
		}
		time.Sleep(500 * time.Millisecond)
	}
	var art map[string]any
	if st := d.call("GET", "/knowledge/"+hits.Articles[0].ID, nil, nil, &art); st != 200 || art["title"] != hits.Articles[0].Title {
		t.Fatalf("knowledge get: %d %v", st, art)
	}

	// A handoff: Emma, the scripted agent, answers; "bye" ends it.
	var h struct {
		ID        string `json:"id"`
		EventsURL string `json:"events_url"`
	}
	req := map[string]any{"user_id": "emp-e2e", "transcript": []map[string]string{{"role": "Employee", "text": "My laptop will not start"}}}
	if st := d.call("POST", "/handoffs", req, map[string]string{"Idempotency-Key": "e2e-handoff"}, &h); st != 201 || h.ID == "" {
		t.Fatalf("handoff: %d %+v", st, h)
	}
	hs := openSSE(t, d.base+h.EventsURL, "")
	reply := hs.Next(t, "the agent's reply", 90*time.Second, func(ev sseEvent) bool { return ev.Type == "agent.message" })
	if !strings.Contains(fmt.Sprint(reply.Data["text"]), "Emma") {
		t.Fatalf("agent's reply: %v", reply.Data)
	}
	if st := d.call("POST", "/handoffs/"+h.ID+"/messages", map[string]any{"text": "bye"}, nil, nil); st != 204 {
		t.Fatalf("message: %d", st)
	}
	hs.Next(t, "the end of the handoff", 90*time.Second, func(ev sseEvent) bool { return ev.Type == "ended" })
	if st := d.call("DELETE", "/handoffs/"+h.ID, nil, nil, nil); st != 204 {
		t.Fatalf("delete handoff: %d", st)
	}

	// The webhooks: signed, each event once, the case's and the handoff's
	// events among them.
	for {
		hooks.mu.Lock()
		n := len(hooks.types["comment.created"])
		var mine, agent bool
		for _, id := range hooks.types["case.created"] {
			mine = mine || strings.Contains(hooks.bodies[id], c1.ID)
		}
		for _, id := range hooks.types["agent.message"] {
			agent = agent || strings.Contains(hooks.bodies[id], h.ID)
		}
		hooks.mu.Unlock()
		if mine && n > 0 && agent {
			break
		}
		if time.Now().After(deadline.Add(120 * time.Second)) {
			t.Fatalf("the webhook receiver never got case.created of %s, a comment and the agent's message (got %v)", c1.ID, mine)
		}
		time.Sleep(200 * time.Millisecond)
	}
	hooks.mu.Lock()
	seen := map[string]bool{}
	for _, id := range hooks.ids {
		if seen[id] {
			t.Errorf("webhook %s delivered twice", id)
		}
		seen[id] = true
	}
	if len(hooks.bad) > 0 {
		t.Errorf("webhooks with bad signatures: %v", hooks.bad)
	}
	hooks.mu.Unlock()

	// Metrics name the pipelines, the webhooks, SSE clients and handoffs.
	metrics := d.get("/metrics")
	for _, m := range []string{
		`sfbridge_pipeline_events_total{org="dev",pipeline="cases"}`,
		`sfbridge_pipeline_events_total{org="dev",pipeline="eventlogs"}`,
		`sfbridge_webhook_deliveries_total{org="dev",result="delivered"}`,
		`sfbridge_sse_clients{org="dev"}`,
		`sfbridge_handoffs_open{org="dev"}`,
	} {
		if !strings.Contains(metrics, m) {
			t.Errorf("metrics lack %s", m)
		}
	}
	// NDJSON event logs in the state directory.
	if fi, err := os.Stat(filepath.Join(dir, "state", "eventlogs", "dev.ndjson")); err != nil || fi.Size() == 0 {
		t.Errorf("no event logs in the state directory: %v", err)
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("serve --dev after SIGINT: %v\n%s", err, stderr.String())
		}
		exited <- nil
	case <-time.After(60 * time.Second):
		t.Fatal("serve --dev did not stop within 60s of SIGINT")
	}
	if strings.Contains(stderr.String(), "emu_") || strings.Contains(stdout.String(), "emu_") {
		t.Error("the admin token was printed")
	}
}
