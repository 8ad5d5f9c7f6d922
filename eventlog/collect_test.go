package eventlog_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/eventlog"
	"github.com/sfbridge/sfbridge/internal/backoff"
	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/rest"
	"github.com/sfbridge/sfbridge/sftest"
	"github.com/sfbridge/sfbridge/sink"
	"github.com/sfbridge/sfbridge/sink/ndjson"
	"github.com/sfbridge/sfbridge/state"
)

// collectStart is the emulator's clock in these tests.
var collectStart = time.Date(2026, 12, 4, 10, 17, 0, 0, time.UTC)

// orgClock is the emulator's clock, moved by the tests.
type orgClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *orgClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *orgClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t      testing.TB
	s      *sftest.Server
	org    *orgClock
	client *rest.Client
	store  state.Store
	dir    string
	clk    *clock.Fake
}

func leakCheck(tb testing.TB) {
	tb.Helper()
	opts := []goleak.Option{goleak.IgnoreCurrent(),
		// the HTTP clients' idle keep-alive connections, closed with the server
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	}
	tb.Cleanup(func() { goleak.VerifyNone(tb, opts...) })
}

func newEnv(tb testing.TB, em emulator.EventMonitoringSpec) *env {
	tb.Helper()
	leakCheck(tb)
	oc := &orgClock{t: collectStart}
	s := sftest.NewServerWith(tb, sftest.Options{Now: oc.Now, Fixture: func(id string, cert []byte) *emulator.Fixture {
		fx := emulator.DefaultFixture(id, cert)
		fx.EventMonitoring = &em
		return fx
	}})
	src, err := auth.NewTokenSource(auth.Config{ConsumerKey: s.ClientID, Username: emulator.UserIntegration, PrivateKey: s.Key, LoginURL: s.URL})
	if err != nil {
		tb.Fatal(err)
	}
	c, err := rest.New(src, rest.WithRetry(rest.RetryPolicy{Sleep: func(context.Context, time.Duration) error { return nil }}))
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	clk := clock.NewFake(collectStart)
	// The store's leases expire on the collector's clock.
	st, err := state.Open(tb.Context(), "sqlite:"+filepath.Join(dir, "state.db"), state.Options{Clock: clk})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return &env{t: tb, s: s, org: oc, client: c, store: st, dir: dir, clk: clk}
}

// noWait retries at once: a jitter of 1 drawn at 0 makes every delay 0.
var noWait = backoff.Policy{Initial: time.Millisecond, Jitter: 1, Rand: func() float64 { return 0 }}

func (e *env) config(key string, sk sink.Sink, types ...string) eventlog.CollectorConfig {
	return eventlog.CollectorConfig{Client: e.client, Store: e.store, Sink: sk, Org: "emu", Key: key, Types: types,
		Interval: eventlog.IntervalAuto, Retry: noWait, Clock: e.clk, InstanceURL: e.s.URL, BatchEvents: 7,
		CommitBytes: 30000} // a flush (fsync and checkpoint) every few batches of 7
}

func (e *env) ndjson(name string) (*ndjson.Sink, string) {
	p := filepath.Join(e.dir, name)
	sk, err := ndjson.New(ndjson.Options{Path: p})
	if err != nil {
		e.t.Fatal(err)
	}
	return sk, p
}

func (e *env) run(cfg eventlog.CollectorConfig) (eventlog.Summary, error) {
	e.t.Helper()
	c, err := eventlog.NewCollector(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	defer cfg.Sink.Close()
	return c.Run(e.t.Context())
}

// ids reads the event.id of every line of an NDJSON file, in order.
func ids(tb testing.TB, path string) []string {
	tb.Helper()
	return idsExcept(tb, path, "")
}

// idsExcept reads the event.id of every line of an NDJSON file but those
// of the event log file skip (salesforce.log_file.id).
func idsExcept(tb testing.TB, path, skip string) []string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var doc struct {
			Event struct {
				ID string `json:"id"`
			} `json:"event"`
			Salesforce struct {
				LogFile struct {
					ID string `json:"id"`
				} `json:"log_file"`
			} `json:"salesforce"`
		}
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			tb.Fatalf("line %d: %v: %.200s", len(out)+1, err, sc.Text())
		}
		if skip != "" && doc.Salesforce.LogFile.ID == skip {
			continue
		}
		out = append(out, doc.Event.ID)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// exactlyOnce checks that got holds every id of want once and nothing else.
func exactlyOnce(t *testing.T, got, want []string) {
	t.Helper()
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("event %s delivered %d times", id, n)
		}
	}
	wantSet := map[string]bool{}
	for _, id := range want {
		wantSet[id] = true
		if seen[id] == 0 {
			t.Errorf("event %s never delivered", id)
		}
	}
	for id := range seen {
		if !wantSet[id] {
			t.Errorf("event %s delivered but not expected", id)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d events delivered, want %d", len(got), len(want))
	}
}

// hourlyRows sums the rows of the org's hourly files of types that exist now.
func hourlyRows(e *env, types ...string) (files, rows int) {
	for _, f := range e.s.Org.EventLogFiles() {
		if f.Pending || f.Interval != "Hourly" {
			continue
		}
		for _, t := range types {
			if f.EventType == t {
				files++
				rows += f.Rows
			}
		}
	}
	return files, rows
}

func sampleOrg() emulator.EventMonitoringSpec {
	return emulator.EventMonitoringSpec{RowsPerHour: 12, SampleDays: 1, Types: []string{"Login", "API"}, LateEvery: -1}
}

// reference collects the org cleanly into its own output.
func reference(e *env, types ...string) []string {
	e.t.Helper()
	sk, p := e.ndjson("reference.ndjson")
	if _, err := e.run(e.config("reference", sk, types...)); err != nil {
		e.t.Fatal(err)
	}
	return ids(e.t, p)
}

func TestCollectEveryHourlyFileOnceAndResume(t *testing.T) {
	e := newEnv(t, sampleOrg())
	wantFiles, wantRows := hourlyRows(e, "Login", "API")
	if wantFiles == 0 {
		t.Fatal("the sample org has no hourly files")
	}
	sk, p := e.ndjson("out.ndjson")
	sum, err := e.run(e.config("main", sk, "Login", "API"))
	if err != nil {
		t.Fatal(err)
	}
	// The collector's own login adds a row to an hour whose file is not out yet.
	if sum.Files != wantFiles || sum.Events != int64(wantRows) || sum.Skipped != 0 || sum.Deferred != 0 {
		t.Fatalf("summary %+v, want %d files and %d events", sum, wantFiles, wantRows)
	}
	if sum.PerType["Login"].Files+sum.PerType["API"].Files != wantFiles {
		t.Fatalf("per type %+v", sum.PerType)
	}
	got := ids(t, p)
	exactlyOnce(t, got, reference(e, "Login", "API"))

	// A second run finds nothing new; after time passes it takes only the new files.
	sk2, _ := e.ndjson("out.ndjson")
	sum2, err := e.run(e.config("main", sk2, "Login", "API"))
	if err != nil || sum2.Files != 0 || sum2.Events != 0 {
		t.Fatalf("second run: %+v, %v", sum2, err)
	}
	e.org.Add(6 * time.Hour)
	newFiles, newRows := hourlyRows(e, "Login", "API")
	sk3, _ := e.ndjson("out.ndjson")
	sum3, err := e.run(e.config("main", sk3, "Login", "API"))
	if err != nil {
		t.Fatal(err)
	}
	if sum3.Files != newFiles-wantFiles || sum3.Events != int64(newRows-wantRows) {
		t.Fatalf("third run %+v, want %d files, %d events", sum3, newFiles-wantFiles, newRows-wantRows)
	}
	all := ids(t, p)
	if len(all) != newRows {
		t.Fatalf("%d events in the output, want %d", len(all), newRows)
	}
}

func TestCollectLateFileAndSharedCreatedDate(t *testing.T) {
	e := newEnv(t, sampleOrg())
	sk, p := e.ndjson("out.ndjson")
	if _, err := e.run(e.config("main", sk, "Login")); err != nil {
		t.Fatal(err)
	}
	var last emulator.EventLogFileInfo
	for _, f := range e.s.Org.EventLogFiles() {
		if f.EventType == "Login" && f.Interval == "Hourly" && !f.Pending {
			last = f
		}
	}
	// A late file for an old hour, then a file created in the same second
	// as the last one collected (a strict > cursor would skip it).
	late, err := e.s.Org.AddLateEventLogFile(last.ID, emulator.LateFileSpec{Rows: 5})
	if err != nil {
		t.Fatal(err)
	}
	if late.Sequence < 2 {
		t.Fatalf("late file sequence %d", late.Sequence)
	}
	twin, err := e.s.Org.AddEventLogFile(emulator.EventLogFileSpec{EventType: "Login", Rows: 4, LogDate: last.LogDate.Add(-24 * time.Hour).Format(time.RFC3339)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Org.PatchEventLogFile(twin.ID, emulator.EventLogFilePatch{CreatedLike: last.ID}); err != nil {
		t.Fatal(err)
	}
	before := len(ids(t, p))
	sk2, _ := e.ndjson("out.ndjson")
	sum, err := e.run(e.config("main", sk2, "Login"))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Files != 2 || sum.Events != int64(late.Rows+twin.Rows) {
		t.Fatalf("summary %+v; want the late file (%d rows) and the twin (%d rows)", sum, late.Rows, twin.Rows)
	}
	exactlyOnce(t, ids(t, p), reference(e, "Login"))
	if len(ids(t, p)) != before+late.Rows+twin.Rows {
		t.Fatal("wrong number of new events")
	}
}

func TestCollectDailyOnlyOrgFallsBackToSequenceZero(t *testing.T) {
	em := sampleOrg()
	em.Hourly = new(bool)
	e := newEnv(t, em)
	got, err := eventlog.DetectInterval(t.Context(), e.client)
	if err != nil || got != eventlog.IntervalDaily {
		t.Fatalf("DetectInterval = %q, %v; want daily", got, err)
	}
	var want int
	for _, f := range e.s.Org.EventLogFiles() {
		if !f.Pending && f.EventType == "Login" {
			if f.Interval != "Daily" {
				t.Fatalf("file %+v on a daily-only org", f)
			}
			want += f.Rows
		}
	}
	sk, p := e.ndjson("out.ndjson")
	sum, err := e.run(e.config("main", sk, "Login"))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Events != int64(want) || want == 0 {
		t.Fatalf("summary %+v, want %d events", sum, want)
	}
	exactlyOnce(t, ids(t, p), reference(e, "Login"))

	cfg := e.config("other", nil, "Login")
	sk2, _ := e.ndjson("other.ndjson")
	cfg.Sink, cfg.Interval = sk2, eventlog.IntervalHourly
	var ie *eventlog.IntervalError
	if _, err := e.run(cfg); !errors.As(err, &ie) {
		t.Fatalf("hourly on a daily-only org: %v, want *IntervalError", err)
	}
}

func TestCollectKeepsOneIntervalPerType(t *testing.T) {
	e := newEnv(t, sampleOrg())
	sk, _ := e.ndjson("out.ndjson")
	cfg := e.config("main", sk, "Login")
	cfg.Interval = eventlog.IntervalDaily
	if _, err := e.run(cfg); err != nil {
		t.Fatal(err)
	}
	sk2, _ := e.ndjson("out.ndjson")
	cfg = e.config("main", sk2, "Login")
	cfg.Interval = eventlog.IntervalHourly
	var ce *eventlog.CollectorConfigError
	if _, err := e.run(cfg); !errors.As(err, &ce) {
		t.Fatalf("switching Login from daily to hourly: %v, want *CollectorConfigError", err)
	}
}
