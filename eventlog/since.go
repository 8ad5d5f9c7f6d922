package eventlog

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseSince turns a span (7d, 12h) or a time (RFC 3339, or a date) into
// the time a first collection starts from, relative to now. The CLI's
// --since and the daemon's eventlogs.since both read it.
func ParseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if d, err := strconv.Atoi(n); err == nil && d >= 0 {
			return now.Add(-time.Duration(d) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither a span such as 7d or 12h nor a time such as 2026-12-01T00:00:00Z", s)
}
