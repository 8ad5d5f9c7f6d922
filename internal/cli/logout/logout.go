// Package logout implements `sfbridge logout`: it revokes an org profile's
// cached session, clears the token cache and, with --forget, drops the
// profile.
package logout

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/profile"
)

// Options holds the flags of `sfbridge logout`.
type Options struct {
	IO     *iostreams.IOStreams
	Org    cmdutil.OrgFunc
	Target cmdutil.Target
	Forget bool
}

// NewCmd returns the logout command. runF, when not nil, receives the
// parsed options instead of run (tests of the flags use it).
func NewCmd(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Org: f.Org}
	cmd := &cobra.Command{
		Use:   "logout [-o ORG] [--forget]",
		Short: "Revoke an org's session and clear its token cache",
		Long: `Revoke the cached session of an org at Salesforce and delete the token cache.
With --forget the org profile is removed too; otherwise the next command logs
in again with the stored key path.`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(opts, runF, run, nil),
	}
	cmdutil.AddTargetOrgFlag(cmd.Flags(), &opts.Target)
	cmd.Flags().BoolVar(&opts.Forget, "forget", false, "Also remove the org profile")
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	org, err := opts.Org(ctx, opts.Target)
	if err != nil {
		return err
	}
	p := org.Profile
	revoked := false
	s, openErr := org.Session()
	if openErr == nil {
		if tok := s.Source.Cached(); tok != nil {
			if err := auth.Revoke(ctx, org.Env.HTTPClient, tok); err != nil {
				var apiErr *auth.StatusError
				if !errors.As(err, &apiErr) {
					return fmt.Errorf("the session was not revoked and the cache is kept: %w", err)
				}
				// 400 invalid_token: the session had already ended.
				fmt.Fprintf(opts.IO.ErrOut, "warning: Salesforce did not revoke the session (%d); it has probably ended already\n", apiErr.StatusCode)
			} else {
				revoked = true
			}
		}
		if err := s.Cache.Clear(); err != nil {
			return err
		}
	} else {
		// Without the key the cache can be neither read nor revoked.
		fmt.Fprintf(opts.IO.ErrOut, "warning: cannot open the key (%v); the session was not revoked\n", openErr)
		if err := profile.ClearCache(org.Env.Dir, p); err != nil {
			return err
		}
	}
	if opts.Forget {
		if err := (profile.Store{Dir: org.Env.Dir}).Remove(p.Username); err != nil {
			return err
		}
	}
	switch {
	case revoked && opts.Forget:
		fmt.Fprintf(opts.IO.Out, "Logged out of %s: session revoked, profile removed\n", p.Name())
	case revoked:
		fmt.Fprintf(opts.IO.Out, "Logged out of %s: session revoked\n", p.Name())
	case opts.Forget:
		fmt.Fprintf(opts.IO.Out, "Logged out of %s: profile removed\n", p.Name())
	default:
		fmt.Fprintf(opts.IO.Out, "Logged out of %s: no session was cached\n", p.Name())
	}
	return nil
}
