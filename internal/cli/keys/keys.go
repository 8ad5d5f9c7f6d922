// Package keys implements `sfbridge keys`: generate, inspect, check, jwk
// and convert the RSA credentials of the JWT bearer flow. Secrets
// (passphrases, keystore passwords) come from files or environment
// variables, never from flag values, and are never printed.
package keys

import (
	"bufio"
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/inputfile"
	libkeys "github.com/sfbridge/sfbridge/keys"
)

// NewCmd returns `sfbridge keys` and its subcommands.
func NewCmd(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys <command>",
		Short: "Generate, inspect, check and convert JWT signing keys",
		Long: `Manage the RSA key pair of the JWT bearer flow: the private key signs the
assertion, the certificate is uploaded to the connected app (or External
Client App), and the public key can be registered as a JWK for Messaging
user verification.

Keys are read from PEM (PKCS#1, PKCS#8, encrypted PKCS#8, legacy encrypted
PEM), DER, Java KeyStores (JKS) and PKCS#12 (.p12/.pfx), also as base64 or
with line breaks pasted as literal \n.

Passphrases and keystore passwords are read from files (--password-file,
--passphrase-file, --key-password-file; "-" reads the first line of stdin)
or from the environment variables listed in 'sfbridge help environment'.
They are never accepted as flag values and never printed.`,
	}
	cmd.AddCommand(
		newGenerateCmd(f),
		newInspectCmd(f),
		newCheckCmd(f),
		newJWKCmd(f),
		newConvertCmd(f),
	)
	return cmd
}

// maxSecret bounds a passphrase file.
const maxSecret = 64 << 10

// readSecret returns the secret in file ("-" for stdin's first line), else
// the value of the environment variable (already read by the caller, which
// names it in envName), else nil. One trailing newline is removed.
func readSecret(in io.Reader, file, envValue, envName, what string) ([]byte, error) {
	if file == "" {
		if envValue == "" {
			return nil, nil
		}
		return []byte(envValue), nil
	}
	var data []byte
	if file == "-" {
		line, err := bufio.NewReader(io.LimitReader(in, maxSecret)).ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read %s from stdin: %w", what, err)
		}
		data = line
	} else {
		var tooLarge bool
		var err error
		data, tooLarge, err = inputfile.ReadLimit(file, maxSecret)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", what, err)
		}
		if tooLarge {
			return nil, fmt.Errorf("%s file %s is larger than %d KiB: is it the right file?", what, file, maxSecret>>10)
		}
	}
	data = bytes.TrimSuffix(data, []byte("\n"))
	data = bytes.TrimSuffix(data, []byte("\r"))
	if len(data) == 0 {
		src := file
		if file == "-" {
			src = "stdin"
		}
		return nil, fmt.Errorf("the %s in %s is empty (unset %s too if you meant no %s)", what, src, envName, what)
	}
	return data, nil
}

// loadFlags are the flags shared by the commands that read a key.
type loadFlags struct {
	PasswordFile    string
	KeyPasswordFile string
	Alias           string
}

func (l *loadFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&l.PasswordFile, "password-file", "", "File holding the key's passphrase or the keystore password (env SFBRIDGE_KEY_PASSWORD)")
	fs.StringVar(&l.KeyPasswordFile, "key-password-file", "", "File holding a JKS entry's key password, if it differs from the store password (env SFBRIDGE_KEY_ENTRY_PASSWORD)")
	fs.StringVar(&l.Alias, "alias", "", "Keystore entry (JKS or PKCS#12) to use; default: the only private key entry")
}

// options resolves the secrets into LoadOptions.
func (l *loadFlags) options(f *factory.Factory) (libkeys.LoadOptions, error) {
	pass, err := readSecret(f.IOStreams.In, l.PasswordFile, f.Getenv("SFBRIDGE_KEY_PASSWORD"), "SFBRIDGE_KEY_PASSWORD", "passphrase")
	if err != nil {
		return libkeys.LoadOptions{}, err
	}
	if l.KeyPasswordFile == "-" && l.PasswordFile == "-" {
		return libkeys.LoadOptions{}, exitcode.UsageErrorf("--password-file and --key-password-file cannot both read stdin")
	}
	keyPass, err := readSecret(f.IOStreams.In, l.KeyPasswordFile, f.Getenv("SFBRIDGE_KEY_ENTRY_PASSWORD"), "SFBRIDGE_KEY_ENTRY_PASSWORD", "key password")
	if err != nil {
		return libkeys.LoadOptions{}, err
	}
	return libkeys.LoadOptions{Passphrase: pass, KeyPassword: keyPass, Alias: l.Alias}, nil
}

// envKeyName is the variable that can hold the key itself.
const envKeyName = "SFBRIDGE_JWT_KEY"

// keySource returns the key input: the file, or the contents of
// SFBRIDGE_JWT_KEY when no file is given. name is used in messages.
func keySource(f *factory.Factory, file, flag string) (data []byte, name string, err error) {
	if file != "" {
		return nil, file, nil
	}
	if v := f.Getenv("SFBRIDGE_JWT_KEY"); v != "" {
		return []byte(v), "environment variable " + envKeyName, nil
	}
	return nil, "", exitcode.UsageErrorf("no key given: pass %s or set %s to the key (PEM or base64)", flag, envKeyName)
}

// loadKey loads the RSA private key from file or SFBRIDGE_JWT_KEY with the
// secrets in opts. The caller resolves opts once and passes them on to
// loadCertificates too: a passphrase read from stdin cannot be read twice.
func loadKey(f *factory.Factory, file, flag string, opts libkeys.LoadOptions) (*rsa.PrivateKey, []*x509.Certificate, string, error) {
	data, name, err := keySource(f, file, flag)
	if err != nil {
		return nil, nil, "", err
	}
	// Certificates next to the key (combined PEM, keystores) are optional.
	var k *rsa.PrivateKey
	var certs []*x509.Certificate
	if data == nil {
		k, certs, err = libkeys.LoadPrivateKeyWithCertificatesFile(file, opts)
	} else {
		k, certs, err = libkeys.ParsePrivateKeyWithCertificates(data, name, opts)
	}
	if err != nil {
		return nil, nil, "", withHint(err)
	}
	return k, certs, name, nil
}

// loadCertificates reads the certificates of a --cert file. A keystore
// given there is opened with opts.
func loadCertificates(file string, opts libkeys.LoadOptions) ([]*x509.Certificate, error) {
	certs, err := libkeys.LoadCertificatesFile(file, opts)
	if err != nil {
		return nil, withHint(err)
	}
	return certs, nil
}

// withHint adds the CLI's way to fix a library error.
func withHint(err error) error {
	var hint string
	switch {
	case errors.Is(err, libkeys.ErrPassphraseRequired), errors.Is(err, libkeys.ErrWrongPassphrase):
		hint = "give the passphrase or store password with --password-file FILE or SFBRIDGE_KEY_PASSWORD; " +
			"a JKS entry password that differs from the store password with --key-password-file FILE or SFBRIDGE_KEY_ENTRY_PASSWORD"
	case errors.Is(err, libkeys.ErrUnknownAlias), errors.Is(err, libkeys.ErrAliasRequired):
		hint = "choose the entry with --alias NAME"
	case errors.Is(err, libkeys.ErrExists):
		hint = "add --force to replace it"
	}
	if hint == "" {
		return err
	}
	return fmt.Errorf("%w\nhint: %s", err, hint)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
