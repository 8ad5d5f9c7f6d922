package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/sfbridge/sfbridge/internal/botapi"
	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/internal/config"
	"github.com/sfbridge/sfbridge/internal/webhook"
	"github.com/sfbridge/sfbridge/keys"
	"github.com/sfbridge/sfbridge/messaging"
	"github.com/sfbridge/sfbridge/servicedesk"
)

// Topics are the journal topics of an org that the bot-facing event
// stream and the webhooks read, in cursor order: what the cases and
// knowledge pipelines write.
func Topics() []string { return []string{TopicCases, TopicKnowledge} }

// webhookTopics are the journal topics webhooks deliver: the event
// stream's, and every handoff's events through their org-wide topic.
func webhookTopics() []string { return append(Topics(), botapi.TopicHandoffs) }

// WebhookSpec is the daemon's top-level webhooks section with its secret
// loaded.
type WebhookSpec struct {
	URL    string
	Secret []byte
	Events []string
}

// newMessenger builds the messaging client of an org's messaging section:
// its User Verification key is read from key_file, and its requests go
// through env's transport when that is not the default one.
func newMessenger(m *config.Messaging, env Env) (botapi.Messenger, error) {
	rk, err := keys.LoadPrivateKeyFile(m.KeyFile, keys.LoadOptions{})
	if err != nil {
		return nil, fmt.Errorf("messaging.key_file: %w", err)
	}
	cfg := messaging.Config{
		SCRTURL: m.SCRTURL, OrgID: m.OrgID, DeploymentName: m.Deployment, Key: rk, KeyID: m.KeyID,
		Issuer: m.Issuer, Audience: m.Audience, Language: m.Language, Clock: env.Clock, Logger: env.Logger,
	}
	// The messaging client's own HTTP client is sized for many open
	// streams; a test's transport replaces it.
	if env.Transport != http.DefaultTransport {
		cfg.HTTPClient = &http.Client{Transport: env.Transport}
	}
	c, err := messaging.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("messaging: %w", err)
	}
	return botapi.NewMessenger(c), nil
}

// botObserver maps the bot API's gauges to the daemon's metrics.
func botObserver(m *Metrics) botapi.Observer {
	return botapi.Observer{
		SSEClients:   func(org string, d int) { m.sseClients.WithLabelValues(org).Add(float64(d)) },
		HandoffsOpen: func(org string, d int) { m.handoffsOpen.WithLabelValues(org).Add(float64(d)) },
	}
}

// botOrg is what the bot-facing API serves for o, through client (nil: the
// routes that call the org answer not_configured).
func (d *Daemon) botOrg(o OrgSpec) *botapi.Org {
	b := &botapi.Org{Alias: o.Alias, Store: d.opts.Store, Messenger: o.Messenger, Topics: Topics()}
	if c := d.clients[o.Alias]; c != nil {
		b.Employees = &servicedesk.Employees{Client: c}
		b.Cases = &servicedesk.Cases{Client: c, Clock: d.opts.Clock}
		if d.opts.Store != nil {
			b.Knowledge = &servicedesk.Knowledge{Client: c, Store: d.opts.Store, Org: o.Alias, Clock: d.opts.Clock}
		}
	}
	if m := o.Config.Messaging; m != nil {
		b.Routing = m.Routing
	}
	if d.opts.Store == nil {
		b.Messenger = nil // handoffs live in the state store
	}
	return b
}

// API is the bot-facing API the daemon serves under /v1/orgs/{org}/….
func (d *Daemon) API() *botapi.API { return d.api }

// newMessagingPump runs the org's handoff pump when the org has a
// messaging section.
func newMessagingPump(org *OrgEnv) (Component, error) {
	if org.Config.Messaging == nil || org.Bot == nil || org.Bot.Messenger == nil {
		return nil, nil
	}
	p, err := botapi.NewPump(botapi.PumpOptions{Org: org.Bot, Owner: org.Owner, LeaseTTL: org.LeaseTTL, Clock: org.Clock,
		Logger: org.Logger.With("component", botapi.PumpPipeline), Observer: org.BotObserver, Notify: org.Notify})
	if err != nil {
		return nil, err
	}
	return newLeased(org, botapi.PumpPipeline, p.Run, func() leasedStatus {
		s := p.Status()
		ls := leasedStatus{Events: s.Events, Errors: s.Errors, LastError: s.LastError, LastSuccess: s.LastSuccess}
		switch {
		case !s.Leader:
			ls.State, ls.Message = StateStandby, "standby (waiting for the messaging lease, or another replica holds it)"
		default:
			ls.State, ls.Message = StateRunning, fmt.Sprintf("following %d handoffs", s.Following)
		}
		return ls
	}), nil
}

// newWebhooks delivers the org's journal to the configured webhook.
func newWebhooks(org *OrgEnv) (Component, error) {
	w := org.Webhooks
	if w == nil {
		return nil, nil
	}
	if org.Store == nil {
		return nil, errors.New("webhooks need the state store: set state or state_dir")
	}
	m := org.Metrics
	// A POST may take webhook.DefaultAttemptTimeout: the lease must outlast
	// two of them, whatever the pipelines' lease_ttl.
	dl, err := webhook.New(webhook.Config{Store: org.Store, Org: org.Alias, URL: w.URL, Secret: w.Secret, Events: w.Events,
		Topics: webhookTopics(), Clock: org.Clock, Owner: org.Owner, LeaseTTL: max(org.LeaseTTL, 2*webhook.DefaultAttemptTimeout),
		Logger:  org.Logger,
		Observe: func(result string) { m.webhookDeliveries.WithLabelValues(org.Alias, result).Inc() }})
	if err != nil {
		return nil, err
	}
	for _, r := range []string{webhook.ResultDelivered, webhook.ResultRetried, webhook.ResultFailed, webhook.ResultDeadLettered} {
		m.webhookDeliveries.WithLabelValues(org.Alias, r)
	}
	return newLeased(org, webhook.Pipeline, dl.Run, func() leasedStatus {
		s := dl.Status()
		ls := leasedStatus{Message: s.Message, Events: s.Delivered, Errors: s.Retried + s.Failed + s.DeadLettered,
			LastError: s.LastError, LastSuccess: s.LastDelivered, LastErrorAt: s.LastErrorAt}
		if s.Pending != nil {
			ls.Lag = s.Lag(org.Clock.Now())
		}
		switch s.State {
		case webhook.StateStandby:
			ls.State = StateStandby
		case webhook.StateRunning:
			ls.State = StateRunning
		case webhook.StateDegraded:
			ls.State = StateDegraded
		default:
			ls.State = StateStarting
		}
		return ls
	}), nil
}

// leasedStatus is what a leased component (the pump, the webhooks) says
// of itself, in the daemon's terms.
type leasedStatus struct {
	State                    State
	Message, LastError       string
	Events, Errors           int64
	LastSuccess, LastErrorAt time.Time
	Lag                      time.Duration
}

// leased adapts a component that takes its own lease (the handoff pump,
// the webhook deliverer) to the daemon: its status becomes health, so it
// appears among the org's pipelines, in /readyz and in the metrics.
type leased struct {
	*Tracker
	name   string
	run    func(ctx context.Context) error
	status func() leasedStatus
	clk    clock.Clock
	poll   time.Duration

	mu   sync.Mutex
	last leasedStatus
}

func newLeased(org *OrgEnv, name string, run func(context.Context) error, status func() leasedStatus) *leased {
	return &leased{Tracker: org.Tracker(), name: name, run: run, status: status, clk: org.Clock, poll: 500 * time.Millisecond}
}

func (l *leased) Name() string { return l.name }

// Run runs the component and mirrors its status into the tracker until it
// returns.
func (l *leased) Run(ctx context.Context) error {
	l.Starting("waiting for the lease")
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- l.run(runCtx) }()
	for {
		l.sync()
		select {
		case err := <-done:
			l.sync()
			return err
		default:
		}
		if clock.Sleep(ctx, l.clk, l.poll) != nil {
			err := <-done
			l.sync()
			return err
		}
	}
}

// sync records a change of the component's status.
func (l *leased) sync() {
	s := l.status()
	l.mu.Lock()
	prev := l.last
	l.last = s
	l.mu.Unlock()
	h := l.Health()
	switch {
	case s.State == StateDegraded && (h.State != StateDegraded || s.LastError != h.LastError):
		l.Degraded(errors.New(s.LastError))
	case s.State == StateRunning && s.Errors > prev.Errors && s.LastError != "" && s.LastSuccess.Equal(prev.LastSuccess):
		l.Degraded(errors.New(s.LastError))
	case s.State == StateRunning && (h.State != StateRunning && h.State != StateDegraded || !s.LastSuccess.Equal(prev.LastSuccess) || s.Message != h.Message && h.State == StateRunning):
		l.Succeeded(s.Message)
	case s.State == StateStandby && (h.State != StateStandby || s.Message != h.Message):
		l.Standby(s.Message)
	case s.State == StateStarting && h.State != StateStarting:
		l.Starting(s.Message)
	}
}

// Status reports the component among the org's pipelines.
func (l *leased) Status(now time.Time) PipelineStatus {
	h := l.Health()
	l.mu.Lock()
	s := l.last
	l.mu.Unlock()
	ps := PipelineStatus{Name: l.name, State: h.State, Events: s.Events, Errors: s.Errors, LastError: s.LastError, Message: h.Message,
		LastSuccess: timePtr(s.LastSuccess)}
	if !s.LastSuccess.IsZero() {
		ps.LagSeconds = now.Sub(s.LastSuccess).Seconds()
	}
	if s.Lag > 0 {
		ps.LagSeconds = s.Lag.Seconds()
	}
	return ps
}
