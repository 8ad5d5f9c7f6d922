package root

import (
	"bytes"
	"context"
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
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/keys"
)

const (
	orgID  = "00Dxx0000001gPLEAY"
	userID = "005xx000001SwiUAAS"
	user   = "integration@acme.example"
	client = "3MVG9consumerkey"
)

var cliKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// fakeOrg is a small Salesforce stand-in: token endpoint (verifying the
// assertion), userinfo, revoke, the API versions and one version's
// resource directory.
type fakeOrg struct {
	srv        *httptest.Server
	pub        *rsa.PublicKey
	tokenCalls atomic.Int64
	dataCalls  atomic.Int64           // requests for the resource directory
	refuse     atomic.Pointer[string] // a token-endpoint error body, when set
	skew       atomic.Int64           // added to the Date header
	mu         sync.Mutex
	valid      map[string]bool
	revoked    []string
}

func newFakeOrg(t *testing.T) *fakeOrg {
	t.Helper()
	o := &fakeOrg{pub: &cliKey().PublicKey, valid: map[string]bool{}}
	o.srv = httptest.NewServer(o)
	t.Cleanup(o.srv.Close)
	return o
}

func (o *fakeOrg) expireAll() {
	o.mu.Lock()
	clear(o.valid)
	o.mu.Unlock()
}

func (o *fakeOrg) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Date", time.Now().Add(time.Duration(o.skew.Load())).UTC().Format(http.TimeFormat))
	switch r.URL.Path {
	case "/services/oauth2/token":
		n := o.tokenCalls.Add(1)
		if b := o.refuse.Load(); b != nil {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, *b)
			return
		}
		parts := strings.Split(r.PostFormValue("assertion"), ".")
		var claims map[string]any
		if len(parts) == 3 {
			sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
			sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
			payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
			if rsa.VerifyPKCS1v15(o.pub, crypto.SHA256, sum[:], sig) == nil {
				_ = json.Unmarshal(payload, &claims)
			}
		}
		if claims == nil || claims["iss"] != client || claims["sub"] != user {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"invalid_grant","error_description":"invalid assertion"}`)
			return
		}
		tok := fmt.Sprintf("sess-%d", n)
		o.mu.Lock()
		o.valid[tok] = true
		o.mu.Unlock()
		fmt.Fprintf(w, `{"access_token":%q,"instance_url":%q,"id":"%s/id/%s/%s","token_type":"Bearer","scope":"api openid","issued_at":"1700000000000"}`,
			tok, o.srv.URL, o.srv.URL, orgID, userID)
	case "/services/data/":
		io.WriteString(w, `[{"label":"Spring '26","url":"/services/data/v66.0","version":"66.0"}]`)
	case "/services/data/v66.0/":
		o.dataCalls.Add(1)
		if !o.authorized(w, r) {
			return
		}
		io.WriteString(w, `{"sobjects":"/services/data/v66.0/sobjects","query":"/services/data/v66.0/query"}`)
	case "/services/oauth2/userinfo":
		if !o.authorized(w, r) {
			return
		}
		fmt.Fprintf(w, `{"sub":"x","user_id":%q,"organization_id":%q,"preferred_username":%q,"name":"Integration User","email":"int@acme.example"}`, userID, orgID, user)
	case "/services/oauth2/revoke":
		tok := r.PostFormValue("token")
		o.mu.Lock()
		delete(o.valid, tok)
		o.revoked = append(o.revoked, tok)
		o.mu.Unlock()
	default:
		http.NotFound(w, r)
	}
}

// authorized answers 401 INVALID_SESSION_ID, as Salesforce does, unless
// the request carries a session the org issued and has not expired.
func (o *fakeOrg) authorized(w http.ResponseWriter, r *http.Request) bool {
	o.mu.Lock()
	ok := o.valid[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	o.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`)
	}
	return ok
}

type cliEnv struct {
	t      *testing.T
	dir    string
	keyDir string
}

func newCLIEnv(t *testing.T) *cliEnv {
	t.Helper()
	e := &cliEnv{t: t, dir: filepath.Join(t.TempDir(), "cfg"), keyDir: t.TempDir()}
	return e
}

// writeKey writes the test key, encrypted when pass is set, and returns
// its path.
func (e *cliEnv) writeKey(name string, pass []byte) string {
	b, err := keys.MarshalPrivateKeyPEM(cliKey(), keys.WriteOptions{Passphrase: pass, KDFIterations: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	p := filepath.Join(e.keyDir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *cliEnv) run(args ...string) (code int, stdout, stderr string) {
	ios, _, out, errOut := iostreams.Test()
	env := map[string]string{"SFBRIDGE_CONFIG_DIR": e.dir, "NO_COLOR": "1"}
	code = Main(context.Background(), args, ios, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

func (e *cliEnv) login(o *fakeOrg, extra ...string) (int, string, string) {
	args := append([]string{"login", "--client-id", client, "--jwt-key-file", e.writeKey("server.key", nil),
		"--username", user, "--instance-url", o.srv.URL}, extra...)
	return e.run(args...)
}

func TestLoginStoresProfileAndEncryptedSession(t *testing.T) {
	o := newFakeOrg(t)
	e := newCLIEnv(t)
	code, out, errOut := e.login(o, "--alias", "acme")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{orgID, userID, o.srv.URL, user, "acme"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	prof, err := os.ReadFile(filepath.Join(e.dir, "profiles.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(prof), filepath.Join(e.keyDir, "server.key")) || strings.Contains(string(prof), "PRIVATE KEY") || strings.Contains(string(prof), "sess-") {
		t.Errorf("profile must hold the key path and no secret:\n%s", prof)
	}
	files, _ := filepath.Glob(filepath.Join(e.dir, "tokens", "*"))
	if len(files) != 1 {
		t.Fatalf("token cache files: %v", files)
	}
	st, _ := os.Stat(files[0])
	if st.Mode().Perm() != 0o600 {
		t.Errorf("token cache mode %v, want 0600", st.Mode().Perm())
	}
	raw, _ := os.ReadFile(files[0])
	if bytes.Contains(raw, []byte("sess-1")) || bytes.Contains(raw, []byte(orgID)) {
		t.Error("token cache is not encrypted")
	}

	// token reuses the cached session: no second login.
	code, out, errOut = e.run("token", "-o", "acme", "--json")
	if code != 0 {
		t.Fatalf("token: exit %d: %s", code, errOut)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
		InstanceURL string `json:"instance_url"`
		Cached      bool   `json:"cached"`
	}
	if err := json.Unmarshal([]byte(out), &tr); err != nil {
		t.Fatal(err)
	}
	if tr.AccessToken != "sess-1" || tr.InstanceURL != o.srv.URL || !tr.Cached || o.tokenCalls.Load() != 1 || o.dataCalls.Load() != 1 {
		t.Errorf("token = %+v, token calls %d, checks %d", tr, o.tokenCalls.Load(), o.dataCalls.Load())
	}

	// A cached session Salesforce no longer accepts is renewed, not printed.
	o.expireAll()
	code, out, errOut = e.run("token", "-o", "acme", "--json")
	if code != 0 || !strings.Contains(out, `"access_token": "sess-2"`) || !strings.Contains(out, `"cached": false`) || o.tokenCalls.Load() != 2 {
		t.Errorf("token after expiry: exit %d, calls %d\n%s%s", code, o.tokenCalls.Load(), out, errOut)
	}
	// --no-check prints the cached session without a request.
	o.expireAll()
	checks := o.dataCalls.Load()
	code, out, _ = e.run("token", "-o", "acme", "--json", "--no-check")
	if code != 0 || !strings.Contains(out, `"access_token": "sess-2"`) || !strings.Contains(out, `"cached": true`) || o.dataCalls.Load() != checks || o.tokenCalls.Load() != 2 {
		t.Errorf("token --no-check: exit %d, checks %d→%d\n%s", code, checks, o.dataCalls.Load(), out)
	}

	// org list shows the profile as default, with the audience that worked.
	code, out, _ = e.run("org", "list", "--json")
	if code != 0 || !strings.Contains(out, `"alias": "acme"`) || !strings.Contains(out, `"default": true`) ||
		!strings.Contains(out, `"audience": "`+o.srv.URL+`"`) {
		t.Errorf("org list: exit %d\n%s", code, out)
	}
}

func TestWhoamiReauthenticatesOnceWhenSessionExpired(t *testing.T) {
	o := newFakeOrg(t)
	e := newCLIEnv(t)
	if code, _, errOut := e.login(o); code != 0 {
		t.Fatal(errOut)
	}
	o.expireAll()
	code, out, errOut := e.run("whoami")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "Integration User") || !strings.Contains(out, orgID) {
		t.Errorf("whoami output:\n%s", out)
	}
	if o.tokenCalls.Load() != 2 {
		t.Errorf("token calls = %d, want 2 (login + one re-authentication)", o.tokenCalls.Load())
	}
	// The new session was cached: token reuses it.
	_, out, _ = e.run("token", "--json")
	if !strings.Contains(out, `"access_token": "sess-2"`) || o.tokenCalls.Load() != 2 {
		t.Errorf("token after whoami:\n%s (calls %d)", out, o.tokenCalls.Load())
	}
}

func TestLogoutRevokesAndForgets(t *testing.T) {
	o := newFakeOrg(t)
	e := newCLIEnv(t)
	if code, _, errOut := e.login(o, "--alias", "acme"); code != 0 {
		t.Fatal(errOut)
	}
	code, out, errOut := e.run("logout", "-o", "acme")
	if code != 0 || !strings.Contains(out, "session revoked") {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	if len(o.revoked) != 1 || o.revoked[0] != "sess-1" {
		t.Errorf("revoked = %v", o.revoked)
	}
	if files, _ := filepath.Glob(filepath.Join(e.dir, "tokens", "*")); len(files) != 0 {
		t.Errorf("cache not cleared: %v", files)
	}
	// The profile remains: token logs in again.
	if code, out, _ := e.run("token", "--json"); code != 0 || !strings.Contains(out, "sess-2") {
		t.Errorf("token after logout: %d %s", code, out)
	}
	if code, out, _ := e.run("logout", "--forget"); code != 0 || !strings.Contains(out, "profile removed") {
		t.Errorf("logout --forget: %d %s", code, out)
	}
	if _, out, _ := e.run("org", "list", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("org list after --forget: %s", out)
	}
	if code, _, errOut := e.run("token"); code != 1 || !strings.Contains(errOut, "sfbridge login") {
		t.Errorf("token without profile: %d %s", code, errOut)
	}
}

func TestLoginRefusedExits3WithDiagnosis(t *testing.T) {
	o := newFakeOrg(t)
	body := `{"error":"invalid_grant","error_description":"user hasn't approved this consumer"}`
	o.refuse.Store(&body)
	e := newCLIEnv(t)
	code, _, errOut := e.login(o)
	if code != 3 {
		t.Fatalf("exit %d, want 3: %s", code, errOut)
	}
	for _, want := range []string{"user hasn't approved this consumer", "Admin approved users are pre-authorized", "permission set"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if o.tokenCalls.Load() != 1 {
		t.Errorf("a refusal not about the audience must stop discovery: %d token calls", o.tokenCalls.Load())
	}
	if _, err := os.Stat(filepath.Join(e.dir, "profiles.json")); err == nil {
		t.Error("a refused login stored a profile")
	}
}

func TestLoginUnreachableExits4(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	e := newCLIEnv(t)
	code, _, errOut := e.run("login", "--client-id", client, "--jwt-key-file", e.writeKey("k.pem", nil), "--username", user, "--instance-url", url)
	if code != 4 || !strings.Contains(errOut, url+"/services/oauth2/token") {
		t.Fatalf("exit %d, want 4 naming the URL: %s", code, errOut)
	}
}

func TestLoginEncryptedKeyWithPasswordFile(t *testing.T) {
	o := newFakeOrg(t)
	e := newCLIEnv(t)
	key := e.writeKey("enc.pem", []byte("s3cret"))
	pass := filepath.Join(e.keyDir, "pass.txt")
	os.WriteFile(pass, []byte("s3cret\n"), 0o600)
	code, _, errOut := e.run("login", "--client-id", client, "--jwt-key-file", key, "--keystore-password-file", pass,
		"--username", user, "--instance-url", o.srv.URL, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// Later commands find the key and password again through the profile.
	if code, out, errOut := e.run("whoami", "--json"); code != 0 || !strings.Contains(out, `"source": "userinfo"`) {
		t.Fatalf("whoami: %d %s %s", code, out, errOut)
	}
}

func TestLoginUsageErrors(t *testing.T) {
	e := newCLIEnv(t)
	for _, args := range [][]string{
		{"login"},
		{"login", "--client-id", "x", "--username", "u"},
		{"login", "--client-id", "x", "--jwt-key-file", e.writeKey("k", nil), "--username", "u", "--instance-url", "acme.lightning.force.com"},
		{"token", "extra"},
	} {
		if code, _, errOut := e.run(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", args, code, errOut)
		}
	}
}

func TestLoginWarnsAboutClockSkew(t *testing.T) {
	o := newFakeOrg(t)
	e := newCLIEnv(t)
	if code, _, errOut := e.login(o); code != 0 || strings.Contains(errOut, "clock") {
		t.Fatalf("no skew: exit %d, stderr %q", code, errOut)
	}
	o.skew.Store(int64(-2 * time.Minute))
	code, _, errOut := e.login(o)
	// The Date header has whole seconds and the request takes time, so the
	// measured gap is 2m0s within a second (a loaded machine saw 1m59s).
	if code != 0 || !regexp.MustCompile(`clock is (1m59s|2m0s|2m1s) ahead of Salesforce's`).MatchString(errOut) {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}
