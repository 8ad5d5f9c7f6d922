package daemon

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/doctor"
	"github.com/sfbridge/sfbridge/internal/clock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func session(mint auth.MintFunc) *auth.CachedSource { return auth.NewCachedSource(mint) }

func okToken(context.Context) (*auth.Token, error) {
	return &auth.Token{AccessToken: "00Dxx!secret", InstanceURL: "https://acme.my.salesforce.com",
		OrgID: "00Dxx0000000001EAA", UserID: "005xx0000000001AAA", IssuedAt: time.Now().Add(-time.Minute)}, nil
}

func start(t *testing.T, opts Options) (*Daemon, string) {
	t.Helper()
	opts.Listen = "127.0.0.1:0"
	d, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v after cancel", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("daemon did not shut down")
		}
	})
	return d, "http://" + d.Addr()
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// syncBuffer is a log sink the test can read while the daemon writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestReadinessFollowsEveryOrg(t *testing.T) {
	release := make(chan struct{})
	slow := session(func(ctx context.Context) (*auth.Token, error) {
		select {
		case <-release:
			return okToken(ctx)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	logs := &syncBuffer{}
	d, base := start(t, Options{Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Orgs: []OrgSpec{
		{Alias: "fast", Session: session(okToken)},
		{Alias: "slow", Session: slow},
	}})
	if code, body := get(t, base+"/healthz", ""); code != 200 || body != "ok\n" {
		t.Fatalf("healthz = %d %q", code, body)
	}
	waitFor(t, "fast org ready", func() bool { return d.Status()[0].Ready })
	code, body := get(t, base+"/readyz", "")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "slow (starting)") {
		t.Fatalf("readyz before slow org = %d %q", code, body)
	}
	close(release)
	waitFor(t, "ready", d.Ready)
	if code, body := get(t, base+"/readyz", ""); code != 200 {
		t.Fatalf("readyz = %d %q", code, body)
	}
	_, orgs := get(t, base+"/v1/orgs", "")
	for _, want := range []string{`"alias": "fast"`, `"org_id": "00Dxx0000000001EAA"`, `"state": "ready"`, `"session_age_seconds"`} {
		if !strings.Contains(orgs, want) {
			t.Errorf("/v1/orgs lacks %s:\n%s", want, orgs)
		}
	}
	_, metrics := get(t, base+"/metrics", "")
	for what, out := range map[string]string{"/v1/orgs": orgs, "/metrics": metrics, "the log": logs.String()} {
		if strings.Contains(out, "secret") {
			t.Errorf("%s leaks the access token", what)
		}
	}
	if !strings.Contains(logs.String(), `"msg":"org ready"`) {
		t.Errorf("the log lacks the orgs' readiness:\n%s", logs)
	}
}

func TestFailingOrgDoesNotStopOthers(t *testing.T) {
	var attempts atomic.Int32
	broken := session(func(context.Context) (*auth.Token, error) {
		attempts.Add(1)
		return nil, errors.New("invalid_grant: user hasn't approved this consumer")
	})
	failingChecks := func(context.Context) *doctor.Report {
		return &doctor.Report{Checks: []doctor.Result{
			{ID: "token", Status: doctor.Pass, Required: true},
			{ID: "servicedesk.case", Status: doctor.Fail, Required: true, Fix: "Give the user Read, Create and Edit on Case"},
		}}
	}
	clk := clock.NewFake(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC))
	d, base := start(t, Options{RetryInterval: 20 * time.Second, Clock: clk, Orgs: []OrgSpec{
		{Alias: "broken", Session: broken},
		{Alias: "degraded", Session: session(okToken), Doctor: failingChecks},
		{Alias: "good", Session: session(okToken), Doctor: func(context.Context) *doctor.Report {
			return &doctor.Report{Checks: []doctor.Result{{ID: "token", Status: doctor.Pass, Required: true}}}
		}},
	}})
	// The broken org is retried on the fake clock: the test moves it to each
	// pending restart.
	waitFor(t, "retries of the broken org", func() bool {
		if n := attempts.Load(); n >= 3 {
			return true
		}
		if at, ok := clk.NextDeadline(); ok {
			clk.Set(at)
		}
		return false
	})
	waitFor(t, "good org ready", func() bool { return d.Status()[2].Ready })
	st := d.Status()
	if st[0].State != "failed" || !strings.Contains(st[0].Error, "hasn't approved") {
		t.Errorf("broken = %+v", st[0])
	}
	if st[1].State != "degraded" || st[1].Ready || len(st[1].Checks) != 2 {
		t.Errorf("degraded = %+v", st[1])
	}
	if code, _ := get(t, base+"/readyz", ""); code != http.StatusServiceUnavailable {
		t.Errorf("readyz = %d with failing orgs", code)
	}
	_, metrics := get(t, base+"/metrics", "")
	for _, want := range []string{
		`sfbridge_org_ready{org="good"} 1`,
		`sfbridge_org_ready{org="broken"} 0`,
		`sfbridge_doctor_runs_total{org="degraded",outcome="failed"}`,
		`sfbridge_session_age_seconds{org="good"}`,
		`sfbridge_component_up{component="session",org="broken"} 0`,
		`sfbridge_component_up{component="doctor",org="good"} 1`,
		`sfbridge_component_up{component="doctor",org="degraded"} 0`,
		`sfbridge_component_restarts_total{component="session",org="good"} 0`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(metrics, `sfbridge_session_age_seconds{org="broken"}`) {
		t.Error("session age reported for an org without a session")
	}
	if !regexp.MustCompile(`sfbridge_component_restarts_total\{component="session",org="broken"\} [2-9]`).MatchString(metrics) {
		t.Errorf("restarts of the broken session not counted:\n%s", metrics)
	}
	if c := st[0].Components[0]; c.Name != "session" || c.State != StateFailed || c.Restarts < 2 || c.NextRestart == nil || !strings.Contains(c.LastError, "no session") {
		t.Errorf("broken org's session component = %+v", c)
	}
}

func TestBearerTokenGuardsEverythingButHealthz(t *testing.T) {
	const tok = "0123456789abcdef-daemon"
	_, base := start(t, Options{AuthToken: tok, Orgs: []OrgSpec{{Alias: "a", Session: session(okToken)}}})
	if code, _ := get(t, base+"/healthz", ""); code != 200 {
		t.Fatalf("healthz = %d", code)
	}
	for _, p := range []string{"/readyz", "/metrics", "/v1/orgs"} {
		if code, _ := get(t, base+p, ""); code != http.StatusUnauthorized {
			t.Errorf("%s without token = %d", p, code)
		}
		if code, _ := get(t, base+p, "wrong"); code != http.StatusUnauthorized {
			t.Errorf("%s with wrong token = %d", p, code)
		}
	}
	if code, _ := get(t, base+"/v1/orgs", tok); code != 200 {
		t.Errorf("/v1/orgs with token = %d", code)
	}
}

// Without a bearer token the daemon answers only loopback host names, so
// a DNS-rebinding page (evil.example resolving to 127.0.0.1) reads nothing.
func TestLoopbackDaemonRefusesOtherHostNames(t *testing.T) {
	_, base := start(t, Options{Orgs: []OrgSpec{{Alias: "a", Session: session(okToken)}}})
	_, port, _ := strings.Cut(strings.TrimPrefix(base, "http://"), ":")
	withHost := func(path, host string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "LOCALHOST", "[::1]:" + port, "[::1]", "127.0.0.1", "localhost.:" + port} {
		if code, body := withHost("/v1/orgs", host); code != http.StatusOK {
			t.Errorf("Host %s: %d %s, want 200", host, code, body)
		}
	}
	for _, host := range []string{"evil.example:" + port, "evil.example", "localhost.evil.example", "127.0.0.1.nip.io:" + port, "10.0.0.1"} {
		for _, p := range []string{"/v1/orgs", "/metrics", "/readyz", "/healthz"} {
			code, body := withHost(p, host)
			if code != http.StatusMisdirectedRequest || !strings.Contains(body, "not a loopback name") || !strings.Contains(body, "DNS rebinding") {
				t.Errorf("Host %s %s: %d %s, want 421 saying why", host, p, code, body)
			}
		}
	}
}

func TestPublicListenerNeedsToken(t *testing.T) {
	_, err := New(context.Background(), Options{Listen: "0.0.0.0:0", Orgs: []OrgSpec{{Alias: "a", Session: session(okToken)}}})
	if err == nil || !strings.Contains(err.Error(), "bearer token") {
		t.Fatalf("New on 0.0.0.0 without token = %v", err)
	}
}

func TestNewRefusesBadOrgs(t *testing.T) {
	for _, orgs := range [][]OrgSpec{
		nil,
		{{Alias: "", Session: session(okToken)}},
		{{Alias: "a", Session: session(okToken)}, {Alias: "a", Session: session(okToken)}},
	} {
		if _, err := New(context.Background(), Options{Listen: "127.0.0.1:0", Orgs: orgs}); err == nil {
			t.Errorf("New accepted %+v", orgs)
		}
	}
}

func TestTransportsCount(t *testing.T) {
	m := NewMetrics()
	ok := roundTripFunc(func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: http.NoBody}, nil
	})
	refused := roundTripFunc(func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusBadRequest, Header: http.Header{}, Body: http.NoBody}, nil
	})
	down := roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, errors.New("dial tcp: refused") })
	req, _ := http.NewRequest(http.MethodPost, "https://login.salesforce.com/services/oauth2/token", nil)
	for _, rt := range []http.RoundTripper{m.TokenTransport("a", ok), m.TokenTransport("a", refused), m.TokenTransport("a", down), m.TokenTransport("a", down)} {
		if resp, err := rt.RoundTrip(req); err == nil {
			resp.Body.Close()
		}
	}
	var seen int
	api := m.APITransport("a", ok, func(*http.Response) { seen++ })
	resp, _ := api.RoundTrip(req)
	resp.Body.Close()
	m.ObserveAPIUsage("a", 25, 15000)
	rec := &strings.Builder{}
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, met := range mf.GetMetric() {
			var labels []string
			for _, l := range met.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			v := met.GetCounter().GetValue() + met.GetGauge().GetValue()
			rec.WriteString(mf.GetName() + "{" + strings.Join(labels, ",") + "} " + strconv.FormatFloat(v, 'f', -1, 64) + "\n")
		}
	}
	out := rec.String()
	for _, want := range []string{
		"sfbridge_token_requests_total{org=a,result=granted} 1",
		"sfbridge_token_requests_total{org=a,result=refused} 1",
		"sfbridge_token_requests_total{org=a,result=error} 2",
		"sfbridge_api_calls_total{org=a,status=200} 1",
		"sfbridge_api_usage_requests{org=a} 25",
		"sfbridge_api_usage_limit_requests{org=a} 15000",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
	if seen != 1 {
		t.Errorf("observe called %d times", seen)
	}
}
