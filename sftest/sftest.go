// Package sftest runs an emulated Salesforce org in-process for tests and
// examples: NewServer starts the default org (package emulator) on a
// loopback port with freshly generated credentials and stops it when the
// test ends; Start does the same without a test and returns a Server to
// Close.
package sftest

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/auth"
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
	dir     string // holds KeyFile and CertFile
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
// shutdown with tb.Cleanup.
func NewServer(tb testing.TB) *Server {
	tb.Helper()
	return NewServerWith(tb, Options{})
}

// NewServerWith starts an org as opts say and registers its shutdown with
// tb.Cleanup.
func NewServerWith(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := Start(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Start starts an org as opts say, outside a test: for examples and
// programs. The caller must Close it.
func Start(opts Options) (*Server, error) {
	var pair *keys.Pair
	var err error
	if opts.Key != nil {
		pair, err = keys.NewPair(opts.Key, keys.CertificateOptions{Subject: "CN=sftest", Days: 365, Backdate: time.Hour})
	} else {
		pair, err = keys.NewPair(nil, keys.CertificateOptions{Subject: "CN=sftest", Days: 365, Backdate: time.Hour})
	}
	if err != nil {
		return nil, fmt.Errorf("sftest: %w", err)
	}
	clientID := emulator.ConsumerKeyFor(pair.Cert)
	fx := emulator.DefaultFixture(clientID, pair.CertPEM)
	if opts.Fixture != nil {
		fx = opts.Fixture(clientID, pair.CertPEM)
	}
	dir, err := os.MkdirTemp("", "sftest")
	if err != nil {
		return nil, fmt.Errorf("sftest: %w", err)
	}
	s := &Server{ClientID: clientID, Key: pair.Key, KeyPEM: pair.KeyPEM, CertPEM: pair.CertPEM,
		KeyFile: filepath.Join(dir, "server.key"), CertFile: filepath.Join(dir, "server.crt"), dir: dir}
	if err := os.WriteFile(s.KeyFile, pair.KeyPEM, 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("sftest: %w", err)
	}
	if err := os.WriteFile(s.CertFile, pair.CertPEM, 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("sftest: %w", err)
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
		os.RemoveAll(dir)
		return nil, fmt.Errorf("sftest: %w", err)
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
	s.URL, s.Org, s.AdminToken, s.SCRTURL, s.srv, s.scrtSrv = base, org, org.AdminToken(), scrtURL, srv, scrt
	return s, nil
}

// Close stops the org and both servers, and removes the key files.
func (s *Server) Close() {
	s.Org.Close() // ends the event streams, so the servers' Close does not wait for them
	s.scrtSrv.Close()
	s.srv.Close()
	os.RemoveAll(s.dir)
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

// AuthConfig is the JWT bearer configuration that logs in to the org as
// username with the key its app trusts, through an HTTP client that trusts
// the server (also over TLS).
func (s *Server) AuthConfig(username string) auth.Config {
	return auth.Config{ConsumerKey: s.ClientID, Username: username, PrivateKey: s.Key, LoginURL: s.URL, HTTPClient: s.Client()}
}

// Assertion signs a valid assertion for username with the trusted key:
// aud is the server's URL, exp three minutes ahead on the org's clock.
func (s *Server) Assertion(tb testing.TB, username string) string {
	tb.Helper()
	a, err := assertion.Sign(s.Key, assertion.Claims{Issuer: s.ClientID, Subject: username, Audience: s.URL,
		Expiry: s.Org.Now().Add(3 * time.Minute)})
	if err != nil {
		tb.Fatalf("sftest: %v", err)
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
func (s *Server) Login(tb testing.TB, username string) TokenResponse {
	tb.Helper()
	form := url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"assertion":  {s.Assertion(tb, username)},
	}
	req, err := http.NewRequestWithContext(tb.Context(), http.MethodPost, s.URL+"/services/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		tb.Fatalf("sftest: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.Client().Do(req)
	if err != nil {
		tb.Fatalf("sftest: token request: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("sftest: login as %s: %s: %s", username, resp.Status, strings.TrimSpace(string(body)))
	}
	var tr TokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		tb.Fatalf("sftest: token answer: %v", err)
	}
	return tr
}
