// Package factory holds what every command needs from its surroundings —
// streams, environment, clock, logger, configuration directory — so that
// commands never reach for process globals and tests can supply their own.
package factory

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/profile"
	"github.com/sfbridge/sfbridge/rest"
)

// Factory is passed to every command constructor.
type Factory struct {
	IOStreams *iostreams.IOStreams
	// Getenv reads an environment variable; every variable the CLI reads is
	// listed in `sfbridge help environment`.
	Getenv func(string) string
	// Now is the clock.
	Now func() time.Time
	// Version is the build's version string for User-Agent headers.
	Version string
	// Org opens the stored org a command names with -o/--target-org: its
	// profile, and lazily its session (token source) and REST client. It is
	// the one way commands reach an org; a command copies it into its
	// Options so that tests can put their own there.
	Org cmdutil.OrgFunc

	logger *slog.Logger
}

// New returns a factory for the given streams and environment.
func New(ios *iostreams.IOStreams, getenv func(string) string, version string) *Factory {
	f := &Factory{IOStreams: ios, Getenv: getenv, Now: clock.Real().Now, Version: version}
	f.Org = f.openOrg
	return f
}

// openOrg is the real Org accessor: profiles in the configuration
// directory, REST clients that say who they are and log under --debug.
func (f *Factory) openOrg(_ context.Context, t cmdutil.Target) (*cmdutil.Org, error) {
	env, err := f.ProfileEnv()
	if err != nil {
		return nil, err
	}
	return cmdutil.OpenOrg(env, t, rest.WithUserAgent("sfbridge/"+f.Version), rest.WithLogger(f.Logger()))
}

// EnableDebug sends debug logs to stderr as slog text. It is called when the
// global --debug flag or SFBRIDGE_DEBUG is set.
func (f *Factory) EnableDebug() {
	f.logger = slog.New(slog.NewTextHandler(f.IOStreams.ErrOut, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Logger returns the command logger; without --debug it discards.
func (f *Factory) Logger() *slog.Logger {
	if f.logger == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return f.logger
}

// ConfigDir is where sfbridge keeps profiles and its token cache:
// $SFBRIDGE_CONFIG_DIR, else the user configuration directory.
func (f *Factory) ConfigDir() (string, error) {
	if d := f.Getenv("SFBRIDGE_CONFIG_DIR"); d != "" {
		return d, nil
	}
	if d := f.Getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "sfbridge"), nil
	}
	home := f.Getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return "", err
		}
	}
	return filepath.Join(home, ".config", "sfbridge"), nil
}

// ProfileEnv is what opening a stored org profile needs: the configuration
// directory, the clock, the logger and the key passwords of the
// environment (SFBRIDGE_KEY_PASSWORD, SFBRIDGE_KEY_ENTRY_PASSWORD).
func (f *Factory) ProfileEnv() (profile.Env, error) {
	dir, err := f.ConfigDir()
	if err != nil {
		return profile.Env{}, err
	}
	env := profile.Env{Dir: dir, Now: f.Now, Logger: f.Logger()}
	if v := f.Getenv("SFBRIDGE_KEY_PASSWORD"); v != "" {
		env.KeyPassphrase = []byte(v)
	}
	if v := f.Getenv("SFBRIDGE_KEY_ENTRY_PASSWORD"); v != "" {
		env.KeyPassword = []byte(v)
	}
	return env, nil
}
