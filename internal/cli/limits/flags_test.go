package limits

import (
	"testing"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil/cmdutiltest"
	"github.com/sfbridge/sfbridge/internal/output"
)

func TestNewCmdFlags(t *testing.T) {
	cmdutiltest.TestFlags(t, NewCmd, []cmdutiltest.FlagCase[Options]{
		{Args: "", Want: Options{}},
		{Args: "-o acme --tsv", Want: Options{Target: cmdutil.Target{Org: "acme"}, Output: output.Flags{TSV: true}}},
		{Args: "--api-version 66.0 --json", Want: Options{Target: cmdutil.Target{APIVersion: "66.0"}, Output: output.Flags{JSON: true}}},
		{Args: "DailyApiRequests", WantErr: `unknown command "DailyApiRequests"`},
		{Args: "-o", WantErr: "flag needs an argument: 'o' in -o"},
	})
}
