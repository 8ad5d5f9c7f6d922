// Package cmdutil holds what several commands share: the one way a command
// reaches a stored org ([Org], opened through the factory's Org accessor),
// the -o/--target-org flag and the JWT bearer login flags, the RunE of the
// Options / NewCmd(f, runF) / run shape ([RunE]) and the wrapping that makes
// bad flags and arguments usage errors ([UsageErrors]).
package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/profile"
	"github.com/sfbridge/sfbridge/rest"
)

// OrgFunc opens the org a command names. The factory's Org is the real one
// (stored profiles in the configuration directory); tests put their own in
// a command's Options.
type OrgFunc func(ctx context.Context, t Target) (*Org, error)

// Org is the stored org a command works on. Opening it finds the profile
// and nothing more: the key and the token cache are read on the first call
// to Session, the REST client is made on the first call to Client, and no
// request is sent until the command sends one.
type Org struct {
	// Profile is the stored profile; nil for an Org made with [StaticOrg].
	Profile *profile.Profile
	// Env is where the profile lives and the clock and logger its session
	// uses.
	Env profile.Env

	clientOpts []rest.Option
	session    *profile.Session
	client     *rest.Client
}

// OpenOrg finds the profile t names (alias or username; empty is the
// default org) in env. restOpts are the options of the REST client that
// Client makes; t's API version is added to them.
func OpenOrg(env profile.Env, t Target, restOpts ...rest.Option) (*Org, error) {
	p, err := profile.Store{Dir: env.Dir}.Find(t.Org)
	if err != nil {
		return nil, err
	}
	opts := append([]rest.Option(nil), restOpts...)
	if t.APIVersion != "" {
		opts = append(opts, rest.WithAPIVersion(t.APIVersion))
	}
	return &Org{Profile: p, Env: env, clientOpts: opts}, nil
}

// StaticOrg is an Org whose REST client is c, with no profile and no token
// cache: for the tests of commands that only call the REST API.
func StaticOrg(c *rest.Client) *Org { return &Org{client: c} }

// Session loads the profile's key and returns its session, seeded from the
// token cache. It is opened once; later calls return the same session.
func (o *Org) Session() (*profile.Session, error) {
	if o.session != nil {
		return o.session, nil
	}
	if o.Profile == nil {
		return nil, fmt.Errorf("cmdutil: this org has no stored profile to open a session from")
	}
	if err := devRunning(o.Profile); err != nil {
		return nil, err
	}
	s, err := profile.Open(o.Env, o.Profile)
	if err != nil {
		return nil, KeyHint(err)
	}
	o.session = s
	return s, nil
}

// devRunning fails when p is the profile of a `serve --dev` that is no
// longer running: its emulated org went with it, and the fix is to start it
// again, not to check the network.
func devRunning(p *profile.Profile) error {
	if p.DevInfoFile == "" {
		return nil
	}
	if _, err := os.Stat(p.DevInfoFile); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	start := p.DevCommand
	if start == "" {
		start = "sfbridge serve --dev"
	}
	return exitcode.With(exitcode.Unreachable, fmt.Errorf(
		"org %q is the emulated org of `serve --dev`, which is not running (its info file %s is gone): start it again in another terminal with `%s` and leave it running",
		p.Name(), p.DevInfoFile, start))
}

// Source is the session's token source.
func (o *Org) Source() (*auth.TokenSource, error) {
	s, err := o.Session()
	if err != nil {
		return nil, err
	}
	return s.Source, nil
}

// Token returns the session's access token: the cached one while it lasts,
// else a new login.
func (o *Org) Token(ctx context.Context) (*auth.Token, error) {
	src, err := o.Source()
	if err != nil {
		return nil, err
	}
	return src.Token(ctx)
}

// FromCache reports whether the current session came from the token cache
// (false before a session is opened).
func (o *Org) FromCache() bool { return o.session != nil && o.session.FromCache() }

// Client returns the REST client over the session's token source, made
// once.
func (o *Org) Client() (*rest.Client, error) {
	if o.client != nil {
		return o.client, nil
	}
	src, err := o.Source()
	if err != nil {
		return nil, err
	}
	c, err := rest.New(src, o.clientOpts...)
	if err != nil {
		return nil, err
	}
	o.client = c
	return c, nil
}

// Persist writes a session renewed (or invalidated) during the command back
// to the token cache; without an opened session it does nothing.
func (o *Org) Persist() error {
	if o.session == nil {
		return nil
	}
	return o.session.Persist()
}

// Token opens the org t names and returns it with its access token.
func (open OrgFunc) Token(ctx context.Context, t Target) (*Org, *auth.Token, error) {
	org, err := open(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	tok, err := org.Token(ctx)
	if err != nil {
		return nil, nil, err
	}
	return org, tok, nil
}

// WithClient opens the org t names, calls fn with its REST client and then
// saves a session renewed on the way; the first error wins.
func (open OrgFunc) WithClient(ctx context.Context, t Target, fn func(*rest.Client) error) (err error) {
	org, err := open(ctx, t)
	if err != nil {
		return err
	}
	c, err := org.Client()
	if err != nil {
		return err
	}
	defer func() {
		if perr := org.Persist(); perr != nil && err == nil {
			err = fmt.Errorf("saving the renewed session: %w", perr)
		}
	}()
	return fn(c)
}
