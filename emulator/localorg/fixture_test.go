package localorg

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/internal/assertion"
	"github.com/sfbridge/sfbridge/keys"
)

// With a fixture, the info file's key and client id log in to the
// fixture's first app, even when the fixture gives it neither a
// certificate nor a consumer key.
func TestFixtureInfoKeyIsTrusted(t *testing.T) {
	dir := t.TempDir()
	fixture := filepath.Join(dir, "org.yaml")
	if err := os.WriteFile(fixture, []byte(`
org: {name: Acme}
profiles:
  - {name: Integration, permissions: [ApiEnabled]}
users:
  - {username: svc@acme.test, last_name: Service, email: svc@acme.test, profile: Integration}
apps:
  - {name: acme-connector, profiles: [Integration]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := Start(t.Context(), Options{Addr: "127.0.0.1:0", StateDir: filepath.Join(dir, "state"), Fixture: fixture})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Shutdown(t.Context()) })
	if !strings.HasPrefix(o.Info.ClientID, "3MVG9") {
		t.Fatalf("client_id %q: want the app's generated consumer key", o.Info.ClientID)
	}
	keyPEM, err := os.ReadFile(o.Info.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	key, err := keys.ParsePrivateKey(keyPEM, "server.key", keys.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := assertion.Sign(key, assertion.Claims{Issuer: o.Info.ClientID, Subject: "svc@acme.test", Audience: o.Info.LoginURL, Expiry: time.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, o.Info.TokenURL, strings.NewReader(url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {a}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK {
		t.Errorf("login with the info file's key: %d %s", resp.StatusCode, b)
	}
}
