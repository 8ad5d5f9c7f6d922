package whoami

import (
	"testing"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil/cmdutiltest"
	"github.com/sfbridge/sfbridge/internal/output"
)

func TestNewCmdFlags(t *testing.T) {
	cmdutiltest.TestFlags(t, NewCmd, []cmdutiltest.FlagCase[Options]{
		{Args: "", Want: Options{}},
		{Args: "-o acme --json", Want: Options{Target: cmdutil.Target{Org: "acme"}, Output: output.Flags{JSON: true}}},
		{Args: "--tsv", WantErr: "unknown flag: --tsv"},
		{Args: "acme", WantErr: `unknown command "acme"`},
	})
}
