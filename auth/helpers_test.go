package auth

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

const (
	testOrg  = "00Dxx0000001gPLEAY"
	testUser = "005xx000001SwiUAAS"
)

// tokenRequest is what the fake token endpoint saw.
type tokenRequest struct {
	Host        string // the host the client addressed
	Header      map[string]any
	Claims      map[string]any
	ContentType string
	Accept      string
	GrantType   string
}

// tokenServer is a fake Salesforce token endpoint. It verifies the
// assertion's signature against pub and lets respond choose the answer.
type tokenServer struct {
	t       testing.TB
	pub     *rsa.PublicKey
	calls   atomic.Int64
	mu      sync.Mutex
	seen    []tokenRequest
	respond func(r tokenRequest, n int64) (status int, body string)
	date    func() time.Time
	srv     *httptest.Server
}

func newTokenServer(tb testing.TB, respond func(r tokenRequest, n int64) (int, string)) *tokenServer {
	tb.Helper()
	ts := &tokenServer{t: tb, pub: &testKey().PublicKey, respond: respond}
	ts.srv = httptest.NewServer(ts)
	tb.Cleanup(ts.srv.Close)
	return ts
}

func okBody(token string) string {
	return fmt.Sprintf(`{"access_token":%q,"instance_url":"https://acme.my.salesforce.com","id":"https://login.salesforce.com/id/%s/%s","token_type":"Bearer","scope":"api","issued_at":"1700000000123","signature":"c2ln","api_instance_url":"https://api.salesforce.com","token_format":"opaque"}`, token, testOrg, testUser)
}

func (ts *tokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := ts.calls.Add(1)
	if ts.date != nil {
		w.Header().Set("Date", ts.date().UTC().Format(http.TimeFormat))
	}
	if r.URL.Path != "/services/oauth2/token" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		ts.t.Errorf("ParseForm: %v", err)
	}
	tr := tokenRequest{
		Host:        r.Header.Get("X-Test-Host"),
		ContentType: r.Header.Get("Content-Type"),
		Accept:      r.Header.Get("Accept"),
		GrantType:   r.PostForm.Get("grant_type"),
	}
	if tr.Host == "" {
		tr.Host = "http://" + r.Host
	}
	parts := strings.Split(r.PostForm.Get("assertion"), ".")
	if len(parts) != 3 {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":"invalid_grant","error_description":"invalid assertion"}`)
		return
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(ts.pub, crypto.SHA256, sum[:], sig); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":"invalid_grant","error_description":"invalid assertion"}`)
		return
	}
	for i, dst := range []*map[string]any{&tr.Header, &tr.Claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			ts.t.Errorf("part %d not base64url without padding: %v", i, err)
		}
		d := json.NewDecoder(strings.NewReader(string(b)))
		d.UseNumber()
		if err := d.Decode(dst); err != nil {
			ts.t.Errorf("part %d not JSON: %v", i, err)
		}
	}
	ts.mu.Lock()
	ts.seen = append(ts.seen, tr)
	ts.mu.Unlock()
	status, body := ts.respond(tr, n)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func (ts *tokenServer) requests() []tokenRequest {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]tokenRequest(nil), ts.seen...)
}

// hostRouter sends every request to target, telling it the original host
// in X-Test-Host, so that several login hosts can be simulated.
type hostRouter struct{ target string }

func (h hostRouter) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.Header.Set("X-Test-Host", r.URL.Scheme+"://"+r.URL.Host)
	r2.URL.Scheme = "http"
	r2.URL.Host = strings.TrimPrefix(h.target, "http://")
	r2.Host = ""
	return http.DefaultTransport.RoundTrip(r2)
}

func routedClient(ts *tokenServer) *http.Client {
	return &http.Client{Transport: hostRouter{ts.srv.URL}, Timeout: 10 * time.Second}
}

func testConfig(ts *tokenServer) Config {
	return Config{
		ConsumerKey: "3MVG9consumerkey",
		Username:    "integration@acme.example",
		PrivateKey:  testKey(),
		LoginURL:    ts.srv.URL,
		RetryDelay:  time.Millisecond,
	}
}
