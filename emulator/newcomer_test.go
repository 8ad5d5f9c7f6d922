package emulator_test

import (
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
