package auth

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

const expiredBody = `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`

// sessionServer accepts only the bearer token in valid and echoes the body.
type sessionServer struct {
	valid atomic.Pointer[string]
	calls atomic.Int64
}

func (s *sessionServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.calls.Add(1)
	if r.Header.Get("Authorization") != "Bearer "+*s.valid.Load() {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, expiredBody)
		return
	}
	b, _ := io.ReadAll(r.Body)
	w.Write(append([]byte("ok:"), b...))
}

func newSessionServer(t *testing.T, valid string) (*sessionServer, *httptest.Server) {
	t.Helper()
	s := &sessionServer{}
	s.valid.Store(&valid)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func TestTransportAddsBearer(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("Authorization")
	}))
	defer srv.Close()
	src := NewCachedSource(func(context.Context) (*Token, error) { return &Token{AccessToken: "abc"}, nil })
	c := &http.Client{Transport: &Transport{Source: src}}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got != "Bearer abc" {
		t.Fatalf("Authorization = %q", got)
	}
	if req.Header.Get("Authorization") != "" {
		t.Fatal("Transport modified the caller's request")
	}
}

func TestTransportReplaysOnceWithBody(t *testing.T) {
	ss, srv := newSessionServer(t, "tok-2")
	var mints atomic.Int64
	src := NewCachedSource(counterMint(&mints, 0))
	c := &http.Client{Transport: &Transport{Source: src}}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, strings.NewReader("payload"))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != "ok:payload" {
		t.Fatalf("got %d %q", resp.StatusCode, b)
	}
	if mints.Load() != 2 || ss.calls.Load() != 2 {
		t.Fatalf("mints = %d, calls = %d; want 2, 2", mints.Load(), ss.calls.Load())
	}
}

func TestTransportReplaysOnlyOnce(t *testing.T) {
	ss, srv := newSessionServer(t, "never")
	var mints atomic.Int64
	c := &http.Client{Transport: &Transport{Source: NewCachedSource(counterMint(&mints, 0))}}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || string(b) != expiredBody {
		t.Fatalf("got %d %q", resp.StatusCode, b)
	}
	if ss.calls.Load() != 2 || mints.Load() != 2 {
		t.Fatalf("calls = %d, mints = %d; want 2, 2", ss.calls.Load(), mints.Load())
	}
}

func TestTransportNonReplayableBodyReturns401(t *testing.T) {
	ss, srv := newSessionServer(t, "tok-2")
	var mints atomic.Int64
	src := NewCachedSource(counterMint(&mints, 0))
	c := &http.Client{Transport: &Transport{Source: src}}
	body := io.NopCloser(io.MultiReader(strings.NewReader("stream"))) // no GetBody
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, body)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || string(b) != expiredBody {
		t.Fatalf("got %d %q, want the 401 with its body", resp.StatusCode, b)
	}
	if ss.calls.Load() != 1 {
		t.Fatalf("calls = %d, want 1", ss.calls.Load())
	}
	// The session was still invalidated: the next call mints tok-2 and works.
	req2, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
	resp2, err := c.Do(req2)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusOK || mints.Load() != 2 {
		t.Fatalf("next call: %d, mints %d", resp2.StatusCode, mints.Load())
	}
}

func TestTransportOther401NotReplayed(t *testing.T) {
	for _, body := range []string{
		`[{"message":"This session is not valid for use with the REST API","errorCode":"INVALID_SESSION_ID"}]`,
		`[{"message":"nope","errorCode":"INSUFFICIENT_ACCESS"}]`,
		`<html>proxy says no</html>`,
		``,
	} {
		var calls atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, body)
		}))
		var mints atomic.Int64
		c := &http.Client{Transport: &Transport{Source: NewCachedSource(counterMint(&mints, 0))}}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		srv.Close()
		if string(b) != body || calls.Load() != 1 || mints.Load() != 1 {
			t.Errorf("body %q: got %q, calls %d, mints %d", body, b, calls.Load(), mints.Load())
		}
	}
}

func TestTransportLargeBodyIntact(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 3*maxSessionErrorBody)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		w.Write(big)
	}))
	defer srv.Close()
	c := &http.Client{Transport: &Transport{Source: NewCachedSource(func(context.Context) (*Token, error) { return &Token{AccessToken: "a"}, nil })}}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(b, big) {
		t.Fatalf("body length %d, want %d", len(b), len(big))
	}
}

func TestTransportSourceError(t *testing.T) {
	boom := errors.New("refused")
	c := &http.Client{Transport: &Transport{Source: NewCachedSource(func(context.Context) (*Token, error) { return nil, boom })}}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://127.0.0.1:1", nil)
	_, err := c.Do(req)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap the source's error", err)
	}
	if _, err := (&Transport{}).RoundTrip(req); !errors.Is(err, errNoSource) {
		t.Fatalf("nil Source: err = %v", err)
	}
}

// TestTransportConcurrentExpiry: 1,000 concurrent calls while the session
// has expired cause exactly one token request and no failed call.
func TestTransportConcurrentExpiry(t *testing.T) {
	runConcurrentExpiry(t, 1000)
}

func runConcurrentExpiry(tb testing.TB, n int) {
	tb.Helper()
	ss := &sessionServer{}
	fresh := "tok-2"
	ss.valid.Store(&fresh)
	srv := httptest.NewServer(ss)
	defer srv.Close()
	var mints atomic.Int64
	src := NewCachedSource(counterMint(&mints, 0))
	src.Set(&Token{AccessToken: "tok-1"}) // the expired session
	mints.Store(1)
	base := srv.Client().Transport.(*http.Transport).Clone()
	base.MaxIdleConnsPerHost = 64
	defer base.CloseIdleConnections()
	c := &http.Client{Transport: &Transport{Source: src, Base: base}}
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range n {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL, strings.NewReader("p"))
			resp, err := c.Do(req)
			if err != nil {
				failed.Add(1)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if got := mints.Load() - 1; got != 1 || failed.Load() != 0 {
		tb.Fatalf("token requests = %d, failed calls = %d; want 1, 0", got, failed.Load())
	}
}

// TestTransportReauthRefused: when the re-authentication after
// INVALID_SESSION_ID is refused, the caller gets the refusal, not the 401.
func TestTransportReauthRefused(t *testing.T) {
	_, srv := newSessionServer(t, "never")
	refused := &Error{StatusCode: http.StatusBadRequest, Code: "inactive_user"}
	var mints atomic.Int64
	src := NewCachedSource(func(context.Context) (*Token, error) {
		if mints.Add(1) == 1 {
			return &Token{AccessToken: "old"}, nil
		}
		return nil, refused
	})
	c := &http.Client{Transport: &Transport{Source: src}}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, strings.NewReader("x"))
	_, err := c.Do(req)
	var ae *Error
	if !errors.As(err, &ae) || ae != refused || !ae.Refused() {
		t.Fatalf("err = %v, want the refusal", err)
	}
}

// TestTransportReplaysOnGzippedExpiry: a client that sends
// Accept-Encoding: gzip itself (the rest package does) receives even a 401
// compressed, and must still recognise INVALID_SESSION_ID; a compressed
// 401 that is not expiry reaches the caller byte for byte.
func TestTransportReplaysOnGzippedExpiry(t *testing.T) {
	gz := func(s string) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		io.WriteString(zw, s)
		zw.Close()
		return b.Bytes()
	}
	other := gz(`[{"message":"This session is not valid for use with the REST API","errorCode":"INVALID_SESSION_ID"}]`)
	var calls atomic.Int64
	var valid atomic.Pointer[string]
	v := "old"
	valid.Store(&v)
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer "+*valid.Load() {
			w.Header().Set("Content-Encoding", "gzip")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write(body)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	var mints atomic.Int64
	src := NewCachedSource(func(context.Context) (*Token, error) {
		if mints.Add(1) == 1 {
			return &Token{AccessToken: "stale"}, nil
		}
		return &Token{AccessToken: "old"}, nil
	})
	c := &http.Client{Transport: &Transport{Source: src}}
	get := func() *http.Response {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	body = gz(expiredBody)
	resp := get()
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(got) != "ok" || mints.Load() != 2 || calls.Load() != 2 {
		t.Fatalf("status %d body %q after %d mints, %d calls; want a replay with a new session", resp.StatusCode, got, mints.Load(), calls.Load())
	}

	v2 := "never"
	valid.Store(&v2)
	body = other
	resp = get()
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !bytes.Equal(got, other) || mints.Load() != 2 {
		t.Fatalf("status %d, body intact %t, %d mints; want the compressed 401 untouched and no new session", resp.StatusCode, bytes.Equal(got, other), mints.Load())
	}
}

// scriptSource hands out queued tokens first, then its current one; an
// Invalidate of the current token mints the next ("tok-3", "tok-4", …).
type scriptSource struct {
	mu    sync.Mutex
	queue []string
	cur   string
	mints int
}

func (s *scriptSource) Token(context.Context) (*Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) > 0 {
		tok := s.queue[0]
		s.queue = s.queue[1:]
		return &Token{AccessToken: tok}, nil
	}
	return &Token{AccessToken: s.cur}, nil
}

func (s *scriptSource) Invalidate(tok *Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok.AccessToken == s.cur {
		s.mints++
		s.cur = "tok-" + string(rune('2'+s.mints))
	}
}

// A request whose session expired is handed the session another request
// renewed a moment before; when that one has expired too (Salesforce had
// accepted it), Transport renews once more instead of reporting a policy.
// A renewed session refused without ever being accepted is reported.
func TestTransportRenewsAgainWhenTheSharedRenewalExpired(t *testing.T) {
	for _, tc := range []struct {
		name          string
		acceptedFirst bool
		status, calls int
		mints         int
	}{
		{"the renewal was accepted, then expired", true, http.StatusOK, 1 + 3, 1},
		{"the renewal was never accepted: a policy", false, http.StatusUnauthorized, 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ss, srv := newSessionServer(t, "tok-2")
			src := &scriptSource{cur: "tok-2"}
			c := &http.Client{Transport: &Transport{Source: src}}
			get := func() *http.Response {
				t.Helper()
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp
			}
			if tc.acceptedFirst {
				if resp := get(); resp.StatusCode != http.StatusOK {
					t.Fatalf("with tok-2: %d", resp.StatusCode)
				}
			}
			// This request took tok-1 before tok-2 replaced it; tok-2 has
			// expired since, and only a new login (tok-3) is valid.
			src.queue = []string{"tok-1"}
			tok3 := "tok-3"
			ss.valid.Store(&tok3)
			resp := get()
			if resp.StatusCode != tc.status || resp.Header.Get(RenewedHeader) == "" || ss.calls.Load() != int64(tc.calls) || src.mints != tc.mints {
				t.Fatalf("got %d (renewed %q) after %d calls and %d new sessions; want %d after %d calls and %d",
					resp.StatusCode, resp.Header.Get(RenewedHeader), ss.calls.Load(), src.mints, tc.status, tc.calls, tc.mints)
			}
		})
	}
}
