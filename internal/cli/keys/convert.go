package keys

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/internal/atomicfile"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	libkeys "github.com/sfbridge/sfbridge/keys"
)

// ConvertOptions are the flags of `sfbridge keys convert` and what it reads
// besides them.
type ConvertOptions struct {
	Env
	In             string
	Out            string
	To             string
	CertFile       string
	CertOut        string
	OutAlias       string
	PassphraseFile string
	Force          bool
	Load           loadFlags
}

func newConvertCmd(f *factory.Factory, runF func(*ConvertOptions) error) *cobra.Command {
	opts := &ConvertOptions{Env: envOf(f)}
	cmd := &cobra.Command{
		Use:   "convert --in FILE --out FILE",
		Short: "Convert a key between PEM, JKS and PKCS#12",
		Long: `Convert a private key from any format sfbridge reads (PEM, encrypted PEM, DER,
JKS, PKCS#12, base64) into:

  pem    PKCS#8 PEM, encrypted (PBES2, AES-256-CBC) when a passphrase is given
  p12    PKCS#12 with the certificate, protected by the passphrase
  jks    Java KeyStore with one entry (--out-alias), store and key password
         both the passphrase: what Provar's JKS option expects

The output format comes from --to, else from the --out extension (.p12/.pfx,
.jks, anything else PEM). The output passphrase is read from --passphrase-file
or SFBRIDGE_NEW_KEY_PASSPHRASE. --cert-out also writes the certificate chain
as PEM. Output files are written with mode 0600 and never replaced without
--force.`,
		Example: `  sfbridge keys convert --in salesforce.jks --alias salesforce_cert --password-file store.txt --out salesforce.key --cert-out salesforce.crt
  sfbridge keys convert --in salesforce.key --cert salesforce.crt --out salesforce.jks --passphrase-file store.txt`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(opts, runF, runConvert, nil),
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.In, "in", "", "Input key file; default: SFBRIDGE_JWT_KEY")
	fs.StringVar(&opts.Out, "out", "", "Output file (required)")
	fs.StringVar(&opts.To, "to", "", "Output format: pem, p12 or jks (default: from the --out extension)")
	fs.StringVar(&opts.CertFile, "cert", "", "Certificate for the key, when the input holds none (needed for p12 and jks)")
	fs.StringVar(&opts.CertOut, "cert-out", "", "Also write the certificate chain as PEM to this file")
	fs.StringVar(&opts.OutAlias, "out-alias", "salesforce", "Entry name in a jks output")
	fs.StringVar(&opts.PassphraseFile, "passphrase-file", "", "Passphrase for the output (env SFBRIDGE_NEW_KEY_PASSPHRASE); required for p12 and jks")
	fs.BoolVar(&opts.Force, "force", false, "Replace existing output files")
	opts.Load.register(cmd)
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func outputFormat(to, out string) (string, error) {
	if to == "" {
		switch strings.ToLower(filepath.Ext(out)) {
		case ".p12", ".pfx":
			return "p12", nil
		case ".jks":
			return "jks", nil
		}
		return "pem", nil
	}
	switch to {
	case "pem", "p12", "jks":
		return to, nil
	}
	return "", exitcode.UsageErrorf("--to must be pem, p12 or jks, got %q", to)
}

func runConvert(_ context.Context, opts *ConvertOptions) error {
	f := opts.Env
	format, err := outputFormat(opts.To, opts.Out)
	if err != nil {
		return err
	}
	if !opts.Force {
		for _, p := range []string{opts.Out, opts.CertOut} {
			if _, err := os.Lstat(p); p != "" && err == nil {
				return fmt.Errorf("%s already exists; add --force to replace it", p)
			}
		}
	}
	if opts.PassphraseFile == "-" && (opts.Load.PasswordFile == "-" || opts.Load.KeyPasswordFile == "-") {
		return exitcode.UsageErrorf("--passphrase-file - cannot read stdin when --password-file or --key-password-file reads it too; put one of them in a file")
	}
	lo, err := opts.Load.options(f)
	if err != nil {
		return err
	}
	key, certs, name, err := loadKey(f, opts.In, "--in", lo)
	if err != nil {
		return err
	}
	if opts.CertFile != "" {
		if certs, err = loadCertificates(opts.CertFile, libkeys.LoadOptions{}); err != nil {
			return err
		}
	}
	if len(certs) > 0 {
		if err := libkeys.Match(key, certs[0]); err != nil {
			return fmt.Errorf("the certificate does not belong to the key in %s: %w", name, err)
		}
	}
	if opts.CertOut != "" && len(certs) == 0 {
		return fmt.Errorf("%s holds no certificate to write to --cert-out: add --cert FILE", name)
	}
	pass, err := readSecret(f.IO.In, opts.PassphraseFile, f.Getenv("SFBRIDGE_NEW_KEY_PASSPHRASE"), "SFBRIDGE_NEW_KEY_PASSPHRASE", "passphrase")
	if err != nil {
		return err
	}
	defer clear(pass)
	var data []byte
	switch format {
	case "pem":
		data, err = libkeys.MarshalPrivateKeyPEM(key, libkeys.WriteOptions{Passphrase: pass})
	case "p12", "jks":
		if len(pass) == 0 {
			return exitcode.UsageErrorf("a %s output needs a password: give it with --passphrase-file FILE or SFBRIDGE_NEW_KEY_PASSPHRASE", format)
		}
		if len(certs) == 0 {
			return fmt.Errorf("%s holds no certificate and a %s entry needs one: add --cert FILE", name, format)
		}
		if format == "p12" {
			data, err = libkeys.MarshalPKCS12(key, certs, pass)
		} else {
			data, err = libkeys.MarshalJKS(key, certs, opts.OutAlias, pass, f.Now())
		}
	}
	if err != nil {
		return err
	}
	defer clear(data)
	if err := atomicfile.WriteFile(opts.Out, data, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(f.IO.Out, "Wrote %s (%s%s, mode 0600)\n", opts.Out, describeFormat(format), encryptedNote(format, pass))
	if opts.CertOut != "" {
		if err := atomicfile.WriteFile(opts.CertOut, libkeys.MarshalCertificatesPEM(certs...), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(f.IO.Out, "Wrote %s (%d certificate%s, %s)\n", opts.CertOut, len(certs), plural(len(certs)), subjectOf(certs))
	}
	return nil
}

func describeFormat(format string) string {
	switch format {
	case "p12":
		return "PKCS#12"
	case "jks":
		return "JKS"
	}
	return "PKCS#8 PEM"
}

func encryptedNote(format string, pass []byte) string {
	if format == "pem" && len(pass) == 0 {
		return ", unencrypted"
	}
	return ", encrypted"
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func subjectOf(certs []*x509.Certificate) string { return certs[0].Subject.String() }
