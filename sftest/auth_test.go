package sftest_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/sftest"
)

// The auth package against the emulator: login with audience discovery,
// a transparent re-login when the session expires mid-use, and Salesforce's
// refusals surfacing as *auth.Error.
func TestAuthPackageAgainstTheEmulator(t *testing.T) {
	s := sftest.NewServer(t)
	src, err := auth.NewTokenSource(s.AuthConfig(s.Username("integration")))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if tok.InstanceURL != s.URL || string(s.Org.OrgID()) != tok.OrgID {
		t.Fatalf("token %+v", tok)
	}
	client := &http.Client{Transport: &auth.Transport{Source: src, Base: s.Client().Transport}}
	get := func() (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+"/services/data/v62.0/limits", nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(); code != http.StatusOK {
		t.Fatalf("first call: %d %s", code, body)
	}
	// The session dies on the next call; Transport logs in again and replays.
	if _, err := s.Org.AddFault(emulator.FaultSpec{Path: "/services/data/**", Action: emulator.FaultExpireSession, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if code, body := get(); code != http.StatusOK {
		t.Fatalf("call after expiry: %d %s", code, body)
	}
	logins := 0
	for _, l := range s.Org.Logins(0) {
		if l.Status == "Success" {
			logins++
		}
	}
	if logins != 2 {
		t.Errorf("%d successful logins, want 2 (initial and after expiry)", logins)
	}

	cfg := s.AuthConfig(s.Username("not-preauthorized"))
	cfg.Audience = s.URL
	bad, err := auth.NewTokenSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Token(t.Context())
	var ae *auth.Error
	if !errors.As(err, &ae) || !strings.Contains(err.Error(), "admin approved") {
		t.Fatalf("not pre-authorized: %v", err)
	}
}
