package auth_test

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/sftest"
)

// These tests run the JWT bearer flow against the org emulator, which
// verifies assertions as Salesforce does.

func TestEmulatorLoginAndDiagnoses(t *testing.T) {
	s := sftest.NewServer(t)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, clientID, user string
		key                  *rsa.PrivateKey
		problem              string // empty: success
	}{
		{"integration", s.ClientID, emulator.UserIntegration, s.Key, ""},
		{"not pre-authorized", s.ClientID, emulator.UserNotPreauthorized, s.Key, auth.ProblemNotAdminApproved},
		{"inactive", s.ClientID, emulator.UserInactive, s.Key, auth.ProblemInactiveUser},
		{"wrong key", s.ClientID, emulator.UserIntegration, other, auth.ProblemInvalidAssertion},
		{"wrong consumer key", "3MVG9unknown", emulator.UserIntegration, s.Key, auth.ProblemClientID},
	}
	for _, tc := range cases {
		src, err := auth.NewTokenSource(auth.Config{ConsumerKey: tc.clientID, Username: tc.user, PrivateKey: tc.key, LoginURL: s.URL})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := src.Login(t.Context())
		if tc.problem == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
				continue
			}
			id, _ := s.Org.UserID(tc.user)
			if tok.OrgID != string(s.Org.OrgID()) || tok.UserID != string(id) || tok.InstanceURL != s.URL {
				t.Errorf("%s: token %v, want org %s user %s", tc.name, tok, s.Org.OrgID(), id)
			}
			continue
		}
		var ae *auth.Error
		if !errors.As(err, &ae) || ae.Diagnosis.Problem != tc.problem || !ae.Refused() || len(ae.Tried) != 1 {
			t.Errorf("%s: err = %v, want diagnosis %s after one attempt", tc.name, err, tc.problem)
		}
	}
}

func TestEmulatorTransportReauthenticates(t *testing.T) {
	s := sftest.NewServer(t)
	src, err := auth.NewTokenSource(auth.Config{ConsumerKey: s.ClientID, Username: emulator.UserIntegration, PrivateKey: s.Key, LoginURL: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	client := src.Client(nil)
	query := func() string {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+"/services/data/v62.0/query?q=SELECT+Id+FROM+Organization", nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("query: %d %s", resp.StatusCode, b)
		}
		return string(b)
	}
	if !strings.Contains(query(), `"totalSize":1`) {
		t.Fatal("first query found no Organization")
	}
	first := src.Cached()
	if n := s.Org.RevokeUserSessions(emulator.UserIntegration); n == 0 {
		t.Fatal("the emulator revoked no session")
	}
	query()
	if second := src.Cached(); second == nil || second.AccessToken == first.AccessToken {
		t.Fatal("the expired session was not replaced")
	}
	ui, err := auth.FetchUserInfo(t.Context(), client, s.URL)
	if err != nil || ui.PreferredUsername != emulator.UserIntegration {
		t.Fatalf("userinfo = %+v, %v", ui, err)
	}
	tok := src.Cached()
	if err := auth.Revoke(t.Context(), nil, tok); err != nil {
		t.Fatal(err)
	}
	query() // re-authenticates once more
	if src.Cached().AccessToken == tok.AccessToken {
		t.Fatal("the revoked session was reused")
	}
}
