package data

import (
	"bytes"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/emulator/sfid"
)

var benchRecords = flag.Int("paging.records", 1_000_000, "Case records for BenchmarkQueryPaging and BenchmarkCaseMemory")

// discard is a ResponseWriter that keeps only the start of the body (where
// nextRecordsUrl is) and counts records, so the benchmark measures the
// server side and not a client's buffering.
type discard struct {
	h       http.Header
	code    int
	body    []byte
	records int
}

func (d *discard) Header() http.Header { return d.h }
func (d *discard) WriteHeader(c int)   { d.code = c }
func (d *discard) Write(b []byte) (int, error) {
	if len(d.body) < 512 {
		d.body = append(d.body, b[:min(len(b), 512-len(d.body))]...)
	}
	d.records += bytes.Count(b, []byte(`/sobjects/Case/`))
	return len(b), nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchStore(tb testing.TB, n int) *Store {
	tb.Helper()
	ids, _ := sfid.NewGenerator("xx", 0)
	s, err := NewStore(StoreOptions{IDs: ids, Now: func() time.Time { return testNow }})
	if err != nil {
		tb.Fatal(err)
	}
	for _, g := range []struct {
		obj string
		n   int
	}{{ObjAccount, 200}, {ObjContact, 2000}, {ObjCase, n}} {
		if err := s.Generate(g.obj, g.n, 42); err != nil {
			tb.Fatal(err)
		}
	}
	return s
}

// pageAll runs src and follows nextRecordsUrl to the end; it returns the
// number of records served and the time to the first page (evaluation). It
// fails the benchmark unless the pages together hold the first page's
// totalSize records.
func pageAll(b *testing.B, h http.Handler, p *Principal, src string) (int, time.Duration) {
	b.Helper()
	path := "/services/data/v62.0/query?q=" + url.QueryEscape(src)
	n, total := 0, -1
	start := time.Now()
	var first time.Duration
	for {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req = req.WithContext(WithPrincipal(req.Context(), p))
		w := &discard{h: http.Header{}}
		h.ServeHTTP(w, req)
		if w.code != 0 && w.code != 200 {
			b.Fatalf("status %d: %s", w.code, w.body)
		}
		n += w.records
		if first == 0 {
			first = time.Since(start)
		}
		if total < 0 {
			t, ok := totalSize(w.body)
			if !ok {
				b.Fatalf("first page has no totalSize: %s", w.body)
			}
			total = t
		}
		i := strings.Index(string(w.body), `"nextRecordsUrl":"`)
		if i < 0 {
			if n != total {
				b.Fatalf("served %d records, totalSize %d", n, total)
			}
			return n, first
		}
		rest := string(w.body[i+len(`"nextRecordsUrl":"`):])
		path = rest[:strings.IndexByte(rest, '"')]
	}
}

// totalSize reads "totalSize":N from the start of a query response.
func totalSize(body []byte) (int, bool) {
	const key = `"totalSize":`
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		return 0, false
	}
	rest := body[i+len(key):]
	end := bytes.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
	if end <= 0 {
		return 0, false
	}
	n, err := strconv.Atoi(string(rest[:end]))
	return n, err == nil
}

// BenchmarkQueryPaging serves a million Cases page by page (2000 per page)
// through the data API handler and reports records per second.
//
//	go test ./emulator/data -run '^$' -bench QueryPaging -benchtime 3x
func BenchmarkQueryPaging(b *testing.B) {
	s := benchStore(b, *benchRecords)
	h := NewAPI(s, APIOptions{})
	p := &Principal{UserID: sfid.Make("005", "xx", 1), Object: fullAccess}
	queries := map[string]string{
		"select": "SELECT Id, CaseNumber, Subject, Status, Priority, Origin, OwnerId, ContactId, ContactEmail, IsClosed, CreatedDate, LastModifiedDate, SystemModstamp FROM Case",
		"where":  "SELECT Id, CaseNumber, Subject, Status, SystemModstamp FROM Case WHERE IsClosed = false AND Priority IN ('High','Medium')",
		"order":  "SELECT Id, CaseNumber, Subject, SystemModstamp FROM Case WHERE SystemModstamp >= 2026-08-01T00:00:00Z ORDER BY SystemModstamp ASC, Id ASC",
		"parent": "SELECT Id, Subject, Contact.Email, Owner.Name FROM Case",
	}
	for _, name := range []string{"select", "where", "order", "parent"} {
		b.Run(name, func(b *testing.B) {
			total := 0
			var firstPages time.Duration
			start, cpu0 := time.Now(), cpuTime()
			for b.Loop() {
				n, first := pageAll(b, h, p, queries[name])
				total += n
				firstPages += first
			}
			elapsed := time.Since(start)
			b.ReportMetric(float64(firstPages.Milliseconds())/float64(b.N), "first-page-ms")
			b.ReportMetric(float64(total)/(elapsed-firstPages).Seconds(), "paging-records/s")
			b.ReportMetric(float64(total)/elapsed.Seconds(), "records/s")
			b.ReportMetric(float64(total)/(cpuTime()-cpu0).Seconds(), "records/cpu-s")
			b.ReportMetric(float64(total)/float64(b.N), "records/op")
		})
	}
}

// BenchmarkCaseMemory reports the heap held per generated Case record,
// including its id index entry.
//
//	go test ./emulator/data -run '^$' -bench CaseMemory -benchtime 1x
func BenchmarkCaseMemory(b *testing.B) {
	n := *benchRecords
	for b.Loop() {
		var before, after runtime.MemStats
		s := benchStore(b, 0)
		runtime.GC()
		runtime.ReadMemStats(&before)
		if err := s.Generate(ObjCase, n, 7); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "bytes/record")
		runtime.KeepAlive(s)
	}
}
