package eventlog

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"syscall"
	"testing"
	"time"
)

// baselineConvert converts a CSV body to NDJSON the way Elastic's Filebeat
// salesforce input decodes event log files (reference §3.5): encoding/csv
// with ReuseRecord and LazyQuotes, the header cloned, a fresh map per row and
// json.Marshal per row. It is generous to Elastic: it neither re-encodes the
// row as the event's message string nor runs an ingest pipeline afterwards,
// both of which the real input and integration do.
func baselineConvert(w io.Writer, body io.Reader) (int64, error) {
	r := csv.NewReader(body)
	r.ReuseRecord = true
	r.LazyQuotes = true
	header, err := r.Read()
	if err != nil {
		return 0, err
	}
	header = append([]string(nil), header...)
	bw := bufio.NewWriterSize(w, 64<<10)
	var n int64
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, err
		}
		m := make(map[string]string, len(header))
		for i, h := range header {
			m[h] = rec[i]
		}
		b, err := json.Marshal(m)
		if err != nil {
			return n, err
		}
		bw.Write(b)
		bw.WriteByte('\n')
		n++
	}
	return n, bw.Flush()
}

// cpuTime returns the CPU time (user + system) this process has used.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// perCPU runs f b.N times and reports, next to the wall-clock MB/s, the MB of
// CSV per CPU-second: on a machine shared with other builds the wall clock
// measures the neighbours as much as the code.
func perCPU(b *testing.B, size int, f func()) {
	b.Helper()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	start := cpuTime(b)
	n := 0
	for b.Loop() {
		f()
		n++
	}
	if cpu := cpuTime(b) - start; cpu > 0 {
		b.ReportMetric(float64(size)*float64(n)/1e6/cpu.Seconds(), "MB/cpu-s")
	}
}

// benchRows is the size of the synthetic Login file: 20,000 rows, about
// 8.5 MB, a busy hour.
const benchRows = 20000

// BenchmarkConvert compares sfbridge's converter with the Elastic-like
// baseline on the same Login file; SetBytes counts CSV bytes in, so MB/s is
// CSV read per second on one goroutine.
func BenchmarkConvert(b *testing.B) {
	body := loginCSV(benchRows)
	b.Run("sfbridge", func(b *testing.B) {
		perCPU(b, len(body), func() {
			n, err := WriteNDJSON(io.Discard, bytes.NewReader(body), loginFile(), Options{})
			if err != nil || n != benchRows {
				b.Fatalf("n=%d err=%v", n, err)
			}
		})
	})
	b.Run("elastic-baseline", func(b *testing.B) {
		perCPU(b, len(body), func() {
			n, err := baselineConvert(io.Discard, bytes.NewReader(body))
			if err != nil || n != benchRows {
				b.Fatalf("n=%d err=%v", n, err)
			}
		})
	})
	b.Run("scanner-only", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			s := NewScanner(bytes.NewReader(body), 0)
			for s.Scan() {
			}
			if s.Err() != nil {
				b.Fatal(s.Err())
			}
		}
	})
	b.Run("encoding-csv-only", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			r := csv.NewReader(bytes.NewReader(body))
			r.ReuseRecord = true
			for {
				if _, err := r.Read(); errors.Is(err, io.EOF) {
					break
				} else if err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
