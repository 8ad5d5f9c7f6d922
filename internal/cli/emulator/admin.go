package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	sfemu "github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/emulator/adminapi"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
)

// AdminOptions are what an admin subcommand (`sfbridge emulator apps|certs|
// users|profiles|permsets|records|faults|clock|org …`) needs: where the
// running emulator is, and the one admin API request it makes.
type AdminOptions struct {
	Out, ErrOut io.Writer
	In          io.Reader
	// InfoFile is the file `sfbridge emulator --info-file` (or serve --dev)
	// wrote; it gives URL and AdminToken unless they are set.
	InfoFile   string
	URL        string
	AdminToken string
	Client     *http.Client

	// The request: Method and Path under /_emulator/, and a Body (JSON, or
	// PEM for a certificate) that prepare fills from the flags and files.
	Method, Path string
	Body         []byte
	ContentType  string
	// Done is printed on stderr when the answer has no body.
	Done string

	prepare func(*AdminOptions) error
}

// adminCmd is a leaf admin command: its options, and a setup that adds its
// own flags and says how flags and arguments become the request.
type adminCmd struct {
	use, short, long, example string
	args                      cobra.PositionalArgs
	setup                     func(fl flagAdder, args func() []string) func(*AdminOptions) error
}

// flagAdder is the part of the flag set the leaf commands use.
type flagAdder interface {
	StringVar(p *string, name, value, usage string)
	StringSliceVar(p *[]string, name string, value []string, usage string)
	StringArrayVar(p *[]string, name string, value []string, usage string)
	IntVar(p *int, name string, value int, usage string)
	Float64Var(p *float64, name string, value float64, usage string)
	BoolVar(p *bool, name string, value bool, usage string)
}

// newAdminCmds returns the admin subcommands of `sfbridge emulator`. runF,
// when not nil, receives the prepared options instead of runAdmin (tests of
// the flags use it).
func newAdminCmds(f *factory.Factory, runF func(*AdminOptions) error) []*cobra.Command {
	group := func(use, short string, leaves ...adminCmd) *cobra.Command {
		g := &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs}
		for _, l := range leaves {
			g.AddCommand(leafCmd(f, l, runF))
		}
		return g
	}
	return []*cobra.Command{
		group("apps", "List, create or change the emulator's connected apps", appsList(), appsCreate(), appsUpdate()),
		group("certs", "Upload a certificate to an app of the emulator", certsUpload()),
		group("users", "Create users of the emulator or revoke their sessions", usersCreate(), usersRevoke()),
		group("profiles", "Create or replace profiles of the emulator", holderCreate("profiles", "profile")),
		group("permsets", "Create or replace permission sets of the emulator", holderCreate("permission-sets", "permission set")),
		group("records", "Insert records into the emulator", recordsCreate()),
		group("servicedesk", "Commit delay, case assignment rule, simulated agents and undelete", servicedeskShow(), servicedeskSet(), servicedeskActivity(), servicedeskUndelete()),
		group("faults", "List, inject or remove the emulator's faults", faultsList(), faultsAdd(), faultsRemove(), faultsClear()),
		group("clock", "Read or move the emulator's clock", clockShow(), clockMove("advance", "Move the org's clock by a duration, forward or back (-20m)"),
			clockMove("offset", "Put the org's clock at an offset from the host's clock (0s resets it)"), clockMove("set", "Set the org's clock to a time (RFC 3339)")),
		leafCmd(f, adminCmd{use: "org", short: "Show the emulator's org: ids, URLs, clock, API usage, users", args: cobra.NoArgs,
			setup: func(flagAdder, func() []string) func(*AdminOptions) error {
				return func(o *AdminOptions) error { o.Method, o.Path = http.MethodGet, "org"; return nil }
			}}, runF),
	}
}

const connHelp = `
The running emulator is found through --info-file (the file written by
'sfbridge emulator --info-file F', or <config dir>/dev/emulator/info.json for
serve --dev), or through --url and --admin-token.`

func leafCmd(f *factory.Factory, l adminCmd, runF func(*AdminOptions) error) *cobra.Command {
	opts := &AdminOptions{Out: f.IOStreams.Out, ErrOut: f.IOStreams.ErrOut, In: f.IOStreams.In}
	var args []string
	c := &cobra.Command{Use: l.use, Short: l.short, Long: l.short + ".\n" + l.long + "\n" + connHelp, Example: l.example, Args: l.args}
	opts.prepare = l.setup(c.Flags(), func() []string { return args })
	fl := c.Flags()
	fl.StringVar(&opts.InfoFile, "info-file", "", "Info file of the running emulator (gives its URL and admin token)")
	fl.StringVar(&opts.URL, "url", "", "Base URL of the running emulator, such as http://127.0.0.1:8484")
	fl.StringVar(&opts.AdminToken, "admin-token", "", "The emulator's admin token (printed at its start)")
	c.RunE = cmdutil.RunE(opts, runF, runAdmin, func(_ *cobra.Command, a []string) error {
		args = a
		return opts.prepare(opts)
	})
	return c
}

// runAdmin sends the request and prints the answer: JSON indented on
// stdout, or Done on stderr when there is no body.
func runAdmin(ctx context.Context, opts *AdminOptions) error {
	b, err := adminapi.Do(ctx, opts.Client, adminapi.Target{InfoFile: opts.InfoFile, URL: opts.URL, AdminToken: opts.AdminToken},
		adminapi.Request{Method: opts.Method, Path: opts.Path, Body: opts.Body, ContentType: opts.ContentType})
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		if opts.Done != "" {
			fmt.Fprintln(opts.ErrOut, opts.Done)
		}
		return nil
	}
	return adminapi.WriteJSON(opts.Out, b)
}

// readSpecFile reads a JSON or YAML file ("-" is stdin) with the fixture's
// field names and returns it as JSON.
func readSpecFile(opts *AdminOptions, path string) ([]byte, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(opts.In, 8<<20))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("%s: neither JSON nor YAML: %w", path, err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// jsonBody sets the request body to v, or to the --file when one is given.
func jsonBody(opts *AdminOptions, file string, v any) error {
	if file != "" {
		b, err := readSpecFile(opts, file)
		if err != nil {
			return err
		}
		opts.Body = b
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	opts.Body = b
	return nil
}

// objectPerms reads --object Case=read,create flags.
func objectPerms(flags []string) (map[string][]string, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	m := map[string][]string{}
	for _, f := range flags {
		obj, perms, ok := strings.Cut(f, "=")
		if !ok || obj == "" || perms == "" {
			return nil, exitcode.UsageErrorf("--object %q: want Object=read,create,edit,delete,viewAll,modifyAll", f)
		}
		m[obj] = append(m[obj], strings.Split(perms, ",")...)
	}
	return m, nil
}

func pathArg(s string) string { return url.PathEscape(s) }

func appsList() adminCmd {
	return adminCmd{use: "list", short: "List the connected apps", args: cobra.NoArgs,
		setup: func(flagAdder, func() []string) func(*AdminOptions) error {
			return func(o *AdminOptions) error { o.Method, o.Path = http.MethodGet, "apps"; return nil }
		}}
}

func appsCreate() adminCmd {
	return adminCmd{use: "create [NAME]", short: "Create or replace a connected app",
		long: `
A new app without --consumer-key gets a generated consumer key and secret,
as in Salesforce; the answer shows them. Replacing an app keeps its key.
With --file the body is a JSON or YAML AppSpec (the fixture's field names).`,
		example: `  sfbridge emulator apps create Moveworks_Server --cert-file server.crt --permission-set sfbridge_App_Access --info-file emu.json
  sfbridge emulator apps create --file app.yaml --info-file emu.json`,
		args: cobra.MaximumNArgs(1),
		setup: func(fl flagAdder, args func() []string) func(*AdminOptions) error {
			var file, typ, key, permitted, timeout string
			var certs, profiles, permsets, scopes, callbacks []string
			fl.StringVar(&file, "file", "", "JSON or YAML file with the app (AppSpec); - reads stdin")
			fl.StringVar(&typ, "type", "", "ConnectedApp (default) or ExternalClientApp")
			fl.StringVar(&key, "consumer-key", "", "Consumer key (default: generated)")
			fl.StringArrayVar(&certs, "cert-file", nil, "PEM certificate the app trusts for the JWT bearer flow (repeatable)")
			fl.StringVar(&permitted, "permitted-users", "", "AdminApprovedPreAuthorized (default) or AllSelfAuthorized")
			fl.StringSliceVar(&profiles, "profile", nil, "Pre-authorized profile (repeatable)")
			fl.StringSliceVar(&permsets, "permission-set", nil, "Pre-authorized permission set (repeatable)")
			fl.StringSliceVar(&scopes, "scope", nil, "OAuth scope (default api, id, refresh_token)")
			fl.StringVar(&timeout, "session-timeout", "", "Session timeout, a Go duration such as 2h")
			fl.StringArrayVar(&callbacks, "callback-url", nil, "Callback URL for /services/oauth2/authorize (repeatable)")
			return func(o *AdminOptions) error {
				o.Method, o.Path = http.MethodPost, "apps"
				if file != "" {
					return jsonBody(o, file, nil)
				}
				if len(args()) == 0 {
					return exitcode.UsageErrorf("give the app's NAME, or --file")
				}
				spec := sfemu.AppSpec{Name: args()[0], Type: typ, ConsumerKey: key, PermittedUsers: permitted,
					Profiles: profiles, PermissionSets: permsets, Scopes: scopes, SessionTimeout: timeout, CallbackURLs: callbacks}
				for _, cf := range certs {
					b, err := os.ReadFile(cf)
					if err != nil {
						return fmt.Errorf("read certificate: %w", err)
					}
					spec.Certificates = append(spec.Certificates, string(b))
				}
				return jsonBody(o, "", spec)
			}
		}}
}

func appsUpdate() adminCmd {
	return adminCmd{use: "update NAME", short: "Change an app's policies",
		long: `
Only the flags given change; list flags replace the whole list.`,
		example: `  sfbridge emulator apps update sfbridge --permitted-users AllSelfAuthorized --info-file emu.json
  sfbridge emulator apps update sfbridge --session-timeout 1m --info-file emu.json`,
		args: cobra.ExactArgs(1),
		setup: func(fl flagAdder, args func() []string) func(*AdminOptions) error {
			var permitted, timeout, jwt string
			var profiles, permsets, approved, scopes []string
			fl.StringVar(&permitted, "permitted-users", "", "AdminApprovedPreAuthorized or AllSelfAuthorized")
			fl.StringVar(&timeout, "session-timeout", "", "Session timeout, a Go duration such as 2h or 1m")
			fl.StringVar(&jwt, "jwt-enabled", "", "true or false: whether the app accepts the JWT bearer flow")
			fl.StringSliceVar(&profiles, "profile", nil, "Pre-authorized profiles (replaces the list)")
			fl.StringSliceVar(&permsets, "permission-set", nil, "Pre-authorized permission sets (replaces the list)")
			fl.StringSliceVar(&approved, "approved-user", nil, "Usernames that approved the app (replaces the list)")
			fl.StringSliceVar(&scopes, "scope", nil, "OAuth scopes (replaces the list)")
			return func(o *AdminOptions) error {
				o.Method, o.Path, o.Done = http.MethodPatch, "apps/"+pathArg(args()[0]), "app "+args()[0]+" updated"
				var p sfemu.AppPolicy
				set := func(v string) *string {
					if v == "" {
						return nil
					}
					return &v
				}
				list := func(v []string) *[]string {
					if v == nil {
						return nil
					}
					return &v
				}
				p.PermittedUsers, p.SessionTimeout = set(permitted), set(timeout)
				p.Profiles, p.PermissionSets, p.ApprovedUsers, p.Scopes = list(profiles), list(permsets), list(approved), list(scopes)
				switch jwt {
				case "":
				case "true", "false":
					b := jwt == "true"
					p.JWTEnabled = &b
				default:
					return exitcode.UsageErrorf("--jwt-enabled %q: want true or false", jwt)
				}
				if p == (sfemu.AppPolicy{}) {
					return exitcode.UsageErrorf("nothing to change: give at least one flag")
				}
				return jsonBody(o, "", p)
			}
		}}
}

func certsUpload() adminCmd {
	return adminCmd{use: "upload APP CERT_FILE", short: "Upload a PEM certificate to an app (enables the JWT bearer flow)",
		long: `
A private key is refused: give the certificate made from it.`,
		example: `  sfbridge emulator certs upload Provar_App server.crt --info-file emu.json`,
		args:    cobra.ExactArgs(2),
		setup: func(_ flagAdder, args func() []string) func(*AdminOptions) error {
			return func(o *AdminOptions) error {
				b, err := os.ReadFile(args()[1])
				if err != nil {
					return fmt.Errorf("read certificate: %w", err)
				}
				o.Method, o.Path, o.Body, o.ContentType = http.MethodPost, "apps/"+pathArg(args()[0])+"/certificates", b, "application/x-pem-file"
				o.Done = "certificate uploaded to app " + args()[0]
				return nil
			}
		}}
}

func usersCreate() adminCmd {
	return adminCmd{use: "create [USERNAME]", short: "Create or replace a user",
		example: `  sfbridge emulator users create mw@acme.test --profile "Minimum Access - API Only Integrations" --permission-set sfbridge_App_Access --info-file emu.json`,
		args:    cobra.MaximumNArgs(1),
		setup: func(fl flagAdder, args func() []string) func(*AdminOptions) error {
			var file, profile, email, first, last string
			var permsets []string
			var inactive, frozen bool
			fl.StringVar(&file, "file", "", "JSON or YAML file with the user (UserSpec); - reads stdin")
			fl.StringVar(&profile, "profile", "", "The user's profile")
			fl.StringSliceVar(&permsets, "permission-set", nil, "Assigned permission set (repeatable)")
			fl.StringVar(&email, "email", "", "Email (default: the username)")
			fl.StringVar(&first, "first-name", "", "First name")
			fl.StringVar(&last, "last-name", "", "Last name (default: the username's local part)")
			fl.BoolVar(&inactive, "inactive", false, "Create the user inactive")
			fl.BoolVar(&frozen, "frozen", false, "Create the user frozen")
			return func(o *AdminOptions) error {
				o.Method, o.Path = http.MethodPost, "users"
				if file != "" {
					o.Done = "user saved"
					return jsonBody(o, file, nil)
				}
				if len(args()) == 0 || profile == "" {
					return exitcode.UsageErrorf("give the USERNAME and --profile, or --file")
				}
				u := args()[0]
				o.Done = "user " + u + " saved"
				if email == "" {
					email = u
				}
				if last == "" {
					last, _, _ = strings.Cut(u, "@")
				}
				active := !inactive
				return jsonBody(o, "", sfemu.UserSpec{Username: u, Email: email, FirstName: first, LastName: last,
					Profile: profile, PermissionSets: permsets, Active: &active, Frozen: frozen})
			}
		}}
}

func usersRevoke() adminCmd {
	return adminCmd{use: "revoke-sessions USERNAME", short: "Revoke every session of a user (the next API call answers 401)",
		args: cobra.ExactArgs(1),
		setup: func(_ flagAdder, args func() []string) func(*AdminOptions) error {
			return func(o *AdminOptions) error {
				o.Method, o.Path = http.MethodPost, "users/"+pathArg(args()[0])+"/revoke-sessions"
				return nil
			}
		}}
}

// holderCreate is `profiles create` and `permsets create`.
func holderCreate(path, what string) adminCmd {
	return adminCmd{use: "create [NAME]", short: "Create or replace a " + what,
		long: `
Users who have it get the changes at once. --permission takes system
permission API names (ApiEnabled, ViewSetup, ViewEventLogFiles, ViewAllData…),
--object Object=read,create,edit,delete,viewAll,modifyAll.`,
		example: `  sfbridge emulator ` + map[string]string{"profiles": "profiles", "permission-sets": "permsets"}[path] +
			` create Moveworks --permission ApiEnabled --object Case=read,create,edit --object Contact=read --info-file emu.json`,
		args: cobra.MaximumNArgs(1),
		setup: func(fl flagAdder, args func() []string) func(*AdminOptions) error {
			var file, label string
			var perms, objects []string
			fl.StringVar(&file, "file", "", "JSON or YAML file with the "+what+"; - reads stdin")
			fl.StringSliceVar(&perms, "permission", nil, "System permission API name (repeatable)")
			fl.StringArrayVar(&objects, "object", nil, "Object permissions, Object=read,create,… (repeatable)")
			if path == "permission-sets" {
				fl.StringVar(&label, "label", "", "Label")
			}
			return func(o *AdminOptions) error {
				o.Method, o.Path = http.MethodPost, path
				if file != "" {
					o.Done = what + " saved"
					return jsonBody(o, file, nil)
				}
				if len(args()) == 0 {
					return exitcode.UsageErrorf("give the %s's NAME, or --file", what)
				}
				o.Done = what + " " + args()[0] + " saved"
				objs, err := objectPerms(objects)
				if err != nil {
					return err
				}
				if path == "profiles" {
					return jsonBody(o, "", sfemu.ProfileSpec{Name: args()[0], Permissions: perms, Objects: objs})
				}
				return jsonBody(o, "", sfemu.PermissionSetSpec{Name: args()[0], Label: label, Permissions: perms, Objects: objs})
			}
		}}
}

func recordsCreate() adminCmd {
	return adminCmd{use: "create SOBJECT", short: "Insert records (one JSON object or an array) through the data layer",
		example: `  sfbridge emulator records create Contact --data '{"LastName":"Smith","Email":"ana.smith@acme.test"}' --info-file emu.json
  sfbridge emulator records create Case --file cases.json --info-file emu.json`,
		args: cobra.ExactArgs(1),
		setup: func(fl flagAdder, args func() []string) func(*AdminOptions) error {
			var file, data string
			fl.StringVar(&file, "file", "", "JSON or YAML file with a record or an array of records; - reads stdin")
			fl.StringVar(&data, "data", "", "The record(s) as JSON")
			return func(o *AdminOptions) error {
				o.Method, o.Path = http.MethodPost, "records/"+pathArg(args()[0])
				switch {
				case file != "" && data != "":
					return exitcode.UsageErrorf("give --file or --data, not both")
				case data != "":
					if !json.Valid([]byte(data)) {
						return exitcode.UsageErrorf("--data is not valid JSON")
					}
					o.Body = []byte(data)
					return nil
				case file != "":
					return jsonBody(o, file, nil)
				}
				return exitcode.UsageErrorf("give the records with --data or --file")
			}
		}}
}

func faultsList() adminCmd {
	return adminCmd{use: "list", short: "List the faults with their counters", args: cobra.NoArgs,
		setup: func(flagAdder, func() []string) func(*AdminOptions) error {
			return func(o *AdminOptions) error { o.Method, o.Path = http.MethodGet, "faults"; return nil }
		}}
}

func faultsAdd() adminCmd {
	return adminCmd{use: "add", short: "Inject a fault",
		long: `
Actions: latency, error, reset, truncate, expire_session, revoke_session,
rate_limit (see docs/emulator.md, "Fault injection"). The answer is the
fault's id.`,
		example: `  sfbridge emulator faults add --path '/services/data/*/query' --action error --status 503 --count 2 --info-file emu.json
  sfbridge emulator faults add --path '/services/data/**' --action expire_session --count 1 --info-file emu.json`,
		args: cobra.NoArgs,
		setup: func(fl flagAdder, _ func() []string) func(*AdminOptions) error {
			var file string
			var s sfemu.FaultSpec
			fl.StringVar(&file, "file", "", "JSON or YAML file with the fault (FaultSpec); - reads stdin")
			fl.StringVar(&s.Method, "method", "", "HTTP method (default any)")
			fl.StringVar(&s.Path, "path", "", "Path pattern (path.Match; ** at the end matches a prefix)")
			fl.StringVar(&s.Action, "action", "", "latency, error, reset, truncate, expire_session, revoke_session or rate_limit")
			fl.IntVar(&s.After, "after", 0, "Let the first N matching requests through")
			fl.IntVar(&s.Count, "count", 0, "Fire at most N times (0: always)")
			fl.Float64Var(&s.Probability, "probability", 0, "Fire with this probability (0 < p < 1)")
			fl.IntVar(&s.Status, "status", 0, "error, rate_limit: HTTP status")
			fl.StringVar(&s.ErrorCode, "error-code", "", "error, rate_limit: error code")
			fl.StringVar(&s.Message, "message", "", "error, rate_limit: message")
			fl.StringVar(&s.Latency, "latency", "", "latency: a Go duration")
			fl.IntVar(&s.TruncateAfter, "truncate-after", 0, "truncate: bytes sent before closing")
			fl.Float64Var(&s.RatePerSecond, "rate-per-second", 0, "rate_limit: requests allowed per second")
			fl.IntVar(&s.Burst, "burst", 0, "rate_limit: bucket size")
			return func(o *AdminOptions) error {
				o.Method, o.Path = http.MethodPost, "faults"
				if file == "" && s.Action == "" {
					return exitcode.UsageErrorf("give --action (and --path), or --file")
				}
				return jsonBody(o, file, s)
			}
		}}
}

func faultsRemove() adminCmd {
	return adminCmd{use: "remove ID", short: "Remove one fault", args: cobra.ExactArgs(1),
		setup: func(_ flagAdder, args func() []string) func(*AdminOptions) error {
			return func(o *AdminOptions) error {
				o.Method, o.Path, o.Done = http.MethodDelete, "faults/"+pathArg(args()[0]), "fault "+args()[0]+" removed"
				return nil
			}
		}}
}

func faultsClear() adminCmd {
	return adminCmd{use: "clear", short: "Remove every fault", args: cobra.NoArgs,
		setup: func(flagAdder, func() []string) func(*AdminOptions) error {
			return func(o *AdminOptions) error {
				o.Method, o.Path, o.Done = http.MethodDelete, "faults", "faults cleared"
				return nil
			}
		}}
}

func clockShow() adminCmd {
	return adminCmd{use: "show", short: "Show the org's clock and its offset from the host's", args: cobra.NoArgs,
		setup: func(flagAdder, func() []string) func(*AdminOptions) error {
			return func(o *AdminOptions) error { o.Method, o.Path = http.MethodGet, "clock"; return nil }
		}}
}

func clockMove(op, short string) adminCmd {
	arg := map[string]string{"advance": "DURATION", "offset": "DURATION", "set": "TIME"}[op]
	return adminCmd{use: op + " " + arg, short: short,
		example: map[string]string{
			"advance": "  sfbridge emulator clock advance 90s --info-file emu.json\n  sfbridge emulator clock advance --info-file emu.json -- -20m   # a negative duration after --",
			"offset":  "  sfbridge emulator clock offset 0s --info-file emu.json",
			"set":     "  sfbridge emulator clock set 2026-12-01T09:00:00Z --info-file emu.json",
		}[op],
		args: cobra.ExactArgs(1),
		setup: func(_ flagAdder, args func() []string) func(*AdminOptions) error {
			return func(o *AdminOptions) error {
				o.Method, o.Path = http.MethodPost, "clock"
				var c sfemu.ClockChange
				switch op {
				case "advance":
					c.Advance = args()[0]
				case "offset":
					c.Offset = args()[0]
				default:
					c.Set = args()[0]
				}
				return jsonBody(o, "", c)
			}
		}}
}
