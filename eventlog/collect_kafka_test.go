package eventlog_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sfbridge/sfbridge/sink"
	"github.com/sfbridge/sfbridge/sink/kafka"
)

// failingSink delivers batches, then fails the Write of batch failAt after
// it was delivered: a crash between the output's acknowledgement and the
// checkpoint.
type failingSink struct {
	sink.Sink
	writes, failAt int
}

func (f *failingSink) Write(ctx context.Context, b []sink.Event) (sink.Ack, error) {
	ack, err := f.Sink.Write(ctx, b)
	f.writes++
	if err == nil && f.writes == f.failAt {
		return ack, errCrash
	}
	return ack, err
}

// TestCollectIntoKafkaHoldsEveryKey collects into an in-process Kafka
// cluster, failing after delivered batches and resuming, and checks that
// the topic holds every event under its event.id key. Replays across a
// crash may repeat a record (Kafka's at-least-once across producer
// sessions); its key is the same, so a compacted topic or a keyed consumer
// keeps it once.
func TestCollectIntoKafkaHoldsEveryKey(t *testing.T) {
	e := newEnv(t, sampleOrg())
	want := reference(e, "Login")
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "salesforce"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()
	crashes := 0
	for failAt := 1; ; failAt += 2 {
		ks, err := kafka.New(kafka.Options{Brokers: brokers, Topic: "salesforce", DeliveryTimeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.run(e.config("kafka", &failingSink{Sink: ks, failAt: failAt}, "Login"))
		if err == nil {
			break
		}
		if !errors.Is(err, errCrash) {
			t.Fatal(err)
		}
		crashes++
	}
	if crashes < 3 {
		t.Fatalf("only %d crashes: the test proves little", crashes)
	}
	seen := consumeKeys(t, brokers, "salesforce", want)
	if len(seen) != len(want) {
		t.Errorf("%d distinct keys in the topic, want %d", len(seen), len(want))
	}
}

// consumeKeys reads the topic from the start until every key of want has
// come, and returns the distinct keys read; a key outside want fails the
// test.
func consumeKeys(t *testing.T, brokers []string, topic string, want []string) map[string]bool {
	t.Helper()
	wanted := map[string]bool{}
	for _, id := range want {
		wanted[id] = true
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	seen := map[string]bool{}
	missing := len(wanted)
	for missing > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%d of %d events never reached the topic", missing, len(wanted))
		}
		fs.EachRecord(func(r *kgo.Record) {
			k := string(r.Key)
			if !wanted[k] {
				t.Errorf("record with key %q: not an event of the org", k)
			}
			if !seen[k] && wanted[k] {
				missing--
			}
			seen[k] = true
		})
	}
	return seen
}
