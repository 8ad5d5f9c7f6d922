package serve

import (
	"testing"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil/cmdutiltest"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
)

func TestNewCmdFlags(t *testing.T) {
	ignore := cmpopts.IgnoreFields(Options{}, "ConfigDir", "Invocation", "Factory", "Version")
	cmdutiltest.TestFlags(t, NewCmd, []cmdutiltest.FlagCase[Options]{
		{Args: "--dev", Want: Options{Dev: true, LogLevel: "info"}},
		{Args: "--config sfbridge.yaml --listen 127.0.0.1:0 --state-dir st --info-file i.json --log-level debug",
			Want: Options{ConfigFile: "sfbridge.yaml", Listen: "127.0.0.1:0", StateDir: "st", InfoFile: "i.json", LogLevel: "debug"}},
		{Args: "", WantErr: "give exactly one of --config FILE and --dev", WantExit: exitcode.Usage},
		{Args: "--dev --config x.yaml", WantErr: "give exactly one of --config FILE and --dev", WantExit: exitcode.Usage},
		{Args: "--dev extra", WantErr: `unknown command "extra"`},
		{Args: "--config", WantErr: "flag needs an argument: --config"},
	}, ignore)
}
