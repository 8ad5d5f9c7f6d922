package botapi

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/state"
)

// tail finds the newest record of a topic among interleaved topics, with
// gaps in its sequence numbers, in a handful of reads.
func TestTailFindsTheNewestRecordOfATopic(t *testing.T) {
	st, err := state.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "s.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	l, err := st.AcquireLease(t.Context(), "o/x", "me", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := tail(t.Context(), st, "o", "a"); err != nil || got != 0 {
		t.Fatalf("empty topic: %d %v", got, err)
	}
	var lastA int64
	version := int64(0)
	for i := range 300 {
		topic := "b"
		if i%7 == 0 {
			topic = "a"
		}
		_, err := st.Commit(t.Context(), state.Commit{Key: state.CheckpointKey{Org: "o", Pipeline: "x", Key: "k"}, Expect: version, Fence: state.FenceOf(l),
			Outbox: []state.OutboxRecord{{Org: "o", Topic: topic, Payload: []byte(`{}`)}}})
		if err != nil {
			t.Fatal(err)
		}
		version++
		if topic == "a" {
			recs, _ := st.Outbox(t.Context(), state.OutboxQuery{Org: "o", Topic: "a", After: lastA, Limit: 1})
			lastA = recs[0].Seq
		}
	}
	if got, err := tail(t.Context(), st, "o", "a"); err != nil || got != lastA {
		t.Fatalf("tail of a: %d %v, want %d", got, err, lastA)
	}
}
