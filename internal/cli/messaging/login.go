package messaging

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/msgprofile"
	"github.com/sfbridge/sfbridge/keys"
	"github.com/sfbridge/sfbridge/messaging"
)

// LoginOptions holds the flags of `sfbridge messaging login`.
type LoginOptions struct {
	IO        *iostreams.IOStreams
	ConfigDir func() (string, error)
	Profile   msgprofile.Profile
	// CheckUser, when set, mints (and revokes) a token for this end user
	// before storing the profile.
	CheckUser string
}

// NewLoginCmd returns the login command.
func NewLoginCmd(f *factory.Factory, runF func(*LoginOptions) error) *cobra.Command {
	opts := &LoginOptions{IO: f.IOStreams, ConfigDir: f.ConfigDir}
	cmd := &cobra.Command{
		Use:   "login --scrt-url URL --org-id 00D… --deployment ES_NAME --jwt-key-file F --kid K --issuer I --alias A",
		Short: "Store a messaging profile: a deployment and its User Verification key",
		Long: `Store a messaging profile: the SCRT URL, org id and esDeveloperName of a Custom
Client (api) Embedded Service deployment, and the key that signs identity
tokens with the Key ID and Issuer of its User Verification keyset. The key's
path is stored, never the key. The settings are checked locally; with
--check-user a token is minted for that end user first, which checks the
deployment, the keyset and the key against Salesforce.`,
		Example: `  sfbridge messaging login --scrt-url https://acme.my.salesforce-scrt.com --org-id 00D5g000004XXXX \
    --deployment Acme_API --jwt-key-file acme-msg.key --kid acme-1 --issuer https://bot.acme.example --alias acme`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(opts, runF, runLogin, required("scrt-url", "org-id", "deployment", "jwt-key-file", "kid", "issuer", "alias")),
	}
	fl := cmd.Flags()
	p := &opts.Profile
	fl.StringVar(&p.SCRTURL, "scrt-url", "", "SCRT URL of the deployment (Code Snippet panel)")
	fl.StringVar(&p.OrgID, "org-id", "", "Org id (00D…)")
	fl.StringVar(&p.Deployment, "deployment", "", "esDeveloperName of the Custom Client deployment")
	fl.StringVar(&p.KeyFile, "jwt-key-file", "", "Private key that signs identity tokens (its JWK is in the keyset)")
	fl.StringVar(&p.KeyID, "kid", "", "Key ID of the key in the User Verification keyset")
	fl.StringVar(&p.Issuer, "issuer", "", "Issuer of the User Verification keyset")
	fl.StringVar(&p.Audience, "audience", "", "aud claim for identity tokens (Salesforce needs none)")
	fl.StringVarP(&p.Alias, "alias", "a", "", "Name of the profile (-o in other messaging commands)")
	fl.StringVar(&opts.CheckUser, "check-user", "", "Mint a token for this end user before storing the profile")
	return cmd
}

func runLogin(ctx context.Context, opts *LoginOptions) error {
	p := opts.Profile
	abs, err := filepath.Abs(p.KeyFile)
	if err != nil {
		return err
	}
	p.KeyFile = abs
	key, err := keys.LoadPrivateKeyFile(p.KeyFile, keys.LoadOptions{})
	if err != nil {
		return exitcode.With(exitcode.Usage, err)
	}
	c, err := messaging.New(messaging.Config{SCRTURL: p.SCRTURL, OrgID: p.OrgID, DeploymentName: p.Deployment, Key: key, KeyID: p.KeyID, Issuer: p.Issuer, Audience: p.Audience})
	if err != nil {
		return exitcode.With(exitcode.Usage, err)
	}
	if opts.CheckUser != "" {
		info, err := c.Check(ctx, opts.CheckUser)
		if err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.Out, "Verified %s (token valid until %s)\n", info.Subject, info.Expires.UTC().Format("2006-01-02T15:04:05Z"))
	}
	dir, err := opts.ConfigDir()
	if err != nil {
		return err
	}
	if err := (msgprofile.Store{Dir: dir}).Save(&p); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "Messaging profile %q saved: deployment %s at %s, key id %s, issuer %s\n", p.Alias, p.Deployment, p.SCRTURL, p.KeyID, p.Issuer)
	return nil
}
