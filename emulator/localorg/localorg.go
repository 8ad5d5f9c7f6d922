// Package localorg runs an emulated Salesforce org on a local listener, with
// its credentials kept in a state directory: the JWT signing pair its default
// app trusts (reused across starts) and, for HTTPS, a certificate for
// 127.0.0.1 and localhost. `sfbridge emulator` and `sfbridge serve --dev`
// both start their org through it.
package localorg

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/internal/jsonfile"
	"github.com/sfbridge/sfbridge/keys"
)

// Options say how to start the org.
type Options struct {
	// Addr to listen on; port 0 picks a free one.
	Addr string
	// Fixture is a JSON or YAML fixture file; empty serves the default org
	// whose app trusts the pair in StateDir. A fixture's first app trusts
	// that pair as well as its own certificates, and Info names it.
	Fixture string
	// StateDir holds the key pair and TLS certificate. Required.
	StateDir string
	// TLS serves HTTPS with a certificate for 127.0.0.1 and localhost.
	TLS bool
	// Sample adds the sample records of emulator.Org.AddSampleRecords
	// (Accounts, employee Users and Contacts sharing emails, Cases with
	// comments, Knowledge articles in English and German), the same on
	// every start, and, unless the fixture configures Event Monitoring
	// itself, three days of hourly and daily event log files for every
	// licensed event type. `sfbridge emulator --sample-data` and
	// `serve --dev` set it.
	Sample bool
	// Activity starts the simulated activity of emulator.Org.StartActivity
	// with ActivitySpec (zero fields take its defaults): Cases changing,
	// comments and new Cases every 20 seconds or so, Knowledge articles
	// published, updated and archived, hourly event log files coming 30
	// seconds after each hour (the hours before the start within the
	// first minute), and the scripted Messaging agent. `serve --dev` sets
	// it; it stops with Shutdown.
	Activity     bool
	ActivitySpec emulator.ActivitySpec
	// Now is the org's time (default Clock's); Clock drives its timers
	// (the scripted agents'); nil is the real clock.
	Now   func() time.Time
	Clock clock.Clock
	// Logger receives the org's debug log (one line per request and per
	// login attempt, never a token); nil discards.
	Logger *slog.Logger
}

// Info describes a running org: everything a script or a client needs. It
// holds the admin token, so files containing it must stay private.
type Info struct {
	BaseURL     string `json:"base_url"`
	LoginURL    string `json:"login_url"`
	InstanceURL string `json:"instance_url"`
	TokenURL    string `json:"token_url"`
	OrgID       string `json:"org_id"`
	ClientID    string `json:"client_id"`
	KeyFile     string `json:"key_file"`
	CertFile    string `json:"cert_file"`
	TLSCertFile string `json:"tls_cert_file,omitempty"`
	AdminToken  string `json:"admin_token"`
	// SCRTURL is the Messaging for In-App and Web host (the "SCRT URL"),
	// ConsoleURL the agent console page on the instance URL.
	SCRTURL    string            `json:"scrt_url"`
	ConsoleURL string            `json:"console_url"`
	Users      map[string]string `json:"users"`
	PID        int               `json:"pid"`
}

// Org is a running emulated org.
type Org struct {
	Info Info
	Org  *emulator.Org

	srv     *http.Server
	scrtSrv *http.Server
	errc    chan error
}

// SampleEventRowsPerHour is the background activity Options.Sample sets:
// average log rows per event type and hour.
const SampleEventRowsPerHour = 60

// Start listens, builds the org and serves it in the background until
// Shutdown.
func Start(ctx context.Context, opts Options) (*Org, error) {
	if opts.Now == nil {
		opts.Now = clock.Or(opts.Clock).Now
	}
	if opts.StateDir == "" {
		return nil, errors.New("localorg: a state directory is required")
	}
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	pair, keyFile, certFile, err := LoadOrCreatePair(opts.StateDir, "server", keys.CertificateOptions{Subject: "CN=sfbridge emulator", Days: 3650, Now: opts.Now(), Backdate: time.Hour})
	if err != nil {
		return nil, err
	}
	clientID := emulator.ConsumerKeyFor(pair.Cert)
	fixture := emulator.DefaultFixture(clientID, pair.CertPEM)
	users := emulator.DefaultUsers()
	if opts.Fixture != "" {
		if fixture, err = emulator.LoadFixture(opts.Fixture); err != nil {
			return nil, err
		}
		clientID = ""
		if len(fixture.Apps) > 0 {
			// The info file names the generated key pair, so the first app
			// trusts its certificate too (besides the fixture's own): the
			// info file's key_file and client_id log in as they stand.
			fixture.Apps[0].Certificates = append(fixture.Apps[0].Certificates, string(pair.CertPEM))
		}
		users = map[string]string{}
		for _, u := range fixture.Users {
			users[u.Username] = u.Username
		}
	}

	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w (is another emulator running? use port 0 for a free port)", opts.Addr, err)
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "http"
	var tlsCertFile string
	var tlsConf *tls.Config
	if opts.TLS {
		scheme = "https"
		tp, _, cf, err := LoadOrCreatePair(opts.StateDir, "tls", keys.CertificateOptions{Subject: "CN=127.0.0.1", Days: 825, Now: opts.Now(), Backdate: time.Hour,
			Hosts: []string{"127.0.0.1", "localhost", "::1"}})
		if err != nil {
			ln.Close()
			return nil, err
		}
		tlsCertFile = cf
		cert := tls.Certificate{Certificate: [][]byte{tp.Cert.Raw}, PrivateKey: tp.Key}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, tlsConf)
	}
	base := scheme + "://" + net.JoinHostPort(host, port)
	if opts.Sample && fixture.EventMonitoring == nil {
		fixture.EventMonitoring = &emulator.EventMonitoringSpec{RowsPerHour: SampleEventRowsPerHour, SampleDays: 3}
	}
	// Messaging is served on its own listener, as Salesforce's SCRT host is
	// separate from the instance URL.
	scrtLn, err := (&net.ListenConfig{}).Listen(ctx, "tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("listen for the Messaging (SCRT) host: %w", err)
	}
	if tlsConf != nil {
		scrtLn = tls.NewListener(scrtLn, tlsConf)
	}
	_, scrtPort, _ := net.SplitHostPort(scrtLn.Addr().String())
	scrtURL := scheme + "://" + net.JoinHostPort(host, scrtPort)
	org, err := emulator.New(emulator.Config{Fixture: fixture, BaseURL: base, InstanceURL: base, Now: opts.Now, Clock: opts.Clock, Logger: opts.Logger, SCRTURL: scrtURL})
	if err != nil {
		ln.Close()
		scrtLn.Close()
		return nil, err
	}
	if opts.Fixture != "" && len(fixture.Apps) > 0 {
		// The consumer key as the org holds it: generated when the fixture
		// gives none.
		if a, ok := org.App(fixture.Apps[0].Name); ok {
			clientID = a.ConsumerKey
		}
	}
	if opts.Sample {
		if err := org.AddSampleRecords(1); err != nil {
			ln.Close()
			scrtLn.Close()
			org.Close()
			return nil, err
		}
	}
	if opts.Activity {
		if err := org.StartActivity(opts.ActivitySpec); err != nil {
			ln.Close()
			scrtLn.Close()
			org.Close()
			return nil, err
		}
	}
	o := &Org{
		Info: Info{BaseURL: base, LoginURL: base, InstanceURL: base, TokenURL: base + "/services/oauth2/token",
			OrgID: string(org.OrgID()), ClientID: clientID, KeyFile: keyFile, CertFile: certFile, TLSCertFile: tlsCertFile,
			AdminToken: org.AdminToken(), Users: users, PID: os.Getpid(), SCRTURL: scrtURL, ConsoleURL: base + emulator.ConsolePath},
		Org:     org,
		srv:     &http.Server{Handler: org, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute},
		scrtSrv: &http.Server{Handler: org.Messaging().Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute},
		errc:    make(chan error, 2),
	}
	go func() { o.errc <- o.srv.Serve(ln) }()
	go func() { o.errc <- o.scrtSrv.Serve(scrtLn) }()
	return o, nil
}

// Err delivers the error that stopped the server early, if one does.
func (o *Org) Err() <-chan error { return o.errc }

// Shutdown stops serving, letting in-flight requests finish within ctx.
func (o *Org) Shutdown(ctx context.Context) error {
	// Stop the activity and end the event streams first: Shutdown does not
	// wait for hijacked or streaming answers to finish by themselves.
	o.Org.StopActivity()
	o.Org.Close()
	err := errors.Join(o.srv.Shutdown(ctx), o.scrtSrv.Shutdown(ctx))
	if errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// WriteInfo writes info as JSON to path, privately (0600) and atomically.
func WriteInfo(path string, info Info) error { return jsonfile.Write(path, info, 0o600) }

// LoadOrCreatePair reuses <dir>/<name>.key and .crt while the certificate is
// valid, or generates a new pair.
func LoadOrCreatePair(dir, name string, opts keys.CertificateOptions) (*keys.Pair, string, string, error) {
	keyFile := filepath.Join(dir, name+".key")
	certFile := filepath.Join(dir, name+".crt")
	keyPEM, kerr := os.ReadFile(keyFile)
	certPEM, cerr := os.ReadFile(certFile)
	if kerr == nil && cerr == nil {
		key, err := keys.ParsePrivateKey(keyPEM, keyFile, keys.LoadOptions{})
		if err != nil {
			return nil, "", "", fmt.Errorf("%s: %w (delete it and %s to generate a new pair)", keyFile, err, certFile)
		}
		certs, err := keys.ParseCertificates(certPEM, certFile, keys.LoadOptions{})
		if err != nil {
			return nil, "", "", fmt.Errorf("%s: %w (delete it and %s to generate a new pair)", certFile, err, keyFile)
		}
		if opts.Now.Before(certs[0].NotAfter) {
			return &keys.Pair{Key: key, Cert: certs[0], KeyPEM: keyPEM, CertPEM: certPEM}, keyFile, certFile, nil
		}
	}
	pair, err := keys.NewPair(nil, opts)
	if err != nil {
		return nil, "", "", err
	}
	if err := os.WriteFile(keyFile, pair.KeyPEM, 0o600); err != nil {
		return nil, "", "", fmt.Errorf("write key: %w", err)
	}
	if err := os.WriteFile(certFile, pair.CertPEM, 0o644); err != nil {
		return nil, "", "", fmt.Errorf("write certificate: %w", err)
	}
	return pair, keyFile, certFile, nil
}
