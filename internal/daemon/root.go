package daemon

import (
	"context"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/doctor"
	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/internal/config"
	"github.com/sfbridge/sfbridge/internal/profile"
	"github.com/sfbridge/sfbridge/keys"
	"github.com/sfbridge/sfbridge/rest"
)

// Env is what the composition root takes besides the configuration: the
// process's logger and time, and test seams.
type Env struct {
	// Logger receives the daemon's logs (never a key, passphrase or token);
	// nil discards.
	Logger *slog.Logger
	// Now is the time for assertions and status; nil means Clock's.
	Now func() time.Time
	// Clock times intervals, restarts and retries; nil means real time.
	Clock clock.Clock
	// Transport carries the token requests and API calls; nil means
	// http.DefaultTransport.
	Transport http.RoundTripper
	// Listener, when set, is used instead of listening on cfg.Listen.
	Listener net.Listener
	// Metrics receives the daemon's metrics; nil creates them.
	Metrics *Metrics
	// Components replaces the table of component kinds; nil means
	// [Components].
	Components []ComponentFactory
	// StoredKey opens an org key sealed in the state store, for orgs whose
	// configuration names one (key.stored); nil refuses such orgs.
	StoredKey func(ctx context.Context, alias string) (*rsa.PrivateKey, error)
}

// FromConfig is the daemon's composition root: it opens every org's key,
// wires its session (with the encrypted session cache under
// cfg.StateDir/sessions, when cfg.StateDir is set), the counting transports
// and the doctor, and returns the daemon bound to its listener.
func FromConfig(ctx context.Context, cfg *config.Config, env Env) (*Daemon, error) {
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	if env.Metrics == nil {
		env.Metrics = NewMetrics()
	}
	if env.Transport == nil {
		env.Transport = http.DefaultTransport
	}
	env.Clock = clock.Or(env.Clock)
	env.Now = clock.FuncNow(env.Now, env.Clock)
	orgs := make([]OrgSpec, 0, len(cfg.Orgs))
	for _, o := range cfg.Orgs {
		spec, err := buildOrg(ctx, o, cfg.StateDir, cfg.ChecksAPIBudget.Fraction, env)
		if err != nil {
			return nil, fmt.Errorf("org %s: %w", o.Alias, err)
		}
		orgs = append(orgs, spec)
	}
	return New(ctx, Options{
		Listen: cfg.Listen, Listener: env.Listener, AuthToken: cfg.AuthToken.Reveal(),
		DoctorInterval: cfg.DoctorInterval.Duration, Orgs: orgs, Components: env.Components,
		Metrics: env.Metrics, Logger: env.Logger, Now: env.Now, Clock: env.Clock,
	})
}

// openKey opens an org's key from its file, or from the state store when
// the configuration names a stored key.
func openKey(ctx context.Context, o config.Org, env Env) (*rsa.PrivateKey, keys.LoadOptions, error) {
	if o.Key.Stored != "" {
		if env.StoredKey == nil {
			return nil, keys.LoadOptions{}, fmt.Errorf("key.stored %q: this daemon was not given the state store's master key", o.Key.Stored)
		}
		key, err := env.StoredKey(ctx, o.Key.Stored)
		return key, keys.LoadOptions{}, err
	}
	spec := profile.KeySpec{File: o.Key.File, Alias: o.Key.KeystoreAlias, PasswordFile: o.Key.PassphraseFile, KeyPasswordFile: o.Key.KeyPasswordFile}
	keyOpts, err := spec.LoadOptions()
	if err != nil {
		return nil, keys.LoadOptions{}, err
	}
	key, err := keys.LoadPrivateKeyFile(spec.File, keyOpts)
	return key, keyOpts, err
}

// buildOrg opens an org's key and wires its session, cache and checks.
func buildOrg(ctx context.Context, o config.Org, stateDir string, budgetShare float64, env Env) (OrgSpec, error) {
	key, keyOpts, err := openKey(ctx, o, env)
	if err != nil {
		return OrgSpec{}, err
	}
	m, base := env.Metrics, env.Transport
	log := env.Logger.With("org", o.Alias)
	live := NewLive(env.Clock)
	var budget *Budget
	if budgetShare > 0 {
		budget = NewBudget(env.Clock, budgetShare)
	}
	cfg := auth.Config{
		OnLogin:     live.Login,
		ConsumerKey: o.ClientID, Username: o.Username, PrivateKey: key, LoginURL: o.LoginURL, Audience: o.Audience,
		HTTPClient: &http.Client{Transport: m.TokenTransport(o.Alias, base), Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		Now: env.Now, Clock: env.Clock, Logger: log,
	}
	src, err := auth.NewTokenSource(cfg)
	if err != nil {
		return OrgSpec{}, err
	}
	var cache *profile.TokenCache
	var saved *auth.Token
	if stateDir != "" {
		cache, err = profile.NewTokenCache(filepath.Join(stateDir, "sessions"), &profile.Profile{
			Alias: o.Alias, Username: o.Username, ClientID: o.ClientID, LoginURL: o.LoginURL, Audience: o.Audience}, key)
		if err != nil {
			return OrgSpec{}, err
		}
		if saved = cache.Load(); saved != nil {
			src.SetToken(saved)
		}
	}
	// Every API call the daemon makes is one of its checks (the doctor,
	// the probe): each is counted against the checks' budget and reported
	// to the org's live signal.
	api := live.Transport(m.APITransport(o.Alias, base, func(resp *http.Response) {
		budget.Count()
		if h := resp.Header.Get("Sforce-Limit-Info"); h != "" {
			if li, err := rest.ParseLimitInfo(h); err == nil && li.Max > 0 {
				m.ObserveAPIUsage(o.Alias, int(li.Used), int(li.Max))
				budget.ObserveLimit(li.Max)
			}
		}
	}))
	restOpts := []rest.Option{rest.WithTransport(api), rest.WithCallOptionsClient("sfbridge-daemon"), rest.WithClock(env.Clock)}
	probeClient, err := rest.New(src, restOpts...)
	if err != nil {
		return OrgSpec{}, err
	}
	// The probe is the smallest call that needs a valid session (the
	// resource directory); it renews a lost session on the way.
	probe := func(ctx context.Context) error {
		_, err := probeClient.Resources(ctx)
		return err
	}
	// Doctor's own probes (the login host, the clock) are not token
	// requests: they get a plain client, and the source keeps the counted one.
	probeCfg := cfg
	probeCfg.HTTPClient = &http.Client{Transport: base, Timeout: 30 * time.Second}
	check := func(ctx context.Context) *doctor.Report {
		r := doctor.Run(ctx, doctor.Options{
			KeyFile: o.Key.File, KeyOptions: keyOpts, Auth: probeCfg, Source: src, Require: o.Require,
			RESTOptions: restOpts,
		})
		if tok := src.Cached(); cache != nil && tok != nil && tok != saved {
			if err := cache.Save(tok); err != nil {
				log.Warn("could not cache the session", "err", err)
			} else {
				saved = tok
			}
		}
		return r
	}
	return OrgSpec{Alias: o.Alias, Session: src, Doctor: check, Config: o, Live: live, Probe: probe, Budget: budget}, nil
}
