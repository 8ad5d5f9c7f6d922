// Package serve implements `sfbridge serve`, the connector daemon: one
// session keeper per configured org with doctor checks at start and on an
// interval, and an HTTP API with health, readiness, metrics and org status.
// With --dev it first starts an emulated org with sample data and generated
// credentials, so the daemon can be seen working with one command.
package serve

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/emulator/localorg"
	"github.com/sfbridge/sfbridge/internal/atomicfile"
	"github.com/sfbridge/sfbridge/internal/botapi"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	clmessaging "github.com/sfbridge/sfbridge/internal/cli/messaging"
	"github.com/sfbridge/sfbridge/internal/cli/statearg"
	"github.com/sfbridge/sfbridge/internal/config"
	"github.com/sfbridge/sfbridge/internal/daemon"
	"github.com/sfbridge/sfbridge/internal/dirlock"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/jsonfile"
	"github.com/sfbridge/sfbridge/internal/profile"
)

// Options holds the flags of `sfbridge serve`.
type Options struct {
	IO        *iostreams.IOStreams
	ConfigDir string
	Now       func() time.Time
	Version   string

	ConfigFile string
	Dev        bool
	Listen     string
	StateDir   string
	InfoFile   string
	LogLevel   string
	// WebhookURL and WebhookSecretFile add a webhooks section to the
	// --dev configuration.
	WebhookURL        string
	WebhookSecretFile string

	// Factory reads the master key of stored org keys (key.stored) from
	// the environment.
	Factory *factory.Factory
	// Invocation is how the reader runs sfbridge, for the commands the
	// banner prints and the dev profile's restart hint.
	Invocation string
}

// NewCmd returns the serve command. runF, when not nil, receives the
// parsed options instead of running the daemon (for tests of the flags).
func NewCmd(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Now: f.Now, Version: f.Version, Factory: f}
	cmd := &cobra.Command{
		Use:   "serve (--config FILE | --dev) [--listen ADDR] [--state-dir DIR]",
		Short: "Run the connector daemon for one or more orgs",
		Long: `Run the sfbridge connector daemon until interrupted (SIGINT or SIGTERM).

For every org in the configuration the daemon keeps a Salesforce session
(logging in when needed and again when Salesforce refuses the session) and
runs the doctor checks at start and on an interval, and the pipelines its
section asks for: eventlogs, cases, knowledge, employees and messaging
(live-agent handoffs), each under a lease in the state store, so replicas
sharing a PostgreSQL store split the work; webhooks deliver the journal's
events, signed. Its HTTP API:

  /healthz    200 while the process is alive
  /readyz     503 until every org has a session and passed its required checks,
              and again while stopping (?verbose lists every component)
  /metrics    Prometheus metrics, all named sfbridge_*
  /v1/orgs    status of every org, its components and pipelines (/v1/orgs/ALIAS)
  /v1/orgs/ALIAS/employees, /cases, /knowledge, /events, /handoffs
              the bot-facing API (docs/api.md, docs/openapi.yaml)

The listener is loopback only unless the configuration names a bearer token
(auth_token_file), which every endpoint but /healthz then requires. Logs are
JSON on stderr.

--dev starts an emulated org in-process with sample data and generated
credentials, configures one org "dev" against it, stores a CLI profile "dev"
and runs the daemon: try ` + "`sfbridge query ... -o dev`" + ` while it runs.

Configuration (YAML; unknown keys are errors):

  listen: 127.0.0.1:8421
  auth_token_file: token        # required beyond loopback
  state_dir: state              # session cache (encrypted with each org's key)
  state: postgres://sfbridge@db/sfbridge   # default sqlite:<state_dir>/state.db
  doctor_interval: 15m
  checks_api_budget: 5%         # share of each org's daily API calls the checks may spend
  orgs:
    - alias: acme
      client_id: 3MVG9...
      username: integration@acme.com
      login_url: https://acme.my.salesforce.com
      key: {file: salesforce.key}  # or JKS: {file: x.jks, passphrase_file: p, keystore_alias: a, key_password_file: kp}
                                   # or {stored: acme}: sealed by 'sfbridge keys import', opened
                                   # with SFBRIDGE_MASTER_KEY_FILE (see 'sfbridge help environment')
      require: [servicedesk]       # servicedesk, eventlogs
      cases: {poll: 30s}
      knowledge: {languages: [en_US], interval: 15m}
      employees: {interval: 1h}
      eventlogs: {types: [all], output: {ndjson: logs/acme.ndjson}}
      messaging: {scrt_url: https://acme.my.salesforce-scrt.com, org_id: 00D..., deployment: bot,
                  key_file: uv.key, key_id: k1, issuer: https://bot.example.com}
  webhooks: {url: https://bot.example.com/hooks, secret_file: hook.secret, events: ["case.*"]}

  (every key: docs/operations.md; serve --dev writes the file it runs to
  serve-dev.yaml in its state directory)`,
		Example: `  sfbridge serve --dev
  sfbridge serve --config /etc/sfbridge/sfbridge.yaml`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(opts, runF, run, func(*cobra.Command, []string) error {
			if opts.Dev == (opts.ConfigFile != "") {
				return exitcode.UsageErrorf("give exactly one of --config FILE and --dev")
			}
			if (opts.WebhookURL != "" || opts.WebhookSecretFile != "") && !opts.Dev {
				return exitcode.UsageErrorf("--webhook-url and --webhook-secret-file go with --dev; a configuration file has a webhooks section")
			}
			if (opts.WebhookURL == "") != (opts.WebhookSecretFile == "") {
				return exitcode.UsageErrorf("give --webhook-url and --webhook-secret-file together")
			}
			dir, err := f.ConfigDir()
			if err != nil {
				return err
			}
			opts.ConfigDir = dir
			if opts.Invocation == "" {
				opts.Invocation = cmdutil.SelfInvocation()
			}
			return nil
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.ConfigFile, "config", "", "Daemon configuration file (YAML)")
	fl.BoolVar(&opts.Dev, "dev", false, "Run against an in-process emulated org with sample data and generated credentials")
	fl.StringVar(&opts.Listen, "listen", "", "HTTP address (default: the config's listen, else "+config.DefaultListen+")")
	fl.StringVar(&opts.StateDir, "state-dir", "", "Directory for session caches and, with --dev, the emulator's credentials")
	fl.StringVar(&opts.InfoFile, "info-file", "", "Write the daemon's URLs as JSON to this file once it listens (for scripts)")
	fl.StringVar(&opts.LogLevel, "log-level", "info", "Log level: debug, info, warn or error")
	fl.StringVar(&opts.WebhookURL, "webhook-url", "", "With --dev: POST the dev org's events, signed, to this URL")
	fl.StringVar(&opts.WebhookSecretFile, "webhook-secret-file", "", "With --dev: the webhook signing secret (a file only its owner can read, 16+ bytes)")
	return cmd
}

// Info is what --info-file holds.
type Info struct {
	URL         string `json:"url"`
	MetricsURL  string `json:"metrics_url"`
	ReadyURL    string `json:"ready_url"`
	OrgsURL     string `json:"orgs_url"`
	EmulatorURL string `json:"emulator_url,omitempty"`
	PID         int    `json:"pid"`
}

func run(ctx context.Context, opts *Options) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(opts.LogLevel)); err != nil {
		return exitcode.UsageErrorf("--log-level: %v", err)
	}
	logger := slog.New(slog.NewJSONHandler(opts.IO.ErrOut, &slog.HandlerOptions{Level: level})).With("version", opts.Version)

	var cfg *config.Config
	var emu *localorg.Org
	var emuInfoFile string
	if opts.Dev {
		// The state directory is locked before anything is written: a
		// second `serve --dev` must not repoint the running one's profile
		// and info file at its own emulator.
		stateDir := devStateDir(opts)
		lock, err := dirlock.Acquire(stateDir)
		if err != nil {
			return err
		}
		defer lock.Release()
		if cfg, emu, emuInfoFile, err = startDev(ctx, opts, stateDir, logger); err != nil {
			return err
		}
		defer func() {
			shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := emu.Shutdown(shut); err != nil {
				logger.Warn("emulator shutdown", "err", err)
			}
			// The info file names a port and an admin token that die with
			// this process; its absence tells `-o dev` that serve --dev is
			// not running.
			if err := os.Remove(emuInfoFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
				logger.Warn("removing the emulated org's info file", "err", err)
			}
		}()
	} else {
		var err error
		if cfg, err = config.Load(opts.ConfigFile); err != nil {
			return err
		}
	}
	if opts.Listen != "" {
		cfg.Listen = opts.Listen
	}
	if opts.StateDir != "" {
		cfg.StateDir = opts.StateDir
	}
	if cfg.StateDir == "" {
		cfg.StateDir = filepath.Join(opts.ConfigDir, "daemon")
	}
	if !opts.Dev {
		lock, err := dirlock.Acquire(cfg.StateDir)
		if err != nil {
			return err
		}
		defer lock.Release()
	}

	stateURL := cfg.State
	if stateURL == "" {
		stateURL = "sqlite:" + filepath.Join(cfg.StateDir, "state.db")
	}
	storedKey := func(ctx context.Context, alias string) (*rsa.PrivateKey, error) {
		return statearg.LoadStoredKey(ctx, opts.Factory, stateURL, alias)
	}
	d, err := daemon.FromConfig(ctx, cfg, daemon.Env{Logger: logger, Now: opts.Now, StoredKey: storedKey})
	if err != nil {
		return err
	}
	base := "http://" + d.Addr()
	info := Info{URL: base, MetricsURL: base + "/metrics", ReadyURL: base + "/readyz", OrgsURL: base + "/v1/orgs", PID: os.Getpid()}
	if emu != nil {
		info.EmulatorURL = emu.Info.BaseURL
		abs, err := filepath.Abs(cfg.StateDir)
		if err != nil {
			return err
		}
		key := fmt.Sprintf("try-%d-%d", os.Getpid(), time.Now().Unix()%100000)
		printDevBanner(opts.IO.Out, opts.Invocation, devBannerArgs{Info: info, StateDir: abs, HandoffKey: key}, emu, emuInfoFile)
	} else {
		fmt.Fprintf(opts.IO.Out, "sfbridge serve: %d org(s); listening on %s (ready: %s, metrics: %s)\n", len(cfg.Orgs), base, info.ReadyURL, info.MetricsURL)
	}
	if opts.InfoFile != "" {
		if err := jsonfile.Write(opts.InfoFile, info, 0o600); err != nil {
			return err
		}
	}
	if emu != nil {
		runCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case err := <-emu.Err():
				logger.Error("emulator stopped", "err", err)
				cancel()
			case <-runCtx.Done():
			}
		}()
		ctx = runCtx
	}
	return d.Run(ctx)
}

// startDev starts the emulated org and returns the configuration of the
// one org "dev" against it and the private file holding the org's info
// (with its admin token, which is never printed); it also stores the CLI
// profile "dev".
func startDev(ctx context.Context, opts *Options, stateDir string, logger *slog.Logger) (*config.Config, *localorg.Org, string, error) {
	emuDir := filepath.Join(stateDir, "emulator")
	emu, err := localorg.Start(ctx, localorg.Options{Addr: "127.0.0.1:0", StateDir: emuDir, Sample: true, Activity: true, Now: opts.Now})
	if err != nil {
		return nil, nil, "", fmt.Errorf("starting the emulated org: %w", err)
	}
	logger.Info("emulated org started", "url", emu.Info.BaseURL, "org_id", emu.Info.OrgID)
	infoFile := filepath.Join(emuDir, "info.json")
	if err := localorg.WriteInfo(infoFile, emu.Info); err != nil {
		return nil, nil, "", fmt.Errorf("writing the emulated org's info: %w", err)
	}
	user := emu.Info.Users["integration"]
	text, err := devConfig(stateDir, emu.Info, opts.WebhookURL, opts.WebhookSecretFile)
	if err != nil {
		return nil, nil, "", err
	}
	if err := os.MkdirAll(filepath.Join(stateDir, filepath.Dir(devEventLogFile)), 0o700); err != nil {
		return nil, nil, "", err
	}
	cfgFile := filepath.Join(stateDir, devConfigFile)
	if err := atomicfile.WriteFile(cfgFile, []byte(text), 0o600); err != nil {
		return nil, nil, "", fmt.Errorf("writing the dev configuration: %w", err)
	}
	cfg, err := config.Parse([]byte(text), cfgFile)
	if err != nil {
		return nil, nil, "", fmt.Errorf("the dev configuration is invalid (a bug in sfbridge): %w", err)
	}
	store := profile.Store{Dir: opts.ConfigDir}
	_, def, err := store.List()
	if err != nil {
		return nil, nil, "", err
	}
	p := &profile.Profile{Alias: "dev", Username: user, ClientID: emu.Info.ClientID, KeyFile: emu.Info.KeyFile,
		LoginURL: emu.Info.LoginURL, Audience: emu.Info.LoginURL, InstanceURL: emu.Info.InstanceURL, OrgID: emu.Info.OrgID,
		DevInfoFile: infoFile, DevCommand: devCommand(opts)}
	if err := store.Save(p, def == ""); err != nil {
		return nil, nil, "", fmt.Errorf("storing the dev profile: %w", err)
	}
	// A session cached for an earlier emulator run is not valid here.
	if err := profile.ClearCache(opts.ConfigDir, p); err != nil {
		return nil, nil, "", err
	}
	if err := clmessaging.SetUpDev(ctx, opts.ConfigDir, emu); err != nil {
		return nil, nil, "", fmt.Errorf("storing the dev messaging profile: %w", err)
	}
	return cfg, emu, infoFile, nil
}

// devCommand is the command that starts this `serve --dev` again.
func devCommand(opts *Options) string {
	c := opts.Invocation + " serve --dev"
	if opts.StateDir != "" {
		c += " --state-dir " + opts.StateDir
	}
	return c
}

// devStateDir is where --dev keeps the emulator's credentials and the
// session cache: --state-dir, else "dev" in the configuration directory.
func devStateDir(opts *Options) string {
	if opts.StateDir != "" {
		return opts.StateDir
	}
	return filepath.Join(opts.ConfigDir, "dev")
}

// devBannerArgs is what the banner names besides the emulated org: the
// daemon's URLs, the state directory (event logs, the dev configuration)
// and the Idempotency-Key of the sample handoff, unique to this run.
type devBannerArgs struct {
	Info       Info
	StateDir   string
	HandoffKey string
}

// printDevBanner prints the URLs and the next commands, spelt with self so
// that they run as printed (see [cmdutil.Invocation]); the emulated org's
// admin token stays in emuInfoFile, out of the terminal and its logs.
func printDevBanner(w io.Writer, self string, a devBannerArgs, emu *localorg.Org, emuInfoFile string) {
	info := a.Info
	where := "in another terminal"
	if self == cmdutil.GoRun {
		where = "in another terminal, in this repository"
	}
	org := info.OrgsURL + "/dev"
	handoff := org + "/handoffs/" + botapi.HandoffIDForKey("dev", a.HandoffKey)
	fmt.Fprintf(w, `sfbridge serve --dev

  Emulated org   %s  (org %s; admin token in %s)
  Messaging      %s  (SCRT URL; deployment sfbridge_api)
  Agent console  %s  (open it in a browser on this machine)
  Daemon         %s
    ready        %s
    metrics      %s
    org status   %s
  Configuration  %s

  Org "dev": %s via the connected app %s,
  key %s

Try next, %s:
  curl -N %s/events
  ls -l %s
  curl -s '%s/knowledge?q=password'
  curl -s -X POST -H 'Content-Type: application/json' -H 'Idempotency-Key: %s' -d '{"user_id":"emp-1","transcript":[{"role":"Employee","text":"My laptop will not start"}]}' %s/handoffs
  curl -N %s/events
  curl -s -X POST -H 'Content-Type: application/json' -d '{"text":"bye"}' %s/messages
  %s doctor -o dev --require servicedesk,eventlogs
  %s query "SELECT CaseNumber, Subject, Status, Contact.Name FROM Case ORDER BY CaseNumber LIMIT 10" -o dev
  %s record create Case -o dev --values "Subject='Printer on fire' Priority=High"
  curl -s %s
  %s emulator messaging agents

The first command streams case, comment and knowledge events as the org changes; the second lists
the org's event logs as NDJSON; the third searches the synced Knowledge copy; the next three start a
live-agent handoff, read the scripted agent Emma's reply, and say bye. To answer as the agent yourself,
open the Agent console, choose "Take over" on the conversation, and reply there.
`, emu.Info.BaseURL, emu.Info.OrgID, emuInfoFile, emu.Info.SCRTURL, emu.Info.ConsoleURL, info.URL, info.ReadyURL, info.MetricsURL, info.OrgsURL,
		filepath.Join(a.StateDir, devConfigFile),
		emu.Info.Users["integration"], emu.Info.ClientID, emu.Info.KeyFile, where,
		org, filepath.Join(a.StateDir, filepath.Dir(devEventLogFile)), org, a.HandoffKey, org, handoff, handoff,
		self, self, self, info.OrgsURL, self)
	if self == cmdutil.GoRun {
		fmt.Fprintf(w, `
To type plain "sfbridge" instead of %q, install it:
  %s     (into $(go env GOPATH)/bin unless GOBIN is set; put it on your PATH)
`, cmdutil.GoRun, cmdutil.InstallHint)
	}
	fmt.Fprint(w, "\nPress Ctrl-C to stop.\n")
}
