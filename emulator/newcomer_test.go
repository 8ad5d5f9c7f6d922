package emulator_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/emulator"
)

// Salesforce documents the assertion header as {"alg":"RS256"} and nothing
// about other parameters; x/oauth2 sends kid when PrivateKeyID is set. kid
// and typ are ignored: the signature still has to verify.
func TestHeaderKidAndTypIgnored(t *testing.T) {
	s := newServer(t)
	claims := map[string]any{"iss": s.ClientID, "sub": emulator.UserIntegration, "aud": s.URL, "exp": time.Now().Add(3 * time.Minute).Unix()}
	headers := map[string]map[string]any{
		"x/oauth2 with PrivateKeyID": {"alg": "RS256", "typ": "JWT", "kid": "0123456789abcdef"},
		"kid naming no key":          {"alg": "RS256", "kid": "../../dev/null"},
		"typ JOSE":                   {"alg": "RS256", "typ": "JOSE"},
		"typ lower case":             {"alg": "RS256", "typ": "jwt"},
	}
	for name, h := range headers {
		t.Run(name, func(t *testing.T) {
			r := postToken(t, s, grantForm(sign(t, s.Key, h, claims)))
			if r.status != 200 || !strings.Contains(r.body, `"access_token"`) {
				t.Errorf("got %d %s", r.status, r.body)
			}
		})
	}
}

// A new app without a consumer key gets one, as in Salesforce, and the admin
// API answers it; replacing the app keeps it.
func TestNewAppGetsConsumerKey(t *testing.T) {
	s := newServer(t)
	create := func(body string) emulator.AppSpec {
		t.Helper()
		r := admin(t, s, "POST", "/_emulator/apps", body)
		if r.status != 200 {
			t.Fatalf("POST /_emulator/apps %s: %d %s", body, r.status, r.body)
		}
		var a emulator.AppSpec
		if err := json.Unmarshal([]byte(r.body), &a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	shape := regexp.MustCompile(`^3MVG9[A-Za-z0-9._]{80}$`)
	certJSON, _ := json.Marshal(string(s.CertPEM))
	a := create(`{"name":"Moveworks_Server","certificates":[` + string(certJSON) + `],"permission_sets":["sfbridge_App_Access"]}`)
	if !shape.MatchString(a.ConsumerKey) {
		t.Errorf("generated consumer key %q is not shaped like Salesforce's", a.ConsumerKey)
	}
	if len(a.ConsumerSecret) != 64 {
		t.Errorf("generated consumer secret %q", a.ConsumerSecret)
	}
	b := create(`{"name":"Other"}`)
	if b.ConsumerKey == a.ConsumerKey || !shape.MatchString(b.ConsumerKey) {
		t.Errorf("second app's key %q (first %q)", b.ConsumerKey, a.ConsumerKey)
	}
	again := create(`{"name":"Moveworks_Server","certificates":[` + string(certJSON) + `],"permission_sets":["sfbridge_App_Access"]}`)
	if again.ConsumerKey != a.ConsumerKey || again.ConsumerSecret != a.ConsumerSecret {
		t.Errorf("replacing the app changed its key: %q, was %q", again.ConsumerKey, a.ConsumerKey)
	}
	// The generated key is the app's client id.
	claims := map[string]any{"iss": a.ConsumerKey, "sub": emulator.UserIntegration, "aud": s.URL, "exp": time.Now().Add(time.Minute).Unix()}
	if r := postToken(t, s, grantForm(sign(t, s.Key, map[string]any{"alg": "RS256"}, claims))); r.status != 200 {
		t.Errorf("login with the generated consumer key: %d %s", r.status, r.body)
	}
	if r := admin(t, s, "POST", "/_emulator/apps", `{}`); r.status != 400 || !strings.Contains(r.body, "name is required") {
		t.Errorf("app without a name: %d %s", r.status, r.body)
	}
}
