package record

import (
	"testing"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil/cmdutiltest"
	"github.com/sfbridge/sfbridge/internal/output"
)

func TestNewCmdFlags(t *testing.T) {
	const id = "500xx000000001AAA"
	cmdutiltest.TestFlags(t, NewCmd, []cmdutiltest.FlagCase[Options]{
		{Args: "get Case " + id, Want: Options{Op: "get", Object: "Case", ID: id}},
		{Args: "get Case " + id + " --fields Subject,Status --fields Origin -o acme --json", Want: Options{Op: "get", Object: "Case", ID: id,
			Fields: []string{"Subject", "Status", "Origin"}, Target: cmdutil.Target{Org: "acme"}, Output: output.Flags{JSON: true}}},
		{ArgList: []string{"create", "Case", "--values", "Subject='Printer jammed' Origin=Web"}, Want: Options{Op: "create", Object: "Case", Values: "Subject='Printer jammed' Origin=Web"}},
		{ArgList: []string{"update", "Case", id, "-v", "Status=Closed", "--api-version", "62.0"}, Want: Options{Op: "update", Object: "Case", ID: id, Values: "Status=Closed", Target: cmdutil.Target{APIVersion: "62.0"}}},
		{Args: "upsert Contact ext-1 --external-id-field Ext__c --values LastName=Doe", Want: Options{Op: "upsert", Object: "Contact", ID: "ext-1", ExtIDField: "Ext__c", Values: "LastName=Doe"}},
		{Args: "delete Case " + id + " --target-org dev", Want: Options{Op: "delete", Object: "Case", ID: id, Target: cmdutil.Target{Org: "dev"}}},
		// cobra's missing-required-flag error exits 1, as it always has.
		{Args: "create Case", WantErr: `required flag(s) "values" not set`},
		{Args: "upsert Contact ext-1 --values LastName=Doe", WantErr: `required flag(s) "external-id-field" not set`},
		{Args: "get Case", WantErr: "accepts 2 arg(s), received 1"},
		{Args: "delete Case " + id + " --values X=1", WantErr: "unknown flag: --values"},
	})
}
