package elasticsearch

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/sfbridge/sfbridge/internal/backoff"
	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/sink"
	"github.com/sfbridge/sfbridge/sink/elasticsearch/estest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreAnyFunction("internal/poll.runtime_pollWait"))
}

// fakeES is the in-process _bulk API of package estest.
type fakeES = estest.Server

func newFakeES() *fakeES { return estest.New() }

func ev(id string) sink.Event {
	return sink.Event{ID: id, Dataset: "salesforce.login", Doc: []byte(`{"event":{"id":"` + id + `","dataset":"salesforce.login"}}`)}
}

// writeWithFakeClock runs Write while advancing the fake clock whenever the
// sink waits, so retries take no real time.
func writeWithFakeClock(t *testing.T, s *Sink, fc *clock.Fake, batch []sink.Event) (sink.Ack, error) {
	t.Helper()
	type result struct {
		ack sink.Ack
		err error
	}
	done := make(chan result, 1)
	go func() {
		ack, err := s.Write(context.Background(), batch)
		done <- result{ack, err}
	}()
	for {
		select {
		case r := <-done:
			return r.ack, r.err
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		if fc.BlockUntil(ctx, 1) == nil {
			fc.Advance(time.Minute)
		}
		cancel()
	}
}

func newSink(t *testing.T, srv *httptest.Server, fc *clock.Fake, mod func(*Options)) *Sink {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "api-key")
	os.WriteFile(keyFile, []byte("VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==\n"), 0o600)
	opts := Options{Addresses: []string{srv.URL}, APIKeyFile: keyFile, Clock: fc,
		DeadLetterPath: filepath.Join(t.TempDir(), "dead-letter.ndjson"),
		Retry:          backoff.Policy{MaxAttempts: 5, Initial: time.Second, Max: 10 * time.Second, Jitter: 0.5}}
	if mod != nil {
		mod(&opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestPartialFailuresAreRetriedCountedAndDeadLettered(t *testing.T) {
	fake := newFakeES()
	fake.FailFirstRequest = true
	srv := httptest.NewServer(fake)
	defer srv.Close()
	fc := clock.NewFake(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	s := newSink(t, srv, fc, nil)

	// First delivery of ok-1 and ok-2, so that the batch below finds them.
	if ack, err := writeWithFakeClock(t, s, fc, []sink.Event{ev("ok-1"), ev("ok-2")}); err != nil || ack.Delivered != 2 {
		t.Fatalf("first batch (after a 503): ack %+v, err %v", ack, err)
	}
	batch := []sink.Event{ev("ok-1"), ev("ok-2"), ev("ok-3"), ev("throttle-1"), ev("boom-1"), ev("mapping-1")}
	ack, err := writeWithFakeClock(t, s, fc, batch)
	if err != nil {
		t.Fatal(err)
	}
	want := sink.Ack{Delivered: 3, Duplicates: 2, DeadLettered: 1}
	if diff := cmp.Diff(want, ack); diff != "" {
		t.Errorf("ack (-want +got):\n%s", diff)
	}
	stored := fake.Stored("logs-salesforce.login-default")
	for _, id := range []string{"ok-1", "ok-2", "ok-3", "throttle-1", "boom-1"} {
		if stored[id] == nil {
			t.Errorf("%s not stored in logs-salesforce.login-default", id)
		}
	}
	if stored["mapping-1"] != nil {
		t.Error("mapping-1 stored despite its mapping error")
	}
	if fake.Tries("throttle-1") != 3 {
		t.Errorf("throttle-1 sent %d times, want 3 (two 429s, then created)", fake.Tries("throttle-1"))
	}
	dl, err := os.ReadFile(s.opts.DeadLetterPath)
	if err != nil {
		t.Fatal(err)
	}
	var line struct {
		ID       string          `json:"event_id"`
		Index    string          `json:"index"`
		Status   int             `json:"status"`
		Type     string          `json:"error_type"`
		Document json.RawMessage `json:"document"`
	}
	if err := json.Unmarshal(dl, &line); err != nil {
		t.Fatalf("dead-letter file %q: %v", dl, err)
	}
	if line.ID != "mapping-1" || line.Status != 400 || line.Type != "document_parsing_exception" || line.Index != "logs-salesforce.login-default" || !strings.Contains(string(line.Document), `"mapping-1"`) {
		t.Errorf("dead-letter line: %+v", line)
	}
	// The scheme is case-insensitive (RFC 9110); the client writes "APIKey".
	wantAuth := "ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="
	for _, h := range fake.AuthHeaders() {
		scheme, cred, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "ApiKey") || cred != strings.TrimPrefix(wantAuth, "ApiKey ") {
			t.Fatalf("Authorization %q, want %q", h, wantAuth)
		}
	}
	for _, q := range fake.Queries() {
		if !strings.Contains(q, "pipeline=_none") {
			t.Fatalf("query %q does not bypass the default pipeline", q)
		}
	}
}

func TestRedeliveryIsIdempotent(t *testing.T) {
	fake := newFakeES()
	srv := httptest.NewServer(fake)
	defer srv.Close()
	fc := clock.NewFake(time.Now())
	s := newSink(t, srv, fc, func(o *Options) { o.Namespace = "prod"; o.FlushBytes = 300 })
	var batch []sink.Event
	for i := 0; i < 40; i++ {
		batch = append(batch, ev(fmt.Sprintf("id-%02d", i)))
	}
	a1, err := writeWithFakeClock(t, s, fc, batch)
	if err != nil || a1.Delivered != 40 {
		t.Fatalf("first: %+v %v", a1, err)
	}
	a2, err := writeWithFakeClock(t, s, fc, batch) // a replay after a crash
	if err != nil || a2.Duplicates != 40 || a2.Delivered != 0 {
		t.Fatalf("replay: %+v %v", a2, err)
	}
	if n := len(fake.Stored("logs-salesforce.login-prod")); n != 40 {
		t.Errorf("%d documents stored, want 40", n)
	}
}

func TestPermanentErrorFailsTheBatchAndSaysWhy(t *testing.T) {
	fake := newFakeES()
	srv := httptest.NewServer(fake)
	defer srv.Close()
	fc := clock.NewFake(time.Now())
	s := newSink(t, srv, fc, nil)
	_, err := writeWithFakeClock(t, s, fc, []sink.Event{ev("ok-9"), ev("forbidden-1")})
	var ie *ItemError
	var se *sink.Error
	if !errors.As(err, &ie) || ie.Status != 403 || !errors.As(err, &se) || !strings.Contains(se.Fix, "privileges") {
		t.Fatalf("err = %v, want a 403 ItemError with a privilege fix", err)
	}
}

func TestRetriesGiveUpAfterTheAttempts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"error":{"type":"cluster_block_exception","reason":"blocked"},"status":503}`)
	}))
	defer srv.Close()
	fc := clock.NewFake(time.Now())
	s := newSink(t, srv, fc, func(o *Options) { o.Retry.MaxAttempts = 3 })
	_, err := writeWithFakeClock(t, s, fc, []sink.Event{ev("a")})
	if err == nil || !strings.Contains(err.Error(), "after 3 attempts") {
		t.Fatalf("err = %v", err)
	}
}

func TestCredentialsNeverShow(t *testing.T) {
	srv := httptest.NewServer(newFakeES())
	defer srv.Close()
	s := newSink(t, srv, clock.NewFake(time.Now()), nil)
	if strings.Contains(s.String(), "VnVhQ2ZH") {
		t.Errorf("String() shows the API key: %s", s.String())
	}
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("hunter2-secret"), 0o600)
	s2, err := New(Options{Addresses: []string{srv.URL}, Username: "elastic", PasswordFile: pw})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s2.String(), "hunter2") || !strings.Contains(s2.String(), "elastic") {
		t.Errorf("String() = %s", s2.String())
	}
	// An id:key file is sent base64-encoded.
	kf := filepath.Join(dir, "key")
	os.WriteFile(kf, []byte("myid:mykey"), 0o600)
	s3, _ := New(Options{Addresses: []string{srv.URL}, APIKeyFile: kf})
	if s3.apiKey.Reveal() != base64.StdEncoding.EncodeToString([]byte("myid:mykey")) {
		t.Errorf("id:key not encoded")
	}
	if _, err := New(Options{Addresses: []string{srv.URL}, Namespace: "bad-ns"}); err == nil {
		t.Error("a namespace with - was accepted")
	}
	if _, err := New(Options{Addresses: []string{srv.URL}, APIKeyFile: filepath.Join(dir, "missing")}); err == nil {
		t.Error("a missing key file was accepted")
	}
}

func TestDefaultRetryIsValid(t *testing.T) {
	p := DefaultRetry()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if p.MaxAttempts != 8 || p.Initial != 500*time.Millisecond || p.Max != 30*time.Second {
		t.Errorf("DefaultRetry = %+v", p)
	}
	if _, err := New(Options{Addresses: []string{"http://127.0.0.1:9"}, Retry: backoff.Policy{Initial: time.Minute, Max: time.Second}}); err == nil {
		t.Error("a retry policy with Initial above Max was accepted")
	}
}

func TestTLSWithACAFile(t *testing.T) {
	fake := newFakeES()
	srv := httptest.NewTLSServer(fake)
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	fc := clock.NewFake(time.Now())
	s := newSink(t, srv, fc, func(o *Options) { o.CAFile = ca })
	if ack, err := writeWithFakeClock(t, s, fc, []sink.Event{ev("tls-1")}); err != nil || ack.Delivered != 1 {
		t.Fatalf("with the CA file: ack %+v, err %v", ack, err)
	}
	// Without it the cluster's certificate is not trusted.
	plain := newSink(t, srv, fc, func(o *Options) { o.Retry.MaxAttempts = 1 })
	_, err := writeWithFakeClock(t, plain, fc, []sink.Event{ev("tls-2")})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without the CA file: err = %v, want a certificate error", err)
	}
}

func TestRefusedCredentialsFailAtOnce(t *testing.T) {
	requests := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests++
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":{"type":"security_exception","reason":"unable to authenticate with provided credentials and anonymous access is not allowed for this request"},"status":401}`)
	}))
	defer srv.Close()
	fc := clock.NewFake(time.Now())
	s := newSink(t, srv, fc, nil)
	_, err := writeWithFakeClock(t, s, fc, []sink.Event{ev("a")})
	var se *sink.Error
	if !errors.As(err, &se) || !strings.Contains(se.Fix, "credentials") {
		t.Fatalf("err = %v, want the credentials fix", err)
	}
	if requests != 1 {
		t.Errorf("%d requests, want 1: a refusal of the credentials is not retried", requests)
	}
}
