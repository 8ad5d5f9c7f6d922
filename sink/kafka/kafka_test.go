package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/sfbridge/sfbridge/sink"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func ev(i int, dataset string) sink.Event {
	id := fmt.Sprintf("%032x", i)
	return sink.Event{ID: id, Dataset: dataset, Doc: []byte(`{"event":{"id":"` + id + `","dataset":"` + dataset + `"}}`)}
}

// consume reads topics from the start until it has want records or time
// runs out, and returns how often each key arrived.
func consume(t *testing.T, brokers []string, want int, extra []kgo.Opt, topics ...string) map[string]int {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	keys := map[string]int{}
	n := 0
	for n < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records before the deadline", n, want)
		}
		fs.EachRecord(func(r *kgo.Record) {
			keys[string(r.Key)]++
			n++
			if !strings.Contains(string(r.Value), string(r.Key)) {
				t.Errorf("record %s carries another event: %s", r.Key, r.Value)
			}
		})
	}
	// Anything beyond want (a duplicate) that is already fetchable.
	short, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	cl.PollFetches(short).EachRecord(func(r *kgo.Record) { keys[string(r.Key)]++ })
	return keys
}

func TestTopicPerDatasetKeyedByEventID(t *testing.T) {
	c := kfake.MustCluster(kfake.NumBrokers(3), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(3))
	defer c.Close()
	s, err := New(Options{Brokers: c.ListenAddrs(), TopicPrefix: "sf."})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	var batch []sink.Event
	for i := 0; i < 30; i++ {
		ds := "salesforce.login"
		if i%3 == 0 {
			ds = "salesforce.apex"
		}
		batch = append(batch, ev(i, ds))
	}
	ack, err := s.Write(context.Background(), batch)
	if err != nil || ack.Delivered != 30 || ack.Position != nil {
		t.Fatalf("ack %+v err %v", ack, err)
	}
	s.Close()
	login := consume(t, c.ListenAddrs(), 20, nil, "sf.salesforce.login")
	apex := consume(t, c.ListenAddrs(), 10, nil, "sf.salesforce.apex")
	for i := 0; i < 30; i++ {
		m := login
		if i%3 == 0 {
			m = apex
		}
		if got := m[ev(i, "").ID]; got != 1 {
			t.Errorf("key %s arrived %d times in its dataset's topic", ev(i, "").ID, got)
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// connectFailures signals each failed connection attempt of a client.
type connectFailures chan struct{}

func (h connectFailures) OnBrokerConnect(_ kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err != nil {
		select {
		case h <- struct{}{}:
		default:
		}
	}
}

// TestBrokerRestartMidStream stops the (persistent) broker between batches,
// writes a batch while it is down (Write waits: the producer cannot connect),
// starts it again, and goes on: every key of every acknowledged batch is in
// the topic exactly once.
func TestBrokerRestartMidStream(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.Ports(port), kfake.DataDir(dir), kfake.SyncWrites(),
		kfake.SeedTopics(2, "events"), kfake.AllowAutoTopicCreation()}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	brokers := c.ListenAddrs()
	failed := make(connectFailures, 1)
	s, err := New(Options{Brokers: brokers, Topic: "events", DeliveryTimeout: time.Minute,
		extra: []kgo.Opt{kgo.RetryBackoffFn(func(int) time.Duration { return 20 * time.Millisecond }), kgo.WithHooks(failed)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	const batches, per = 20, 50
	write := func(b int) error {
		var batch []sink.Event
		for i := 0; i < per; i++ {
			batch = append(batch, ev(b*per+i, "salesforce.login"))
		}
		ack, err := s.Write(context.Background(), batch)
		if err == nil && ack.Delivered != per {
			err = fmt.Errorf("ack %+v", ack)
		}
		return err
	}
	for b := 0; b < batches; b++ {
		if b != batches/2 {
			if err := write(b); err != nil {
				t.Fatalf("batch %d: %v", b, err)
			}
			continue
		}
		c.Close()
		select { // drop a failure signalled before the broker went down
		case <-failed:
		default:
		}
		done := make(chan error, 1)
		go func() { done <- write(b) }()
		select {
		case <-failed: // the producer tried and failed to reach the broker
		case err := <-done:
			t.Fatalf("batch %d was acknowledged while the broker was down (err %v)", b, err)
		}
		if c, err = kfake.NewCluster(opts...); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("batch %d across the restart: %v", b, err)
		}
	}
	defer c.Close()
	s.Close()
	keys := consume(t, brokers, batches*per, nil, "events")
	for i := 0; i < batches*per; i++ {
		if got := keys[ev(i, "").ID]; got != 1 {
			t.Errorf("key %s arrived %d times", ev(i, "").ID, got)
		}
	}
	if len(keys) != batches*per {
		t.Errorf("%d distinct keys, want %d", len(keys), batches*per)
	}
}

func TestSASLAndSecrets(t *testing.T) {
	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		t.Run(mech, func(t *testing.T) {
			c := kfake.MustCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser(mech, "collector", "s3cret-pw"),
				kfake.SeedTopics(1, "events"))
			defer c.Close()
			pw := filepath.Join(t.TempDir(), "pw")
			os.WriteFile(pw, []byte("s3cret-pw\n"), 0o600)
			s, err := New(Options{Brokers: c.ListenAddrs(), Topic: "events", SASLMechanism: mech, Username: "collector", PasswordFile: pw})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(s.String(), "s3cret") {
				t.Errorf("String() shows the password: %s", s)
			}
			s.Open(context.Background(), nil)
			defer s.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if ack, err := s.Write(ctx, []sink.Event{ev(1, "salesforce.login")}); err != nil || ack.Delivered != 1 {
				t.Fatalf("ack %+v err %v", ack, err)
			}
			// A wrong password is refused, and the error does not show it.
			os.WriteFile(pw, []byte("wrong-pw"), 0o600)
			bad, _ := New(Options{Brokers: c.ListenAddrs(), Topic: "events", SASLMechanism: mech, Username: "collector", PasswordFile: pw,
				DeliveryTimeout: 2 * time.Second})
			bad.Open(context.Background(), nil)
			defer bad.Close()
			_, err = bad.Write(ctx, []sink.Event{ev(2, "salesforce.login")})
			if err == nil {
				t.Fatal("a wrong password was accepted")
			}
			if strings.Contains(err.Error(), "wrong-pw") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
	if _, err := New(Options{Brokers: []string{"x:9092"}, SASLMechanism: "GSSAPI", Username: "u", PasswordFile: "/nonexistent"}); err == nil {
		t.Error("a missing password file was accepted")
	}
}

func TestTLSWithACAFile(t *testing.T) {
	// httptest's certificate is valid for 127.0.0.1; kfake serves it.
	srv := httptest.NewUnstartedServer(nil)
	srv.StartTLS()
	defer srv.Close()
	c := kfake.MustCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "events"),
		kfake.TLS(&tls.Config{Certificates: srv.TLS.Certificates, MinVersion: tls.VersionTLS12}))
	defer c.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600)
	s, err := New(Options{Brokers: c.ListenAddrs(), Topic: "events", TLS: true, CAFile: ca})
	if err != nil {
		t.Fatal(err)
	}
	s.Open(context.Background(), nil)
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if ack, err := s.Write(ctx, []sink.Event{ev(7, "salesforce.login")}); err != nil || ack.Delivered != 1 {
		t.Fatalf("ack %+v err %v", ack, err)
	}
	tlsOpt := []kgo.Opt{kgo.DialTLSConfig(&tls.Config{RootCAs: rootCAs(t, ca), MinVersion: tls.VersionTLS12})}
	if got := consume(t, c.ListenAddrs(), 1, tlsOpt, "events"); got[ev(7, "").ID] != 1 {
		t.Errorf("keys %v", got)
	}
	if _, err := New(Options{Brokers: c.ListenAddrs(), TLS: true, CAFile: filepath.Join(t.TempDir(), "none.pem")}); err == nil {
		t.Error("a missing CA file was accepted")
	}
}

func rootCAs(t *testing.T, ca string) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(b)
	return p
}
