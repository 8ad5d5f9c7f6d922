package webhook

import (
	"fmt"
	"strings"
)

// filter keeps the event types a receiver asked for. Each pattern is an
// exact type ("case.created"), a prefix ending in ".*" ("case.*" matches
// case.created and case.comment.x but not cases.x), or "*" for every type.
// No pattern at all means every type.
type filter []string

func newFilter(patterns []string) (filter, error) {
	for _, p := range patterns {
		switch {
		case p == "" || p == "*":
		case strings.Contains(strings.TrimSuffix(p, ".*"), "*"):
			return nil, fmt.Errorf("webhook: event filter %q: a * may only stand alone or end the pattern as .* (for example case.*)", p)
		}
		if p == "" {
			return nil, fmt.Errorf("webhook: event filter has an empty pattern")
		}
	}
	return filter(patterns), nil
}

func (f filter) match(typ string) bool {
	if len(f) == 0 {
		return true
	}
	for _, p := range f {
		switch {
		case p == "*":
			return true
		case strings.HasSuffix(p, ".*"):
			if strings.HasPrefix(typ, p[:len(p)-1]) && len(typ) > len(p)-1 {
				return true
			}
		case p == typ:
			return true
		}
	}
	return false
}
