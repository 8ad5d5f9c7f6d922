package eventlog_test

import (
	"fmt"
	"testing"

	"github.com/sfbridge/sfbridge/emulator"
)

// BenchmarkCollect runs the whole collector against an in-process emulated
// org: two URI files of about 32 MB each, downloaded, converted and written
// to an NDJSON file with a checkpoint per batch. b.SetBytes is the CSV.
func BenchmarkCollect(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := newEnv(b, emulator.EventMonitoringSpec{RowsPerHour: -1})
		var total int64
		for range 2 {
			f, err := e.s.Org.AddEventLogFile(emulator.EventLogFileSpec{EventType: "URI", FileBytes: 32 << 20})
			if err != nil {
				b.Fatal(err)
			}
			total += f.Length
		}
		b.SetBytes(total)
		sk, _ := e.ndjson("bench.ndjson")
		cfg := e.config("bench", sk, "URI")
		cfg.BatchEvents, cfg.CommitBytes = 0, 0 // the defaults, not the tests' tiny batches
		b.StartTimer()
		sum, err := e.run(cfg)
		b.StopTimer()
		if err != nil || sum.Files < 2 {
			b.Fatalf("%+v, %v", sum, err)
		}
	}
}

// BenchmarkCollectConcurrency runs the collector with 1, 2, 4 and 8
// parallel downloads against an emulated org whose file downloads are
// slowed down the way a distant org slows them: by a per-request latency
// before the body (latency) or by a bandwidth limit per download
// (trickle). 12 URI files of 1 MB each, NDJSON output. The curve is in
// docs/performance.md.
func BenchmarkCollectConcurrency(b *testing.B) {
	const files = 12
	for _, slow := range []struct {
		name  string
		fault func(*emulator.Org) error
	}{
		{"latency=250ms", func(o *emulator.Org) error {
			_, err := o.AddFault(emulator.FaultSpec{Path: "/services/data/*/sobjects/EventLogFile/*/LogFile", Action: emulator.FaultLatency, Latency: "250ms"})
			return err
		}},
		{"trickle=4MBps", func(o *emulator.Org) error {
			_, err := o.AddBlobFault(emulator.BlobFaultSpec{Kind: emulator.BlobTrickle, BytesPerSecond: 4 << 20, Times: -1})
			return err
		}},
	} {
		for _, conc := range []int{1, 2, 4, 8} {
			b.Run(fmt.Sprintf("%s/concurrency=%d", slow.name, conc), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					e := newEnv(b, emulator.EventMonitoringSpec{RowsPerHour: -1})
					var total int64
					for range files {
						f, err := e.s.Org.AddEventLogFile(emulator.EventLogFileSpec{EventType: "URI", FileBytes: 1 << 20})
						if err != nil {
							b.Fatal(err)
						}
						total += f.Length
					}
					if err := slow.fault(e.s.Org); err != nil {
						b.Fatal(err)
					}
					b.SetBytes(total)
					sk, _ := e.ndjson("bench.ndjson")
					cfg := e.config("bench", sk, "URI")
					cfg.BatchEvents, cfg.CommitBytes, cfg.Concurrency = 0, 0, conc
					b.StartTimer()
					sum, err := e.run(cfg)
					b.StopTimer()
					if err != nil || sum.Files != files {
						b.Fatalf("%+v, %v", sum, err)
					}
				}
				b.ReportMetric(float64(files*b.N)/b.Elapsed().Seconds(), "files/s")
			})
		}
	}
}
