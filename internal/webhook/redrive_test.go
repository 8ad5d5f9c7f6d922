package webhook

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/sfbridge/sfbridge/state"
)

// A dead letter sent again reaches the receiver with its original id and
// payload, after the events that were waiting; it is marked as redriven,
// and an id without a dead letter is refused before anything is written.
func TestRedriveSendsADeadLetterAgain(t *testing.T) {
	e := sqliteEnv(t)
	e.write(t, casesTopic, "e1", "case.created")
	e.write(t, casesTopic, "e2", "case.created")
	var gone atomic.Bool
	gone.Store(true)
	e.rcv.setAnswer(func(_ int, d delivery, _ http.ResponseWriter) int {
		if gone.Load() && d.id == "e1" {
			return http.StatusGone
		}
		return http.StatusOK
	})
	var obs counter
	cfg := e.config(e.rcv.srv.URL, "replica-1")
	cfg.Observe = obs.observe
	start(t, cfg)
	e.drive(t, "e2 delivered", func() bool { return obs.get(ResultDelivered) == 1 })
	if got := obs.get(ResultDeadLettered); got != 1 {
		t.Fatalf("dead letters: %d, want e1", got)
	}

	if _, err := Redrive(t.Context(), e.st, e.clk, org, "cli", []string{"e1", "nope"}); !errors.As(err, new(*NotDeadError)) {
		t.Fatalf("Redrive of an unknown id: %v, want NotDeadError", err)
	}
	if n, _ := e.st.Outbox(t.Context(), state.OutboxQuery{Org: org, Topic: TopicRedrive}); len(n) != 0 {
		t.Fatalf("a refused Redrive wrote %d journal records", len(n))
	}

	gone.Store(false)
	e.write(t, kbTopic, "e3", "knowledge.published")
	redriveAt := e.clk.Now()
	dls, err := Redrive(t.Context(), e.st, e.clk, org, "cli", []string{"e1", "e1"})
	if err != nil || len(dls) != 1 || dls[0].RedrivenAt.IsZero() {
		t.Fatalf("Redrive = %+v, %v; want e1 marked once", dls, err)
	}
	e.drive(t, "e1 delivered again", func() bool { return obs.get(ResultDelivered) == 3 })
	if ids := e.rcv.accepted(); !slices.Equal(ids, []string{"e2", "e3", "e1"}) {
		t.Fatalf("accepted %v, want e2, e3, then the redriven e1", ids)
	}
	ds := e.rcv.deliveries()
	last := ds[len(ds)-1]
	if wait := last.at.Sub(redriveAt); wait > redrivePoll+DefaultPoll {
		t.Errorf("the redriven event was sent %s after the redrive; want within %s (the redrive topic's poll)", wait, redrivePoll+DefaultPoll)
	}
	var body map[string]string
	if err := json.Unmarshal(last.body, &body); err != nil || body["id"] != "e1" || body["subject"] != "event e1" {
		t.Fatalf("redriven body %s (%v); want e1's original payload", last.body, err)
	}
	doc, err := e.st.Document(t.Context(), org, KindDeadLetter, "e1")
	if err != nil {
		t.Fatal(err)
	}
	var dl DeadLetter
	if err := json.Unmarshal(doc.Data, &dl); err != nil || dl.RedrivenAt.IsZero() || dl.LastStatus != http.StatusGone {
		t.Fatalf("dead letter after the redrive: %+v, %v", dl, err)
	}
}
