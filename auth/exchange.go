package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sfbridge/sfbridge/internal/backoff"
)

// maxTokenBody caps how much of a token response is read.
const maxTokenBody = 1 << 20

const grantType = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// exchange signs an assertion for ep and trades it for a session, retrying
// network errors and 5xx answers with the jittered, capped backoff of
// [Config.RetryDelay] and [Config.MaxAttempts].
func (s *TokenSource) exchange(ctx context.Context, ep Endpoint) (*Token, error) {
	b := s.retry.Start(s.cfg.Clock)
	for {
		tok, v, err := s.exchangeOnce(ctx, ep)
		if err == nil {
			return tok, nil
		}
		d, ok := b.Next(v)
		if !ok {
			return nil, err
		}
		s.cfg.Logger.DebugContext(ctx, "auth: token request failed, retrying", "endpoint", ep.String(), "attempt", b.Attempt()-1, "reason", v.Reason, "delay", d, "err", err)
		if werr := b.Wait(ctx, d); werr != nil {
			return nil, errors.Join(werr, err)
		}
	}
}

// maxRetryDelay caps the backoff between token requests.
const maxRetryDelay = 10 * time.Second

// retryPolicy is the backoff of token requests: RetryDelay·2^(n−1), drawn
// from the upper half of that (full jitter over it), capped at 10 s.
func retryPolicy(c Config) backoff.Policy {
	return backoff.Policy{Initial: c.RetryDelay, Max: max(c.RetryDelay, maxRetryDelay), Jitter: 0.5, MaxAttempts: c.MaxAttempts}
}

// exchangeOnce makes one token request. The verdict says whether a failure
// is transient (network error or 5xx) and so worth another try.
func (s *TokenSource) exchangeOnce(ctx context.Context, ep Endpoint) (tok *Token, v backoff.Verdict, err error) {
	assertion, err := SignAssertion(s.cfg.PrivateKey, s.cfg.ConsumerKey, s.cfg.Username, ep.Audience, s.cfg.Now())
	if err != nil {
		return nil, backoff.Verdict{}, fmt.Errorf("auth: signing the assertion: %w", err)
	}
	form := url.Values{"grant_type": {grantType}, "assertion": {assertion}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.TokenURL(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, backoff.Verdict{}, fmt.Errorf("auth: token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	sent := s.cfg.Now()
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, backoff.Verdict{}, ctx.Err()
		}
		return nil, backoff.Verdict{Retry: true, Reason: "network error"}, &NetworkError{URL: ep.TokenURL(), Err: unwrapURLError(err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody))
	if err != nil {
		return nil, backoff.Verdict{Retry: true, Reason: "the response broke off"}, &NetworkError{URL: ep.TokenURL(), Err: err}
	}
	skew, skewKnown := measureSkew(resp.Header.Get("Date"), sent, s.cfg.Now())
	if skewKnown {
		s.skew.Store(int64(skew))
		s.skewKnown.Store(true)
	}
	s.cfg.Logger.DebugContext(ctx, "auth: token response", "endpoint", ep.String(), "status", resp.StatusCode)
	if resp.StatusCode == http.StatusOK {
		tok, err := ParseTokenResponse(body)
		if err == nil {
			return tok, backoff.Verdict{}, nil
		}
		e := s.newError(resp.StatusCode, redactAccessToken(body), ep, skew, skewKnown)
		e.Diagnosis = Diagnosis{ProblemUnexpected,
			"the token response could not be read (" + err.Error() + "): a proxy, captive portal or a wrong login URL answered",
			"check the login URL and HTTPS_PROXY/NO_PROXY; the raw body is kept in the error"}
		return nil, backoff.Verdict{}, e
	}
	e := s.newError(resp.StatusCode, body, ep, skew, skewKnown)
	if resp.StatusCode >= 500 {
		return nil, backoff.Verdict{Retry: true, Reason: "Salesforce answered " + strconv.Itoa(resp.StatusCode)}, e
	}
	return nil, backoff.Verdict{}, e
}

func (s *TokenSource) newError(status int, body []byte, ep Endpoint, skew time.Duration, skewKnown bool) *Error {
	var r struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(body, &r) // a non-JSON body leaves Code empty
	kept := body
	if len(kept) > maxErrorBody {
		kept = kept[:maxErrorBody]
	}
	return &Error{
		StatusCode:     status,
		Code:           r.Error,
		Description:    r.Description,
		Body:           append([]byte(nil), kept...),
		Username:       s.cfg.Username,
		Endpoint:       ep,
		ClockSkew:      skew,
		ClockSkewKnown: skewKnown,
		Diagnosis:      diagnose(status, r.Error, r.Description, skew, skewKnown),
	}
}

// redactAccessToken returns a 200 answer that could not be read without
// the session it may still carry, so that the body an [Error] keeps (and a
// caller may log) holds no live access token. A JSON object keeps its other
// fields; anything else that mentions access_token is dropped.
func redactAccessToken(body []byte) []byte {
	if !bytes.Contains(body, []byte("access_token")) {
		return body
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil
	}
	if _, ok := m["access_token"]; ok {
		m["access_token"] = json.RawMessage(`"REDACTED"`)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	return b
}

// unwrapURLError drops the *url.Error layer, whose message repeats the URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// measureSkew returns Salesforce's clock minus ours from a Date header,
// taking our time as the midpoint of the request.
func measureSkew(date string, sent, received time.Time) (time.Duration, bool) {
	if date == "" {
		return 0, false
	}
	t, err := http.ParseTime(date)
	if err != nil {
		return 0, false
	}
	mid := sent.Add(received.Sub(sent) / 2)
	// Date has whole seconds: Salesforce's time lies in [t, t+1s).
	return t.Add(time.Second / 2).Sub(mid), true
}

// ParseTokenResponse reads a successful token response. Unknown fields are
// ignored; access_token, instance_url and id are required, and the org and
// user ids are parsed from id.
func ParseTokenResponse(body []byte) (*Token, error) {
	var r struct {
		AccessToken string          `json:"access_token"`
		InstanceURL string          `json:"instance_url"`
		ID          string          `json:"id"`
		Scope       string          `json:"scope"`
		TokenType   string          `json:"token_type"`
		Signature   string          `json:"signature"`
		IssuedAt    json.RawMessage `json:"issued_at"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("not a JSON token response: %w", err)
	}
	if r.AccessToken == "" {
		return nil, errors.New("token response has no access_token")
	}
	u, err := url.Parse(r.InstanceURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("token response has no usable instance_url (%q)", r.InstanceURL)
	}
	org, user, err := ParseIdentityURL(r.ID)
	if err != nil {
		return nil, err
	}
	issued, err := parseIssuedAt(r.IssuedAt)
	if err != nil {
		return nil, err
	}
	return &Token{
		AccessToken: r.AccessToken,
		InstanceURL: strings.TrimRight(r.InstanceURL, "/"),
		IdentityURL: r.ID,
		OrgID:       org,
		UserID:      user,
		Scope:       r.Scope,
		TokenType:   r.TokenType,
		Signature:   r.Signature,
		IssuedAt:    issued,
	}, nil
}

// parseIssuedAt accepts issued_at as milliseconds since the epoch, in a
// string (the classic form) or a number (JWT-format tokens).
func parseIssuedAt(raw json.RawMessage) (time.Time, error) {
	s := strings.Trim(string(raw), `"`)
	if s == "" || s == "null" {
		return time.Time{}, nil
	}
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ms < 0 {
		return time.Time{}, fmt.Errorf("token response has an unreadable issued_at %s", raw)
	}
	return time.UnixMilli(ms).UTC(), nil
}
