package employees

import (
	"testing"

	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil/cmdutiltest"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/cli/statearg"
	"github.com/sfbridge/sfbridge/internal/output"
)

func TestFindFlags(t *testing.T) {
	newCmd := func(f *factory.Factory, runF func(*Options) error) *cobra.Command { return NewCmd(f, runF, nil) }
	cmdutiltest.TestFlags(t, newCmd, []cmdutiltest.FlagCase[Options]{
		{Args: "find ana@example.com", Want: Options{Email: "ana@example.com"}},
		{Args: "find ana@example.com -o emu --json", Want: Options{Email: "ana@example.com", Target: cmdutil.Target{Org: "emu"}, Output: output.Flags{JSON: true}}},
		{Args: "find", WantErr: "accepts 1 arg(s), received 0"},
	})
}

func TestSyncFlags(t *testing.T) {
	newCmd := func(f *factory.Factory, syncF func(*SyncOptions) error) *cobra.Command { return NewCmd(f, nil, syncF) }
	cmdutiltest.TestFlags(t, newCmd, []cmdutiltest.FlagCase[SyncOptions]{
		{Args: "sync --contact-fields Department,Title --user-fields Username --state sqlite:s.db -o emu --json", Want: SyncOptions{
			ContactFields: []string{"Department", "Title"}, UserFields: []string{"Username"}, State: statearg.Flag{URL: "sqlite:s.db"},
			Target: cmdutil.Target{Org: "emu"}, Output: output.Flags{JSON: true}}},
		{Args: "sync extra", WantErr: `unknown command "extra"`},
	}, cmpopts.IgnoreFields(SyncOptions{}, "Factory"))
}
