package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Fault actions.
const (
	FaultLatency       = "latency"        // wait Latency, then answer normally
	FaultError         = "error"          // answer Status with a Salesforce error body
	FaultReset         = "reset"          // drop the connection without an answer
	FaultTruncate      = "truncate"       // send only the first TruncateAfter bytes of the body, then close
	FaultExpireSession = "expire_session" // expire the caller's session, then answer (401)
	FaultRevokeSession = "revoke_session" // revoke the caller's session, then answer (401)
	FaultRateLimit     = "rate_limit"     // allow RatePerSecond (Burst) matching requests, refuse the rest
)

// FaultSpec describes an injected fault: which requests it matches and
// what it does when it fires.
type FaultSpec struct {
	ID string `json:"id,omitempty"`
	// Method matches the HTTP method; empty matches every method.
	Method string `json:"method,omitempty"`
	// Path is a path.Match pattern ("/services/data/*/query"); a pattern
	// ending in "**" matches every path starting with what precedes it.
	Path string `json:"path"`
	// After lets the first After matching requests through (so
	// expire_session with after 3 expires the session on the 4th call).
	After int `json:"after,omitempty"`
	// Count fires the fault at most Count times; 0 means no limit.
	Count int `json:"count,omitempty"`
	// Probability fires the fault for that fraction of matching requests,
	// drawn from the org's seeded generator; 0 means always.
	Probability float64 `json:"probability,omitempty"`
	Action      string  `json:"action"`
	// Latency is a Go duration for the latency action.
	Latency string `json:"latency,omitempty"`
	// Status, ErrorCode and Message shape the error and rate_limit answers
	// (defaults 503 SERVER_UNAVAILABLE and 403 REQUEST_LIMIT_EXCEEDED);
	// Body, when set, is sent verbatim instead.
	Status        int     `json:"status,omitempty"`
	ErrorCode     string  `json:"error_code,omitempty"`
	Message       string  `json:"message,omitempty"`
	Body          string  `json:"body,omitempty"`
	TruncateAfter int     `json:"truncate_after,omitempty"`
	RatePerSecond float64 `json:"rate_per_second,omitempty"`
	Burst         int     `json:"burst,omitempty"`
}

// FaultState is a fault with its counters, as the admin API lists it.
type FaultState struct {
	FaultSpec
	Matched int `json:"matched"`
	Fired   int `json:"fired"`
}

type faultRule struct {
	spec    FaultSpec
	latency time.Duration
	matched int
	fired   int
	tokens  float64
	last    time.Time
}

type faultSet struct {
	mu     sync.Mutex
	rules  []*faultRule
	rng    *rand.Rand
	next   int
	active atomic.Int32
}

func (fs *faultSet) init(seed uint64) {
	fs.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

func (fs *faultSet) add(s FaultSpec) (string, error) {
	r := &faultRule{spec: s}
	if s.Path == "" {
		return "", errors.New("fault: path is required (a path.Match pattern such as /services/data/*/query, or /** for every path)")
	}
	if _, err := path.Match(s.Path, "/"); err != nil {
		return "", fmt.Errorf("fault: path %q: %w", s.Path, err)
	}
	if s.Probability < 0 || s.Probability > 1 || s.After < 0 || s.Count < 0 || s.TruncateAfter < 0 {
		return "", errors.New("fault: probability must be within 0..1 and after, count, truncate_after must not be negative")
	}
	switch s.Action {
	case FaultLatency:
		d, err := time.ParseDuration(s.Latency)
		if err != nil || d < 0 {
			return "", fmt.Errorf("fault: latency %q is not a Go duration such as 250ms", s.Latency)
		}
		r.latency = d
	case FaultError:
		if s.Status != 0 && (s.Status < 400 || s.Status > 599) {
			return "", fmt.Errorf("fault: status %d is not an error status", s.Status)
		}
	case FaultRateLimit:
		if s.RatePerSecond <= 0 {
			return "", errors.New("fault: rate_limit needs rate_per_second > 0")
		}
		if r.spec.Burst <= 0 {
			r.spec.Burst = 1
		}
		r.tokens = float64(r.spec.Burst)
	case FaultReset, FaultTruncate, FaultExpireSession, FaultRevokeSession:
	default:
		return "", fmt.Errorf("fault: unknown action %q (want latency, error, reset, truncate, expire_session, revoke_session or rate_limit)", s.Action)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.next++
	if r.spec.ID == "" {
		r.spec.ID = "f" + strconv.Itoa(fs.next)
	}
	for _, o := range fs.rules {
		if o.spec.ID == r.spec.ID {
			return "", fmt.Errorf("fault: id %q already exists", r.spec.ID)
		}
	}
	fs.rules = append(fs.rules, r)
	fs.active.Store(int32(len(fs.rules)))
	return r.spec.ID, nil
}

func (fs *faultSet) remove(id string) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, r := range fs.rules {
		if id == "" || r.spec.ID == id {
			if id == "" {
				fs.rules = nil
				fs.active.Store(0)
				return true
			}
			fs.rules = append(fs.rules[:i], fs.rules[i+1:]...)
			fs.active.Store(int32(len(fs.rules)))
			return true
		}
	}
	return false
}

func (fs *faultSet) list() []FaultState {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := make([]FaultState, 0, len(fs.rules))
	for _, r := range fs.rules {
		out = append(out, FaultState{FaultSpec: r.spec, Matched: r.matched, Fired: r.fired})
	}
	return out
}

func patternMatch(pattern, p string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "**"); ok {
		return strings.HasPrefix(p, prefix)
	}
	ok, _ := path.Match(pattern, p)
	return ok
}

// firing is a fault chosen for one request.
type firing struct {
	spec    FaultSpec
	latency time.Duration
	limited bool // rate_limit: this request is over the rate
}

// match returns the first fault that fires for the request, if any.
func (fs *faultSet) match(method, p string, now time.Time) (firing, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, r := range fs.rules {
		if r.spec.Method != "" && !strings.EqualFold(r.spec.Method, method) {
			continue
		}
		if !patternMatch(r.spec.Path, p) {
			continue
		}
		r.matched++
		if r.matched <= r.spec.After {
			continue
		}
		if r.spec.Count > 0 && r.fired >= r.spec.Count {
			continue
		}
		if r.spec.Probability > 0 && r.spec.Probability < 1 && fs.rng.Float64() >= r.spec.Probability {
			continue
		}
		f := firing{spec: r.spec, latency: r.latency}
		if r.spec.Action == FaultRateLimit {
			if !r.last.IsZero() {
				r.tokens += now.Sub(r.last).Seconds() * r.spec.RatePerSecond
				if r.tokens > float64(r.spec.Burst) {
					r.tokens = float64(r.spec.Burst)
				}
			}
			r.last = now
			if r.tokens >= 1 {
				r.tokens--
				continue
			}
			f.limited = true
		}
		r.fired++
		return f, true
	}
	return firing{}, false
}

// errorBody renders a fault's error answer in the shape of the endpoint:
// OAuth endpoints answer {"error","error_description"}, the REST API an
// error array.
func (f firing) errorBody(p string, defStatus int, defCode, defMsg string) (int, []byte) {
	status, code, msg := f.spec.Status, f.spec.ErrorCode, f.spec.Message
	if status == 0 {
		status = defStatus
	}
	if code == "" {
		code = defCode
	}
	if msg == "" {
		msg = defMsg
	}
	if f.spec.Body != "" {
		return status, []byte(f.spec.Body)
	}
	if strings.HasPrefix(p, "/services/oauth2/") {
		b, _ := json.Marshal(oauthError{Code: strings.ToLower(code), Description: msg})
		return status, b
	}
	b, _ := json.Marshal([]restError{{Message: msg, ErrorCode: code}})
	return status, b
}

// resetConnection drops the client's connection without an answer; with
// SO_LINGER 0 the client sees a reset rather than an orderly close.
func resetConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // best effort: without it the close is orderly
	}
	conn.Close()
}

// truncatingWriter buffers the answer so that it can announce the full
// Content-Length, send only the first n bytes, and close the connection.
type truncatingWriter struct {
	http.ResponseWriter
	n      int
	status int
	buf    bytes.Buffer
}

func (t *truncatingWriter) WriteHeader(code int) {
	if t.status == 0 {
		t.status = code
	}
}

func (t *truncatingWriter) Write(b []byte) (int, error) {
	if t.status == 0 {
		t.status = http.StatusOK
	}
	return t.buf.Write(b)
}

func (t *truncatingWriter) finish() {
	if t.status == 0 {
		t.status = http.StatusOK
	}
	body := t.buf.Bytes()
	t.ResponseWriter.Header().Set("Content-Length", strconv.Itoa(len(body)))
	t.ResponseWriter.WriteHeader(t.status)
	if t.n < len(body) {
		body = body[:t.n]
	}
	t.ResponseWriter.Write(body)
	if f, ok := t.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	if hj, ok := t.ResponseWriter.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
