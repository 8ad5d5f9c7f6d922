// Package webhook delivers an org's journal events (the state outbox
// records of chosen topics) to one HTTP endpoint as signed POSTs: at least
// once, one event at a time in order, retried with backoff for up to a
// day from the event's creation and then dead-lettered. Receivers check
// the Sfbridge-Signature header with [webhooksig.Verify]; docs/webhooks.md describes
// the protocol for people who write receivers.
//
// A [Deliverer] keeps one cursor per topic in a state checkpoint (org,
// "webhooks", topic) and advances it, by compare-and-set under the lease
// state.PipelineLease(org, "webhooks"), only after the receiver answered
// 2xx (or the event was dead-lettered). Replicas that share a PostgreSQL
// store all run a Deliverer per org; the one that holds the lease
// delivers, the others wait for it.
package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sfbridge/sfbridge/internal/backoff"
	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/state"
)

// Pipeline is the pipeline name of the cursors' checkpoints and of the
// lease: state.PipelineLease(org, Pipeline).
const Pipeline = "webhooks"

// KindDeadLetter is the state document kind of a dead-lettered event; the
// document's id is the event id and its Data a JSON [DeadLetter].
const KindDeadLetter = "webhook.deadletter"

// Results passed to Config.Observe, one per outcome (the daemon counts
// them as sfbridge_webhook_deliveries_total{org,result}).
const (
	// ResultDelivered: the receiver answered 2xx and the cursor moved past
	// the event.
	ResultDelivered = "delivered"
	// ResultRetried: an attempt failed and another is scheduled.
	ResultRetried = "retried"
	// ResultFailed: an attempt failed, or a 2xx could not be recorded, and
	// this Deliverer stopped (its context ended or it lost the lease)
	// before finishing the event; whoever delivers next sends it again.
	ResultFailed = "failed"
	// ResultDeadLettered: the event was stored as a dead letter and
	// skipped (retries ran out, the receiver answered 410 Gone, or the
	// payload is not a JSON object).
	ResultDeadLettered = "dead_lettered"
	// ResultFiltered: the event's type is not in Config.Events; skipped.
	ResultFiltered = "filtered"
)

// Defaults of Config.
const (
	DefaultMaxAge         = 24 * time.Hour
	DefaultAttemptTimeout = 10 * time.Second
	DefaultPoll           = time.Second
	DefaultLeaseTTL       = 30 * time.Second
	// batch is how many journal records of a topic are read at once.
	batch = 100
)

// DefaultRetry is the retry schedule when Config.Retry is zero: 5s after
// the first failure, doubling to at most 10 minutes, each delay drawn
// from its last 20% (jitter). Over 24 hours that is about 150 attempts.
func DefaultRetry() backoff.Policy {
	return backoff.Policy{Initial: 5 * time.Second, Max: 10 * time.Minute, Multiplier: 2, Jitter: 0.2}
}

// Config configures a Deliverer for one org.
type Config struct {
	// Store holds the journal, the cursors, the lease and dead letters.
	Store state.Store
	// Org names the org in the store.
	Org string
	// URL is the receiver's endpoint (http or https). Redirects are not
	// followed: a 3xx is a failed attempt.
	URL string
	// Secret signs every delivery (see [LoadSecret]); at least
	// MinSecretLen bytes. It is never logged.
	Secret []byte
	// Events filters by event type: exact types, prefixes such as
	// "case.*", or "*". Empty means every event.
	Events []string
	// Topics are the journal topics to deliver, for example
	// "cases.events" and "knowledge.events"; at least one. Their order
	// breaks ties between events created in the same millisecond.
	Topics []string
	// Clock is the time source (nil: real time).
	Clock clock.Clock
	// Retry is the delay between attempts of one event (zero:
	// DefaultRetry()). Its MaxAttempts and MaxElapsed are ignored: MaxAge
	// bounds the retries.
	Retry backoff.Policy
	// MaxAge is how long after its creation in the journal an event is
	// retried before it is dead-lettered (default 24h). The journal's
	// retention must exceed it.
	MaxAge time.Duration
	// AttemptTimeout bounds one POST, response included (default 10s).
	AttemptTimeout time.Duration
	// Poll is how often an idle Deliverer looks for new events
	// (default 1s): one journal query per topic. See also Wake.
	Poll time.Duration
	// HTTPClient sends the requests (nil: a client of its own). Its
	// CheckRedirect is replaced so that redirects are never followed.
	HTTPClient *http.Client
	// Logger receives one line per retry, dead letter and lease change
	// (nil: discarded).
	Logger *slog.Logger
	// Observe, when set, is called with one of the Result… values for
	// every outcome.
	Observe func(result string)
	// Owner names this replica in the lease (for example host:pid);
	// required. LeaseTTL is the lease's time to live (default 30s, at
	// least twice AttemptTimeout): a replica that dies hands the org's
	// webhooks to another within it.
	Owner    string
	LeaseTTL time.Duration
}

// Deliverer delivers one org's webhooks. Run it; read Status from any
// goroutine.
type Deliverer struct {
	cfg     Config
	clk     clock.Clock
	log     *slog.Logger
	filter  filter
	client  *http.Client
	host    string
	lease   string
	running atomic.Bool
	wake    chan struct{}

	mu sync.Mutex
	st Status
}

// ConfigError says a Config cannot work.
type ConfigError struct {
	Field  string
	Reason string
}

func (e *ConfigError) Error() string { return "webhook: invalid " + e.Field + ": " + e.Reason }

// New checks cfg, fills its defaults and returns a Deliverer.
func New(cfg Config) (*Deliverer, error) {
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = DefaultAttemptTimeout
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = max(DefaultLeaseTTL, 2*cfg.AttemptTimeout)
	}
	if r := cfg.Retry; r.Initial == 0 && r.Max == 0 && r.Multiplier == 0 && r.Jitter == 0 {
		cfg.Retry = DefaultRetry()
		cfg.Retry.Rand = r.Rand
	}
	cfg.Retry.MaxAttempts, cfg.Retry.MaxElapsed = 0, 0
	u, err := url.Parse(cfg.URL)
	switch {
	case cfg.Store == nil:
		return nil, &ConfigError{Field: "Store", Reason: "it is nil"}
	case cfg.Org == "":
		return nil, &ConfigError{Field: "Org", Reason: "it is empty"}
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return nil, &ConfigError{Field: "URL", Reason: "it is not an absolute http or https URL"}
	case len(cfg.Secret) < MinSecretLen:
		return nil, &ConfigError{Field: "Secret", Reason: fmt.Sprintf("it is %d bytes, fewer than %d", len(cfg.Secret), MinSecretLen)}
	case len(cfg.Topics) == 0:
		return nil, &ConfigError{Field: "Topics", Reason: "no journal topic is named"}
	case cfg.Owner == "":
		return nil, &ConfigError{Field: "Owner", Reason: "it is empty; name this replica (for example host:pid)"}
	case cfg.LeaseTTL < 2*cfg.AttemptTimeout:
		return nil, &ConfigError{Field: "LeaseTTL", Reason: fmt.Sprintf("%s is less than twice AttemptTimeout (%s): the lease could run out during a POST", cfg.LeaseTTL, cfg.AttemptTimeout)}
	}
	for i, t := range cfg.Topics {
		if t == "" || slices.Contains(cfg.Topics[:i], t) {
			return nil, &ConfigError{Field: "Topics", Reason: fmt.Sprintf("topic %q is empty or named twice", t)}
		}
	}
	if err := cfg.Retry.Validate(); err != nil {
		return nil, &ConfigError{Field: "Retry", Reason: err.Error()}
	}
	f, err := newFilter(cfg.Events)
	if err != nil {
		return nil, &ConfigError{Field: "Events", Reason: err.Error()}
	}
	client := &http.Client{}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		client = &c
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.Topics = slices.Clone(cfg.Topics)
	if !slices.Contains(cfg.Topics, TopicRedrive) {
		cfg.Topics = append(cfg.Topics, TopicRedrive) // events sent again by Redrive
	}
	d := &Deliverer{
		cfg: cfg, clk: clock.Or(cfg.Clock), filter: f, client: client, host: u.Host,
		lease: state.PipelineLease(cfg.Org, Pipeline), wake: make(chan struct{}, 1),
	}
	d.log = log.With("org", cfg.Org, "component", "webhooks", "host", u.Host)
	d.st.State = StateStarting
	return d, nil
}

// Run delivers until ctx ends, and then returns nil. While another
// replica holds the org's webhook lease it waits (Status reports
// standby). It returns an error when the store fails; its owner restarts
// it after a backoff, and delivery resumes from the stored cursors.
func (d *Deliverer) Run(ctx context.Context) error {
	if !d.running.CompareAndSwap(false, true) {
		return errors.New("webhook: this Deliverer is already running")
	}
	defer d.running.Store(false)
	d.update(func(s *Status) { s.State, s.Message = StateStarting, "" })
	defer d.update(func(s *Status) { s.State, s.Message, s.Holder, s.Pending = StateStopped, "", false, nil })
	for {
		s, err := d.lead(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			d.fail(err)
			return err
		}
		err = s.loop(ctx)
		s.release(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, state.ErrFenced) || errors.Is(err, state.ErrConflict) {
			// Someone else took over (this replica stalled past the TTL):
			// stand by and start again from the stored cursors.
			d.fail(err)
			d.log.Warn("webhooks: lost the lease; standing by", "err", err)
			continue
		}
		d.fail(err)
		return err
	}
}

// lead waits until this Deliverer holds the lease and returns a session
// that starts from the stored cursors.
func (d *Deliverer) lead(ctx context.Context) (*session, error) {
	for {
		l, err := d.cfg.Store.AcquireLease(ctx, d.lease, d.cfg.Owner, d.cfg.LeaseTTL)
		if err == nil {
			s := &session{d: d, lease: l, renewedAt: d.clk.Now(), cursors: map[string]*cursor{}, buf: map[string][]state.OutboxRecord{}}
			if err := s.loadCursors(ctx); err != nil {
				s.release(ctx)
				return nil, err
			}
			d.update(func(st *Status) { st.Holder, st.State, st.Message = true, StateRunning, "" })
			d.log.Info("webhooks: delivering", "lease_token", l.Token)
			return s, nil
		}
		var held *state.LeaseHeldError
		if !errors.As(err, &held) {
			return nil, fmt.Errorf("webhook: taking the lease %s: %w", d.lease, err)
		}
		d.update(func(st *Status) {
			st.Holder, st.State, st.Pending = false, StateStandby, nil
			st.Message = "another replica (" + held.Owner + ") delivers this org's webhooks"
		})
		wait := min(max(held.ExpiresAt.Sub(d.clk.Now()), time.Millisecond), d.cfg.LeaseTTL)
		if err := clock.Sleep(ctx, d.clk, wait); err != nil {
			return nil, err
		}
	}
}

// Wake makes an idle Deliverer look at the journal now rather than at
// its next Poll. A pipeline in the same process calls it after a commit
// that wrote journal records; it never blocks, and is harmless on a
// replica that does not hold the lease.
func (d *Deliverer) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *Deliverer) observe(result string) {
	d.update(func(s *Status) {
		switch result {
		case ResultDelivered:
			s.Delivered++
		case ResultRetried:
			s.Retried++
		case ResultFailed:
			s.Failed++
		case ResultDeadLettered:
			s.DeadLettered++
		case ResultFiltered:
			s.Filtered++
		}
	})
	if d.cfg.Observe != nil {
		d.cfg.Observe(result)
	}
}

func (d *Deliverer) fail(err error) {
	if err == nil {
		return
	}
	now := d.clk.Now()
	d.update(func(s *Status) { s.LastError, s.LastErrorAt = err.Error(), now })
}

func (d *Deliverer) update(f func(*Status)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(&d.st)
}
