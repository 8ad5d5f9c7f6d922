package eventlog_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/eventlog"
	"github.com/sfbridge/sfbridge/rest"
)

// logTap records log messages and signals those it is asked to watch.
type logTap struct {
	mu    sync.Mutex
	lines []string
	watch map[string]chan struct{}
}

func (l *logTap) Enabled(context.Context, slog.Level) bool { return true }
func (l *logTap) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logTap) WithGroup(string) slog.Handler            { return l }
func (l *logTap) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { b.WriteString(" " + a.String()); return true })
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, b.String())
	for msg, ch := range l.watch {
		if strings.Contains(r.Message, msg) {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
	return nil
}

func (l *logTap) on(msg string) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.watch == nil {
		l.watch = map[string]chan struct{}{}
	}
	ch := make(chan struct{}, 16)
	l.watch[msg] = ch
	return ch
}

func (l *logTap) has(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.lines {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func TestCollectAbandonsASilentDownloadAfterTheIdleTimeout(t *testing.T) {
	e := newEnv(t, sampleOrg())
	want := reference(e, "Login")
	sk, p := e.ndjson("out.ndjson")
	if _, err := e.run(e.config("main", sk, "Login")); err != nil {
		t.Fatal(err)
	}
	slow, err := e.s.Org.AddEventLogFile(emulator.EventLogFileSpec{EventType: "Login", Rows: 4})
	if err != nil {
		t.Fatal(err)
	}
	addBlobFault(e, emulator.BlobFaultSpec{Kind: "trickle", FileID: slow.ID, BytesPerSecond: 1000})
	tap := &logTap{}
	sk2, _ := e.ndjson("out.ndjson")
	cfg := e.config("main", sk2, "Login")
	cfg.Concurrency, cfg.IdleTimeout, cfg.Logger = 1, time.Minute, slog.New(tap)
	done := make(chan error, 1)
	go func() { _, err := e.run(cfg); done <- err }()
	// The download's idle timer is the one timer of the run: once it is
	// armed, a minute of silence passes on the collector's clock.
	if err := e.clk.BlockUntil(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Minute + time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !tap.has("no data for 1m0s") {
		t.Fatalf("no idle timeout logged: %v", tap.lines)
	}
	// The reference output, collected again, now holds the new file too.
	all := reference(e, "Login")
	if len(all) != len(want)+slow.Rows {
		t.Fatalf("reference grew from %d to %d events, want +%d", len(want), len(all), slow.Rows)
	}
	exactlyOnce(t, ids(t, p), all)
}

func TestFollowPausesOnRequestLimitAndGoesOn(t *testing.T) {
	e := newEnv(t, sampleOrg())
	want := reference(e, "Login")
	addFault(e, emulator.FaultSpec{Path: "/services/data/*/query", Action: "error", Status: 403, ErrorCode: "REQUEST_LIMIT_EXCEEDED", Message: "TotalRequests Limit exceeded.", Count: 1})
	tap := &logTap{}
	passDone := tap.on("collection pass done")
	paused := tap.on("request limit exceeded")
	sk, p := e.ndjson("out.ndjson")
	cfg := e.config("main", sk, "Login")
	cfg.Logger = slog.New(tap)
	c, err := eventlog.NewCollector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sk.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	type result struct {
		sum eventlog.Summary
		err error
	}
	done := make(chan result, 1)
	go func() { s, err := c.Follow(ctx, 5*time.Minute); done <- result{s, err} }()
	select {
	case <-paused:
	case r := <-done:
		t.Fatalf("Follow returned before pausing: %+v, %v", r.sum, r.err)
	}
	// Paused: one timer, the pause; nothing else runs until it ends.
	if err := e.clk.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if got := len(ids(t, p)); got != 0 {
		t.Fatalf("%d events before the pause ended", got)
	}
	next, ok := e.clk.NextDeadline()
	if !ok || next.Sub(e.clk.Now()) < time.Minute {
		t.Fatalf("pause ends at %v (now %v): want at least a minute, not a spin", next, e.clk.Now())
	}
	e.clk.Set(next)
	select {
	case <-passDone:
	case r := <-done:
		t.Fatalf("Follow returned after the pause instead of collecting: %+v, %v", r.sum, r.err)
	}
	cancel()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.sum.Events != int64(len(want)) {
		t.Fatalf("follow delivered %d events, want %d", r.sum.Events, len(want))
	}
	exactlyOnce(t, ids(t, p), want)
}

// inFlight counts LogFile downloads under way: from the request until the
// body is closed.
type inFlight struct {
	base     http.RoundTripper
	mu       sync.Mutex
	now, top int
	total    int
}

func (f *inFlight) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(r.URL.Path, "/LogFile") {
		return f.base.RoundTrip(r)
	}
	f.mu.Lock()
	f.now++
	f.total++
	f.top = max(f.top, f.now)
	f.mu.Unlock()
	resp, err := f.base.RoundTrip(r)
	if err != nil {
		f.done()
		return nil, err
	}
	resp.Body = &doneBody{ReadCloser: resp.Body, f: f}
	return resp, nil
}

func (f *inFlight) done() {
	f.mu.Lock()
	f.now--
	f.mu.Unlock()
}

type doneBody struct {
	io.ReadCloser
	f    *inFlight
	once sync.Once
}

func (d *doneBody) Close() error {
	d.once.Do(d.f.done)
	return d.ReadCloser.Close()
}

func TestCollectBoundsParallelDownloads(t *testing.T) {
	e := newEnv(t, sampleOrg())
	// Larger files keep downloads open long enough to overlap.
	for range 6 {
		if _, err := e.s.Org.AddEventLogFile(emulator.EventLogFileSpec{EventType: "API", Rows: 200}); err != nil {
			t.Fatal(err)
		}
	}
	want := reference(e, "Login", "API")
	counter := &inFlight{base: http.DefaultTransport.(*http.Transport).Clone()}
	src, err := auth.NewTokenSource(auth.Config{ConsumerKey: e.s.ClientID, Username: emulator.UserIntegration, PrivateKey: e.s.Key, LoginURL: e.s.URL})
	if err != nil {
		t.Fatal(err)
	}
	c, err := rest.New(src, rest.WithTransport(counter), rest.WithRetry(rest.RetryPolicy{Sleep: func(context.Context, time.Duration) error { return nil }}))
	if err != nil {
		t.Fatal(err)
	}
	sk, p := e.ndjson("out.ndjson")
	cfg := e.config("main", sk, "Login", "API")
	cfg.Client, cfg.Concurrency = c, 2
	if _, err := e.run(cfg); err != nil {
		t.Fatal(err)
	}
	if counter.total < 20 || counter.top != 2 {
		t.Fatalf("%d downloads, at most %d at once; want 2 at once, never more", counter.total, counter.top)
	}
	exactlyOnce(t, ids(t, p), want)
}
