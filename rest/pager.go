package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sfbridge/sfbridge/internal/backoff"
	"github.com/sfbridge/sfbridge/internal/jsonscan"
)

// pageMeta is a page without its records.
type pageMeta struct {
	TotalSize      int
	Done           bool
	NextRecordsURL string
	Limit          *LimitInfo
}

// item travels from the producer goroutine to the iterator.
type item[T any] struct {
	recs []T
	page *Page[T] // set at the end of each page in page mode
	err  error
	end  bool // the query is complete
}

// pager fetches and decodes pages for one query.
type pager[T any] struct {
	c      *Client
	batch  int
	decode func(raw []byte) (T, error)
}

// decoderFor returns how [Query] decodes a record into T: [Record] by the
// one-pass recordDecoder, [json.RawMessage] as validated bytes, anything
// else by encoding/json.
func decoderFor[T any]() func(raw []byte) (T, error) {
	var zero T
	switch any(&zero).(type) {
	case *Record:
		rd := &recordDecoder{}
		return func(raw []byte) (T, error) {
			rec, err := rd.decode(raw)
			return any(rec).(T), err
		}
	case *json.RawMessage:
		return func(raw []byte) (T, error) {
			if !jsonscan.Valid(raw) {
				return zero, errors.New("invalid JSON in a record")
			}
			return any(append(json.RawMessage(nil), raw...)).(T), nil
		}
	default:
		return func(raw []byte) (T, error) {
			var v T
			err := json.Unmarshal(raw, &v)
			return v, err
		}
	}
}

// run starts the producer and returns the consumer's view of it: a
// sequence of items that ends when the query is complete or failed. batch
// is the page size first asked for, which later pages ask for too. With
// chunk > 0 records arrive in slices of that size and backlog slices may
// wait; with chunk == 0 each item is one whole page and none waits.
// Stopping the sequence cancels the producer and waits for it to exit.
func run[T any](ctx context.Context, c *Client, first *request, batch int, decode func([]byte) (T, error), chunk, backlog int) iter.Seq[item[T]] {
	return func(yield func(item[T]) bool) {
		ctx, cancel := context.WithCancel(ctx)
		out := make(chan item[T], backlog)
		p := &pager[T]{c: c, batch: batch, decode: decode}
		go p.produce(ctx, first, chunk, out)
		defer func() {
			cancel()
			for range out {
			}
		}()
		complete := false
		for it := range out {
			if it.end {
				complete = true
				continue
			}
			if !yield(it) {
				return
			}
			if it.err != nil {
				return
			}
		}
		if !complete {
			// The producer stopped because ctx is done: say so rather than
			// end the sequence as if the result were complete.
			err := context.Cause(ctx)
			if err == nil {
				err = errors.New("rest: query stopped before its last page")
			}
			yield(item[T]{err: err})
		}
	}
}

// errConsumerGone stops the producer when the caller stopped iterating.
var errConsumerGone = errors.New("rest: query iteration stopped")

func (p *pager[T]) produce(ctx context.Context, first *request, chunk int, out chan<- item[T]) {
	defer close(out)
	send := func(it item[T]) error {
		select {
		case out <- it:
			return nil
		case <-ctx.Done():
			return errConsumerGone
		}
	}
	var ahead *future
	defer func() { ahead.discard() }() // ahead changes; discard the last one
	r := first
	total, delivered := -1, 0
	for {
		var buf []T
		emit := func(v T) error {
			buf = append(buf, v)
			delivered++
			if chunk > 0 && len(buf) >= chunk {
				err := send(item[T]{recs: buf})
				buf = make([]T, 0, chunk)
				return err
			}
			return nil
		}
		pre := ahead
		ahead = nil
		// As soon as the page names the next one, request it, so that
		// Salesforce prepares it while this one is read — unless the next
		// page may be the last (Salesforce never sends more rows in a page
		// than the batch size asked for): fetching the last page closes
		// the cursor, and this page could then no longer be fetched again
		// if its body broke off.
		early := func(m pageMeta) {
			if ahead != nil || m.Done || m.NextRecordsURL == "" || m.TotalSize-locatorOffset(m.NextRecordsURL) <= p.batch {
				return
			}
			if next, err := p.c.locatorRequest(m.NextRecordsURL, p.batch); err == nil {
				ahead = p.c.prefetch(ctx, next)
			}
		}
		meta, err := p.fetchPage(ctx, r, pre, early, emit)
		if err != nil {
			if !errors.Is(err, errConsumerGone) {
				_ = send(item[T]{recs: buf, err: err})
			}
			return
		}
		if total < 0 {
			total = meta.TotalSize
		}
		var next *request
		switch {
		case meta.Done:
		case meta.NextRecordsURL == "":
			_ = send(item[T]{recs: buf, err: fmt.Errorf("rest: page %s says done=false but has no nextRecordsUrl; the result is incomplete after %d records", redactPath(r.path), delivered)})
			return
		default:
			if next, err = p.c.locatorRequest(meta.NextRecordsURL, p.batch); err != nil {
				_ = send(item[T]{recs: buf, err: err})
				return
			}
			// Request the next page now, while the caller works through
			// this one, unless that began already (early). The body of this
			// page has been read completely, so it never has to be fetched
			// again after the cursor closed.
			if ahead != nil && ahead.path != next.path {
				ahead.discard()
				ahead = nil
			}
			if ahead == nil {
				ahead = p.c.prefetch(ctx, next)
			}
		}
		it := item[T]{recs: buf}
		if chunk == 0 {
			if buf == nil {
				buf = []T{}
			}
			it = item[T]{page: &Page[T]{TotalSize: meta.TotalSize, Done: meta.Done, NextRecordsURL: meta.NextRecordsURL, Records: buf, Limit: meta.Limit}}
		}
		if len(it.recs) > 0 || it.page != nil {
			if send(it) != nil {
				return
			}
		}
		if next == nil {
			if delivered > 0 && delivered < total {
				_ = send(item[T]{err: fmt.Errorf("rest: query ended after %d records but Salesforce reported totalSize %d; records are missing, run the query again", delivered, total)})
				return
			}
			_ = send(item[T]{end: true})
			return
		}
		r = next
	}
}

// locatorOffset reads how many rows precede the page at a nextRecordsUrl
// (…/query/01gxx0000000001AAA-4000 → 4000); it returns a huge number when
// the locator does not say, so that callers assume the page may be the last.
func locatorOffset(next string) int {
	i := strings.LastIndexByte(next, '-')
	if i < 0 {
		return math.MaxInt
	}
	n, err := strconv.Atoi(next[i+1:])
	if err != nil || n < 0 {
		return math.MaxInt
	}
	return n
}

func redactPath(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i]
	}
	return p
}

// PageError is a query page that could not be read completely, even after
// retries: the records of the page before the failure were delivered, the
// rest were not.
type PageError struct {
	// URL is the page's path (without the SOQL).
	URL string
	// Delivered is how many records of this page were delivered.
	Delivered int
	Err       error
}

func (e *PageError) Error() string {
	return fmt.Sprintf("rest: query page %s broke off after %d records and could not be read again: %v; the result is incomplete", e.URL, e.Delivered, e.Err)
}

func (e *PageError) Unwrap() error { return e.Err }

// fetchPage fetches the page of r (or takes the prefetched response pre)
// and streams its records to emit. When the body breaks off, the page is
// fetched again from the same URL — GET on a query locator is idempotent —
// and the records already emitted are skipped, so emit sees each record
// once and in order.
func (p *pager[T]) fetchPage(ctx context.Context, r *request, pre *future, early func(pageMeta), emit func(T) error) (pageMeta, error) {
	emitted := 0
	b := p.c.retry.backoff().Start(p.c.clk)
	for attempt := 1; ; attempt++ {
		var resp *http.Response
		var err error
		if pre != nil {
			resp, err = pre.wait(ctx)
			defer pre.discard()
			pre = nil
		} else {
			resp, err = p.c.send(ctx, r)
		}
		if err != nil {
			if attempt > 1 {
				// The page broke off and cannot be read again (for example,
				// Salesforce closed the cursor after sending the last page).
				return pageMeta{}, &PageError{URL: redactPath(r.path), Delivered: emitted, Err: err}
			}
			return pageMeta{}, err
		}
		meta, n, err := decodePage(resp.Body, p.decode, emitted, early, emit)
		resp.Body.Close()
		if li, perr := ParseLimitInfo(resp.Header.Get("Sforce-Limit-Info")); perr == nil {
			meta.Limit = &li
		}
		if err == nil {
			if n < emitted {
				return pageMeta{}, &PageError{URL: redactPath(r.path), Delivered: emitted, Err: fmt.Errorf("the page was shorter (%d records) when fetched again", n)}
			}
			return meta, nil
		}
		if errors.Is(err, errConsumerGone) {
			return pageMeta{}, err
		}
		if ctx.Err() != nil {
			return pageMeta{}, ctx.Err()
		}
		emitted = max(emitted, n)
		u, _ := url.Parse(redactPath(r.path))
		again, perr := p.c.pause(ctx, b, backoff.Verdict{Retry: true, Reason: "the page broke off"}, r, u, err)
		if perr != nil {
			return pageMeta{}, perr
		}
		if !again {
			return pageMeta{}, &PageError{URL: redactPath(r.path), Delivered: emitted, Err: err}
		}
	}
}

// bodyError marks a body that is not (or not entirely) a query result.
type bodyError struct{ err error }

func (e *bodyError) Error() string { return "reading the query result: " + e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

// future is a response being fetched in the background.
type future struct {
	path   string
	cancel context.CancelFunc
	done   chan struct{}
	resp   *http.Response
	err    error
}

// prefetch starts fetching r; the caller takes it with wait or drops it
// with discard.
func (c *Client) prefetch(ctx context.Context, r *request) *future {
	ctx, cancel := context.WithCancel(ctx)
	f := &future{path: r.path, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		f.resp, f.err = c.send(ctx, r) //nolint:bodyclose // closed by whoever takes the future: fetchPage or discard
	}()
	return f
}

// wait returns the response. The fetch's context stays alive while the
// body is read; discard releases it.
func (f *future) wait(ctx context.Context) (*http.Response, error) {
	select {
	case <-f.done:
		return f.resp, f.err
	case <-ctx.Done():
		f.discard()
		return nil, ctx.Err()
	}
}

// discard cancels the fetch, waits for it and closes its response.
func (f *future) discard() {
	if f == nil {
		return
	}
	f.cancel()
	<-f.done
	if f.resp != nil {
		f.resp.Body.Close()
	}
}
