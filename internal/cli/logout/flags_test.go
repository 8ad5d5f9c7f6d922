package logout

import (
	"testing"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil/cmdutiltest"
)

func TestNewCmdFlags(t *testing.T) {
	cmdutiltest.TestFlags(t, NewCmd, []cmdutiltest.FlagCase[Options]{
		{Args: "", Want: Options{}},
		{Args: "-o acme --forget", Want: Options{Target: cmdutil.Target{Org: "acme"}, Forget: true}},
		{Args: "--target-org dev", Want: Options{Target: cmdutil.Target{Org: "dev"}}},
		{Args: "--json", WantErr: "unknown flag: --json"},
		{Args: "acme", WantErr: `unknown command "acme"`},
	})
}
