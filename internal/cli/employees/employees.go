// Package employees implements `sfbridge employees`: identify an employee
// by email among the org's Contacts and Users.
package employees

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/cli/statearg"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/output"
	"github.com/sfbridge/sfbridge/rest"
	"github.com/sfbridge/sfbridge/servicedesk"
	"github.com/sfbridge/sfbridge/state"
)

// Options holds the flags of `sfbridge employees find`.
type Options struct {
	IO     *iostreams.IOStreams
	Org    cmdutil.OrgFunc
	Target cmdutil.Target
	Output output.Flags
	Email  string
}

// SyncOptions holds the flags of `sfbridge employees sync`.
type SyncOptions struct {
	IO            *iostreams.IOStreams
	Factory       *factory.Factory
	Org           cmdutil.OrgFunc
	Target        cmdutil.Target
	State         statearg.Flag
	Output        output.Flags
	ContactFields []string
	UserFields    []string
}

// NewCmd returns the employees command. runF receives the options of
// find, syncF those of sync, instead of running them.
func NewCmd(f *factory.Factory, runF func(*Options) error, syncF func(*SyncOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "employees <command>",
		Short: "Identify employees among the org's Contacts and Users",
	}
	opts := &Options{IO: f.IOStreams, Org: f.Org}
	find := &cobra.Command{
		Use:   "find EMAIL [-o ORG] [--json]",
		Short: "Find the Contacts and Users with an email, and the Contact a new Case should use",
		Long: `Find the Contacts and Users whose Email is EMAIL (case-insensitive, as
Salesforce compares text), in one API call. Duplicated Contacts and inactive
Users are reported, and the Contact a new Case for the employee names is
shown: the only one, or the oldest of duplicates. Without a Contact, a Case
carries the email as SuppliedEmail.

It exits 1 when neither a Contact nor a User has the email.`,
		Args: cobra.ExactArgs(1),
		RunE: cmdutil.RunE(opts, runF, run, func(_ *cobra.Command, args []string) error {
			opts.Email = args[0]
			return nil
		}),
	}
	cmdutil.AddTargetFlags(find.Flags(), &opts.Target)
	output.AddJSONFlag(find.Flags(), &opts.Output)
	so := &SyncOptions{IO: f.IOStreams, Factory: f, Org: f.Org}
	sync := &cobra.Command{
		Use:   "sync [--contact-fields A,B] [--user-fields A,B] [--state URL] [-o ORG] [--json]",
		Short: "Keep a local copy of the org's Contacts and Users in the state store",
		Long: `Copy the org's Contacts and Users (Id, Name, Email, whether active, and the
chosen fields) into the state store, for bots that ingest users. The first run
copies everyone; later runs read only what changed since (by SystemModstamp,
re-reading two minutes for late commits) in one API call while nothing
changed. Deleted Contacts are removed; deactivated Users stay with active false.`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(so, syncF, runSync, nil),
	}
	cmdutil.AddTargetFlags(sync.Flags(), &so.Target)
	so.State.Register(sync)
	output.AddJSONFlag(sync.Flags(), &so.Output)
	sync.Flags().StringSliceVar(&so.ContactFields, "contact-fields", nil, "Contact fields to copy besides Id, Name and Email")
	sync.Flags().StringSliceVar(&so.UserFields, "user-fields", nil, "User fields to copy besides Id, Name, Email and IsActive")
	cmd.AddCommand(find, sync)
	return cmd
}

func runSync(ctx context.Context, opts *SyncOptions) error {
	org, err := opts.Org(ctx, opts.Target)
	if err != nil {
		return err
	}
	c, err := org.Client()
	if err != nil {
		return err
	}
	defer func() { _ = org.Persist() }()
	orgKey := opts.Target.Org
	if org.Profile != nil && org.Profile.OrgID != "" {
		orgKey = org.Profile.OrgID
	}
	if orgKey == "" {
		orgKey = "default"
	}
	store, err := opts.State.Open(ctx, opts.Factory, state.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	d := &servicedesk.Directory{Client: c, Store: store, Org: orgKey, ContactFields: opts.ContactFields, UserFields: opts.UserFields}
	st, err := d.Sync(ctx)
	if err != nil {
		var ce *servicedesk.ConfigError
		if errors.As(err, &ce) {
			return exitcode.With(exitcode.Usage, err)
		}
		return err
	}
	if opts.Output.JSON {
		return output.WriteJSON(opts.IO.Out, st)
	}
	fmt.Fprintf(opts.IO.Out, "%d Contacts and %d Users copied, %d removed (%d API calls)\n", st.Contacts, st.Users, st.Removed, st.Calls)
	return nil
}

func run(ctx context.Context, opts *Options) error {
	return opts.Org.WithClient(ctx, opts.Target, func(c *rest.Client) error {
		e, err := (&servicedesk.Employees{Client: c}).Find(ctx, opts.Email)
		if err != nil {
			var ve *servicedesk.ValidationError
			if errors.As(err, &ve) {
				return exitcode.With(exitcode.Usage, err)
			}
			return err
		}
		if opts.Output.JSON {
			if err := output.WriteJSON(opts.IO.Out, e); err != nil {
				return err
			}
		} else {
			printEmployee(opts.IO, e)
		}
		if !e.Found() {
			return &exitcode.Silent{Code: exitcode.Error}
		}
		return nil
	})
}

func printEmployee(io *iostreams.IOStreams, e *servicedesk.Employee) {
	w := io.Out
	fmt.Fprintf(w, "Email         %s\n", e.Email)
	if e.CaseContactID != "" {
		fmt.Fprintf(w, "Case contact  %s\n", e.CaseContactID)
	} else {
		fmt.Fprintf(w, "Case contact  none (SuppliedEmail)\n")
	}
	for _, c := range e.Contacts {
		acct := ""
		if c.AccountName != "" {
			acct = "  account " + c.AccountName
		}
		fmt.Fprintf(w, "Contact       %s  %s  %s%s\n", c.ID, c.Name, c.Email, acct)
	}
	for _, u := range e.Users {
		st := "active"
		if !u.Active {
			st = "inactive"
		}
		fmt.Fprintf(w, "User          %s  %s  %s  %s\n", u.ID, u.Name, u.Username, st)
	}
	for _, n := range e.Notes {
		fmt.Fprintf(io.ErrOut, "note: %s\n", n)
	}
}
