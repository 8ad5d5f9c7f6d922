package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sfbridge/sfbridge/internal/backoff"
)

// session is one end user's access token and event stream, shared by the
// user's open conversations and ended when the last one ends.
type session struct {
	c    *Client
	user string

	mintMu sync.Mutex // one mint at a time

	mu          sync.Mutex
	tok         *mintedToken
	minted      time.Time
	refs        int
	convs       map[string]*Conversation
	lastEventID string
	started     bool
	up          chan struct{} // closed at the first connection (or failure)
	upErr       error
	failed      error
	cancel      context.CancelFunc
	done        chan struct{}
}

// acquire returns the user's session with one more reference.
func (c *Client) acquire(userID string) (*session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, &Error{Op: "open session", Problem: "the client is closed", Err: ErrClosed}
	}
	s := c.users[userID]
	if s == nil {
		s = &session{c: c, user: userID, convs: map[string]*Conversation{}, up: make(chan struct{}), done: make(chan struct{})}
		c.users[userID] = s
	}
	s.refs++
	return s, nil
}

// release drops a reference; the last one stops the stream and revokes the
// token.
func (s *session) release(ctx context.Context) {
	s.c.mu.Lock()
	s.refs--
	last := s.refs == 0
	if last && s.c.users[s.user] == s {
		delete(s.c.users, s.user)
	}
	s.c.mu.Unlock()
	if last {
		_ = s.shutdown(ctx)
	}
}

// shutdown stops the stream and revokes the access token.
func (s *session) shutdown(ctx context.Context) error {
	s.mu.Lock()
	cancel, started, tok := s.cancel, s.started, s.tok
	s.tok = nil
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if started {
		<-s.done
	}
	if tok == nil {
		return nil
	}
	// Revoke even when the caller's context has ended, bounded on the
	// client's clock.
	rctx, rcancel := context.WithCancel(context.WithoutCancel(ctx))
	t := s.c.clk.AfterFunc(10*time.Second, rcancel)
	defer func() { t.Stop(); rcancel() }()
	if err := s.c.do(rctx, http.MethodDelete, apiPrefix+"/authorization/authenticated/access-token", tok.access, nil, nil); err != nil {
		return &Error{Op: "revoke access token", Problem: "the token could not be revoked (it still expires on its own)", Err: err}
	}
	return nil
}

// token returns a valid access token, minting one when there is none or
// the current one is about to expire.
func (s *session) token(ctx context.Context) (*mintedToken, error) {
	if t := s.current(); t != nil {
		return t, nil
	}
	s.mintMu.Lock()
	defer s.mintMu.Unlock()
	if t := s.current(); t != nil {
		return t, nil
	}
	t, err := s.c.mint(ctx, s.user)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.tok, s.minted = t, s.c.clk.Now()
	if s.lastEventID == "" {
		s.lastEventID = t.LastEventID
	}
	s.mu.Unlock()
	return t, nil
}

func (s *session) current() *mintedToken {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tok
	if t == nil || t.Expires.IsZero() {
		return t
	}
	renew := min(s.c.cfg.RenewBefore, t.Expires.Sub(s.minted)/2)
	if !s.c.clk.Now().Before(t.Expires.Add(-renew)) {
		return nil
	}
	return t
}

// invalidate forgets t (after a 401) so the next call mints again.
func (s *session) invalidate(t *mintedToken) {
	s.mu.Lock()
	if s.tok == t {
		s.tok = nil
	}
	s.mu.Unlock()
}

// restPolicy retries transient failures of REST calls.
func restPolicy() backoff.Policy {
	return backoff.Policy{Initial: 250 * time.Millisecond, Max: 5 * time.Second, Multiplier: 2, Jitter: 0.2, MaxAttempts: 6}
}

func transient(err error) backoff.Verdict {
	var ae *APIError
	if errors.As(err, &ae) {
		switch {
		case ae.Status == http.StatusTooManyRequests || ae.Status >= 500:
			return backoff.Verdict{Retry: true, Reason: ae.Error()}
		}
		return backoff.Verdict{Reason: ae.Error()}
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return backoff.Verdict{Retry: true, Reason: err.Error()}
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return backoff.Verdict{Retry: true, Reason: err.Error()}
	}
	return backoff.Verdict{Reason: err.Error()}
}

// call makes an authenticated REST call: a 401 mints a new token and tries
// once more; network errors, 429 and 5xx are retried with backoff.
func (s *session) call(ctx context.Context, method, path string, in, out any) error {
	return restPolicy().Retry(ctx, s.c.clk, transient, func(ctx context.Context) error {
		return s.callOnce(ctx, method, path, in, out)
	})
}

// callOnce makes an authenticated REST call; a 401 mints a new token and
// tries once more.
func (s *session) callOnce(ctx context.Context, method, path string, in, out any) error {
	for attempt := 0; ; attempt++ {
		t, err := s.token(ctx)
		if err != nil {
			return err
		}
		err = s.c.do(ctx, method, path, t.access, in, out)
		var ae *APIError
		if attempt == 0 && errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
			s.invalidate(t)
			continue
		}
		return err
	}
}

// ensureStream starts the stream (once) and waits until it is connected,
// so that a conversation created afterwards misses nothing.
func (s *session) ensureStream(ctx context.Context) error {
	// Mint on the caller's goroutine: RSA signing and JSON grow a
	// goroutine's stack, and the stream's goroutine lives as long as the
	// session (its stack is per-end-user memory).
	// A setup problem fails at once; anything else is left to the stream's
	// own retries, as before.
	if _, err := s.token(ctx); err != nil && !streamVerdict(err).Retry {
		return err
	}
	s.mu.Lock()
	if !s.started {
		s.started = true
		sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		s.cancel = cancel
		go s.run(sctx)
	}
	up := s.up
	s.mu.Unlock()
	select {
	case <-up:
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.upErr != nil {
			return s.upErr
		}
		return s.failed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run keeps the stream connected until ctx ends or a failure cannot be
// retried.
func (s *session) run(ctx context.Context) {
	defer close(s.done)
	bo := s.c.cfg.reconnectPolicy().Start(s.c.clk)
	first := true
	for {
		healthy, err := s.connect(ctx, first)
		if ctx.Err() != nil {
			s.markUp(ctx.Err())
			return
		}
		if healthy {
			bo.Reset()
			first = false
			s.c.stats.add(func(st *Stats) { st.Reconnects++ })
			s.c.log.Debug("messaging stream ended; reconnecting", "user", s.user, "error", err)
			continue
		}
		s.c.stats.add(func(st *Stats) { st.ConnectFailures++ })
		v := streamVerdict(err)
		d, ok := bo.Next(v)
		if !ok {
			var me *Error
			if !errors.As(err, &me) {
				err = &Error{Op: "event stream", Problem: "the stream cannot be (re)connected", Err: err, Fix: "sfbridge doctor --require messaging checks each setup step"}
			}
			s.fail(err)
			return
		}
		s.c.log.Debug("messaging stream connection failed", "user", s.user, "error", err, "retry_in", d)
		if bo.Wait(ctx, d) != nil {
			s.markUp(ctx.Err())
			return
		}
	}
}

// streamVerdict: what makes a stream connection worth trying again.
func streamVerdict(err error) backoff.Verdict {
	var me *Error
	if errors.As(err, &me) {
		if errors.Is(err, ErrAnonymousToken) || me.Step != "" {
			return backoff.Verdict{Reason: err.Error()}
		}
		var ae *APIError
		if errors.As(err, &ae) {
			return transient(ae)
		}
		return backoff.Verdict{Retry: true, Reason: err.Error()}
	}
	var ae *APIError
	if errors.As(err, &ae) {
		if ae.Status == http.StatusUnauthorized || ae.Status == http.StatusServiceUnavailable || ae.Status == http.StatusTooManyRequests || ae.Status >= 500 {
			return backoff.Verdict{Retry: true, Reason: ae.Error()}
		}
		return backoff.Verdict{Reason: ae.Error()}
	}
	return backoff.Verdict{Retry: true, Reason: errString(err)}
}

func errString(err error) string {
	if err == nil {
		return "the stream ended"
	}
	return err.Error()
}

func (s *session) markUp(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.up:
	default:
		s.upErr = err
		close(s.up)
	}
}

// fail ends every conversation of the session with err.
func (s *session) fail(err error) {
	s.mu.Lock()
	s.failed = err
	convs := make([]*Conversation, 0, len(s.convs))
	for _, c := range s.convs {
		convs = append(convs, c)
	}
	s.mu.Unlock()
	s.markUp(err)
	for _, c := range convs {
		c.failWith(err)
	}
}

// connect opens the stream once and reads it until it ends. healthy says
// the stream was open and delivered at least one frame.
func (s *session) connect(ctx context.Context, first bool) (healthy bool, err error) {
	t, err := s.token(ctx)
	if err != nil {
		return false, err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	last := s.lastEventID
	s.mu.Unlock()
	req, err := s.c.streamRequest(rctx, t.access, last)
	if err != nil {
		return false, err
	}
	resp, err := s.c.hc.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		ae := apiError(http.MethodGet, ssePath, resp.StatusCode, data)
		if ae.Status == http.StatusUnauthorized {
			s.invalidate(t)
		}
		return false, ae
	}
	s.markUp(nil)
	if !first {
		// What went by while the stream was down: every open conversation
		// reads its entries again.
		s.kickAll()
	}
	hb := s.c.clk.AfterFunc(s.c.cfg.HeartbeatTimeout, cancel)
	defer hb.Stop()
	fr := NewFrameReader(resp.Body)
	for {
		f, err := fr.Next()
		if err != nil {
			if rctx.Err() != nil && ctx.Err() == nil {
				err = errors.New("no event or ping within the heartbeat timeout")
			}
			return healthy, err
		}
		hb.Reset(s.c.cfg.HeartbeatTimeout)
		healthy = true
		if f.ID != "" {
			s.mu.Lock()
			s.lastEventID = f.ID
			s.mu.Unlock()
		}
		s.dispatch(f, t)
	}
}

func (s *session) kickAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.convs {
		c.kick()
	}
}

// dispatch routes one frame: typing goes straight to its conversation,
// stored entries ring the conversation's doorbell, unknown events are
// counted and ignored.
func (s *session) dispatch(f Frame, t *mintedToken) {
	switch f.Event {
	case "ping", "":
		return
	case "error":
		// The expiry notice ({"status":401,...}); the stream closes next.
		var e struct {
			Status int `json:"status"`
		}
		if json.Unmarshal(f.Data, &e) == nil && e.Status == http.StatusUnauthorized {
			s.invalidate(t)
		}
		return
	}
	typing, stored, ok := knownEvent(f.Event)
	if !ok {
		s.c.stats.add(func(st *Stats) { st.UnknownEvents++ })
		return
	}
	if !typing && !stored {
		return
	}
	var env struct {
		ConversationID    string   `json:"conversationId"`
		ConversationEntry rawEntry `json:"conversationEntry"`
	}
	if json.Unmarshal(f.Data, &env) != nil {
		return
	}
	s.mu.Lock()
	c := s.convs[env.ConversationID]
	s.mu.Unlock()
	if c == nil {
		return
	}
	if stored {
		c.kick()
		return
	}
	e := env.ConversationEntry
	if !isAgentRole(e.Sender.Role) {
		return
	}
	c.typing(Event{Kind: KindAgentTyping, ConversationID: c.id, EntryID: e.Identifier, Time: time.UnixMilli(e.TranscriptedTimestamp).UTC(),
		Agent: e.SenderDisplayName, Typing: f.Event == "CONVERSATION_TYPING_STARTED_INDICATOR"})
}

// streamRequest is the request that opens an end user's event stream.
func (c *Client) streamRequest(ctx context.Context, access, lastEventID string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+ssePath, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+access)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	req.Header.Set("X-Org-Id", c.cfg.OrgID[:15])
	if lastEventID != "" {
		req.Header.Set("Last-Event-Id", lastEventID)
	}
	return req, nil
}

// CheckStream mints an access token for the user, opens the user's event
// stream once (without retrying), closes it and revokes the token: it
// proves the event router accepts the deployment's verified tokens from
// here. A failure is an *Error saying what to fix.
func (c *Client) CheckStream(ctx context.Context, userID string) error {
	t, err := c.mint(ctx, userID)
	if err != nil {
		return err
	}
	defer func() {
		_ = c.do(context.WithoutCancel(ctx), http.MethodDelete, apiPrefix+"/authorization/authenticated/access-token", t.access, nil, nil)
	}()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := c.streamRequest(rctx, t.access, "")
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return &Error{Op: "open event stream", Problem: "the event router could not be reached", Err: err,
			Fix: "allow long-lived HTTPS connections to the SCRT host (" + ssePath + "): proxies must not buffer or time out text/event-stream responses"}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return &Error{Op: "open event stream", Problem: "the event router refused the stream", Err: apiError(http.MethodGet, ssePath, resp.StatusCode, data),
			Fix: "check that the org id is this org's and that nothing between here and the SCRT host (proxy, firewall) rewrites the request"}
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return &Error{Op: "open event stream", Problem: fmt.Sprintf("the answer is %q, not an event stream", ct),
			Fix: "something between here and the SCRT host answers instead of it: check the proxy"}
	}
	return nil
}
