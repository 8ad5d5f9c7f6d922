// Package login implements `sfbridge login`: it logs in to an org with the
// JWT bearer flow to prove the connection, and stores a profile (the key's
// path, never the key) and the encrypted session for later commands.
package login

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/output"
	"github.com/sfbridge/sfbridge/internal/profile"
)

// Options holds the flags of `sfbridge login`.
type Options struct {
	IO *iostreams.IOStreams
	// ProfileEnv is where profiles are stored, and the clock, logger and
	// HTTP client of the login.
	ProfileEnv func() (profile.Env, error)
	Output     output.Flags

	cmdutil.LoginFlags
	Alias      string
	SetDefault bool
}

// NewCmd returns the login command. runF, when not nil, receives the parsed
// options instead of run (tests of the flags use it).
func NewCmd(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, ProfileEnv: f.ProfileEnv}
	cmd := &cobra.Command{
		Use:   "login --client-id ID --jwt-key-file FILE --username USER [flags]",
		Short: "Log in to an org with the JWT bearer flow and remember it",
		Long: `Log in to a Salesforce org with the OAuth 2.0 JWT bearer flow, as
` + "`sf org login jwt`" + ` does, to prove that the app, the user and the key fit together.

On success sfbridge stores a profile in its configuration directory (the path
of the key file, never the key) and the session, encrypted with a key derived
from the signing key, so later commands reuse it until Salesforce refuses it.

--jwt-key-file accepts PEM (PKCS#1 or PKCS#8, plain or encrypted), DER, a Java
keystore (JKS) or PKCS#12; give the password of an encrypted key or keystore
with --keystore-password-file (or SFBRIDGE_KEY_PASSWORD), the entry with
--keystore-alias, and a JKS entry's own key password, when it differs from
the store password, with --key-password-file (or SFBRIDGE_KEY_ENTRY_PASSWORD).

Without --audience, sfbridge tries the usual login URL/audience pairs (My
Domain, sandbox, production) and remembers the one that works; it stops at
once when Salesforce refuses for a reason other than the audience.`,
		Example: `  sfbridge login --client-id 3MVG9... --jwt-key-file server.key \
    --username integration@acme.com --instance-url https://acme.my.salesforce.com --alias acme --set-default`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(opts, runF, run, func(cmd *cobra.Command, _ []string) error {
			if missing := opts.Missing(); missing != "" {
				return exitcode.UsageErrorf("%s is required (see '%s --help')", missing, cmd.CommandPath())
			}
			return nil
		}),
	}
	fl := cmd.Flags()
	cmdutil.AddLoginFlags(fl, &opts.LoginFlags, "o")
	fl.StringVarP(&opts.Alias, "alias", "a", "", "Alias for the org profile")
	fl.BoolVarP(&opts.SetDefault, "set-default", "s", false, "Make this org the default of -o/--target-org")
	output.AddJSONFlag(fl, &opts.Output)
	return cmd
}

// Result is what login prints with --json.
type Result struct {
	Username    string `json:"username"`
	Alias       string `json:"alias,omitempty"`
	OrgID       string `json:"org_id"`
	UserID      string `json:"user_id"`
	InstanceURL string `json:"instance_url"`
	LoginURL    string `json:"login_url"`
	Audience    string `json:"audience"`
	Default     bool   `json:"default"`
}

func run(ctx context.Context, opts *Options) error {
	env, err := opts.ProfileEnv()
	if err != nil {
		return err
	}
	keyFile, err := filepath.Abs(opts.KeyFile)
	if err != nil {
		return err
	}
	passFile, err := absOrEmpty(opts.KeystorePasswordFile)
	if err != nil {
		return err
	}
	keyPassFile, err := absOrEmpty(opts.KeyPasswordFile)
	if err != nil {
		return err
	}
	// The profile to store; its login URL and audience are the ones given
	// until the login reports the pair that worked.
	p := &profile.Profile{
		Alias: opts.Alias, Username: opts.Username, ClientID: opts.ClientID,
		KeyFile: keyFile, KeystoreAlias: opts.KeystoreAlias, KeystorePasswordFile: passFile, KeyPasswordFile: keyPassFile,
		LoginURL: opts.InstanceURL, Audience: opts.Audience,
	}
	key, err := p.KeySpec().WithPasswords(env).Load()
	if err != nil {
		return cmdutil.KeyHint(err)
	}
	src, err := auth.NewTokenSource(profile.AuthConfig(env, p, key))
	if err != nil {
		// A key too weak to sign with is a bad key file (exit 1), like
		// every other key that cannot be used; the rest are bad flags.
		var ce *auth.ConfigError
		if errors.As(err, &ce) && ce.Field == "PrivateKey" {
			return fmt.Errorf("%s: %w; generate a 2048-bit pair with `sfbridge keys generate` and upload its certificate to the app", opts.KeyFile, err)
		}
		return exitcode.With(exitcode.Usage, err)
	}
	tok, err := src.Login(ctx)
	if err != nil {
		return err // *auth.Error exits 3, *auth.NetworkError exits 4
	}
	ep, _ := src.Endpoint()
	if skew, ok := src.ClockSkew(); ok && (skew > time.Minute || skew < -time.Minute) {
		fmt.Fprintf(opts.IO.ErrOut, "warning: %s; logins fail once the gap exceeds the assertion's 3 minutes: synchronise it with NTP\n", auth.DescribeClockSkew(skew))
	}
	p.LoginURL, p.Audience = ep.LoginURL, ep.Audience
	p.InstanceURL, p.OrgID, p.UserID = tok.InstanceURL, tok.OrgID, tok.UserID
	store := profile.Store{Dir: env.Dir}
	if err := store.Save(p, opts.SetDefault); err != nil {
		return fmt.Errorf("saving the org profile: %w", err)
	}
	cache, err := profile.NewTokenCache(env.Dir, p, key)
	if err != nil {
		return err
	}
	if err := cache.Save(tok); err != nil {
		return fmt.Errorf("saving the session: %w", err)
	}
	_, def, err := store.List()
	if err != nil {
		return err
	}
	res := Result{
		Username: p.Username, Alias: p.Alias, OrgID: tok.OrgID, UserID: tok.UserID,
		InstanceURL: tok.InstanceURL, LoginURL: ep.LoginURL, Audience: ep.Audience, Default: def == p.Username,
	}
	if opts.Output.JSON {
		return output.WriteJSON(opts.IO.Out, res)
	}
	cs := opts.IO.Colors()
	fmt.Fprintf(opts.IO.Out, "%s Logged in to org %s as %s\n", cs.Green("✓"), res.OrgID, res.Username)
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Org ID:\t%s\n", res.OrgID)
	fmt.Fprintf(tw, "User ID:\t%s\n", res.UserID)
	fmt.Fprintf(tw, "Username:\t%s\n", res.Username)
	fmt.Fprintf(tw, "Instance URL:\t%s\n", res.InstanceURL)
	fmt.Fprintf(tw, "Login URL:\t%s (audience %s)\n", res.LoginURL, res.Audience)
	if res.Alias != "" {
		fmt.Fprintf(tw, "Alias:\t%s\n", res.Alias)
	}
	if res.Default {
		fmt.Fprintf(tw, "Default:\tyes\n")
	}
	return tw.Flush()
}

// absOrEmpty makes a named file's path absolute, for the profile.
func absOrEmpty(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	return filepath.Abs(path)
}
