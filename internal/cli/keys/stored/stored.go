// Package stored implements the `sfbridge keys` commands that keep org
// private keys sealed in the state store instead of in files: import, list
// (fingerprints only) and rotate-master.
package stored

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/cli/statearg"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/output"
	libkeys "github.com/sfbridge/sfbridge/keys"
	"github.com/sfbridge/sfbridge/state"
)

// ImportOptions holds the flags of `sfbridge keys import`.
type ImportOptions struct {
	IO         *iostreams.IOStreams
	Factory    *factory.Factory
	State      statearg.Flag
	MasterKeys statearg.MasterKeys
	Org        string
	File       string
	// PasswordFile holds the passphrase of an encrypted key or keystore.
	PasswordFile string
	Alias        string
}

// NewImportCmd returns `sfbridge keys import`.
func NewImportCmd(f *factory.Factory, runF func(*ImportOptions) error) *cobra.Command {
	opts := &ImportOptions{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "import --org ALIAS FILE",
		Short: "Seal an org's private key into the state store",
		Long: `Read an org's private key (PEM, encrypted PEM, DER, JKS or PKCS#12), seal it
with AES-256-GCM envelope encryption under the master key, and store it in the
state store for the org alias. The daemon can then name it in its
configuration (key: {stored: ALIAS}) instead of a key file.

The key is stored decrypted from its file format (as PKCS#8) but sealed: a
fresh data key per record, itself sealed by the master key, bound to the org
and kind. The master key comes from --master-key-file, SFBRIDGE_MASTER_KEY_FILE
or SFBRIDGE_MASTER_KEY, never from a flag value or the configuration.`,
		Example: `  head -c 32 /dev/urandom | base64 > master.key   # once; keep it safe
  sfbridge keys import --state postgres://sfbridge@db/sfbridge --org acme --master-key-file master.key acme.key`,
		Args: cobra.ExactArgs(1),
		RunE: cmdutil.RunE(opts, runF, runImport, func(_ *cobra.Command, args []string) error {
			opts.File = args[0]
			if opts.Org == "" {
				return exitcode.UsageErrorf("--org is required: the alias the daemon configuration names the key by")
			}
			return nil
		}),
	}
	opts.State.Register(cmd)
	opts.MasterKeys.Register(cmd)
	cmd.Flags().StringVar(&opts.Org, "org", "", "Org alias to store the key for (required)")
	cmd.Flags().StringVar(&opts.PasswordFile, "password-file", "", "File holding the key's passphrase or the keystore password (env SFBRIDGE_KEY_PASSWORD)")
	cmd.Flags().StringVar(&opts.Alias, "alias", "", "Keystore entry (JKS or PKCS#12) to import; default: the only private key entry")
	return cmd
}

func runImport(ctx context.Context, opts *ImportOptions) error {
	f := opts.Factory
	kr, err := opts.MasterKeys.Keyring(f)
	if err != nil {
		return err
	}
	pass, err := readPassphrase(opts.PasswordFile, f.Getenv("SFBRIDGE_KEY_PASSWORD"))
	if err != nil {
		return err
	}
	k, _, err := libkeys.LoadPrivateKeyWithCertificatesFile(opts.File, libkeys.LoadOptions{Passphrase: pass, Alias: opts.Alias})
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return err
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	clear(der)
	fp, err := libkeys.Fingerprint(&k.PublicKey)
	if err != nil {
		return err
	}
	sealed, err := kr.Seal(opts.Org, state.KindPrivateKey, pemBytes, fp)
	clear(pemBytes)
	if err != nil {
		return err
	}
	st, err := opts.State.Open(ctx, f, state.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.PutSecret(ctx, sealed); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "Sealed the private key of %s (public key SHA-256 %s) under master key %s.\n", opts.Org, fp, kr.CurrentID())
	return nil
}

func readPassphrase(file, env string) ([]byte, error) {
	if file == "" {
		if env == "" {
			return nil, nil
		}
		return []byte(env), nil
	}
	fh, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("read the passphrase: %w", err)
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("read the passphrase from %s: %w", file, err)
	}
	return bytes.TrimRight(b, "\r\n"), nil
}

// ListOptions holds the flags of `sfbridge keys list`.
type ListOptions struct {
	IO      *iostreams.IOStreams
	Factory *factory.Factory
	State   statearg.Flag
	Output  output.Flags
}

// Entry is one sealed secret in `keys list --json`: never key material.
type Entry struct {
	Org         string    `json:"org"`
	Kind        string    `json:"kind"`
	MasterKeyID string    `json:"master_key_id"`
	Fingerprint string    `json:"fingerprint"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// NewListCmd returns `sfbridge keys list`.
func NewListCmd(f *factory.Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "list [--state URL] [--json]",
		Short: "List the keys sealed in the state store (fingerprints only)",
		Long: `List the org keys sealed in the state store: org, kind, the id of the master
key that seals each, the public key's SHA-256 fingerprint and when it was
stored. No key material is ever shown, and no master key is needed.`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(opts, runF, runList, nil),
	}
	opts.State.Register(cmd)
	output.AddFlags(cmd.Flags(), &opts.Output)
	return cmd
}

func runList(ctx context.Context, opts *ListOptions) error {
	format, err := opts.Output.Resolve(opts.IO)
	if err != nil {
		return exitcode.With(exitcode.Usage, err)
	}
	secrets, err := listSecrets(ctx, opts)
	if err != nil {
		return err
	}
	entries := make([]Entry, 0, len(secrets))
	for _, s := range secrets {
		entries = append(entries, Entry{Org: s.Org, Kind: s.Kind, MasterKeyID: s.KeyID, Fingerprint: s.Fingerprint, UpdatedAt: s.UpdatedAt})
	}
	if format == output.JSON {
		return output.WriteJSON(opts.IO.Out, entries)
	}
	if len(entries) == 0 && format == output.Table {
		fmt.Fprintln(opts.IO.ErrOut, "No sealed keys yet; add one with `sfbridge keys import --org ALIAS FILE`.")
		return nil
	}
	rw, err := output.NewRowWriter(opts.IO, format, "ORG", "KIND", "MASTER KEY", "FINGERPRINT", "UPDATED")
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := rw.Write(e.Org, e.Kind, e.MasterKeyID, e.Fingerprint, e.UpdatedAt.Format(time.RFC3339)); err != nil {
			return err
		}
	}
	return rw.Flush()
}

// listSecrets reads the sealed secrets without changing the store: a store
// that does not exist yet, or has no schema yet, holds none.
func listSecrets(ctx context.Context, opts *ListOptions) ([]state.SealedSecret, error) {
	st, err := opts.State.Open(ctx, opts.Factory, state.Options{SkipMigrate: true})
	if errors.Is(err, state.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if v, err := st.SchemaVersion(ctx); err != nil || v == 0 {
		return nil, err
	}
	return st.Secrets(ctx)
}

// RotateOptions holds the flags of `sfbridge keys rotate-master`.
type RotateOptions struct {
	IO         *iostreams.IOStreams
	Factory    *factory.Factory
	State      statearg.Flag
	MasterKeys statearg.MasterKeys
}

// NewRotateMasterCmd returns `sfbridge keys rotate-master`.
func NewRotateMasterCmd(f *factory.Factory, runF func(*RotateOptions) error) *cobra.Command {
	opts := &RotateOptions{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "rotate-master --master-key-file NEW --previous-master-key-file OLD",
		Short: "Re-seal every stored key under a new master key",
		Long: `Re-seal every secret in the state store that is not yet under the new master
key. Only each record's data key is re-wrapped; the secrets themselves are
never decrypted to disk. Records are replaced one by one, each only if no one
changed it meanwhile, so the command can run while daemons keep serving.

Without downtime:
  1. give every daemon both keys (SFBRIDGE_MASTER_KEY_FILE=old,
     SFBRIDGE_PREVIOUS_MASTER_KEY_FILE=new) and restart them one by one;
  2. run this command with the new key as --master-key-file and the old one
     as --previous-master-key-file;
  3. give every daemon only the new key, and destroy the old one.`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(opts, runF, runRotate, nil),
	}
	opts.State.Register(cmd)
	opts.MasterKeys.Register(cmd)
	return cmd
}

func runRotate(ctx context.Context, opts *RotateOptions) error {
	kr, err := opts.MasterKeys.Keyring(opts.Factory)
	if err != nil {
		return err
	}
	st, err := opts.State.Open(ctx, opts.Factory, state.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := state.RotateSecrets(ctx, st, kr)
	if err != nil {
		return fmt.Errorf("re-sealed %d secrets, then: %w", n, err)
	}
	fmt.Fprintf(opts.IO.ErrOut, "Re-sealed %d secrets under master key %s.\n", n, kr.CurrentID())
	return nil
}
