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
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/output"
	"github.com/sfbridge/sfbridge/rest"
	"github.com/sfbridge/sfbridge/servicedesk"
)

// Options holds the flags of `sfbridge employees find`.
type Options struct {
	IO     *iostreams.IOStreams
	Org    cmdutil.OrgFunc
	Target cmdutil.Target
	Output output.Flags
	Email  string
}

// NewCmd returns the employees command.
func NewCmd(f *factory.Factory, runF func(*Options) error) *cobra.Command {
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
	cmd.AddCommand(find)
	return cmd
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
