package botapi

import (
	"testing"
	"time"
)

// The watermark decides which entry events are journaled already: every
// one before it, those listed at it, and those an older version listed in
// Seen.
func TestHandoffRecordWatermark(t *testing.T) {
	var h handoffRecord
	if h.seenEntry("a:agent.message", 100) {
		t.Fatal("an empty record has seen an entry")
	}
	if c := h.conversation(); !c.After.IsZero() {
		t.Fatalf("a record without a watermark follows from %s, want the start", c.After)
	}
	h.markEntry("a:agent.joined", 100)
	h.markEntry("a:agent.message", 100) // two events of one entry
	h.markEntry("b:agent.message", 105)
	h.markEntry("c:agent.message", 105)
	if h.Watermark != 105 || len(h.AtWatermark) != 2 {
		t.Fatalf("watermark %d at %q, want 105 with b and c", h.Watermark, h.AtWatermark)
	}
	for _, tc := range []struct {
		id   string
		ms   int64
		want bool
	}{
		{"a:agent.joined", 100, true},   // before the watermark
		{"z:agent.message", 104, true},  // before it: delivered in order, so journaled
		{"b:agent.message", 105, true},  // at it, listed
		{"d:agent.message", 105, false}, // at it, not listed: a crash kept it out
		{"c:agent.left", 105, false},    // another event of a listed entry
		{"e:agent.message", 106, false}, // after it
		{"legacy:agent.message", 999, false},
	} {
		if got := h.seenEntry(tc.id, tc.ms); got != tc.want {
			t.Errorf("seenEntry(%s, %d) = %v, want %v", tc.id, tc.ms, got, tc.want)
		}
	}
	if c := h.conversation(); !c.After.Equal(time.UnixMilli(104)) {
		t.Fatalf("follows after %s, want 1 ms before the watermark", c.After)
	}
	h.Seen = []string{"legacy:agent.message"}
	if !h.seenEntry("legacy:agent.message", 999) {
		t.Fatal("an id an older version listed in Seen is journaled again")
	}
}
