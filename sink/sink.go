// Package sink defines where collected events go: the small interface every
// output (NDJSON file or stdout, Elasticsearch, Kafka) implements, shaped so
// that a collector's checkpoint advances only after the output acknowledged.
//
// The contract, as a collector uses it:
//
//	pos, err := s.Open(ctx, checkpoint.SinkPosition) // recover: cut what was never committed
//	...
//	ack, err := s.Write(ctx, batch) // blocks until the batch is durable (backpressure)
//	if err != nil { stop; the checkpoint stays where it was }
//	state.Commit(checkpoint.Advance(file, rows), ack.Position) // one transaction
//
// A crash between Write and Commit costs a replay of the batch, never a loss.
// The replay is harmless: the NDJSON sink cut the uncommitted bytes on Open,
// and Elasticsearch and Kafka store events under their event.id.
package sink

import (
	"context"
	"fmt"
)

// Event is one document to deliver.
type Event struct {
	// ID is the event's stable event.id: the Elasticsearch _id and the Kafka
	// record key. Delivering the same ID twice must store it once.
	ID string
	// Dataset is the event's event.dataset ("salesforce.login"): it picks the
	// Elasticsearch data stream or the Kafka topic.
	Dataset string
	// Doc is the event as one JSON object, without a trailing newline.
	Doc []byte
}

// Position is what a sink needs to know, after a crash, about what it had
// durably delivered: opaque bytes the collector stores with its checkpoint,
// in the same transaction, and hands back to Open. A nil Position means "no
// checkpoint yet". Sinks that are idempotent by event ID (Elasticsearch,
// Kafka) return nil Positions.
type Position []byte

func (p Position) String() string {
	if p == nil {
		return "<none>"
	}
	return string(p)
}

// Ack says a batch is durable: written and fsynced, indexed, or acknowledged
// by all in-sync Kafka replicas.
type Ack struct {
	// Position is the sink's position after the batch: store it with the
	// checkpoint.
	Position Position
	// Delivered counts events newly stored.
	Delivered int
	// Duplicates counts events the output already held (an Elasticsearch
	// 409): delivered before, so acknowledged.
	Duplicates int
	// DeadLettered counts events the output refused for good (an
	// Elasticsearch mapping error), written to the dead-letter file instead.
	// They are acknowledged: retrying cannot succeed.
	DeadLettered int
}

// Sink is an output for events.
//
// A Sink is used by one goroutine at a time: Open, then Writes, then Close.
type Sink interface {
	// Open prepares the sink to write after last, the Position stored with
	// the last committed checkpoint (nil when there is none), undoing
	// whatever was written after it. It returns the Position writing starts
	// from, which a collector without a checkpoint stores as its first one.
	Open(ctx context.Context, last Position) (Position, error)
	// Write delivers a batch and returns once every event of it is durable.
	// It blocks while the output is slow or unavailable and retries what
	// can be retried; an error means the batch must be considered not
	// delivered (some of it may have been: the event IDs make that
	// harmless) and the checkpoint must not advance.
	Write(ctx context.Context, batch []Event) (Ack, error)
	// Close releases the sink. Events acknowledged stay delivered.
	Close() error
}

// Appender is implemented by a sink that can take several batches and make
// them durable together: a file sink then pays one fsync for many batches
// instead of one each.
//
// Append writes a batch without making it durable and without
// acknowledging it; Flush makes every batch appended since the last Flush
// durable and acknowledges them all with one Ack. A collector commits its
// checkpoint only with the Ack of a Flush, so what was appended after the
// last Flush is, after a crash, cut by Open and delivered again. If Append
// or Flush fails, nothing since the last Flush counts as delivered.
type Appender interface {
	Sink
	Append(ctx context.Context, batch []Event) error
	Flush(ctx context.Context) (Ack, error)
}

// LineAppender is an Appender that also takes a batch already laid out as
// NDJSON, so that it can write the bytes as they are instead of copying
// each document and its newline: lines is every event's Doc, in order,
// each followed by one '\n'. Its result is Append's.
type LineAppender interface {
	Appender
	AppendLines(ctx context.Context, batch []Event, lines []byte) error
}

// Error is a sink failure that says which output failed, what happened and
// what to do about it.
type Error struct {
	Sink string // "ndjson", "elasticsearch", "kafka"
	Op   string // "open", "write", ...
	Err  error
	Fix  string // what the operator can do
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("sink %s: %s: %v", e.Sink, e.Op, e.Err)
	if e.Fix != "" {
		msg += " (" + e.Fix + ")"
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }
