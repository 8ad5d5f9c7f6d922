package knowledge

import (
	"testing"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil/cmdutiltest"
	"github.com/sfbridge/sfbridge/internal/cli/statearg"
	"github.com/sfbridge/sfbridge/internal/output"
)

func TestKnowledgeFlags(t *testing.T) {
	ignore := cmpopts.IgnoreFields(Options{}, "Factory")
	cmdutiltest.TestFlags(t, NewCmd, []cmdutiltest.FlagCase[Options]{
		{Args: "sync --language en_US,de --state sqlite:s.db -o emu --json", Want: Options{Op: "sync", Languages: []string{"en_US", "de"},
			State: statearg.Flag{URL: "sqlite:s.db"}, Target: cmdutil.Target{Org: "emu"}, Output: output.Flags{JSON: true}}},
		{Args: "search vpn --language de --limit 3", Want: Options{Op: "search", Query: "vpn", Languages: []string{"de"}, Limit: 3}},
		{Args: "get reset-your-password --format html", Want: Options{Op: "get", Query: "reset-your-password", Format: "html"}},
		{Args: "get", WantErr: "accepts 1 arg(s), received 0"},
		{Args: "sync extra", WantErr: `unknown command "extra"`},
	}, ignore)
}
