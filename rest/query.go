package rest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sfbridge/sfbridge/internal/backoff"
	"github.com/sfbridge/sfbridge/internal/jsonscan"
)

// QueryService runs SOQL queries: GET /query and /queryAll and their
// "query more" locators.
type QueryService service

// QueryOptions adjusts a query; nil means the defaults.
type QueryOptions struct {
	// All uses queryAll, which also returns deleted (recycle bin), merged
	// and archived rows.
	All bool
	// BatchSize asks for pages of this many records (200–2000) through
	// Sforce-Query-Options; 0 uses the client's setting or Salesforce's
	// default of 2000. Salesforce may return fewer.
	BatchSize int
}

// Page is one page of a query result.
type Page[T any] struct {
	// TotalSize is the number of rows the whole query matched (for
	// SELECT COUNT() the count, with no records).
	TotalSize int `json:"totalSize"`
	// Done is true on the last page.
	Done bool `json:"done"`
	// NextRecordsURL locates the next page while Done is false.
	NextRecordsURL string `json:"nextRecordsUrl,omitempty"`
	Records        []T    `json:"records"`
	// Limit is the Sforce-Limit-Info of the page's response, when sent.
	Limit *LimitInfo `json:"-"`
}

// Page fetches the first page of soql.
func (s *QueryService) Page(ctx context.Context, soql string, opts *QueryOptions) (*Page[Record], error) {
	return FetchPage[Record](ctx, s.c, soql, opts)
}

// NextPage fetches the page at a nextRecordsUrl.
func (s *QueryService) NextPage(ctx context.Context, nextRecordsURL string) (*Page[Record], error) {
	return FetchNextPage[Record](ctx, s.c, nextRecordsURL)
}

// Records runs soql and yields its records in order across all pages; see
// [Query].
func (s *QueryService) Records(ctx context.Context, soql string, opts *QueryOptions) iter.Seq2[Record, error] {
	return Query[Record](ctx, s.c, soql, opts)
}

// Pages runs soql and yields whole pages; see [Pages].
func (s *QueryService) Pages(ctx context.Context, soql string, opts *QueryOptions) iter.Seq2[*Page[Record], error] {
	return Pages[Record](ctx, s.c, soql, opts)
}

// Count runs a SELECT COUNT() query and returns totalSize.
func (s *QueryService) Count(ctx context.Context, soql string, opts *QueryOptions) (int, error) {
	p, err := FetchPage[json.RawMessage](ctx, s.c, soql, opts)
	if err != nil {
		return 0, err
	}
	return p.TotalSize, nil
}

// Query runs soql and yields every record, decoded into T, in the order
// Salesforce returns them, across all pages. T is usually [Record] (decoded
// here, numbers as [json.Number]), a struct with json tags (decoded by
// encoding/json), or [json.RawMessage] for each record's bytes as sent. The iteration ends after the last record or at the first error,
// which is yielded with a zero T; records are never skipped silently.
//
// Each page is decoded as a stream while it arrives, and the next page is
// requested as soon as the current one has been read, so that the network,
// the decoding and the caller's work overlap. At most one page of decoded
// records waits ahead of the caller, and one more response is open.
// Stopping the loop early cancels the outstanding request.
func Query[T any](ctx context.Context, c *Client, soql string, opts *QueryOptions) iter.Seq2[T, error] {
	return QueryWith(ctx, c, soql, opts, decoderFor[T]())
}

// QueryWith is [Query] with the caller's decoder. decode gets the bytes of
// each record as split from the page: its brackets and strings balance, but
// nothing else about it has been checked, so decode must refuse what is not
// valid JSON. It runs on the goroutine that reads the pages, ahead of the
// caller, one record at a time; raw is reused once it returns. An error from
// decode ends the query with that error.
//
// Use it to turn records straight into what the caller needs (CSV cells,
// say) in one pass instead of decoding them and then walking the result.
func QueryWith[T any](ctx context.Context, c *Client, soql string, opts *QueryOptions, decode func(raw []byte) (T, error)) iter.Seq2[T, error] {
	first, err := c.queryRequest(soql, opts)
	return func(yield func(T, error) bool) {
		var zero T
		if err != nil {
			yield(zero, err)
			return
		}
		size := c.pageSize(opts)
		chunk := recordChunk(size)
		for it := range run(ctx, c, first, size, decode, chunk, chunkBacklog(size, chunk)) {
			for _, r := range it.recs {
				if !yield(r, nil) {
					return
				}
			}
			if it.err != nil {
				yield(zero, it.err)
				return
			}
		}
	}
}

// QueryAll is [Query] with queryAll: deleted, merged and archived rows too.
func QueryAll[T any](ctx context.Context, c *Client, soql string, opts *QueryOptions) iter.Seq2[T, error] {
	o := QueryOptions{All: true}
	if opts != nil {
		o.BatchSize = opts.BatchSize
	}
	return Query[T](ctx, c, soql, &o)
}

// Pages runs soql and yields each page in order. While the caller holds one
// page, the next is fetched and decoded (one page ahead, no more).
func Pages[T any](ctx context.Context, c *Client, soql string, opts *QueryOptions) iter.Seq2[*Page[T], error] {
	first, err := c.queryRequest(soql, opts)
	return func(yield func(*Page[T], error) bool) {
		if err != nil {
			yield(nil, err)
			return
		}
		for it := range run(ctx, c, first, c.pageSize(opts), decoderFor[T](), 0, 0) {
			if it.err != nil {
				yield(nil, it.err)
				return
			}
			if it.page != nil && !yield(it.page, nil) {
				return
			}
		}
	}
}

// FetchPage fetches the first page of soql, decoding records into T.
func FetchPage[T any](ctx context.Context, c *Client, soql string, opts *QueryOptions) (*Page[T], error) {
	r, err := c.queryRequest(soql, opts)
	if err != nil {
		return nil, err
	}
	return fetchOne[T](ctx, c, r)
}

// FetchNextPage fetches the page at nextRecordsURL, decoding records into T.
func FetchNextPage[T any](ctx context.Context, c *Client, nextRecordsURL string) (*Page[T], error) {
	r, err := c.locatorRequest(nextRecordsURL, 0)
	if err != nil {
		return nil, err
	}
	return fetchOne[T](ctx, c, r)
}

func fetchOne[T any](ctx context.Context, c *Client, r *request) (*Page[T], error) {
	p := &pager[T]{c: c, decode: decoderFor[T]()}
	page := &Page[T]{}
	meta, err := p.fetchPage(ctx, r, nil, nil, func(v T) error {
		page.Records = append(page.Records, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	page.TotalSize, page.Done, page.NextRecordsURL, page.Limit = meta.TotalSize, meta.Done, meta.NextRecordsURL, meta.Limit
	if page.Records == nil {
		page.Records = []T{}
	}
	return page, nil
}

func (c *Client) pageSize(opts *QueryOptions) int {
	switch {
	case opts != nil && opts.BatchSize > 0:
		return opts.BatchSize
	case c.batchSize > 0:
		return c.batchSize
	}
	return 2000
}

// recordChunk is how many records travel together from the decoder to the
// caller: large enough to make channel operations cheap, small enough that
// the first rows arrive early.
func recordChunk(pageSize int) int { return min(max(pageSize/8, 16), 250) }

// chunkBacklog bounds the decoded records waiting ahead of the caller to
// about one page.
func chunkBacklog(pageSize, chunk int) int { return max(1, pageSize/chunk) }

func (c *Client) queryRequest(soql string, opts *QueryOptions) (*request, error) {
	if strings.TrimSpace(soql) == "" {
		return nil, errors.New("rest: empty SOQL query")
	}
	path := "query"
	if opts != nil && opts.All {
		path = "queryAll"
	}
	r := &request{method: http.MethodGet, path: path, query: url.Values{"q": {soql}}}
	c.addBatchHeader(r, c.pageSize(opts))
	return r, nil
}

func (c *Client) locatorRequest(next string, batch int) (*request, error) {
	u, err := url.Parse(next)
	if err != nil || !strings.HasPrefix(u.Path, "/services/data/") || u.Host != "" {
		return nil, fmt.Errorf("rest: %q is not a nextRecordsUrl (want /services/data/vNN.N/query/<locator>)", next)
	}
	r := &request{method: http.MethodGet, path: next}
	if batch > 0 {
		c.addBatchHeader(r, batch)
	}
	return r, nil
}

func (c *Client) addBatchHeader(r *request, size int) {
	if size != 2000 || c.batchSize > 0 {
		r.header = http.Header{"Sforce-Query-Options": {"batchSize=" + strconv.Itoa(size)}}
	}
}

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

// decodePage reads one query result object from body as a stream, calling
// emit for each record after the first skip. n is the number of records
// decoded completely, skipped ones included.
//
// The page is split into values by a byte scanner that buffers one record
// at a time; each record is then validated and decoded in one pass
// ([recordDecoder] for [Record], encoding/json otherwise). A body that ends
// early fails with io.ErrUnexpectedEOF.
func decodePage[T any](body io.Reader, decode func([]byte) (T, error), skip int, early func(pageMeta), emit func(T) error) (meta pageMeta, n int, err error) {
	ps := &pageScanner{r: bufio.NewReaderSize(body, 32<<10)}
	fail := func(e error) (pageMeta, int, error) {
		if errors.Is(e, errConsumerGone) {
			return meta, n, e
		}
		if errors.Is(e, io.EOF) {
			e = io.ErrUnexpectedEOF
		}
		return meta, n, &bodyError{e}
	}
	if err := ps.expect('{'); err != nil {
		return fail(err)
	}
	sawDone := false
	for first := true; ; first = false {
		c, err := ps.peek()
		if err != nil {
			return fail(err)
		}
		if c == '}' {
			_, _ = ps.r.ReadByte() // the byte peek just returned
			break
		}
		if !first {
			if err := ps.expect(','); err != nil {
				return fail(err)
			}
		}
		key, err := ps.key()
		if err != nil {
			return fail(err)
		}
		switch key {
		case "records":
			if early != nil {
				early(meta)
			}
			err = decodeRecords(ps, decode, skip, &n, emit)
		case "totalSize":
			err = ps.scalar(&meta.TotalSize)
		case "done":
			err = ps.scalar(&meta.Done)
			sawDone = true
		case "nextRecordsUrl":
			var u *string
			if err = ps.scalar(&u); err == nil && u != nil {
				meta.NextRecordsURL = *u
			}
		default:
			var raw []byte
			if raw, err = ps.value(nil); err == nil && !jsonscan.Valid(raw) {
				err = fmt.Errorf("invalid JSON in field %q", key)
			}
		}
		if err != nil {
			return fail(err)
		}
	}
	if !sawDone {
		return fail(errors.New(`the object has no "done" field`))
	}
	return meta, n, nil
}

func decodeRecords[T any](ps *pageScanner, decode func([]byte) (T, error), skip int, n *int, emit func(T) error) error {
	c, err := ps.peek()
	if err != nil {
		return err
	}
	if c == 'n' {
		var null any
		return ps.scalar(&null)
	}
	if err := ps.expect('['); err != nil {
		return err
	}
	var raw []byte
	for first := true; ; first = false {
		c, err := ps.peek()
		if err != nil {
			return err
		}
		if c == ']' {
			_, _ = ps.r.ReadByte() // the byte peek just returned
			return nil
		}
		if !first {
			if err := ps.expect(','); err != nil {
				return err
			}
		}
		if raw, err = ps.value(raw[:0]); err != nil {
			return err
		}
		v, err := decode(raw)
		if err != nil {
			return fmt.Errorf("record %d of the page: %w", *n+1, err)
		}
		*n++
		if *n <= skip {
			continue
		}
		if err := emit(v); err != nil {
			return err
		}
	}
}

// pageScanner splits a JSON stream into values without decoding them.
type pageScanner struct {
	r *bufio.Reader
}

// peek returns the next byte that is not white space, without consuming it.
func (ps *pageScanner) peek() (byte, error) {
	for {
		c, err := ps.r.ReadByte()
		if err != nil {
			return 0, err
		}
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c, ps.r.UnreadByte()
		}
	}
}

func (ps *pageScanner) expect(want byte) error {
	c, err := ps.peek()
	if err != nil {
		return err
	}
	if c != want {
		return fmt.Errorf("want %q, found %q", want, c)
	}
	_, err = ps.r.ReadByte()
	return err
}

// key reads a field name and the colon after it.
func (ps *pageScanner) key() (string, error) {
	raw, err := ps.value(nil)
	if err != nil {
		return "", err
	}
	var k string
	if err := json.Unmarshal(raw, &k); err != nil {
		return "", fmt.Errorf("field name: %w", err)
	}
	return k, ps.expect(':')
}

// scalar reads one value into v with encoding/json.
func (ps *pageScanner) scalar(v any) error {
	raw, err := ps.value(nil)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// value appends the bytes of the next JSON value to dst. It tracks strings
// and nesting only; validation is left to the decoder of the bytes.
func (ps *pageScanner) value(dst []byte) ([]byte, error) {
	c, err := ps.peek()
	if err != nil {
		return dst, err
	}
	switch c {
	case '{', '[', '"':
		// Scan the reader's buffer in place; copy what belongs to the value.
		// Inside a string, jump to the next quote or backslash.
		depth, inString, escaped := 0, false, false
		for {
			if ps.r.Buffered() == 0 {
				if _, err := ps.r.Peek(1); err != nil {
					return dst, err
				}
			}
			buf, _ := ps.r.Peek(ps.r.Buffered())
			i := 0
			for i < len(buf) {
				if escaped {
					escaped = false
					i++
					continue
				}
				if inString {
					j := jsonscan.IndexQuoteOrBackslash(buf[i:])
					if j < 0 {
						break // the string goes on past the buffer
					}
					i += j + 1
					if buf[i-1] == '\\' {
						escaped = true
						continue
					}
					inString = false
				} else {
					b := buf[i]
					i++
					switch b {
					case '"':
						inString = true
						continue
					case '{', '[':
						depth++
						continue
					case '}', ']':
						depth--
					default:
						continue
					}
				}
				if depth == 0 {
					dst = append(dst, buf[:i]...)
					_, err := ps.r.Discard(i)
					return dst, err
				}
			}
			dst = append(dst, buf...)
			if _, err := ps.r.Discard(len(buf)); err != nil {
				return dst, err
			}
		}
	default:
		for {
			b, err := ps.r.ReadByte()
			if err != nil {
				if errors.Is(err, io.EOF) && len(dst) > 0 {
					return dst, io.ErrUnexpectedEOF
				}
				return dst, err
			}
			switch b {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return dst, ps.r.UnreadByte()
			}
			dst = append(dst, b)
		}
	}
}

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
