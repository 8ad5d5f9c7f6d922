package daemon

import (
	"context"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/doctor"
	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/internal/config"
	"github.com/sfbridge/sfbridge/internal/profile"
	"github.com/sfbridge/sfbridge/internal/webhook"
	"github.com/sfbridge/sfbridge/keys"
	"github.com/sfbridge/sfbridge/rest"
	"github.com/sfbridge/sfbridge/state"
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
	// Store, when set, is used (and not closed) instead of opening the
	// configured state store.
	Store state.Store
	// Owner names this process in the pipelines' leases (default
	// [NewOwner]); LeaseTTL is their lifetime (default DefaultLeaseTTL).
	Owner    string
	LeaseTTL time.Duration
}

// StateURL is the state store the configuration names: state, or the
// SQLite file state.db in the state directory; empty when it names
// neither.
func StateURL(cfg *config.Config) string {
	if cfg.State != "" {
		return cfg.State
	}
	if cfg.StateDir != "" {
		return "sqlite:" + filepath.Join(cfg.StateDir, "state.db")
	}
	return ""
}

// FromConfig is the daemon's composition root: it opens the state store
// once (cfg.State, else state.db in cfg.StateDir; none when neither is
// set), every org's key, wires its session (with the encrypted session
// cache under cfg.StateDir/sessions, when cfg.StateDir is set), the
// counting transports, the doctor and the API clients of the org's
// pipelines, and returns the daemon bound to its listener. Run closes the
// store it opened when it returns.
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
	if env.LeaseTTL <= 0 {
		env.LeaseTTL = cfg.LeaseTTL.Duration
	}
	st, own, err := openStore(ctx, cfg, env)
	if err != nil {
		return nil, err
	}
	var hooks *WebhookSpec
	if w := cfg.Webhooks; w != nil {
		secret, err := webhook.LoadSecret(w.SecretFile)
		if err != nil {
			closeOwned(st, own)
			return nil, err
		}
		hooks = &WebhookSpec{URL: w.URL, Secret: secret, Events: w.Events}
	}
	orgs := make([]OrgSpec, 0, len(cfg.Orgs))
	for _, o := range cfg.Orgs {
		spec, err := buildOrg(ctx, o, cfg.StateDir, cfg.ChecksAPIBudget.Fraction, env)
		if err != nil {
			closeOwned(st, own)
			return nil, fmt.Errorf("org %s: %w", o.Alias, err)
		}
		orgs = append(orgs, spec)
	}
	d, err := New(ctx, Options{
		Listen: cfg.Listen, Listener: env.Listener, AuthToken: cfg.AuthToken.Reveal(),
		DoctorInterval: cfg.DoctorInterval.Duration, Orgs: orgs, Components: env.Components,
		Metrics: env.Metrics, Logger: env.Logger, Now: env.Now, Clock: env.Clock,
		Store: st, CloseStore: own, Owner: env.Owner, LeaseTTL: env.LeaseTTL, JournalRetention: cfg.JournalRetention.Duration,
		Webhooks: hooks,
	})
	if err != nil {
		closeOwned(st, own)
	}
	return d, err
}

// openStore opens the configured state store once for the whole daemon
// (own: the daemon closes it), or takes env's.
func openStore(ctx context.Context, cfg *config.Config, env Env) (st state.Store, own bool, err error) {
	if env.Store != nil {
		return env.Store, false, nil
	}
	u := StateURL(cfg)
	if u == "" {
		return nil, false, nil
	}
	if cfg.State == "" {
		if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
			return nil, false, fmt.Errorf("state directory: %w", err)
		}
	}
	st, err = state.Open(ctx, u, state.Options{Clock: env.Clock, Logger: env.Logger})
	if err != nil {
		return nil, false, fmt.Errorf("opening the state store %s: %w", state.Redacted(u), err)
	}
	return st, true, nil
}

func closeOwned(st state.Store, own bool) {
	if own && st != nil {
		_ = st.Close()
	}
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
	// The pipelines' calls are not the checks': each pipeline's client
	// reserves its calls in the pipeline's own budget, and every answer
	// tells the budgets the org's allocation.
	newClient := func(pb *Budget, wait func(time.Duration)) (*rest.Client, error) {
		counted := live.Transport(m.APITransport(o.Alias, base, func(resp *http.Response) {
			if h := resp.Header.Get("Sforce-Limit-Info"); h != "" {
				if li, err := rest.ParseLimitInfo(h); err == nil && li.Max > 0 {
					m.ObserveAPIUsage(o.Alias, int(li.Used), int(li.Max))
					pb.ObserveLimit(li.Max)
					budget.ObserveLimit(li.Max)
				}
			}
		}))
		return rest.New(src, rest.WithTransport(budgetTransport(pb, env.Clock, wait, counted)), rest.WithCallOptionsClient("sfbridge-daemon"),
			rest.WithClock(env.Clock))
	}
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
	spec := OrgSpec{Alias: o.Alias, Session: src, Doctor: check, Config: o, Live: live, Probe: probe, Budget: budget, NewClient: newClient}
	if o.Messaging != nil {
		if spec.Messenger, err = newMessenger(o.Messaging, env); err != nil {
			return OrgSpec{}, err
		}
	}
	return spec, nil
}
