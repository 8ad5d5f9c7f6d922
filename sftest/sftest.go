// Package sftest runs an emulated Salesforce org in-process for tests:
// NewServer starts the default org (package emulator) on a loopback port
// with freshly generated credentials and stops it when the test ends.
package sftest

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/internal/assertion"
	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/keys"
)

// Server is a running emulated org.
type Server struct {
	// URL is the login and instance URL, such as http://127.0.0.1:39811.
	URL string
	// Org is the emulated org, for direct changes in tests.
	Org *emulator.Org
	// ClientID is the consumer key of the default app.
	ClientID string
	// Key signs assertions the default app trusts; KeyPEM/CertPEM are its
	// PKCS#8 key and certificate, also written to KeyFile and CertFile.
	Key               *rsa.PrivateKey
	KeyPEM, CertPEM   []byte
	KeyFile, CertFile string
	// AdminToken protects the admin API under /_emulator/.
	AdminToken string
	// SCRTURL is the Messaging for In-App and Web host (its own listener,
	// as in Salesforce), serving Org.Messaging().Handler().
	SCRTURL string

	srv     *httptest.Server
	scrtSrv *httptest.Server
}

// Options change what NewServer starts.
type Options struct {
	// Fixture builds the org from the generated client id and certificate;
	// nil uses emulator.DefaultFixture.
	Fixture func(clientID string, certPEM []byte) *emulator.Fixture
	// Now is the org's clock (default time.Now).
	Now func() time.Time
	// TLS serves HTTPS with httptest's certificate (use Client()).
	TLS bool
	// Key reuses a key instead of generating one (generation takes ~0.1 s).
	Key *rsa.PrivateKey
	// Clock drives the Messaging side's timers (SSE pings, scripted
	// agents); nil is the real clock.
	Clock clock.Clock
}

// NewServer starts an org with the default fixture and registers its
// shutdown with t.Cleanup.
func NewServer(t testing.TB) *Server { return NewServerWith(t, Options{}) }

// NewServerWith starts an org as opts say.
func NewServerWith(t testing.TB, opts Options) *Server {
	t.Helper()
	var pair *keys.Pair
	var err error
	if opts.Key != nil {
		pair, err = keys.NewPair(opts.Key, keys.CertificateOptions{Subject: "CN=sftest", Days: 365, Backdate: time.Hour})
	} else {
		pair, err = keys.NewPair(nil, keys.CertificateOptions{Subject: "CN=sftest", Days: 365, Backdate: time.Hour})
	}
	if err != nil {
		t.Fatalf("sftest: %v", err)
	}
	clientID := emulator.ConsumerKeyFor(pair.Cert)
	fx := emulator.DefaultFixture(clientID, pair.CertPEM)
	if opts.Fixture != nil {
		fx = opts.Fixture(clientID, pair.CertPEM)
	}
	srv := httptest.NewUnstartedServer(nil)
	scheme := "http"
	if opts.TLS {
		scheme = "https"
	}
	base := scheme + "://" + srv.Listener.Addr().String()
	scrt := httptest.NewUnstartedServer(nil)
	scrtURL := scheme + "://" + scrt.Listener.Addr().String()
	org, err := emulator.New(emulator.Config{Fixture: fx, BaseURL: base, Now: opts.Now, LoginsPerHour: -1, SCRTURL: scrtURL, Clock: opts.Clock})
	if err != nil {
		srv.Close()
		scrt.Close()
		t.Fatalf("sftest: %v", err)
	}
	srv.Config.Handler = org
	scrt.Config.Handler = org.Messaging().Handler()
	if opts.TLS {
		srv.StartTLS()
		scrt.TLS = srv.TLS
		scrt.StartTLS()
	} else {
		srv.Start()
		scrt.Start()
	}
	t.Cleanup(func() {
		org.Close() // ends the event streams, so Close does not wait for them
		scrt.Close()
		srv.Close()
	})
	dir := t.TempDir()
	s := &Server{URL: base, Org: org, ClientID: clientID, Key: pair.Key, KeyPEM: pair.KeyPEM, CertPEM: pair.CertPEM,
		KeyFile: filepath.Join(dir, "server.key"), CertFile: filepath.Join(dir, "server.crt"),
		AdminToken: org.AdminToken(), SCRTURL: scrtURL, srv: srv, scrtSrv: scrt}
	if err := os.WriteFile(s.KeyFile, pair.KeyPEM, 0o600); err != nil {
		t.Fatalf("sftest: %v", err)
	}
	if err := os.WriteFile(s.CertFile, pair.CertPEM, 0o644); err != nil {
		t.Fatalf("sftest: %v", err)
	}
	return s
}

// SCRTClient returns an HTTP client that trusts the Messaging host.
func (s *Server) SCRTClient() *http.Client { return s.scrtSrv.Client() }

// Client returns an HTTP client that trusts the server (also over TLS).
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Certificate returns the TLS certificate of an HTTPS server, or nil.
func (s *Server) Certificate() *x509.Certificate { return s.srv.Certificate() }

// TLSConfig returns a client TLS configuration trusting the server.
func (s *Server) TLSConfig() *tls.Config {
	if tr, ok := s.srv.Client().Transport.(*http.Transport); ok && tr.TLSClientConfig != nil {
		return tr.TLSClientConfig.Clone()
	}
	return nil
}

// Username returns the username of a default-org role: "integration",
// "no-eventlogs", "not-preauthorized" or "inactive".
func (s *Server) Username(role string) string {
	u, ok := emulator.DefaultUsers()[role]
	if !ok {
		panic("sftest: unknown role " + role)
	}
	return u
}

// Assertion signs a valid assertion for username with the trusted key:
// aud is the server's URL, exp three minutes ahead on the org's clock.
func (s *Server) Assertion(t testing.TB, username string) string {
	t.Helper()
	a, err := assertion.Sign(s.Key, assertion.Claims{Issuer: s.ClientID, Subject: username, Audience: s.URL,
		Expiry: s.Org.Now().Add(3 * time.Minute)})
	if err != nil {
		t.Fatalf("sftest: %v", err)
	}
	return a
}

// TokenResponse is the token endpoint's success answer.
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	InstanceURL string `json:"instance_url"`
	ID          string `json:"id"`
	TokenType   string `json:"token_type"`
	Scope       string `json:"scope"`
	IssuedAt    string `json:"issued_at"`
	Signature   string `json:"signature"`
}

// Login runs the JWT bearer grant for username and returns the answer; it
// fails the test unless the grant succeeds.
func (s *Server) Login(t testing.TB, username string) TokenResponse {
	t.Helper()
	form := url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"assertion":  {s.Assertion(t, username)},
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL+"/services/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatalf("sftest: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("sftest: token request: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sftest: login as %s: %s: %s", username, resp.Status, strings.TrimSpace(string(body)))
	}
	var tr TokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		t.Fatalf("sftest: token answer: %v", err)
	}
	return tr
}
