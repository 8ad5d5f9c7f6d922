// Package cmdutiltest helps the tests of commands: an org served by a test
// server without profiles or logins, and running a command's flag parsing
// on its own.
package cmdutiltest

import (
	"context"
	"io"
	"testing"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/rest"
)

// Org returns an OrgFunc that opens, for any target, an org whose REST
// client calls instanceURL (API version 66.0 unless opts say otherwise)
// with a fixed access token.
func Org(tb testing.TB, instanceURL string, opts ...rest.Option) cmdutil.OrgFunc {
	tb.Helper()
	src := auth.NewCachedSource(func(context.Context) (*auth.Token, error) {
		return &auth.Token{AccessToken: "tok", InstanceURL: instanceURL}, nil
	})
	c, err := rest.New(src, append([]rest.Option{rest.WithAPIVersion("66.0")}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return func(context.Context, cmdutil.Target) (*cmdutil.Org, error) { return cmdutil.StaticOrg(c), nil }
}

// Execute runs cmd with args, its help and error output discarded, and
// returns its error: the way a flag table test runs a command built with a
// runF that captures the options.
func Execute(tb testing.TB, cmd *cobra.Command, args ...string) error {
	tb.Helper()
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	return cmd.ExecuteContext(tb.Context())
}
