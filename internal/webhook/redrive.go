package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/state"
)

// TopicRedrive is the journal topic of events sent again by [Redrive].
// Every Deliverer reads it besides its Config.Topics.
const TopicRedrive = "webhooks.redrive"

// redrivePipeline names the lease and the checkpoint under which Redrive
// writes, so that two of them never interleave.
const redrivePipeline = "webhooks.redrive"

// NotDeadError is a Redrive of an event that has no dead letter.
type NotDeadError struct {
	Org string
	ID  string
}

func (e *NotDeadError) Error() string {
	return fmt.Sprintf("webhook: org %s has no dead letter with event id %q; list them with `sfbridge state dead-letters --org %s`", e.Org, e.ID, e.Org)
}

// deadLetterPage is how many dead letters DeadLetters reads at once (the
// store's largest page).
const deadLetterPage = 1000

// DeadLetters reads every dead letter of org, in event id order.
func DeadLetters(ctx context.Context, st state.Store, org string) ([]DeadLetter, error) {
	var out []DeadLetter
	for after := ""; ; {
		docs, err := st.Documents(ctx, state.DocumentQuery{Org: org, Kind: KindDeadLetter, After: after, Limit: deadLetterPage})
		if err != nil {
			return nil, fmt.Errorf("webhook: reading the dead letters of %s: %w", org, err)
		}
		for _, d := range docs {
			var dl DeadLetter
			if err := json.Unmarshal(d.Data, &dl); err != nil {
				return nil, fmt.Errorf("webhook: the dead letter %s of org %s is not readable: %w", d.ID, org, err)
			}
			out = append(out, dl)
		}
		if len(docs) < deadLetterPage {
			return out, nil
		}
		after = docs[len(docs)-1].ID
	}
}

// Redrive puts the dead-lettered events ids of org back into the journal,
// on TopicRedrive, with their original payload and id: the org's
// Deliverer POSTs each again, with a new MaxAge from now, and a receiver
// that got it before recognises its id. Each dead letter is marked with
// the time (RedrivenAt) in the same transaction. owner names the caller
// in the lease it takes (for example "sfbridge-cli/host/pid"); clk is the
// time source (nil: real time). It returns the dead letters as updated.
func Redrive(ctx context.Context, st state.Store, clk clock.Clock, org, owner string, ids []string) ([]DeadLetter, error) {
	clk = clock.Or(clk)
	if len(ids) == 0 {
		return nil, nil
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	now := clk.Now()
	var (
		out  []DeadLetter
		docs []state.Document
		recs []state.OutboxRecord
	)
	for _, id := range ids {
		doc, err := st.Document(ctx, org, KindDeadLetter, id)
		if errors.Is(err, state.ErrNotFound) {
			return nil, &NotDeadError{Org: org, ID: id}
		}
		if err != nil {
			return nil, fmt.Errorf("webhook: reading the dead letter %s: %w", id, err)
		}
		var dl DeadLetter
		if err := json.Unmarshal(doc.Data, &dl); err != nil {
			return nil, fmt.Errorf("webhook: the dead letter %s of org %s is not readable: %w", id, org, err)
		}
		payload := []byte(dl.Payload)
		if len(payload) == 0 {
			payload = []byte(dl.PayloadText)
		}
		dl.RedrivenAt = now
		data, err := json.Marshal(dl)
		if err != nil {
			return nil, err
		}
		doc.Data, doc.UpdatedAt = data, now
		docs = append(docs, doc)
		recs = append(recs, state.OutboxRecord{Org: org, Topic: TopicRedrive, Payload: payload, CreatedAt: now})
		out = append(out, dl)
	}
	lease, err := st.AcquireLease(ctx, state.PipelineLease(org, redrivePipeline), owner, 30*time.Second)
	if err != nil {
		return nil, fmt.Errorf("webhook: taking the redrive lease of %s: %w", org, err)
	}
	defer func() { _ = st.ReleaseLease(context.WithoutCancel(ctx), lease) }()
	key := state.CheckpointKey{Org: org, Pipeline: redrivePipeline, Key: "redriven"}
	var count struct {
		Events int64 `json:"events"`
	}
	var version int64
	switch cp, err := st.Checkpoint(ctx, key); {
	case errors.Is(err, state.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("webhook: reading %s/%s: %w", org, redrivePipeline, err)
	default:
		version = cp.Version
		_ = json.Unmarshal(cp.Value, &count) // a count only; a bad one starts again
	}
	count.Events += int64(len(recs))
	value, err := json.Marshal(count)
	if err != nil {
		return nil, err
	}
	if _, err := st.Commit(ctx, state.Commit{Key: key, Expect: version, Value: value, Fence: state.FenceOf(lease), Documents: docs, Outbox: recs}); err != nil {
		return nil, fmt.Errorf("webhook: putting %d dead letters of %s back in the journal: %w", len(recs), org, err)
	}
	return out, nil
}
