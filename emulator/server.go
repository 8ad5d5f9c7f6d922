package emulator

import (
	"net/http"
	"strings"

	"github.com/sfbridge/sfbridge/internal/clock"
)

func (o *Org) routes() {
	o.versions = versionsBody()
	mux := http.NewServeMux()
	mux.HandleFunc("/services/oauth2/token", o.handleToken)
	mux.HandleFunc("/services/oauth2/userinfo", o.handleUserinfo)
	mux.HandleFunc("/services/oauth2/revoke", o.handleRevoke)
	mux.HandleFunc("/services/oauth2/introspect", o.handleIntrospect)
	mux.HandleFunc(authorizePath, o.handleAuthorize)
	mux.HandleFunc(successPath, o.handleAuthorizeSuccess)
	mux.HandleFunc("/id/{org}/{user}", o.handleIdentity)
	mux.HandleFunc("/services/data", o.handleServicesData)
	mux.HandleFunc("/services/data/", o.handleServicesData)
	mux.HandleFunc(AdminPrefix, o.handleAdmin)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeJSONBytes(w, http.StatusNotFound, bodyNotFound)
	})
	o.mux = mux
}

// ServeHTTP serves the org: the OAuth endpoints, the identity URL, the REST
// API and the admin API. Faults are applied first, the request log last.
func (o *Org) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := o.clk.Now()
	// Salesforce's Date header is what clients measure clock skew against;
	// when the org's clock is injected or advanced, send that clock.
	if o.ownClock || o.offset.Load() != 0 {
		w.Header().Set("Date", o.Now().UTC().Format(http.TimeFormat))
	}
	if strings.HasPrefix(r.URL.Path, AdminPrefix) {
		// The admin API is neither logged nor subject to faults.
		o.mux.ServeHTTP(w, r)
		return
	}
	rec := &responseRecorder{ResponseWriter: w}
	var faultID string
	defer func() {
		e := RequestEntry{
			Time: o.Now(), Method: r.Method, Path: r.URL.Path, Query: redactQuery(r.URL.RawQuery),
			Status: rec.status, Bytes: rec.bytes, DurationMS: float64(o.clk.Since(start).Microseconds()) / 1000,
			User: rec.username, Remote: r.RemoteAddr, UserAgent: r.UserAgent(), Fault: faultID,
		}
		o.reqlog.add(e)
		if o.debug {
			o.log.Debug("request", "method", e.Method, "path", e.Path, "query", e.Query, "status", e.Status,
				"bytes", e.Bytes, "ms", e.DurationMS, "user", e.User, "fault", e.Fault)
		}
	}()
	if o.faults.active.Load() > 0 {
		if f, ok := o.faults.match(r.Method, r.URL.Path, o.Now()); ok {
			faultID = f.spec.ID
			if !o.applyFault(rec, r, f) {
				return
			}
		}
	}
	o.mux.ServeHTTP(rec, r)
}

// applyFault carries out a fault; it returns whether the request should
// still be served normally.
func (o *Org) applyFault(w *responseRecorder, r *http.Request, f firing) bool {
	switch f.spec.Action {
	case FaultLatency:
		return clock.Sleep(r.Context(), o.clk, f.latency) == nil
	case FaultError:
		status, body := f.errorBody(r.URL.Path, http.StatusServiceUnavailable, "SERVER_UNAVAILABLE", "Server is unavailable")
		writeJSONBytes(w, status, body)
		return false
	case FaultRateLimit:
		if !f.limited {
			return true
		}
		// A short-term limit, not the daily allocation: Salesforce's
		// wording for too many concurrent API requests.
		status, body := f.errorBody(r.URL.Path, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", concurrentLimitMessage)
		writeJSONBytes(w, status, body)
		return false
	case FaultReset:
		w.status = -1
		resetConnection(w.ResponseWriter)
		return false
	case FaultTruncate:
		tw := &truncatingWriter{ResponseWriter: w.ResponseWriter, n: f.spec.TruncateAfter}
		inner := &responseRecorder{ResponseWriter: tw}
		o.mux.ServeHTTP(inner, r)
		w.status, w.username, w.bytes = inner.status, inner.username, int64(min(tw.n, tw.buf.Len()))
		tw.finish()
		return false
	case FaultExpireSession, FaultRevokeSession:
		if s, ok := o.sessions.get(identityToken(r)); ok {
			if f.spec.Action == FaultExpireSession {
				s.expired.Store(true)
			} else {
				s.revoked.Store(true)
			}
		}
		return true
	}
	return true
}
