package servicedesk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/sfbridge/sfbridge/state"
)

// NDJSONSink appends events to a file, one JSON object a line, exactly
// once across crashes. It is the one place the watcher writes files; it
// keeps the same contract as issue 13's sink/ndjson package and can be
// replaced by it.
//
// After each batch it fsyncs the file and then commits, in the state
// store under the watcher's lease, the file's length and the ids of the
// batch. On open it truncates the file to the committed length (dropping
// lines of a batch whose commit never happened, which the watcher's outbox
// delivers again), and a batch delivered again after a crash between the
// commit and the outbox acknowledgement is recognised by its ids and
// skipped.
type NDJSONSink struct {
	f     *os.File
	store state.Store
	key   state.CheckpointKey
	fence func(context.Context) (state.Fence, error)
	cp    sinkCheckpoint
	ver   int64
}

type sinkCheckpoint struct {
	Offset int64    `json:"offset"`
	Last   []string `json:"last_batch"`
}

// OpenNDJSON opens (creating) path as the output of watcher w.
func OpenNDJSON(ctx context.Context, w *Watcher, path string) (*NDJSONSink, error) {
	s := &NDJSONSink{store: w.cfg.Store, fence: w.Fence,
		key: state.CheckpointKey{Org: w.cfg.Org, Pipeline: w.key.Pipeline, Key: "ndjson:" + path}}
	cp, err := s.store.Checkpoint(ctx, s.key)
	switch {
	case errors.Is(err, state.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("servicedesk: reading the committed length of %s: %w", path, err)
	default:
		if err := json.Unmarshal(cp.Value, &s.cp); err != nil {
			return nil, fmt.Errorf("servicedesk: the committed length of %s is unreadable (%w); reset the pipeline with `sfbridge state reset`", path, err)
		}
		s.ver = cp.Version
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("servicedesk: opening the event file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("servicedesk: opening the event file: %w", err)
	}
	if fi.Size() < s.cp.Offset {
		_ = f.Close()
		return nil, fmt.Errorf("servicedesk: %s is %d bytes but %d were committed to it: the file was truncated or replaced; move it away and reset the pipeline with `sfbridge state reset` to start over", path, fi.Size(), s.cp.Offset)
	}
	if s.ver == 0 {
		if fi.Size() > 0 {
			_ = f.Close()
			return nil, fmt.Errorf("servicedesk: %s already holds %d bytes that this watcher did not write: choose a new file or move it away", path, fi.Size())
		}
		// Claim the empty file before writing to it, so that after a crash
		// in the first batch its uncommitted lines are known to be ours.
		if err := s.commit(ctx, sinkCheckpoint{}); err != nil {
			_ = f.Close()
			return nil, err
		}
	}
	if err := f.Truncate(s.cp.Offset); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("servicedesk: dropping an uncommitted batch from %s: %w", path, err)
	}
	s.f = f
	return s, nil
}

// Write appends a batch and commits it; it is the watcher's delivery
// function.
func (s *NDJSONSink) Write(ctx context.Context, events []Event) error {
	var buf bytes.Buffer
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
		buf.Write(b)
		buf.WriteByte('\n')
	}
	// Written at the committed length, and cut there, so the tail of an
	// earlier failed attempt is overwritten.
	end := s.cp.Offset + int64(buf.Len())
	if _, err := s.f.WriteAt(buf.Bytes(), s.cp.Offset); err != nil {
		return fmt.Errorf("servicedesk: writing events: %w", err)
	}
	if err := s.f.Truncate(end); err != nil {
		return fmt.Errorf("servicedesk: writing events: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("servicedesk: flushing events to disk: %w", err)
	}
	return s.commit(ctx, sinkCheckpoint{Offset: end, Last: ids})
}

// commit records the file's committed length and last batch.
func (s *NDJSONSink) commit(ctx context.Context, next sinkCheckpoint) error {
	fence, err := s.fence(ctx)
	if err != nil {
		return err
	}
	value, _ := json.Marshal(next)
	cp, err := s.store.Commit(ctx, state.Commit{Key: s.key, Expect: s.ver, Value: value, Fence: fence})
	if err != nil {
		return fmt.Errorf("servicedesk: committing the event file's length: %w", err)
	}
	s.cp, s.ver = next, cp.Version
	return nil
}

// Close closes the file.
func (s *NDJSONSink) Close() error { return s.f.Close() }
