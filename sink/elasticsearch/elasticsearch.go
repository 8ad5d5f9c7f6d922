// Package elasticsearch is the sink that indexes events into Elasticsearch
// data streams through the official client's bulk indexer.
//
// Each event is a `create` into the data stream logs-<event.dataset>-<namespace>
// with _id = event.id, so delivering it again is harmless: Elasticsearch
// answers 409, which the sink counts as already delivered. Per-item answers
// decide the rest: 429 and 5xx are retried with backoff, a mapping error
// (the document does not fit the data stream's mapping) goes to a
// dead-letter NDJSON file and is counted, and anything else (no privilege to
// write, a missing data stream template) fails the batch, which is then not
// acknowledged.
//
// Retries happen here, not in the client's transport: the project's one
// policy (internal/backoff) for a whole-request failure (connection
// refused, 503) and for a per-item 429, waiting on the injected clock so
// that tests need no real sleeping.
package elasticsearch

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	es "github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esutil"

	"github.com/sfbridge/sfbridge/internal/backoff"
	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/internal/config"
	"github.com/sfbridge/sfbridge/sink"
)

// Options configure a Sink.
type Options struct {
	// Addresses are the cluster's URLs, e.g. https://es.example.com:9200.
	Addresses []string
	// Namespace is the data stream namespace: events go to
	// logs-<event.dataset>-<Namespace>. Default "default".
	Namespace string
	// APIKeyFile names a file holding an API key, either as Kibana shows it
	// (base64 of id:key) or as id:key. Takes precedence over basic auth.
	APIKeyFile string
	// Username and PasswordFile give basic authentication.
	Username     string
	PasswordFile string
	// CAFile names a PEM file with the CA certificates the cluster's TLS
	// certificate is checked against (instead of the system roots).
	CAFile string
	// Pipeline is the ingest pipeline for the requests. Default "_none":
	// the documents are already ECS-shaped, and the default pipeline of
	// Elastic's Salesforce integration expects its own input's raw rows.
	Pipeline string
	// DeadLetterPath is the NDJSON file that receives events refused for
	// their mapping, with the reason. Without it such an event fails its
	// batch.
	DeadLetterPath string
	// FlushBytes is the size of one _bulk request body. Default 5 MB.
	FlushBytes int
	// Workers is the number of concurrent _bulk requests. Default 2.
	Workers int
	// Retry is the policy for 429, 5xx and connection failures: the
	// project's one backoff policy. The zero value means DefaultRetry.
	Retry backoff.Policy
	// Clock paces retries; nil means real time.
	Clock clock.Clock
	// Transport replaces the HTTP transport (for tests, proxies).
	Transport http.RoundTripper
	// Logger receives one line per retry round; nil discards.
	Logger *slog.Logger
}

// DefaultRetry is the retry policy when Options.Retry is the zero value:
// eight attempts, from half a second doubling to 30 s, half of each delay
// random.
func DefaultRetry() backoff.Policy {
	return backoff.Policy{Initial: 500 * time.Millisecond, Max: 30 * time.Second, Jitter: 0.5, MaxAttempts: 8}
}

// Sink indexes events. Create it with New.
type Sink struct {
	opts   Options
	client *es.Client
	clk    clock.Clock
	log    *slog.Logger
	retry  backoff.Policy
	dlq    *os.File
	apiKey config.Secret
	passwd config.Secret
	status *statusRecorder
}

// statusRecorder remembers the last refusal of a whole request that
// retrying cannot fix (401, 403), so that Write fails at once with the fix
// instead of retrying what the bulk indexer reports only as a failed flush.
type statusRecorder struct {
	base    http.RoundTripper
	refused atomic.Int32
}

func (t *statusRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := t.base.RoundTrip(req)
	if err == nil && (res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden) {
		t.refused.Store(int32(res.StatusCode))
	}
	return res, err
}

// New validates opts, reads the credential files and builds the client. It
// makes no request.
func New(opts Options) (*Sink, error) {
	if len(opts.Addresses) == 0 {
		return nil, configErr("no cluster address", "give the cluster URL, e.g. elasticsearch+https://es.example.com:9200")
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if err := checkNamespace(opts.Namespace); err != nil {
		return nil, err
	}
	if opts.Pipeline == "" {
		opts.Pipeline = "_none"
	}
	if opts.FlushBytes <= 0 {
		opts.FlushBytes = 5 << 20
	}
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	if r := opts.Retry; r.Initial == 0 && r.Max == 0 && r.Multiplier == 0 && r.Jitter == 0 && r.MaxAttempts == 0 && r.MaxElapsed == 0 && r.Rand == nil {
		opts.Retry = DefaultRetry()
	}
	if err := opts.Retry.Validate(); err != nil {
		return nil, configErr(err.Error(), "fix the retry policy")
	}
	s := &Sink{opts: opts, clk: clock.Or(opts.Clock), retry: opts.Retry, log: opts.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.status = &statusRecorder{}
	cfg := es.Config{
		Addresses:           opts.Addresses,
		DisableRetry:        true, // retried here, on the injected clock
		CompressRequestBody: true,
	}
	switch {
	case opts.APIKeyFile != "":
		key, err := readSecret(opts.APIKeyFile, "API key")
		if err != nil {
			return nil, err
		}
		if strings.Contains(key.Reveal(), ":") {
			key = config.Secret(base64.StdEncoding.EncodeToString([]byte(key.Reveal())))
		}
		s.apiKey = key
		cfg.APIKey = key.Reveal()
	case opts.Username != "":
		pw, err := readSecret(opts.PasswordFile, "password")
		if err != nil {
			return nil, err
		}
		s.passwd = pw
		cfg.Username, cfg.Password = opts.Username, pw.Reveal()
	}
	base := opts.Transport
	if opts.CAFile != "" {
		if opts.Transport != nil {
			return nil, configErr("both a CA file and a custom transport", "configure the CA in the transport's TLS settings")
		}
		ca, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return nil, configErr(fmt.Sprintf("reading the CA file: %v", err), "give a readable PEM file of the CA that signed the cluster's certificate")
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, configErr("the CA file holds no PEM certificate", "give the PEM file of the CA that signed the cluster's certificate")
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		base = t
	}
	if base == nil {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	s.status.base = base
	cfg.Transport = s.status
	c, err := es.NewClient(cfg)
	if err != nil {
		return nil, configErr(err.Error(), "check the cluster URL")
	}
	s.client = c
	return s, nil
}

func configErr(problem, fix string) error {
	return &sink.Error{Sink: "elasticsearch", Op: "configure", Err: errors.New(problem), Fix: fix}
}

// readSecret reads a credential file; its content never appears in errors.
func readSecret(path, what string) (config.Secret, error) {
	if path == "" {
		return "", configErr("no "+what+" file", "name the file that holds the "+what)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", configErr(fmt.Sprintf("reading the %s file %s: %v", what, path, errors.Unwrap(err)), "check the path and its permissions")
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", configErr(fmt.Sprintf("the %s file %s is empty", what, path), "write the "+what+" into it")
	}
	return config.Secret(v), nil
}

func checkNamespace(ns string) error {
	for _, c := range ns {
		if !namespaceChar(c) {
			return configErr(fmt.Sprintf("namespace %q has %q", ns, c), "use lower-case letters, digits, _ and . (no -, which separates the parts of a data stream name)")
		}
	}
	if len(ns) > 100 {
		return configErr("namespace longer than 100 bytes", "shorten it")
	}
	return nil
}

func namespaceChar(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.'
}

// String describes the sink without its credentials.
func (s *Sink) String() string {
	auth := "none"
	switch {
	case s.apiKey != "":
		auth = "api key " + s.apiKey.String()
	case s.passwd != "":
		auth = "basic " + s.opts.Username + ":" + s.passwd.String()
	}
	return fmt.Sprintf("elasticsearch %v namespace %s auth %s", s.opts.Addresses, s.opts.Namespace, auth)
}

// DataStream returns the data stream an event of dataset goes to.
func (s *Sink) DataStream(dataset string) string {
	return "logs-" + dataset + "-" + s.opts.Namespace
}

// Open opens the dead-letter file. Elasticsearch stores events by _id, so
// there is no position to recover: it returns nil.
func (s *Sink) Open(ctx context.Context, _ sink.Position) (sink.Position, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.opts.DeadLetterPath != "" && s.dlq == nil {
		f, err := os.OpenFile(s.opts.DeadLetterPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, &sink.Error{Sink: "elasticsearch", Op: "open", Err: err, Fix: "check the dead-letter file's directory and permissions"}
		}
		s.dlq = f
	}
	return nil, nil
}

// Close closes the dead-letter file.
func (s *Sink) Close() error {
	if s.dlq == nil {
		return nil
	}
	err := s.dlq.Close()
	s.dlq = nil
	return err
}

// outcome of one event in one round.
type itemResult struct {
	status  int
	errType string
	reason  string
	err     error // the whole request failed
}

// ItemError is an event Elasticsearch refused for a reason retrying cannot
// fix and that is not a mapping error.
type ItemError struct {
	ID, Index string
	Status    int
	Type      string
	Reason    string
}

func (e *ItemError) Error() string {
	return fmt.Sprintf("event %s refused by %s: %d %s: %s", e.ID, e.Index, e.Status, e.Type, e.Reason)
}

// Write indexes the batch and returns when every event is stored (or was
// already), dead-lettered, or the batch failed.
func (s *Sink) Write(ctx context.Context, batch []sink.Event) (sink.Ack, error) {
	var ack sink.Ack
	pending := batch
	bo := s.retry.Start(s.clk)
	for len(pending) > 0 {
		s.status.refused.Store(0)
		results, err := s.round(ctx, pending)
		if err != nil {
			return sink.Ack{}, err
		}
		if code := int(s.status.refused.Load()); code != 0 {
			return sink.Ack{}, &sink.Error{Sink: "elasticsearch", Op: "write",
				Err: fmt.Errorf("the cluster refused the _bulk request: %d %s", code, http.StatusText(code)), Fix: fixFor(code)}
		}
		var retry []sink.Event
		var lastRetry itemResult
		for i, r := range results {
			ev := pending[i]
			switch {
			case r.err == nil && (r.status == http.StatusOK || r.status == http.StatusCreated):
				ack.Delivered++
			case r.status == http.StatusConflict:
				ack.Duplicates++
			case r.err != nil || r.status == http.StatusTooManyRequests || r.status >= 500:
				retry = append(retry, ev)
				lastRetry = r
			case isMappingError(r):
				if err := s.deadLetter(ev, r); err != nil {
					return sink.Ack{}, err
				}
				ack.DeadLettered++
			default:
				return sink.Ack{}, &sink.Error{Sink: "elasticsearch", Op: "write",
					Err: &ItemError{ID: ev.ID, Index: s.DataStream(ev.Dataset), Status: r.status, Type: r.errType, Reason: r.reason},
					Fix: fixFor(r.status)}
			}
		}
		if len(retry) == 0 {
			break
		}
		why := fmt.Sprintf("%d %s %s", lastRetry.status, lastRetry.errType, lastRetry.reason)
		if lastRetry.err != nil {
			why = lastRetry.err.Error()
		}
		attempt := bo.Attempt()
		d, again := bo.Next(backoff.Verdict{Retry: true, Reason: why})
		if !again {
			return sink.Ack{}, &sink.Error{Sink: "elasticsearch", Op: "write",
				Err: fmt.Errorf("%d events still failing after %d attempts: %s", len(retry), attempt, why),
				Fix: "the cluster is overloaded or unreachable; the batch was not acknowledged and will be sent again"}
		}
		s.log.LogAttrs(ctx, slog.LevelWarn, "elasticsearch: retrying events", slog.Int("events", len(retry)),
			slog.Int("attempt", attempt), slog.Duration("wait", d), slog.Int("status", lastRetry.status))
		if err := bo.Wait(ctx, d); err != nil {
			return sink.Ack{}, err
		}
		pending = retry
	}
	if ack.DeadLettered > 0 {
		if err := s.dlq.Sync(); err != nil {
			return sink.Ack{}, &sink.Error{Sink: "elasticsearch", Op: "dead-letter", Err: err, Fix: "check free space for the dead-letter file"}
		}
	}
	return ack, nil
}

// round sends events once through a bulk indexer and returns each one's
// result, in order.
func (s *Sink) round(ctx context.Context, events []sink.Event) ([]itemResult, error) {
	results := make([]itemResult, len(events))
	var mu sync.Mutex
	bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{
		Client:        s.client,
		NumWorkers:    s.opts.Workers,
		FlushBytes:    s.opts.FlushBytes,
		FlushInterval: time.Hour, // flushed by Close at the end of the round
		Pipeline:      s.opts.Pipeline,
	})
	if err != nil {
		return nil, &sink.Error{Sink: "elasticsearch", Op: "write", Err: err}
	}
	for i, ev := range events {
		err := bi.Add(ctx, esutil.BulkIndexerItem{
			Index:      s.DataStream(ev.Dataset),
			Action:     "create",
			DocumentID: ev.ID,
			Body:       bytes.NewReader(ev.Doc),
			OnSuccess: func(_ context.Context, _ esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem) {
				mu.Lock()
				results[i] = itemResult{status: res.Status}
				mu.Unlock()
			},
			OnFailure: func(_ context.Context, _ esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem, err error) {
				mu.Lock()
				results[i] = itemResult{status: res.Status, errType: res.Error.Type, reason: res.Error.Reason, err: err}
				mu.Unlock()
			},
		})
		if err != nil {
			bi.Close(context.WithoutCancel(ctx))
			return nil, ctxOr(ctx, err)
		}
	}
	if err := bi.Close(ctx); err != nil {
		return nil, ctxOr(ctx, err)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range results {
		if results[i].status == 0 && results[i].err == nil {
			results[i].err = errors.New("no answer for the event")
		}
	}
	return results, nil
}

func ctxOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return &sink.Error{Sink: "elasticsearch", Op: "write", Err: err}
}

// isMappingError reports an item refused because the document does not fit
// the index mapping: retrying it cannot succeed.
func isMappingError(r itemResult) bool {
	if r.status != http.StatusBadRequest {
		return false
	}
	switch r.errType {
	case "mapper_parsing_exception", "document_parsing_exception", "strict_dynamic_mapping_exception",
		"illegal_argument_exception", "mapper_exception", "document_parsing_failure":
		return true
	}
	return strings.Contains(r.errType, "parsing_exception")
}

func fixFor(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "the credentials were refused; check the API key or password file"
	case http.StatusForbidden:
		return "the user or API key lacks the create_doc and auto_configure privileges on logs-salesforce.*"
	case http.StatusNotFound:
		return "the data stream does not exist and cannot be created; install an index template matching logs-*-* (Elastic's built-in one, or the Salesforce integration)"
	}
	return "see the reason; the batch was not acknowledged"
}

// deadLetter appends one refused event, with why, to the dead-letter file.
func (s *Sink) deadLetter(ev sink.Event, r itemResult) error {
	if s.dlq == nil {
		return &sink.Error{Sink: "elasticsearch", Op: "write",
			Err: &ItemError{ID: ev.ID, Index: s.DataStream(ev.Dataset), Status: r.status, Type: r.errType, Reason: r.reason},
			Fix: "the event does not fit the data stream's mapping; configure a dead-letter file to set such events aside and go on"}
	}
	line, err := json.Marshal(struct {
		ID       string          `json:"event_id"`
		Index    string          `json:"index"`
		Status   int             `json:"status"`
		Type     string          `json:"error_type"`
		Reason   string          `json:"error_reason"`
		Document json.RawMessage `json:"document"`
	}{ev.ID, s.DataStream(ev.Dataset), r.status, r.errType, r.reason, json.RawMessage(ev.Doc)})
	if err != nil {
		return &sink.Error{Sink: "elasticsearch", Op: "dead-letter", Err: err}
	}
	if _, err := s.dlq.Write(append(line, '\n')); err != nil {
		return &sink.Error{Sink: "elasticsearch", Op: "dead-letter", Err: err, Fix: "check free space for the dead-letter file"}
	}
	return nil
}

var _ sink.Sink = (*Sink)(nil)
