package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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
