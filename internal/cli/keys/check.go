package keys

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/output"
	libkeys "github.com/sfbridge/sfbridge/keys"
)

// CheckOptions are the flags of `sfbridge keys check` and what it reads
// besides them.
type CheckOptions struct {
	Env
	KeyFile  string
	CertFile string
	Load     loadFlags
	Out      output.Flags
}

type checkResult struct {
	Match          bool      `json:"match"`
	Key            string    `json:"key"`
	Certificate    string    `json:"certificate"`
	Subject        string    `json:"subject"`
	NotAfter       time.Time `json:"not_after"`
	KeySHA256      string    `json:"key_public_key_sha256"`
	CertificateKey string    `json:"certificate_public_key_sha256"`
}

func newCheckCmd(f *factory.Factory, runF func(*CheckOptions) error) *cobra.Command {
	opts := &CheckOptions{Env: envOf(f)}
	cmd := &cobra.Command{
		Use:   "check --key FILE --cert FILE",
		Short: "Check that a private key belongs to a certificate",
		Long: `Check that the private key and the certificate are one pair. A mismatch is
what Salesforce reports as "invalid_grant: invalid assertion": the connected
app verifies the JWT with the uploaded certificate's public key.

Exits 0 when they match and 1 with both public-key fingerprints when they do
not. Without --cert, the certificates stored with the key (a keystore, or a
PEM file holding both) are used. Without --key, SFBRIDGE_JWT_KEY is read.`,
		Example: `  sfbridge keys check --key salesforce.key --cert salesforce.crt
  sfbridge keys check --key salesforce.jks --password-file store-password.txt`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(opts, runF, runCheck, nil),
	}
	cmd.Flags().StringVar(&opts.KeyFile, "key", "", "Private key file (PEM, DER, JKS, PKCS#12)")
	cmd.Flags().StringVar(&opts.CertFile, "cert", "", "Certificate file uploaded to the connected app (PEM, DER, JKS, PKCS#12)")
	opts.Load.register(cmd)
	output.AddJSONFlag(cmd.Flags(), &opts.Out)
	return cmd
}

func runCheck(_ context.Context, opts *CheckOptions) error {
	f := opts.Env
	lo, err := opts.Load.options(f)
	if err != nil {
		return err
	}
	key, certs, keyName, err := loadKey(f, opts.KeyFile, "--key", lo)
	if err != nil {
		return err
	}
	certName := keyName
	if opts.CertFile != "" {
		// A certificate file is usually public PEM; a keystore given as
		// --cert shares the key's password and alias.
		if certs, err = loadCertificates(opts.CertFile, lo); err != nil {
			return err
		}
		certName = opts.CertFile
	} else if len(certs) == 0 {
		return fmt.Errorf("%s holds no certificate to check the key against: pass the certificate uploaded to the connected app with --cert FILE", keyName)
	}
	return reportMatch(f, opts.Out.JSON, key, certs[0], keyName, certName)
}

func reportMatch(f Env, asJSON bool, key *rsa.PrivateKey, cert *x509.Certificate, keyName, certName string) error {
	kf, _ := libkeys.Fingerprint(&key.PublicKey)
	cf, _ := libkeys.Fingerprint(cert.PublicKey)
	res := checkResult{Key: keyName, Certificate: certName, Subject: cert.Subject.String(), NotAfter: cert.NotAfter.UTC(), KeySHA256: kf, CertificateKey: cf}
	mErr := libkeys.Match(key, cert)
	res.Match = mErr == nil
	if asJSON {
		if err := output.WriteJSON(f.IO.Out, res); err != nil {
			return err
		}
	}
	if mErr != nil {
		return fmt.Errorf("%s and %s are not a pair: %w", keyName, certName, mErr)
	}
	if !asJSON {
		fmt.Fprintf(f.IO.Out, "%s %s matches %s (%s, valid until %s)\n  public key SHA-256 %s\n",
			f.IO.Colors().Green("✓"), keyName, certName, res.Subject, res.NotAfter.Format(time.DateOnly), kf)
		if f.Now().After(cert.NotAfter) {
			fmt.Fprintf(f.IO.ErrOut, "warning: the certificate expired on %s; Salesforce rejects assertions signed for it\n", res.NotAfter.Format(time.DateOnly))
		}
	}
	return nil
}
