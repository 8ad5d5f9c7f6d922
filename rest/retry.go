package rest

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/klauspost/compress/gzip"
)

// RetryPolicy says how often and how patiently transient failures are
// retried. The zero value means the defaults.
type RetryPolicy struct {
	// MaxAttempts counts the first try; default 4. 1 disables retries.
	MaxAttempts int
	// BaseDelay is the backoff before the second attempt (default 250ms);
	// it doubles per attempt up to MaxDelay (default 8s). The actual delay
	// is drawn uniformly from [d/2, d] (jitter), so many clients that failed
	// together do not retry together.
	BaseDelay, MaxDelay time.Duration
	// Sleep waits d or until ctx is done; tests inject one that does not
	// sleep. Default: a timer that listens to ctx.
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
	if p.Sleep == nil {
		p.Sleep = sleepCtx
	}
	if p.Jitter == nil {
		p.Jitter = rand.Float64
	}
	return p
}

// backoff is the jittered delay after the given (1-based) failed attempt.
func (p RetryPolicy) backoff(attempt int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < attempt && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	return d/2 + time.Duration(p.Jitter()*float64(d/2))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// idempotent reports whether repeating method has the same effect as
// sending it once. For Salesforce only POST (create, composite) is not:
// PATCH updates set the same values again and upserts match the same
// external id.
func idempotent(method string) bool { return method != http.MethodPost }

// retryableTransportError decides about a call that got no response.
// Idempotent calls are retried on network failures; a POST only when the
// request was never completely written, because Salesforce cannot act on a
// request it has not fully received.
func retryableTransportError(idempotent bool, err error, wrote bool) bool {
	if !isNetworkError(err) {
		return false
	}
	return idempotent || !wrote
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
func retryableStatus(idempotent bool, e *APIError) bool {
	switch {
	case e.HasCode(string(ErrRequestLimitExceeded)):
		return false
	case e.HasCode(string(ErrUnableToLockRow)):
		return idempotent
	case e.StatusCode >= 500 && e.StatusCode != http.StatusNotImplemented:
		return idempotent
	}
	return false
}

// retryAfter reads a Retry-After header given in seconds.
func retryAfter(h http.Header) time.Duration {
	s := h.Get("Retry-After")
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0
	}
	return time.Duration(n) * time.Second
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
