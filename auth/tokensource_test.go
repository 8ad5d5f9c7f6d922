package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/internal/clock"
)

func TestLoginRequestAndResponse(t *testing.T) {
	ts := newTokenServer(t, func(tokenRequest, int64) (int, string) { return 200, okBody("sess-1") })
	now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	cfg := testConfig(ts)
	cfg.Now = func() time.Time { return now }
	src, err := NewTokenSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.Login(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := Token{
		AccessToken: "sess-1", InstanceURL: "https://acme.my.salesforce.com",
		IdentityURL: "https://login.salesforce.com/id/" + testOrg + "/" + testUser,
		OrgID:       testOrg, UserID: testUser, Scope: "api", TokenType: "Bearer", Signature: "c2ln",
		IssuedAt: time.UnixMilli(1700000000123).UTC(),
	}
	if *tok != want {
		t.Errorf("token = %+v\nwant    %+v", *tok, want)
	}
	reqs := ts.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d token requests", len(reqs))
	}
	r := reqs[0]
	if r.ContentType != "application/x-www-form-urlencoded" || r.Accept != "application/json" || r.GrantType != grantType {
		t.Errorf("request: content-type %q accept %q grant %q", r.ContentType, r.Accept, r.GrantType)
	}
	hdr, _ := json.Marshal(r.Header)
	if string(hdr) != `{"alg":"RS256","typ":"JWT"}` {
		t.Errorf("header = %s", hdr)
	}
	c := r.Claims
	if c["iss"] != "3MVG9consumerkey" || c["sub"] != "integration@acme.example" {
		t.Errorf("iss/sub = %v/%v", c["iss"], c["sub"])
	}
	if aud, ok := c["aud"].(string); !ok || aud != ts.srv.URL {
		t.Errorf("aud = %#v, want the string %q", c["aud"], ts.srv.URL)
	}
	exp, ok := c["exp"].(json.Number)
	if want := strconv.FormatInt(now.Unix()+180, 10); !ok || exp.String() != want { // integer seconds
		t.Errorf("exp = %#v, want %s", c["exp"], want)
	}
	if len(c) != 4 {
		t.Errorf("claims = %v, want exactly iss, sub, aud, exp", c)
	}
	// The session is cached: Token does not log in again.
	again, err := src.Token(t.Context())
	if err != nil || again != tok || ts.calls.Load() != 1 {
		t.Errorf("Token after Login: %v, %v, calls %d", again, err, ts.calls.Load())
	}
	if ep, ok := src.Endpoint(); !ok || ep.LoginURL != ts.srv.URL || ep.Audience != ts.srv.URL {
		t.Errorf("Endpoint = %+v, %v", ep, ok)
	}
}

func TestConfigValidation(t *testing.T) {
	good := Config{ConsumerKey: "k", Username: "u", PrivateKey: testKey()}
	cases := []struct {
		name  string
		edit  func(*Config)
		field string
	}{
		{"no key", func(c *Config) { c.ConsumerKey = "" }, "ConsumerKey"},
		{"blank in key", func(c *Config) { c.ConsumerKey = "k \n" }, "ConsumerKey"},
		{"no user", func(c *Config) { c.Username = " " }, "Username"},
		{"no private key", func(c *Config) { c.PrivateKey = nil }, "PrivateKey"},
		{"no scheme", func(c *Config) { c.LoginURL = "login.salesforce.com" }, "LoginURL"},
		{"http remote", func(c *Config) { c.LoginURL = "http://login.salesforce.com" }, "LoginURL"},
		{"lightning", func(c *Config) { c.LoginURL = "https://acme.lightning.force.com" }, "LoginURL"},
		{"lightning trailing dot", func(c *Config) { c.LoginURL = "https://ACME.Lightning.Force.Com." }, "LoginURL"},
		{"query", func(c *Config) { c.LoginURL = "https://login.salesforce.com?x=1" }, "LoginURL"},
		{"bad audience", func(c *Config) { c.Audience = "test.salesforce.com" }, "Audience"},
		{"negative attempts", func(c *Config) { c.MaxAttempts = -1 }, "MaxAttempts"},
	}
	for _, tc := range cases {
		c := good
		tc.edit(&c)
		_, err := NewTokenSource(c)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field {
			t.Errorf("%s: err = %v, want a ConfigError for %s", tc.name, err, tc.field)
		}
	}
	src, err := NewTokenSource(good)
	if err != nil {
		t.Fatal(err)
	}
	if src.cfg.LoginURL != ProductionURL || src.cfg.MaxAttempts != 3 || src.cfg.HTTPClient == nil {
		t.Errorf("defaults not applied: %+v", src.cfg)
	}
	tr, ok := src.cfg.HTTPClient.Transport.(*http.Transport)
	if !ok || tr.Proxy == nil {
		t.Error("default transport does not honour HTTPS_PROXY/NO_PROXY")
	}
	c := good
	c.LoginURL = "http://127.0.0.1:8080/"
	if src, err := NewTokenSource(c); err != nil || src.cfg.LoginURL != "http://127.0.0.1:8080" {
		t.Errorf("loopback http: %v", err)
	}
}

// TestDiagnoses checks every entry of the diagnosis table, and that the
// table has no entry left untested.
func TestDiagnoses(t *testing.T) {
	cases := []struct {
		status int
		body   string
		want   string
		exit   int
	}{
		{400, `{"error":"invalid_grant","error_description":"user hasn't approved this consumer"}`, ProblemUserNotApproved, 3},
		{400, `{"error":"invalid_app_access","error_description":"user is not admin approved to access this app"}`, ProblemNotAdminApproved, 3},
		{400, `{"error":"OAUTH_APP_ACCESS_DENIED","error_description":"x"}`, ProblemNotAdminApproved, 3},
		{400, `{"error":"invalid_grant","error_description":"invalid assertion"}`, ProblemInvalidAssertion, 3},
		{400, `{"error":"invalid_grant","error_description":"audience is invalid"}`, ProblemAudience, 3},
		{400, `{"error":"invalid_grant","error_description":"Audience validation failed"}`, ProblemAudience, 3},
		{400, `{"error":"invalid_grant","error_description":"expired authorization code"}`, ProblemClock, 3},
		{400, `{"error":"invalid_grant","error_description":"invalid user"}`, ProblemInvalidUser, 3},
		{400, `{"error":"invalid_grant","error_description":"IP restricted or invalid login hours"}`, ProblemIPRestricted, 3},
		{400, `{"error":"invalid_grant","error_description":"ip restricted"}`, ProblemIPRestricted, 3},
		{400, `{"error":"invalid_grant","error_description":"authentication failure"}`, ProblemAuthFailure, 3},
		{400, `{"error":"invalid_grant","error_description":"API is not enabled for this user"}`, ProblemAPIDisabled, 3},
		{400, `{"error":"invalid_grant","error_description":"no valid scopes defined"}`, ProblemNoScopes, 3},
		{400, `{"error":"invalid_client_id","error_description":"client identifier invalid"}`, ProblemClientID, 3},
		{400, `{"error":"invalid_client","error_description":"client identifier invalid"}`, ProblemClientID, 3},
		{400, `{"error":"app_not_found","error_description":"External client app is not installed in this org"}`, ProblemAppNotFound, 3},
		{400, `{"error":"invalid_grant","error_description":"External client app is not installed in this org"}`, ProblemAppNotFound, 3},
		{400, `{"error":"inactive_user","error_description":"User is inactive"}`, ProblemInactiveUser, 3},
		{400, `{"error":"invalid_grant","error_description":"user is inactive"}`, ProblemInactiveUser, 3},
		{400, `{"error":"inactive_org","error_description":"Org is locked, closed, or suspended"}`, ProblemInactiveOrg, 3},
		{400, `{"error":"rate_limit_exceeded","error_description":"Number of logins exceeded"}`, ProblemRateLimit, 3},
		{400, `{"error":"invalid_grant","error_description":"number of logins exceeded"}`, ProblemRateLimit, 3},
		{400, `{"error":"unsupported_grant_type","error_description":"grant type not supported"}`, ProblemGrantType, 3},
		{400, `{"error":"invalid_request","error_description":"HTTPS required"}`, ProblemInvalidRequest, 3},
		{400, `{"error":"something_new","error_description":"?"}`, ProblemUnknown, 3},
		{403, `<html>blocked by proxy</html>`, ProblemUnexpected, 3},
		{200, `<html>captive portal</html>`, ProblemUnexpected, 1},
		{302, ``, ProblemRedirect, 1},
		{500, `{"error":"server_error"}`, ProblemServer, 1},
	}
	covered := map[string]bool{}
	for _, tc := range cases {
		ts := newTokenServer(t, func(tokenRequest, int64) (int, string) { return tc.status, tc.body })
		cfg := testConfig(ts)
		cfg.MaxAttempts = 1
		cfg.Audience = ts.srv.URL
		src, err := NewTokenSource(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = src.Token(t.Context())
		var ae *Error
		if !errors.As(err, &ae) {
			t.Errorf("%d %s: err = %v, want *Error", tc.status, tc.body, err)
			continue
		}
		covered[ae.Diagnosis.Problem] = true
		if ae.Diagnosis.Problem != tc.want || ae.Diagnosis.Cause == "" || ae.Diagnosis.Fix == "" {
			t.Errorf("%d %s: diagnosis %+v, want %s", tc.status, tc.body, ae.Diagnosis, tc.want)
		}
		if ae.Refused() != (tc.exit == 3) || ae.StatusCode != tc.status || string(ae.Body) != tc.body {
			t.Errorf("%d %s: refused %t status %d body %q", tc.status, tc.body, ae.Refused(), ae.StatusCode, ae.Body)
		}
		msg := err.Error()
		if !strings.Contains(msg, ae.Diagnosis.Fix) || !strings.Contains(msg, "integration@acme.example") {
			t.Errorf("message lacks the fix or the user: %s", msg)
		}
		if strings.Contains(msg, "PRIVATE KEY") || strings.Contains(msg, "sess-") {
			t.Errorf("message leaks a secret: %s", msg)
		}
	}
	for _, r := range rules() {
		if !covered[r.diag.Problem] {
			t.Errorf("diagnosis %s is not tested", r.diag.Problem)
		}
	}
}

func TestErrorBodyIsCapped(t *testing.T) {
	big := `{"error":"invalid_grant","error_description":"invalid assertion","pad":"` + strings.Repeat("x", 10000) + `"}`
	ts := newTokenServer(t, func(tokenRequest, int64) (int, string) { return 400, big })
	src, _ := NewTokenSource(testConfig(ts))
	_, err := src.Token(t.Context())
	var ae *Error
	if !errors.As(err, &ae) || len(ae.Body) != maxErrorBody || ae.Diagnosis.Problem != ProblemInvalidAssertion {
		t.Fatalf("err = %v", err)
	}
}

func TestClockSkewDiagnosis(t *testing.T) {
	ts := newTokenServer(t, func(tokenRequest, int64) (int, string) {
		return 400, `{"error":"invalid_grant","error_description":"expired authorization code"}`
	})
	ts.date = func() time.Time { return time.Now().Add(5 * time.Minute) }
	src, _ := NewTokenSource(testConfig(ts))
	_, err := src.Token(t.Context())
	var ae *Error
	if !errors.As(err, &ae) {
		t.Fatal(err)
	}
	if !ae.ClockSkewKnown || ae.ClockSkew < 4*time.Minute || ae.ClockSkew > 6*time.Minute {
		t.Errorf("skew = %v (known %v), want about 5m", ae.ClockSkew, ae.ClockSkewKnown)
	}
	// Date has whole seconds and the request takes time: within a second.
	if !regexp.MustCompile(`(4m59s|5m0s|5m1s) behind Salesforce's`).MatchString(ae.Diagnosis.Cause) {
		t.Errorf("cause = %q", ae.Diagnosis.Cause)
	}
	if skew, ok := src.ClockSkew(); !ok || skew != ae.ClockSkew {
		t.Errorf("ClockSkew() = %v, %v", skew, ok)
	}
	ts.date = func() time.Time { return time.Now().Add(-3 * time.Minute) }
	_, err = src.Token(t.Context())
	if !errors.As(err, &ae) || !regexp.MustCompile(`(2m59s|3m0s|3m1s) ahead of Salesforce's`).MatchString(ae.Diagnosis.Cause) {
		t.Errorf("err = %v", err)
	}
}

func TestMeasureSkew(t *testing.T) {
	sent := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	got, ok := measureSkew("Thu, 01 Jan 2026 12:02:00 GMT", sent, sent.Add(time.Second))
	if !ok || got != 2*time.Minute {
		t.Errorf("skew = %v, %v; want 2m", got, ok)
	}
	if _, ok := measureSkew("yesterday", sent, sent); ok {
		t.Error("a bad Date header gave a skew")
	}
}

func TestRetries5xxThenSucceeds(t *testing.T) {
	ts := newTokenServer(t, func(_ tokenRequest, n int64) (int, string) {
		if n < 3 {
			return 503, `<html>down</html>`
		}
		return 200, okBody("sess")
	})
	src, _ := NewTokenSource(testConfig(ts))
	if _, err := src.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ts.calls.Load() != 3 {
		t.Fatalf("calls = %d, want 3", ts.calls.Load())
	}
}

func TestNeverRetries4xx(t *testing.T) {
	ts := newTokenServer(t, func(tokenRequest, int64) (int, string) {
		return 400, `{"error":"invalid_grant","error_description":"user hasn't approved this consumer"}`
	})
	src, _ := NewTokenSource(testConfig(ts))
	_, err := src.Token(t.Context())
	if !IsRefused(err) || ts.calls.Load() != 1 {
		t.Fatalf("err = %v, calls = %d", err, ts.calls.Load())
	}
}

type failingTransport struct{ calls atomic.Int64 }

func (f *failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	f.calls.Add(1)
	return nil, errors.New("dial tcp: connection refused")
}

func TestNetworkErrorRetriedThenExit4(t *testing.T) {
	ft := &failingTransport{}
	src, _ := NewTokenSource(Config{ConsumerKey: "k", Username: "u", PrivateKey: testKey(),
		HTTPClient: &http.Client{Transport: ft}, RetryDelay: time.Millisecond, MaxAttempts: 4})
	_, err := src.Token(t.Context())
	var ne *NetworkError
	if !errors.As(err, &ne) || ft.calls.Load() != 4 {
		t.Fatalf("err = %v, calls = %d", err, ft.calls.Load())
	}
	if !strings.Contains(err.Error(), "https://login.salesforce.com/services/oauth2/token") {
		t.Errorf("message does not say what could not be reached: %v", err)
	}
}

func TestRetryBackoffHonoursContext(t *testing.T) {
	ft := &failingTransport{}
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	src, _ := NewTokenSource(Config{ConsumerKey: "k", Username: "u", PrivateKey: testKey(),
		HTTPClient: &http.Client{Transport: ft}, RetryDelay: time.Hour, MaxAttempts: 5, Clock: clk})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := src.Login(ctx)
		done <- err
	}()
	if err := clk.BlockUntil(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if ft.calls.Load() != 1 || clk.Waiters() != 0 {
		t.Fatalf("calls = %d, timers armed = %d", ft.calls.Load(), clk.Waiters())
	}
}

// The waits between token requests double from RetryDelay, are drawn from
// the upper half of each step and stop growing at 10 s.
func TestRetryBackoffIsJitteredAndCapped(t *testing.T) {
	ft := &failingTransport{}
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	src, _ := NewTokenSource(Config{ConsumerKey: "k", Username: "u", PrivateKey: testKey(),
		HTTPClient: &http.Client{Transport: ft}, RetryDelay: 2 * time.Second, MaxAttempts: 6, Clock: clk})
	done := make(chan error, 1)
	go func() {
		_, err := src.Login(t.Context())
		done <- err
	}()
	var waits []time.Duration
	for len(waits) < 5 {
		if err := clk.BlockUntil(t.Context(), 1); err != nil {
			t.Fatal(err)
		}
		at, _ := clk.NextDeadline()
		waits = append(waits, at.Sub(clk.Now()))
		clk.Set(at)
	}
	var ne *NetworkError
	if err := <-done; !errors.As(err, &ne) || ft.calls.Load() != 6 {
		t.Fatalf("err = %v after %d calls", err, ft.calls.Load())
	}
	for i, step := range []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second} {
		if waits[i] < step/2 || waits[i] > step {
			t.Errorf("wait %d = %v, want within [%v, %v] (all: %v)", i+1, waits[i], step/2, step, waits)
		}
	}
}

func TestCandidatesOrder(t *testing.T) {
	cases := []struct {
		login, aud string
		want       []Endpoint
	}{
		// Discovery never posts to a host that was not named.
		{"", "", []Endpoint{{ProductionURL, ProductionURL}}},
		{SandboxURL, "", []Endpoint{{SandboxURL, SandboxURL}}},
		{"https://acme.my.salesforce.com", "", []Endpoint{
			{"https://acme.my.salesforce.com", "https://acme.my.salesforce.com"},
			{"https://acme.my.salesforce.com", ProductionURL},
			{"https://acme.my.salesforce.com", SandboxURL},
		}},
		{"https://acme--uat.sandbox.my.salesforce.com", "", []Endpoint{
			{"https://acme--uat.sandbox.my.salesforce.com", "https://acme--uat.sandbox.my.salesforce.com"},
			{"https://acme--uat.sandbox.my.salesforce.com", SandboxURL},
			{"https://acme--uat.sandbox.my.salesforce.com", ProductionURL},
		}},
		{"https://acme.my.salesforce.com", "https://acme.my.salesforce.com", []Endpoint{
			{"https://acme.my.salesforce.com", "https://acme.my.salesforce.com"},
		}},
	}
	for _, tc := range cases {
		src, err := NewTokenSource(Config{ConsumerKey: "k", Username: "u", PrivateKey: testKey(), LoginURL: tc.login, Audience: tc.aud})
		if err != nil {
			t.Fatal(err)
		}
		got := src.cfg.candidates()
		if len(got) != len(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.login, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: got %v, want %v", tc.login, got, tc.want)
				break
			}
		}
	}
}

func TestAudienceDiscovery(t *testing.T) {
	const mydomain = "https://acme--uat.sandbox.my.salesforce.com"
	// The org accepts only My Domain as host with test.salesforce.com as aud.
	ts := newTokenServer(t, func(r tokenRequest, _ int64) (int, string) {
		if r.Host == mydomain && r.Claims["aud"] == SandboxURL {
			return 200, okBody("sess")
		}
		return 400, `{"error":"invalid_grant","error_description":"audience is invalid"}`
	})
	src, _ := NewTokenSource(Config{ConsumerKey: "k", Username: "u", PrivateKey: testKey(), LoginURL: mydomain, HTTPClient: routedClient(ts)})
	if _, err := src.Login(t.Context()); err != nil {
		t.Fatal(err)
	}
	reqs := ts.requests()
	if len(reqs) != 2 || reqs[0].Claims["aud"] != mydomain || reqs[1].Claims["aud"] != SandboxURL {
		t.Fatalf("requests = %+v", reqs)
	}
	ep, ok := src.Endpoint()
	if !ok || ep != (Endpoint{mydomain, SandboxURL}) {
		t.Fatalf("Endpoint = %v", ep)
	}
	// The pair is remembered: the next login goes straight to it.
	if _, err := src.Login(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(ts.requests()); n != 3 {
		t.Fatalf("second login made %d requests, want 1", n-2)
	}
}

func TestAudienceDiscoveryStopsAtOnce(t *testing.T) {
	for _, body := range []string{
		`{"error":"invalid_grant","error_description":"user hasn't approved this consumer"}`,
		`{"error":"invalid_grant","error_description":"invalid assertion"}`,
		`{"error":"invalid_client_id","error_description":"client identifier invalid"}`,
	} {
		ts := newTokenServer(t, func(r tokenRequest, n int64) (int, string) {
			if n == 1 {
				return 400, `{"error":"app_not_found","error_description":"External client app is not installed in this org"}`
			}
			return 400, body
		})
		src, _ := NewTokenSource(Config{ConsumerKey: "k", Username: "u", PrivateKey: testKey(),
			LoginURL: "https://acme.my.salesforce.com", HTTPClient: routedClient(ts)})
		_, err := src.Login(t.Context())
		var ae *Error
		if !errors.As(err, &ae) || ae.AudienceRelated() {
			t.Fatalf("err = %v", err)
		}
		if ts.calls.Load() != 2 || len(ae.Tried) != 2 {
			t.Errorf("%s: calls = %d, tried = %v; want discovery to stop after the 2nd", body, ts.calls.Load(), ae.Tried)
		}
		if _, ok := src.Endpoint(); ok {
			t.Error("a failed discovery remembered an endpoint")
		}
	}
}

func TestAudienceDiscoveryExhausted(t *testing.T) {
	ts := newTokenServer(t, func(tokenRequest, int64) (int, string) {
		return 400, `{"error":"invalid_grant","error_description":"audience is invalid"}`
	})
	src, _ := NewTokenSource(Config{ConsumerKey: "k", Username: "u", PrivateKey: testKey(),
		LoginURL: "https://acme.my.salesforce.com", HTTPClient: routedClient(ts)})
	_, err := src.Login(t.Context())
	var ae *Error
	if !errors.As(err, &ae) || len(ae.Tried) != 3 || ts.calls.Load() != 3 {
		t.Fatalf("err = %v, calls %d", err, ts.calls.Load())
	}
	if !strings.Contains(err.Error(), "tried 3 login URL/audience pairs") {
		t.Errorf("message: %v", err)
	}
}

func TestParseTokenResponseErrors(t *testing.T) {
	for _, body := range []string{
		`not json`,
		`{"instance_url":"https://x","id":"https://l/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS"}`,
		`{"access_token":"a","id":"https://l/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS"}`,
		`{"access_token":"a","instance_url":"https://x","id":"https://l/id/nope"}`,
		`{"access_token":"a","instance_url":"https://x","id":"https://l/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS","issued_at":"soon"}`,
	} {
		if tok, err := ParseTokenResponse([]byte(body)); err == nil {
			t.Errorf("%s: parsed %v", body, tok)
		}
	}
	tok, err := ParseTokenResponse([]byte(`{"access_token":"a","instance_url":"https://x/","id":"https://l/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS","issued_at":1700000000000}`))
	if err != nil || tok.InstanceURL != "https://x" || !tok.IssuedAt.Equal(time.UnixMilli(1700000000000)) {
		t.Errorf("numeric issued_at: %v %v", tok, err)
	}
}

func FuzzParseTokenResponse(f *testing.F) {
	f.Add([]byte(okBody("x")))
	f.Add([]byte(`{"access_token":"a","instance_url":"https://x","id":"https://l/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS","issued_at":17}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := ParseTokenResponse(b)
		if err != nil {
			return
		}
		if tok.AccessToken == "" || tok.InstanceURL == "" || tok.OrgID == "" || tok.UserID == "" {
			t.Fatalf("incomplete token from %q: %+v", b, tok)
		}
	})
}

func FuzzIsSessionExpired(f *testing.F) {
	f.Add([]byte(expiredBody))
	f.Add([]byte(`{"errorCode":"INVALID_SESSION_ID"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if IsSessionExpired(b) && !strings.Contains(string(b), "INVALID_SESSION_ID") && !strings.Contains(string(b), `\u`) {
			t.Fatalf("expired without INVALID_SESSION_ID: %q", b)
		}
	})
}

// TestTokenSourceConcurrentExpiry: 1,000 concurrent calls through
// Transport while the session has expired cause exactly one request to the
// token endpoint and no failed call.
func TestTokenSourceConcurrentExpiry(t *testing.T) {
	runTokenSourceExpiry(t, 1000)
}

func runTokenSourceExpiry(tb testing.TB, n int) {
	tb.Helper()
	var current atomic.Pointer[string]
	ts := newTokenServer(tb, func(_ tokenRequest, n int64) (int, string) {
		tok := "sess-" + string(rune('0'+n))
		current.Store(&tok)
		return 200, okBody(tok)
	})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c := current.Load(); c == nil || r.Header.Get("Authorization") != "Bearer "+*c {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, expiredBody)
			return
		}
		io.Copy(w, r.Body)
	}))
	defer api.Close()
	cfg := testConfig(ts)
	src, err := NewTokenSource(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	src.SetToken(&Token{AccessToken: "expired-session"})
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConnsPerHost = 64
	defer base.CloseIdleConnections()
	client := src.Client(&http.Client{Transport: base})
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range n {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, api.URL, strings.NewReader("body"))
			resp, err := client.Do(req)
			if err != nil {
				failed.Add(1)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(b) != "body" {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if ts.calls.Load() != 1 || failed.Load() != 0 {
		tb.Fatalf("token requests = %d, failed calls = %d; want 1, 0", ts.calls.Load(), failed.Load())
	}
}

// TestUnreadableTokenResponseKeepsNoToken: a 200 answer that carries a
// session but cannot be used still fails, and neither the error's message
// nor the body it keeps holds the access token.
func TestUnreadableTokenResponseKeepsNoToken(t *testing.T) {
	const secret = "00Dxx!AQ4AQsecret-session"
	for _, body := range []string{
		`{"access_token":"` + secret + `","instance_url":"","id":"https://login.salesforce.com/id/` + testOrg + `/` + testUser + `"}`,
		`{"access_token":"` + secret + `","instance_url":"https://acme.my.salesforce.com","id":"nope"}`,
		`{"access_token":"` + secret + `","instance_url":"https://acme.my.salesforce.com"`,
	} {
		ts := newTokenServer(t, func(tokenRequest, int64) (int, string) { return 200, body })
		cfg := testConfig(ts)
		cfg.Audience = ts.srv.URL
		src, err := NewTokenSource(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = src.Token(t.Context())
		var ae *Error
		if !errors.As(err, &ae) || ae.Diagnosis.Problem != ProblemUnexpected || ae.StatusCode != http.StatusOK {
			t.Fatalf("%s: err = %v, want an unexpected-response *Error", body, err)
		}
		if strings.Contains(err.Error(), secret) || bytes.Contains(ae.Body, []byte(secret)) {
			t.Errorf("%s: the error keeps the access token: %s\nbody %s", body, err, ae.Body)
		}
		if strings.HasSuffix(body, "}") && !bytes.Contains(ae.Body, []byte("instance_url")) {
			t.Errorf("%s: the kept body lost the fields that explain the failure: %s", body, ae.Body)
		}
	}
}

// TestDiagnosisNamesRealCommands: every sfbridge command a diagnosis tells
// the user to run exists.
func TestDiagnosisNamesRealCommands(t *testing.T) {
	commands := []string{"sfbridge keys check", "sfbridge keys generate", "sfbridge login", "sfbridge doctor"}
	re := regexp.MustCompile("`(sfbridge [a-z]+(?: [a-z]+)?)")
	for _, r := range rules() {
		for _, m := range re.FindAllStringSubmatch(r.diag.Cause+" "+r.diag.Fix, -1) {
			if !slices.ContainsFunc(commands, func(c string) bool { return strings.HasPrefix(m[1], c) }) {
				t.Errorf("%s names %q, which is not an sfbridge command", r.diag.Problem, m[1])
			}
		}
	}
}
