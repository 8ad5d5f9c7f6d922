// Package emulator implements `sfbridge emulator`: it serves a local
// Salesforce org (package emulator) until interrupted, with a key pair its
// default connected app trusts, and prints the commands that log in to it.
package emulator

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	sfemu "github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/emulator/localorg"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/emulator/eventlogs"
	climessaging "github.com/sfbridge/sfbridge/internal/cli/emulator/messaging"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/internal/loopback"
)

// Options are the command's flags and surroundings.
type Options struct {
	Addr     string
	Fixture  string
	StateDir string
	TLS      bool
	InfoFile string
	// SampleData loads the sample records (emulator.Org.AddSampleRecords)
	// and three days of event log files.
	SampleData bool

	Out, ErrOut io.Writer
	Now         func() time.Time
	Logger      *slog.Logger
	// ready, when set, receives the info once the org is serving (tests).
	ready func(Info)
}

// Info is what --info-file holds: everything a script needs to drive the
// emulator (base_url, login_url, instance_url, token_url, org_id, client_id,
// key_file, cert_file, tls_cert_file, admin_token, users, pid). It contains
// the admin token, so the file is private (0600).
type Info = localorg.Info

// NewCmd returns `sfbridge emulator`. runF, when not nil, receives the
// parsed options instead of run (tests of the flags use it).
func NewCmd(f *factory.Factory, runF func(*Options) error) *cobra.Command {
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

Without --sample-data the org has no records besides its setup (Organization,
Users, Profiles, permission sets); --sample-data loads Accounts, employee Users
and Contacts sharing emails, 120 Cases with comments and Knowledge articles in
English and German (serve --dev always loads them).

With --tls it serves HTTPS with a generated certificate for 127.0.0.1 and
localhost, written to the state directory as tls.crt: point
NODE_EXTRA_CA_CERTS (sf, jsforce) or SSL_CERT_FILE (Go) at it.

With --sample-data the org starts with sample records (Accounts, Contacts,
Cases, Knowledge) and three days of hourly and daily event log files for every
event type, at the emulator's clock; 'sfbridge emulator event-logs' drives
Event Monitoring further (see its --help).

The subcommands (apps, certs, users, profiles, permsets, records, faults,
clock, org) drive a running emulator through its admin API; give them its
--info-file.

With --debug every request (never a token or an assertion) and every login
attempt with its precise outcome is logged to stderr.`,
		Example: `  sfbridge emulator
  sfbridge emulator --addr 127.0.0.1:0 --info-file emulator.json
  sfbridge emulator --sample-data --info-file emulator.json
  sfbridge emulator --tls --fixture org.yaml`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(opts, runF, run, func(*cobra.Command, []string) error {
			if opts.StateDir == "" {
				dir, err := f.ConfigDir()
				if err != nil {
					return fmt.Errorf("find the state directory: %w (pass --state-dir)", err)
				}
				opts.StateDir = filepath.Join(dir, "emulator")
			}
			opts.Logger = f.Logger()
			return nil
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Addr, "addr", "127.0.0.1:8484", "Address to listen on (port 0 picks a free one)")
	fl.StringVar(&opts.Fixture, "fixture", "", "JSON or YAML file describing the org (default: the built-in default org)")
	fl.StringVar(&opts.StateDir, "state-dir", "", "Directory for the generated key pair and TLS certificate (default: <config dir>/emulator)")
	fl.BoolVar(&opts.TLS, "tls", false, "Serve HTTPS with a generated certificate for 127.0.0.1 and localhost")
	fl.StringVar(&opts.InfoFile, "info-file", "", "Write the URLs, client id, key file, admin token and users as JSON to this file")
	fl.BoolVar(&opts.SampleData, "sample-data", false, "Load sample records (Accounts, employee Users and Contacts sharing emails, 120 Cases with comments, Knowledge articles in English and German) and three days of hourly and daily event log files")
	cmd.AddCommand(newAdminCmds(f, nil)...)
	cmd.AddCommand(eventlogs.NewCmd(f, nil))
	cmd.AddCommand(climessaging.NewCmd(f, nil))
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	if opts.Now == nil {
		opts.Now = clock.Real().Now
	}
	if host, _, err := net.SplitHostPort(opts.Addr); err == nil && !loopback.IsHost(host) {
		fmt.Fprintf(opts.ErrOut, "sfbridge emulator: warning: listening on %s, reachable from other machines; the admin token is the only protection\n", opts.Addr)
	}
	org, err := localorg.Start(ctx, localorg.Options{Addr: opts.Addr, Fixture: opts.Fixture, StateDir: opts.StateDir,
		TLS: opts.TLS, Sample: opts.SampleData, Now: opts.Now, Logger: opts.Logger})
	if err != nil {
		return err
	}
	info := org.Info
	if opts.InfoFile != "" {
		if err := localorg.WriteInfo(opts.InfoFile, info); err != nil {
			_ = org.Shutdown(ctx)
			return fmt.Errorf("write info file: %w", err)
		}
		defer os.Remove(opts.InfoFile)
	}
	printBanner(opts, info, opts.Fixture == "")
	if opts.ready != nil {
		opts.ready(info)
	}
	select {
	case err := <-org.Err():
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := org.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	fmt.Fprintln(opts.ErrOut, "sfbridge emulator: stopped")
	return nil
}

func printBanner(opts *Options, info Info, defaultOrg bool) {
	w := opts.Out
	fmt.Fprintf(w, "sfbridge emulator: org %s serving at %s\n", info.OrgID, info.BaseURL)
	fmt.Fprintf(w, "Admin token (header %s): %s\n", sfemu.AdminTokenHeader, info.AdminToken)
	fmt.Fprintf(w, "Messaging (SCRT URL): %s\nAgent console: %s\n", info.SCRTURL, info.ConsoleURL)
	if !defaultOrg {
		fmt.Fprintf(w, "Fixture: %s; first app's consumer key: %s\n", opts.Fixture, info.ClientID)
		if info.ClientID != "" {
			fmt.Fprintf(w, "Its app also trusts %s: log in with\n  sfbridge login --instance-url %s --client-id %s --jwt-key-file %s --username <a fixture user>\n",
				shellQuote(info.CertFile), info.BaseURL, info.ClientID, shellQuote(info.KeyFile))
		}
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
