package rest

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/auth"
)

// fakeOrg speaks the REST shapes of salesforce-rest.md: the versions list,
// query pages with nextRecordsUrl locators "<01g id>-<offset>", 401
// INVALID_SESSION_ID error arrays for unknown tokens, and Sforce-Limit-Info
// on every response but the versions list. Faults are injected per request.
type fakeOrg struct {
	t       *testing.T
	srv     *httptest.Server
	records int // rows the query matches
	gzip    bool

	mu       sync.Mutex
	valid    map[string]bool
	calls    []string // "METHOD path" of every request, in order
	faults   func(f *fakeOrg, r *http.Request, n int) fault
	perPath  map[string]int
	handlers map[string]http.HandlerFunc // "METHOD /path" → handler (non-query resources)
	used     atomic.Int64
	lastUA   atomic.Pointer[string]
	lastAE   atomic.Pointer[string]
	lastOpts atomic.Pointer[string]
}

// fault is what the fake does instead of (or to) a normal answer.
type fault struct {
	status   int    // answer with this status and body
	body     string // for status
	truncate int    // write only this many body bytes, then close
	reset    bool   // reset the connection before answering
	revoke   bool   // revoke every session, then answer normally (so 401)
}

const locatorID = "01gRO0000016PIAYA2"

func newFakeOrg(t *testing.T, records int) *fakeOrg {
	t.Helper()
	f := &fakeOrg{t: t, records: records, valid: map[string]bool{}, perPath: map[string]int{}, handlers: map[string]http.HandlerFunc{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// source returns a CachedSource that mints tok-1, tok-2, … and registers
// each with the fake; mints counts them.
func (f *fakeOrg) source(mints *atomic.Int64) *auth.CachedSource {
	return auth.NewCachedSource(func(context.Context) (*auth.Token, error) {
		n := mints.Add(1)
		tok := fmt.Sprintf("tok-%d", n)
		f.mu.Lock()
		f.valid[tok] = true
		f.mu.Unlock()
		return &auth.Token{AccessToken: tok, InstanceURL: f.srv.URL, IdentityURL: f.srv.URL + "/id/00D000000000001AAA/005000000000001AAA"}, nil
	})
}

// client returns a Client on the fake with retries that do not sleep.
func (f *fakeOrg) client(t *testing.T, opts ...Option) (*Client, *atomic.Int64) {
	t.Helper()
	var mints atomic.Int64
	opts = append([]Option{WithRetry(RetryPolicy{Sleep: func(context.Context, time.Duration) error { return nil }})}, opts...)
	c, err := New(f.source(&mints), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c, &mints
}

func (f *fakeOrg) callsTo(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

func (f *fakeOrg) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	f.perPath[r.Method+" "+r.URL.Path]++
	n := f.perPath[r.Method+" "+r.URL.Path]
	faults := f.faults
	f.mu.Unlock()
	ua, ae, qo := r.Header.Get("User-Agent"), r.Header.Get("Accept-Encoding"), r.Header.Get("Sforce-Query-Options")
	f.lastUA.Store(&ua)
	f.lastAE.Store(&ae)
	f.lastOpts.Store(&qo)

	if r.URL.Path == "/services/data/" || r.URL.Path == "/services/data" {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `[{"label":"Spring '25","url":"/services/data/v63.0","version":"63.0"},{"label":"Winter '26","url":"/services/data/v65.0","version":"65.0"},{"label":"Spring '26","url":"/services/data/v66.0","version":"66.0"},{"label":"Winter '09","url":"/services/data/v9.0","version":"9.0"}]`)
		return
	}
	var ft fault
	if faults != nil {
		ft = faults(f, r, n)
	}
	if ft.reset {
		resetConn(w)
		return
	}
	if ft.revoke {
		f.mu.Lock()
		clear(f.valid)
		f.mu.Unlock()
	}
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	ok := f.valid[tok]
	f.mu.Unlock()
	w.Header().Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/15000", f.used.Add(1)))
	if !ok {
		writeJSON(w, http.StatusUnauthorized, `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`)
		return
	}
	if ft.status != 0 {
		writeJSON(w, ft.status, ft.body)
		return
	}
	body, status := f.route(w, r)
	if body == nil {
		return
	}
	f.write(w, r, status, body, ft.truncate)
}

func (f *fakeOrg) route(w http.ResponseWriter, r *http.Request) ([]byte, int) {
	p := r.URL.Path
	if h, ok := f.handlers[r.Method+" "+p]; ok {
		h(w, r)
		return nil, 0
	}
	switch {
	case r.Method == http.MethodGet && (p == "/services/data/v66.0/query" || p == "/services/data/v66.0/queryAll"):
		q := r.URL.Query().Get("q")
		if strings.Contains(q, "FORM") {
			return []byte(`[{"message":"\nSELECT Id FORM Case\n          ^\nERROR at Row:1:Column:11\nunexpected token: FORM","errorCode":"MALFORMED_QUERY"}]`), http.StatusBadRequest
		}
		return f.page(r, 0), http.StatusOK
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/services/data/v66.0/query/"+locatorID+"-"):
		off, err := strconv.Atoi(strings.TrimPrefix(p, "/services/data/v66.0/query/"+locatorID+"-"))
		if err != nil || off <= 0 || off >= f.records {
			return []byte(`[{"message":"invalid query locator","errorCode":"INVALID_QUERY_LOCATOR"}]`), http.StatusBadRequest
		}
		return f.page(r, off), http.StatusOK
	}
	return []byte(`[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]`), http.StatusNotFound
}

func batchSize(r *http.Request) int {
	n := 2000
	if v, ok := strings.CutPrefix(r.Header.Get("Sforce-Query-Options"), "batchSize="); ok {
		if b, err := strconv.Atoi(v); err == nil {
			n = b
		}
	}
	return n
}

// page renders the query page starting at off, keys in Salesforce's
// order: totalSize, done, nextRecordsUrl, records.
func (f *fakeOrg) page(r *http.Request, off int) []byte {
	end := min(off+batchSize(r), f.records)
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"totalSize":%d,"done":%t,`, f.records, end == f.records)
	if end < f.records {
		fmt.Fprintf(&b, `"nextRecordsUrl":"/services/data/v66.0/query/%s-%d",`, locatorID, end)
	}
	b.WriteString(`"records":[`)
	for i := off; i < end; i++ {
		if i > off {
			b.WriteByte(',')
		}
		writeRecord(&b, i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func recordID(i int) string { return fmt.Sprintf("500RO%013d", i) }

func writeRecord(b *bytes.Buffer, i int) {
	id := recordID(i)
	fmt.Fprintf(b, `{"attributes":{"type":"Case","url":"/services/data/v66.0/sobjects/Case/%s"},"Id":"%s","CaseNumber":"%08d","Subject":"Printer on floor %d is \"jammed\"","Status":"New","Priority":"Medium","IsClosed":false,"Seq":%d,"Contact":{"attributes":{"type":"Contact","url":"/services/data/v66.0/sobjects/Contact/003RO0000000001AAA"},"Email":"jane.doe@example.com"},"SystemModstamp":"2025-06-01T10:%02d:%02d.000+0000"}`,
		id, id, i+1000, i%40, i, (i/60)%60, i%60)
}

// write sends body, gzip-compressed when the client asked and the fake is
// set to; truncate > 0 sends only that many bytes of it, then closes.
func (f *fakeOrg) write(w http.ResponseWriter, r *http.Request, status int, body []byte, truncate int) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	if f.gzip && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(body)
		zw.Close()
		body = z.Bytes()
		w.Header().Set("Content-Encoding", "gzip")
	}
	if truncate > 0 && truncate < len(body) {
		hj, ok := w.(http.Hijacker)
		if !ok {
			f.t.Error("fake: cannot hijack to truncate")
			return
		}
		conn, buf, err := hj.Hijack()
		if err != nil {
			f.t.Error(err)
			return
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Header().Write(buf)
		buf.WriteString("\r\n")
		buf.Write(body[:truncate])
		buf.Flush()
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// resetConn drops the connection with a TCP reset before any response.
func resetConn(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// readRecords drains a Query iterator.
func readRecords[T any](seq func(func(T, error) bool)) ([]T, error) {
	var out []T
	for r, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}
