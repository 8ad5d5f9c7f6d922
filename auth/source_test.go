package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// counterMint returns a MintFunc whose tokens are numbered tok-1, tok-2, …
func counterMint(n *atomic.Int64, delay time.Duration) MintFunc {
	return func(ctx context.Context) (*Token, error) {
		i := n.Add(1)
		if delay > 0 {
			time.Sleep(delay)
		}
		return &Token{AccessToken: fmt.Sprintf("tok-%d", i), InstanceURL: "https://x"}, nil
	}
}

// The mint takes 20 ms of synctest's fake time, during which 200 callers
// arrive; they share the one mint.
func TestCachedSourceSingleFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int64
		s := NewCachedSource(counterMint(&n, 20*time.Millisecond))
		var wg sync.WaitGroup
		got := make([]string, 200)
		for i := range got {
			wg.Go(func() {
				tok, err := s.Token(t.Context())
				if err != nil {
					t.Error(err)
					return
				}
				got[i] = tok.AccessToken
			})
		}
		wg.Wait()
		if n.Load() != 1 {
			t.Fatalf("mints = %d, want 1", n.Load())
		}
		for i, g := range got {
			if g != "tok-1" {
				t.Fatalf("caller %d got %q", i, g)
			}
		}
	})
}

func TestCachedSourceInvalidate(t *testing.T) {
	var n atomic.Int64
	s := NewCachedSource(counterMint(&n, 0))
	ctx := t.Context()
	t1, _ := s.Token(ctx)
	s.Invalidate(t1)
	t2, _ := s.Token(ctx)
	if t2.AccessToken != "tok-2" {
		t.Fatalf("after Invalidate got %q, want tok-2", t2.AccessToken)
	}
	// A stale token that has already been replaced must not drop the new one.
	s.Invalidate(t1)
	if t3, _ := s.Token(ctx); t3 != t2 {
		t.Fatalf("Invalidate(stale) dropped the current token: got %q", t3.AccessToken)
	}
	// A copy with the same access token counts as current.
	cp := *t2
	s.Invalidate(&cp)
	if t4, _ := s.Token(ctx); t4.AccessToken != "tok-3" {
		t.Fatalf("Invalidate(copy) got %q, want tok-3", t4.AccessToken)
	}
	s.Invalidate(nil)
	if s.Cached() == nil {
		t.Fatal("Invalidate(nil) cleared the cache")
	}
}

func TestCachedSourceErrorIsNotCached(t *testing.T) {
	var calls atomic.Int64
	boom := errors.New("boom")
	s := NewCachedSource(func(context.Context) (*Token, error) {
		if calls.Add(1) == 1 {
			return nil, boom
		}
		return &Token{AccessToken: "ok"}, nil
	})
	if _, err := s.Token(t.Context()); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	tok, err := s.Token(t.Context())
	if err != nil || tok.AccessToken != "ok" {
		t.Fatalf("second Token = %v, %v", tok, err)
	}
}

func TestCachedSourceCallerCancelDoesNotFailOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		s := NewCachedSource(func(ctx context.Context) (*Token, error) {
			<-release
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			return &Token{AccessToken: "ok"}, nil
		})
		ctx, cancel := context.WithCancel(t.Context())
		first := make(chan error, 1)
		go func() { _, err := s.Token(ctx); first <- err }()
		synctest.Wait() // the first caller has started the mint
		second := make(chan *Token, 1)
		go func() { tok, _ := s.Token(t.Context()); second <- tok }()
		cancel()
		if err := <-first; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled caller err = %v", err)
		}
		close(release)
		if tok := <-second; tok == nil || tok.AccessToken != "ok" {
			t.Fatalf("other caller got %v", tok)
		}
	})
}

func TestCachedSourceSet(t *testing.T) {
	s := NewCachedSource(func(context.Context) (*Token, error) { return nil, errors.New("must not mint") })
	s.Set(&Token{AccessToken: "disk"})
	tok, err := s.Token(t.Context())
	if err != nil || tok.AccessToken != "disk" {
		t.Fatalf("Token = %v, %v", tok, err)
	}
}

func TestCachedSourceNilTokenIsError(t *testing.T) {
	s := NewCachedSource(func(context.Context) (*Token, error) { return nil, nil })
	if _, err := s.Token(t.Context()); err == nil {
		t.Fatal("want error for a mint returning nil, nil")
	}
}
