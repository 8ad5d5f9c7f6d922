package eventlog

import (
	"bytes"
	"testing"
)

func TestReadBatchMatchesEventByEvent(t *testing.T) {
	body := loginCSV(2500)
	var wantIDs, wantDocs []string
	r, _ := NewReader(bytes.NewReader(body), loginFile(), Options{})
	for r.Next() {
		wantIDs = append(wantIDs, r.Event().ID())
		wantDocs = append(wantDocs, string(r.Event().AppendJSON(nil)))
	}
	r, _ = NewReader(bytes.NewReader(body), loginFile(), Options{SkipRows: 100})
	var b Batch
	got := 100
	var lastRow int64 = 100
	for {
		n := r.ReadBatch(&b, 700, 256<<10) // the byte limit ends most batches first
		if n == 0 {
			break
		}
		if b.FirstRow != lastRow+1 || b.LastRow != b.FirstRow+int64(n)-1 {
			t.Fatalf("rows %d..%d after row %d", b.FirstRow, b.LastRow, lastRow)
		}
		lastRow = b.LastRow
		for _, ev := range b.Events {
			if ev.ID != wantIDs[got] || string(ev.Doc) != wantDocs[got] || ev.Dataset != "salesforce.login" {
				t.Fatalf("event %d of the batch differs from the event read alone", got+1)
			}
			got++
		}
	}
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	if got != 2500 {
		t.Errorf("%d events in batches, want 2500", got)
	}
}
