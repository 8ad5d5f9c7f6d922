package eventlogs

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/eventlog"
)

func TestProgressLineOnATerminalOnly(t *testing.T) {
	start := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	now := start
	var buf bytes.Buffer
	p := newProgress(&buf, true, func() time.Time { return now })
	now = start.Add(10 * time.Second)
	p.update(eventlog.Summary{Files: 2, Pending: 10, Events: 1234, Bytes: 50_000_000})
	p.done()
	got := buf.String()
	for _, want := range []string{"files 2/10", "events 1234", "5.0 MB/s", "ETA 40s"} {
		if !strings.Contains(got, want) {
			t.Errorf("progress line %q lacks %q", got, want)
		}
	}
	if !strings.HasSuffix(got, "\n") {
		t.Errorf("the line is not ended: %q", got)
	}

	buf.Reset()
	q := newProgress(&buf, false, func() time.Time { return now })
	q.update(eventlog.Summary{Files: 1})
	q.done()
	if buf.Len() != 0 {
		t.Errorf("progress without a terminal: %q", buf.String())
	}
}
