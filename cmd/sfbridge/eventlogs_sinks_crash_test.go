package main

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sfbridge/sfbridge/sink/elasticsearch/estest"
)

// minSinkKills is how many times each test below kills the collector.
const minSinkKills = 20

// TestEventlogsCollectIntoElasticsearchSurvivesKill9 collects into the
// in-process _bulk API of estest over HTTP, kills `sfbridge eventlogs
// collect` with SIGKILL after a random number of _bulk requests, again and
// again, and restarts it: every event.id of a clean run is then stored,
// once, under its _id, and nothing else is.
func TestEventlogsCollectIntoElasticsearchSurvivesKill9(t *testing.T) {
	o := newCrashOrg(t)
	es := estest.New()
	srv := httptest.NewServer(es)
	defer srv.Close()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 17))
	runs := 0
	kills := killUntilDone(t, func() *exec.Cmd {
		runs++
		return o.collect("elasticsearch+" + srv.URL)
	}, func(p *os.Process, done <-chan struct{}) bool {
		if runs > 3*minSinkKills {
			return false // enough: let this run finish
		}
		at := es.Requests() + rng.IntN(4)
		return killWhen(p, func() bool { return es.Requests() > at }, done)
	})
	if kills < minSinkKills {
		t.Fatalf("only %d kills before the collection completed", kills)
	}
	byID := map[string]int{}
	stored := 0
	for _, stream := range es.Streams() {
		for id, doc := range es.Stored(stream) {
			stored++
			byID[id]++
			var d struct {
				Event struct {
					ID string `json:"id"`
				} `json:"event"`
			}
			if err := json.Unmarshal(doc, &d); err != nil || d.Event.ID != id {
				t.Errorf("%s: document under _id %s has event.id %q (%v)", stream, id, d.Event.ID, err)
			}
		}
	}
	checkOnce(t, "Elasticsearch", byID, o.want)
	t.Logf("%d kills in %d runs, %d _bulk requests; %d documents, one per event.id", kills, runs, es.Requests(), stored)
}

// TestEventlogsCollectIntoKafkaSurvivesKill9 collects into franz-go's kfake
// cluster listening on a TCP port, kills `sfbridge eventlogs collect` with
// SIGKILL after a random number of produce requests, again and again, and
// restarts it: every event.id of a clean run is then in the topic as a
// record key. Kafka delivers at least once across crashes: records replayed
// after a kill are counted by key and reported, not failed on; a key the
// clean run does not have fails the test.
func TestEventlogsCollectIntoKafkaSurvivesKill9(t *testing.T) {
	o := newCrashOrg(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "salesforce-events"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var produces atomic.Int64
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		produces.Add(1)
		return nil, nil, false // observed, then handled by the cluster as usual
	})
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 18))
	runs := 0
	kills := killUntilDone(t, func() *exec.Cmd {
		runs++
		return o.collect("kafka://" + c.ListenAddrs()[0] + "/salesforce-events")
	}, func(p *os.Process, done <-chan struct{}) bool {
		if runs > 3*minSinkKills {
			return false // enough: let this run finish
		}
		at := produces.Load() + rng.Int64N(3)
		return killWhen(p, func() bool { return produces.Load() > at }, done)
	})
	if kills < minSinkKills {
		t.Fatalf("only %d kills before the collection completed", kills)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("salesforce-events"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	byKey := map[string]int{}
	records := 0
	wantKeys := map[string]bool{}
	for _, id := range o.want {
		wantKeys[id] = true
	}
	missing := func() int {
		n := 0
		for id := range wantKeys {
			if byKey[id] == 0 {
				n++
			}
		}
		return n
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for missing() > 0 && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			byKey[string(r.Key)]++
			records++
		})
	}
	// What is already fetchable beyond: the rest of the replays.
	short, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	cl.PollFetches(short).EachRecord(func(r *kgo.Record) {
		byKey[string(r.Key)]++
		records++
	})
	replayed := 0
	for k, n := range byKey {
		if !wantKeys[k] {
			t.Errorf("Kafka holds key %q, which no event of the clean run has", k)
		}
		replayed += n - 1
	}
	if m := missing(); m > 0 {
		t.Errorf("%d of %d event ids never reached the topic", m, len(o.want))
	}
	if len(byKey) != len(o.want) {
		t.Errorf("Kafka holds %d distinct keys, the clean run %d events", len(byKey), len(o.want))
	}
	t.Logf("%d kills in %d runs, %d produce requests; %d records, %d distinct keys (every event.id), %d replayed after kills",
		kills, runs, produces.Load(), records, len(byKey), replayed)
}

// checkOnce fails unless got counts every wanted id once and nothing else.
func checkOnce(t *testing.T, where string, got map[string]int, want []string) {
	t.Helper()
	wanted := make(map[string]bool, len(want))
	for _, id := range want {
		wanted[id] = true
		if got[id] != 1 {
			t.Errorf("%s holds event %s %d times", where, id, got[id])
		}
	}
	for id := range got {
		if !wanted[id] {
			t.Errorf("%s holds %s, which no event of the clean run has", where, id)
		}
	}
}
