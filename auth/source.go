package auth

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// Source yields the current Salesforce session.
//
// Token returns the cached session or obtains a new one. Invalidate drops
// stale if it is still the current session, so that the next Token call
// re-authenticates; a session that has already been replaced is left alone.
// Implementations must be safe for concurrent use.
type Source interface {
	Token(ctx context.Context) (*Token, error)
	Invalidate(stale *Token)
}

// MintFunc obtains a new session, for example by a JWT bearer exchange.
type MintFunc func(ctx context.Context) (*Token, error)

// CachedSource is a [Source] that caches the session returned by a
// [MintFunc]. A warm Token call is one atomic load. When there is no session,
// concurrent callers share a single mint: one exchange, one login.
//
// The mint runs detached from the cancellation of the caller that started it
// (it keeps the context's values), so one caller giving up does not fail the
// others; each caller still stops waiting when its own ctx is done. Bound the
// mint's duration with the HTTP client's timeout.
type CachedSource struct {
	mint MintFunc
	cur  atomic.Pointer[Token]

	mu     sync.Mutex
	flight *flight
}

type flight struct {
	done chan struct{}
	tok  *Token
	err  error
}

// NewCachedSource returns a CachedSource that calls mint when it has no session.
func NewCachedSource(mint MintFunc) *CachedSource {
	return &CachedSource{mint: mint}
}

// Token returns the cached session, minting one if there is none.
func (s *CachedSource) Token(ctx context.Context) (*Token, error) {
	if t := s.cur.Load(); t != nil {
		return t, nil
	}
	return s.refresh(ctx)
}

func (s *CachedSource) refresh(ctx context.Context) (*Token, error) {
	s.mu.Lock()
	if t := s.cur.Load(); t != nil {
		s.mu.Unlock()
		return t, nil
	}
	f := s.flight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		s.flight = f
		go s.run(context.WithoutCancel(ctx), f)
	}
	s.mu.Unlock()
	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *CachedSource) run(ctx context.Context, f *flight) {
	tok, err := s.mint(ctx)
	if err == nil && tok == nil {
		err = errors.New("auth: mint returned no token and no error")
	}
	s.mu.Lock()
	if err == nil {
		s.cur.Store(tok)
	}
	f.tok, f.err = tok, err
	s.flight = nil
	s.mu.Unlock()
	close(f.done)
}

// Invalidate drops stale if it is still the cached session (the same
// pointer or the same access token).
func (s *CachedSource) Invalidate(stale *Token) {
	if stale == nil {
		return
	}
	if cur := s.cur.Load(); cur != nil && (cur == stale || cur.AccessToken == stale.AccessToken) {
		s.cur.CompareAndSwap(cur, nil)
	}
}

// Set makes tok the cached session, for example one read from a cache on
// disk. A nil tok clears the cache.
func (s *CachedSource) Set(tok *Token) { s.cur.Store(tok) }

// Cached returns the cached session without minting; nil when there is none.
func (s *CachedSource) Cached() *Token { return s.cur.Load() }
