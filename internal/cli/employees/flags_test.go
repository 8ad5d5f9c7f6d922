package employees

import (
	"testing"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil/cmdutiltest"
	"github.com/sfbridge/sfbridge/internal/output"
)

func TestFindFlags(t *testing.T) {
	cmdutiltest.TestFlags(t, NewCmd, []cmdutiltest.FlagCase[Options]{
		{Args: "find ana@example.com", Want: Options{Email: "ana@example.com"}},
		{Args: "find ana@example.com -o emu --json", Want: Options{Email: "ana@example.com", Target: cmdutil.Target{Org: "emu"}, Output: output.Flags{JSON: true}}},
		{Args: "find", WantErr: "accepts 1 arg(s), received 0"},
	})
}
