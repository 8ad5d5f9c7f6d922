package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/sfbridge/sfbridge/eventlog"
	"github.com/sfbridge/sfbridge/internal/botapi"
	"github.com/sfbridge/sfbridge/internal/config"
	"github.com/sfbridge/sfbridge/rest"
	"github.com/sfbridge/sfbridge/servicedesk"
	"github.com/sfbridge/sfbridge/sink"
	"github.com/sfbridge/sfbridge/sink/elasticsearch"
	"github.com/sfbridge/sfbridge/sink/kafka"
	"github.com/sfbridge/sfbridge/sink/ndjson"
	"github.com/sfbridge/sfbridge/state"
)

// The journal topics the pipelines write (see docs/daemon.md).
const (
	TopicCases     = "cases.events"
	TopicKnowledge = "knowledge.events"
)

// pipelineEnv checks what every pipeline needs and builds its budget and
// API client; wait is told when a call waits for the budget.
func pipelineEnv(org *OrgEnv, name string, share float64) (*Budget, func(p *pipeline) (*rest.Client, error), error) {
	if org.Store == nil {
		return nil, nil, errors.New("this pipeline needs a state store: set state (or state_dir) in the configuration")
	}
	if org.NewClient == nil {
		return nil, nil, errors.New("this org has no API client (an org given without its configuration cannot run pipelines)")
	}
	var budget *Budget
	if share > 0 {
		budget = NewBudgetFor(org.Clock, share, "pipeline "+name)
	}
	client := func(p *pipeline) (*rest.Client, error) {
		return org.NewClient(budget, func(wait time.Duration) {
			_, why := budget.Over()
			p.Note("waiting for the API budget: " + why)
			p.log.Warn("pipeline waits for its API budget", "wait", wait.Round(time.Second).String(), "budget", why)
		})
	}
	return budget, client, nil
}

func newEventLogsPipeline(org *OrgEnv) (Component, error) {
	c := org.Config.EventLogs
	if c == nil {
		return nil, nil
	}
	budget, client, err := pipelineEnv(org, "eventlogs", c.APIBudget.Fraction)
	if err != nil {
		return nil, err
	}
	// Build the output once now, so that a bad one (an unreadable
	// credential file) stops the daemon at start rather than failing later.
	sk, _, err := eventSink(c.Output, org)
	if err != nil {
		return nil, err
	}
	if err := sk.Close(); err != nil {
		return nil, err
	}
	p := newPipeline(org, "eventlogs", state.PipelineLease(org.Alias, eventlog.Pipeline), budget, nil)
	api, err := client(p)
	if err != nil {
		return nil, err
	}
	types := c.Types
	if len(types) == 1 && types[0] == "none" {
		types = nil
	}
	p.work = func(ctx context.Context, _ state.Fence, p *pipeline) error {
		since, err := eventlog.ParseSince(c.Since, p.clk.Now())
		if err != nil {
			return err
		}
		sk, key, err := eventSink(c.Output, org)
		if err != nil {
			return err
		}
		defer sk.Close()
		var delivered int64
		// The collector takes the same lease, under the same owner: it
		// extends the pipeline's lease and fences its commits with its
		// token, so a replica that lost it writes nothing.
		col, err := eventlog.NewCollector(eventlog.CollectorConfig{
			Client: api, Store: org.Store, Sink: sk, Org: org.Alias, Key: key, Owner: org.Owner, LeaseTTL: p.ttl,
			Types: types, Interval: c.Interval, Objects: c.Objects, Since: since, Concurrency: c.Concurrency,
			InstanceURL: instanceURL(org), Clock: org.Clock, Logger: p.log,
			PassDone: func(sum eventlog.Summary, err error) {
				var le *eventlog.LimitError
				if errors.As(err, &le) {
					p.failed(err) // Follow pauses and goes on
				}
				if err != nil {
					return // any other failure ends Follow; hold reports it
				}
				p.done(int(sum.Events-delivered), fmt.Sprintf("collected %d files, %d events since start", sum.Files, sum.Events))
				delivered = sum.Events
			},
		})
		if err != nil {
			return err
		}
		_, err = col.Follow(ctx, c.Poll.Duration)
		return err
	}
	return p, nil
}

// eventSink builds the event-log output and the checkpoint key that names
// it (never with credentials), as `sfbridge eventlogs collect` does.
func eventSink(o config.EventLogsOut, org *OrgEnv) (sink.Sink, string, error) {
	switch {
	case o.NDJSON != "":
		s, err := ndjson.New(ndjson.Options{Path: o.NDJSON, MaxBytes: o.RotateBytes})
		return s, "ndjson:" + o.NDJSON, err
	case o.Elastic != nil:
		es := o.Elastic
		u, err := url.Parse(es.URL)
		if err != nil {
			return nil, "", err
		}
		ns := es.Namespace
		if ns == "" {
			ns = "default"
		}
		s, err := elasticsearch.New(elasticsearch.Options{Addresses: []string{u.String()}, Namespace: ns, APIKeyFile: es.APIKeyFile,
			Username: es.Username, PasswordFile: es.PasswordFile, CAFile: es.CAFile, DeadLetterPath: es.DeadLetter, Logger: org.Logger})
		return s, "elasticsearch:" + u.String() + "/" + ns, err
	case o.Kafka != nil:
		k := o.Kafka
		s, err := kafka.New(kafka.Options{Brokers: k.Brokers, Topic: k.Topic, SASLMechanism: k.SASL, Username: k.Username,
			PasswordFile: k.PasswordFile, TLS: k.TLS || k.CAFile != "", CAFile: k.CAFile, Logger: org.Logger})
		return s, "kafka:" + strings.Join(k.Brokers, ",") + "/" + k.Topic, err
	}
	return nil, "", errors.New("eventlogs: no output")
}

func instanceURL(org *OrgEnv) string {
	if c, ok := org.Session.(cachedSource); ok {
		if tok := c.Cached(); tok != nil {
			return tok.InstanceURL
		}
	}
	return ""
}

func newCasesPipeline(org *OrgEnv) (Component, error) {
	c := org.Config.Cases
	if c == nil {
		return nil, nil
	}
	budget, client, err := pipelineEnv(org, "cases", c.APIBudget.Fraction)
	if err != nil {
		return nil, err
	}
	p := newPipeline(org, "cases", "", budget, nil)
	api, err := client(p)
	if err != nil {
		return nil, err
	}
	// The watcher takes the same lease under the same owner and fences
	// its commits with it; its events stay in the journal (never
	// delivered here, which would delete them).
	w, err := servicedesk.NewWatcher(servicedesk.WatchConfig{Client: api, Store: org.Store, Org: org.Alias, TrackedFields: c.Fields,
		Filter: c.Filter, Clock: org.Clock, Owner: org.Owner, LeaseTTL: p.ttl, Topic: TopicCases})
	if err != nil {
		return nil, err
	}
	p.lease = w.Lease()
	p.work = func(ctx context.Context, _ state.Fence, p *pipeline) error {
		return p.every(ctx, c.Poll.Duration, func(ctx context.Context) (int, string, error) {
			st, err := w.Poll(ctx)
			return st.Events, fmt.Sprintf("polled: %d cases, %d comments read, %d events", st.Cases, st.Comments, st.Events), err
		})
	}
	return p, nil
}

func newKnowledgePipeline(org *OrgEnv) (Component, error) {
	c := org.Config.Knowledge
	if c == nil {
		return nil, nil
	}
	budget, client, err := pipelineEnv(org, "knowledge", c.APIBudget.Fraction)
	if err != nil {
		return nil, err
	}
	p := newPipeline(org, "knowledge", servicedesk.KnowledgeLease(org.Alias), budget, nil)
	api, err := client(p)
	if err != nil {
		return nil, err
	}
	p.work = func(ctx context.Context, fence state.Fence, p *pipeline) error {
		k := &servicedesk.Knowledge{Client: api, Store: org.Store, Org: org.Alias, Clock: org.Clock, Fence: fence, Topic: TopicKnowledge}
		return p.every(ctx, c.Interval.Duration, func(ctx context.Context) (int, string, error) {
			st, err := k.Sync(ctx, c.Languages)
			return st.Changed, fmt.Sprintf("synced %d published articles (%d fetched, %d removed)", st.Published, st.Fetched, st.Removed), err
		})
	}
	return p, nil
}

func newEmployeesPipeline(org *OrgEnv) (Component, error) {
	c := org.Config.Employees
	if c == nil {
		return nil, nil
	}
	budget, client, err := pipelineEnv(org, "employees", c.APIBudget.Fraction)
	if err != nil {
		return nil, err
	}
	p := newPipeline(org, "employees", servicedesk.DirectoryLease(org.Alias), budget, nil)
	api, err := client(p)
	if err != nil {
		return nil, err
	}
	p.work = func(ctx context.Context, fence state.Fence, p *pipeline) error {
		d := &servicedesk.Directory{Client: api, Store: org.Store, Org: org.Alias, ContactFields: c.ContactFields, UserFields: c.UserFields,
			Clock: org.Clock, Fence: fence}
		return p.every(ctx, c.Interval.Duration, func(ctx context.Context) (int, string, error) {
			st, err := d.Sync(ctx)
			n := st.Contacts + st.Users + st.Removed
			return n, fmt.Sprintf("synced %d contacts and %d users, removed %d", st.Contacts, st.Users, st.Removed), err
		})
	}
	return p, nil
}

// JournalPipeline names the retention janitor's lease:
// state.PipelineLease(org, JournalPipeline).
const JournalPipeline = "journal"

// journalSweepEvery is how often the janitor looks for expired records.
const journalSweepEvery = time.Hour

// newJournalJanitor deletes the org's journal records (every outbox topic:
// cases.events, knowledge.events, handoff.*) older than the retention, and
// the records of the handoffs that ended before it. It
// runs for every org with a store, under a lease like the pipelines, so
// one replica sweeps each org.
func newJournalJanitor(org *OrgEnv) (Component, error) {
	if org.Store == nil || org.JournalRetention <= 0 {
		return nil, nil
	}
	p := newPipeline(org, "journal", state.PipelineLease(org.Alias, JournalPipeline), nil, nil)
	p.work = func(ctx context.Context, _ state.Fence, p *pipeline) error {
		return p.every(ctx, min(journalSweepEvery, org.JournalRetention/4), func(ctx context.Context) (int, string, error) {
			cutoff := p.clk.Now().Add(-org.JournalRetention)
			n, err := sweepJournal(ctx, org.Store, org.Alias, cutoff)
			if err != nil {
				return n, "", err
			}
			// A handoff's record goes with its events: ended handoffs
			// would otherwise pile up in the state store for ever.
			h, err := botapi.SweepEndedHandoffs(ctx, org.Store, org.Alias, cutoff)
			if err != nil {
				return n + h, "", err
			}
			l, err := botapi.SweepHandoffLeases(ctx, org.Store, org.Alias)
			return n + h + l, fmt.Sprintf("removed %d journal records and %d ended handoffs older than %s, and %d unused handoff leases", n, h, org.JournalRetention, l), err
		})
	}
	return p, nil
}

// sweepJournal deletes org's outbox records created before cutoff. Within
// a topic, sequence order is commit order (one writer at a time), so each
// topic is read from its oldest record up to the first one to keep.
func sweepJournal(ctx context.Context, st state.Store, org string, cutoff time.Time) (int, error) {
	stats, err := st.Stats(ctx)
	if err != nil {
		return 0, fmt.Errorf("journal: listing topics: %w", err)
	}
	total := 0
	for _, c := range stats.Outbox {
		if c.Org != org {
			continue
		}
		for {
			recs, err := st.Outbox(ctx, state.OutboxQuery{Org: org, Topic: c.Name, Limit: 500})
			if err != nil {
				return total, fmt.Errorf("journal: reading %s: %w", c.Name, err)
			}
			var old []int64
			for _, r := range recs {
				if !r.CreatedAt.Before(cutoff) {
					break
				}
				old = append(old, r.Seq)
			}
			if len(old) == 0 {
				break
			}
			n, err := st.AckOutbox(ctx, old...)
			total += n
			if err != nil {
				return total, fmt.Errorf("journal: deleting from %s: %w", c.Name, err)
			}
			if len(old) < len(recs) || len(recs) < 500 {
				break
			}
		}
	}
	return total, nil
}
