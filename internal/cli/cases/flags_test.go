package cases

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil/cmdutiltest"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/cli/statearg"
	"github.com/sfbridge/sfbridge/internal/output"
	"github.com/sfbridge/sfbridge/servicedesk"
	"github.com/spf13/cobra"
)

func TestCasesFlags(t *testing.T) {
	newCmd := func(f *factory.Factory, runF func(*Options) error) *cobra.Command { return NewCmd(f, runF, nil) }
	cmdutiltest.TestFlags(t, newCmd, []cmdutiltest.FlagCase[Options]{
		{ArgList: []string{"create", "--email", "a@b.c", "--subject", "Broken laptop", "--priority", "High", "--origin", "Web", "--record-type", "IT_Request", "--assign", "--key", "k1", "-o", "emu", "--json"},
			Want: Options{Op: "create", Target: cmdutil.Target{Org: "emu"}, Output: output.Flags{JSON: true}, KeyField: "External_Id__c",
				New: servicedesk.NewCase{Email: "a@b.c", Subject: "Broken laptop", Priority: "High", Origin: "Web", RecordType: "IT_Request", Assign: true, Key: "k1"}}},
		{Args: "get 00001026", Want: Options{Op: "get", Case: "00001026"}},
		{Args: "comment 1026 --body hello --public", Want: Options{Op: "comment", Case: "1026", Body: "hello", Public: true}},
		{Args: "create --subject x", WantErr: `required flag(s) "email" not set`},
		{Args: "comment 1026", WantErr: `required flag(s) "body" not set`},
		{Args: "get", WantErr: "accepts 1 arg(s), received 0"},
	})
}

func TestWatchFlags(t *testing.T) {
	newCmd := func(f *factory.Factory, watchF func(*WatchOptions) error) *cobra.Command {
		return NewCmd(f, nil, watchF)
	}
	ignore := cmpopts.IgnoreFields(WatchOptions{}, "Factory", "Now")
	cmdutiltest.TestFlags(t, newCmd, []cmdutiltest.FlagCase[WatchOptions]{
		{Args: "watch", Want: WatchOptions{Poll: 30 * time.Second, Overlap: 2 * time.Minute, Output: "-", Name: "cases"}},
		{Args: "watch --since 1h --poll 1m --fields Status,Priority --filter Origin=Web,Email --output ndjson:ev.ndjson --once --state sqlite:s.db -o emu",
			Want: WatchOptions{Since: "1h", Poll: time.Minute, Overlap: 2 * time.Minute, Fields: []string{"Status", "Priority"}, Filters: []string{"Origin=Web,Email"},
				Output: "ndjson:ev.ndjson", Once: true, Name: "cases", Target: cmdutil.Target{Org: "emu"}, State: statearg.Flag{URL: "sqlite:s.db"}}},
		{Args: "watch --poll soon", WantErr: `invalid argument "soon"`},
	}, ignore)
}
