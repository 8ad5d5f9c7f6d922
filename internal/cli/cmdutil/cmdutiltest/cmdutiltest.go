// Package cmdutiltest helps the tests of commands: an org served by a test
// server without profiles or logins, and table tests of a command's flag
// parsing that never run the command.
package cmdutiltest

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/output"
	"github.com/sfbridge/sfbridge/internal/profile"
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

// FlagCase is one row of a table test of a command's flag parsing.
type FlagCase[O any] struct {
	// Args is the command line after the command's name, split at spaces;
	// ArgList, when set, is used as it stands instead.
	Args    string
	ArgList []string
	// Want is the options the command would run with. The command's
	// surroundings (streams, the Org accessor, environment, clock, logger)
	// are not compared.
	Want O
	// WantErr, when set, is a part of the error the command line must give
	// before anything runs; runF must then not be called.
	WantErr string
	// WantExit is the exit code of that error; zero means a usage error
	// (exit 2).
	WantExit exitcode.Code
}

// TestFlags builds the command with newCmd and a runF that captures its
// options, runs each case's command line and compares what was captured
// with Want. The factory has an empty environment and a fixed clock.
func TestFlags[O any](t *testing.T, newCmd func(*factory.Factory, func(*O) error) *cobra.Command, cases []FlagCase[O], opts ...cmp.Option) {
	t.Helper()
	ignore := append([]cmp.Option{
		cmpopts.IgnoreTypes(&iostreams.IOStreams{}, cmdutil.OrgFunc(nil), (func() (profile.Env, error))(nil),
			(func() (string, error))(nil), (func(string) string)(nil), (func() time.Time)(nil), &slog.Logger{}),
		cmpopts.IgnoreInterfaces(struct{ io.Writer }{}),
		cmpopts.IgnoreUnexported(*new(O), output.Flags{}),
		cmpopts.EquateEmpty(),
	}, opts...)
	for _, tc := range cases {
		args := tc.ArgList
		if args == nil {
			args = strings.Fields(tc.Args)
		}
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var got *O
			cmd := newCmd(Factory(), func(o *O) error { got = o; return nil })
			err := Execute(t, cmd, args...)
			if tc.WantErr != "" {
				wantExit := tc.WantExit
				if wantExit == exitcode.OK {
					wantExit = exitcode.Usage
				}
				if err == nil || !strings.Contains(err.Error(), tc.WantErr) || exitcode.Of(err) != wantExit {
					t.Fatalf("err = %v (exit %d), want exit %d with %q", err, exitcode.Of(err), wantExit, tc.WantErr)
				}
				if got != nil {
					t.Fatalf("the command ran despite the usage error, with %+v", *got)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if got == nil {
				t.Fatal("runF was not called")
			}
			if diff := cmp.Diff(tc.Want, *got, ignore...); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

// Factory returns a factory with test streams, an empty environment and a
// fixed clock.
func Factory() *factory.Factory {
	ios, _, _, _ := iostreams.Test()
	f := factory.New(ios, func(string) string { return "" }, "test")
	f.Now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	return f
}

// Execute runs cmd with args as the CLI would (bad flags and arguments are
// usage errors), its help and error output discarded, and returns its
// error.
func Execute(tb testing.TB, cmd *cobra.Command, args ...string) error {
	tb.Helper()
	cmdutil.UsageErrors(cmd)
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	return cmd.ExecuteContext(tb.Context())
}
