// Package root assembles the sfbridge command tree and runs it: Main parses
// the arguments, runs the command and turns its error into an exit code.
package root

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/internal/cli/cases"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/describe"
	cldoctor "github.com/sfbridge/sfbridge/internal/cli/doctor"
	"github.com/sfbridge/sfbridge/internal/cli/employees"
	clemulator "github.com/sfbridge/sfbridge/internal/cli/emulator"
	"github.com/sfbridge/sfbridge/internal/cli/eventlogs"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/cli/help"
	"github.com/sfbridge/sfbridge/internal/cli/keys"
	"github.com/sfbridge/sfbridge/internal/cli/knowledge"
	"github.com/sfbridge/sfbridge/internal/cli/limits"
	"github.com/sfbridge/sfbridge/internal/cli/login"
	"github.com/sfbridge/sfbridge/internal/cli/logout"
	clmessaging "github.com/sfbridge/sfbridge/internal/cli/messaging"
	"github.com/sfbridge/sfbridge/internal/cli/org"
	"github.com/sfbridge/sfbridge/internal/cli/query"
	"github.com/sfbridge/sfbridge/internal/cli/record"
	"github.com/sfbridge/sfbridge/internal/cli/serve"
	clstate "github.com/sfbridge/sfbridge/internal/cli/state"
	"github.com/sfbridge/sfbridge/internal/cli/token"
	"github.com/sfbridge/sfbridge/internal/cli/version"
	"github.com/sfbridge/sfbridge/internal/cli/whoami"
	"github.com/sfbridge/sfbridge/internal/iostreams"
)

// NewCmd returns the root command with every subcommand attached.
func NewCmd(f *factory.Factory) *cobra.Command {
	var debug bool
	cmd := &cobra.Command{
		Use:   "sfbridge <command> [flags]",
		Short: "Server-to-server Salesforce integration over the OAuth 2.0 JWT bearer flow",
		Long: `sfbridge connects a service to a Salesforce org with the OAuth 2.0 JWT bearer
flow: it manages the signing keys, logs in, calls the REST API, checks that an
integration user has the access a vendor needs, and runs a local org emulator
for development and tests.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       version.Read().String(),
		PersistentPreRun: func(*cobra.Command, []string) {
			if debug || f.Getenv("SFBRIDGE_DEBUG") == "1" {
				f.EnableDebug()
			}
		},
	}
	cmd.SetOut(f.IOStreams.Out)
	cmd.SetErr(f.IOStreams.ErrOut)
	cmd.SetIn(f.IOStreams.In)
	cmd.SetVersionTemplate("{{.Version}}\n")
	cmd.PersistentFlags().BoolVar(&debug, "debug", false, "Log debug output to stderr (never secrets)")
	cmd.CompletionOptions.HiddenDefaultCmd = true

	cmd.AddCommand(
		version.NewCmd(f, nil),
		keys.NewCmd(f),
		login.NewCmd(f, nil),
		token.NewCmd(f, nil),
		whoami.NewCmd(f, nil),
		logout.NewCmd(f, nil),
		org.NewCmd(f, nil),
		clemulator.NewCmd(f, nil),
		query.NewCmd(f, nil),
		record.NewCmd(f, nil),
		describe.NewCmd(f, nil),
		limits.NewCmd(f, nil),
		cldoctor.NewCmd(f, nil),
		serve.NewCmd(f, nil),
		clmessaging.NewCmd(f),
		clstate.NewCmd(f),
		employees.NewCmd(f, nil, nil),
		cases.NewCmd(f, nil, nil),
		knowledge.NewCmd(f, nil),
		eventlogs.NewCmd(f),
		help.NewEnvironmentTopic(f),
		help.NewExitCodesTopic(f),
	)
	cmdutil.UsageErrors(cmd)
	return cmd
}

// Main runs the CLI with args (without the program name) and returns the
// process exit code.
func Main(ctx context.Context, args []string, ios *iostreams.IOStreams, getenv func(string) string) int {
	f := factory.New(ios, getenv, version.Read().String())
	cmd := NewCmd(f)
	cmd.SetArgs(args)
	ran, err := cmd.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	code := exitcode.Of(err)
	// cobra reports unknown commands and sub-commands as plain errors.
	if code == exitcode.Error && (strings.HasPrefix(err.Error(), "unknown command") || strings.HasPrefix(err.Error(), "unknown shorthand flag") || strings.HasPrefix(err.Error(), "unknown flag")) {
		code = exitcode.Usage
	}
	var silent *exitcode.Silent
	switch {
	case errors.As(err, &silent):
		// The command has reported its failure (doctor --json its report).
	case jsonRequested(ran, args):
		// Under --json every failure is JSON on stdout, in the sf CLI's
		// shape, whichever command failed.
		if werr := writeErrorJSON(ios.Out, ran, err, code); werr != nil {
			fmt.Fprintln(ios.ErrOut, ios.Colors().Red("Error:")+" "+err.Error())
		}
	default:
		fmt.Fprintln(ios.ErrOut, ios.Colors().Red("Error:")+" "+err.Error())
	}
	return int(code)
}
