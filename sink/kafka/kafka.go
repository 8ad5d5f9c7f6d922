// Package kafka is the sink that produces events to Kafka with franz-go.
//
// The producer is idempotent and waits for acks from all in-sync replicas,
// so a batch Write acknowledges is on every in-sync replica, and the
// producer's own retries (a broker restarting, a leader moving) never write
// a record twice. Each record's key is the event's event.id: a collector's
// replay after a crash (a new producer, so outside idempotence) writes the
// same keys again, which a compacted topic or a consumer keyed on event.id
// folds into one. Records go to one topic, or to a topic per dataset.
package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/sfbridge/sfbridge/internal/config"
	"github.com/sfbridge/sfbridge/sink"
)

// Options configure a Sink.
type Options struct {
	// Brokers are the seed brokers, host:port.
	Brokers []string
	// Topic receives every event. When empty, each event goes to
	// TopicPrefix + its event.dataset ("salesforce.login").
	Topic       string
	TopicPrefix string
	// SASLMechanism is "", "PLAIN", "SCRAM-SHA-256" or "SCRAM-SHA-512",
	// with Username and the password read from PasswordFile.
	SASLMechanism string
	Username      string
	PasswordFile  string
	// TLS turns TLS on; CAFile replaces the system roots with a PEM bundle,
	// ServerName overrides the name checked in the broker's certificate.
	TLS        bool
	CAFile     string
	ServerName string
	// ClientID names the producer in the brokers' logs. Default "sfbridge".
	ClientID string
	// DeliveryTimeout bounds how long Write waits for one batch, retries
	// included, before failing it. Default 5 minutes.
	DeliveryTimeout time.Duration
	// MaxBufferedRecords bounds the records in flight. Default 10,000.
	MaxBufferedRecords int
	// Logger receives the client's warnings; nil discards.
	Logger *slog.Logger

	extra []kgo.Opt // tests
}

// Sink produces events. Create it with New.
type Sink struct {
	opts     Options
	kopts    []kgo.Opt
	cl       *kgo.Client
	password config.Secret
}

// New validates opts and reads the credential files. It connects nothing
// until Open.
func New(opts Options) (*Sink, error) {
	if len(opts.Brokers) == 0 {
		return nil, configErr("no broker", "give the brokers, e.g. kafka://broker1:9092,broker2:9092/TOPIC")
	}
	if opts.ClientID == "" {
		opts.ClientID = "sfbridge"
	}
	if opts.DeliveryTimeout <= 0 {
		opts.DeliveryTimeout = 5 * time.Minute
	}
	if opts.MaxBufferedRecords <= 0 {
		opts.MaxBufferedRecords = 10000
	}
	s := &Sink{opts: opts}
	kopts := []kgo.Opt{
		kgo.SeedBrokers(opts.Brokers...),
		kgo.ClientID(opts.ClientID),
		kgo.RequiredAcks(kgo.AllISRAcks()), // idempotence needs it; say so anyway
		kgo.RecordDeliveryTimeout(opts.DeliveryTimeout),
		kgo.MaxBufferedRecords(opts.MaxBufferedRecords),
		kgo.AllowAutoTopicCreation(),
		kgo.ProducerBatchCompression(kgo.ZstdCompression(), kgo.Lz4Compression(), kgo.NoCompression()),
	}
	if opts.Logger != nil {
		kopts = append(kopts, kgo.WithLogger(slogLogger{opts.Logger}))
	}
	if opts.SASLMechanism != "" {
		pw, err := readSecret(opts.PasswordFile)
		if err != nil {
			return nil, err
		}
		s.password = pw
		m, err := mechanism(opts.SASLMechanism, opts.Username, pw)
		if err != nil {
			return nil, err
		}
		kopts = append(kopts, kgo.SASL(m))
	}
	if opts.TLS || opts.CAFile != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: opts.ServerName}
		if opts.CAFile != "" {
			pem, err := os.ReadFile(opts.CAFile)
			if err != nil {
				return nil, configErr(fmt.Sprintf("reading the CA file: %v", err), "give a readable PEM file")
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, configErr("the CA file holds no PEM certificate", "give the PEM bundle of the CA that signed the brokers' certificates")
			}
			tc.RootCAs = pool
		}
		kopts = append(kopts, kgo.DialTLSConfig(tc))
	}
	s.kopts = append(kopts, opts.extra...)
	return s, nil
}

func mechanism(name, user string, pw config.Secret) (sasl.Mechanism, error) {
	if user == "" {
		return nil, configErr("SASL without a username", "give the username")
	}
	switch strings.ToUpper(name) {
	case "PLAIN":
		return plain.Auth{User: user, Pass: pw.Reveal()}.AsMechanism(), nil
	case "SCRAM-SHA-256":
		return scram.Auth{User: user, Pass: pw.Reveal()}.AsSha256Mechanism(), nil
	case "SCRAM-SHA-512":
		return scram.Auth{User: user, Pass: pw.Reveal()}.AsSha512Mechanism(), nil
	}
	return nil, configErr(fmt.Sprintf("SASL mechanism %q", name), "use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
}

func configErr(problem, fix string) error {
	return &sink.Error{Sink: "kafka", Op: "configure", Err: errors.New(problem), Fix: fix}
}

func readSecret(path string) (config.Secret, error) {
	if path == "" {
		return "", configErr("SASL without a password file", "name the file that holds the password")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", configErr(fmt.Sprintf("reading the password file %s: %v", path, errors.Unwrap(err)), "check the path and its permissions")
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return "", configErr("the password file "+path+" is empty", "write the password into it")
	}
	return config.Secret(v), nil
}

// String describes the sink without its password.
func (s *Sink) String() string {
	auth := "none"
	if s.opts.SASLMechanism != "" {
		auth = s.opts.SASLMechanism + " " + s.opts.Username + ":" + s.password.String()
	}
	return fmt.Sprintf("kafka %v topic %s auth %s", s.opts.Brokers, s.TopicFor("<dataset>"), auth)
}

// TopicFor returns the topic of an event of dataset.
func (s *Sink) TopicFor(dataset string) string {
	if s.opts.Topic != "" {
		return s.opts.Topic
	}
	return s.opts.TopicPrefix + dataset
}

// Open creates the client. Kafka keeps records by key, so there is no
// position to recover: it returns nil.
func (s *Sink) Open(ctx context.Context, _ sink.Position) (sink.Position, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.cl != nil {
		return nil, nil
	}
	cl, err := kgo.NewClient(s.kopts...)
	if err != nil {
		return nil, &sink.Error{Sink: "kafka", Op: "open", Err: err, Fix: "check the broker addresses and options"}
	}
	s.cl = cl
	return nil, nil
}

// Write produces the batch and returns when every record is acknowledged
// by all in-sync replicas. While the brokers are unreachable it waits (and
// the producer retries) up to DeliveryTimeout.
func (s *Sink) Write(ctx context.Context, batch []sink.Event) (sink.Ack, error) {
	if s.cl == nil {
		return sink.Ack{}, &sink.Error{Sink: "kafka", Op: "write", Err: errors.New("not open"), Fix: "call Open first"}
	}
	recs := make([]*kgo.Record, len(batch))
	for i, ev := range batch {
		recs[i] = &kgo.Record{Topic: s.TopicFor(ev.Dataset), Key: []byte(ev.ID), Value: ev.Doc}
	}
	res := s.cl.ProduceSync(ctx, recs...)
	if err := res.FirstErr(); err != nil {
		if ctx.Err() != nil {
			return sink.Ack{}, ctx.Err()
		}
		return sink.Ack{}, &sink.Error{Sink: "kafka", Op: "write", Err: err,
			Fix: "the batch was not acknowledged and will be sent again; check the brokers, the topic and the producer's ACLs (Write and IdempotentWrite)"}
	}
	return sink.Ack{Delivered: len(batch)}, nil
}

// Close flushes nothing (Write already waited) and closes the client.
func (s *Sink) Close() error {
	if s.cl != nil {
		s.cl.Close()
		s.cl = nil
	}
	return nil
}

// slogLogger adapts slog to franz-go's logger.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (s slogLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lv := slog.LevelInfo
	switch level {
	case kgo.LogLevelError:
		lv = slog.LevelError
	case kgo.LogLevelWarn:
		lv = slog.LevelWarn
	case kgo.LogLevelDebug:
		lv = slog.LevelDebug
	}
	s.l.Log(context.Background(), lv, "kafka: "+msg, keyvals...)
}

var _ sink.Sink = (*Sink)(nil)
