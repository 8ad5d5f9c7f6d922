package eventlog

import (
	"github.com/sfbridge/sfbridge/sink"
)

// Batch is a run of consecutive events of one file, ready for a sink:
// their documents share one buffer and their ids one string, so a batch of
// thousands of events costs a few allocations. It is reused from call to
// call: the sink must be done with Events before the next ReadBatch.
type Batch struct {
	// Events are the sink's view of the events.
	Events []sink.Event
	// FirstRow and LastRow are the row numbers of the first and last event
	// (0 when the batch is empty): a collector's checkpoint records
	// LastRow once the sink acknowledged the batch, and resumes with
	// Options.SkipRows = LastRow.
	FirstRow, LastRow int64

	docs  []byte
	ids   []byte
	spans [][2]int
}

// ReadBatch reads the next events into b, up to maxEvents events or until
// their documents reach maxBytes, and returns how many it read; 0 means the
// file is done (or failed: see Err).
func (r *Reader) ReadBatch(b *Batch, maxEvents, maxBytes int) int {
	if maxEvents <= 0 {
		maxEvents = 1
	}
	b.Events = b.Events[:0]
	b.docs = b.docs[:0]
	b.ids = b.ids[:0]
	b.spans = b.spans[:0]
	b.FirstRow, b.LastRow = 0, 0
	for len(b.spans) < maxEvents && (maxBytes <= 0 || len(b.docs) < maxBytes) && r.Next() {
		ev := r.Event()
		start := len(b.docs)
		b.docs = ev.AppendJSON(b.docs)
		b.spans = append(b.spans, [2]int{start, len(b.docs)})
		b.ids = ev.AppendID(b.ids)
		if b.FirstRow == 0 {
			b.FirstRow = ev.Row()
		}
		b.LastRow = ev.Row()
	}
	// The slices are cut only now: the buffers may have moved while they grew.
	ids := string(b.ids)
	dataset := r.dataset.Name
	for i, sp := range b.spans {
		b.Events = append(b.Events, sink.Event{
			ID:      ids[i*32 : (i+1)*32],
			Dataset: dataset,
			Doc:     b.docs[sp[0]:sp[1]:sp[1]],
		})
	}
	return len(b.Events)
}
