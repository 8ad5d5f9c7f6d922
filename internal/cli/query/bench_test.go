package query

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/output"
)

// countingWriter discards output and counts lines.
type countingWriter struct{ lines atomic.Int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.lines.Add(int64(bytes.Count(p, []byte{'\n'})))
	return len(p), nil
}

// BenchmarkQueryCSVStream runs `sfbridge query --csv` end to end against a
// loopback server that renders 200,000 Case records in pages of 2,000, and
// reports the peak Go heap while streaming: it must stay flat however many
// records flow through.
func BenchmarkQueryCSVStream(b *testing.B) {
	const total = 200_000
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		off := 0
		if i := strings.LastIndexByte(r.URL.Path, '-'); i > 0 && strings.Contains(r.URL.Path, "/query/") {
			fmt.Sscanf(r.URL.Path[i+1:], "%d", &off)
		}
		end := min(off+2000, total)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"totalSize":%d,"done":%t,`, total, end == total)
		if end < total {
			fmt.Fprintf(w, `"nextRecordsUrl":"/services/data/v66.0/query/01gxx0000000001AAA-%d",`, end)
		}
		io.WriteString(w, `"records":[`)
		for i := off; i < end; i++ {
			if i > off {
				w.Write([]byte{','})
			}
			fmt.Fprintf(w, `{"attributes":{"type":"Case","url":"/services/data/v66.0/sobjects/Case/500xx%013d"},"Id":"500xx%013d","CaseNumber":"%08d","Subject":"Printer on floor %d","Status":"New","Priority":"Medium","SystemModstamp":"2025-06-01T10:00:00.000+0000"}`, i, i, i, i%40)
		}
		io.WriteString(w, `]}`)
	}))
	defer srv.Close()

	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()
	n := 0
	for b.Loop() {
		ios, _, _, _ := iostreams.Test()
		cw := &countingWriter{}
		ios.Out = cw
		opts := &Options{IO: ios, Open: opener(b, srv), SOQL: "SELECT Id, CaseNumber, Subject, Status, Priority, SystemModstamp FROM Case", Output: output.Flags{CSV: true}}
		if err := run(b.Context(), opts); err != nil {
			b.Fatal(err)
		}
		if got := cw.lines.Load(); got != total+1 {
			b.Fatalf("%d lines", got)
		}
		n += total
	}
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
}
