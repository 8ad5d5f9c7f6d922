// Package statearg resolves what the commands that keep state share: the
// --state URL (default: a SQLite file in the configuration directory) and
// the master keys that seal stored secrets, read from files or the
// environment and never from flag values or a configuration file.
package statearg

import (
	"context"
	"crypto/rsa"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/keys"
	"github.com/sfbridge/sfbridge/state"
)

// Environment variables this package reads (listed in `sfbridge help
// environment`).
const (
	EnvState                 = "SFBRIDGE_STATE"
	EnvMasterKey             = "SFBRIDGE_MASTER_KEY"
	EnvMasterKeyFile         = "SFBRIDGE_MASTER_KEY_FILE"
	EnvPreviousMasterKey     = "SFBRIDGE_PREVIOUS_MASTER_KEY"
	EnvPreviousMasterKeyFile = "SFBRIDGE_PREVIOUS_MASTER_KEY_FILE"
)

// Flag is the --state flag.
type Flag struct {
	URL string
}

// Register adds --state to cmd.
func (s *Flag) Register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.URL, "state", "", "State store: sqlite:PATH or postgres://USER@HOST/DB (env "+EnvState+"; default sqlite:<config dir>/state.db)")
}

// Resolve returns the URL to use: the flag, else $SFBRIDGE_STATE, else the
// SQLite file in the configuration directory.
func (s *Flag) Resolve(f *factory.Factory) (string, error) {
	if s.URL != "" {
		return s.URL, nil
	}
	if v := f.Getenv("SFBRIDGE_STATE"); v != "" {
		return v, nil
	}
	dir, err := f.ConfigDir()
	if err != nil {
		return "", err
	}
	return "sqlite:" + filepath.Join(dir, "state.db"), nil
}

// Open opens the store the flag names, with the factory's clock.
func (s *Flag) Open(ctx context.Context, f *factory.Factory, opts state.Options) (state.Store, error) {
	u, err := s.Resolve(f)
	if err != nil {
		return nil, err
	}
	if _, err := state.ParseURL(u); err != nil {
		return nil, exitcode.With(exitcode.Usage, err)
	}
	if opts.Logger == nil {
		opts.Logger = f.Logger()
	}
	return state.Open(ctx, u, opts)
}

// MasterKeys are the flags naming master key files.
type MasterKeys struct {
	File         string
	PreviousFile string
}

// Register adds --master-key-file and --previous-master-key-file.
func (m *MasterKeys) Register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&m.File, "master-key-file", "", "File holding the master key: 32 bytes as base64 or hex (env "+EnvMasterKeyFile+" or "+EnvMasterKey+")")
	cmd.Flags().StringVar(&m.PreviousFile, "previous-master-key-file", "", "File holding the master key being rotated away from, so secrets sealed under it still open (env "+EnvPreviousMasterKeyFile+" or "+EnvPreviousMasterKey+")")
}

// Keyring reads the current master key (required) and the previous one
// (optional) and returns a keyring that seals under the current one.
func (m *MasterKeys) Keyring(f *factory.Factory) (*state.Keyring, error) {
	cur, err := readKey(m.File, f.Getenv("SFBRIDGE_MASTER_KEY_FILE"), f.Getenv("SFBRIDGE_MASTER_KEY"), EnvMasterKeyFile, EnvMasterKey, "master key")
	if err != nil {
		return nil, err
	}
	if cur == nil {
		return nil, exitcode.UsageErrorf("no master key: pass --master-key-file FILE or set %s (or %s to the key itself); generate one with: head -c 32 /dev/urandom | base64", EnvMasterKeyFile, EnvMasterKey)
	}
	prev, err := readKey(m.PreviousFile, f.Getenv("SFBRIDGE_PREVIOUS_MASTER_KEY_FILE"), f.Getenv("SFBRIDGE_PREVIOUS_MASTER_KEY"), EnvPreviousMasterKeyFile, EnvPreviousMasterKey, "previous master key")
	if err != nil {
		return nil, err
	}
	if prev == nil {
		return state.NewKeyring(cur)
	}
	return state.NewKeyring(cur, prev)
}

// readKey returns the key from the flag's file, else the file named by the
// environment, else the environment value, else nil.
func readKey(flagFile, envFile, envValue, envFileName, envName, what string) ([]byte, error) {
	file, src := flagFile, "--"+what+" file"
	if file == "" && envFile != "" {
		file, src = envFile, envFileName
	}
	var raw []byte
	switch {
	case file != "":
		fh, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("read the %s (%s): %w", what, src, err)
		}
		defer fh.Close()
		raw, err = io.ReadAll(io.LimitReader(fh, 4096))
		if err != nil {
			return nil, fmt.Errorf("read the %s from %s: %w", what, file, err)
		}
		src = file
	case envValue != "":
		raw, src = []byte(envValue), envName
	default:
		return nil, nil
	}
	k, err := state.ParseMasterKey(raw)
	if err != nil {
		return nil, fmt.Errorf("the %s in %s: %w", what, src, err)
	}
	return k, nil
}

// LoadStoredKey opens the org signing key sealed under alias (by `sfbridge
// keys import --org ALIAS`) in the store at stateURL, with the master keys
// from the environment. It is what a configuration's `key: {stored:
// ALIAS}` resolves to.
func LoadStoredKey(ctx context.Context, f *factory.Factory, stateURL, alias string) (*rsa.PrivateKey, error) {
	if f.Getenv("SFBRIDGE_MASTER_KEY_FILE") == "" && f.Getenv("SFBRIDGE_MASTER_KEY") == "" {
		return nil, fmt.Errorf("no master key to open the stored key %q: set %s to the file holding it (or %s to the key itself)", alias, EnvMasterKeyFile, EnvMasterKey)
	}
	kr, err := (&MasterKeys{}).Keyring(f)
	if err != nil {
		return nil, err
	}
	st, err := (&Flag{URL: stateURL}).Open(ctx, f, state.Options{})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	pemBytes, err := state.OpenSecret(ctx, st, kr, alias, state.KindPrivateKey)
	if err != nil {
		return nil, fmt.Errorf("stored key %q: %w", alias, err)
	}
	defer clear(pemBytes)
	return keys.ParsePrivateKey(pemBytes, "the key stored for "+alias, keys.LoadOptions{})
}
