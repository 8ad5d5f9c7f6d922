package describe

import (
	"testing"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil/cmdutiltest"
	"github.com/sfbridge/sfbridge/internal/output"
)

func TestNewCmdFlags(t *testing.T) {
	cmdutiltest.TestFlags(t, NewCmd, []cmdutiltest.FlagCase[Options]{
		{Args: "Case", Want: Options{Object: "Case"}},
		{Args: "Case -o acme --api-version 62.0 --json", Want: Options{Object: "Case", Target: cmdutil.Target{Org: "acme", APIVersion: "62.0"}, Output: output.Flags{JSON: true}}},
		{Args: "Contact --target-org dev@acme.com --csv", Want: Options{Object: "Contact", Target: cmdutil.Target{Org: "dev@acme.com"}, Output: output.Flags{CSV: true}}},
		{Args: "", WantErr: "accepts 1 arg(s), received 0"},
		{Args: "Case Contact", WantErr: "accepts 1 arg(s), received 2"},
		{Args: "Case --nope", WantErr: "unknown flag: --nope"},
	})
}
