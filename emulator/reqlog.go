package emulator

import (
	"net/http"
	"net/url"
	"sync"
	"time"
)

// RequestEntry is one request in the request log. It never holds a token,
// an assertion or a secret: the query string is reduced to its parameter
// names except for q (SOQL), format and version.
type RequestEntry struct {
	Time       time.Time `json:"time"`
	Method     string    `json:"method"`
	Path       string    `json:"path"`
	Query      string    `json:"query,omitempty"`
	Status     int       `json:"status"`
	Bytes      int64     `json:"bytes"`
	DurationMS float64   `json:"duration_ms"`
	User       string    `json:"user,omitempty"`
	Remote     string    `json:"remote"`
	UserAgent  string    `json:"user_agent,omitempty"`
	Fault      string    `json:"fault,omitempty"`
}

// LoginEntry is one token request, like a row of Salesforce's Login
// History: Status is "Success" or "Failed: <why>", the why being more
// precise than the error the client got.
type LoginEntry struct {
	Time      time.Time `json:"time"`
	Username  string    `json:"username,omitempty"`
	App       string    `json:"app,omitempty"`
	Status    string    `json:"status"`
	SourceIP  string    `json:"source_ip"`
	UserAgent string    `json:"user_agent,omitempty"`
}

// ring is a fixed-size ring buffer.
type ring[T any] struct {
	mu   sync.Mutex
	buf  []T
	next int
	full bool
}

func (r *ring[T]) init(n int) { r.buf = make([]T, n) }

func (r *ring[T]) add(e T) {
	r.mu.Lock()
	r.buf[r.next] = e
	r.next++
	if r.next == len(r.buf) {
		r.next, r.full = 0, true
	}
	r.mu.Unlock()
}

// last returns up to n entries, oldest first.
func (r *ring[T]) last(n int) []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	var all []T
	if r.full {
		all = append(all, r.buf[r.next:]...)
	}
	all = append(all, r.buf[:r.next]...)
	if n > 0 && len(all) > n {
		all = all[len(all)-n:]
	}
	return all
}

type requestLog struct{ ring[RequestEntry] }
type loginHistory struct{ ring[LoginEntry] }

var keptQueryParams = map[string]bool{"q": true, "format": true, "version": true, "columns": true, "fields": true}

// redactQuery keeps harmless parameters and the names of the others.
func redactQuery(raw string) string {
	if raw == "" {
		return ""
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		return "(unparsable)"
	}
	out := url.Values{}
	for k, vals := range v {
		if keptQueryParams[k] {
			out[k] = vals
		} else {
			out[k] = []string{"…"}
		}
	}
	return out.Encode()
}

func (o *Org) recordLogin(r *http.Request, username, appName, status string) {
	if o.debug {
		o.log.Debug("login", "username", username, "app", appName, "status", status)
	}
	o.history.add(LoginEntry{Time: o.Now(), Username: username, App: appName, Status: status,
		SourceIP: remoteIP(r), UserAgent: r.UserAgent()})
	o.recordLoginActivity(r, username, appName, status)
}

func remoteIP(r *http.Request) string {
	host := r.RemoteAddr
	for i := len(host) - 1; i >= 0; i-- {
		if host[i] == ':' {
			return host[:i]
		}
	}
	return host
}

// responseRecorder notes status, size and user for the request log.
type responseRecorder struct {
	http.ResponseWriter
	status   int
	bytes    int64
	username string
}

func (w *responseRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *responseRecorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *responseRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
