package root

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/keys"
	"github.com/sfbridge/sfbridge/sftest"
)

// newOrg starts the emulated org the CLI logs in to.
func newOrg(t *testing.T) *sftest.Server {
	t.Helper()
	return sftest.NewServer(t)
}

// integration is the default org's user that may do everything.
const integration = "integration@sfbridge.test"

// requests counts the org's requests whose path matches re.
func requests(s *sftest.Server, re string) int {
	match := regexp.MustCompile(re)
	n := 0
	for _, r := range s.Org.Requests(0) {
		if match.MatchString(r.Path) {
			n++
		}
	}
	return n
}

// tokenCalls counts requests to the token endpoint; dataCalls those for a
// version's resource directory (the check `sfbridge token` makes).
func tokenCalls(s *sftest.Server) int { return requests(s, `^/services/oauth2/token$`) }
func dataCalls(s *sftest.Server) int  { return requests(s, `^/services/data/v[0-9.]+/?$`) }

// expireAll ends every session of the integration user, as a timeout or a
// revocation in Setup would.
func expireAll(t *testing.T, s *sftest.Server) {
	t.Helper()
	if s.Org.RevokeUserSessions(integration) == 0 {
		t.Fatal("no session to expire")
	}
}

type cliEnv struct {
	t      *testing.T
	org    *sftest.Server
	dir    string
	keyDir string
	env    map[string]string // extra environment variables
}

func newCLIEnv(t *testing.T, org *sftest.Server) *cliEnv {
	t.Helper()
	e := &cliEnv{t: t, org: org, dir: filepath.Join(t.TempDir(), "cfg"), keyDir: t.TempDir()}
	return e
}

// writeKey writes the org's trusted key, encrypted when pass is set, and
// returns its path.
func (e *cliEnv) writeKey(name string, pass []byte) string {
	b, err := keys.MarshalPrivateKeyPEM(e.org.Key, keys.WriteOptions{Passphrase: pass, KDFIterations: 1000})
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
	for k, v := range e.env {
		env[k] = v
	}
	code = Main(context.Background(), args, ios, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

// login logs in as username (the integration user when empty).
func (e *cliEnv) login(username string, extra ...string) (int, string, string) {
	if username == "" {
		username = integration
	}
	args := append([]string{"login", "--client-id", e.org.ClientID, "--jwt-key-file", e.writeKey("server.key", nil),
		"--username", username, "--instance-url", e.org.URL}, extra...)
	return e.run(args...)
}

// token runs `sfbridge token --json` with args and decodes its answer.
func (e *cliEnv) token(args ...string) (code int, tr tokenResult, stderr string) {
	e.t.Helper()
	code, out, errOut := e.run(append([]string{"token", "--json"}, args...)...)
	if code == 0 {
		if err := json.Unmarshal([]byte(out), &tr); err != nil {
			e.t.Fatalf("token --json: %v\n%s", err, out)
		}
	}
	return code, tr, errOut
}

type tokenResult struct {
	AccessToken string `json:"access_token"`
	InstanceURL string `json:"instance_url"`
	OrgID       string `json:"org_id"`
	Cached      bool   `json:"cached"`
}

func TestLoginStoresProfileAndEncryptedSession(t *testing.T) {
	o := newOrg(t)
	e := newCLIEnv(t, o)
	orgID := string(o.Org.OrgID())
	userID, _ := o.Org.UserID(integration)
	code, out, errOut := e.login("", "--alias", "acme")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{orgID, string(userID), o.URL, integration, "acme"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	prof, err := os.ReadFile(filepath.Join(e.dir, "profiles.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(prof), filepath.Join(e.keyDir, "server.key")) || strings.Contains(string(prof), "PRIVATE KEY") {
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

	// token reuses the cached session: no second login.
	code, first, errOut := e.token("-o", "acme")
	if code != 0 {
		t.Fatalf("token: exit %d: %s", code, errOut)
	}
	if first.AccessToken == "" || first.InstanceURL != o.URL || first.OrgID != orgID || !first.Cached || tokenCalls(o) != 1 || dataCalls(o) != 1 {
		t.Errorf("token = %+v, token calls %d, checks %d", first, tokenCalls(o), dataCalls(o))
	}
	if raw, _ := os.ReadFile(files[0]); bytes.Contains(raw, []byte(first.AccessToken)) || bytes.Contains(raw, []byte(orgID)) {
		t.Error("token cache is not encrypted")
	}
	if strings.Contains(string(prof), first.AccessToken) {
		t.Error("the profile holds the session")
	}

	// A cached session Salesforce no longer accepts is renewed, not printed.
	expireAll(t, o)
	code, renewed, errOut := e.token("-o", "acme")
	if code != 0 || renewed.AccessToken == first.AccessToken || renewed.Cached || tokenCalls(o) != 2 {
		t.Errorf("token after expiry: exit %d, calls %d, %+v %s", code, tokenCalls(o), renewed, errOut)
	}
	// --no-check prints the cached session without a request.
	expireAll(t, o)
	checks := dataCalls(o)
	code, cached, _ := e.token("-o", "acme", "--no-check")
	if code != 0 || cached.AccessToken != renewed.AccessToken || !cached.Cached || dataCalls(o) != checks || tokenCalls(o) != 2 {
		t.Errorf("token --no-check: exit %d, checks %d→%d, %+v", code, checks, dataCalls(o), cached)
	}

	// org list shows the profile as default, with the audience that worked.
	code, out, _ = e.run("org", "list", "--json")
	if code != 0 || !strings.Contains(out, `"alias": "acme"`) || !strings.Contains(out, `"default": true`) ||
		!strings.Contains(out, `"audience": "`+o.URL+`"`) {
		t.Errorf("org list: exit %d\n%s", code, out)
	}
}

func TestWhoamiReauthenticatesOnceWhenSessionExpired(t *testing.T) {
	o := newOrg(t)
	e := newCLIEnv(t, o)
	if code, _, errOut := e.login(""); code != 0 {
		t.Fatal(errOut)
	}
	expireAll(t, o)
	code, out, errOut := e.run("whoami")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "Integration User") || !strings.Contains(out, string(o.Org.OrgID())) {
		t.Errorf("whoami output:\n%s", out)
	}
	if tokenCalls(o) != 2 {
		t.Errorf("token calls = %d, want 2 (login + one re-authentication)", tokenCalls(o))
	}
	// The new session was cached: token reuses it.
	if code, tr, errOut := e.token(); code != 0 || !tr.Cached || tokenCalls(o) != 2 {
		t.Errorf("token after whoami: exit %d %+v (calls %d) %s", code, tr, tokenCalls(o), errOut)
	}
}

func TestLogoutRevokesAndForgets(t *testing.T) {
	o := newOrg(t)
	e := newCLIEnv(t, o)
	if code, _, errOut := e.login("", "--alias", "acme"); code != 0 {
		t.Fatal(errOut)
	}
	_, before, _ := e.token("--no-check")
	code, out, errOut := e.run("logout", "-o", "acme")
	if code != 0 || !strings.Contains(out, "session revoked") {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	if n := requests(o, `^/services/oauth2/revoke$`); n != 1 {
		t.Errorf("revoke requests = %d, want 1", n)
	}
	if files, _ := filepath.Glob(filepath.Join(e.dir, "tokens", "*")); len(files) != 0 {
		t.Errorf("cache not cleared: %v", files)
	}
	// The profile remains: token logs in again, to a new session.
	if code, after, errOut := e.token(); code != 0 || after.Cached || after.AccessToken == before.AccessToken || tokenCalls(o) != 2 {
		t.Errorf("token after logout: %d %+v (calls %d) %s", code, after, tokenCalls(o), errOut)
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
	o := newOrg(t)
	e := newCLIEnv(t, o)
	// The default org's not-preauthorized user is not assigned to the app.
	code, _, errOut := e.login(o.Username("not-preauthorized"))
	if code != 3 {
		t.Fatalf("exit %d, want 3: %s", code, errOut)
	}
	for _, want := range []string{"400 invalid_app_access: user is not admin approved to access this app", "only admits admin-approved users", "permission set"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if tokenCalls(o) != 1 {
		t.Errorf("a refusal not about the audience must stop discovery: %d token calls", tokenCalls(o))
	}
	if _, err := os.Stat(filepath.Join(e.dir, "profiles.json")); err == nil {
		t.Error("a refused login stored a profile")
	}
}

func TestLoginUnreachableExits4(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	e := newCLIEnv(t, newOrg(t))
	code, _, errOut := e.run("login", "--client-id", e.org.ClientID, "--jwt-key-file", e.writeKey("k.pem", nil), "--username", integration, "--instance-url", url)
	if code != 4 || !strings.Contains(errOut, url+"/services/oauth2/token") {
		t.Fatalf("exit %d, want 4 naming the URL: %s", code, errOut)
	}
}

func TestLoginEncryptedKeyWithPasswordFile(t *testing.T) {
	o := newOrg(t)
	e := newCLIEnv(t, o)
	key := e.writeKey("enc.pem", []byte("s3cret"))
	pass := filepath.Join(e.keyDir, "pass.txt")
	if err := os.WriteFile(pass, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := e.run("login", "--client-id", o.ClientID, "--jwt-key-file", key, "--keystore-password-file", pass,
		"--username", integration, "--instance-url", o.URL, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// Later commands find the key and password again through the profile.
	if code, out, errOut := e.run("whoami", "--json"); code != 0 || !strings.Contains(out, `"source": "userinfo"`) {
		t.Fatalf("whoami: %d %s %s", code, out, errOut)
	}
}

func TestLoginUsageErrors(t *testing.T) {
	e := newCLIEnv(t, newOrg(t))
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
	o := newOrg(t)
	e := newCLIEnv(t, o)
	if code, _, errOut := e.login(""); code != 0 || strings.Contains(errOut, "clock") {
		t.Fatalf("no skew: exit %d, stderr %q", code, errOut)
	}
	// Salesforce's clock two minutes behind: ours is two minutes ahead.
	o.Org.Advance(-2 * time.Minute)
	code, _, errOut := e.login("")
	// The Date header has whole seconds and the request takes time, so the
	// measured gap is 2m0s within a second (a loaded machine saw 1m59s).
	if code != 0 || !regexp.MustCompile(`clock is (1m59s|2m0s|2m1s) ahead of Salesforce's`).MatchString(errOut) {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}
