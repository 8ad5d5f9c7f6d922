package main

import (
	"context"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/state"
)

// stateFixture writes what a running pipeline leaves in a state store: its
// lease (live for an hour, or expired an hour ago), two checkpoints written
// under it, a document and an undelivered outbox record.
func stateFixture(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 4 || (args[3] != "live" && args[3] != "expired") {
		ts.Fatalf("usage: statefixture URL ORG PIPELINE live|expired")
	}
	url, org, pipeline := args[0], args[1], args[2]
	start := time.Now()
	if args[3] == "expired" {
		start = start.Add(-2 * time.Hour)
	}
	ctx := context.Background()
	st, err := state.Open(ctx, url, state.Options{Clock: clock.NewFake(start)})
	ts.Check(err)
	defer st.Close()
	l, err := st.AcquireLease(ctx, state.PipelineLease(org, pipeline), "replica-1", time.Hour)
	ts.Check(err)
	for _, key := range []string{"Login", "API"} {
		_, err := st.Commit(ctx, state.Commit{
			Key: state.CheckpointKey{Org: org, Pipeline: pipeline, Key: key}, Value: []byte("2026-01-02T03:04:05Z/0AT000000000001"), Fence: state.FenceOf(l),
			Documents: []state.Document{{Org: org, Kind: "case", ID: "500" + key, Version: "1"}},
			Outbox:    []state.OutboxRecord{{Topic: "webhook", Payload: []byte(`{"case":"500` + key + `"}`)}},
		})
		ts.Check(err)
	}
}
