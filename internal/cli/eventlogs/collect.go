package eventlogs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/eventlog"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/cli/statearg"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/output"
	"github.com/sfbridge/sfbridge/rest"
	"github.com/sfbridge/sfbridge/sink"
	"github.com/sfbridge/sfbridge/sink/elasticsearch"
	"github.com/sfbridge/sfbridge/sink/kafka"
	"github.com/sfbridge/sfbridge/sink/ndjson"
	"github.com/sfbridge/sfbridge/state"
)

// Environment variables naming credential files of the outputs (listed in
// `sfbridge eventlogs collect --help`). They name files, never secrets.
const (
	EnvESAPIKeyFile      = "SFBRIDGE_ES_API_KEY_FILE"
	EnvESPasswordFile    = "SFBRIDGE_ES_PASSWORD_FILE"
	EnvKafkaPasswordFile = "SFBRIDGE_KAFKA_PASSWORD_FILE"
)

// CollectOptions holds the flags of `sfbridge eventlogs collect`.
type CollectOptions struct {
	IO       *iostreams.IOStreams
	Org      cmdutil.OrgFunc
	Factory  *factory.Factory
	Now      func() time.Time
	Getenv   func(string) string
	Target   cmdutil.Target
	State    statearg.Flag
	Output   output.Flags
	Since    string
	Types    []string
	Interval string
	Objects  []string
	Sink     string
	Follow   bool
	Poll     time.Duration

	Concurrency int
	BatchEvents int
	MemoryLimit int64
	RotateBytes int64
	IdleTimeout time.Duration

	ESAPIKeyFile   string
	ESUsername     string
	ESPasswordFile string
	ESCAFile       string
	ESNamespace    string
	ESDeadLetter   string

	KafkaSASL         string
	KafkaUsername     string
	KafkaPasswordFile string
	KafkaTLS          bool
	KafkaCAFile       string
}

// NewCollectCmd returns `sfbridge eventlogs collect`.
func NewCollectCmd(f *factory.Factory, runF func(*CollectOptions) error) *cobra.Command {
	opts := &CollectOptions{IO: f.IOStreams, Org: f.Org, Factory: f, Now: f.Now, Getenv: f.Getenv}
	cmd := &cobra.Command{
		Use:   "collect [-o ORG] [--since 7d|RFC3339] [--type T,...|all] [--interval auto|hourly|daily] [--objects O,...] [--output URL] [--state URL] [--follow [--poll 5m]] [--json]",
		Short: "Collect Event Monitoring logs into NDJSON, Elasticsearch or Kafka, each event once",
		Long: `Collect event log files (by type, one interval per type) and the audit objects
into an output as ECS documents, resuming from the checkpoint of the last run.

The checkpoint lives in the state store (--state, default the SQLite file in the
configuration directory), per org and per output. It advances only after the
output acknowledged the events: a second run, or one after a crash, continues
where the last stopped. Into an NDJSON file every event is written once; into
Elasticsearch and Kafka each event is stored once under its event.id.

--output is one of:
  -                                   NDJSON on stdout (the default)
  ndjson:PATH                         NDJSON file, cut back to the checkpoint on start
  elasticsearch+https://HOST:9200     data streams logs-<dataset>-<namespace>
  kafka://BROKER[,BROKER]/TOPIC       one topic (no TOPIC: one per dataset)

Credentials come from files named by flags or by the environment:
` + EnvESAPIKeyFile + `, ` + EnvESPasswordFile + `, ` + EnvKafkaPasswordFile + `.

--since sets where a first run starts (default 7d); later runs follow their
checkpoint. --objects adds SetupAuditTrail, LoginHistory, LoginEvent,
LogoutEvent and ApiEvent. --follow polls every --poll until interrupted, and
pauses with a growing wait when Salesforce answers REQUEST_LIMIT_EXCEEDED.

On a terminal a progress line goes to stderr. --json prints a summary (files,
events, bytes, skipped, per type) at the end: on stdout, or on stderr when the
events themselves go to stdout. Files that failed every attempt are left for
the next run and make the exit status 1.`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(opts, runF, runCollect, nil),
	}
	fs := cmd.Flags()
	cmdutil.AddTargetFlags(fs, &opts.Target)
	opts.State.Register(cmd)
	output.AddJSONFlag(fs, &opts.Output)
	fs.StringVar(&opts.Since, "since", "7d", "Where a first run starts: a span (7d, 12h) or a time (RFC 3339)")
	fs.StringSliceVar(&opts.Types, "type", []string{"all"}, "Event types, comma separated, or all")
	fs.StringVar(&opts.Interval, "interval", "auto", "auto, hourly or daily")
	fs.StringSliceVar(&opts.Objects, "objects", nil, "Objects too: "+strings.Join(eventlog.ObjectNames(), ","))
	fs.StringVar(&opts.Sink, "output", "-", "Where events go: -, ndjson:PATH, elasticsearch+https://HOST:9200, kafka://BROKERS/TOPIC")
	fs.BoolVar(&opts.Follow, "follow", false, "Keep collecting every --poll until interrupted")
	fs.DurationVar(&opts.Poll, "poll", 5*time.Minute, "Pause between collections with --follow")
	fs.IntVar(&opts.Concurrency, "concurrency", eventlog.DefaultConcurrency, "Parallel downloads (Salesforce allows 25 long requests per org, shared)")
	fs.IntVar(&opts.BatchEvents, "batch-events", eventlog.DefaultBatchEvents, "Events per write to the output and per checkpoint (smaller: less replay after a crash)")
	fs.Int64Var(&opts.MemoryLimit, "memory-limit", 32<<20, "Soft limit of the Go heap in bytes, so a long collection stays small (0: the Go default; GOMEMLIMIT wins)")
	fs.Int64Var(&opts.RotateBytes, "rotate-bytes", 0, "ndjson: start a new file PATH.N past this size (0: never)")
	fs.DurationVar(&opts.IdleTimeout, "idle-timeout", eventlog.DefaultIdleTimeout, "Abandon and retry a download silent this long")
	fs.StringVar(&opts.ESAPIKeyFile, "es-api-key-file", "", "elasticsearch: file with an API key (env "+EnvESAPIKeyFile+")")
	fs.StringVar(&opts.ESUsername, "es-username", "", "elasticsearch: basic auth user")
	fs.StringVar(&opts.ESPasswordFile, "es-password-file", "", "elasticsearch: file with the password (env "+EnvESPasswordFile+")")
	fs.StringVar(&opts.ESCAFile, "es-ca-file", "", "elasticsearch: PEM CA bundle")
	fs.StringVar(&opts.ESNamespace, "es-namespace", "default", "elasticsearch: data stream namespace")
	fs.StringVar(&opts.ESDeadLetter, "es-dead-letter", "", "elasticsearch: NDJSON file for events refused for their mapping")
	fs.StringVar(&opts.KafkaSASL, "kafka-sasl", "", "kafka: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
	fs.StringVar(&opts.KafkaUsername, "kafka-username", "", "kafka: SASL user")
	fs.StringVar(&opts.KafkaPasswordFile, "kafka-password-file", "", "kafka: file with the SASL password (env "+EnvKafkaPasswordFile+")")
	fs.BoolVar(&opts.KafkaTLS, "kafka-tls", false, "kafka: connect with TLS")
	fs.StringVar(&opts.KafkaCAFile, "kafka-ca-file", "", "kafka: PEM CA bundle (implies --kafka-tls)")
	return cmd
}

// openSink builds the output --output names and the checkpoint key that
// identifies it (never with credentials).
func openSink(opts *CollectOptions) (sink.Sink, string, bool, error) {
	env := func(flag, name string) string {
		if flag != "" {
			return flag
		}
		return opts.Getenv(name)
	}
	o := opts.Sink
	switch {
	case o == "" || o == "-":
		s, err := ndjson.New(ndjson.Options{Stream: opts.IO.Out})
		return s, "stdout", true, err
	case strings.HasPrefix(o, "ndjson:"):
		p := strings.TrimPrefix(o, "ndjson:")
		if p == "" {
			return nil, "", false, exitcode.UsageErrorf("--output ndjson: needs a path, as in ndjson:events.ndjson")
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, "", false, err
		}
		s, err := ndjson.New(ndjson.Options{Path: abs, MaxBytes: opts.RotateBytes})
		return s, "ndjson:" + abs, false, err
	case strings.HasPrefix(o, "elasticsearch+"):
		u, err := url.Parse(strings.TrimPrefix(o, "elasticsearch+"))
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, "", false, exitcode.UsageErrorf("--output %q: want elasticsearch+https://HOST:9200", o)
		}
		if u.User != nil {
			return nil, "", false, exitcode.UsageErrorf("--output: put no credentials in the URL; use --es-api-key-file or --es-username with --es-password-file")
		}
		s, err := elasticsearch.New(elasticsearch.Options{Addresses: []string{u.String()}, Namespace: opts.ESNamespace,
			APIKeyFile: env(opts.ESAPIKeyFile, EnvESAPIKeyFile), Username: opts.ESUsername, PasswordFile: env(opts.ESPasswordFile, EnvESPasswordFile),
			CAFile: opts.ESCAFile, DeadLetterPath: opts.ESDeadLetter, Logger: opts.Factory.Logger()})
		return s, "elasticsearch:" + u.String() + "/" + opts.ESNamespace, false, err
	case strings.HasPrefix(o, "kafka://"):
		rest := strings.TrimPrefix(o, "kafka://")
		brokers, topic, _ := strings.Cut(rest, "/")
		if brokers == "" || strings.Contains(brokers, "@") {
			return nil, "", false, exitcode.UsageErrorf("--output %q: want kafka://BROKER[,BROKER]/TOPIC, without credentials", o)
		}
		ko := kafka.Options{Brokers: strings.Split(brokers, ","), Topic: topic, SASLMechanism: opts.KafkaSASL, Username: opts.KafkaUsername,
			PasswordFile: env(opts.KafkaPasswordFile, EnvKafkaPasswordFile), TLS: opts.KafkaTLS || opts.KafkaCAFile != "", CAFile: opts.KafkaCAFile,
			Logger: opts.Factory.Logger()}
		s, err := kafka.New(ko)
		return s, "kafka:" + brokers + "/" + topic, false, err
	}
	return nil, "", false, exitcode.UsageErrorf("--output %q is not -, ndjson:PATH, elasticsearch+https://HOST:9200 or kafka://BROKERS/TOPIC", o)
}

// CollectResult is the --json summary.
type CollectResult struct {
	eventlog.Summary
	Output string `json:"output"`
}

func runCollect(ctx context.Context, opts *CollectOptions) error {
	if opts.Follow && opts.Poll <= 0 {
		return exitcode.UsageErrorf("--poll must be positive")
	}
	since, err := parseSince(opts.Since, opts.Now())
	if err != nil {
		return err
	}
	if opts.MemoryLimit > 0 && opts.Getenv("GOMEMLIMIT") == "" {
		// The collector's memory is its batches in flight; without a limit
		// the garbage collector lets the heap grow to twice that and more.
		prev := debug.SetMemoryLimit(opts.MemoryLimit)
		defer debug.SetMemoryLimit(prev)
	}
	types := splitList(opts.Types)
	if len(types) == 1 && types[0] == "none" {
		types = nil
	}
	sk, key, toStdout, err := openSink(opts)
	if err != nil {
		var ee *exitcode.ExitError
		if errors.As(err, &ee) {
			return err
		}
		return exitcode.With(exitcode.Usage, err)
	}
	defer sk.Close()
	st, err := opts.State.Open(ctx, opts.Factory, state.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	host, _ := os.Hostname()
	summaryOut := opts.IO.Out
	if toStdout {
		summaryOut = opts.IO.ErrOut
	}
	return withOrg(ctx, opts.Org, opts.Target, func(c *rest.Client, orgKey, instanceURL string) error {
		prog := newProgress(opts.IO.ErrOut, opts.IO.IsStderrTTY(), opts.Now)
		col, err := eventlog.NewCollector(eventlog.CollectorConfig{
			Client: c, Store: st, Sink: sk, Org: orgKey, Key: key, Owner: "sfbridge eventlogs collect on " + host,
			Types: types, Interval: opts.Interval, Objects: splitList(opts.Objects), Since: since,
			Concurrency: opts.Concurrency, BatchEvents: opts.BatchEvents, IdleTimeout: opts.IdleTimeout, InstanceURL: instanceURL,
			Logger: opts.Factory.Logger(), Progress: prog.update,
		})
		if err != nil {
			return exitcode.With(exitcode.Usage, err)
		}
		var sum eventlog.Summary
		if opts.Follow {
			sum, err = col.Follow(ctx, opts.Poll)
		} else {
			sum, err = col.Run(ctx)
		}
		prog.done()
		if opts.Output.JSON {
			if sum.PerType == nil {
				sum.PerType = map[string]eventlog.TypeCount{}
			}
			if werr := output.WriteJSON(summaryOut, CollectResult{Summary: sum, Output: key}); werr != nil && err == nil {
				err = werr
			}
		}
		var ce *eventlog.CollectorConfigError
		if errors.As(err, &ce) {
			return exitcode.With(exitcode.Usage, err)
		}
		if err == nil && sum.Deferred > 0 {
			err = fmt.Errorf("%d file(s) failed every download attempt and are left for the next run (see the log with --debug)", sum.Deferred)
		}
		return err
	})
}

// progress draws one line on a terminal: files, events, MB/s, ETA.
type progress struct {
	w     io.Writer
	on    bool
	now   func() time.Time
	start time.Time
	drawn bool
}

func newProgress(w io.Writer, tty bool, now func() time.Time) *progress {
	return &progress{w: w, on: tty, now: now, start: now()}
}

func (p *progress) update(s eventlog.Summary) {
	if !p.on {
		return
	}
	el := p.now().Sub(p.start).Seconds()
	mbps := 0.0
	if el > 0 {
		mbps = float64(s.Bytes) / 1e6 / el
	}
	eta := "-"
	if done := s.Files + s.Skipped + s.Deferred; done > 0 && s.Pending > done && el > 0 {
		eta = (time.Duration(el/float64(done)*float64(s.Pending-done)) * time.Second).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "\r\x1b[Kfiles %d/%d  events %d  %.1f MB/s  ETA %s", s.Files+s.Skipped, s.Pending, s.Events, mbps, eta)
	p.drawn = true
}

func (p *progress) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
