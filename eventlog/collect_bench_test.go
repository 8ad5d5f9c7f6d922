package eventlog_test

import (
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
		cfg.BatchEvents = 0 // the default, not the tests' tiny batches
		b.StartTimer()
		sum, err := e.run(cfg)
		b.StopTimer()
		if err != nil || sum.Files < 2 {
			b.Fatalf("%+v, %v", sum, err)
		}
	}
}
