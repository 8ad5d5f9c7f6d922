// Package orgclient opens a REST client for the org a command names with
// -o/--target-org: it finds the stored profile (alias or username; empty
// means the default org), reuses its cached session and, when the command
// is done, writes back a session that was renewed on the way.
//
// Commands hold an [Opener] in their options so that tests can replace the
// profile store with a client of their own.
package orgclient

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/profile"
	"github.com/sfbridge/sfbridge/rest"
)

// Conn is an open connection to one org.
type Conn struct {
	Client *rest.Client
	// Close saves a session renewed during the command to the token cache.
	Close func() error
}

// Opener opens the org named by target ("" is the default org).
type Opener func(ctx context.Context, target string) (*Conn, error)

// Do opens the org, calls fn with its client and closes the connection
// (saving a renewed session); the first error wins.
func (o Opener) Do(ctx context.Context, target string, fn func(*rest.Client) error) (err error) {
	conn, err := o(ctx, target)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := conn.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	return fn(conn.Client)
}

// Flags are the connection flags shared by the data commands.
type Flags struct {
	TargetOrg  string
	APIVersion string
}

// AddFlags registers -o/--target-org and --api-version.
func AddFlags(fs *pflag.FlagSet, fl *Flags) {
	fs.StringVarP(&fl.TargetOrg, "target-org", "o", "", "Alias or username of the org (default: the default org)")
	fs.StringVar(&fl.APIVersion, "api-version", "", "API version to use, like 66.0 (default: the highest the org offers)")
}

// FromProfiles returns the Opener of the real CLI: stored profiles in the
// configuration directory, with the flags' API version.
func FromProfiles(f *factory.Factory, fl *Flags) Opener {
	return func(ctx context.Context, target string) (*Conn, error) {
		env, err := f.ProfileEnv()
		if err != nil {
			return nil, err
		}
		s, err := profile.OpenTarget(env, target)
		if err != nil {
			return nil, err
		}
		opts := []rest.Option{rest.WithUserAgent("sfbridge/" + f.Version), rest.WithLogger(f.Logger())}
		if fl.APIVersion != "" {
			opts = append(opts, rest.WithAPIVersion(fl.APIVersion))
		}
		c, err := rest.New(s.Source, opts...)
		if err != nil {
			return nil, err
		}
		return &Conn{Client: c, Close: func() error {
			if err := s.Persist(); err != nil {
				return fmt.Errorf("saving the renewed session: %w", err)
			}
			return nil
		}}, nil
	}
}
