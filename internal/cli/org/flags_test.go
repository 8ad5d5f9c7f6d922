package org

import (
	"testing"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil/cmdutiltest"
	"github.com/sfbridge/sfbridge/internal/output"
)

func TestNewCmdFlags(t *testing.T) {
	cmdutiltest.TestFlags(t, NewCmd, []cmdutiltest.FlagCase[ListOptions]{
		{Args: "list", Want: ListOptions{}},
		{Args: "list --json", Want: ListOptions{Output: output.Flags{JSON: true}}},
		{Args: "list --csv", Want: ListOptions{Output: output.Flags{CSV: true}}},
		{Args: "list -o acme", WantErr: "unknown shorthand flag: 'o' in -o"},
		{Args: "list extra", WantErr: `unknown command "extra"`},
	})
}
