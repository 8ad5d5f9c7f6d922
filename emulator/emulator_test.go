package emulator_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/internal/assertion"
	"github.com/sfbridge/sfbridge/sftest"
)

// sharedKey avoids generating an RSA key per test.
var sharedKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

var otherKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func newServer(t *testing.T) *sftest.Server {
	return sftest.NewServerWith(t, sftest.Options{Key: sharedKey()})
}

type result struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, s *sftest.Server, method, path, token string, body io.Reader, hdr ...string) result {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return result{resp.StatusCode, resp.Header, string(b)}
}

func postToken(t *testing.T, s *sftest.Server, form url.Values) result {
	t.Helper()
	return do(t, s, "POST", "/services/oauth2/token", "", strings.NewReader(form.Encode()),
		"Content-Type", "application/x-www-form-urlencoded")
}

func grantForm(a string) url.Values {
	return url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {a}}
}

func sign(t *testing.T, key *rsa.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	a, err := assertion.SignRaw(key, header, claims)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestLoginAndAuthenticatedCall(t *testing.T) {
	s := newServer(t)
	tr := s.Login(t, emulator.UserIntegration)
	if !strings.HasPrefix(tr.AccessToken, s.Org.OrgID().Short()+"!") {
		t.Errorf("access_token %q does not start with the 15-character org id and '!'", tr.AccessToken[:16])
	}
	uid, _ := s.Org.UserID(emulator.UserIntegration)
	if want := s.URL + "/id/" + string(s.Org.OrgID()) + "/" + string(uid); tr.ID != want {
		t.Errorf("id = %q, want %q", tr.ID, want)
	}
	if tr.InstanceURL != s.URL || tr.TokenType != "Bearer" || tr.Scope != "api id refresh_token" {
		t.Errorf("instance_url %q token_type %q scope %q", tr.InstanceURL, tr.TokenType, tr.Scope)
	}
	if _, err := strconv.ParseInt(tr.IssuedAt, 10, 64); err != nil || len(tr.IssuedAt) != 13 {
		t.Errorf("issued_at %q is not epoch milliseconds", tr.IssuedAt)
	}
	mac := hmac.New(sha256.New, nil)
	mac.Write([]byte(tr.ID + tr.IssuedAt))
	if tr.Signature == "" {
		t.Error("no signature")
	}

	r := do(t, s, "GET", "/services/data/v62.0/limits", tr.AccessToken, nil)
	if r.status != 200 {
		t.Fatalf("limits: %d %s", r.status, r.body)
	}
	if got := r.header.Get("Sforce-Limit-Info"); got != "api-usage=1/15000" {
		t.Errorf("Sforce-Limit-Info = %q", got)
	}
	var lim map[string]struct{ Max, Remaining int }
	if err := json.Unmarshal([]byte(r.body), &lim); err != nil {
		t.Fatalf("limits body: %v\n%s", err, r.body)
	}
	if d := lim["DailyApiRequests"]; d.Max != 15000 || d.Remaining != 14999 {
		t.Errorf("DailyApiRequests = %+v", d)
	}
	r = do(t, s, "GET", "/services/data/v62.0/limits", tr.AccessToken, nil)
	if got := r.header.Get("Sforce-Limit-Info"); got != "api-usage=2/15000" {
		t.Errorf("second call Sforce-Limit-Info = %q", got)
	}
}

func TestTokenRefusals(t *testing.T) {
	s := newServer(t)
	now := time.Now()
	good := func() map[string]any {
		return map[string]any{"iss": s.ClientID, "sub": emulator.UserIntegration, "aud": s.URL, "exp": now.Add(3 * time.Minute).Unix()}
	}
	with := func(k string, v any) map[string]any {
		c := good()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	rs := map[string]any{"alg": "RS256", "typ": "JWT"}
	key := s.Key
	valid := sign(t, key, rs, good())
	parts := strings.Split(valid, ".")

	pubDER, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	hs256 := func(secret []byte) string {
		h := assertion.Encode([]byte(`{"alg":"HS256","typ":"JWT"}`))
		p, _ := json.Marshal(good())
		in := h + "." + assertion.Encode(p)
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(in))
		return in + "." + assertion.Encode(m.Sum(nil))
	}
	tamperedClaims, _ := json.Marshal(with("sub", emulator.UserNoEventLogs))
	noneHeader := assertion.Encode([]byte(`{"alg":"none"}`))

	const ia = `{"error":"invalid_grant","error_description":"invalid assertion"}`
	cases := []struct {
		name, assertion, want string
	}{
		{"alg none without signature", noneHeader + "." + parts[1] + ".", ia},
		{"alg none with the RS256 signature", noneHeader + "." + parts[1] + "." + parts[2], ia},
		{"HS256 keyed with the certificate", hs256(s.CertPEM), ia},
		{"HS256 keyed with the public key", hs256(pubPEM), ia},
		{"another RSA key", sign(t, otherKey(), rs, good()), ia},
		{"tampered payload", parts[0] + "." + assertion.Encode(tamperedClaims) + "." + parts[2], ia},
		{"stripped signature", parts[0] + "." + parts[1] + ".", ia},
		{"two parts", parts[0] + "." + parts[1], ia},
		{"padded base64", parts[0] + "=." + parts[1] + "." + parts[2], ia},
		{"kid header naming the app's key, signed by another", sign(t, otherKey(), map[string]any{"alg": "RS256", "kid": "server"}, good()), ia},
		{"x5t header", sign(t, key, map[string]any{"alg": "RS256", "x5t": "AAAA"}, good()), ia},
		{"jku header", sign(t, key, map[string]any{"alg": "RS256", "jku": "https://evil.example/jwks"}, good()), ia},
		{"x5u header", sign(t, key, map[string]any{"alg": "RS256", "x5u": "https://evil.example/cert"}, good()), ia},
		{"jwk header", sign(t, key, map[string]any{"alg": "RS256", "jwk": map[string]any{"kty": "RSA"}}, good()), ia},
		{"RS512", sign(t, key, map[string]any{"alg": "RS512"}, good()), ia},
		{"expired", sign(t, key, rs, with("exp", now.Add(-time.Minute).Unix())), `{"error":"invalid_grant","error_description":"expired authorization code"}`},
		{"expired in milliseconds", sign(t, key, rs, with("exp", now.Add(-time.Minute).UnixMilli())), `{"error":"invalid_grant","error_description":"expired authorization code"}`},
		{"missing exp", sign(t, key, rs, with("exp", nil)), ia},
		{"exp not a number", sign(t, key, rs, with("exp", "soon")), ia},
		{"exp as boolean", sign(t, key, rs, with("exp", true)), ia},
		{"wrong aud", sign(t, key, rs, with("aud", "https://evil.example.com")), `{"error":"invalid_grant","error_description":"audience is invalid"}`},
		{"sandbox aud on production", sign(t, key, rs, with("aud", "https://test.salesforce.com")), `{"error":"invalid_grant","error_description":"audience is invalid"}`},
		{"missing aud", sign(t, key, rs, with("aud", nil)), `{"error":"invalid_grant","error_description":"audience is invalid"}`},
		{"aud array", sign(t, key, rs, with("aud", []string{s.URL})), ia},
		{"unknown consumer key", sign(t, key, rs, with("iss", "3MVG9unknown")), `{"error":"invalid_client_id","error_description":"client identifier invalid"}`},
		{"unknown user", sign(t, key, rs, with("sub", "nobody@sfbridge.test")), `{"error":"invalid_grant","error_description":"invalid user"}`},
		{"inactive user", sign(t, key, rs, with("sub", emulator.UserInactive)), `{"error":"inactive_user","error_description":"User is inactive"}`},
		{"not pre-authorized user", sign(t, key, rs, with("sub", emulator.UserNotPreauthorized)), `{"error":"invalid_app_access","error_description":"user is not admin approved to access this app"}`},
		{"garbage", "garbage", ia},
		{"empty", "", ia},
		{"private key posted as assertion", string(s.KeyPEM), ia},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := postToken(t, s, grantForm(c.assertion))
			if r.status != 400 || r.body != c.want {
				t.Errorf("got %d %s, want 400 %s", r.status, r.body, c.want)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
	t.Run("wrong grant type", func(t *testing.T) {
		r := postToken(t, s, url.Values{"grant_type": {"password"}, "assertion": {valid}})
		if r.status != 400 || r.body != `{"error":"unsupported_grant_type","error_description":"grant type not supported"}` {
			t.Errorf("got %d %s", r.status, r.body)
		}
	})
	t.Run("JSON body", func(t *testing.T) {
		r := do(t, s, "POST", "/services/oauth2/token", "", strings.NewReader(`{"grant_type":"urn:ietf:params:oauth:grant-type:jwt-bearer"}`), "Content-Type", "application/json")
		if r.status != 400 || !strings.Contains(r.body, "unsupported_grant_type") {
			t.Errorf("got %d %s", r.status, r.body)
		}
	})
	// The failures are in the login history with their precise reason, and
	// the valid assertion still works afterwards.
	logins := s.Org.Logins(0)
	if len(logins) < len(cases) {
		t.Fatalf("login history has %d entries", len(logins))
	}
	for _, l := range logins {
		if l.Status == "Success" || !strings.HasPrefix(l.Status, "Failed: ") {
			t.Errorf("login history entry %+v", l)
		}
	}
	if r := postToken(t, s, grantForm(valid)); r.status != 200 {
		t.Errorf("valid assertion after the refusals: %d %s", r.status, r.body)
	}
}

func TestClientQuirksAccepted(t *testing.T) {
	s := newServer(t)
	now := time.Now()
	rs := map[string]any{"alg": "RS256", "typ": "JWT"}
	cases := map[string]map[string]any{
		// sf CLI: exp in milliseconds, iat in seconds, aud with a trailing slash.
		"sf CLI": {"iss": s.ClientID, "sub": emulator.UserIntegration, "aud": s.URL + "/", "exp": now.UnixMilli() + 300, "iat": now.Unix()},
		// go-salesforce: exp as a numeric string, aud the production login host.
		"go-salesforce": {"iss": s.ClientID, "sub": emulator.UserIntegration, "aud": "https://login.salesforce.com", "exp": strconv.FormatInt(now.Add(5*time.Minute).Unix(), 10)},
		// ForceCLI: aud is the token URL.
		"token URL aud": {"iss": s.ClientID, "sub": emulator.UserIntegration, "aud": s.URL + "/services/oauth2/token", "exp": now.Add(time.Minute).Unix()},
		"My Domain aud": {"iss": s.ClientID, "sub": emulator.UserIntegration, "aud": "https://sfbridge-emulator.my.salesforce.com", "exp": now.Add(time.Minute).Unix()},
		// prn wins over sub.
		"legacy prn": {"iss": s.ClientID, "sub": "nobody@sfbridge.test", "prn": emulator.UserIntegration, "aud": s.URL, "exp": now.Add(time.Minute).Unix()},
	}
	for name, claims := range cases {
		t.Run(name, func(t *testing.T) {
			r := postToken(t, s, grantForm(sign(t, s.Key, rs, claims)))
			if r.status != 200 || !strings.Contains(r.body, `"access_token"`) {
				t.Errorf("got %d %s", r.status, r.body)
			}
		})
	}
	t.Run("chunked body", func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() {
			pw.Write([]byte("grant_type=" + url.QueryEscape("urn:ietf:params:oauth:grant-type:jwt-bearer")))
			pw.Write([]byte("&assertion=" + s.Assertion(t, emulator.UserIntegration)))
			pw.Close()
		}()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL+"/services/oauth2/token", pr)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if len(req.TransferEncoding) == 0 && req.ContentLength != -1 && req.ContentLength != 0 {
			t.Fatalf("request was not chunked")
		}
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			t.Errorf("chunked grant: %d %s", resp.StatusCode, b)
		}
	})
}

func TestSessionTimeoutIsInactivityBased(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}
	s := sftest.NewServerWith(t, sftest.Options{Key: sharedKey(), Now: c.Now})
	tok := s.Login(t, emulator.UserIntegration).AccessToken
	s.Org.Advance(119 * time.Minute)
	if r := do(t, s, "GET", "/services/data/v62.0/", tok, nil); r.status != 200 {
		t.Fatalf("after 1h59m: %d %s", r.status, r.body)
	}
	s.Org.Advance(119 * time.Minute) // 3h58m after login, 1h59m after last use
	if r := do(t, s, "GET", "/services/data/v62.0/", tok, nil); r.status != 200 {
		t.Fatalf("1h59m after last use: %d %s", r.status, r.body)
	}
	s.Org.Advance(2 * time.Hour)
	r := do(t, s, "GET", "/services/data/v62.0/", tok, nil)
	if r.status != 401 || r.body != `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]` {
		t.Fatalf("2h after last use: %d %s", r.status, r.body)
	}
}

func TestRevokeAndIntrospect(t *testing.T) {
	s := newServer(t)
	apps := s.Org
	spec := emulator.DefaultFixture(s.ClientID, s.CertPEM).Apps[0]
	spec.ConsumerSecret = "s3cret"
	if err := apps.PutApp(spec); err != nil {
		t.Fatal(err)
	}
	tok := s.Login(t, emulator.UserIntegration).AccessToken
	intro := func(secret string) result {
		return do(t, s, "POST", "/services/oauth2/introspect", "", strings.NewReader(url.Values{
			"token": {tok}, "client_id": {s.ClientID}, "client_secret": {secret}, "token_type_hint": {"access_token"}}.Encode()),
			"Content-Type", "application/x-www-form-urlencoded")
	}
	if r := intro("wrong"); r.status != 401 || !strings.Contains(r.body, "invalid_client") {
		t.Errorf("introspect with a wrong secret: %d %s", r.status, r.body)
	}
	r := intro("s3cret")
	var ir struct {
		Active   bool   `json:"active"`
		Username string `json:"username"`
		ClientID string `json:"client_id"`
		Exp, Iat int64
	}
	if err := json.Unmarshal([]byte(r.body), &ir); err != nil || !ir.Active || ir.Username != emulator.UserIntegration || ir.ClientID != s.ClientID || ir.Exp-ir.Iat != 7200 {
		t.Errorf("introspect: %d %s", r.status, r.body)
	}
	rv := do(t, s, "POST", "/services/oauth2/revoke", "", strings.NewReader("token="+url.QueryEscape(tok)), "Content-Type", "application/x-www-form-urlencoded")
	if rv.status != 200 {
		t.Fatalf("revoke: %d %s", rv.status, rv.body)
	}
	if r := do(t, s, "GET", "/services/data/v62.0/limits", tok, nil); r.status != 401 || !strings.Contains(r.body, "INVALID_SESSION_ID") {
		t.Errorf("call after revoke: %d %s", r.status, r.body)
	}
	if r := intro("s3cret"); r.body != `{"active":false}` {
		t.Errorf("introspect after revoke: %s", r.body)
	}
	rv = do(t, s, "POST", "/services/oauth2/revoke", "", strings.NewReader("token="+url.QueryEscape(tok)), "Content-Type", "application/x-www-form-urlencoded")
	if rv.status != 400 || rv.body != `{"error":"invalid_token","error_description":"invalid token"}` {
		t.Errorf("second revoke: %d %s", rv.status, rv.body)
	}
}

func TestIdentityAndUserinfo(t *testing.T) {
	s := newServer(t)
	tr := s.Login(t, emulator.UserIntegration)
	idPath := strings.TrimPrefix(tr.ID, s.URL)
	// jsforce: oauth_token query parameter and format=json.
	r := do(t, s, "GET", idPath+"?format=json&version=62.0&oauth_token="+url.QueryEscape(tr.AccessToken), "", nil)
	var id struct {
		UserID   string            `json:"user_id"`
		OrgID    string            `json:"organization_id"`
		Username string            `json:"username"`
		URLs     map[string]string `json:"urls"`
	}
	if err := json.Unmarshal([]byte(r.body), &id); err != nil || r.status != 200 {
		t.Fatalf("identity: %d %s", r.status, r.body)
	}
	if id.Username != emulator.UserIntegration || !strings.HasSuffix(tr.ID, id.OrgID+"/"+id.UserID) {
		t.Errorf("identity = %+v", id)
	}
	if id.URLs["rest"] != s.URL+"/services/data/v62.0/" {
		t.Errorf("urls.rest = %q", id.URLs["rest"])
	}
	r = do(t, s, "GET", "/services/oauth2/userinfo", tr.AccessToken, nil)
	var ui struct {
		UserID, OrganizationID, PreferredUsername string
	}
	var raw map[string]any
	json.Unmarshal([]byte(r.body), &raw)
	ui.UserID, _ = raw["user_id"].(string)
	ui.OrganizationID, _ = raw["organization_id"].(string)
	ui.PreferredUsername, _ = raw["preferred_username"].(string)
	if r.status != 200 || ui.UserID != id.UserID || ui.OrganizationID != id.OrgID || ui.PreferredUsername != emulator.UserIntegration {
		t.Errorf("userinfo: %d %s", r.status, r.body)
	}
	if r := do(t, s, "GET", "/services/oauth2/userinfo", "not-a-token", nil); r.status != 403 || r.body != "Bad_OAuth_Token" {
		t.Errorf("userinfo with a bad token: %d %s", r.status, r.body)
	}
	if r := do(t, s, "GET", idPath, "", nil); r.status != 403 {
		t.Errorf("identity without a token: %d %s", r.status, r.body)
	}
}

func TestServicesData(t *testing.T) {
	s := newServer(t)
	for _, p := range []string{"/services/data", "/services/data/"} {
		r := do(t, s, "GET", p, "", nil)
		var vs []struct{ Label, URL, Version string }
		if err := json.Unmarshal([]byte(r.body), &vs); err != nil || r.status != 200 || len(vs) == 0 {
			t.Fatalf("%s: %d %s", p, r.status, r.body)
		}
		last := vs[len(vs)-1]
		if last.Version != "66.0" || last.Label != "Spring '26" || last.URL != "/services/data/v66.0" {
			t.Errorf("%s: newest version %+v", p, last)
		}
		for _, v := range vs {
			if v.Version == "62.0" && v.Label != "Winter '25" {
				t.Errorf("v62.0 label %q", v.Label)
			}
		}
		if r.header.Get("Sforce-Limit-Info") != "" {
			t.Errorf("versions resource carries Sforce-Limit-Info")
		}
	}
	tr := s.Login(t, emulator.UserIntegration)
	for _, p := range []string{"/services/data/v62.0", "/services/data/v62.0/", "/services/data/latest/"} {
		r := do(t, s, "GET", p, tr.AccessToken, nil)
		var m map[string]string
		if err := json.Unmarshal([]byte(r.body), &m); err != nil || r.status != 200 {
			t.Fatalf("%s: %d %s", p, r.status, r.body)
		}
		if m["identity"] != tr.ID || !strings.HasPrefix(m["sobjects"], "/services/data/v6") || m["query"] == "" {
			t.Errorf("%s: resource map %v", p, m)
		}
	}
	if r := do(t, s, "GET", "/services/data/v62.0/", "", nil); r.status != 401 {
		t.Errorf("resource map without a token: %d", r.status)
	}
	if r := do(t, s, "GET", "/services/data/v20.0/", tr.AccessToken, nil); r.status != 410 {
		t.Errorf("retired version: %d %s", r.status, r.body)
	}
	if r := do(t, s, "GET", "/services/data/v99.0/", tr.AccessToken, nil); r.status != 404 || !strings.Contains(r.body, "NOT_FOUND") {
		t.Errorf("future version: %d %s", r.status, r.body)
	}
	// The no-eventlogs user has no View Setup and Configuration.
	tok := s.Login(t, emulator.UserNoEventLogs).AccessToken
	if r := do(t, s, "GET", "/services/data/v62.0/limits", tok, nil); r.status != 403 {
		t.Errorf("limits without View Setup: %d %s", r.status, r.body)
	}
}

func TestDailyAPILimit(t *testing.T) {
	s := sftest.NewServerWith(t, sftest.Options{Key: sharedKey(), Fixture: func(id string, cert []byte) *emulator.Fixture {
		f := emulator.DefaultFixture(id, cert)
		f.Org.DailyAPIRequests = 3
		return f
	}})
	tok := s.Login(t, emulator.UserIntegration).AccessToken
	for i := 1; i <= 3; i++ {
		r := do(t, s, "GET", "/services/data/v62.0/", tok, nil)
		if r.status != 200 || r.header.Get("Sforce-Limit-Info") != "api-usage="+strconv.Itoa(i)+"/3" {
			t.Fatalf("call %d: %d %q", i, r.status, r.header.Get("Sforce-Limit-Info"))
		}
	}
	r := do(t, s, "GET", "/services/data/v62.0/", tok, nil)
	if r.status != 403 || r.body != `[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]` {
		t.Fatalf("4th call: %d %s", r.status, r.body)
	}
	s.Org.Advance(24 * time.Hour)
	if r := do(t, s, "GET", "/services/data/v62.0/", tok, nil); r.status != 401 {
		// the session has expired by then; a new login works and is counted afresh
		t.Fatalf("next day with an old session: %d", r.status)
	}
	tok = s.Login(t, emulator.UserIntegration).AccessToken
	if r := do(t, s, "GET", "/services/data/v62.0/", tok, nil); r.status != 200 || r.header.Get("Sforce-Limit-Info") != "api-usage=1/3" {
		t.Fatalf("next day: %d %q", r.status, r.header.Get("Sforce-Limit-Info"))
	}
}

func admin(t *testing.T, s *sftest.Server, method, path, body string) result {
	t.Helper()
	return do(t, s, method, path, "", strings.NewReader(body), emulator.AdminTokenHeader, s.AdminToken, "Content-Type", "application/json")
}

func TestAdminAPI(t *testing.T) {
	s := newServer(t)
	for _, tok := range []string{"", "wrong", s.AdminToken + "x"} {
		r := do(t, s, "GET", "/_emulator/org", "", nil, emulator.AdminTokenHeader, tok)
		if r.status != 401 {
			t.Errorf("admin with token %q: %d", tok, r.status)
		}
	}
	if r := do(t, s, "GET", "/_emulator/org", s.AdminToken, nil); r.status != 200 || !strings.Contains(r.body, emulator.UserIntegration) {
		t.Errorf("admin with bearer admin token: %d %s", r.status, r.body)
	}
	// A user token is not an admin token.
	tok := s.Login(t, emulator.UserIntegration).AccessToken
	if r := do(t, s, "GET", "/_emulator/org", tok, nil); r.status != 401 {
		t.Errorf("admin with a session token: %d", r.status)
	}

	// Add a user assigned to the app: it can log in.
	if r := admin(t, s, "POST", "/_emulator/users", `{"username":"new@sfbridge.test","profile":"Minimum Access - API Only Integrations","permission_sets":["sfbridge_Integration","sfbridge_App_Access"]}`); r.status != 204 {
		t.Fatalf("add user: %d %s", r.status, r.body)
	}
	s.Login(t, "new@sfbridge.test")

	// Switch the app to self-authorize: nobody has approved.
	if r := admin(t, s, "PATCH", "/_emulator/apps/sfbridge", `{"permitted_users":"AllSelfAuthorized"}`); r.status != 204 {
		t.Fatalf("patch app: %d %s", r.status, r.body)
	}
	r := postToken(t, s, grantForm(s.Assertion(t, emulator.UserIntegration)))
	if r.body != `{"error":"invalid_grant","error_description":"user hasn't approved this consumer"}` {
		t.Errorf("self-authorize without approval: %s", r.body)
	}
	admin(t, s, "PATCH", "/_emulator/apps/sfbridge", `{"approved_users":["integration@sfbridge.test"]}`)
	s.Login(t, emulator.UserIntegration)

	// Upload another certificate: assertions signed by its key are accepted.
	k2 := otherKey()
	tmpl := &x509.Certificate{SerialNumber: bigOne(), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k2.PublicKey, k2)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	a2, _ := assertion.Sign(k2, assertion.Claims{Issuer: s.ClientID, Subject: emulator.UserIntegration, Audience: s.URL, Expiry: time.Now().Add(time.Minute)})
	if r := postToken(t, s, grantForm(a2)); r.status != 400 {
		t.Fatalf("untrusted key before upload: %d", r.status)
	}
	if r := admin(t, s, "POST", "/_emulator/apps/sfbridge/certificates", string(certPEM)); r.status != 204 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	if r := postToken(t, s, grantForm(a2)); r.status != 200 {
		t.Fatalf("key after upload: %d %s", r.status, r.body)
	}
	if r := admin(t, s, "POST", "/_emulator/apps/sfbridge/certificates", string(s.KeyPEM)); r.status != 400 || !strings.Contains(r.body, "never the private key") {
		t.Errorf("uploading a private key: %d %s", r.status, r.body)
	}

	// Clock.
	if r := admin(t, s, "POST", "/_emulator/clock", `{"advance":"3h"}`); r.status != 200 || !strings.Contains(r.body, `"offset":"3h0m0s"`) {
		t.Errorf("clock: %d %s", r.status, r.body)
	}
	if r := do(t, s, "GET", "/services/data/v62.0/", tok, nil); r.status != 401 {
		t.Errorf("session after 3h: %d", r.status)
	}

	// The request log holds no token or assertion.
	r = admin(t, s, "GET", "/_emulator/requests", "")
	if r.status != 200 || strings.Contains(r.body, tok) || strings.Contains(r.body, tok[16:40]) || strings.Contains(r.body, "eyJ") {
		t.Errorf("request log leaks a secret or failed: %d", r.status)
	}
	if !strings.Contains(r.body, `"path":"/services/oauth2/token"`) {
		t.Errorf("request log misses the token requests: %s", r.body)
	}
	r = admin(t, s, "GET", "/_emulator/logins?limit=2", "")
	var logins []emulator.LoginEntry
	if err := json.Unmarshal([]byte(r.body), &logins); err != nil || len(logins) != 2 {
		t.Errorf("logins: %s", r.body)
	}
}

func bigOne() *big.Int { return big.NewInt(1) }

func TestFaults(t *testing.T) {
	s := newServer(t)
	tok := s.Login(t, emulator.UserIntegration).AccessToken
	add := func(spec string) string {
		r := admin(t, s, "POST", "/_emulator/faults", spec)
		if r.status != 201 {
			t.Fatalf("add fault %s: %d %s", spec, r.status, r.body)
		}
		var out struct{ ID string }
		json.Unmarshal([]byte(r.body), &out)
		return out.ID
	}
	clear := func() { admin(t, s, "DELETE", "/_emulator/faults", "") }

	t.Run("error once", func(t *testing.T) {
		defer clear()
		add(`{"path":"/services/data/*/limits","action":"error","count":1,"status":503,"error_code":"SERVER_UNAVAILABLE","message":"down for maintenance"}`)
		r := do(t, s, "GET", "/services/data/v62.0/limits", tok, nil)
		if r.status != 503 || r.body != `[{"message":"down for maintenance","errorCode":"SERVER_UNAVAILABLE"}]` {
			t.Errorf("first: %d %s", r.status, r.body)
		}
		if r := do(t, s, "GET", "/services/data/v62.0/limits", tok, nil); r.status != 200 {
			t.Errorf("second: %d", r.status)
		}
	})
	t.Run("oauth error shape", func(t *testing.T) {
		defer clear()
		add(`{"method":"POST","path":"/services/oauth2/token","action":"error","status":400,"error_code":"invalid_grant","message":"authentication failure"}`)
		r := postToken(t, s, grantForm(s.Assertion(t, emulator.UserIntegration)))
		if r.status != 400 || r.body != `{"error":"invalid_grant","error_description":"authentication failure"}` {
			t.Errorf("%d %s", r.status, r.body)
		}
	})
	t.Run("reset", func(t *testing.T) {
		defer clear()
		add(`{"path":"/services/data/**","action":"reset","count":3}`)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+"/services/data/v62.0/", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := s.Client().Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("reset: got %s, want a connection error", resp.Status)
		}
	})
	t.Run("truncate", func(t *testing.T) {
		defer clear()
		add(`{"path":"/services/data/*/limits","action":"truncate","truncate_after":20}`)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+"/services/data/v62.0/limits", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil || len(b) != 20 {
			t.Errorf("read %d bytes, err %v; want 20 bytes and unexpected EOF", len(b), err)
		}
	})
	t.Run("expire session after 2 calls", func(t *testing.T) {
		defer clear()
		tok := s.Login(t, emulator.UserIntegration).AccessToken
		add(`{"path":"/services/data/**","action":"expire_session","after":2,"count":1}`)
		for i := 0; i < 2; i++ {
			if r := do(t, s, "GET", "/services/data/v62.0/", tok, nil); r.status != 200 {
				t.Fatalf("call %d: %d", i+1, r.status)
			}
		}
		if r := do(t, s, "GET", "/services/data/v62.0/", tok, nil); r.status != 401 || !strings.Contains(r.body, "INVALID_SESSION_ID") {
			t.Fatalf("call 3: %d %s", r.status, r.body)
		}
	})
	t.Run("rate limit", func(t *testing.T) {
		defer clear()
		add(`{"path":"/services/data/**","action":"rate_limit","rate_per_second":0.001,"burst":2}`)
		var codes []int
		for i := 0; i < 4; i++ {
			codes = append(codes, do(t, s, "GET", "/services/data/v62.0/", tok, nil).status)
		}
		if codes[0] != 200 || codes[1] != 200 || codes[2] != 403 || codes[3] != 403 {
			t.Errorf("statuses %v", codes)
		}
	})
	t.Run("probability is deterministic under a seed", func(t *testing.T) {
		seq := func() string {
			o, err := emulator.New(emulator.Config{Fixture: emulator.DefaultFixture(s.ClientID, s.CertPEM), Seed: 42})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := o.AddFault(emulator.FaultSpec{Path: "/services/data", Action: "error", Probability: 0.5}); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for i := 0; i < 40; i++ {
				rec := newRecorder()
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://127.0.0.1/services/data", nil)
				o.ServeHTTP(rec, req)
				b.WriteString(strconv.Itoa(rec.status / 100))
			}
			return b.String()
		}
		a, b := seq(), seq()
		if a != b || !strings.Contains(a, "2") || !strings.Contains(a, "5") {
			t.Errorf("sequences %s and %s", a, b)
		}
	})
	t.Run("bad specs are refused", func(t *testing.T) {
		for _, spec := range []string{`{"path":"/x","action":"explode"}`, `{"action":"error"}`, `{"path":"/x","action":"latency","latency":"soon"}`, `{"path":"/x","action":"error","probability":2}`} {
			if r := admin(t, s, "POST", "/_emulator/faults", spec); r.status != 400 {
				t.Errorf("%s: %d", spec, r.status)
			}
		}
	})
}

type recorder struct {
	h      http.Header
	status int
	n      int
}

func newRecorder() *recorder { return &recorder{h: http.Header{}} }

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	r.n += len(b)
	return len(b), nil
}
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
