package rest

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// renderPage renders the page at off of a query over total records.
func renderPage(off, size, total int) []byte {
	f := &fakeOrg{records: total}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Sforce-Query-Options", fmt.Sprintf("batchSize=%d", size))
	return f.page(r, off)
}

// BenchmarkDecodePage measures the streaming page decoder alone on a page
// of 2,000 Case records (about 500 bytes each).
func BenchmarkDecodePage(b *testing.B) {
	page := renderPage(0, 2000, 2000)
	b.Run("Record", func(b *testing.B) {
		benchDecode[Record](b, page)
	})
	b.Run("struct", func(b *testing.B) {
		benchDecode[caseRow](b, page)
	})
	// The same records through encoding/json into map[string]any: the
	// baseline the Record decoder is measured against.
	b.Run("map-encoding-json", func(b *testing.B) {
		benchDecode[map[string]any](b, page)
	})
}

func benchDecode[T any](b *testing.B, page []byte) {
	b.Helper()
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		_, _, err := decodePage(bytes.NewReader(page), decoderFor[T](), 0, nil, func(T) error { n++; return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(testing.AllocsPerRun(1, func() {
		_, _, _ = decodePage(bytes.NewReader(page), decoderFor[T](), 0, nil, func(T) error { return nil })
	}))/2000, "allocs/record")
}

// BenchmarkQueryLoopback runs Query end to end over HTTP on loopback: 100,000
// records in pages of 2,000 served from memory (pre-rendered, so the
// server's cost is only the copy), through auth.Transport, retries,
// prefetch and the decoder.
func BenchmarkQueryLoopback(b *testing.B) {
	const total = 100_000
	pages := map[string][]byte{}
	for off := 0; off < total; off += 2000 {
		key := "/services/data/v66.0/query"
		if off > 0 {
			key = fmt.Sprintf("/services/data/v66.0/query/%s-%d", locatorID, off)
		}
		pages[key] = renderPage(off, 2000, total)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Sforce-Limit-Info", "api-usage=1/15000")
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	defer srv.Close()
	f := &fakeOrg{srv: srv, valid: map[string]bool{}}
	var mints atomic.Int64
	c, err := New(f.source(&mints), WithAPIVersion("66.0"))
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, decode func() (int, error)) {
		b.Helper()
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			got, err := decode()
			if err != nil {
				b.Fatal(err)
			}
			if got != total {
				b.Fatalf("%d records", got)
			}
			n += got
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
	}
	b.Run("Record", func(b *testing.B) {
		run(b, func() (int, error) {
			n := 0
			for r, err := range c.Query.Records(b.Context(), "SELECT Id FROM Case", nil) {
				if err != nil {
					return n, err
				}
				if !strings.HasPrefix(r.ID(), "500") {
					return n, fmt.Errorf("bad record %v", r)
				}
				n++
			}
			return n, nil
		})
	})
	b.Run("struct", func(b *testing.B) {
		run(b, func() (int, error) {
			n := 0
			for r, err := range Query[caseRow](b.Context(), c, "SELECT Id FROM Case", nil) {
				if err != nil {
					return n, err
				}
				if r.ID == "" {
					return n, fmt.Errorf("bad record %v", r)
				}
				n++
			}
			return n, nil
		})
	})
}
