package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/state"
	"github.com/sfbridge/sfbridge/state/statetest"
)

// BenchmarkDeliver measures one org's delivery rate from a SQLite journal
// to a loopback receiver that answers 204 at once: one POST and one
// fenced cursor commit per event (ns/op is per event).
func BenchmarkDeliver(b *testing.B) {
	ctx := context.Background()
	st, err := state.Open(ctx, statetest.SQLiteURL(b), state.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	l, err := st.AcquireLease(ctx, "writer", "writer", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	recs := make([]state.OutboxRecord, 0, b.N)
	for i := range b.N {
		p, _ := json.Marshal(map[string]string{"id": fmt.Sprint("e", i), "type": "case.updated", "subject": "a case subject of ordinary length"})
		recs = append(recs, state.OutboxRecord{Topic: casesTopic, Payload: p})
	}
	if _, err := st.Commit(ctx, state.Commit{Key: state.CheckpointKey{Org: org, Pipeline: "w", Key: "k"}, Value: []byte(`{}`), Fence: state.FenceOf(l), Outbox: recs}); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer srv.Close()
	d, err := New(Config{Store: st, Org: org, URL: srv.URL, Secret: testSecret, Topics: []string{casesTopic, kbTopic}, Owner: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	b.ResetTimer()
	go func() { done <- d.Run(rctx) }()
	for d.Status().Delivered < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}
