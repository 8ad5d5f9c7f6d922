package botapi

import (
	"fmt"
	"strconv"
	"strings"
)

// A cursor is a position in one or more journal topics: for each topic the
// Seq of the last record a client has read. An SSE event's id is the cursor
// just after it, so a reconnect's Last-Event-ID resumes every topic where
// the client stopped. Topics need one cursor each because their writers
// commit independently: on PostgreSQL seq 11 of one topic can become
// visible before seq 10 of another.
//
// The text form is "<prefix>.<seq>.<seq>…": the org stream uses prefix
// "e1" with the seqs of cases.events and knowledge.events, a handoff stream
// "h1" with the seq of handoff.<id>.

// FormatCursor writes a cursor.
func FormatCursor(prefix string, seqs []int64) string {
	var b strings.Builder
	b.WriteString(prefix)
	for _, s := range seqs {
		b.WriteByte('.')
		b.WriteString(strconv.FormatInt(s, 10))
	}
	return b.String()
}

// ParseCursor reads a cursor of n topics with the given prefix. It accepts
// only the exact form FormatCursor writes (no signs, spaces or leading
// zeros), so an id that parses always formats back to itself.
func ParseCursor(s, prefix string, n int) ([]int64, error) {
	if len(s) > 200 {
		return nil, fmt.Errorf("event id is %d bytes; an sfbridge event id is shorter", len(s))
	}
	rest, ok := strings.CutPrefix(s, prefix+".")
	if !ok {
		return nil, fmt.Errorf("event id %q does not start with %q", s, prefix+".")
	}
	parts := strings.Split(rest, ".")
	if len(parts) != n {
		return nil, fmt.Errorf("event id %q has %d positions, want %d", s, len(parts), n)
	}
	out := make([]int64, n)
	for i, p := range parts {
		if p == "" || (len(p) > 1 && p[0] == '0') || strings.Trim(p, "0123456789") != "" {
			return nil, fmt.Errorf("event id %q: position %q is not a sequence number", s, p)
		}
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("event id %q: position %q is out of range", s, p)
		}
		out[i] = v
	}
	return out, nil
}
