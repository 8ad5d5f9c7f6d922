package cmdutil

import (
	"context"
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

// wrapArgs makes positional-argument errors and missing required flags
// usage errors. cobra checks required flags only after the pre-run hooks,
// and reports them as plain errors; each command checks them first, in a
// pre-run hook of its own.
func wrapArgs(cmd *cobra.Command) {
	if pre, preE := cmd.PreRun, cmd.PreRunE; cmd.Runnable() {
		cmd.PreRun = nil
		cmd.PreRunE = func(c *cobra.Command, args []string) error {
			for _, validate := range []func() error{c.ValidateRequiredFlags, c.ValidateFlagGroups} {
				if err := validate(); err != nil {
					return exitcode.With(exitcode.Usage, fmt.Errorf("%w (see '%s --help')", err, c.CommandPath()))
				}
			}
			if pre != nil {
				pre(c, args)
			}
			if preE != nil {
				return preE(c, args)
			}
			return nil
		}
	}
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

// RunE is the RunE of a command in the Options / NewCmd(f, runF) / run
// shape. prepare, when not nil, moves the positional arguments into opts
// and checks what the flags alone cannot (a usage error stops there); then
// opts go to runF when a test gave one, else to run with the command's
// context.
func RunE[O any](opts *O, runF func(*O) error, run func(context.Context, *O) error, prepare func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if prepare != nil {
			if err := prepare(cmd, args); err != nil {
				return err
			}
		}
		if runF != nil {
			return runF(opts)
		}
		return run(cmd.Context(), opts)
	}
}
