package auth

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/sfbridge/sfbridge/internal/backoff"
)

// TokenSource obtains Salesforce sessions with the JWT bearer flow and
// caches them. It is a [Source]; it is safe for concurrent use.
//
// With no explicit Config.Audience, the first login discovers a working
// login URL/audience pair (see [Config]'s candidates order, also described
// at [TokenSource.Login]) and later logins reuse it.
type TokenSource struct {
	cfg   Config
	retry backoff.Policy
	cache *CachedSource

	endpoint  atomic.Pointer[Endpoint]
	skew      atomic.Int64
	skewKnown atomic.Bool
}

// NewTokenSource validates cfg and returns a TokenSource. It does no I/O.
func NewTokenSource(cfg Config) (*TokenSource, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &TokenSource{cfg: c, retry: retryPolicy(c)}
	s.cache = NewCachedSource(s.mint)
	return s, nil
}

// Token returns the cached session or logs in. A warm call does not
// allocate.
func (s *TokenSource) Token(ctx context.Context) (*Token, error) {
	return s.cache.Token(ctx)
}

// Invalidate drops stale if it is still the current session.
func (s *TokenSource) Invalidate(stale *Token) { s.cache.Invalidate(stale) }

// SetToken makes tok the current session, for example one kept in a cache
// on disk; it will be used until Salesforce refuses it.
func (s *TokenSource) SetToken(tok *Token) { s.cache.Set(tok) }

// Cached returns the current session without logging in, or nil.
func (s *TokenSource) Cached() *Token { return s.cache.Cached() }

// Login logs in now, even when a session is cached, and makes the new
// session current.
//
// Without an explicit audience it tries, in order: the login URL as its own
// audience; the login URL with the standard audience its host suggests
// (https://test.salesforce.com for *.sandbox.my.salesforce.com and
// test.salesforce.com, else https://login.salesforce.com) and then the
// other. Every assertion goes to the login URL: discovery changes the
// audience, never the host. When a later pair gets no answer at all, the
// error is the refusal before it, which says more. It moves on only
// when Salesforce's refusal is about the audience or the app lookup
// ([Error.AudienceRelated]); any other failure ends the discovery at once,
// so no logins are wasted. The pair that worked is reported by
// [TokenSource.Endpoint].
func (s *TokenSource) Login(ctx context.Context) (*Token, error) {
	tok, err := s.mint(ctx)
	if err != nil {
		return nil, err
	}
	s.cache.Set(tok)
	return tok, nil
}

// Endpoint returns the login URL/audience pair of the last successful
// login; ok is false before one.
func (s *TokenSource) Endpoint() (ep Endpoint, ok bool) {
	if p := s.endpoint.Load(); p != nil {
		return *p, true
	}
	return Endpoint{}, false
}

// ClockSkew returns Salesforce's clock minus ours, measured from the Date
// header of the last token response; ok is false before one.
func (s *TokenSource) ClockSkew() (skew time.Duration, ok bool) {
	return time.Duration(s.skew.Load()), s.skewKnown.Load()
}

// Client returns an HTTP client whose requests carry this source's session
// through a [Transport], over base's transport (nil base: the default).
func (s *TokenSource) Client(base *http.Client) *http.Client {
	c := &http.Client{}
	if base != nil {
		*c = *base
	}
	c.Transport = &Transport{Source: s, Base: c.Transport}
	return c
}

func (s *TokenSource) mint(ctx context.Context) (*Token, error) {
	tok, err := s.discover(ctx)
	if s.cfg.OnLogin != nil {
		s.cfg.OnLogin(err)
	}
	return tok, err
}

// discover logs in at the remembered endpoint, or tries the candidates.
func (s *TokenSource) discover(ctx context.Context) (*Token, error) {
	cands := s.cfg.candidates()
	if p := s.endpoint.Load(); p != nil {
		cands = []Endpoint{*p}
	}
	var tried []Endpoint
	var refusal *Error // the last refusal about the audience
	for i, ep := range cands {
		tok, err := s.exchange(ctx, ep)
		if err == nil {
			s.endpoint.Store(&ep)
			s.cfg.Logger.DebugContext(ctx, "auth: logged in", "endpoint", ep.String(), "token", tok)
			return tok, nil
		}
		tried = append(tried, ep)
		var ae *Error
		if !errors.As(err, &ae) {
			// A later pair failing to get any answer says less than the
			// refusal before it: report the refusal.
			if refusal != nil && ctx.Err() == nil {
				s.cfg.Logger.DebugContext(ctx, "auth: the next audience got no answer; reporting the refusal before it", "endpoint", ep.String(), "err", err)
				return nil, refusal
			}
			return nil, err
		}
		ae.Tried = tried
		if !ae.AudienceRelated() || i == len(cands)-1 {
			return nil, ae
		}
		refusal = ae
		s.cfg.Logger.DebugContext(ctx, "auth: audience refused, trying the next pair", "endpoint", ep.String(), "error", ae.Description)
	}
	return nil, errors.New("auth: no login URL to try")
}
