// Package emulator implements `sfbridge emulator`: it serves a local
// Salesforce org (package emulator) until interrupted, with a key pair its
// default connected app trusts, and prints the commands that log in to it.
package emulator

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	sfemu "github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/selfsigned"
)

// Options are the command's flags and surroundings.
type Options struct {
	Addr     string
	Fixture  string
	StateDir string
	TLS      bool
	InfoFile string

	Out, ErrOut io.Writer
	Now         func() time.Time
	Logger      *slog.Logger
	// ready, when set, receives the info once the org is serving (tests).
	ready func(Info)
}

// Info is what --info-file holds: everything a script needs to drive the
// emulator. It contains the admin token, so the file is private (0600).
type Info struct {
	BaseURL     string            `json:"base_url"`
	LoginURL    string            `json:"login_url"`
	InstanceURL string            `json:"instance_url"`
	TokenURL    string            `json:"token_url"`
	OrgID       string            `json:"org_id"`
	ClientID    string            `json:"client_id"`
	KeyFile     string            `json:"key_file"`
	CertFile    string            `json:"cert_file"`
	TLSCertFile string            `json:"tls_cert_file,omitempty"`
	AdminToken  string            `json:"admin_token"`
	Users       map[string]string `json:"users"`
	PID         int               `json:"pid"`
}

// NewCmd returns `sfbridge emulator`.
func NewCmd(f *factory.Factory) *cobra.Command {
	opts := &Options{Out: f.IOStreams.Out, ErrOut: f.IOStreams.ErrOut, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "emulator",
		Short: "Serve a local Salesforce org that real clients can log in to",
		Long: `Serve a local Salesforce org until interrupted (Ctrl-C).

The org verifies JWT bearer assertions for real, issues sessions that expire,
serves the identity, userinfo, revoke and introspect endpoints, the REST API
(versions, resources, limits, query, sObjects, describe, composite) and an
admin API under /_emulator/ protected by a token printed at start.

Without --fixture it serves the default org: a connected app that trusts a key
pair generated into the state directory (reused on the next start), and the
users integration@sfbridge.test (everything needed), no-eventlogs@sfbridge.test,
not-preauthorized@sfbridge.test and inactive@sfbridge.test.

With --tls it serves HTTPS with a generated certificate for 127.0.0.1 and
localhost, written to the state directory as tls.crt: point
NODE_EXTRA_CA_CERTS (sf, jsforce) or SSL_CERT_FILE (Go) at it.

With --debug every request (never a token or an assertion) and every login
attempt with its precise outcome is logged to stderr.`,
		Example: `  sfbridge emulator
  sfbridge emulator --addr 127.0.0.1:0 --info-file emulator.json
  sfbridge emulator --tls --fixture org.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.StateDir == "" {
				dir, err := f.ConfigDir()
				if err != nil {
					return fmt.Errorf("find the state directory: %w (pass --state-dir)", err)
				}
				opts.StateDir = filepath.Join(dir, "emulator")
			}
			opts.Logger = f.Logger()
			return run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Addr, "addr", "127.0.0.1:8484", "Address to listen on (port 0 picks a free one)")
	fl.StringVar(&opts.Fixture, "fixture", "", "JSON or YAML file describing the org (default: the built-in default org)")
	fl.StringVar(&opts.StateDir, "state-dir", "", "Directory for the generated key pair and TLS certificate (default: <config dir>/emulator)")
	fl.BoolVar(&opts.TLS, "tls", false, "Serve HTTPS with a generated certificate for 127.0.0.1 and localhost")
	fl.StringVar(&opts.InfoFile, "info-file", "", "Write the URLs, client id, key file, admin token and users as JSON to this file")
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	pair, keyFile, certFile, err := loadOrCreatePair(opts.StateDir, "server", selfsigned.Options{CommonName: "sfbridge emulator", Days: 3650, Now: opts.Now()})
	if err != nil {
		return err
	}
	clientID := selfsigned.ConsumerKey(pair.Cert)
	fixture := sfemu.DefaultFixture(clientID, pair.CertPEM)
	users := sfemu.DefaultUsers()
	if opts.Fixture != "" {
		if fixture, err = sfemu.LoadFixture(opts.Fixture); err != nil {
			return err
		}
		clientID = ""
		if len(fixture.Apps) > 0 {
			clientID = fixture.Apps[0].ConsumerKey
		}
		users = map[string]string{}
		for _, u := range fixture.Users {
			users[u.Username] = u.Username
		}
	}

	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", opts.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another emulator running? use --addr 127.0.0.1:0 for a free port)", opts.Addr, err)
	}
	defer ln.Close()
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		fmt.Fprintf(opts.ErrOut, "sfbridge emulator: warning: listening on %s, reachable from other machines; the admin token is the only protection\n", ln.Addr())
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "http"
	var tlsCertFile string
	if opts.TLS {
		scheme = "https"
		tp, _, cf, err := loadOrCreatePair(opts.StateDir, "tls", selfsigned.Options{CommonName: "127.0.0.1", Days: 825, Now: opts.Now(),
			Hosts: []string{"127.0.0.1", "localhost", "::1"}})
		if err != nil {
			return err
		}
		tlsCertFile = cf
		cert := tls.Certificate{Certificate: [][]byte{tp.Cert.Raw}, PrivateKey: tp.Key}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	base := scheme + "://" + net.JoinHostPort(host, port)
	org, err := sfemu.New(sfemu.Config{Fixture: fixture, BaseURL: base, InstanceURL: base, Now: opts.Now, Logger: opts.Logger})
	if err != nil {
		return err
	}
	info := Info{BaseURL: base, LoginURL: base, InstanceURL: base, TokenURL: base + "/services/oauth2/token",
		OrgID: string(org.OrgID()), ClientID: clientID, KeyFile: keyFile, CertFile: certFile, TLSCertFile: tlsCertFile,
		AdminToken: org.AdminToken(), Users: users, PID: os.Getpid()}
	if opts.InfoFile != "" {
		if err := writeInfo(opts.InfoFile, info); err != nil {
			return err
		}
		defer os.Remove(opts.InfoFile)
	}

	srv := &http.Server{Handler: org, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	printBanner(opts, info, opts.Fixture == "")
	if opts.ready != nil {
		opts.ready(info)
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shut down: %w", err)
	}
	fmt.Fprintln(opts.ErrOut, "sfbridge emulator: stopped")
	return nil
}

func printBanner(opts *Options, info Info, defaultOrg bool) {
	w := opts.Out
	fmt.Fprintf(w, "sfbridge emulator: org %s serving at %s\n", info.OrgID, info.BaseURL)
	fmt.Fprintf(w, "Admin token (header %s): %s\n", sfemu.AdminTokenHeader, info.AdminToken)
	if !defaultOrg {
		fmt.Fprintf(w, "Fixture: %s; first app's consumer key: %s\n", opts.Fixture, info.ClientID)
		fmt.Fprintln(w, "\nPress Ctrl-C to stop.")
		return
	}
	env := ""
	goEnv := ""
	if info.TLSCertFile != "" {
		env = "NODE_EXTRA_CA_CERTS=" + shellQuote(info.TLSCertFile) + " "
		goEnv = "SSL_CERT_FILE=" + shellQuote(info.TLSCertFile) + " "
	}
	fmt.Fprintf(w, "\nLog in with sfbridge:\n  %ssfbridge login --instance-url %s --client-id %s --jwt-key-file %s --username %s\n",
		goEnv, info.BaseURL, info.ClientID, shellQuote(info.KeyFile), sfemu.UserIntegration)
	fmt.Fprintf(w, "\nLog in with the Salesforce CLI:\n  %ssf org login jwt --instance-url %s --client-id %s --jwt-key-file %s --username %s --alias sfbridge-emulator\n",
		env, info.BaseURL, info.ClientID, shellQuote(info.KeyFile), sfemu.UserIntegration)
	fmt.Fprintf(w, "\nUsers: %s (pre-authorized, all permissions), %s (read-only Case, no event logs),\n       %s (not assigned to the app), %s (inactive)\n",
		sfemu.UserIntegration, sfemu.UserNoEventLogs, sfemu.UserNotPreauthorized, sfemu.UserInactive)
	fmt.Fprintln(w, "\nPress Ctrl-C to stop.")
}

// shellQuote quotes a path for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	for _, c := range s {
		safe := c == '/' || c == '.' || c == '-' || c == '_' || c == ':' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !safe {
			return strconv.Quote(s)
		}
	}
	return s
}

// loadOrCreatePair reuses <dir>/<name>.key and .crt, or generates them.
func loadOrCreatePair(dir, name string, opts selfsigned.Options) (*selfsigned.Pair, string, string, error) {
	keyFile := filepath.Join(dir, name+".key")
	certFile := filepath.Join(dir, name+".crt")
	keyPEM, kerr := os.ReadFile(keyFile)
	certPEM, cerr := os.ReadFile(certFile)
	if kerr == nil && cerr == nil {
		key, err := selfsigned.ParseKeyPEM(keyPEM)
		if err != nil {
			return nil, "", "", fmt.Errorf("%s: %w (delete it and %s to generate a new pair)", keyFile, err, certFile)
		}
		cert, err := selfsigned.ParseCertPEM(certPEM)
		if err != nil {
			return nil, "", "", fmt.Errorf("%s: %w (delete it and %s to generate a new pair)", certFile, err, keyFile)
		}
		if opts.Now.Before(cert.NotAfter) {
			return &selfsigned.Pair{Key: key, Cert: cert, KeyPEM: keyPEM, CertPEM: certPEM}, keyFile, certFile, nil
		}
	}
	pair, err := selfsigned.Generate(opts)
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

func writeInfo(path string, info Info) error {
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write info file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write info file: %w", err)
	}
	return nil
}
