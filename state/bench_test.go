package state_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/state"
	"github.com/sfbridge/sfbridge/state/statetest"
)

// engines are the two engines every benchmark runs on, side by side.
var engines = []struct {
	name string
	url  func(testing.TB) string
}{
	{"sqlite", statetest.SQLiteURL},
	{"postgres", statetest.PostgresURL},
}

// cpuTime is the CPU time this process has used (user + system).
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCommit measures checkpoint commits per second: each commit
// checks the fencing token, compare-and-sets the checkpoint and commits a
// transaction. With 8 writers each advances its own checkpoint (as the
// pipelines of different orgs do), all through one store.
//
// postgres-sync is PostgreSQL with every commit flushed
// (synchronous_commit=on in the URL) instead of the default, where
// checkpoint commits are acknowledged before the flush.
//
// Besides commits/s it reports this process's CPU time per commit: on a
// shared machine the wall-clock rate swings with other load, the CPU cost
// much less (for PostgreSQL it leaves out the server's own CPU).
func BenchmarkCommit(b *testing.B) {
	variants := append(engines[:len(engines):len(engines)], struct {
		name string
		url  func(testing.TB) string
	}{"postgres-sync", func(tb testing.TB) string { tb.Helper(); return statetest.PostgresURL(tb) + "&synchronous_commit=on" }})
	for _, eng := range variants {
		for _, writers := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/writers=%d", eng.name, writers), func(b *testing.B) {
				ctx := context.Background()
				st, err := state.Open(ctx, eng.url(b), state.Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				l, err := st.AcquireLease(ctx, "bench", "bench", time.Hour)
				if err != nil {
					b.Fatal(err)
				}
				var next atomic.Int64
				value := []byte("2026-01-02T03:04:05.000Z/0AT5e00000ABCDEFGH")
				b.SetParallelism((writers + 1) / 2) // GOMAXPROCS is 2 here
				if writers == 1 {
					b.SetParallelism(1)
				}
				b.ResetTimer()
				cpu0 := cpuTime(b)
				run := func(pb interface{ Next() bool }) {
					key := state.CheckpointKey{Org: fmt.Sprintf("org%d", next.Add(1)), Pipeline: "eventlogs", Key: "Login"}
					var version int64
					for pb.Next() {
						cp, err := st.Commit(ctx, state.Commit{Key: key, Expect: version, Value: value, Fence: state.FenceOf(l)})
						if err != nil {
							b.Error(err)
							return
						}
						version = cp.Version
					}
				}
				if writers == 1 && b.N > 0 {
					run(&counter{n: b.N})
				} else {
					b.RunParallel(func(pb *testing.PB) { run(pb) })
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
				b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/commit")
			})
		}
	}
}

type counter struct{ n int }

func (c *counter) Next() bool { c.n--; return c.n >= 0 }

// BenchmarkLeaseTakeover measures the store's part of a takeover: a new
// owner acquiring a lease whose holder let it expire (the token grows). A
// real takeover adds the wait for the expiry (at most the TTL after the
// holder's last renewal) and the new owner's polling interval; the
// scale-out test measures that end to end.
func BenchmarkLeaseTakeover(b *testing.B) {
	for _, eng := range engines {
		b.Run(eng.name, func(b *testing.B) {
			ctx := context.Background()
			fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			st, err := state.Open(ctx, eng.url(b), state.Options{Clock: fc})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			owners := []string{"replica-a", "replica-b"}
			b.ResetTimer()
			for i := range b.N {
				fc.Advance(11 * time.Second)
				if _, err := st.AcquireLease(ctx, "acme/eventlogs", owners[i%2], 10*time.Second); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMonthOfState simulates 30 days of one org's pipeline state and
// reports the database size per org: event-log cursors for 10 event types
// advanced hourly with a webhook outbox record each (delivered and acked),
// a 7-day dedupe window of 2,000 event ids a day (purged daily), the last
// seen version of 2,000 cases (each updated about 5 times), and 300
// knowledge articles of about 2 KB indexed for search. Run with
// -benchtime=1x; it simulates three orgs and divides.
func BenchmarkMonthOfState(b *testing.B) {
	const orgs = 3
	for _, eng := range engines {
		b.Run(eng.name, func(b *testing.B) {
			for range b.N {
				url := eng.url(b)
				size := simulateMonth(b, url, orgs)
				b.ReportMetric(float64(size)/orgs/1024, "KiB/org")
			}
		})
	}
}

func simulateMonth(b *testing.B, url string, orgs int) int64 {
	b.Helper()
	ctx := context.Background()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fc := clock.NewFake(start)
	st, err := state.Open(ctx, url, state.Options{Clock: fc})
	if err != nil {
		b.Fatal(err)
	}
	body := strings.Repeat("To reset a password open Settings, choose Security and follow the steps. ", 28) // ~2 KB
	for o := range orgs {
		org := fmt.Sprintf("org%03d", o)
		var articles []state.Document
		for a := range 300 {
			articles = append(articles, state.Document{Org: org, Kind: "article", ID: fmt.Sprintf("ka0%014d", a), Version: "1", Lang: "en",
				Title: fmt.Sprintf("How to handle request %d", a), Body: body, Data: []byte(`{"url":"https://acme.example/kb"}`)})
		}
		if err := st.PutDocuments(ctx, articles); err != nil {
			b.Fatal(err)
		}
	}
	versions := map[string]int64{}
	for day := range 30 {
		for o := range orgs {
			org := fmt.Sprintf("org%03d", o)
			l, err := st.AcquireLease(ctx, state.PipelineLease(org, "eventlogs"), "replica-1", 2*time.Hour)
			if err != nil {
				b.Fatal(err)
			}
			for hour := range 24 {
				for et := range 10 {
					key := state.CheckpointKey{Org: org, Pipeline: "eventlogs", Key: fmt.Sprintf("EventType%d", et)}
					cp, err := st.Commit(ctx, state.Commit{Key: key, Expect: versions[key.Org+key.Key], Fence: state.FenceOf(l),
						Value:  fmt.Appendf(nil, "2026-01-%02dT%02d:00:00.000Z/0AT5e00000%07d", day+1, hour, day*24+hour),
						Outbox: []state.OutboxRecord{{Topic: "webhook", Payload: []byte(`{"event":"log-file-ready","type":"Login"}`)}}})
					if err != nil {
						b.Fatal(err)
					}
					versions[key.Org+key.Key] = cp.Version
				}
				ids := make([]string, 0, 2000/24)
				for i := range 2000 / 24 {
					ids = append(ids, fmt.Sprintf("evt-%d-%d-%d", day, hour, i))
				}
				if _, err := st.MarkSeen(ctx, org, "events", ids, 7*24*time.Hour); err != nil {
					b.Fatal(err)
				}
			}
			recs, err := st.Outbox(ctx, state.OutboxQuery{Org: org, Topic: "webhook", Limit: 1000})
			if err != nil {
				b.Fatal(err)
			}
			seqs := make([]int64, len(recs))
			for i, r := range recs {
				seqs[i] = r.Seq
			}
			if _, err := st.AckOutbox(ctx, seqs...); err != nil {
				b.Fatal(err)
			}
			var cases []state.Document
			for c := range 2000 {
				if (c+day)%6 == 0 {
					cases = append(cases, state.Document{Org: org, Kind: "case", ID: fmt.Sprintf("5005e00000%08d", c), Version: fmt.Sprintf("2026-01-%02dT12:00:00.000Z", day+1)})
				}
			}
			if err := st.PutDocuments(ctx, cases); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := st.PurgeSeen(ctx); err != nil {
			b.Fatal(err)
		}
		fc.Advance(24 * time.Hour)
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	return dbSize(b, url)
}

// dbSize is the SQLite file after VACUUM (what a backup copies), or the
// total size of the PostgreSQL schema's tables and indexes after VACUUM.
func dbSize(b *testing.B, url string) int64 {
	b.Helper()
	loc, err := state.ParseURL(url)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if loc.Engine == "sqlite" {
		statetest.RawExec(b, url, "VACUUM")
		fi, err := os.Stat(loc.Path)
		if err != nil {
			b.Fatal(err)
		}
		size := fi.Size()
		if wal, err := os.Stat(loc.Path + "-wal"); err == nil {
			size += wal.Size()
		}
		return size
	}
	conn, err := pgx.Connect(ctx, loc.DSN)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "VACUUM checkpoints, documents, seen, outbox, leases, secrets, schema_migrations"); err != nil {
		b.Fatal(err)
	}
	var size int64
	err = conn.QueryRow(ctx, `SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'm')`).Scan(&size)
	if err != nil {
		b.Fatal(err)
	}
	return size
}
