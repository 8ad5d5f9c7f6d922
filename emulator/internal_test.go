package emulator

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jwtsign "github.com/sfbridge/sfbridge/internal/assertion"
)

func FuzzParseAssertion(f *testing.F) {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		f.Fatal(err)
	}
	good, _ := jwtsign.Sign(key, jwtsign.Claims{Issuer: "3MVG9x", Subject: "a@b.c", Audience: "https://login.salesforce.com", Expiry: time.Now().Add(time.Minute)})
	f.Add(good)
	f.Add("eyJhbGciOiJub25lIn0.eyJleHAiOiIxMjMifQ.")
	f.Add("a.b.c")
	f.Add("..")
	f.Add(strings.Repeat("A", 100) + "." + strings.Repeat("B", 10) + ".C")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseAssertion(s)
		if err != nil {
			if a != nil {
				t.Fatal("assertion and error both returned")
			}
			return
		}
		// Whatever parses must have had an RS256 header and a signature.
		if len(a.signature) == 0 || strings.Count(s, ".") != 2 {
			t.Fatalf("accepted %q", s)
		}
		if a.verify(nil) {
			t.Fatal("verified without keys")
		}
		if s != good && a.verify([]*rsa.PublicKey{&key.PublicKey}) && a.signingInput != good[:strings.LastIndexByte(good, '.')] {
			t.Fatalf("foreign input verified: %q", s)
		}
	})
}

func FuzzParseFixture(f *testing.F) {
	def, _ := json.Marshal(DefaultFixture("3MVG9x", nil))
	f.Add(def)
	f.Add([]byte("org:\n  name: x\nusers:\n  - username: a@b.c\n    profile: P\n"))
	f.Add([]byte("{}"))
	f.Add([]byte("- 1\n- 2"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fx, err := ParseFixture(data, "fuzz")
		if err != nil {
			return
		}
		// A parsed fixture either builds an org or is refused with an error.
		m := newModel(mustGen(t))
		_ = m.load(fx, time.Now())
	})
}

func TestParseExp(t *testing.T) {
	now := time.Unix(1795219032, 0)
	cases := []struct {
		in   any
		want time.Time
	}{
		{json.Number("1795219332"), now.Add(300 * time.Second)},
		{"1795219332", now.Add(300 * time.Second)},
		{json.Number("1795219032300"), now.Add(300 * time.Millisecond)},
		{json.Number("1795219332.5"), now.Add(300 * time.Second)},
	}
	for _, c := range cases {
		got, err := parseExp(c.in)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("parseExp(%v) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []any{"", "soon", json.Number("-5"), true, nil, json.Number("1e400")} {
		if _, err := parseExp(bad); err == nil {
			t.Errorf("parseExp(%v) accepted", bad)
		}
	}
}

func TestYAMLFixture(t *testing.T) {
	y := `
org:
  name: Acme
  my_domain: acme
  sandbox: true
  daily_api_requests: 100
profiles:
  - name: Integration
    permissions: [ApiEnabled, viewalldata]
    objects:
      Case: [read, edit]
users:
  - username: svc@acme.test
    profile: Integration
apps:
  - name: acme
    consumer_key: 3MVG9acme
    permitted_users: AdminApprovedPreAuthorized
    profiles: [Integration]
    session_timeout: 15m
`
	fx, err := ParseFixture([]byte(y), "acme.yaml")
	if err != nil {
		t.Fatal(err)
	}
	o, err := New(Config{Fixture: fx})
	if err != nil {
		t.Fatal(err)
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	u := o.m.users["svc@acme.test"]
	if u == nil || !u.eff.has("ViewAllData") || !u.eff.object("case").Edit || u.eff.object("Contact").Read != true {
		t.Fatalf("user %+v", u)
	}
	if got := o.m.org.myDomainURL(); got != "https://acme.sandbox.my.salesforce.com" {
		t.Errorf("My Domain URL %q", got)
	}
	a := o.m.apps["3MVG9acme"]
	if a.SessionTimeout != 15*time.Minute || a.JWTEnabled {
		t.Errorf("app %+v", a)
	}
	if !o.audienceOK("https://test.salesforce.com/", "http://h", "http://h", "http://h") || o.audienceOK("https://login.salesforce.com", "http://h", "http://h", "http://h") {
		t.Error("a sandbox accepts test.salesforce.com, not login.salesforce.com")
	}
	if _, err := ParseFixture([]byte("org: {nane: typo}"), "typo.yaml"); err == nil || !strings.Contains(err.Error(), "nane") {
		t.Errorf("misspelt key: %v", err)
	}
}

func BenchmarkAuthenticatedREST(b *testing.B) {
	o, tok, _ := benchOrg(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/services/data/v62.0/limits", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			w.status = 0
			o.ServeHTTP(w, req)
			if w.status != 200 {
				b.Fatalf("status %d", w.status)
			}
		}
	})
}

func BenchmarkTokenGrant(b *testing.B) {
	o, _, a := benchOrg(b)
	body := url.Values{"grant_type": {jwtBearerGrant}, "assertion": {a}}.Encode()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/services/oauth2/token", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			clear(w.h)
			w.status = 0
			o.ServeHTTP(w, req)
			if w.status != 200 {
				b.Fatalf("status %d", w.status)
			}
		}
	})
}

type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	return len(b), nil
}
func (w *discardWriter) WriteHeader(c int) {
	if w.status == 0 {
		w.status = c
	}
}
