package messaging

import (
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sfbridge/sfbridge/internal/backoff"
	"github.com/sfbridge/sfbridge/internal/clock"
)

// Config describes one Custom Client deployment and the User Verification
// key the client signs identity tokens with.
type Config struct {
	// SCRTURL is the SCRT host of the deployment's Code Snippet panel
	// (https://<my domain>.my.salesforce-scrt.com). Plain http is accepted
	// only for a loopback host (the emulator).
	SCRTURL string
	// OrgID is the org id (00D…, 15 or 18 characters).
	OrgID string
	// DeploymentName is the Custom Client deployment's esDeveloperName.
	DeploymentName string
	// Key signs the identity tokens; load it with the keys package. Its
	// public half is the JWK registered in the User Verification keyset.
	Key *rsa.PrivateKey
	// KeyID is the registered key's Key ID, sent as the JWT header kid.
	KeyID string
	// Issuer is the keyset's issuer, sent as the iss claim.
	Issuer string
	// Audience is sent as the aud claim when set; Salesforce's own key
	// utility sends none.
	Audience string
	// CapabilitiesVersion is sent with token requests; default "1".
	CapabilitiesVersion string
	// Language is sent with new conversations and sessions; empty omits it.
	Language string

	// IdentityTokenLifetime is the exp of the identity tokens; default 5m.
	IdentityTokenLifetime time.Duration
	// RenewBefore mints a new access token this long before the current
	// one expires; default 5m (at most half the token's lifetime).
	RenewBefore time.Duration
	// HeartbeatTimeout reconnects a stream that sent nothing (not even a
	// ping) for this long; default 45s (Salesforce pings every 15–20 s).
	HeartbeatTimeout time.Duration
	// ReconcileInterval reads each open conversation's entries this often
	// even without events, so an event lost on a quiet stream is still
	// delivered (the first time at a random point of the first interval);
	// default 60s, negative disables.
	ReconcileInterval time.Duration
	// Reconnect is the backoff between failed stream connections; zero
	// fields take 500ms initial, 30s cap, factor 2, jitter 0.2, no
	// attempt bound.
	Reconnect backoff.Policy
	// EventBuffer is each conversation's event channel capacity; default 0
	// (unbuffered: an event waits in the conversation's pump until the
	// caller takes it, so LastEntryID never runs ahead of the caller). A
	// channel's buffer is allocated up front, about 250 bytes an event, for
	// every open conversation.
	EventBuffer int

	// HTTPClient makes every request (default: a client without a
	// timeout, since the stream is long-lived, whose transport keeps up to
	// 256 idle connections and uses 1 KB buffers; requests end with their
	// context). Give a client of your own the same buffer sizes when many
	// end users chat at once.
	HTTPClient *http.Client
	// Clock is the time source (nil: real time).
	Clock clock.Clock
	// Logger receives reconnects and backfills; nil discards. Tokens are
	// never logged.
	Logger *slog.Logger
}

func alnum(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func validOrgID(s string) bool {
	if len(s) != 15 && len(s) != 18 || !strings.HasPrefix(s, "00D") {
		return false
	}
	for i := range len(s) {
		if !alnum(s[i]) {
			return false
		}
	}
	return true
}

func validAPIName(s string) bool {
	if s == "" || !alnum(s[0]) || s[0] <= '9' {
		return false
	}
	for i := range len(s) {
		if !alnum(s[i]) && s[i] != '_' {
			return false
		}
	}
	return true
}

func (c *Config) validate() error {
	bad := func(step, problem, fix string) error {
		return &Error{Op: "validate config", Step: step, Problem: problem, Fix: fix}
	}
	u, err := url.Parse(c.SCRTURL)
	switch {
	case c.SCRTURL == "":
		return bad("Embedded Service Deployment", "no SCRT URL", "copy the SCRT URL from the Custom Client deployment's Code Snippet panel (https://<my domain>.my.salesforce-scrt.com)")
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return bad("Embedded Service Deployment", fmt.Sprintf("SCRT URL %q is not an absolute http(s) URL", c.SCRTURL), "use the URL of the deployment's Code Snippet panel")
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return bad("Embedded Service Deployment", fmt.Sprintf("SCRT URL %q uses plain http", c.SCRTURL), "use https (plain http is only for a local emulator)")
	case !validOrgID(c.OrgID):
		return bad("Company Information", fmt.Sprintf("org id %q is not a Salesforce org id", c.OrgID), "use the Salesforce Org ID from Setup → Company Information (00D…, 15 or 18 characters)")
	case c.DeploymentName == "":
		return bad("Embedded Service Deployment", "no esDeveloperName", "give the API Name of the Custom Client (api) Embedded Service deployment")
	case !validAPIName(c.DeploymentName):
		return bad("Embedded Service Deployment", fmt.Sprintf("esDeveloperName %q is not an API name", c.DeploymentName), "use the deployment's API Name (letters, digits and underscores, starting with a letter)")
	case c.Key == nil:
		return bad("User Verification key", "no signing key", "load the private key whose public JWK is in the User Verification keyset (keys.LoadPrivateKeyFile)")
	case c.Key.N.BitLen() < 2048:
		return bad("User Verification key", fmt.Sprintf("the signing key has %d bits", c.Key.N.BitLen()), "use an RSA key of at least 2048 bits (sfbridge keys generate)")
	case strings.TrimSpace(c.KeyID) == "":
		return bad("User Verification keyset", "no key id", "give the Key ID the key was registered under in the keyset (the JWK's kid)")
	case strings.TrimSpace(c.Issuer) == "":
		return bad("User Verification keyset", "no issuer", "give the keyset's Issuer; identity tokens carry it as iss")
	case c.IdentityTokenLifetime < 0 || c.IdentityTokenLifetime > time.Hour:
		return bad("", fmt.Sprintf("identity token lifetime %s", c.IdentityTokenLifetime), "keep identity tokens short: a few minutes, at most an hour")
	}
	if err := c.reconnectPolicy().Validate(); err != nil {
		return &Error{Op: "validate config", Problem: "reconnect policy", Err: err, Fix: "fix Config.Reconnect"}
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c *Config) reconnectPolicy() backoff.Policy {
	p := c.Reconnect
	if p.Initial == 0 {
		p.Initial = 500 * time.Millisecond
	}
	if p.Max == 0 {
		p.Max = 30 * time.Second
	}
	if p.Multiplier == 0 {
		p.Multiplier = 2
	}
	if p.Jitter == 0 {
		p.Jitter = 0.2
	}
	return p
}

func orDur(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
