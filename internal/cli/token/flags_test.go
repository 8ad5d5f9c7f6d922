package token

import (
	"testing"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil/cmdutiltest"
	"github.com/sfbridge/sfbridge/internal/output"
)

func TestNewCmdFlags(t *testing.T) {
	cmdutiltest.TestFlags(t, NewCmd, []cmdutiltest.FlagCase[Options]{
		{Args: "", Want: Options{}},
		{Args: "-o acme --json --no-check", Want: Options{Target: cmdutil.Target{Org: "acme"}, Output: output.Flags{JSON: true}, NoCheck: true}},
		{Args: "--target-org=dev@acme.com", Want: Options{Target: cmdutil.Target{Org: "dev@acme.com"}}},
		// token has no table output and no API version to choose.
		{Args: "--csv", WantErr: "unknown flag: --csv"},
		{Args: "--api-version 66.0", WantErr: "unknown flag: --api-version"},
		{Args: "acme", WantErr: `unknown command "acme"`},
	})
}
