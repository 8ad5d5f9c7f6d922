package query

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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

// casePages renders total Case records in pages of 2,000, gzip-compressed
// as Salesforce sends them to a client that accepts gzip, keyed by offset.
func casePages(tb testing.TB, total int) map[int][]byte {
	tb.Helper()
	pages := map[int][]byte{}
	for off := 0; off < total; off += 2000 {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		end := min(off+2000, total)
		fmt.Fprintf(zw, `{"totalSize":%d,"done":%t,`, total, end == total)
		if end < total {
			fmt.Fprintf(zw, `"nextRecordsUrl":"/services/data/v66.0/query/01gxx0000000001AAA-%d",`, end)
		}
		io.WriteString(zw, `"records":[`)
		for i := off; i < end; i++ {
			if i > off {
				zw.Write([]byte{','})
			}
			fmt.Fprintf(zw, `{"attributes":{"type":"Case","url":"/services/data/v66.0/sobjects/Case/500xx%013d"},"Id":"500xx%013d","CaseNumber":"%08d","Subject":"Printer on floor %d","Status":"New","Priority":"Medium","SystemModstamp":"2025-06-01T10:00:00.000+0000"}`, i, i, i, i%40)
		}
		io.WriteString(zw, `]}`)
		if err := zw.Close(); err != nil {
			tb.Fatal(err)
		}
		pages[off] = b.Bytes()
	}
	return pages
}

// pageServer serves pages rendered by casePages, so that a benchmark
// measures the client, not the rendering.
func pageServer(pages map[int][]byte) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		off := 0
		if i := strings.LastIndexByte(r.URL.Path, '-'); i > 0 && strings.Contains(r.URL.Path, "/query/") {
			fmt.Sscanf(r.URL.Path[i+1:], "%d", &off)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(pages[off])
	}))
}

// BenchmarkQueryStream runs `sfbridge query` end to end, as CSV and as
// JSON, against a loopback server that sends 200,000 gzip-compressed Case
// records in pages of 2,000, and reports the peak Go heap while streaming:
// it must stay flat however many records flow through.
func BenchmarkQueryStream(b *testing.B) {
	const total = 200_000
	srv := pageServer(casePages(b, total))
	defer srv.Close()
	for _, bc := range []struct {
		name  string
		flags output.Flags
		lines int64
	}{
		{"csv", output.Flags{CSV: true}, total + 1},
		{"json", output.Flags{JSON: true}, total + 2},
	} {
		b.Run(bc.name, func(b *testing.B) {
			peak := watchHeap()
			cpu0 := cpuTime(b)
			n := 0
			for b.Loop() {
				ios, _, _, _ := iostreams.Test()
				cw := &countingWriter{}
				ios.Out = cw
				opts := &Options{IO: ios, Org: opener(b, srv), SOQL: "SELECT Id, CaseNumber, Subject, Status, Priority, SystemModstamp FROM Case", Output: bc.flags}
				if err := run(b.Context(), opts); err != nil {
					b.Fatal(err)
				}
				if got := cw.lines.Load(); got != bc.lines {
					b.Fatalf("%d lines, want %d", got, bc.lines)
				}
				n += total
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(n), "cpu-ns/record")
			b.ReportMetric(peak()/(1<<20), "peak-heap-MB")
		})
	}
}

// watchHeap samples the Go heap in use until the returned function is
// called, which returns the peak seen.
func watchHeap() func() float64 {
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
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
	})
	return func() float64 {
		close(stop)
		wg.Wait()
		return float64(peak.Load())
	}
}

// cpuTime is the CPU time (user and system) the process has used so far:
// on a shared machine it varies less than the wall time, and the
// benchmark's server only copies pre-rendered bytes.
func cpuTime(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
