package keys

import (
	"context"
	"crypto/x509"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/output"
	libkeys "github.com/sfbridge/sfbridge/keys"
)

// JWKOptions are the flags of `sfbridge keys jwk` and what it reads
// besides them.
type JWKOptions struct {
	Env
	KeyFile  string
	CertFile string
	Kid      string
	Set      bool
	Load     loadFlags
	Out      output.Flags
}

func newJWKCmd(f *factory.Factory, runF func(*JWKOptions) error) *cobra.Command {
	opts := &JWKOptions{Env: envOf(f)}
	cmd := &cobra.Command{
		Use:   "jwk --key FILE --kid KID",
		Short: "Print the public key as a JWK or JWKS for Messaging user verification",
		Long: `Print the RSA public key of a private key as a JSON Web Key (kty, n, e, kid,
alg RS256, use sig), or as a JWK Set with --jwks. This is what Messaging for
In-App and Web user verification registers against a Key ID; the JWT the
integration signs carries that Key ID in its "kid" header.

With --cert, the certificate chain is added as "x5c" (and "x5t#S256") after
checking that it belongs to the key. The output is JSON either way; --json is
accepted for symmetry with the other commands. Nothing secret is printed.`,
		Example: `  sfbridge keys jwk --key salesforce.key --kid moveworks-1
  sfbridge keys jwk --key salesforce.key --cert salesforce.crt --kid moveworks-1 --jwks`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(opts, runF, runJWK, nil),
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.KeyFile, "key", "", "Private key file (PEM, DER, JKS, PKCS#12); default: SFBRIDGE_JWT_KEY")
	fs.StringVar(&opts.CertFile, "cert", "", "Certificate to include as x5c")
	fs.StringVar(&opts.Kid, "kid", "", "Key ID registered in Salesforce (required)")
	fs.BoolVar(&opts.Set, "jwks", false, `Print a JWK Set {"keys": [...]}`)
	opts.Load.register(cmd)
	output.AddJSONFlag(fs, &opts.Out)
	return cmd
}

func runJWK(_ context.Context, opts *JWKOptions) error {
	f := opts.Env
	if opts.Kid == "" {
		return exitcode.UsageErrorf("--kid is required: the Key ID registered in Salesforce for this public key")
	}
	lo, err := opts.Load.options(f)
	if err != nil {
		return err
	}
	key, _, _, err := loadKey(f, opts.KeyFile, "--key", lo)
	if err != nil {
		return err
	}
	var chain []*x509.Certificate
	if opts.CertFile != "" {
		if chain, err = loadCertificates(opts.CertFile, lo); err != nil {
			return err
		}
	}
	jwk, err := libkeys.NewJWK(&key.PublicKey, opts.Kid, chain)
	if err != nil {
		return err
	}
	if opts.Set {
		return output.WriteJSON(f.IO.Out, libkeys.JWKS{Keys: []libkeys.JWK{*jwk}})
	}
	return output.WriteJSON(f.IO.Out, jwk)
}
