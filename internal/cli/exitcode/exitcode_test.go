package exitcode

import (
	"errors"
	"fmt"
	"testing"
)

type refused struct{}

func (refused) Error() string { return "refused" }
func (refused) ExitCode() int { return int(AuthRefused) }

func TestOf(t *testing.T) {
	cases := []struct {
		err  error
		want Code
	}{
		{nil, OK},
		{errors.New("x"), Error},
		{UsageErrorf("bad flag %q", "--x"), Usage},
		{fmt.Errorf("login: %w", refused{}), AuthRefused},
		{fmt.Errorf("wrapped: %w", With(Unreachable, errors.New("dial"))), Unreachable},
		{&Silent{Code: CheckFailed}, CheckFailed},
	}
	for _, c := range cases {
		if got := Of(c.err); got != c.want {
			t.Errorf("Of(%v) = %d, want %d", c.err, got, c.want)
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
