package keys

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/output"
	libkeys "github.com/sfbridge/sfbridge/keys"
)

// GenerateOptions are the flags of `sfbridge keys generate` and what it reads
// besides them.
type GenerateOptions struct {
	Env
	OutDir         string
	Name           string
	Bits           int
	Days           int
	Subject        string
	PassphraseFile string
	Force          bool
	Out            output.Flags
}

type generateResult struct {
	KeyFile     string    `json:"key_file"`
	CertFile    string    `json:"certificate_file"`
	Encrypted   bool      `json:"encrypted"`
	Bits        int       `json:"bits"`
	Subject     string    `json:"subject"`
	NotAfter    time.Time `json:"not_after"`
	Fingerprint string    `json:"public_key_sha256"`
	NextStep    string    `json:"next_step"`
}

func newGenerateCmd(f *factory.Factory, runF func(*GenerateOptions) error) *cobra.Command {
	opts := &GenerateOptions{Env: envOf(f)}
	cmd := &cobra.Command{
		Use:   "generate --out-dir DIR",
		Short: "Generate an RSA key and a self-signed certificate for a connected app",
		Long: `Generate an RSA private key and a self-signed SHA-256 certificate, the pair
the vendors' guides make with
  openssl req -x509 -sha256 -nodes -days 36500 -newkey rsa:2048 -keyout salesforce.key -out salesforce.crt

DIR/NAME.key is written with mode 0600 (PKCS#8 PEM; encrypted PKCS#8 with
--passphrase-file or SFBRIDGE_NEW_KEY_PASSPHRASE) and DIR/NAME.crt next to it.
Existing files are never replaced without --force.`,
		Example: `  sfbridge keys generate --out-dir ./secrets
  sfbridge keys generate --out-dir ./secrets --name acme --subject "CN=acme-integration,O=Acme" --bits 3072
  sfbridge keys generate --out-dir ./secrets --passphrase-file ./passphrase.txt`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(opts, runF, runGenerate, nil),
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.OutDir, "out-dir", "", "Directory to write NAME.key and NAME.crt to (created with mode 0700 if missing)")
	fs.StringVar(&opts.Name, "name", "salesforce", "Base name of the files")
	fs.IntVar(&opts.Bits, "bits", 2048, "RSA key size: 2048, 3072 or 4096")
	fs.IntVar(&opts.Days, "days", libkeys.DefaultDays, "Certificate validity in days")
	fs.StringVar(&opts.Subject, "subject", libkeys.DefaultSubject, `Certificate subject, e.g. "CN=acme-integration,O=Acme"`)
	fs.StringVar(&opts.PassphraseFile, "passphrase-file", "", "Encrypt the key with the passphrase in this file (env SFBRIDGE_NEW_KEY_PASSPHRASE)")
	fs.BoolVar(&opts.Force, "force", false, "Replace existing files (breaks integrations that use the old key)")
	_ = cmd.MarkFlagRequired("out-dir")
	output.AddJSONFlag(fs, &opts.Out)
	return cmd
}

func runGenerate(_ context.Context, opts *GenerateOptions) error {
	f := opts.Env
	if opts.Days <= 0 {
		return exitcode.UsageErrorf("--days must be positive, got %d", opts.Days)
	}
	switch opts.Bits {
	case 2048, 3072, 4096:
	default:
		return exitcode.UsageErrorf("--bits must be 2048, 3072 or 4096, got %d", opts.Bits)
	}
	if _, err := libkeys.ParseSubject(opts.Subject); err != nil {
		return exitcode.With(exitcode.Usage, fmt.Errorf("--subject: %w", err))
	}
	pass, err := readSecret(f.IO.In, opts.PassphraseFile, f.Getenv("SFBRIDGE_NEW_KEY_PASSPHRASE"), "SFBRIDGE_NEW_KEY_PASSPHRASE", "passphrase")
	if err != nil {
		return err
	}
	defer clear(pass)
	key, err := libkeys.GenerateKey(opts.Bits)
	if err != nil {
		return err
	}
	cert, err := libkeys.NewSelfSignedCertificate(key, libkeys.CertificateOptions{Subject: opts.Subject, Days: opts.Days, Now: f.Now()})
	if err != nil {
		return err
	}
	keyPath, certPath, err := libkeys.WriteKeyPair(opts.OutDir, opts.Name, key, cert, libkeys.WriteOptions{Passphrase: pass, Force: opts.Force})
	if err != nil {
		return withHint(err)
	}
	fp, _ := libkeys.Fingerprint(&key.PublicKey)
	crt := filepath.Base(certPath)
	res := generateResult{
		KeyFile: keyPath, CertFile: certPath, Encrypted: len(pass) > 0, Bits: opts.Bits,
		Subject: cert.Subject.String(), NotAfter: cert.NotAfter.UTC(), Fingerprint: fp,
		NextStep: fmt.Sprintf("Upload %s to the connected app (Setup > App Manager > Edit > Use digital signatures) "+
			"or to the External Client App's OAuth settings; give %s only to the integration that signs the JWT.", crt, filepath.Base(keyPath)),
	}
	if opts.Out.JSON {
		return output.WriteJSON(f.IO.Out, res)
	}
	enc := "unencrypted PKCS#8"
	if res.Encrypted {
		enc = "encrypted PKCS#8 (PBES2, AES-256-CBC)"
	}
	cs := f.IO.Colors()
	var b strings.Builder
	fmt.Fprintf(&b, "%s Wrote private key  %s (mode 0600, RSA %d, %s)\n", cs.Green("✓"), keyPath, opts.Bits, enc)
	fmt.Fprintf(&b, "%s Wrote certificate  %s (%s, valid until %s)\n", cs.Green("✓"), certPath, res.Subject, res.NotAfter.Format(time.DateOnly))
	fmt.Fprintf(&b, "  Public key SHA-256: %s\n\n", fp)
	fmt.Fprintf(&b, "Next step: upload %s to the connected app (Setup > App Manager > your app > Edit >\n", crt)
	fmt.Fprintf(&b, "\"Use digital signatures\") or to the External Client App's OAuth settings.\n")
	fmt.Fprintf(&b, "Keep %s secret: it is what signs the JWT. Check a pair any time with\n", filepath.Base(keyPath))
	fmt.Fprintf(&b, "  sfbridge keys check --key %s --cert %s\n", keyPath, certPath)
	_, err = fmt.Fprint(f.IO.Out, b.String())
	return err
}
