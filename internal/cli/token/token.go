// Package token implements `sfbridge token`: it prints the access token and
// instance URL of an org profile, for curl and scripts, reusing the cached
// session so that no login is spent when one is still held, after one
// request that checks Salesforce still accepts it.
package token

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/output"
)

// Options holds the flags of `sfbridge token`.
type Options struct {
	IO     *iostreams.IOStreams
	Org    cmdutil.OrgFunc
	Output output.Flags
	Target cmdutil.Target
	// NoCheck prints a cached session without asking Salesforce first.
	NoCheck bool
}

// NewCmd returns the token command. runF, when not nil, receives the parsed
// options instead of run (tests of the flags use it).
func NewCmd(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Org: f.Org}
	cmd := &cobra.Command{
		Use:   "token [-o ORG] [--json] [--no-check]",
		Short: "Print the access token and instance URL of an org",
		Long: `Print the access token and instance URL of a logged-in org, for curl and
scripts. The session cached by the last command is reused: one request (the
API's resource directory) checks that Salesforce still accepts it, and if it
was revoked or timed out sfbridge logs in again and prints the new one. That
request counts against the org's daily API requests; --no-check skips it and
prints the cached session as it is. With no cached session sfbridge logs in.
The token is a secret: do not log it.`,
		Example: `  curl -H "Authorization: Bearer $(sfbridge token --json | jq -r .access_token)" \
    "$(sfbridge token --json | jq -r .instance_url)/services/data/v62.0/limits"`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(opts, runF, run, nil),
	}
	cmdutil.AddTargetOrgFlag(cmd.Flags(), &opts.Target)
	output.AddJSONFlag(cmd.Flags(), &opts.Output)
	cmd.Flags().BoolVar(&opts.NoCheck, "no-check", false, "Print a cached session without checking that Salesforce still accepts it (saves one API request)")
	return cmd
}

// Result is what token prints with --json.
type Result struct {
	AccessToken string `json:"access_token"`
	InstanceURL string `json:"instance_url"`
	Username    string `json:"username"`
	OrgID       string `json:"org_id"`
	Cached      bool   `json:"cached"`
}

func run(ctx context.Context, opts *Options) error {
	org, tok, err := opts.Org.Token(ctx, opts.Target)
	if err != nil {
		return err
	}
	cached := org.FromCache()
	if cached && !opts.NoCheck {
		// auth.Transport renews a session Salesforce no longer accepts.
		c, err := org.Client()
		if err != nil {
			return err
		}
		if _, err := c.Resources(ctx); err != nil {
			return fmt.Errorf("checking the cached session: %w", err)
		}
		if tok, err = org.Token(ctx); err != nil {
			return err
		}
		cached = org.FromCache()
	}
	if err := org.Persist(); err != nil {
		return fmt.Errorf("saving the session: %w", err)
	}
	res := Result{AccessToken: tok.AccessToken, InstanceURL: tok.InstanceURL, Username: org.Profile.Username, OrgID: tok.OrgID, Cached: cached}
	if opts.Output.JSON {
		return output.WriteJSON(opts.IO.Out, res)
	}
	fmt.Fprintf(opts.IO.Out, "Access token: %s\nInstance URL: %s\n", res.AccessToken, res.InstanceURL)
	return nil
}
