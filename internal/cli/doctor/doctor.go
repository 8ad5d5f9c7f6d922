// Package doctor implements `sfbridge doctor`: it checks, in order, that a
// JWT bearer connection works and that the integration user has the access
// a vendor's setup guide asks for, and prints each check with its fix.
package doctor

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/doctor"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/msgprofile"
	"github.com/sfbridge/sfbridge/internal/output"
	"github.com/sfbridge/sfbridge/internal/profile"
	"github.com/sfbridge/sfbridge/messaging"
)

// Options holds the flags of `sfbridge doctor`.
type Options struct {
	IO  *iostreams.IOStreams
	Org cmdutil.OrgFunc
	// ProfileEnv gives the clock, logger and HTTP client of a login named
	// by the login flags.
	ProfileEnv func() (profile.Env, error)
	// ConfigDir holds the messaging profiles (--require messaging).
	ConfigDir func() (string, error)
	Output    output.Flags

	cmdutil.LoginFlags
	Target   cmdutil.Target
	CertFile string
	Require  []string

	// --require messaging: the messaging profile (default: -o's alias),
	// the end user the checks act as, and whether to create and close a
	// conversation.
	MessagingProfile      string
	MessagingUser         string
	MessagingConversation bool
	MessagingRouting      map[string]string
}

// NewCmd returns the doctor command. runF, when not nil, receives the
// parsed options instead of run (tests of the flags use it).
func NewCmd(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Org: f.Org, ProfileEnv: f.ProfileEnv, ConfigDir: f.ConfigDir}
	cmd := &cobra.Command{
		Use:   "doctor [-o ALIAS | --client-id ID --jwt-key-file FILE --username USER] [--require servicedesk,eventlogs,messaging]",
		Short: "Check a connection and the integration user's access, with fixes",
		Long: `Check, in order, everything a JWT bearer integration needs, and print each
check as passed, warned or failed with the fix in the words of the setup guides:

  key          the private key loads, is RSA of 2048 bits or more, is private
  certificate  the certificate (--cert-file) matches the key and is not expiring
  login        the login host resolves and answers; the clocks agree
  token        Salesforce grants a token (else: why, and what to change)
  identity     the integration user is active
  api          API Enabled; the instance URL answers

and, with --require:

  servicedesk  Contact and Knowledge__kav readable; Case readable, creatable,
               editable; CaseComment readable and creatable
  eventlogs    API Enabled and View Event Log Files, as sfbridge eventlogs collect needs
               them (and View All Data); EventLogFile readable; SetupAuditTrail and
               LoginHistory readable (warnings: only for collect --objects)
  messaging    a Messaging for In-App and Web Custom Client deployment, step by step
               as its setup guide goes: the messaging profile is complete; the SCRT
               host answers; the deployment exists and is a Custom Client (api);
               User Verification accepts the identity token (keyset issuer, key id,
               signature); a verified access token is issued; the end user's SSE
               stream opens; with --messaging-conversation, a conversation is
               created and closed. The profile is --messaging-profile (default: the
               -o alias; see sfbridge messaging login). With --require messaging
               alone and no login flags only these checks run: the deployment does
               not use the org's JWT bearer connection.

Use a stored profile (-o ALIAS, see sfbridge login) or the login flags. The
checks need no admin rights. Exit status 5 when a required check fails.`,
		Example: `  sfbridge doctor -o acme --require servicedesk
  sfbridge doctor -o acme --require messaging --messaging-conversation --messaging-routing Topic=Payroll
  sfbridge doctor --client-id 3MVG9... --jwt-key-file salesforce.key --cert-file salesforce.crt \
    --username integration@acme.com --require eventlogs --json`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(opts, runF, run, func(*cobra.Command, []string) error {
			for _, r := range opts.Require {
				if !slices.Contains(doctor.AllGroups(), r) {
					return exitcode.UsageErrorf("--require: unknown check group %q (known: %s)", r, strings.Join(doctor.AllGroups(), ", "))
				}
			}
			if !slices.Contains(opts.Require, doctor.Messaging) && (opts.MessagingProfile != "" || opts.MessagingUser != "" || opts.MessagingConversation || len(opts.MessagingRouting) > 0) {
				return exitcode.UsageErrorf("the --messaging-* flags need --require messaging")
			}
			if opts.Given() && opts.Target.Org != "" {
				return exitcode.UsageErrorf("use either -o/--target-org or the login flags, not both")
			}
			if opts.Given() && opts.Missing() != "" {
				return exitcode.UsageErrorf("the login flags need --client-id, --jwt-key-file and --username together")
			}
			return nil
		}),
	}
	fl := cmd.Flags()
	cmdutil.AddTargetOrgFlag(fl, &opts.Target)
	cmdutil.AddLoginFlags(fl, &opts.LoginFlags, "")
	fl.StringVar(&opts.CertFile, "cert-file", "", "Certificate uploaded to the app, to match against the key")
	fl.StringSliceVar(&opts.Require, "require", nil, "Check groups that must pass: "+strings.Join(doctor.AllGroups(), ", "))
	fl.StringVar(&opts.MessagingProfile, "messaging-profile", "", "Messaging profile for --require messaging (default: the -o alias)")
	fl.StringVar(&opts.MessagingUser, "messaging-user", "", "End user the messaging checks act as (default "+doctor.DefaultMessagingUser+")")
	fl.BoolVar(&opts.MessagingConversation, "messaging-conversation", false, "Also create a conversation and close it (agents' queues see it briefly)")
	fl.StringToStringVar(&opts.MessagingRouting, "messaging-routing", nil, "Routing attribute KEY=VALUE of that conversation (repeatable)")
	output.AddJSONFlag(fl, &opts.Output)
	return cmd
}

// resolve turns the flags or the profile into doctor options.
func resolve(ctx context.Context, opts *Options) (doctor.Options, error) {
	var mo *doctor.MessagingOptions
	if slices.Contains(opts.Require, doctor.Messaging) {
		var err error
		if mo, err = messagingOptions(opts); err != nil {
			return doctor.Options{}, err
		}
		if len(opts.Require) == 1 && !opts.Given() {
			// Only the deployment is checked (see the help).
			return doctor.Options{Require: opts.Require, Messaging: mo}, nil
		}
	}
	dopts, err := resolveOrg(ctx, opts)
	dopts.Messaging = mo
	return dopts, err
}

// messagingOptions reads the messaging profile.
func messagingOptions(opts *Options) (*doctor.MessagingOptions, error) {
	alias := opts.MessagingProfile
	if alias == "" {
		alias = opts.Target.Org
	}
	if alias == "" {
		return nil, exitcode.UsageErrorf("--require messaging needs a messaging profile: --messaging-profile ALIAS or -o ALIAS (see sfbridge messaging login)")
	}
	dir, err := opts.ConfigDir()
	if err != nil {
		return nil, err
	}
	p, err := msgprofile.Store{Dir: dir}.Find(alias)
	if err != nil {
		return nil, exitcode.With(exitcode.Usage, err)
	}
	return &doctor.MessagingOptions{Profile: p.Alias, KeyFile: p.KeyFile, User: opts.MessagingUser, Conversation: opts.MessagingConversation, Routing: opts.MessagingRouting,
		Config: messaging.Config{SCRTURL: p.SCRTURL, OrgID: p.OrgID, DeploymentName: p.Deployment, KeyID: p.KeyID, Issuer: p.Issuer, Audience: p.Audience}}, nil
}

// resolveOrg turns the login flags or the org profile into doctor options.
func resolveOrg(ctx context.Context, opts *Options) (doctor.Options, error) {
	var spec profile.KeySpec
	var cfg auth.Config
	if opts.ClientID != "" {
		env, err := opts.ProfileEnv()
		if err != nil {
			return doctor.Options{}, err
		}
		spec = opts.KeySpec().WithPasswords(env)
		cfg = auth.Config{ConsumerKey: opts.ClientID, Username: opts.Username, LoginURL: opts.InstanceURL, Audience: opts.Audience,
			HTTPClient: env.HTTPClient, Now: env.Now, Logger: env.Logger}
	} else {
		org, err := opts.Org(ctx, opts.Target)
		if err != nil {
			return doctor.Options{}, err
		}
		spec, cfg = org.Profile.KeySpec().WithPasswords(org.Env), profile.AuthConfig(org.Env, org.Profile, nil) // doctor loads the key itself
	}
	if !filepath.IsAbs(spec.File) {
		abs, err := filepath.Abs(spec.File)
		if err != nil {
			return doctor.Options{}, err
		}
		spec.File = abs
	}
	lo, err := spec.LoadOptions()
	if err != nil {
		return doctor.Options{}, err
	}
	return doctor.Options{KeyFile: spec.File, KeyOptions: lo, CertFile: opts.CertFile, Auth: cfg, Require: opts.Require}, nil
}

func run(ctx context.Context, opts *Options) error {
	dopts, err := resolve(ctx, opts)
	if err != nil {
		return err
	}
	report := doctor.Run(ctx, dopts)
	if opts.Output.JSON {
		if err := output.WriteJSON(opts.IO.Out, struct {
			OK bool `json:"ok"`
			*doctor.Report
		}{report.OK(), report}); err != nil {
			return err
		}
	} else {
		Print(opts.IO, report)
	}
	if !report.OK() {
		return &exitcode.Silent{Code: exitcode.CheckFailed}
	}
	return nil
}

// Print writes a report for people: one line a check, the detail, and for
// each problem its fix.
func Print(io *iostreams.IOStreams, r *doctor.Report) {
	cs := io.Colors()
	for _, c := range r.Checks {
		var mark string
		switch c.Status {
		case doctor.Pass:
			mark = cs.Green("✓ pass")
		case doctor.Warn:
			mark = cs.Yellow("! warn")
		case doctor.Fail:
			mark = cs.Red("✗ FAIL")
		default:
			mark = cs.Gray("- skip")
		}
		line := fmt.Sprintf("%s  %s", mark, c.Title)
		if c.Detail != "" {
			line += cs.Gray(": " + c.Detail)
		}
		fmt.Fprintln(io.Out, line)
		if c.Fix != "" && c.Status != doctor.Pass {
			fmt.Fprintf(io.Out, "        fix: %s\n", c.Fix)
		}
	}
	verdict := cs.Green("ready")
	if !r.OK() {
		verdict = cs.Red("not ready")
	}
	fmt.Fprintf(io.Out, "\n%s — %s\n", verdict, r.Summary())
}
