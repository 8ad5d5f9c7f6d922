package eventlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/sfbridge/sfbridge/internal/backoff"
	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/rest"
	"github.com/sfbridge/sfbridge/sink"
	"github.com/sfbridge/sfbridge/state"
)

// Pipeline is the state pipeline name of event-log collection.
const Pipeline = "eventlogs"

// Defaults of CollectorConfig.
const (
	DefaultConcurrency = 4
	DefaultBatchEvents = 2000
	DefaultBatchBytes  = 1 << 20
	DefaultAttempts    = 5
	DefaultWindow      = time.Hour
	DefaultLeaseTTL    = 2 * time.Minute
	// DefaultCommitBytes and DefaultCommitInterval bound what an
	// appending sink (the NDJSON file) holds between two fsyncs and
	// checkpoints.
	DefaultCommitBytes    = 16 << 20
	DefaultCommitInterval = time.Second
)

// CollectorConfig configures a Collector.
type CollectorConfig struct {
	// Client reaches the org; its auth.Source renews the session on 401.
	Client *rest.Client
	// Store keeps the checkpoint; Sink receives the events.
	Store state.Store
	Sink  sink.Sink
	// Org names the org in the store (an alias or the org id); Key names
	// the checkpoint of this output (collections into two outputs keep two
	// cursors). Required.
	Org, Key string
	// Owner names this collector in the pipeline's lease (default
	// "sfbridge-eventlogs"); LeaseTTL is the lease's lifetime, renewed
	// while collecting (default 2m).
	Owner    string
	LeaseTTL time.Duration

	// Types are EventLogFile event types; ["all"] means every type the org
	// has files of; empty means no files (objects only).
	Types []string
	// Interval is IntervalAuto (default), IntervalHourly or IntervalDaily.
	// A type keeps the interval it was first collected with: switching
	// would deliver every event twice.
	Interval string
	// Objects are SetupAuditTrail, LoginHistory and the Real-Time Event
	// Monitoring storage objects (LoginEvent, LogoutEvent, ApiEvent).
	Objects []string
	// Since is where a first collection starts (files by CreatedDate,
	// objects by their date field).
	Since time.Time

	// Concurrency bounds parallel downloads (default 4; Salesforce allows
	// 25 long-running requests per org, shared with other integrations).
	Concurrency int
	// BatchEvents and BatchBytes bound one sink write (defaults 2000
	// events, 1 MiB of documents).
	BatchEvents, BatchBytes int
	// CommitBytes and CommitInterval apply to a sink that can append
	// without syncing (sink.Appender: the NDJSON file): batches are
	// appended as they come, and the sink is flushed (fsynced) and the
	// checkpoint committed once CommitBytes of documents (default 16 MiB)
	// or CommitInterval (default 1s) have gone by, and at the end of a
	// pass. A crash costs the replay of what was appended since the last
	// flush, which the sink cuts when it opens again. Other sinks
	// acknowledge, and the checkpoint advances, per write.
	CommitBytes    int
	CommitInterval time.Duration
	// IdleTimeout abandons a silent download (default 2m).
	IdleTimeout time.Duration
	// Attempts bounds the downloads of one file in one run (default 5);
	// a file still failing is left for the next run and reported.
	Attempts int
	// Retry times the pauses between downloads of a failing file.
	Retry backoff.Policy
	// Window is the span of one query of a Real-Time Event Monitoring
	// object (default 1h); Lag keeps the newest Lag out of reach, for
	// events still arriving.
	Window, Lag time.Duration

	// InstanceURL goes into every event (salesforce.instance_url).
	InstanceURL string
	Clock       clock.Clock
	Logger      *slog.Logger
	// Progress, when set, is called after every commit with the totals so
	// far. It must not block.
	Progress func(Summary)
	// PassDone, when set, is called by Follow after every collection pass
	// with the totals so far and the pass's error (nil when it completed).
	// It must not block.
	PassDone func(Summary, error)
}

// Collector moves Event Monitoring data into a sink, exactly once by the
// sink's terms, resuming from the checkpoint of its last run.
type Collector struct {
	cfg CollectorConfig
	clk clock.Clock
	log *slog.Logger
}

// ConfigError says a CollectorConfig cannot be used.
type CollectorConfigError struct{ Problem string }

func (e *CollectorConfigError) Error() string { return "eventlog: collector: " + e.Problem }

// NewCollector validates cfg.
func NewCollector(cfg CollectorConfig) (*Collector, error) {
	switch {
	case cfg.Client == nil || cfg.Store == nil || cfg.Sink == nil:
		return nil, &CollectorConfigError{Problem: "Client, Store and Sink are required"}
	case cfg.Org == "" || cfg.Key == "":
		return nil, &CollectorConfigError{Problem: "Org and Key are required: they name the checkpoint"}
	case len(cfg.Types) == 0 && len(cfg.Objects) == 0:
		return nil, &CollectorConfigError{Problem: "nothing to collect: give event types (or all) or objects"}
	}
	for _, o := range cfg.Objects {
		if _, _, ok := objectKind(o); !ok {
			return nil, &CollectorConfigError{Problem: fmt.Sprintf("object %q is not one of %s", o, strings.Join(ObjectNames(), ", "))}
		}
	}
	if _, err := normInterval(cfg.Interval); err != nil {
		return nil, err
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.BatchEvents <= 0 {
		cfg.BatchEvents = DefaultBatchEvents
	}
	if cfg.BatchBytes <= 0 {
		cfg.BatchBytes = DefaultBatchBytes
	}
	if cfg.CommitBytes <= 0 {
		cfg.CommitBytes = DefaultCommitBytes
	}
	if cfg.CommitInterval <= 0 {
		cfg.CommitInterval = DefaultCommitInterval
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = DefaultAttempts
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.Owner == "" {
		cfg.Owner = "sfbridge-eventlogs"
	}
	if cfg.Retry.Initial == 0 {
		cfg.Retry = backoff.Policy{Initial: time.Second, Max: 30 * time.Second, Jitter: 0.5}
	}
	if err := cfg.Retry.Validate(); err != nil {
		return nil, &CollectorConfigError{Problem: err.Error()}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Collector{cfg: cfg, clk: clock.Or(cfg.Clock), log: log}, nil
}

func normInterval(s string) (string, error) {
	switch strings.ToLower(s) {
	case "", IntervalAuto:
		return IntervalAuto, nil
	case IntervalHourly, IntervalDaily:
		return strings.ToLower(s), nil
	}
	return "", &CollectorConfigError{Problem: fmt.Sprintf("interval %q is not auto, hourly or daily", s)}
}

// Summary counts what a run delivered.
type Summary struct {
	Files   int   `json:"files"`
	Events  int64 `json:"events"`
	Bytes   int64 `json:"bytes"`
	Skipped int   `json:"skipped"` // listed, then gone (404): expired or deleted
	// Deferred files failed every attempt of this run; the cursor waits
	// before them and the next run tries them again.
	Deferred int `json:"deferred"`
	// Pending is the number of files listed this run (for a progress ETA).
	Pending int                  `json:"pending_files"`
	PerType map[string]TypeCount `json:"per_type"`
}

// TypeCount is the part of a Summary of one event type or object.
type TypeCount struct {
	Files   int   `json:"files,omitempty"`
	Events  int64 `json:"events"`
	Bytes   int64 `json:"bytes,omitempty"`
	Skipped int   `json:"skipped,omitempty"`
}

func (s *Summary) add(typ string, f func(*TypeCount)) {
	if s.PerType == nil {
		s.PerType = map[string]TypeCount{}
	}
	tc := s.PerType[typ]
	f(&tc)
	s.PerType[typ] = tc
}

// LimitError says Salesforce refused a request with REQUEST_LIMIT_EXCEEDED:
// the org's API allocation or its concurrent long-running requests are used
// up. Collection stopped at its checkpoint.
type LimitError struct{ Err error }

func (e *LimitError) Error() string {
	return "eventlog: Salesforce refused a request with REQUEST_LIMIT_EXCEEDED; collection paused at its checkpoint (lower --concurrency, or wait for the 24-hour allocation to recover): " + e.Err.Error()
}

func (e *LimitError) Unwrap() error { return e.Err }

func isLimit(err error) bool {
	var ae *rest.APIError
	return errors.As(err, &ae) && ae.HasCode(string(rest.ErrRequestLimitExceeded))
}

// checkpoint is the stored position of one collection.
type checkpoint struct {
	Sink    sink.Position           `json:"sink,omitempty"`
	Files   map[string]*fileCursor  `json:"files,omitempty"`
	Objects map[string]*cursorValue `json:"objects,omitempty"`
}

// cursorValue is a (date, Id) cursor.
type cursorValue struct {
	Time time.Time `json:"time"`
	ID   string    `json:"id,omitempty"`
}

// fileCursor is the position in one event type's files: every file up to
// (CreatedDate, Id) is delivered, and so are the files of Done beyond it;
// Partial counts the delivered rows of files under way.
type fileCursor struct {
	Interval string           `json:"interval"`
	Cursor   *cursorValue     `json:"cursor,omitempty"`
	Done     []string         `json:"done,omitempty"`
	Partial  map[string]int64 `json:"partial,omitempty"`
}

// CheckpointKey returns where the collector keeps its checkpoint.
func (c *Collector) CheckpointKey() state.CheckpointKey {
	return state.CheckpointKey{Org: c.cfg.Org, Pipeline: Pipeline, Key: c.cfg.Key}
}

// run is one collection pass: it owns the sink and the checkpoint.
type run struct {
	c       *Collector
	cp      checkpoint
	version int64
	lease   state.Lease
	leaseAt time.Time
	sum     Summary
	bufs    sync.Pool // batch buffers, see getBuf

	// Appended to the sink, not yet flushed: the checkpoint advances that
	// wait for the flush, the bytes appended, and when the last flush was.
	pending      []func(*checkpoint)
	pendingBytes int
	lastFlush    time.Time
}

// Run collects once: everything new since the checkpoint, then returns
// what it delivered. It holds the pipeline's lease while it runs.
func (c *Collector) Run(ctx context.Context) (Summary, error) {
	r, err := c.begin(ctx)
	if err != nil {
		return Summary{}, err
	}
	defer r.end()
	err = r.pass(ctx)
	return r.sum, err
}

// Follow collects, then again every poll, until ctx ends. A
// REQUEST_LIMIT_EXCEEDED pauses it with a growing wait (reported through
// the logger) instead of polling on. It returns the totals when ctx ends.
func (c *Collector) Follow(ctx context.Context, poll time.Duration) (Summary, error) {
	if poll <= 0 {
		return Summary{}, &CollectorConfigError{Problem: "the poll interval must be positive"}
	}
	r, err := c.begin(ctx)
	if err != nil {
		return Summary{}, err
	}
	defer r.end()
	limited := backoff.Policy{Initial: max(poll, time.Minute), Max: time.Hour, Jitter: 0.2}.Start(c.clk)
	for first := true; ; first = false {
		var err error
		if !first {
			// The lease may have run out while the collector slept: take
			// it again (the same owner gets it back unless someone else
			// took it meanwhile).
			err = r.takeLease(ctx)
		}
		if err == nil {
			err = r.pass(ctx)
		}
		if c.cfg.PassDone != nil && ctx.Err() == nil {
			c.cfg.PassDone(r.sum, err)
		}
		wait := poll
		var le *LimitError
		switch {
		case ctx.Err() != nil:
			return r.sum, nil
		case errors.As(err, &le):
			d, _ := limited.Next(backoff.Verdict{Retry: true, Reason: "REQUEST_LIMIT_EXCEEDED"})
			wait = d
			c.log.WarnContext(ctx, "eventlogs: request limit exceeded; collection paused", "for", d, "err", err)
		case err != nil:
			return r.sum, err
		default:
			limited.Reset()
			c.log.InfoContext(ctx, "eventlogs: collection pass done", "files", r.sum.Files, "events", r.sum.Events, "next_in", poll)
		}
		if err := clock.Sleep(ctx, c.clk, wait); err != nil {
			return r.sum, nil
		}
	}
}

// takeLease acquires (or, for its holder, extends) the pipeline's lease.
// One lease per org and pipeline, the one `sfbridge state reset` checks:
// collections of one org into several outputs from one host share it (same
// Owner); the checkpoint's compare-and-set keeps them apart.
func (r *run) takeLease(ctx context.Context) error {
	c := r.c
	name := state.PipelineLease(c.cfg.Org, Pipeline)
	lease, err := c.cfg.Store.AcquireLease(ctx, name, c.cfg.Owner, c.cfg.LeaseTTL)
	if err != nil {
		return fmt.Errorf("eventlog: taking the collection lease %s: %w", name, err)
	}
	r.lease, r.leaseAt = lease, c.clk.Now()
	return nil
}

func (c *Collector) begin(ctx context.Context) (*run, error) {
	r := &run{c: c}
	if err := r.takeLease(ctx); err != nil {
		return nil, err
	}
	cp, err := c.cfg.Store.Checkpoint(ctx, c.CheckpointKey())
	switch {
	case errors.Is(err, state.ErrNotFound):
	case err != nil:
		r.end()
		return nil, fmt.Errorf("eventlog: reading the checkpoint: %w", err)
	default:
		if err := json.Unmarshal(cp.Value, &r.cp); err != nil {
			r.end()
			return nil, fmt.Errorf("eventlog: the checkpoint %s/%s/%s is not readable (%w): reset it with `sfbridge state reset`", cp.Org, cp.Pipeline, cp.Key, err)
		}
		r.version = cp.Version
	}
	pos, err := c.cfg.Sink.Open(ctx, r.cp.Sink)
	if err != nil {
		r.end()
		return nil, err
	}
	if r.version == 0 || string(pos) != string(r.cp.Sink) {
		// The sink's starting position must be stored before anything is
		// written after it, or a crash now would leave its writes uncut.
		r.cp.Sink = pos
		if err := r.commit(ctx); err != nil {
			r.end()
			return nil, err
		}
	}
	return r, nil
}

func (r *run) end() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.c.cfg.Store.ReleaseLease(ctx, r.lease); err != nil {
		r.c.log.Warn("eventlogs: releasing the lease", "err", err)
	}
}

// commit stores the checkpoint under the lease, renewing the lease when a
// third of it has passed.
func (r *run) commit(ctx context.Context) error {
	st := r.c.cfg.Store
	if r.c.clk.Since(r.leaseAt) > r.c.cfg.LeaseTTL/3 {
		l, err := st.RenewLease(ctx, r.lease, r.c.cfg.LeaseTTL)
		if err == nil {
			r.lease, r.leaseAt = l, r.c.clk.Now()
		} else if terr := r.takeLease(ctx); terr != nil {
			// It ran out during a long silence between commits and someone
			// else holds it now: stop; the checkpoint stays theirs.
			return fmt.Errorf("eventlog: renewing the collection lease: %w", errors.Join(err, terr))
		}
	}
	val, err := json.Marshal(&r.cp)
	if err != nil {
		return err
	}
	cp, err := st.Commit(ctx, state.Commit{Key: r.c.CheckpointKey(), Expect: r.version, Value: val, Fence: state.FenceOf(r.lease)})
	if err != nil {
		return fmt.Errorf("eventlog: storing the checkpoint: %w", err)
	}
	r.version = cp.Version
	return nil
}

// deliver writes events to the sink and, once it acknowledged them,
// applies advance to the checkpoint and commits it with the sink's
// position: one transaction.
func (r *run) deliver(ctx context.Context, events []sink.Event, advance func(*checkpoint)) error {
	if len(events) > 0 {
		ack, err := r.c.cfg.Sink.Write(ctx, events)
		if err != nil {
			return err
		}
		r.cp.Sink = ack.Position
	}
	advance(&r.cp)
	if err := r.commit(ctx); err != nil {
		return err
	}
	if r.c.cfg.Progress != nil {
		r.c.cfg.Progress(r.sum)
	}
	return nil
}

// pass collects objects, then files.
func (r *run) pass(ctx context.Context) error {
	for _, o := range r.c.cfg.Objects {
		if err := r.collectObject(ctx, o); err != nil {
			if isLimit(err) {
				return &LimitError{Err: err}
			}
			return err
		}
	}
	if len(r.c.cfg.Types) == 0 {
		return nil
	}
	err := r.collectFiles(ctx)
	if isLimit(err) {
		return &LimitError{Err: err}
	}
	return err
}
