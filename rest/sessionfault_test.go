package rest_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/rest"
	"github.com/sfbridge/sfbridge/sftest"
)

// queryAfterFirstPage runs a two-page query with the session expiring on
// the second page and the given fault on the token endpoint once the first
// login is through; it returns the query's error and how many token
// requests reached the emulator.
func queryAfterFirstPage(t *testing.T, s *sftest.Server, tokenFault *emulator.FaultSpec, pageFault emulator.FaultSpec) (int, error) {
	t.Helper()
	s.Org.ClearFaults()
	src, err := auth.NewTokenSource(auth.Config{ConsumerKey: s.ClientID, Username: emulator.UserIntegration, PrivateKey: s.Key,
		LoginURL: s.URL, Audience: s.URL, RetryDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c, err := rest.New(src, rest.WithRetry(rest.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	// The fault on the token endpoint counts its requests (Matched); with
	// no fault to inject, a harmless latency counts them.
	f := emulator.FaultSpec{Action: emulator.FaultLatency, Latency: "1ns"}
	if tokenFault != nil {
		f = *tokenFault
	}
	f.Path, f.After = "/services/oauth2/token", 1
	counter, err := s.Org.AddFault(f)
	if err != nil {
		t.Fatal(err)
	}
	pageFault.Method, pageFault.Path = "GET", "/services/data/*/query/*"
	if _, err := s.Org.AddFault(pageFault); err != nil {
		t.Fatal(err)
	}
	n := 0
	var qerr error
	for _, err := range c.Query.Records(t.Context(), "SELECT Id FROM Case", nil) {
		if err != nil {
			qerr = err
			break
		}
		n++
	}
	if n != 2000 {
		t.Errorf("%d records before the failure, want the first page's 2000", n)
	}
	for _, f := range s.Org.Faults() {
		if f.ID == counter {
			return f.Matched, qerr
		}
	}
	t.Fatal("the counting fault is gone")
	return 0, nil
}

func TestSessionRenewalFailuresMidQuery(t *testing.T) {
	s := sftest.NewServer(t)
	if err := s.Org.Store().Generate("Case", 2500, 7); err != nil {
		t.Fatal(err)
	}

	t.Run("token endpoint resets: one layer retries", func(t *testing.T) {
		tokenRequests, err := queryAfterFirstPage(t, s, &emulator.FaultSpec{Action: emulator.FaultReset},
			emulator.FaultSpec{Action: emulator.FaultExpireSession, Count: 1})
		// The first login, then the renewal's 3 attempts (auth's policy);
		// the REST client does not retry them again.
		if tokenRequests != 1+3 {
			t.Errorf("%d token requests, want 4: the first login and the renewal's 3 tries", tokenRequests)
		}
		var ne *auth.NetworkError
		var te *rest.TransportError
		if !errors.As(err, &ne) || errors.As(err, &te) {
			t.Errorf("error %v: want the token endpoint's *auth.NetworkError, not a REST transport error", err)
		}
	})

	t.Run("token endpoint 503: the same error as at start", func(t *testing.T) {
		tokenRequests, err := queryAfterFirstPage(t, s, &emulator.FaultSpec{Action: emulator.FaultError, Status: http.StatusServiceUnavailable},
			emulator.FaultSpec{Action: emulator.FaultExpireSession, Count: 1})
		if tokenRequests != 1+3 {
			t.Errorf("%d token requests, want 4", tokenRequests)
		}
		var ae *auth.Error
		var te *rest.TransportError
		if !errors.As(err, &ae) || ae.StatusCode != http.StatusServiceUnavailable || errors.As(err, &te) {
			t.Errorf("error %v: want the token endpoint's 503 *auth.Error, not a REST transport error", err)
		}
	})

	t.Run("401 after a successful renewal", func(t *testing.T) {
		tokenRequests, err := queryAfterFirstPage(t, s, nil, emulator.FaultSpec{Action: emulator.FaultExpireSession})
		if tokenRequests != 2 {
			t.Errorf("%d token requests, want 2: the first login and one renewal", tokenRequests)
		}
		var ae *rest.APIError
		if !errors.As(err, &ae) || ae.StatusCode != http.StatusUnauthorized || !ae.SessionRenewed {
			t.Fatalf("error %v: want a 401 *rest.APIError marked SessionRenewed", err)
		}
		msg := err.Error()
		if strings.Contains(msg, "refused too") {
			t.Errorf("message %q says the new login was refused; it was granted", msg)
		}
		for _, want := range []string{"a new session was granted", "refuses it too", "IP", "session security level"} {
			if !strings.Contains(msg, want) {
				t.Errorf("message %q lacks %q", msg, want)
			}
		}
	})
}
