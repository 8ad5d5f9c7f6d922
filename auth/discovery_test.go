package auth_test

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/sftest"
)

// hostRecorder notes the host of every request on its way out.
type hostRecorder struct {
	mu    sync.Mutex
	hosts []string
}

func (h *hostRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.hosts = append(h.hosts, req.URL.Scheme+"://"+req.URL.Host)
	h.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

var audienceInvalid = emulator.FaultSpec{Path: "/services/oauth2/token", Action: emulator.FaultError, Status: http.StatusBadRequest,
	Body: `{"error":"invalid_grant","error_description":"audience is invalid"}`}

// When the named instance refuses the audience, discovery tries the other
// audiences at the same host and never posts the assertion elsewhere; the
// error is the refusal.
func TestAudienceDiscoveryKeepsTheNamedHost(t *testing.T) {
	s := sftest.NewServer(t)
	if _, err := s.Org.AddFault(audienceInvalid); err != nil {
		t.Fatal(err)
	}
	rec := &hostRecorder{}
	src, err := auth.NewTokenSource(auth.Config{ConsumerKey: s.ClientID, Username: emulator.UserIntegration, PrivateKey: s.Key,
		LoginURL: s.URL, HTTPClient: &http.Client{Transport: rec}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Token(t.Context())
	var ae *auth.Error
	if !errors.As(err, &ae) || ae.Description != "audience is invalid" {
		t.Fatalf("error %v, want the audience refusal", err)
	}
	if len(rec.hosts) != 3 {
		t.Errorf("%d token requests %v, want one per audience (3)", len(rec.hosts), rec.hosts)
	}
	for _, h := range rec.hosts {
		if h != s.URL {
			t.Errorf("an assertion went to %s; only %s was named", h, s.URL)
		}
	}
	var auds []string
	for _, ep := range ae.Tried {
		if ep.LoginURL != s.URL {
			t.Errorf("tried login URL %s", ep.LoginURL)
		}
		auds = append(auds, ep.Audience)
	}
	if want := []string{s.URL, auth.ProductionURL, auth.SandboxURL}; len(auds) != 3 || auds[0] != want[0] || auds[1] != want[1] || auds[2] != want[2] {
		t.Errorf("audiences tried %v, want %v", auds, want)
	}
}

// A refusal followed by a pair that gets no answer at all reports the
// refusal, which names the problem, not the network error.
func TestAudienceDiscoveryReportsTheRefusalOverALaterNetworkError(t *testing.T) {
	s := sftest.NewServer(t)
	first := audienceInvalid
	first.Count = 1
	if _, err := s.Org.AddFault(first); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Org.AddFault(emulator.FaultSpec{Path: "/services/oauth2/token", Action: emulator.FaultReset}); err != nil {
		t.Fatal(err)
	}
	src, err := auth.NewTokenSource(auth.Config{ConsumerKey: s.ClientID, Username: emulator.UserIntegration, PrivateKey: s.Key,
		LoginURL: s.URL, RetryDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Token(t.Context())
	var ae *auth.Error
	var ne *auth.NetworkError
	if !errors.As(err, &ae) || ae.Description != "audience is invalid" || errors.As(err, &ne) {
		t.Fatalf("error %v, want the audience refusal", err)
	}
}

// The identity service answers a dead session with 403 Bad_OAuth_Token, not
// the REST API's 401: Transport renews the session on it too, once.
func TestTransportRenewsOnTheIdentityServicesBadOAuthToken(t *testing.T) {
	s := sftest.NewServer(t)
	src, err := auth.NewTokenSource(auth.Config{ConsumerKey: s.ClientID, Username: emulator.UserIntegration, PrivateKey: s.Key, LoginURL: s.URL, Audience: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	first, err := src.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	s.Org.RevokeUserSessions(emulator.UserIntegration)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+"/id/"+first.OrgID+"/"+first.UserID, nil)
	resp, err := src.Client(nil).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get(auth.RenewedHeader) == "" {
		t.Fatalf("identity after revocation: %d (renewed %q), want 200 with a renewed session", resp.StatusCode, resp.Header.Get(auth.RenewedHeader))
	}
	if now := src.Cached(); now == nil || now.AccessToken == first.AccessToken {
		t.Error("the session was not renewed")
	}
}
