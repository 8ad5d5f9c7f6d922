package rest_test

import (
	"strings"
	"testing"

	"github.com/sfbridge/sfbridge/rest"
)

// REQUEST_LIMIT_EXCEEDED covers the daily allocation and short-term limits;
// the message tells them apart, and so must the hint.
func TestRequestLimitHintNamesTheLimit(t *testing.T) {
	for _, c := range []struct{ message, want, notWant string }{
		{"TotalRequests Limit exceeded.", "24-hour", "at once"},
		{"ConcurrentRequests (Concurrent API Requests) Limit exceeded", "at once", "24-hour"},
		{"ConcurrentPerOrgLongTxn Limit exceeded", "at once", "24-hour"},
		{"Something else", "message says which", "24-hour"},
	} {
		e := &rest.APIError{StatusCode: 403, Method: "GET", URL: "https://x/services/data/v62.0/query",
			Errors: []rest.ErrorItem{{Message: c.message, ErrorCode: "REQUEST_LIMIT_EXCEEDED"}}}
		got := e.Error()
		if !strings.Contains(got, c.want) || strings.Contains(got, c.notWant) {
			t.Errorf("%q: %s", c.message, got)
		}
	}
}
