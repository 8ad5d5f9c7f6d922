// Package daemon runs the sfbridge connector daemon: one session keeper per
// org (lazy token, re-authentication, doctor checks at start and on an
// interval) and an HTTP server with /healthz, /readyz, /metrics and
// /v1/orgs. Components run as a group: a failing org is reported, not
// fatal; the daemon stops when its context ends or its listener fails.
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
	"time"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/doctor"
	"github.com/sfbridge/sfbridge/internal/loopback"
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
	// RetryInterval is how soon a failed org is checked again (default 30s,
	// growing to DoctorInterval).
	RetryInterval time.Duration
	Orgs          []OrgSpec
	Metrics       *Metrics
	Logger        *slog.Logger
	Now           func() time.Time
}

// Daemon is the running connector.
type Daemon struct {
	opts   Options
	ln     net.Listener
	orgs   []*keeper
	server *http.Server
}

// New validates opts and binds the listener, so the caller knows the
// address before Run.
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
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = 30 * time.Second
	}
	seen := map[string]bool{}
	d := &Daemon{opts: opts}
	for _, o := range opts.Orgs {
		if o.Alias == "" || o.Session == nil {
			return nil, fmt.Errorf("daemon: org %q needs an alias and a session", o.Alias)
		}
		if seen[o.Alias] {
			return nil, fmt.Errorf("daemon: org alias %q is used twice", o.Alias)
		}
		seen[o.Alias] = true
		d.orgs = append(d.orgs, &keeper{spec: o, d: d, state: "starting"})
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

// Addr is the address the HTTP server listens on.
func (d *Daemon) Addr() string { return d.ln.Addr().String() }

// Run serves and keeps sessions until ctx ends, then shuts down gracefully
// (in-flight HTTP requests get up to 10 seconds). It returns nil after a
// clean shutdown and an error when the listener fails.
func (d *Daemon) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for _, k := range d.orgs {
		wg.Go(func() { k.run(ctx) })
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- d.server.Serve(d.ln) }()
	d.opts.Logger.Info("daemon started", "addr", d.Addr(), "orgs", len(d.orgs))

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		err = fmt.Errorf("daemon: http server: %w", err)
	}
	cancel()
	shutdownCtx, done := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer done()
	if serr := d.server.Shutdown(shutdownCtx); serr != nil && err == nil && !errors.Is(serr, http.ErrServerClosed) {
		err = fmt.Errorf("daemon: shutdown: %w", serr)
	}
	wg.Wait()
	d.opts.Logger.Info("daemon stopped")
	return err
}

// Ready reports whether every org has a session and passed its required
// checks.
func (d *Daemon) Ready() bool {
	for _, k := range d.orgs {
		if !k.status().Ready {
			return false
		}
	}
	return true
}

// Status returns every org's status, ordered by alias.
func (d *Daemon) Status() []OrgStatus {
	out := make([]OrgStatus, 0, len(d.orgs))
	for _, k := range d.orgs {
		out = append(out, k.status())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Alias < out[j].Alias })
	return out
}

// Handler is the daemon's HTTP API.
func (d *Daemon) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /readyz", d.guard(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		var waiting []string
		for _, s := range d.Status() {
			if !s.Ready {
				waiting = append(waiting, s.Alias+" ("+s.State+")")
			}
		}
		if len(waiting) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "not ready: %s\n", strings.Join(waiting, ", "))
			return
		}
		fmt.Fprintln(w, "ready")
	})))
	mux.Handle("GET /metrics", d.guard(d.metricsHandler()))
	mux.Handle("GET /v1/orgs", d.guard(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"orgs": d.Status()})
	})))
	mux.Handle("GET /v1/orgs/{alias}", d.guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, s := range d.Status() {
			if s.Alias == r.PathValue("alias") {
				writeJSON(w, http.StatusOK, s)
				return
			}
		}
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no org with alias " + r.PathValue("alias")})
	})))
	return mux
}

// metricsHandler refreshes the session-age gauges before each scrape.
func (d *Daemon) metricsHandler() http.Handler {
	h := d.opts.Metrics.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, s := range d.Status() {
			d.opts.Metrics.setSessionAge(s.Alias, s.SessionAgeSeconds, s.SessionIssuedAt != nil)
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
