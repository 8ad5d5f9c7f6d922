package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// checkSequence fails unless recs are records 0..n-1 in order.
func checkSequence(t *testing.T, recs []Record, n int) {
	t.Helper()
	if len(recs) != n {
		t.Fatalf("got %d records, want %d", len(recs), n)
	}
	for i, r := range recs {
		if r.ID() != recordID(i) {
			t.Fatalf("record %d has Id %s, want %s (out of order, duplicated or dropped)", i, r.ID(), recordID(i))
		}
	}
}

func TestQueryStreamsEveryPageInOrder(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run(fmt.Sprintf("gzip=%t", gz), func(t *testing.T) {
			f := newFakeOrg(t, 5432)
			f.gzip = gz
			c, _ := f.client(t)
			recs, err := readRecords(c.Query.Records(t.Context(), "SELECT Id FROM Case", nil))
			if err != nil {
				t.Fatal(err)
			}
			checkSequence(t, recs, 5432)
			if got := f.callsTo("GET /services/data/v66.0/query"); got != 3 {
				t.Errorf("%d query requests, want 3 (pages of 2000, 2000, 1432)", got)
			}
			if v, _ := c.APIVersion(t.Context()); v != "66.0" {
				t.Errorf("negotiated version %q, want the highest listed, 66.0", v)
			}
			li, ok := c.APIUsage()
			if !ok || li.Max != 15000 || li.Used != f.used.Load() {
				t.Errorf("APIUsage = %+v, %t; want the last header (used %d of 15000)", li, ok, f.used.Load())
			}
			if ua := *f.lastUA.Load(); !strings.Contains(ua, "sfbridge-rest/") {
				t.Errorf("User-Agent %q does not name sfbridge", ua)
			}
			if ae := *f.lastAE.Load(); ae != "gzip" {
				t.Errorf("Accept-Encoding %q, want gzip", ae)
			}
			email, ok := recs[7].Field("contact.email")
			if !ok || email != "jane.doe@example.com" {
				t.Errorf("Field(contact.email) = %v, %t", email, ok)
			}
			if recs[7].Type() != "Case" {
				t.Errorf("Type() = %q", recs[7].Type())
			}
		})
	}
}

func TestQueryBatchSizeAndQueryAll(t *testing.T) {
	f := newFakeOrg(t, 1000)
	c, _ := f.client(t, WithBatchSize(200))
	recs, err := readRecords(QueryAll[Record](t.Context(), c, "SELECT Id FROM Case", nil))
	if err != nil {
		t.Fatal(err)
	}
	checkSequence(t, recs, 1000)
	if got := f.callsTo("GET /services/data/v66.0/queryAll"); got != 1 {
		t.Errorf("%d queryAll requests, want 1", got)
	}
	if got := f.callsTo("GET /services/data/v66.0/query/"); got != 4 {
		t.Errorf("%d locator requests, want 4 pages of 200 after the first", got)
	}
	if o := *f.lastOpts.Load(); o != "batchSize=200" {
		t.Errorf("Sforce-Query-Options %q on the locator requests, want batchSize=200", o)
	}
}

type caseRow struct {
	Attributes     Attributes `json:"attributes"`
	ID             string     `json:"Id"`
	Subject        string     `json:"Subject"`
	Seq            int        `json:"Seq"`
	SystemModstamp DateTime   `json:"SystemModstamp"`
	Contact        *struct {
		Email string `json:"Email"`
	} `json:"Contact"`
}

func TestQueryDecodesIntoStructs(t *testing.T) {
	f := newFakeOrg(t, 2500)
	c, _ := f.client(t)
	rows, err := readRecords(Query[caseRow](t.Context(), c, "SELECT Id FROM Case", nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2500 {
		t.Fatalf("%d rows", len(rows))
	}
	r := rows[2061]
	want := time.Date(2025, 6, 1, 10, 34, 21, 0, time.UTC)
	if r.Seq != 2061 || r.ID != recordID(2061) || r.Attributes.Type != "Case" || r.Contact == nil || r.Contact.Email != "jane.doe@example.com" || !r.SystemModstamp.Equal(want) {
		t.Errorf("row 2061 = %+v", r)
	}
	if r.Subject != `Printer on floor 21 is "jammed"` {
		t.Errorf("Subject %q", r.Subject)
	}
}

func TestPagesAndPageLevelAccess(t *testing.T) {
	f := newFakeOrg(t, 4100)
	c, _ := f.client(t)
	var sizes []int
	for p, err := range c.Query.Pages(t.Context(), "SELECT Id FROM Case", nil) {
		if err != nil {
			t.Fatal(err)
		}
		if p.TotalSize != 4100 {
			t.Errorf("TotalSize %d", p.TotalSize)
		}
		sizes = append(sizes, len(p.Records))
	}
	if fmt.Sprint(sizes) != "[2000 2000 100]" {
		t.Errorf("page sizes %v", sizes)
	}

	p, err := c.Query.Page(t.Context(), "SELECT Id FROM Case", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Done || p.NextRecordsURL != "/services/data/v66.0/query/"+locatorID+"-2000" || len(p.Records) != 2000 {
		t.Fatalf("first page: done=%t next=%q records=%d", p.Done, p.NextRecordsURL, len(p.Records))
	}
	if p.Limit == nil || p.Limit.Max != 15000 || p.Limit.Used == 0 {
		t.Errorf("page Limit = %+v, want the response's Sforce-Limit-Info", p.Limit)
	}
	p2, err := c.Query.NextPage(t.Context(), p.NextRecordsURL)
	if err != nil {
		t.Fatal(err)
	}
	if p2.Records[0].ID() != recordID(2000) {
		t.Errorf("second page starts with %s", p2.Records[0].ID())
	}
	if _, err := c.Query.NextPage(t.Context(), "https://evil.example/services/data/v66.0/query/x"); err == nil {
		t.Error("NextPage accepted an absolute URL on another host")
	}
}

func TestQueryFaultsInTheMiddleOfPaging(t *testing.T) {
	const total = 5000 // pages: 0-1999, 2000-3999, 4000-4999
	page2 := "/services/data/v66.0/query/" + locatorID + "-2000"
	once := func(ft fault) func(*fakeOrg, *http.Request, int) fault {
		return func(_ *fakeOrg, r *http.Request, n int) fault {
			if r.URL.Path == page2 && n == 1 {
				return ft
			}
			return fault{}
		}
	}
	always := func(ft fault) func(*fakeOrg, *http.Request, int) fault {
		return func(_ *fakeOrg, r *http.Request, n int) fault {
			if r.URL.Path == page2 {
				return ft
			}
			return fault{}
		}
	}
	cases := []struct {
		name      string
		faults    func(*fakeOrg, *http.Request, int) fault
		gzip      bool
		wantErr   func(error) bool // nil: the query must complete
		page2Hits int
		mints     int64
	}{
		{name: "503 once", faults: once(fault{status: 503, body: `[{"message":"Server busy","errorCode":"SERVER_UNAVAILABLE"}]`}), page2Hits: 2, mints: 1},
		{name: "500 HTML once", faults: once(fault{status: 500, body: `<html>oops</html>`}), page2Hits: 2, mints: 1},
		{name: "connection reset before response", faults: once(fault{reset: true}), page2Hits: 2, mints: 1},
		{name: "session expired", faults: once(fault{revoke: true}), page2Hits: 2, mints: 2},
		{name: "UNABLE_TO_LOCK_ROW", faults: once(fault{status: 400, body: `[{"message":"unable to obtain exclusive access to this record","errorCode":"UNABLE_TO_LOCK_ROW"}]`}), page2Hits: 2, mints: 1},
		{name: "truncated body", faults: once(fault{truncate: 300_000}), page2Hits: 2, mints: 1},
		{name: "truncated gzip body", gzip: true, faults: once(fault{truncate: 9000}), page2Hits: 2, mints: 1},
		{name: "truncated inside the header", faults: once(fault{truncate: 20}), page2Hits: 2, mints: 1},
		{
			name: "always truncated", faults: always(fault{truncate: 300_000}), page2Hits: 4, mints: 1,
			wantErr: func(err error) bool {
				var pe *PageError
				return errors.As(err, &pe) && pe.Delivered > 0 && strings.Contains(err.Error(), "incomplete")
			},
		},
		{
			name: "always 503", faults: always(fault{status: 503, body: `[{"message":"busy","errorCode":"SERVER_UNAVAILABLE"}]`}), page2Hits: 4, mints: 1,
			wantErr: func(err error) bool {
				var ae *APIError
				return errors.As(err, &ae) && ae.StatusCode == http.StatusServiceUnavailable
			},
		},
		{
			name: "REQUEST_LIMIT_EXCEEDED is not retried", faults: once(fault{status: 403, body: `[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`}), page2Hits: 1, mints: 1,
			wantErr: func(err error) bool { return errors.Is(err, ErrRequestLimitExceeded) },
		},
		{
			name: "locator expired", faults: once(fault{status: 400, body: `[{"message":"invalid query locator","errorCode":"INVALID_QUERY_LOCATOR"}]`}), page2Hits: 1, mints: 1,
			wantErr: func(err error) bool { return errors.Is(err, ErrInvalidQueryLocator) },
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeOrg(t, total)
			f.gzip = tc.gzip
			f.faults = tc.faults
			c, mints := f.client(t)
			recs, err := readRecords(c.Query.Records(t.Context(), "SELECT Id FROM Case", nil))
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("query failed: %v", err)
				}
				checkSequence(t, recs, total)
			} else {
				if err == nil || !tc.wantErr(err) {
					t.Fatalf("error = %v (%T), not the one expected", err, err)
				}
				// What was delivered is a gapless prefix.
				checkSequence(t, recs, len(recs))
				if len(recs) < 2000 {
					t.Errorf("only %d records before the error; the first page was complete", len(recs))
				}
			}
			if got := f.callsTo("GET " + page2); got != tc.page2Hits {
				t.Errorf("page 2 requested %d times, want %d", got, tc.page2Hits)
			}
			if got := mints.Load(); got != tc.mints {
				t.Errorf("%d sessions minted, want %d", got, tc.mints)
			}
		})
	}
}

func TestQueryErrorShowsSalesforceCodeAndMessage(t *testing.T) {
	f := newFakeOrg(t, 10)
	c, _ := f.client(t)
	_, err := readRecords(c.Query.Records(t.Context(), "SELECT Id FORM Case", nil))
	if !errors.Is(err, ErrMalformedQuery) {
		t.Fatalf("err = %v, want MALFORMED_QUERY", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusBadRequest || ae.Method != http.MethodGet {
		t.Fatalf("APIError = %+v", ae)
	}
	msg := err.Error()
	for _, want := range []string{"MALFORMED_QUERY", "unexpected token: FORM", "400", "fix the SOQL"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "tok-1") {
		t.Errorf("error leaks the access token: %q", msg)
	}
	if f.callsTo("GET /services/data/v66.0/query") != 1 {
		t.Error("a 400 was retried")
	}
}

func TestQueryStopEarlyReleasesEverything(t *testing.T) {
	f := newFakeOrg(t, 20000)
	c, _ := f.client(t)
	before := goleak.IgnoreCurrent()
	n := 0
	for _, err := range c.Query.Records(t.Context(), "SELECT Id FROM Case", nil) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 2500 {
			break
		}
	}
	// The producer and any prefetch have exited once the loop returns.
	// Kept-alive connections (one per request that was in flight) and the
	// test server's handlers may linger; nothing else may.
	if err := goleak.Find(before,
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreAnyFunction("net/http.(*conn).serve"),
	); err != nil {
		t.Error(err)
	}
	// Bounded read-ahead: while the caller is at record 2,500 (page 2),
	// the producer may hold one page of decoded records (to 4,750, page 3)
	// and have requested the page after that; never the other 6 pages.
	if got := f.callsTo("GET /services/data/v66.0/query/"); got > 3 {
		t.Errorf("%d locator pages fetched for 2,500 records read; read-ahead must stay about one page", got)
	}
}

func TestQueryCountAndEmptyQuery(t *testing.T) {
	f := newFakeOrg(t, 0)
	f.handlers["GET /services/data/v66.0/query"] = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"totalSize":42,"done":true,"records":[]}`)
	}
	c, _ := f.client(t)
	n, err := c.Query.Count(t.Context(), "SELECT COUNT() FROM Case", nil)
	if err != nil || n != 42 {
		t.Fatalf("Count = %d, %v", n, err)
	}
	recs, err := readRecords(c.Query.Records(t.Context(), "SELECT COUNT() FROM Case", nil))
	if err != nil || len(recs) != 0 {
		t.Fatalf("records %v, %v", recs, err)
	}
	if _, err := readRecords(c.Query.Records(t.Context(), "  ", nil)); err == nil {
		t.Error("empty SOQL accepted")
	}
}

func TestQueryShortResultIsAnError(t *testing.T) {
	f := newFakeOrg(t, 0)
	f.handlers["GET /services/data/v66.0/query"] = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"totalSize":3,"done":true,"records":[{"Id":"500RO0000000000001"}]}`)
	}
	c, _ := f.client(t)
	recs, err := readRecords(c.Query.Records(t.Context(), "SELECT Id FROM Case", nil))
	if err == nil || !strings.Contains(err.Error(), "totalSize 3") || len(recs) != 1 {
		t.Fatalf("records %d, err %v; want the one record and an error about missing ones", len(recs), err)
	}
}

func TestQueryNotDoneWithoutLocatorIsAnError(t *testing.T) {
	f := newFakeOrg(t, 0)
	f.handlers["GET /services/data/v66.0/query"] = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"totalSize":3,"done":false,"records":[{"Id":"500RO0000000000001"}]}`)
	}
	c, _ := f.client(t)
	_, err := readRecords(c.Query.Records(t.Context(), "SELECT Id FROM Case", nil))
	if err == nil || !strings.Contains(err.Error(), "no nextRecordsUrl") {
		t.Fatalf("err = %v", err)
	}
}

func TestQueryContextCancelled(t *testing.T) {
	f := newFakeOrg(t, 9000)
	c, _ := f.client(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	n := 0
	var last error
	for _, err := range c.Query.Records(ctx, "SELECT Id FROM Case", nil) {
		if err != nil {
			last = err
			break
		}
		if n++; n == 100 {
			cancel()
		}
	}
	if n == 9000 {
		t.Fatal("query ran to the end despite cancellation")
	}
	if !errors.Is(last, context.Canceled) {
		t.Fatalf("err = %v after %d records, want context.Canceled", last, n)
	}
}

// TestAPIUsageKeepsTheLatestSentRequests: with two requests in flight (a
// query reads its next page ahead), the answer to the older one arriving
// last must not replace the newer count.
func TestAPIUsageKeepsTheLatestSentRequests(t *testing.T) {
	f := newFakeOrg(t, 0)
	const older, newer = "500RO0000000001AAA", "500RO0000000002AAA"
	entered, release := make(chan struct{}), make(chan struct{})
	f.handlers["GET /services/data/v66.0/sobjects/Case/"+older] = func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		writeJSON(w, 200, `{"attributes":{"type":"Case"},"Id":"`+older+`"}`)
	}
	f.handlers["GET /services/data/v66.0/sobjects/Case/"+newer] = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"attributes":{"type":"Case"},"Id":"`+newer+`"}`)
	}
	c, _ := f.client(t)
	done := make(chan error)
	go func() {
		_, err := c.SObjects.Get(t.Context(), "Case", older)
		done <- err
	}()
	<-entered // the older request has been sent and counted (used 1)
	if _, err := c.SObjects.Get(t.Context(), "Case", newer); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if li, ok := c.APIUsage(); !ok || li.Used != 2 {
		t.Fatalf("APIUsage = %+v, %t; want used 2, from the request sent last", li, ok)
	}
}
