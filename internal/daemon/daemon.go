// Package daemon runs the sfbridge connector daemon: for every org a group
// of components (the session keeper, the doctor, the pipelines, the
// journal's janitor, the handoff pump and the webhooks) and an HTTP server
// with /healthz, /readyz, /metrics, /v1/orgs and the bot-facing API
// (internal/botapi) under /v1/orgs/{org}/…. Pipelines run under leases in a shared state store, so
// replicas on one PostgreSQL store split them, each (org, pipeline) on one.
//
// Components are built per org from a table ([Components]) and run in a
// [Group]: a component that fails is reported and restarted with backoff,
// never fatal to the others; the daemon stops them all when its context
// ends. [FromConfig] is the composition root that builds a daemon from the
// serve configuration.
package daemon

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/doctor"
	"github.com/sfbridge/sfbridge/internal/backoff"
	"github.com/sfbridge/sfbridge/internal/botapi"
	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/internal/config"
	"github.com/sfbridge/sfbridge/internal/loopback"
	"github.com/sfbridge/sfbridge/rest"
	"github.com/sfbridge/sfbridge/state"
)

// OrgSpec is one org the daemon keeps a session for.
type OrgSpec struct {
	Alias string
	// Session yields the org's session. It is asked for a token only when
	// something needs one (the doctor, a pipeline); when it also has a
	// Cached() *auth.Token method, status reports the session without
	// minting one.
	Session auth.Source
	// Doctor runs the org's checks; nil means the org is ready as soon as a
	// token is granted.
	Doctor func(ctx context.Context) *doctor.Report
	// Config is the org's configuration section, which component
	// factories read; zero for an org set up by hand.
	Config config.Org
	// Live, when set, is fed the outcome of the org's logins and API calls
	// (see [Live]); the session keeper turns it into the org's readiness.
	Live *Live
	// Probe is a cheap call through the org's session that the session
	// keeper makes when the org has been quiet for the probe interval.
	Probe func(ctx context.Context) error
	// Budget, when set, caps the API calls the daemon's own checks spend.
	Budget *Budget
	// NewClient builds the org's API clients for pipelines (see
	// [OrgEnv.NewClient]); nil: the org runs no pipeline.
	NewClient func(budget *Budget, wait func(time.Duration)) (*rest.Client, error)
	// Messenger makes the org's live-agent handoff calls (nil: the org has
	// no messaging section, and its handoff routes answer not_configured).
	Messenger botapi.Messenger
}

// Options configure a Daemon.
type Options struct {
	// Listen is the HTTP address; ignored when Listener is set.
	Listen string
	// Listener, when set, is used instead of listening on Listen.
	Listener net.Listener
	// AuthToken, when set, is required as a bearer token on every endpoint
	// except /healthz. It must be set for a non-loopback address.
	AuthToken string
	// DoctorInterval is how often checks run again after the first run; 0
	// runs them only at start.
	DoctorInterval time.Duration
	// ProbeInterval is how long an org may be quiet before the session
	// keeper probes it (default 5m, at most DoctorInterval when that is
	// set).
	ProbeInterval time.Duration
	// RetryInterval is how soon a failed component is restarted and failed
	// checks run again (default 30s, less up to a fifth for jitter; it
	// doubles after each further failure up to DoctorInterval).
	RetryInterval time.Duration
	Orgs          []OrgSpec
	// Components is the table of component kinds built for every org; nil
	// means [Components].
	Components []ComponentFactory
	Metrics    *Metrics
	Logger     *slog.Logger
	// Now is the time for status; nil means Clock's.
	Now func() time.Time
	// Clock times intervals, restarts and status; nil means real time.
	Clock clock.Clock
	// Store is the state store the pipelines share; Run closes it when it
	// returns when CloseStore is set. Owner names this process in leases
	// (default: host name, pid and a random suffix); LeaseTTL is the
	// pipelines' lease lifetime (default DefaultLeaseTTL).
	Store      state.Store
	CloseStore bool
	Owner      string
	LeaseTTL   time.Duration
	// JournalRetention is how long the journal keeps a record (0: no
	// janitor).
	JournalRetention time.Duration
	// Webhooks, when set, delivers every org's journal to a URL.
	Webhooks *WebhookSpec
}

// DefaultProbeInterval is how long an org may be quiet before the session
// keeper probes it.
const DefaultProbeInterval = 5 * time.Minute

// Daemon is the running connector.
type Daemon struct {
	opts     Options
	ln       net.Listener
	orgs     []OrgSpec
	group    *Group
	server   *http.Server
	stopping atomic.Bool

	readyMu sync.Mutex
	ready   map[string]bool // last readiness logged per org

	clients map[string]*rest.Client // per org, for OrgServices
	api     *botapi.API
	bot     map[string]*botapi.Org // per org, for the bot-facing API
}

// New validates opts, builds every org's components and binds the
// listener, so the caller knows the address before Run.
func New(ctx context.Context, opts Options) (*Daemon, error) {
	if len(opts.Orgs) == 0 {
		return nil, errors.New("daemon: no orgs configured")
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.Clock = clock.Or(opts.Clock)
	opts.Now = clock.FuncNow(opts.Now, opts.Clock)
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = 30 * time.Second
	}
	if opts.Components == nil {
		opts.Components = Components()
	}
	if opts.Owner == "" {
		opts.Owner = NewOwner()
	}
	if opts.ProbeInterval <= 0 {
		opts.ProbeInterval = DefaultProbeInterval
		if opts.DoctorInterval > 0 {
			opts.ProbeInterval = min(opts.ProbeInterval, opts.DoctorInterval)
		}
	}
	d := &Daemon{opts: opts, ready: map[string]bool{}, clients: map[string]*rest.Client{}, bot: map[string]*botapi.Org{}}
	api, err := botapi.New(botapi.Options{
		Org: func(alias string) (*botapi.Org, bool) {
			o, ok := d.bot[alias]
			return o, ok
		},
		Clock: opts.Clock, Logger: opts.Logger.With("component", "botapi"), Observer: botObserver(opts.Metrics),
	})
	if err != nil {
		return nil, err
	}
	d.api = api
	restart := backoff.Policy{Initial: opts.RetryInterval, Max: max(opts.DoctorInterval, opts.RetryInterval), Jitter: 0.2}
	d.group = newGroup(opts.Clock, opts.Logger, restart, opts.Metrics, d.orgChanged)
	seen := map[string]bool{}
	for _, o := range opts.Orgs {
		if o.Alias == "" || o.Session == nil {
			return nil, fmt.Errorf("daemon: org %q needs an alias and a session", o.Alias)
		}
		if seen[o.Alias] {
			return nil, fmt.Errorf("daemon: org alias %q is used twice", o.Alias)
		}
		seen[o.Alias] = true
		if o.NewClient != nil {
			c, err := o.NewClient(nil, nil)
			if err != nil {
				return nil, fmt.Errorf("daemon: org %q: %w", o.Alias, err)
			}
			d.clients[o.Alias] = c
		}
		d.bot[o.Alias] = d.botOrg(o)
		opts.Metrics.sseClients.WithLabelValues(o.Alias)
		if d.bot[o.Alias].Messenger != nil {
			opts.Metrics.handoffsOpen.WithLabelValues(o.Alias)
		}
		if err := d.addOrg(o); err != nil {
			return nil, err
		}
		d.orgs = append(d.orgs, o)
	}
	ln := opts.Listener
	if ln == nil {
		var err error
		if ln, err = (&net.ListenConfig{}).Listen(ctx, "tcp", opts.Listen); err != nil {
			return nil, fmt.Errorf("daemon: listen on %s: %w", opts.Listen, err)
		}
	}
	host, _, _ := net.SplitHostPort(ln.Addr().String())
	if !loopback.IsHost(host) && opts.AuthToken == "" {
		ln.Close()
		return nil, fmt.Errorf("daemon: %s is reachable beyond this machine; set a bearer token (auth_token_file) or listen on 127.0.0.1", ln.Addr())
	}
	d.ln = ln
	d.server = &http.Server{Handler: d.Handler(), ReadHeaderTimeout: 10 * time.Second}
	return d, nil
}

// addOrg builds o's components from the table.
func (d *Daemon) addOrg(o OrgSpec) error {
	env := &OrgEnv{
		Alias: o.Alias, Config: o.Config, Session: o.Session, Doctor: o.Doctor,
		Live: o.Live, Probe: o.Probe, ProbeInterval: d.opts.ProbeInterval, Budget: o.Budget,
		DoctorInterval: d.opts.DoctorInterval, RetryInterval: d.opts.RetryInterval,
		Clock: d.opts.Clock, Logger: d.opts.Logger.With("org", o.Alias), Metrics: d.opts.Metrics,
		Store: d.opts.Store, Owner: d.opts.Owner, LeaseTTL: d.opts.LeaseTTL, JournalRetention: d.opts.JournalRetention, NewClient: o.NewClient,
		Bot: d.bot[o.Alias], Notify: d.api.Notify, BotObserver: botObserver(d.opts.Metrics), Webhooks: d.opts.Webhooks,
		sessionReady: make(chan struct{}),
		onChange:     func() { d.orgChanged(o.Alias) },
	}
	names := map[string]bool{}
	for _, f := range d.opts.Components {
		c, err := f.New(env)
		if err != nil {
			return fmt.Errorf("daemon: org %q: %s: %w", o.Alias, f.Name, err)
		}
		if c == nil {
			continue
		}
		if names[c.Name()] {
			return fmt.Errorf("daemon: org %q has two components named %q", o.Alias, c.Name())
		}
		names[c.Name()] = true
		d.group.add(o.Alias, c)
	}
	return nil
}

// Addr is the address the HTTP server listens on.
func (d *Daemon) Addr() string { return d.ln.Addr().String() }

// Run serves and runs the components until ctx ends, then shuts down
// gracefully: readiness turns to "stopping" while the listener still
// answers, so a load balancer stops sending before the daemon goes; then
// the components stop, and last the HTTP server (in-flight requests get up
// to 10 seconds). It returns nil after a clean shutdown and an error when
// the listener fails.
func (d *Daemon) Run(ctx context.Context) error {
	compCtx, stopComponents := context.WithCancel(context.WithoutCancel(ctx))
	defer stopComponents()
	groupDone := make(chan struct{})
	go func() {
		defer close(groupDone)
		d.group.Run(compCtx)
	}()
	serveErr := make(chan error, 1)
	go func() { serveErr <- d.server.Serve(d.ln) }()
	d.opts.Logger.Info("daemon started", "addr", d.Addr(), "orgs", len(d.orgs))

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		err = fmt.Errorf("daemon: http server: %w", err)
	}
	d.stopping.Store(true)
	d.group.Stopping()
	d.opts.Logger.Info("daemon stopping")
	for _, o := range d.orgs {
		d.opts.Metrics.setReady(o.Alias, false)
	}
	stopComponents()
	<-groupDone
	shutdownCtx, done := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer done()
	if serr := d.server.Shutdown(shutdownCtx); serr != nil && err == nil && !errors.Is(serr, http.ErrServerClosed) {
		err = fmt.Errorf("daemon: shutdown: %w", serr)
	}
	if d.opts.Store != nil && d.opts.CloseStore {
		if cerr := d.opts.Store.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("daemon: closing the state store: %w", cerr)
		}
	}
	d.opts.Logger.Info("daemon stopped")
	return err
}

// Ready reports whether the daemon is not stopping and every org's
// components are running.
func (d *Daemon) Ready() bool {
	if d.stopping.Load() {
		return false
	}
	for _, o := range d.orgs {
		if !d.orgStatus(o).Ready {
			return false
		}
	}
	return true
}

// Status returns every org's status, ordered by alias.
func (d *Daemon) Status() []OrgStatus {
	out := make([]OrgStatus, 0, len(d.orgs))
	for _, o := range d.orgs {
		out = append(out, d.orgStatus(o))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Alias < out[j].Alias })
	return out
}

type checksReporter interface{ Checks() []doctor.Result }

// pipelineReporter is a component listed among the org's pipelines.
type pipelineReporter interface {
	Status(now time.Time) PipelineStatus
}

func (d *Daemon) orgStatus(o OrgSpec) OrgStatus {
	s := OrgStatus{Alias: o.Alias, Components: d.group.orgStatus(o.Alias)}
	summarize(&s)
	now := d.opts.Now()
	for _, m := range d.group.members {
		if p, ok := m.c.(pipelineReporter); ok && m.org == o.Alias {
			ps := p.Status(now)
			for _, c := range s.Components {
				if c.Name == ps.Name {
					ps.State = c.State // failed, stopping and stopped come from the group
				}
			}
			s.Pipelines = append(s.Pipelines, ps)
		}
	}
	for _, m := range d.group.members {
		if c, ok := m.c.(checksReporter); ok && m.org == o.Alias {
			s.Checks = append(s.Checks, c.Checks()...)
		}
	}
	if c, ok := o.Session.(cachedSource); ok {
		if tok := c.Cached(); tok != nil {
			s.OrgID, s.UserID, s.InstanceURL = tok.OrgID, tok.UserID, tok.InstanceURL
			if !tok.IssuedAt.IsZero() {
				t := tok.IssuedAt
				s.SessionIssuedAt = &t
				s.SessionAgeSeconds = d.opts.Now().Sub(t).Seconds()
			}
		}
	}
	return s
}

// orgChanged logs and counts an org's readiness when it changes.
func (d *Daemon) orgChanged(alias string) {
	if d.stopping.Load() {
		return
	}
	for _, o := range d.orgs {
		if o.Alias != alias {
			continue
		}
		s := d.orgStatus(o)
		d.readyMu.Lock()
		was := d.ready[alias]
		d.ready[alias] = s.Ready
		d.readyMu.Unlock()
		d.opts.Metrics.setReady(alias, s.Ready)
		log := d.opts.Logger.With("org", alias)
		switch {
		case s.Ready && !was:
			log.Info("org ready", "org_id", s.OrgID, "instance_url", s.InstanceURL)
		case !s.Ready && was:
			log.Warn("org not ready", "state", s.State, "err", s.Error)
		}
	}
}

// Handler is the daemon's HTTP API.
func (d *Daemon) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /readyz", d.guard(http.HandlerFunc(d.serveReadyz)))
	mux.Handle("GET /metrics", d.guard(d.metricsHandler()))
	mux.Handle("GET /v1/orgs", d.guard(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"orgs": d.Status()})
	})))
	// The bot-facing API (internal/botapi) serves everything below an org.
	mux.Handle("/v1/orgs/{alias}/", d.guard(d.api.Handler()))
	mux.Handle("GET /v1/orgs/{alias}", d.guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, s := range d.Status() {
			if s.Alias == r.PathValue("alias") {
				writeJSON(w, http.StatusOK, s)
				return
			}
		}
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no org with alias " + r.PathValue("alias")})
	})))
	if d.opts.AuthToken == "" {
		return loopbackHostOnly(mux)
	}
	return mux
}

// loopbackHostOnly protects a daemon without a bearer token, which trusts
// whoever can reach its loopback address, from DNS rebinding: a web page
// whose host name is made to resolve to 127.0.0.1 could otherwise read the
// API through the visitor's browser. Such a request still names the page's
// host in its Host header, so only loopback names are served: localhost,
// 127.0.0.0/8 and ::1, with any port. Others get 421 Misdirected Request.
func loopbackHostOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if !loopback.IsHost(strings.TrimSuffix(host, ".")) {
			writeJSON(w, http.StatusMisdirectedRequest, map[string]string{"error": fmt.Sprintf(
				"Host %q is not a loopback name: without a bearer token the daemon answers only requests for localhost, 127.0.0.1 or [::1] (this protects it from DNS rebinding); use one of those, or set auth_token_file to serve other names", r.Host)})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// serveReadyz answers 200 "ready" when every org is ready, else 503 with
// the orgs that are not ("not ready: acme (starting)") or "stopping" during
// shutdown. With ?verbose every component follows on its own line,
// "[+]org/component running" or "[-]org/component failed: why".
func (d *Daemon) serveReadyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	status := d.Status()
	var waiting []string
	for _, s := range status {
		if !s.Ready {
			waiting = append(waiting, s.Alias+" ("+s.State+")")
		}
	}
	switch {
	case d.stopping.Load():
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "stopping")
	case len(waiting) > 0:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ready: %s\n", strings.Join(waiting, ", "))
	default:
		fmt.Fprintln(w, "ready")
	}
	if !r.URL.Query().Has("verbose") {
		return
	}
	for _, s := range status {
		for _, c := range s.Components {
			mark, why := "[-]", ""
			if c.State == StateRunning || c.State == StateStandby {
				mark = "[+]"
			}
			switch {
			case c.State == StateFailed || c.State == StateDegraded:
				why = ": " + c.LastError
			case c.Message != "" && c.State != StateRunning || c.State == StateStandby:
				why = ": " + c.Message
			}
			fmt.Fprintf(w, "%s%s/%s %s%s\n", mark, s.Alias, c.Name, c.State, why)
		}
	}
}

// metricsHandler refreshes the readiness, component and session-age
// gauges before each scrape.
func (d *Daemon) metricsHandler() http.Handler {
	h := d.opts.Metrics.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, s := range d.Status() {
			d.opts.Metrics.setSessionAge(s.Alias, s.SessionAgeSeconds, s.SessionIssuedAt != nil)
			d.opts.Metrics.setReady(s.Alias, s.Ready)
			for _, c := range s.Components {
				d.opts.Metrics.setComponentUp(s.Alias, c.Name, c.State == StateRunning || c.State == StateStandby)
			}
			for _, p := range s.Pipelines {
				d.opts.Metrics.setPipelineLag(s.Alias, p.Name, p.LagSeconds, p.LastSuccess != nil)
			}
		}
		h.ServeHTTP(w, r)
	})
}

// guard requires the bearer token when one is configured.
func (d *Daemon) guard(next http.Handler) http.Handler {
	if d.opts.AuthToken == "" {
		return next
	}
	want := []byte("Bearer " + d.opts.AuthToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sfbridge"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong bearer token (see auth_token_file in the config)"})
			return
		}
		next.ServeHTTP(w, r)
	})
}
