package exitcode

import (
	"errors"
	"fmt"
	"net/url"
	"testing"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/rest"
)

func TestOf(t *testing.T) {
	refused := &auth.Error{StatusCode: 400, Code: "invalid_grant"}
	serverError := &auth.Error{StatusCode: 503}
	unreachable := &auth.NetworkError{URL: "https://login.salesforce.com/services/oauth2/token", Err: errors.New("dial tcp: i/o timeout")}
	transport := &rest.TransportError{Method: "GET", URL: "https://x.my.salesforce.com/services/data", Err: errors.New("connection reset")}
	sessionRefused := &rest.APIError{StatusCode: 401}
	malformed := &rest.APIError{StatusCode: 400}
	cases := []struct {
		name string
		err  error
		want Code
	}{
		{"nil", nil, OK},
		{"plain", errors.New("x"), Error},
		{"usage", UsageErrorf("bad flag %q", "--x"), Usage},
		{"login refused", fmt.Errorf("login: %w", refused), AuthRefused},
		{"login 5xx", fmt.Errorf("login: %w", serverError), Error},
		{"token endpoint unreachable", fmt.Errorf("login: %w", unreachable), Unreachable},
		{"rest unreachable", fmt.Errorf("query: %w", transport), Unreachable},
		{"session refused", sessionRefused, AuthRefused},
		{"api error", fmt.Errorf("describe: %w", malformed), Error},
		// The first library error in the chain decides, as errors.As finds it.
		{"refusal inside a url.Error", &url.Error{Op: "Get", URL: "u", Err: refused}, AuthRefused},
		{"joined", errors.Join(errors.New("x"), transport, refused), Unreachable},
		{"explicit code wins", With(Usage, refused), Usage},
		{"wrapped explicit", fmt.Errorf("wrapped: %w", With(Unreachable, errors.New("dial"))), Unreachable},
		{"silent", &Silent{Code: CheckFailed}, CheckFailed},
	}
	for _, c := range cases {
		if got := Of(c.err); got != c.want {
			t.Errorf("%s: Of(%v) = %d, want %d", c.name, c.err, got, c.want)
		}
	}
}

func TestTableIsCompleteAndOrdered(t *testing.T) {
	tbl := Table()
	for i, e := range tbl {
		if int(e.Code) != i || e.Meaning == "" {
			t.Fatalf("entry %d = %+v", i, e)
		}
	}
	if len(tbl) != int(CheckFailed)+1 {
		t.Fatalf("table has %d entries", len(tbl))
	}
}
