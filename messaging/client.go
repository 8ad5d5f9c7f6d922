package messaging

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sfbridge/sfbridge/internal/clock"
)

const (
	apiPrefix = "/iamessage/api/v2"
	ssePath   = "/eventrouter/v1/sse"
)

// Client talks to one deployment. It is safe for concurrent use; Close ends
// every session.
type Client struct {
	cfg    Config
	base   string
	hc     *http.Client
	clk    clock.Clock
	log    *slog.Logger
	stats  stats
	mu     sync.Mutex
	closed bool
	users  map[string]*session
}

// New validates cfg and returns a client. Nothing is sent yet; Check or the
// first session reveals setup problems on the Salesforce side.
func New(cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.CapabilitiesVersion == "" {
		cfg.CapabilitiesVersion = "1"
	}
	cfg.IdentityTokenLifetime = orDur(cfg.IdentityTokenLifetime, 5*time.Minute)
	cfg.RenewBefore = orDur(cfg.RenewBefore, 5*time.Minute)
	cfg.HeartbeatTimeout = orDur(cfg.HeartbeatTimeout, 45*time.Second)
	cfg.ReconcileInterval = orDur(cfg.ReconcileInterval, 60*time.Second)
	cfg.EventBuffer = max(cfg.EventBuffer, 0)
	c := &Client{cfg: cfg, base: strings.TrimRight(cfg.SCRTURL, "/"), hc: cfg.HTTPClient, clk: clock.Or(cfg.Clock), log: cfg.Logger, users: map[string]*session{}}
	if c.hc == nil {
		c.hc = &http.Client{Transport: defaultTransport()}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Stats are counters of the client's life, for metrics and tests.
type Stats struct {
	// Reconnects counts stream connections after the first of a session.
	Reconnects int64
	// ConnectFailures counts stream connections that failed (each is
	// followed by a backoff wait).
	ConnectFailures int64
	// UnknownEvents counts events of types the client does not know
	// (ignored, as Salesforce asks).
	UnknownEvents int64
	// Syncs counts list-entries reads; Delivered the events handed to
	// callers from them.
	Syncs, Delivered int64
	// TokensMinted counts access tokens minted.
	TokensMinted int64
}

type stats struct {
	mu sync.Mutex
	s  Stats
}

func (s *stats) add(f func(*Stats)) {
	s.mu.Lock()
	f(&s.s)
	s.mu.Unlock()
}

// Stats returns the counters.
func (c *Client) Stats() Stats {
	c.stats.mu.Lock()
	defer c.stats.mu.Unlock()
	return c.stats.s
}

// IdentityToken signs an identity token for the end user: RS256 with the
// configured kid, claims iss, sub, iat and exp (and aud when configured),
// as Salesforce's own key utility writes them.
func (c *Client) IdentityToken(userID string) (string, error) {
	if strings.TrimSpace(userID) == "" {
		return "", &Error{Op: "sign identity token", Problem: "empty user id", Fix: "use a stable end-user id (employee id or email) as the subject"}
	}
	now := c.clk.Now()
	hdr, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": c.cfg.KeyID, "typ": "JWT"})
	claims := map[string]any{"iss": c.cfg.Issuer, "sub": userID, "iat": now.Unix(), "exp": now.Add(c.cfg.IdentityTokenLifetime).Unix()}
	if c.cfg.Audience != "" {
		claims["aud"] = c.cfg.Audience
	}
	body, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(hdr) + "." + enc.EncodeToString(body)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, c.cfg.Key, crypto.SHA256, sum[:])
	if err != nil {
		return "", &Error{Op: "sign identity token", Problem: "RSA signing failed", Err: err, Fix: "check the signing key"}
	}
	return signing + "." + enc.EncodeToString(sig), nil
}

// TokenInfo describes a verified access token without the token itself.
type TokenInfo struct {
	// Subject is the end user, v2/iamessage/AUTH/<keyset>/uid:<sub>.
	Subject string
	// AuthMode is "Auth" for a verified user.
	AuthMode string
	// Expires is the access token's expiry (zero when it cannot be read).
	Expires time.Time
	// DeploymentType is the deployment's type ("api").
	DeploymentType string
	// LastEventID is the stream position at minting.
	LastEventID string
}

type mintedToken struct {
	TokenInfo
	access string
}

// mint exchanges a fresh identity token for an access token and checks the
// answer is a verified one.
func (c *Client) mint(ctx context.Context, userID string) (*mintedToken, error) {
	idt, err := c.IdentityToken(userID)
	if err != nil {
		return nil, err
	}
	req := map[string]any{"orgId": c.cfg.OrgID, "esDeveloperName": c.cfg.DeploymentName, "capabilitiesVersion": c.cfg.CapabilitiesVersion,
		"platform": "Web", "authorizationType": "JWT", "customerIdentityToken": idt}
	var ans struct {
		AccessToken string `json:"accessToken"`
		LastEventID string `json:"lastEventId"`
		Context     struct {
			EndUser struct {
				Subject string `json:"subject"`
			} `json:"endUser"`
			Configuration struct {
				ESC struct {
					DeploymentType string `json:"deploymentType"`
					Channel        struct {
						AuthMode string `json:"authMode"`
					} `json:"embeddedServiceMessagingChannel"`
				} `json:"embeddedServiceConfig"`
			} `json:"configuration"`
		} `json:"context"`
	}
	if err := c.do(ctx, http.MethodPost, apiPrefix+"/authorization/authenticated/access-token", "", req, &ans); err != nil {
		return nil, diagnoseMint(err)
	}
	c.stats.add(func(s *Stats) { s.TokensMinted++ })
	t := &mintedToken{access: ans.AccessToken, TokenInfo: TokenInfo{Subject: ans.Context.EndUser.Subject, AuthMode: ans.Context.Configuration.ESC.Channel.AuthMode,
		DeploymentType: ans.Context.Configuration.ESC.DeploymentType, LastEventID: ans.LastEventID, Expires: jwtExpiry(ans.AccessToken)}}
	if t.AuthMode != "Auth" || !strings.Contains(t.Subject, "/AUTH/") {
		// The silent anonymous answer: do not use it (the agent would see an
		// unverified guest), and let it go.
		_ = c.do(ctx, http.MethodDelete, apiPrefix+"/authorization/authenticated/access-token", t.access, nil, nil)
		return nil, &Error{Op: "mint access token", Step: "User Verification", Err: ErrAnonymousToken,
			Problem: fmt.Sprintf("verification did not take: subject %q, authMode %q", anonSubject(t.Subject), t.AuthMode),
			Fix:     "the org silently fell back to a guest token: check the keyset's issuer, the key id and that the identity token is not expired (sfbridge doctor --require messaging)"}
	}
	if t.DeploymentType != "" && t.DeploymentType != "api" {
		return nil, &Error{Op: "mint access token", Step: "Embedded Service Deployment", Problem: fmt.Sprintf("deployment type %q", t.DeploymentType),
			Fix: "use a Custom Client deployment (type api)"}
	}
	return t, nil
}

// anonSubject keeps the shape of a subject without the per-guest id.
func anonSubject(s string) string {
	if i := strings.Index(s, "/ANON/"); i >= 0 {
		return s[:i+6] + "…"
	}
	return s
}

// diagnoseMint names the setup step behind a refused token request.
func diagnoseMint(err error) error {
	var ae *APIError
	if !errors.As(err, &ae) {
		return &Error{Op: "mint access token", Problem: "the SCRT host could not be reached", Err: err, Fix: "check the SCRT URL and the network"}
	}
	m := strings.ToLower(ae.Message)
	e := &Error{Op: "mint access token", Err: err}
	switch {
	case strings.Contains(m, "deploymenttype"):
		e.Step, e.Problem, e.Fix = "Embedded Service Deployment", "the deployment is not a Custom Client deployment", "deployment type must be api: create a Custom Client deployment and use its API name"
	case strings.Contains(m, "issuer"):
		e.Step, e.Problem, e.Fix = "User Verification keyset", "no keyset has this issuer", "keyset issuer must match: set --issuer to the keyset's Issuer exactly"
	case strings.Contains(m, "kid") || strings.Contains(m, "no key"):
		e.Step, e.Problem, e.Fix = "User Verification keyset", "the key id is not registered", "key id must be registered: upload the JWK (sfbridge keys jwk --kid …) to the keyset and use its Key ID"
	case strings.Contains(m, "signature"):
		e.Step, e.Problem, e.Fix = "User Verification keyset", "the signature does not verify", "the keyset holds another public key under this key id: upload the JWK of this signing key"
	case strings.Contains(m, "expired") || strings.Contains(m, "exp"):
		e.Step, e.Problem, e.Fix = "User Verification", "the identity token was refused as expired", "check this machine's clock"
	case strings.Contains(m, "user verification"):
		e.Step, e.Problem, e.Fix = "Messaging Settings", "the channel has no User Verification", "turn User Verification on for the messaging channel and link the keyset"
	case strings.Contains(m, "esdevelopername") || strings.Contains(m, "deployment") || strings.Contains(m, "publish"):
		e.Step, e.Problem, e.Fix = "Embedded Service Deployment", "the deployment was refused", "check the deployment's API name and publish it"
	case strings.Contains(m, "org"):
		e.Step, e.Problem, e.Fix = "Company Information", "the org id was refused", "use this org's id"
	default:
		e.Problem, e.Fix = "the token request was refused", "see the message; sfbridge doctor --require messaging checks each step"
	}
	return e
}

// jwtExpiry reads exp from a JWT's payload without verifying it (the
// access token is the server's; only its expiry is wanted).
func jwtExpiry(tok string) time.Time {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}
	}
	var cl struct {
		Exp json.Number `json:"exp"`
	}
	if json.Unmarshal(b, &cl) != nil {
		return time.Time{}
	}
	n, err := cl.Exp.Int64()
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.Unix(n, 0)
}

// do sends one JSON request; a non-2xx answer is an *APIError.
func (c *Client) do(ctx context.Context, method, path, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return apiError(method, path, resp.StatusCode, data)
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
		}
	}
	return nil
}

func apiError(method, path string, status int, data []byte) *APIError {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	var e struct {
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	msg := strings.TrimSpace(string(data))
	if json.Unmarshal(data, &e) == nil {
		if e.Message != "" {
			msg = e.Message
		} else if e.Error != "" {
			msg = e.Error
		}
	}
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return &APIError{Method: method, Path: path, Status: status, Message: msg}
}

// Check mints an access token for the user and revokes it: it proves the
// deployment, the keyset (issuer and key id) and the signing key work
// together. The answer describes the token, never the token itself.
func (c *Client) Check(ctx context.Context, userID string) (TokenInfo, error) {
	t, err := c.mint(ctx, userID)
	if err != nil {
		return TokenInfo{}, err
	}
	_ = c.do(ctx, http.MethodDelete, apiPrefix+"/authorization/authenticated/access-token", t.access, nil, nil)
	return t.TokenInfo, nil
}

// MintAccessToken mints an access token for the user and returns it with
// its description; the caller owns it (and should revoke it). For the CLI's
// `token --show-token`; programs use sessions.
func (c *Client) MintAccessToken(ctx context.Context, userID string) (string, TokenInfo, error) {
	t, err := c.mint(ctx, userID)
	if err != nil {
		return "", TokenInfo{}, err
	}
	return t.access, t.TokenInfo, nil
}

// Close ends every open conversation's delivery (see Conversation.Close);
// their sessions stop their streams and revoke their tokens. The client
// cannot be used afterwards.
func (c *Client) Close() {
	c.mu.Lock()
	c.closed = true
	var convs []*Conversation
	for _, s := range c.users {
		s.mu.Lock()
		for _, cv := range s.convs {
			convs = append(convs, cv)
		}
		s.mu.Unlock()
	}
	c.mu.Unlock()
	for _, cv := range convs {
		cv.Close()
	}
}

// defaultTransport is net/http's default transport with room for many idle
// REST connections (every end user's conversations share them) and 1 KB
// connection buffers instead of 4 KB: each end user holds one long-lived
// stream whose frames are small, so this saves 6 KB per stream.
func defaultTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 512
	t.MaxIdleConnsPerHost = 256
	t.ReadBufferSize = 1024
	t.WriteBufferSize = 1024
	return t
}
