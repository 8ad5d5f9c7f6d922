package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/internal/backoff"
	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/state"
	"github.com/sfbridge/sfbridge/state/statetest"
	"github.com/sfbridge/sfbridge/webhooksig"
)

const (
	org        = "acme"
	casesTopic = "cases.events"
	kbTopic    = "knowledge.events"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// env is one test's store on a fake clock, and a receiver.
type env struct {
	clk *clock.Fake
	st  state.Store
	rcv *receiver
	// writes counts journal writes per topic (the writer's checkpoint
	// version).
	writes map[string]int64
}

func newEnv(t *testing.T, url string, opts state.Options) *env {
	t.Helper()
	clk := clock.NewFake(t0)
	opts.Clock = clk
	st, err := state.Open(t.Context(), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e := &env{clk: clk, st: st, writes: map[string]int64{}}
	e.rcv = newReceiver(t, clk)
	return e
}

func sqliteEnv(t *testing.T) *env {
	t.Helper()
	return newEnv(t, statetest.SQLiteURL(t), state.Options{})
}

// write appends one event to a journal topic, as a pipeline does: in a
// commit of its own checkpoint under its own lease.
func (e *env) write(t *testing.T, topic, id, typ string) {
	t.Helper()
	ctx := t.Context()
	l, err := e.st.AcquireLease(ctx, state.PipelineLease(org, "writer-"+topic), "writer", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(map[string]string{"id": id, "type": typ, "subject": "event " + id})
	_, err = e.st.Commit(ctx, state.Commit{
		Key: state.CheckpointKey{Org: org, Pipeline: "writer", Key: topic}, Expect: e.writes[topic],
		Value: []byte(`{}`), Fence: state.FenceOf(l), Outbox: []state.OutboxRecord{{Topic: topic, Payload: payload}},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.writes[topic]++
}

func (e *env) config(url, owner string) Config {
	return Config{
		Store: e.st, Org: org, URL: url, Secret: testSecret, Topics: []string{casesTopic, kbTopic},
		Clock: e.clk, Owner: owner, LeaseTTL: time.Hour, AttemptTimeout: 30 * time.Second,
		Retry: backoff.Policy{Initial: time.Minute, Max: time.Hour, Multiplier: 2},
	}
}

// start runs a Deliverer until the test ends and returns it with the
// channel Run's result arrives on, and a function that stops it and
// returns that result.
func start(t *testing.T, cfg Config) (*Deliverer, func() error) {
	t.Helper()
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	var res error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case res = <-done:
			case <-time.After(30 * time.Second):
				res = errors.New("Run did not return within 30s of its context ending")
			}
		})
		return res
	}
	t.Cleanup(func() { _ = stop() })
	return d, stop
}

// drive moves the fake clock from one armed timer to the next until cond
// holds: with one Deliverer running, it is either working (no timer) or
// waiting on one timer.
func (e *env) drive(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting (60s) for %s; fake time %s", what, e.clk.Now().Sub(t0))
		}
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		err := e.clk.BlockUntil(ctx, 1)
		cancel()
		if err != nil {
			continue
		}
		if next, ok := e.clk.NextDeadline(); ok && !cond() {
			e.clk.Set(next)
		}
	}
}

// eventually polls cond in real time (for steps where the clock must not
// move).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting (60s) for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type delivery struct {
	id, typ, sig, contentType string
	body                      []byte
	at                        time.Time
	status                    int
}

// receiver is an endpoint that records every request; answer decides the
// status of the n-th request to arrive (0-based), 200 when nil.
type receiver struct {
	srv *httptest.Server
	clk clock.Clock
	mu  sync.Mutex
	got []delivery
	// arrived counts requests as they come in (got, as they finish).
	arrived int
	// intercept, when set, may answer a request itself (returning true).
	intercept func(http.ResponseWriter, *http.Request) bool
	answer    func(n int, d delivery, w http.ResponseWriter) int
}

func newReceiver(t *testing.T, clk clock.Clock) *receiver {
	t.Helper()
	r := &receiver{clk: clk}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	intercept := r.intercept
	r.mu.Unlock()
	if intercept != nil && intercept(w, req) {
		return
	}
	body, _ := io.ReadAll(req.Body)
	d := delivery{
		id: req.Header.Get(webhooksig.HeaderEventID), typ: req.Header.Get(webhooksig.HeaderEventType), sig: req.Header.Get(webhooksig.HeaderSignature),
		contentType: req.Header.Get("Content-Type"), body: body, at: r.clk.Now(),
	}
	r.mu.Lock()
	n := r.arrived
	r.arrived++
	answer := r.answer
	r.mu.Unlock()
	d.status = http.StatusOK
	if answer != nil {
		d.status = answer(n, d, w)
	}
	r.mu.Lock()
	r.got = append(r.got, d)
	r.mu.Unlock()
	w.WriteHeader(d.status)
}

// record counts a request that a test's own handler answers.
func (r *receiver) record(req *http.Request, status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.arrived++
	r.got = append(r.got, delivery{id: req.Header.Get(webhooksig.HeaderEventID), at: r.clk.Now(), status: status})
}

func (r *receiver) arrivals() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.arrived
}

func (r *receiver) setAnswer(f func(n int, d delivery, w http.ResponseWriter) int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answer = f
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// accepted lists the ids of the requests answered 2xx, in order.
func (r *receiver) accepted() []string {
	var ids []string
	for _, d := range r.deliveries() {
		if d.status/100 == 2 {
			ids = append(ids, d.id)
		}
	}
	return ids
}

func (r *receiver) ids() []string {
	var ids []string
	for _, d := range r.deliveries() {
		ids = append(ids, d.id)
	}
	return ids
}

func cursorOf(t *testing.T, st state.Store, topic string) (state.Checkpoint, int64) {
	t.Helper()
	cp, err := st.Checkpoint(t.Context(), state.CheckpointKey{Org: org, Pipeline: Pipeline, Key: topic})
	if errors.Is(err, state.ErrNotFound) {
		return state.Checkpoint{}, 0
	}
	if err != nil {
		t.Fatal(err)
	}
	var v cursorValue
	if err := json.Unmarshal(cp.Value, &v); err != nil {
		t.Fatal(err)
	}
	return cp, v.Seq
}

type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) observe(r string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[r]++
}

func (c *counter) get(r string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[r]
}

func TestDeliversSignedEventsInOrderAcrossTopics(t *testing.T) {
	e := sqliteEnv(t)
	// Alternate topics, one millisecond apart, so only the merge by
	// creation time gives this order.
	want := []string{"c1", "k1", "c2", "c3", "k2"}
	for _, id := range want {
		topic, typ := casesTopic, "case.updated"
		if id[0] == 'k' {
			topic, typ = kbTopic, "knowledge.published"
		}
		e.write(t, topic, id, typ)
		e.clk.Advance(time.Millisecond)
	}
	e.write(t, kbTopic, "k3", "knowledge.archived") // filtered out below
	var obs counter
	cfg := e.config(e.rcv.srv.URL+"/hooks", "replica-1")
	cfg.Events = []string{"case.*", "knowledge.published"}
	cfg.Observe = obs.observe
	d, _ := start(t, cfg)
	e.drive(t, "five deliveries and one filtered event", func() bool { return obs.get(ResultDelivered) == 5 && obs.get(ResultFiltered) == 1 })

	if got := e.rcv.ids(); !slices.Equal(got, want) {
		t.Fatalf("delivered %v; want %v", got, want)
	}
	for _, dl := range e.rcv.deliveries() {
		if dl.contentType != "application/json" {
			t.Errorf("%s: Content-Type %q", dl.id, dl.contentType)
		}
		var p map[string]string
		if err := json.Unmarshal(dl.body, &p); err != nil || p["id"] != dl.id || p["type"] != dl.typ {
			t.Errorf("%s: body %s does not match the headers (type %q)", dl.id, dl.body, dl.typ)
		}
		if err := webhooksig.Verify(testSecret, dl.sig, dl.body, time.Minute, dl.at); err != nil {
			t.Errorf("%s: %v", dl.id, err)
		}
	}
	// The cursors sit on the last record of each topic, the filtered one
	// included.
	if _, seq := cursorOf(t, e.st, kbTopic); seq != 6 {
		t.Errorf("knowledge cursor at seq %d; want 6", seq)
	}
	st := d.Status()
	if !st.Holder || st.State != StateRunning || st.Delivered != 5 || st.Filtered != 1 || st.LastEventID != "k2" {
		t.Errorf("Status = %+v", st)
	}
}

func TestOrderAcrossRestarts(t *testing.T) {
	e := sqliteEnv(t)
	for i := 1; i <= 3; i++ {
		e.write(t, casesTopic, fmt.Sprintf("e%d", i), "case.created")
	}
	d, stop := start(t, e.config(e.rcv.srv.URL, "replica-1"))
	e.drive(t, "three deliveries", func() bool { return d.Status().Delivered == 3 })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if st := d.Status(); st.State != StateStopped || st.Holder {
		t.Errorf("after Run returned, Status = %+v", st)
	}
	// While nothing runs, more events arrive, on both topics.
	e.write(t, kbTopic, "e4", "knowledge.published")
	e.clk.Advance(time.Millisecond)
	e.write(t, casesTopic, "e5", "case.updated")
	e.clk.Advance(time.Millisecond)
	e.write(t, casesTopic, "e6", "case.updated")
	// Another replica takes over at once: the first released its lease.
	d2, _ := start(t, e.config(e.rcv.srv.URL, "replica-2"))
	e.drive(t, "three more deliveries", func() bool { return d2.Status().Delivered == 3 })
	want := []string{"e1", "e2", "e3", "e4", "e5", "e6"}
	if got := e.rcv.ids(); !slices.Equal(got, want) {
		t.Fatalf("delivered %v; want %v (each once, in order)", got, want)
	}
}

func TestReceiverFailsThenRecovers(t *testing.T) {
	e := sqliteEnv(t)
	e.write(t, casesTopic, "e1", "case.created")
	e.write(t, casesTopic, "e2", "case.updated")
	e.rcv.setAnswer(func(n int, _ delivery, w http.ResponseWriter) int {
		switch n {
		case 0:
			return http.StatusInternalServerError
		case 1:
			w.Header().Set("Retry-After", "7200") // longer than the policy's 1h cap
			return http.StatusTooManyRequests
		case 2:
			// A redirect is a failure: it is not followed.
			w.Header().Set("Location", "/elsewhere")
			return http.StatusFound
		}
		return http.StatusNoContent
	})
	var obs counter
	cfg := e.config(e.rcv.srv.URL, "replica-1")
	cfg.Observe = obs.observe
	d, _ := start(t, cfg)
	e.drive(t, "first failure", func() bool { return obs.get(ResultRetried) == 1 })
	if st := d.Status(); st.State != StateDegraded || st.Pending == nil || st.Pending.ID != "e1" || st.Pending.LastStatus != 500 {
		t.Errorf("while retrying, Status = %+v", st)
	}
	e.drive(t, "both events delivered", func() bool { return obs.get(ResultDelivered) == 2 })

	got := e.rcv.deliveries()
	if ids := e.rcv.ids(); !slices.Equal(ids, []string{"e1", "e1", "e1", "e1", "e2"}) {
		t.Fatalf("requests %v; want e1 four times (three failures), then e2", ids)
	}
	// 1 minute after the 500, then the 2 hours the 429 asked for, then 4
	// minutes (the third delay of the policy).
	for i, want := range []time.Duration{time.Minute, 2 * time.Hour, 4 * time.Minute} {
		if gap := got[i+1].at.Sub(got[i].at); gap != want {
			t.Errorf("wait after attempt %d (status %d) = %s; want %s", i+1, got[i].status, gap, want)
		}
	}
	if obs.get(ResultRetried) != 3 || obs.get(ResultDeadLettered) != 0 {
		t.Errorf("observed %v", obs.n)
	}
	// The cursor moved once per acknowledged event: no duplicate commit.
	cp, seq := cursorOf(t, e.st, casesTopic)
	if cp.Version != 2 || seq != 2 {
		t.Errorf("cursor at version %d, seq %d; want version 2, seq 2", cp.Version, seq)
	}
	if st := d.Status(); st.State != StateRunning || st.Pending != nil || st.Retried != 3 || !strings.Contains(st.LastError, "302") {
		t.Errorf("after recovery, Status = %+v", st)
	}
}

func TestOutageDeadLettersAndContinues(t *testing.T) {
	e := sqliteEnv(t)
	e.write(t, casesTopic, "e1", "case.created")
	var down atomic.Bool
	down.Store(true)
	e.rcv.setAnswer(func(int, delivery, http.ResponseWriter) int {
		if down.Load() {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	var obs counter
	cfg := e.config(e.rcv.srv.URL, "replica-1")
	cfg.Observe = obs.observe
	d, _ := start(t, cfg)
	e.drive(t, "twelve hours of outage", func() bool { return e.clk.Since(t0) >= 12*time.Hour })
	e.write(t, casesTopic, "e2", "case.updated") // created 12h into the outage
	e.drive(t, "e1 dead-lettered", func() bool { return obs.get(ResultDeadLettered) == 1 })
	if since := e.clk.Since(t0); since > 24*time.Hour || since < 20*time.Hour {
		t.Errorf("e1 dead-lettered %s after its creation; want within 24h, after the last retry that fits", since)
	}
	// e2 is next, and still within its own 24 hours: it waits for the
	// receiver to come back.
	e.drive(t, "e2 retried", func() bool {
		st := d.Status()
		return st.Pending != nil && st.Pending.ID == "e2" && st.Pending.Attempts >= 1 && st.State == StateDegraded
	})
	down.Store(false)
	e.drive(t, "e2 delivered", func() bool { return obs.get(ResultDelivered) == 1 })
	if acc := e.rcv.accepted(); !slices.Equal(acc, []string{"e2"}) {
		t.Fatalf("accepted %v; want only e2", acc)
	}

	doc, err := e.st.Document(t.Context(), org, KindDeadLetter, "e1")
	if err != nil {
		t.Fatalf("the dead letter of e1: %v", err)
	}
	var dl DeadLetter
	if err := json.Unmarshal(doc.Data, &dl); err != nil {
		t.Fatal(err)
	}
	e1Attempts := 0
	for _, r := range e.rcv.deliveries() {
		if r.id == "e1" {
			e1Attempts++
		}
	}
	if dl.ID != "e1" || dl.Type != "case.created" || dl.Topic != casesTopic || dl.LastStatus != 503 ||
		dl.Attempts != e1Attempts || e1Attempts < 10 || !strings.Contains(dl.Error, "503") || !dl.CreatedAt.Equal(t0) {
		t.Errorf("dead letter %+v (the receiver saw %d attempts)", dl, e1Attempts)
	}
	var p map[string]string
	if err := json.Unmarshal(dl.Payload, &p); err != nil || p["id"] != "e1" {
		t.Errorf("dead letter payload %s", dl.Payload)
	}
	if _, seq := cursorOf(t, e.st, casesTopic); seq != 2 {
		t.Errorf("cursor at seq %d; want 2", seq)
	}
}

func TestGoneDeadLettersAtOnce(t *testing.T) {
	e := sqliteEnv(t)
	e.write(t, casesTopic, "e1", "case.created")
	e.write(t, casesTopic, "e2", "case.created")
	e.rcv.setAnswer(func(n int, _ delivery, _ http.ResponseWriter) int {
		if n == 0 {
			return http.StatusGone
		}
		return http.StatusOK
	})
	var obs counter
	cfg := e.config(e.rcv.srv.URL, "replica-1")
	cfg.Observe = obs.observe
	start(t, cfg)
	e.drive(t, "e2 delivered", func() bool { return obs.get(ResultDelivered) == 1 })
	if ids := e.rcv.ids(); !slices.Equal(ids, []string{"e1", "e2"}) || obs.get(ResultRetried) != 0 {
		t.Fatalf("requests %v, observed %v; want e1 once (410) and e2", ids, obs.n)
	}
	doc, err := e.st.Document(t.Context(), org, KindDeadLetter, "e1")
	if err != nil {
		t.Fatal(err)
	}
	var dl DeadLetter
	_ = json.Unmarshal(doc.Data, &dl)
	if dl.Attempts != 1 || dl.LastStatus != http.StatusGone {
		t.Errorf("dead letter %+v; want one attempt, status 410", dl)
	}
}

// Crash between the receiver's 2xx and the cursor's commit: the next
// replica sends the same event again, with the same Sfbridge-Event-Id.
func TestCrashBeforeCommitRedelivers(t *testing.T) {
	var crashed atomic.Bool
	crash := errors.New("simulated crash")
	e := newEnv(t, statetest.SQLiteURL(t), state.Options{BeforeCommit: func(context.Context) error {
		if crashed.Load() {
			return crash
		}
		return nil
	}})
	e.write(t, casesTopic, "e1", "case.created")
	e.write(t, casesTopic, "e2", "case.created")
	e.rcv.setAnswer(func(n int, _ delivery, _ http.ResponseWriter) int {
		if n == 0 {
			crashed.Store(true) // from now on nothing this process writes lands
		}
		return http.StatusOK
	})
	d1, stop := start(t, e.config(e.rcv.srv.URL, "replica-1"))
	eventually(t, "Run to stop at the failed commit", func() bool { return d1.Status().State == StateStopped })
	if err := stop(); !errors.Is(err, crash) {
		t.Fatalf("Run = %v; want the commit's failure", err)
	}
	if st := d1.Status(); st.Failed != 1 || st.Delivered != 0 {
		t.Errorf("the crashed Deliverer's Status = %+v; want one failure, nothing delivered", st)
	}
	if _, seq := cursorOf(t, e.st, casesTopic); seq != 0 {
		t.Fatalf("cursor at seq %d after the crash; want 0", seq)
	}
	crashed.Store(false) // a new process
	d2, _ := start(t, e.config(e.rcv.srv.URL, "replica-2"))
	// replica-1 could not release its lease: replica-2 waits for it to
	// expire, then delivers.
	e.drive(t, "redelivery", func() bool { return d2.Status().Delivered == 2 })
	if ids := e.rcv.ids(); !slices.Equal(ids, []string{"e1", "e1", "e2"}) {
		t.Fatalf("requests %v; want e1 again after the crash, then e2", ids)
	}
	got := e.rcv.deliveries()
	if string(got[0].body) != string(got[1].body) {
		t.Errorf("the redelivery's body differs: %s vs %s", got[0].body, got[1].body)
	}
	if got[1].at.Sub(t0) < time.Hour {
		t.Errorf("replica-2 delivered at +%s, before replica-1's lease (1h) ran out", got[1].at.Sub(t0))
	}
}

func TestWakeDeliversBeforeThePoll(t *testing.T) {
	e := sqliteEnv(t)
	cfg := e.config(e.rcv.srv.URL, "replica-1")
	cfg.Poll = time.Hour
	d, _ := start(t, cfg)
	eventually(t, "the Deliverer to go idle", func() bool { return d.Status().Holder && e.clk.Waiters() == 1 })
	e.write(t, casesTopic, "e1", "case.created")
	d.Wake()
	d.Wake() // a second call while one is pending does not block
	eventually(t, "e1 delivered without the clock moving", func() bool { return d.Status().Delivered == 1 })
	if e.clk.Since(t0) != 0 {
		t.Fatalf("the clock moved %s", e.clk.Since(t0))
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	e := sqliteEnv(t)
	good := e.config("https://bot.example.com/hooks", "replica-1")
	for name, mutate := range map[string]func(*Config){
		"no store":         func(c *Config) { c.Store = nil },
		"no org":           func(c *Config) { c.Org = "" },
		"relative URL":     func(c *Config) { c.URL = "/hooks" },
		"ftp URL":          func(c *Config) { c.URL = "ftp://bot.example.com" },
		"short secret":     func(c *Config) { c.Secret = []byte("short") },
		"no topics":        func(c *Config) { c.Topics = nil },
		"topic twice":      func(c *Config) { c.Topics = []string{casesTopic, casesTopic} },
		"no owner":         func(c *Config) { c.Owner = "" },
		"short lease":      func(c *Config) { c.LeaseTTL = 15 * time.Second; c.AttemptTimeout = 10 * time.Second },
		"bad filter":       func(c *Config) { c.Events = []string{"*.created"} },
		"bad retry jitter": func(c *Config) { c.Retry.Jitter = 2 },
	} {
		cfg := good
		mutate(&cfg)
		var ce *ConfigError
		if _, err := New(cfg); !errors.As(err, &ce) {
			t.Errorf("%s: New = %v; want a *ConfigError", name, err)
		} else if strings.Contains(err.Error(), string(testSecret)) {
			t.Errorf("%s: the error shows the secret: %v", name, err)
		}
	}
	if _, err := New(good); err != nil {
		t.Fatalf("New(good): %v", err)
	}
}

// A payload that is not a JSON object cannot be delivered: it is
// dead-lettered without an attempt. An event already past MaxAge when
// first read (the daemon was down) still gets one attempt.
func TestUnusableAndStaleEvents(t *testing.T) {
	e := sqliteEnv(t)
	l, err := e.st.AcquireLease(t.Context(), "raw-writer", "writer", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.Commit(t.Context(), state.Commit{
		Key: state.CheckpointKey{Org: org, Pipeline: "raw", Key: "k"}, Value: []byte(`{}`), Fence: state.FenceOf(l),
		Outbox: []state.OutboxRecord{{Topic: casesTopic, Payload: []byte("not json")}},
	}); err != nil {
		t.Fatal(err)
	}
	e.write(t, casesTopic, "old1", "case.created")
	e.write(t, casesTopic, "old2", "case.created")
	e.clk.Advance(48 * time.Hour) // the daemon was down for two days
	e.rcv.setAnswer(func(n int, _ delivery, _ http.ResponseWriter) int {
		if n == 0 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	var obs counter
	cfg := e.config(e.rcv.srv.URL, "replica-1")
	cfg.Observe = obs.observe
	start(t, cfg)
	e.drive(t, "old2 delivered", func() bool { return obs.get(ResultDelivered) == 1 })
	if ids := e.rcv.ids(); !slices.Equal(ids, []string{"old1", "old2"}) {
		t.Fatalf("requests %v; want one attempt at old1, then old2", ids)
	}
	if obs.get(ResultDeadLettered) != 2 || obs.get(ResultRetried) != 0 {
		t.Errorf("observed %v; want 2 dead letters, no retry", obs.n)
	}
	doc, err := e.st.Document(t.Context(), org, KindDeadLetter, org+":"+casesTopic+":1")
	if err != nil {
		t.Fatalf("the dead letter of the non-JSON record: %v", err)
	}
	var dl DeadLetter
	if err := json.Unmarshal(doc.Data, &dl); err != nil || dl.PayloadText != "not json" || dl.Attempts != 0 {
		t.Errorf("dead letter %+v (%v)", dl, err)
	}
}

// A receiver that does not answer within AttemptTimeout fails the attempt
// (status 0); the event is retried.
func TestAttemptTimeout(t *testing.T) {
	e := sqliteEnv(t)
	e.write(t, casesTopic, "e1", "case.created")
	e.rcv.mu.Lock()
	e.rcv.intercept = func(_ http.ResponseWriter, r *http.Request) bool {
		if e.rcv.arrivals() > 0 {
			return false
		}
		e.rcv.record(r, 0)
		_, _ = io.Copy(io.Discard, r.Body) // so the server notices the client hang up
		select {                           // hang until the client gives up
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
		return true
	}
	e.rcv.mu.Unlock()
	var obs counter
	cfg := e.config(e.rcv.srv.URL, "replica-1")
	cfg.AttemptTimeout = 200 * time.Millisecond
	cfg.Observe = obs.observe
	d, _ := start(t, cfg)
	e.drive(t, "e1 delivered", func() bool { return obs.get(ResultDelivered) == 1 })
	if obs.get(ResultRetried) != 1 {
		t.Errorf("observed %v; want one retry", obs.n)
	}
	if st := d.Status(); !strings.Contains(st.LastError, "no answer") || !strings.Contains(st.LastError, "deadline") {
		t.Errorf("LastError = %q; want the timeout", st.LastError)
	}
}

var (
	testSecret = []byte("whsec-test-0123456789abcdef")
	signedAt   = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)
