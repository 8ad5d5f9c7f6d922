package query

import (
	"testing"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil/cmdutiltest"
	"github.com/sfbridge/sfbridge/internal/output"
)

func TestNewCmdFlags(t *testing.T) {
	const soql = "SELECT Id, Subject FROM Case"
	cmdutiltest.TestFlags(t, NewCmd, []cmdutiltest.FlagCase[Options]{
		{ArgList: []string{soql}, Want: Options{SOQL: soql}},
		{ArgList: []string{soql, "-o", "prod", "--all", "--csv"}, Want: Options{SOQL: soql, All: true, Target: cmdutil.Target{Org: "prod"}, Output: output.Flags{CSV: true}}},
		{ArgList: []string{"--json", "--api-version=62.0", soql}, Want: Options{SOQL: soql, Target: cmdutil.Target{APIVersion: "62.0"}, Output: output.Flags{JSON: true}}},
		{Args: "", WantErr: "accepts 1 arg(s), received 0"},
		{ArgList: []string{"SELECT", "Id", "FROM", "Case"}, WantErr: "accepts 1 arg(s), received 4"},
		{ArgList: []string{soql, "--all=maybe"}, WantErr: `invalid argument "maybe" for "--all"`},
		{ArgList: []string{soql, "--api-version", "abc"}, WantErr: `"abc" is not an API version like 66.0`},
	})
}
