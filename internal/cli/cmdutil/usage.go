package cmdutil

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
)

// UsageErrors makes bad flags and bad positional arguments of cmd and every
// command below it usage errors (exit 2) that point at the command's help.
// The root command calls it once the tree is assembled.
func UsageErrors(cmd *cobra.Command) {
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return exitcode.With(exitcode.Usage, fmt.Errorf("%w (see '%s --help')", err, c.CommandPath()))
	})
	wrapArgs(cmd)
}

// wrapArgs makes positional-argument errors usage errors.
func wrapArgs(cmd *cobra.Command) {
	if v := cmd.Args; v != nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			if err := v(c, args); err != nil {
				return exitcode.With(exitcode.Usage, fmt.Errorf("%w (see '%s --help')", err, c.CommandPath()))
			}
			return nil
		}
	}
	for _, c := range cmd.Commands() {
		wrapArgs(c)
	}
}
