package servicedesk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/sfbridge/sfbridge/sink"
	"github.com/sfbridge/sfbridge/sink/ndjson"
	"github.com/sfbridge/sfbridge/state"
)

// NDJSONSink appends the watcher's events to a file, one JSON object a
// line, exactly once across crashes, through the sink/ndjson package.
//
// The sink's position (the committed end of the file) and the ids of the
// last batch are committed to the state store under the watcher's lease
// after every fsynced batch. On open the file is cut back to that position
// (dropping lines of a batch whose commit never happened, which the
// watcher's outbox delivers again), and a batch delivered again after a
// crash between that commit and the outbox's acknowledgement is recognised
// by its ids and skipped.
type NDJSONSink struct {
	path  string
	out   *ndjson.Sink
	store state.Store
	key   state.CheckpointKey
	fence func(context.Context) (state.Fence, error)
	cp    sinkCheckpoint
	ver   int64
}

type sinkCheckpoint struct {
	Position sink.Position `json:"position"`
	Last     []string      `json:"last_batch"`
}

// OpenNDJSON opens (creating) path as the output of watcher w.
func OpenNDJSON(ctx context.Context, w *Watcher, path string) (*NDJSONSink, error) {
	s := &NDJSONSink{path: path, store: w.cfg.Store, fence: w.Fence,
		key: state.CheckpointKey{Org: w.cfg.Org, Pipeline: w.key.Pipeline, Key: "ndjson:" + path}}
	cp, err := s.store.Checkpoint(ctx, s.key)
	switch {
	case errors.Is(err, state.ErrNotFound):
		// A file this watcher never wrote to must be new or empty: its
		// lines could not be told from uncommitted ones after a crash.
		if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
			return nil, fmt.Errorf("servicedesk: %s already holds %d bytes that this watcher did not write: choose a new file or move it away", path, fi.Size())
		}
	case err != nil:
		return nil, fmt.Errorf("servicedesk: reading the committed position in %s: %w", path, err)
	default:
		if err := json.Unmarshal(cp.Value, &s.cp); err != nil {
			return nil, fmt.Errorf("servicedesk: the committed position in %s is unreadable (%w); reset the pipeline with `sfbridge state reset`", path, err)
		}
		s.ver = cp.Version
	}
	if err := s.open(ctx); err != nil {
		return nil, err
	}
	if s.ver == 0 {
		// Claim the empty file before writing to it, so that after a crash
		// in the first batch its uncommitted lines are cut.
		if err := s.commit(ctx, sinkCheckpoint{Position: s.cp.Position}); err != nil {
			_ = s.out.Close()
			return nil, err
		}
	}
	return s, nil
}

// open (re)opens the output at the committed position.
func (s *NDJSONSink) open(ctx context.Context) error {
	out, err := ndjson.New(ndjson.Options{Path: s.path})
	if err != nil {
		return err
	}
	pos, err := out.Open(ctx, s.cp.Position)
	if err != nil {
		return err
	}
	s.out, s.cp.Position = out, pos
	return nil
}

// Write appends a batch and commits it; it is the watcher's delivery
// function.
func (s *NDJSONSink) Write(ctx context.Context, events []Event) error {
	batch := make([]sink.Event, 0, len(events))
	ids := make([]string, 0, len(events))
	for _, e := range events {
		ids = append(ids, e.ID)
		if slices.Contains(s.cp.Last, e.ID) {
			continue // delivered again after a crash: already in the file
		}
		b, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("servicedesk: encoding event %s: %w", e.ID, err)
		}
		batch = append(batch, sink.Event{ID: e.ID, Dataset: "salesforce." + e.Type, Doc: b})
	}
	ack, err := s.out.Write(ctx, batch)
	if err != nil {
		// The file may hold part of the batch: start again from the
		// committed position, so the next attempt cuts it.
		return s.reopen(ctx, err)
	}
	if err := s.commit(ctx, sinkCheckpoint{Position: ack.Position, Last: ids}); err != nil {
		// Written but not committed: the outbox delivers the batch again,
		// so cut it now rather than write it twice.
		return s.reopen(ctx, err)
	}
	return nil
}

// reopen goes back to the committed position after a failed batch and
// returns the failure.
func (s *NDJSONSink) reopen(ctx context.Context, cause error) error {
	_ = s.out.Close()
	if err := s.open(ctx); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

// commit records the file's committed position and last batch.
func (s *NDJSONSink) commit(ctx context.Context, next sinkCheckpoint) error {
	fence, err := s.fence(ctx)
	if err != nil {
		return err
	}
	value, _ := json.Marshal(next)
	cp, err := s.store.Commit(ctx, state.Commit{Key: s.key, Expect: s.ver, Value: value, Fence: fence})
	if err != nil {
		return fmt.Errorf("servicedesk: committing the event file's position: %w", err)
	}
	s.cp, s.ver = next, cp.Version
	return nil
}

// Close closes the file.
func (s *NDJSONSink) Close() error { return s.out.Close() }
