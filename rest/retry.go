package rest

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/sfbridge/sfbridge/internal/backoff"
)

// RetryPolicy says how often and how patiently transient failures are
// retried. The zero value means the defaults.
type RetryPolicy struct {
	// MaxAttempts counts the first try; default 4. 1 disables retries.
	MaxAttempts int
	// BaseDelay is the backoff before the second attempt (default 250ms);
	// it doubles per attempt up to MaxDelay (default 8s). The actual delay
	// is drawn uniformly from [d/2, d] (jitter), so many clients that failed
	// together do not retry together. A Retry-After header from Salesforce
	// replaces the computed delay, capped at MaxDelay.
	BaseDelay, MaxDelay time.Duration
	// Sleep waits d or until ctx is done; tests inject one that does not
	// sleep. Default: a timer on the client's clock that listens to ctx.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a number in [0, 1); default math/rand/v2.
	Jitter func() float64
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = 4
	}
	if p.BaseDelay == 0 {
		p.BaseDelay = 250 * time.Millisecond
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = 8 * time.Second
	}
	return p
}

// backoff is the policy of one call's retries.
func (p RetryPolicy) backoff() backoff.Policy {
	return backoff.Policy{Initial: p.BaseDelay, Max: max(p.MaxDelay, p.BaseDelay), Jitter: 0.5, MaxAttempts: p.MaxAttempts, Rand: p.Jitter}
}

// idempotent reports whether repeating method has the same effect as
// sending it once. For Salesforce only POST (create, composite) is not:
// PATCH updates set the same values again and upserts match the same
// external id.
func idempotent(method string) bool { return method != http.MethodPost }

// classifyTransportError decides about a call that got no response.
// Idempotent calls are retried on network failures; a POST only when the
// request was never completely written, because Salesforce cannot act on a
// request it has not fully received.
func classifyTransportError(idempotent bool, err error, wrote bool) backoff.Verdict {
	switch {
	case !isNetworkError(err):
		return backoff.Verdict{Reason: "not a network failure"}
	case idempotent:
		return backoff.Verdict{Retry: true, Reason: "network failure"}
	case !wrote:
		return backoff.Verdict{Retry: true, Reason: "network failure before the request was sent"}
	}
	return backoff.Verdict{Reason: "a create may have reached Salesforce"}
}

// isNetworkError looks beneath *url.Error, which http.Client wraps around
// every failure and which itself satisfies net.Error: otherwise any error
// from below the client, a refused session renewal included, would count as
// a network failure and be retried.
func isNetworkError(err error) bool {
	err = unwrapURLError(err)
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &oe) || errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE)
}

// retryableStatus decides about a failing response. REQUEST_LIMIT_EXCEEDED
// is never retried: waiting seconds does not restore a 24-hour allocation,
// and retrying would burn what is left of it for other integrations.
// UNABLE_TO_LOCK_ROW (another transaction held the record) and 5xx are
// retried for idempotent methods only: a POST that got an answer reached
// Salesforce, and a create is repeated only when it surely did not.
//
// The server's Retry-After (seconds or an HTTP-date, read against now) goes
// into the verdict as a hint.
func classifyStatus(idempotent bool, e *APIError, h http.Header, now time.Time) backoff.Verdict {
	var v backoff.Verdict
	switch {
	case e.HasCode(string(ErrRequestLimitExceeded)):
		return backoff.Verdict{Reason: "REQUEST_LIMIT_EXCEEDED is a daily allocation"}
	case e.HasCode(string(ErrUnableToLockRow)):
		v = backoff.Verdict{Retry: idempotent, Reason: "UNABLE_TO_LOCK_ROW"}
	case e.StatusCode >= 500 && e.StatusCode != http.StatusNotImplemented:
		v = backoff.Verdict{Retry: idempotent, Reason: "HTTP " + strconv.Itoa(e.StatusCode)}
	default:
		return backoff.Verdict{Reason: "HTTP " + strconv.Itoa(e.StatusCode) + " is not transient"}
	}
	if !idempotent {
		v.Reason += " answered a create, which may have taken effect"
	}
	v.After, _ = backoff.ParseRetryAfter(h.Get("Retry-After"), now)
	return v
}

// withWriteTrace records in wrote whether the request was fully written.
func withWriteTrace(ctx context.Context, wrote *atomic.Bool) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				wrote.Store(true)
			}
		},
	})
}

// decompress replaces a gzip-encoded body with its decompressed stream.
// The gzip reader is created on first read, so an empty body (204, HEAD)
// is not an error.
func decompress(resp *http.Response) {
	if !strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") || resp.Body == nil {
		return
	}
	resp.Header.Del("Content-Encoding")
	resp.Header.Del("Content-Length")
	resp.ContentLength = -1
	resp.Uncompressed = true
	resp.Body = &gzipBody{src: resp.Body}
}

type gzipBody struct {
	src io.ReadCloser
	zr  *gzip.Reader
	err error
}

func (g *gzipBody) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	if g.zr == nil {
		zr, err := gzip.NewReader(g.src)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			g.err = err
			return 0, err
		}
		g.zr = zr
	}
	n, err := g.zr.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		g.err = err
	}
	return n, err
}

func (g *gzipBody) Close() error { return g.src.Close() }
