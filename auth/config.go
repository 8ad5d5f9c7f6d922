package auth

import (
	"crypto/rsa"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/internal/loopback"
)

// Standard Salesforce login URLs, also the audiences they accept.
const (
	ProductionURL = "https://login.salesforce.com"
	SandboxURL    = "https://test.salesforce.com"
)

// Config describes how to authenticate: which app (consumer key), as which
// user, signed with which key, against which login URL. The zero values of
// the optional fields are usable defaults. Use [NewTokenSource] to validate
// it and obtain sessions.
type Config struct {
	// ConsumerKey is the Connected App's or External Client App's consumer
	// key (client id); it becomes the assertion's iss. Required.
	ConsumerKey string
	// Username is the Salesforce username of the integration user, with the
	// sandbox suffix in a sandbox; it becomes the assertion's sub. Required.
	Username string
	// PrivateKey signs the assertion. Its certificate must be the one
	// uploaded to the app ("Use digital signatures"). Required.
	PrivateKey *rsa.PrivateKey
	// LoginURL is where the assertion is posted: https://login.salesforce.com
	// (the default), https://test.salesforce.com, the org's My Domain URL or
	// an Experience Cloud site URL. Never a *.lightning.force.com URL.
	LoginURL string
	// Audience is the assertion's aud. Empty means discover it: several
	// login URL/audience pairs are tried in order (see [TokenSource.Login]).
	Audience string
	// HTTPClient sends the token requests. Nil means a client with a 30 s
	// timeout whose transport honours HTTPS_PROXY/NO_PROXY
	// ([http.ProxyFromEnvironment]) and which does not follow redirects.
	HTTPClient *http.Client
	// Now is the clock; nil means Clock's Now.
	Now func() time.Time
	// Clock times the waits between retried token requests (and is the
	// clock when Now is nil); nil means real time. Tests inject a fake.
	Clock clock.Clock
	// Logger receives debug logs (never keys, assertions or tokens); nil
	// discards.
	Logger *slog.Logger
	// OnLogin, when set, is told the outcome of every login the source
	// makes (one token exchange with its retries, or one audience
	// discovery): nil when a session was granted, else the error the
	// caller gets. It lets a supervisor follow the org's health from the
	// logins its work causes; it must not block.
	OnLogin func(err error)
	// MaxAttempts bounds the tries of one token request when the network
	// fails or Salesforce answers 5xx; 0 means 3. A 4xx is never retried.
	MaxAttempts int
	// RetryDelay is the base of the jittered exponential backoff between
	// those tries (it doubles per try, capped at 10 s); 0 means 250 ms.
	RetryDelay time.Duration
}

// Endpoint is a login URL and the audience used with it.
type Endpoint struct {
	LoginURL string `json:"login_url"`
	Audience string `json:"audience"`
}

// TokenURL is the endpoint's token URL.
func (e Endpoint) TokenURL() string { return e.LoginURL + "/services/oauth2/token" }

func (e Endpoint) String() string { return "login " + e.LoginURL + " aud " + e.Audience }

// ConfigError reports an invalid [Config].
type ConfigError struct {
	Field  string
	Reason string
}

func (e *ConfigError) Error() string { return "auth: invalid config: " + e.Field + ": " + e.Reason }

// withDefaults validates c and returns a copy with defaults filled in.
func (c Config) withDefaults() (Config, error) {
	if strings.TrimSpace(c.ConsumerKey) == "" {
		return c, &ConfigError{"ConsumerKey", "empty; copy the Consumer Key from the app's Manage Consumer Details page"}
	}
	if strings.ContainsAny(c.ConsumerKey, " \t\r\n") {
		return c, &ConfigError{"ConsumerKey", "contains white space; copy it again without surrounding blanks"}
	}
	if strings.TrimSpace(c.Username) == "" {
		return c, &ConfigError{"Username", "empty; give the integration user's Salesforce username"}
	}
	if c.PrivateKey == nil || c.PrivateKey.N == nil {
		return c, &ConfigError{"PrivateKey", "missing"}
	}
	if c.PrivateKey.N.BitLen() < 1024 {
		return c, &ConfigError{"PrivateKey", fmt.Sprintf("RSA key of %d bits is too small; Salesforce recommends 2048", c.PrivateKey.N.BitLen())}
	}
	if c.LoginURL == "" {
		c.LoginURL = ProductionURL
	}
	var err error
	if c.LoginURL, err = normalizeURL("LoginURL", c.LoginURL); err != nil {
		return c, err
	}
	if c.Audience != "" {
		if c.Audience, err = normalizeURL("Audience", c.Audience); err != nil {
			return c, err
		}
	}
	if c.HTTPClient == nil {
		c.HTTPClient = defaultHTTPClient()
	}
	c.Clock = clock.Or(c.Clock)
	c.Now = clock.FuncNow(c.Now, c.Clock)
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.MaxAttempts < 0 {
		return c, &ConfigError{"MaxAttempts", "negative"}
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 3
	}
	if c.RetryDelay < 0 {
		return c, &ConfigError{"RetryDelay", "negative"}
	}
	if c.RetryDelay == 0 {
		c.RetryDelay = 250 * time.Millisecond
	}
	return c, nil
}

// normalizeURL checks a login URL or audience: absolute, https (http only
// for loopback hosts, for local emulators), no query or fragment, not a
// Lightning domain. It drops a trailing slash.
func normalizeURL(field, raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", &ConfigError{field, fmt.Sprintf("%q is not an absolute URL; write it with its scheme, like https://login.salesforce.com", raw)}
	}
	if u.Scheme == "http" && !loopback.IsHost(u.Hostname()) {
		return "", &ConfigError{field, fmt.Sprintf("%q must use https", raw)}
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", &ConfigError{field, fmt.Sprintf("%q must not carry a query, fragment or user info", raw)}
	}
	// A trailing dot names the same host in DNS ("acme.lightning.force.com.").
	if strings.HasSuffix(strings.TrimSuffix(strings.ToLower(u.Hostname()), "."), ".lightning.force.com") {
		return "", &ConfigError{field, fmt.Sprintf("%q is a Lightning domain; use the My Domain URL (https://<MyDomain>.my.salesforce.com) instead", raw)}
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String(), nil
}

// CheckLoginURL reports whether raw is a login URL that [Config] accepts
// (absolute https, http only for loopback hosts, no query, fragment or user
// info, not a Lightning domain), so that configuration files can be checked
// before any org is built.
func CheckLoginURL(raw string) error {
	_, err := normalizeURL("LoginURL", raw)
	return err
}

func defaultHTTPClient() *http.Client {
	rt := http.DefaultTransport
	if tr, ok := rt.(*http.Transport); ok {
		rt = tr.Clone() // keeps Proxy: http.ProxyFromEnvironment
	}
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: rt,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// candidates lists the login URL/audience pairs to try, in order.
//
// An explicit audience is used alone. Otherwise the login URL as its own
// audience first (My Domain and External Client Apps, or plain
// login/test), then the standard audience its host suggests (test for
// sandbox My Domains, else login) and the other one. Discovery changes
// only the audience: the assertion always goes to the login URL the caller
// named (or the default), never to a host they did not name. A login host
// is never paired with the test audience or the reverse.
func (c Config) candidates() []Endpoint {
	if c.Audience != "" {
		return []Endpoint{{c.LoginURL, c.Audience}}
	}
	l := c.LoginURL
	first, second := ProductionURL, SandboxURL
	if looksLikeSandbox(l) {
		first, second = SandboxURL, ProductionURL
	}
	var out []Endpoint
	add := func(login, aud string) {
		for _, e := range out {
			if e.LoginURL == login && e.Audience == aud {
				return
			}
		}
		if (login == ProductionURL && aud == SandboxURL) || (login == SandboxURL && aud == ProductionURL) {
			return
		}
		out = append(out, Endpoint{login, aud})
	}
	add(l, l)
	add(l, first)
	add(l, second)
	return out
}

// looksLikeSandbox reports whether a login URL names a sandbox:
// test.salesforce.com or a *.sandbox.my.salesforce.com My Domain.
func looksLikeSandbox(loginURL string) bool {
	u, err := url.Parse(loginURL)
	if err != nil {
		return false
	}
	h := strings.ToLower(u.Hostname())
	return loginURL == SandboxURL || strings.Contains(h, ".sandbox.") || strings.Contains(strings.SplitN(h, ".", 2)[0], "--")
}
