package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/internal/backoff"
	"github.com/sfbridge/sfbridge/internal/clock"
)

// defaultUserAgent names this client in Salesforce's API usage logs.
const defaultUserAgent = "sfbridge-rest/1"

// Client calls the Salesforce REST API of the org behind an [auth.Source].
// It is safe for concurrent use.
type Client struct {
	src       auth.Source
	hc        *http.Client
	userAgent string
	callOpts  string
	batchSize int
	retry     RetryPolicy
	clk       clock.Clock
	log       *slog.Logger

	pinned  string
	verMu   sync.Mutex
	version string

	sent  atomic.Uint64               // numbers the requests in the order they are sent
	limit atomic.Pointer[latestLimit] // from the response to the latest-sent request

	common service

	// Query runs SOQL queries.
	Query *QueryService
	// SObjects reads and writes records and describes objects.
	SObjects *SObjectsService
	// Composite sends composite requests and sObject collections.
	Composite *CompositeService
	// Limits reads the org's limits.
	Limits *LimitsService
	// Identity reads the session user's identity.
	Identity *IdentityService
}

type service struct{ c *Client }

// Option configures a [Client].
type Option func(*Client) error

// WithTransport sends requests through rt (below the authenticating
// transport). The default is a clone of [http.DefaultTransport].
func WithTransport(rt http.RoundTripper) Option {
	return func(c *Client) error {
		if rt == nil {
			return errors.New("rest: WithTransport: nil RoundTripper")
		}
		c.hc.Transport.(*auth.Transport).Base = rt
		return nil
	}
}

// WithTimeout bounds each HTTP exchange, including reading the body. Zero
// (the default) leaves the bound to the caller's context; a query page of
// 2,000 wide records can take several seconds on a slow link.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) error {
		if d < 0 {
			return fmt.Errorf("rest: WithTimeout: negative duration %s", d)
		}
		c.hc.Timeout = d
		return nil
	}
}

// WithAPIVersion pins the API version ("66.0" or "v66.0") instead of using
// the highest one the instance offers.
func WithAPIVersion(v string) Option {
	return func(c *Client) error {
		n, err := normalizeVersion(v)
		if err != nil {
			return err
		}
		c.pinned = n
		return nil
	}
}

// WithUserAgent puts product (for example "sfbridge/1.2.0") in front of the
// client's User-Agent.
func WithUserAgent(product string) Option {
	return func(c *Client) error {
		if strings.ContainsAny(product, "\r\n") {
			return errors.New("rest: WithUserAgent: line break in user agent")
		}
		if product != "" {
			c.userAgent = product + " " + defaultUserAgent
		}
		return nil
	}
}

// WithCallOptionsClient sends "Sforce-Call-Options: client=name", which
// Salesforce records as the origin of changes (useful to recognise one's
// own writes when monitoring). The default name is "sfbridge"; "" sends
// no header.
func WithCallOptionsClient(name string) Option {
	return func(c *Client) error {
		if strings.ContainsAny(name, "\r\n,;=") {
			return fmt.Errorf("rest: WithCallOptionsClient: invalid name %q", name)
		}
		c.callOpts = name
		return nil
	}
}

// WithBatchSize asks for query pages of n records (200 to 2000) with the
// Sforce-Query-Options header. Salesforce treats it as advice.
func WithBatchSize(n int) Option {
	return func(c *Client) error {
		if n < 200 || n > 2000 {
			return fmt.Errorf("rest: WithBatchSize: %d is outside 200–2000", n)
		}
		c.batchSize = n
		return nil
	}
}

// WithRetry replaces the retry policy; zero fields keep their defaults.
func WithRetry(p RetryPolicy) Option {
	return func(c *Client) error {
		if p.MaxAttempts < 0 || p.BaseDelay < 0 || p.MaxDelay < 0 {
			return errors.New("rest: WithRetry: negative value")
		}
		c.retry = p.withDefaults()
		return nil
	}
}

// WithClock times the waits between retries and reads Retry-After dates
// on c instead of real time: the daemon passes its clock, tests a fake.
func WithClock(c clock.Clock) Option {
	return func(cl *Client) error {
		cl.clk = clock.Or(c)
		return nil
	}
}

// WithLogger logs retries and version negotiation at debug level. Nothing
// logged contains a token.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) error {
		if l != nil {
			c.log = l
		}
		return nil
	}
}

// New returns a client for the org whose session src provides. Each call
// takes the instance URL from the current session.
func New(src auth.Source, opts ...Option) (*Client, error) {
	if src == nil {
		return nil, errors.New("rest: New: nil auth.Source")
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConnsPerHost = 8
	// SOQL may run up to 120 s before the first byte; a silent server
	// beyond that is a broken connection, and GETs are then retried.
	base.ResponseHeaderTimeout = 150 * time.Second
	c := &Client{
		src:       src,
		hc:        &http.Client{Transport: &auth.Transport{Source: src, Base: base}},
		userAgent: defaultUserAgent,
		callOpts:  "sfbridge",
		retry:     RetryPolicy{}.withDefaults(),
		clk:       clock.Real(),
		log:       slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	c.common.c = c
	c.Query = (*QueryService)(&c.common)
	c.SObjects = (*SObjectsService)(&c.common)
	c.Composite = (*CompositeService)(&c.common)
	c.Limits = (*LimitsService)(&c.common)
	c.Identity = (*IdentityService)(&c.common)
	return c, nil
}

// APIUsage returns the most recent Sforce-Limit-Info seen by the client,
// and false before the first response that carried one. Most recent means
// from the response to the request sent last: with requests in flight
// together (a query reads its next page ahead), an answer that arrives late
// to an older request does not replace a newer count.
func (c *Client) APIUsage() (LimitInfo, bool) {
	if p := c.limit.Load(); p != nil {
		return p.info, true
	}
	return LimitInfo{}, false
}

// Resources returns the resource directory of the API version in use
// (GET /services/data/vNN.N/): each resource's name and path, such as
// "sobjects" → "/services/data/v66.0/sobjects". It is the smallest call that
// needs a valid session, so it also serves to check one: through
// [auth.Transport] an expired session is renewed on the way. Like every REST
// call it counts against the org's daily API requests.
func (c *Client) Resources(ctx context.Context) (map[string]string, error) {
	var m map[string]string
	if err := c.doJSON(ctx, &request{method: http.MethodGet, path: ""}, &m); err != nil {
		return nil, err
	}
	return m, nil
}

type latestLimit struct {
	seq  uint64
	info LimitInfo
}

// APIVersion returns the version calls use, like "66.0": the pinned one,
// or the highest listed at /services/data/ (asked once, then remembered).
func (c *Client) APIVersion(ctx context.Context) (string, error) {
	if c.pinned != "" {
		return c.pinned, nil
	}
	c.verMu.Lock()
	defer c.verMu.Unlock()
	if c.version != "" {
		return c.version, nil
	}
	var versions []struct {
		Version string `json:"version"`
	}
	if err := c.doJSON(ctx, &request{method: http.MethodGet, path: "/services/data/", unversioned: true}, &versions); err != nil {
		return "", fmt.Errorf("rest: negotiating the API version (pin one with WithAPIVersion to skip this): %w", err)
	}
	best, bestKey := "", [2]int{-1, -1}
	for _, v := range versions {
		n, err := normalizeVersion(v.Version)
		if err != nil {
			continue
		}
		if k := versionKey(n); k[0] > bestKey[0] || k[0] == bestKey[0] && k[1] > bestKey[1] {
			best, bestKey = n, k
		}
	}
	if best == "" {
		return "", errors.New("rest: /services/data/ listed no API versions")
	}
	c.log.DebugContext(ctx, "rest: negotiated API version", "version", best)
	c.version = best
	return best, nil
}

// ParseAPIVersion checks an API version such as "66.0", "v66.0" or "66"
// and returns it in the form calls use ("66.0").
func ParseAPIVersion(v string) (string, error) { return normalizeVersion(v) }

func normalizeVersion(v string) (string, error) {
	s := strings.TrimPrefix(strings.TrimSpace(v), "v")
	major, minor, ok := strings.Cut(s, ".")
	if !ok {
		minor = "0"
	}
	a, err1 := strconv.Atoi(major)
	b, err2 := strconv.Atoi(minor)
	if err1 != nil || err2 != nil || a <= 0 || b < 0 || a > 999 {
		return "", fmt.Errorf("rest: API version %q: want a form like 66.0", v)
	}
	return fmt.Sprintf("%d.%d", a, b), nil
}

func versionKey(n string) [2]int {
	a, b, _ := strings.Cut(n, ".")
	x, _ := strconv.Atoi(a)
	y, _ := strconv.Atoi(b)
	return [2]int{x, y}
}

// request is one logical API call; send may transmit it several times.
type request struct {
	method string
	// path is relative to /services/data/vNN.N/ ("query",
	// "sobjects/Case"), an absolute path ("/services/data/v66.0/query/01g…")
	// or a full URL (the identity URL).
	path        string
	query       url.Values
	body        []byte // JSON; nil for none
	header      http.Header
	unversioned bool // do not negotiate a version for this call
	// retrySafe marks a POST that changes nothing (a retrieve), so it is
	// retried like a GET.
	retrySafe bool
}

func (r *request) idempotent() bool { return r.retrySafe || idempotent(r.method) }

// url resolves r against the session's instance.
func (c *Client) url(ctx context.Context, r *request) (*url.URL, error) {
	if strings.HasPrefix(r.path, "https://") || strings.HasPrefix(r.path, "http://") {
		u, err := url.Parse(r.path)
		if err != nil {
			return nil, fmt.Errorf("rest: bad URL: %w", err)
		}
		if r.query != nil {
			u.RawQuery = r.query.Encode()
		}
		return u, nil
	}
	tok, err := c.src.Token(ctx)
	if err != nil {
		return nil, err
	}
	if tok.InstanceURL == "" {
		return nil, errors.New("rest: the session has no instance URL; the token response must carry instance_url")
	}
	base, err := url.Parse(strings.TrimRight(tok.InstanceURL, "/"))
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("rest: the session's instance URL %q is not an absolute URL", tok.InstanceURL)
	}
	p := r.path
	if !strings.HasPrefix(p, "/") {
		v, err := c.APIVersion(ctx)
		if err != nil {
			return nil, err
		}
		p = "/services/data/v" + v + "/" + p
	}
	rel, err := url.Parse(p)
	if err != nil {
		return nil, fmt.Errorf("rest: bad path %q: %w", p, err)
	}
	u := &url.URL{Scheme: base.Scheme, Host: base.Host, Path: strings.TrimRight(base.Path, "/") + rel.Path, RawQuery: rel.RawQuery}
	if rel.RawPath != "" {
		u.RawPath = strings.TrimRight(base.EscapedPath(), "/") + rel.RawPath
	}
	if r.query != nil {
		u.RawQuery = r.query.Encode()
	}
	return u, nil
}

// newHTTPRequest builds one attempt of r.
func (c *Client) newHTTPRequest(ctx context.Context, r *request, u *url.URL) (*http.Request, error) {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("rest: %s %s: %w", r.method, redactURL(u), err)
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("User-Agent", c.userAgent)
	if c.callOpts != "" {
		req.Header.Set("Sforce-Call-Options", "client="+c.callOpts)
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// send performs r with the retry policy and returns a response with a
// success status (2xx or 304) whose body is decompressed. Any other status
// becomes an [*APIError].
func (c *Client) send(ctx context.Context, r *request) (*http.Response, error) {
	u, err := c.url(ctx, r)
	if err != nil {
		return nil, err
	}
	mayHaveActed := false // an earlier attempt may have taken effect
	b := c.retry.backoff().Start(c.clk)
	for {
		var wrote atomic.Bool
		req, err := c.newHTTPRequest(withWriteTrace(ctx, &wrote), r, u)
		if err != nil {
			return nil, err
		}
		seq := c.sent.Add(1)
		resp, err := c.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			cause := unwrapURLError(err)
			// The token source failed (renewing the session): it has
			// retried what was worth retrying, and its error says what
			// happened at the login host. Another round here would
			// multiply the token requests, and calling it a REST
			// transport error would blame the instance.
			if fromSession(cause) {
				return nil, fmt.Errorf("rest: %s %s: obtaining a session: %w", r.method, redactURL(u), cause)
			}
			again, perr := c.pause(ctx, b, classifyTransportError(r.idempotent(), err, wrote.Load()), r, u, cause)
			if perr != nil {
				return nil, perr
			}
			if again {
				mayHaveActed = mayHaveActed || wrote.Load()
				continue
			}
			return nil, &TransportError{Method: r.method, URL: redactURL(u), SentRequest: wrote.Load(), Err: cause}
		}
		limit := c.noteLimit(resp, seq)
		if resp.StatusCode/100 == 2 || resp.StatusCode == http.StatusNotModified {
			decompress(resp)
			return resp, nil
		}
		decompress(resp)
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		apiErr := newAPIError(r.method, u, resp.StatusCode, body, limit)
		apiErr.Repeated = mayHaveActed
		apiErr.SessionRenewed = resp.StatusCode == http.StatusUnauthorized && resp.Header.Get(auth.RenewedHeader) != ""
		again, perr := c.pause(ctx, b, classifyStatus(r.idempotent(), apiErr, resp.Header, c.clk.Now()), r, u, apiErr)
		if perr != nil {
			return nil, perr
		}
		if !again {
			return nil, apiErr
		}
		mayHaveActed = mayHaveActed || resp.StatusCode >= 500
	}
}

// pause decides, after a failed attempt of r judged v, whether another
// attempt follows, and waits for it. It returns an error only when ctx
// ended the wait.
func (c *Client) pause(ctx context.Context, b *backoff.Backoff, v backoff.Verdict, r *request, u *url.URL, cause error) (bool, error) {
	d, ok := b.Next(v)
	if !ok {
		return false, nil
	}
	c.log.DebugContext(ctx, "rest: retrying", "method", r.method, "url", redactURL(u), "attempt", b.Attempt()-1, "reason", v.Reason, "delay", d, "cause", cause.Error())
	var err error
	if c.retry.Sleep != nil {
		err = c.retry.Sleep(ctx, d)
	} else {
		err = b.Wait(ctx, d)
	}
	if err != nil {
		return false, fmt.Errorf("rest: %s %s: gave up waiting to retry after %w: %w", r.method, redactURL(u), cause, err)
	}
	return true, nil
}

// noteLimit parses Sforce-Limit-Info and keeps it unless the client holds
// one from a request sent after this one (seq).
func (c *Client) noteLimit(resp *http.Response, seq uint64) *LimitInfo {
	h := resp.Header.Get("Sforce-Limit-Info")
	if h == "" {
		return nil
	}
	li, err := ParseLimitInfo(h)
	if err != nil {
		return nil
	}
	next := &latestLimit{seq: seq, info: li}
	for {
		cur := c.limit.Load()
		if cur != nil && cur.seq > seq {
			break
		}
		if c.limit.CompareAndSwap(cur, next) {
			break
		}
	}
	return &li
}

// doJSON sends r and decodes a JSON success body into out (when non-nil).
func (c *Client) doJSON(ctx context.Context, r *request, out any) error {
	resp, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		return nil
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("rest: %s %s: decoding the response: %w", r.method, r.path, err)
	}
	return nil
}

// jsonBody marshals v for a request body.
func jsonBody(v any) ([]byte, error) {
	if v == nil {
		return []byte("{}"), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("rest: encoding the request body: %w", err)
	}
	return b, nil
}

// fromSession reports whether err came from the token source rather than
// from the call itself.
func fromSession(err error) bool {
	var ae *auth.Error
	var ne *auth.NetworkError
	return errors.As(err, &ae) || errors.As(err, &ne)
}

// TransportError is a call that got no HTTP response: DNS, TCP, TLS, a
// reset connection or a timeout.
type TransportError struct {
	Method, URL string
	// SentRequest reports whether the request was fully written before the
	// failure; when false, Salesforce did not act on it.
	SentRequest bool
	Err         error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("rest: %s %s: %v (Salesforce could not be reached or the connection broke; check the network, proxy and instance URL)", e.Method, e.URL, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// unwrapURLError drops *url.Error's wrapping, whose message repeats the
// full URL (which may carry the SOQL and, for some URLs, secrets).
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
