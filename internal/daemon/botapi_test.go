package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	emsg "github.com/sfbridge/sfbridge/emulator/messaging"
	"github.com/sfbridge/sfbridge/internal/botapi/ssetest"
	"github.com/sfbridge/sfbridge/internal/config"
	"github.com/sfbridge/sfbridge/keys"
	"github.com/sfbridge/sfbridge/sftest"
	"github.com/sfbridge/sfbridge/state/statetest"
	"github.com/sfbridge/sfbridge/webhooksig"
)

// hookReceiver is a webhook endpoint that verifies every signature and
// keeps the events it accepted, in arrival order.
type hookReceiver struct {
	secret []byte
	mu     sync.Mutex
	events []map[string]any
	bad    []string
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := webhooksig.Verify(h.secret, r.Header.Get("Sfbridge-Signature"), body, 0, time.Now()); err != nil {
		h.bad = append(h.bad, err.Error())
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var ev map[string]any
	if err := json.Unmarshal(body, &ev); err != nil || ev["id"] != r.Header.Get("Sfbridge-Event-Id") {
		h.bad = append(h.bad, fmt.Sprintf("event %s with header id %q", body, r.Header.Get("Sfbridge-Event-Id")))
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h.events = append(h.events, ev)
	w.WriteHeader(http.StatusNoContent)
}

// ofCase returns the types of the received events of case id, in order.
func (h *hookReceiver) ofCase(id string) (types []string, bad []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ev := range h.events {
		if ev["case_id"] == id {
			types = append(types, ev["type"].(string))
		}
	}
	return types, append([]string(nil), h.bad...)
}

// ofType counts the received events whose type starts with prefix.
func (h *hookReceiver) ofType(prefix string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, ev := range h.events {
		if t, _ := ev["type"].(string); strings.HasPrefix(t, prefix) {
			n++
		}
	}
	return n
}

// botClient calls the daemon's bot-facing API with its bearer token.
type botClient struct {
	t     *testing.T
	base  string
	token string
}

func (c botClient) do(method, path string, body any, hdr map[string]string, out any) int {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
	return resp.StatusCode
}

// sseEvent is one event read from a stream.
type sseEvent = ssetest.Event

// sseStream is an open SSE connection of the API.
type sseStream struct{ *ssetest.Stream }

// open opens an SSE stream of the API, resuming after lastID when set.
func (c botClient) open(path, lastID string) *sseStream {
	c.t.Helper()
	req, err := http.NewRequestWithContext(c.t.Context(), http.MethodGet, c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	return &sseStream{ssetest.Open(c.t, http.DefaultClient, req, lastID)}
}

func (s *sseStream) close() { s.Close() }

// until reads events until match returns true, returning the events read;
// the deadline only bounds a failing test.
func (s *sseStream) until(t *testing.T, what string, match func(sseEvent) bool) []sseEvent {
	t.Helper()
	var seen []sseEvent
	deadline := time.After(90 * time.Second)
	for {
		select {
		case ev, ok := <-s.Events():
			if !ok {
				t.Fatalf("the stream ended before %s (read %+v)", what, seen)
			}
			seen = append(seen, ev)
			if match(ev) {
				return seen
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %s (read %+v)", what, seen)
		}
	}
}

// Every route of the bot-facing API answers through the daemon's real
// listener with its bearer token, against the emulated org whose pipelines
// the daemon runs: employees, cases with an idempotent create, comments,
// knowledge from the synced copy, the org's event stream with a resumed
// reconnect, a handoff answered by the emulator's scripted agent, and
// webhooks that a receiver verifies, in order.
// botSetup is an emulated org with a contact, the daemon's User
// Verification key in the messaging deployment's keyset, a webhook
// receiver, and a configuration of every pipeline, messaging and webhooks.
type botSetup struct {
	s       *sftest.Server
	hooks   *hookReceiver
	hookURL string // the receiver's URL
	dir     string
	yaml    string
}

func newBotSetup(t *testing.T) *botSetup {
	t.Helper()
	s := sftest.NewServer(t)
	if err := s.Org.AddSampleRecords(1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Org.Store().Insert("Contact", "", map[string]any{"FirstName": "Ben", "LastName": "Okafor", "Email": "ben@example.com"}); err != nil {
		t.Fatal(err)
	}
	const issuer, kid = "https://bot.example", "bot-key-1"
	certs, err := keys.ParseCertificates(s.CertPEM, "cert", keys.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := keys.NewJWK(&s.Key.PublicKey, kid, certs)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(jwk)
	if err := s.Org.Messaging().PutKeyset(emsg.KeysetSpec{Name: "Bot_Keys", Issuer: issuer, Keys: []json.RawMessage{raw}}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	secret := []byte("0123456789abcdef0123456789abcdef")
	if err := os.WriteFile(filepath.Join(dir, "hook.secret"), secret, 0o600); err != nil {
		t.Fatal(err)
	}
	hooks := &hookReceiver{secret: secret}
	receiver := httptest.NewServer(hooks)
	t.Cleanup(receiver.Close)
	y := fmt.Sprintf(`
listen: 127.0.0.1:0
state_dir: %s
doctor_interval: 0s
webhooks:
  url: %s
  secret_file: %s
  events: ["case.*", "comment.*"]
orgs:
  - alias: acme
    client_id: %s
    username: %s
    login_url: %s
    audience: %s
    key: {file: %s}
    eventlogs:
      types: [Login]
      since: 2d
      output: {ndjson: %s}
    cases: {poll: 5s}
    knowledge: {languages: [en_US, de], interval: 1m}
    employees: {interval: 1m}
    messaging:
      scrt_url: %s
      org_id: %s
      deployment: sfbridge_api
      key_file: %s
      key_id: %s
      issuer: %s
      routing: {Topic: General}
`, dir, receiver.URL, filepath.Join(dir, "hook.secret"), s.ClientID, s.Username("integration"), s.URL, s.URL, s.KeyFile,
		filepath.Join(dir, "eventlogs.ndjson"), s.SCRTURL, string(s.Org.OrgID()), s.KeyFile, kid, issuer)
	return &botSetup{s: s, hooks: hooks, hookURL: receiver.URL, dir: dir, yaml: y}
}

// config parses the setup's configuration with its state directory
// replaced by stateDir.
func (b *botSetup) config(t *testing.T, stateDir string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(strings.Replace(b.yaml, "state_dir: "+b.dir, "state_dir: "+stateDir, 1)), "")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestBotAPIThroughTheDaemon(t *testing.T) {
	b := newBotSetup(t)
	hooks := b.hooks
	cfg := b.config(t, b.dir)
	const token = "test-token-0123456789"
	cfg.AuthToken = config.Secret(token)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	m := NewMetrics()
	d, err := FromConfig(t.Context(), cfg, Env{Metrics: m, Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	runDaemon(t, d)
	base := "http://" + d.Addr()
	c := botClient{t: t, base: base, token: token}

	// The API is behind the bearer token; the daemon's own routes still work.
	if code, _ := get(t, base+"/v1/orgs/acme/employees?email=ben@example.com", ""); code != http.StatusUnauthorized {
		t.Fatalf("without the token: %d", code)
	}
	waitLong(t, "cases, knowledge, messaging and webhooks to run", func() bool {
		code, body := get(t, base+"/v1/orgs/acme", token)
		var st OrgStatus
		if code != 200 || json.Unmarshal([]byte(body), &st) != nil {
			return false
		}
		for _, name := range []string{"cases", "knowledge"} {
			if pipelineOf(st, name).LastSuccess == nil {
				return false
			}
		}
		for _, name := range []string{"messaging", "webhooks"} {
			if pipelineOf(st, name).State != StateRunning {
				return false
			}
		}
		return true
	})
	if code, body := get(t, base+"/v1/orgs", token); code != 200 || !strings.Contains(body, `"alias": "acme"`) {
		t.Fatalf("GET /v1/orgs = %d %s", code, body)
	}

	var emp struct {
		Found         bool   `json:"found"`
		CaseContactID string `json:"case_contact_id"`
	}
	if st := c.do("GET", "/v1/orgs/acme/employees?email=ben@example.com", nil, nil, &emp); st != 200 || !emp.Found || emp.CaseContactID == "" {
		t.Fatalf("employee: %d %+v", st, emp)
	}

	// The org's stream sees the case the bot creates.
	events := c.open("/v1/orgs/acme/events", "")
	type created struct {
		ID         string `json:"id"`
		CaseNumber string `json:"case_number"`
		Reused     bool   `json:"reused"`
	}
	body := map[string]any{"email": "ben@example.com", "subject": "Laptop broken", "description": "Screen dark", "priority": "High", "origin": "Web"}
	key := map[string]string{"Idempotency-Key": "ticket-7f3a"}
	var c1, c2 created
	if st := c.do("POST", "/v1/orgs/acme/cases", body, key, &c1); st != 201 || c1.ID == "" || c1.CaseNumber == "" || c1.Reused {
		t.Fatalf("create: %d %+v", st, c1)
	}
	if st := c.do("POST", "/v1/orgs/acme/cases", body, key, &c2); st != 200 || c2.ID != c1.ID || !c2.Reused {
		t.Fatalf("create again with the same key: %d %+v", st, c2)
	}
	seen := events.until(t, "case.created of the new case", func(ev sseEvent) bool {
		return ev.Type == "case.created" && ev.Data["case_id"] == c1.ID
	})
	createdEv := seen[len(seen)-1]
	events.close()

	// While the bot is away a comment is added; the reconnect with
	// Last-Event-ID replays only what came after.
	var comment struct {
		ID string `json:"id"`
	}
	if st := c.do("POST", "/v1/orgs/acme/cases/"+c1.ID+"/comments", map[string]any{"body": "We ordered a screen", "public": true}, nil, &comment); st != 201 || comment.ID == "" {
		t.Fatalf("comment: %d %+v", st, comment)
	}
	var got struct {
		ID       string `json:"id"`
		Subject  string `json:"subject"`
		Comments []struct {
			Body string `json:"body"`
		} `json:"comments"`
	}
	if st := c.do("GET", "/v1/orgs/acme/cases/"+c1.ID, nil, nil, &got); st != 200 || got.ID != c1.ID || got.Subject != "Laptop broken" || len(got.Comments) != 1 {
		t.Fatalf("get case: %d %+v", st, got)
	}
	resumed := c.open("/v1/orgs/acme/events", createdEv.ID)
	replayed := resumed.until(t, "the missed comment.created", func(ev sseEvent) bool {
		return ev.Type == "comment.created" && ev.Data["case_id"] == c1.ID
	})
	before := map[string]bool{}
	for _, ev := range seen {
		before[ev.ID] = true
	}
	for _, ev := range replayed {
		if before[ev.ID] {
			t.Fatalf("the reconnect replayed %s (%s), which the first stream had delivered", ev.ID, ev.Type)
		}
	}
	resumed.close()

	// Knowledge comes from the synced copy.
	var res struct {
		Articles []struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		} `json:"articles"`
	}
	if st := c.do("GET", "/v1/orgs/acme/knowledge?q=password&language=en_US", nil, nil, &res); st != 200 || len(res.Articles) == 0 {
		t.Fatalf("knowledge search: %d %+v", st, res)
	}
	var art struct {
		ID   string `json:"id"`
		Text string `json:"text"`
	}
	if st := c.do("GET", "/v1/orgs/acme/knowledge/"+res.Articles[0].ID+"?language=en_US", nil, nil, &art); st != 200 || art.ID != res.Articles[0].ID || art.Text == "" {
		t.Fatalf("knowledge article: %d %+v", st, art)
	}

	// A handoff: the emulator's scripted agent (Emma Bot) joins and
	// answers; the bot writes back, and ends it.
	var h struct {
		ID string `json:"id"`
	}
	hb := map[string]any{"user_id": "emp-42", "transcript": []map[string]string{{"role": "Employee", "text": "My payslip is missing"}}}
	if st := c.do("POST", "/v1/orgs/acme/handoffs", hb, nil, &h); st != 201 || h.ID == "" {
		t.Fatalf("create handoff: %d %+v", st, h)
	}
	hs := c.open("/v1/orgs/acme/handoffs/"+h.ID+"/events", "")
	hs.until(t, "the agent's greeting", func(ev sseEvent) bool { return ev.Type == "agent.message" })
	if st := c.do("POST", "/v1/orgs/acme/handoffs/"+h.ID+"/messages", map[string]any{"text": "Are you there?"}, nil, nil); st != 204 {
		t.Fatalf("send: %d", st)
	}
	hs.until(t, "the agent's answer to the message", func(ev sseEvent) bool {
		text, _ := ev.Data["text"].(string)
		return ev.Type == "agent.message" && strings.Contains(text, "Are you there?")
	})
	waitLong(t, "the open handoff in the metrics", func() bool {
		return strings.Contains(testGather(t, m, "sfbridge_handoffs_open"), "{org=acme} 1")
	})
	// The org streams were closed; the handoff stream is the one left.
	waitLong(t, "one SSE client in the metrics", func() bool {
		return strings.Contains(testGather(t, m, "sfbridge_sse_clients"), "{org=acme} 1")
	})
	if st := c.do("DELETE", "/v1/orgs/acme/handoffs/"+h.ID, nil, nil, nil); st != 204 {
		t.Fatalf("end handoff: %d", st)
	}
	hs.until(t, "ended", func(ev sseEvent) bool { return ev.Type == "ended" })
	hs.close()
	waitLong(t, "no open handoff and no SSE client in the metrics", func() bool {
		return strings.Contains(testGather(t, m, "sfbridge_handoffs_open"), "{org=acme} 0") &&
			strings.Contains(testGather(t, m, "sfbridge_sse_clients"), "{org=acme} 0")
	})

	// The webhook receiver got the case's events, signed, in order.
	waitLong(t, "the case's events at the webhook", func() bool {
		types, _ := hooks.ofCase(c1.ID)
		return len(types) >= 2
	})
	types, bad := hooks.ofCase(c1.ID)
	if len(bad) > 0 || types[0] != "case.created" || !containsString(types[1:], "comment.created") {
		t.Fatalf("webhook events of the case: %v (refused: %v)", types, bad)
	}
	if n := hooks.ofType("knowledge."); n != 0 {
		t.Errorf("the receiver got %d knowledge events; the filter asks for case.* and comment.*", n)
	}
	if got := testGather(t, m, "sfbridge_webhook_deliveries_total"); !strings.Contains(got, "{org=acme,result=delivered}") {
		t.Errorf("webhook metric:\n%s", got)
	}
	code, metrics := get(t, base+"/metrics", token)
	for _, name := range []string{"sfbridge_webhook_deliveries_total", "sfbridge_sse_clients", "sfbridge_handoffs_open"} {
		if code != 200 || !strings.Contains(metrics, name+"{") {
			t.Errorf("/metrics (%d) lacks %s", code, name)
		}
	}
	if code, body := get(t, base+"/readyz?verbose", token); code != 200 || !strings.Contains(body, "[+]acme/messaging running") || !strings.Contains(body, "[+]acme/webhooks running") {
		t.Errorf("readyz = %d %s", code, body)
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// A component that takes its own lease reports its status as the daemon's
// health: standby while another replica holds the lease, running, and
// degraded (with the error) when its status says so or its error count
// grows without a success.
func TestLeasedComponentHealth(t *testing.T) {
	var mu sync.Mutex
	cur := leasedStatus{State: StateStandby, Message: "standby"}
	set := func(f func(*leasedStatus)) {
		mu.Lock()
		defer mu.Unlock()
		f(&cur)
	}
	changes := 0
	env := &OrgEnv{Alias: "acme", onChange: func() { changes++ }}
	l := newLeased(env, "webhooks", func(context.Context) error { return nil }, func() leasedStatus {
		mu.Lock()
		defer mu.Unlock()
		return cur
	})
	l.sync()
	if h := l.Health(); h.State != StateStandby || h.Message != "standby" {
		t.Fatalf("standby: %+v", h)
	}
	ok := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	set(func(s *leasedStatus) {
		s.State, s.Message, s.Events, s.LastSuccess = StateRunning, "following 1 handoffs", 3, ok
	})
	l.sync()
	if h := l.Health(); h.State != StateRunning || h.Message != "following 1 handoffs" {
		t.Fatalf("running: %+v", h)
	}
	n := changes
	l.sync()
	if changes != n {
		t.Fatalf("an unchanged status changed the health %d times", changes-n)
	}
	set(func(s *leasedStatus) { s.Errors, s.LastError = 1, "stream broke" })
	l.sync()
	if h := l.Health(); h.State != StateDegraded || h.LastError != "stream broke" {
		t.Fatalf("an error without a success: %+v", h)
	}
	set(func(s *leasedStatus) { s.LastSuccess = ok.Add(time.Second) })
	l.sync()
	if h := l.Health(); h.State != StateRunning {
		t.Fatalf("a success after the error: %+v", h)
	}
	set(func(s *leasedStatus) { s.State, s.LastError = StateDegraded, "receiver answered 500" })
	l.sync()
	if h := l.Health(); h.State != StateDegraded || h.LastError != "receiver answered 500" {
		t.Fatalf("degraded: %+v", h)
	}
	ps := l.Status(ok.Add(10 * time.Second))
	if ps.Name != "webhooks" || ps.State != StateDegraded || ps.Events != 3 || ps.Errors != 1 || ps.LagSeconds != 9 {
		t.Fatalf("pipeline status: %+v", ps)
	}
}

// Two daemons sharing one state store run the handoff pump and the
// webhooks once: each runs on one and stands by on the other, and both
// daemons are ready and serve the API.
func TestMessagingAndWebhooksRunOnOneReplica(t *testing.T) {
	b := newBotSetup(t)
	st := statetest.Open(t, "sqlite:"+filepath.Join(b.dir, "shared.db"), nil)
	var bases []string
	for i := range 2 {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		t.Cleanup(tr.CloseIdleConnections)
		d, err := FromConfig(t.Context(), b.config(t, filepath.Join(b.dir, fmt.Sprintf("r%d", i))), Env{Store: st, Transport: tr, Owner: fmt.Sprintf("replica-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		runDaemon(t, d)
		bases = append(bases, "http://"+d.Addr())
	}
	waitLong(t, "messaging and webhooks running on one daemon and standing by on the other", func() bool {
		for _, name := range []string{"messaging", "webhooks"} {
			running, standby := 0, 0
			for _, base := range bases {
				switch pipelineOf(orgStatusOf(t, base), name).State {
				case StateRunning:
					running++
				case StateStandby:
					standby++
				}
			}
			if running != 1 || standby != 1 {
				return false
			}
		}
		return true
	})
	for _, base := range bases {
		waitLong(t, base+" to be ready", func() bool {
			code, _ := get(t, base+"/readyz", "")
			return code == http.StatusOK
		})
		c := botClient{t: t, base: base}
		var emp struct {
			Found bool `json:"found"`
		}
		if code := c.do("GET", "/v1/orgs/acme/employees?email=ben@example.com", nil, nil, &emp); code != 200 || !emp.Found {
			t.Fatalf("%s employees: %d %+v", base, code, emp)
		}
	}
}
