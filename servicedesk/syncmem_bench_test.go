package servicedesk_test

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/servicedesk"
)

// BenchmarkKnowledgeFirstSync syncs 100,000 published articles (-short:
// 10,000) of about 2 KB of HTML each from the emulator, in this process,
// into an empty SQLite state store, and reports the memory the sync
// needs above what the loaded emulator already held: the peak of the live
// heap (as the last garbage collection found it, so without the garbage
// the collector lets accumulate in proportion to the emulator's own heap),
// the peak of the heap including that garbage, and the peak resident set.
// Linux only (it resets and reads the peak RSS through /proc/self).
func BenchmarkKnowledgeFirstSync(b *testing.B) {
	if _, err := os.Stat("/proc/self/clear_refs"); err != nil {
		b.Skip("needs Linux /proc/self/clear_refs to measure the peak RSS")
	}
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	for b.Loop() {
		b.StopTimer()
		d := newDesk(b)
		st := d.srv.Org.Store()
		// 64 distinct bodies shared by the emulator's records, so that the
		// emulator's own memory stays small next to the sync's.
		bodies := make([]string, 64)
		for i := range bodies {
			var sb strings.Builder
			for p := range 12 {
				fmt.Fprintf(&sb, "<p>Step %d of fix %d: open <b>Settings</b>, choose the account, check the sign-in method and retry; if it still fails, collect the log &amp; contact support.</p>", p, i)
			}
			bodies[i] = sb.String()
		}
		for i := range n {
			if _, err := st.Insert("Knowledge__kav", "", map[string]any{"Title": fmt.Sprintf("How to fix problem %d", i), "UrlName": fmt.Sprintf("fix-%d", i),
				"Summary": "Steps our support team uses.", "Answer__c": bodies[i%len(bodies)], "Language": "en_US", "PublishStatus": "Online",
				"KnowledgeArticleId": fmt.Sprintf("kA0xx%010dAAA", i), "ArticleNumber": fmt.Sprintf("%09d", i+1), "VersionNumber": 1}); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		baseHeap, baseLive := liveHeap(), markedLive()
		if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
			b.Skipf("cannot reset the peak RSS: %v", err)
		}
		baseRSS := procStatus(b, "VmRSS")
		var peakHeap, peakLive uint64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			t := time.NewTicker(5 * time.Millisecond)
			defer t.Stop()
			for {
				peakHeap = max(peakHeap, liveHeap())
				peakLive = max(peakLive, markedLive())
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		})
		k := &servicedesk.Knowledge{Client: d.client, Store: d.store, Org: "emu", Clock: d.clk}
		b.StartTimer()
		stats, err := k.Sync(b.Context(), []string{"en_US"})
		b.StopTimer()
		close(stop)
		wg.Wait()
		if err != nil {
			b.Fatal(err)
		}
		if stats.Published != n || stats.Fetched != n {
			b.Fatalf("sync published %d and fetched %d articles, want %d", stats.Published, stats.Fetched, n)
		}
		peakRSS := procStatus(b, "VmHWM")
		b.ReportMetric(float64(baseHeap)/(1<<20), "emulator-heap-MB")
		b.ReportMetric(float64(peakHeap-min(peakHeap, baseHeap))/(1<<20), "sync-peak-heap-MB")
		b.ReportMetric(float64(peakLive-min(peakLive, baseLive))/(1<<20), "sync-peak-live-MB")
		b.ReportMetric(float64(baseRSS)/(1<<10), "base-rss-MB")
		b.ReportMetric(float64(peakRSS)/(1<<10), "peak-rss-MB")
		b.ReportMetric(float64(peakRSS-min(peakRSS, baseRSS))/(1<<10), "sync-rss-MB")
		b.ReportMetric(float64(stats.Calls), "api-calls")
		b.StartTimer()
	}
}

// liveHeap returns the bytes of heap objects, live or not yet swept.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// markedLive returns the heap the last garbage collection found live.
func markedLive() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// procStatus returns a kB field of /proc/self/status.
func procStatus(b *testing.B, field string) uint64 {
	b.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if ok && name == field {
			v, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return v
		}
	}
	b.Fatalf("no %s in /proc/self/status", field)
	return 0
}
