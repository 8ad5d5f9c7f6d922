package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/messaging"
)

// TokenOptions holds the flags of `sfbridge messaging token`.
type TokenOptions struct {
	IO        *iostreams.IOStreams
	ConfigDir func() (string, error)
	Alias     string
	User      string
	JSON      bool
	ShowToken bool
}

// NewTokenCmd returns the token command.
func NewTokenCmd(f *factory.Factory, runF func(*TokenOptions) error) *cobra.Command {
	opts := &TokenOptions{IO: f.IOStreams, ConfigDir: f.ConfigDir}
	cmd := &cobra.Command{
		Use:   "token -o ALIAS --user USER [--json] [--show-token]",
		Short: "Mint a verified access token and show its subject and expiry",
		Long: `Sign an identity token for the end user, exchange it for a Messaging access
token and show the verified subject, the auth mode and the expiry. The token
itself is a secret: it is printed only with --show-token (and then not
revoked); otherwise it is revoked at once.`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(opts, runF, runToken, required("target", "user")),
	}
	addCommon(cmd, &opts.Alias, &opts.User)
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "Print JSON")
	cmd.Flags().BoolVar(&opts.ShowToken, "show-token", false, "Print the access token too (a secret)")
	return cmd
}

func addCommon(cmd *cobra.Command, alias, user *string) {
	cmd.Flags().StringVarP(alias, "target", "o", "", "Messaging profile alias (sfbridge messaging login --alias)")
	cmd.Flags().StringVar(user, "user", "", "End user id: the identity token's sub (a stable employee id or email)")
}

// required is a prepare step: the named flags must be given (a usage error
// names the missing ones).
func required(names ...string) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		var missing []string
		for _, n := range names {
			if !cmd.Flags().Changed(n) {
				missing = append(missing, "--"+n)
			}
		}
		if len(missing) > 0 {
			return exitcode.UsageErrorf("missing %s", strings.Join(missing, ", "))
		}
		return nil
	}
}

// TokenResult is what token prints with --json.
type TokenResult struct {
	Subject        string    `json:"subject"`
	AuthMode       string    `json:"auth_mode"`
	DeploymentType string    `json:"deployment_type,omitempty"`
	Expires        time.Time `json:"expires,omitzero"`
	AccessToken    string    `json:"access_token,omitempty"`
}

func runToken(ctx context.Context, opts *TokenOptions) error {
	c, _, err := openClient(opts.ConfigDir, opts.Alias, nil)
	if err != nil {
		return err
	}
	var res TokenResult
	var info messaging.TokenInfo
	if opts.ShowToken {
		res.AccessToken, info, err = c.MintAccessToken(ctx, opts.User)
	} else {
		info, err = c.Check(ctx, opts.User)
	}
	if err != nil {
		return classify(err)
	}
	res.Subject, res.AuthMode, res.DeploymentType, res.Expires = info.Subject, info.AuthMode, info.DeploymentType, info.Expires.UTC()
	if opts.JSON {
		b, _ := json.MarshalIndent(res, "", "  ")
		fmt.Fprintln(opts.IO.Out, string(b))
		return nil
	}
	fmt.Fprintf(opts.IO.Out, "subject   %s\nauth mode %s\nexpires   %s\n", res.Subject, res.AuthMode, res.Expires.Format(time.RFC3339))
	if opts.ShowToken {
		fmt.Fprintf(opts.IO.Out, "token     %s\n", res.AccessToken)
	}
	return nil
}

// classify gives setup problems the exit code of a refused authentication.
func classify(err error) error {
	var me *messaging.Error
	if errors.As(err, &me) && (me.Step != "" || errors.Is(err, messaging.ErrAnonymousToken)) {
		return exitcode.With(exitcode.AuthRefused, err)
	}
	return err
}
