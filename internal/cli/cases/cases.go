// Package cases implements `sfbridge cases`: open a Case for an employee,
// read one with its comments, comment on it, and watch Cases for changes.
package cases

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/output"
	"github.com/sfbridge/sfbridge/rest"
	"github.com/sfbridge/sfbridge/servicedesk"
)

// Options holds the flags of `sfbridge cases create|get|comment`.
type Options struct {
	IO     *iostreams.IOStreams
	Org    cmdutil.OrgFunc
	Target cmdutil.Target
	Output output.Flags
	Op     string
	// Case is the Id or CaseNumber of get and comment.
	Case string
	// New is the Case of create.
	New servicedesk.NewCase
	// KeyField is the External ID field holding create's idempotency key.
	KeyField string
	// Body and Public are the comment of comment.
	Body   string
	Public bool
}

// NewCmd returns the cases command and its subcommands. runF receives a
// subcommand's options instead of run; watchF those of watch.
func NewCmd(f *factory.Factory, runF func(*Options) error, watchF func(*WatchOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cases <command>",
		Short: "Open, read, comment on and watch Cases",
	}
	sub := func(op, use, short, long string, args cobra.PositionalArgs, setup func(*cobra.Command, *Options)) *cobra.Command {
		opts := &Options{IO: f.IOStreams, Org: f.Org, Op: op}
		c := &cobra.Command{Use: use, Short: short, Long: long, Args: args,
			RunE: cmdutil.RunE(opts, runF, run, func(_ *cobra.Command, args []string) error {
				if len(args) > 0 {
					opts.Case = args[0]
				}
				return nil
			})}
		cmdutil.AddTargetFlags(c.Flags(), &opts.Target)
		output.AddJSONFlag(c.Flags(), &opts.Output)
		setup(c, opts)
		return c
	}
	cmd.AddCommand(
		sub("create", "create --email E --subject S [--description D] [--priority P] [--origin O] [--record-type NAME] [--assign] [--key K] [-o ORG] [--json]",
			"Open a Case for an employee and print its Id and CaseNumber",
			`Open a Case for the employee with the email: the Contact with it (the oldest
of duplicates), or SuppliedEmail when no Contact has it. With --assign the
org's active assignment rule runs (Sforce-Auto-Assign: TRUE); without it the
header says FALSE and the integration user owns the Case.

Creating is safe to retry: the Case carries an idempotency key (--key, or a
random one) in an External ID field of Case (--key-field, default
External_Id__c, which the admin creates as Text, Unique, External ID), and
the key is looked up before every attempt. Run the same command with the same
--key after a timeout or crash and the Case it created is printed instead of
a second one.`, cobra.NoArgs, func(c *cobra.Command, o *Options) {
				fl := c.Flags()
				fl.StringVar(&o.New.Email, "email", "", "Email of the employee (required)")
				fl.StringVar(&o.New.Subject, "subject", "", "Subject (required)")
				fl.StringVar(&o.New.Description, "description", "", "Description")
				fl.StringVar(&o.New.Priority, "priority", "", "Priority (High, Medium, Low)")
				fl.StringVar(&o.New.Origin, "origin", "", "Origin (Web, Email, Phone, …)")
				fl.StringVar(&o.New.RecordType, "record-type", "", "Case record type: developer name, label or 012… id")
				fl.BoolVar(&o.New.Assign, "assign", false, "Run the org's case assignment rule")
				fl.StringVar(&o.New.Key, "key", "", "Idempotency key (default: random)")
				fl.StringVar(&o.KeyField, "key-field", "External_Id__c", "External ID field of Case holding the key")
				_ = c.MarkFlagRequired("email")
				_ = c.MarkFlagRequired("subject")
			}),
		sub("get", "get ID|CASENUMBER [-o ORG] [--json]", "Print a Case with its comments", "Print a Case, found by Id (500…) or CaseNumber (leading zeros optional), with its comments oldest first.",
			cobra.ExactArgs(1), func(*cobra.Command, *Options) {}),
		sub("comment", "comment ID|CASENUMBER --body TEXT [--public] [-o ORG] [--json]", "Add a comment to a Case",
			`Add a comment to a Case, internal unless --public publishes it to the
employee. A retry after a failure first looks for the same comment written by
the integration user in the last minutes, so it is not posted twice.`,
			cobra.ExactArgs(1), func(c *cobra.Command, o *Options) {
				c.Flags().StringVar(&o.Body, "body", "", "Comment text (required)")
				c.Flags().BoolVar(&o.Public, "public", false, "Publish the comment to the employee")
				_ = c.MarkFlagRequired("body")
			}),
		newWatchCmd(f, watchF),
	)
	return cmd
}

func usageIfInvalid(err error) error {
	var ve *servicedesk.ValidationError
	if errors.As(err, &ve) {
		return exitcode.With(exitcode.Usage, err)
	}
	return err
}

func run(ctx context.Context, opts *Options) error {
	return opts.Org.WithClient(ctx, opts.Target, func(c *rest.Client) error {
		cs := &servicedesk.Cases{Client: c, KeyField: opts.KeyField}
		out := opts.IO.Out
		switch opts.Op {
		case "create":
			res, err := cs.Create(ctx, opts.New)
			if err != nil {
				return usageIfInvalid(err)
			}
			if opts.Output.JSON {
				return output.WriteJSON(out, res)
			}
			fmt.Fprintf(out, "%s %s\n", res.ID, res.CaseNumber)
			if res.Reused {
				fmt.Fprintf(opts.IO.ErrOut, "the Case with key %s already existed: not created again\n", res.Key)
			}
			return nil
		case "get":
			d, err := cs.Get(ctx, opts.Case)
			if err != nil {
				return usageIfInvalid(err)
			}
			if opts.Output.JSON {
				return output.WriteJSON(out, d)
			}
			printCase(opts.IO, d)
			return nil
		case "comment":
			cm, err := cs.AddComment(ctx, opts.Case, opts.Body, opts.Public)
			if err != nil {
				return usageIfInvalid(err)
			}
			if opts.Output.JSON {
				return output.WriteJSON(out, cm)
			}
			fmt.Fprintln(out, cm.ID)
			return nil
		}
		return fmt.Errorf("cases: unknown operation %q", opts.Op)
	})
}

func printCase(io *iostreams.IOStreams, d *servicedesk.CaseDetail) {
	w := io.Out
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%-12s %s\n", k, v)
		}
	}
	row("Id", d.ID)
	row("CaseNumber", d.CaseNumber)
	row("Subject", d.Subject)
	row("Status", d.Status)
	row("Priority", d.Priority)
	row("Origin", d.Origin)
	row("Contact", strings.TrimSpace(d.Contact.Name+" <"+d.Contact.Email+">"))
	row("Owner", strings.TrimSpace(d.Owner.ID+" "+d.Owner.Name))
	row("Created", d.CreatedDate)
	row("Description", d.Description)
	for _, c := range d.Comments {
		vis := "internal"
		if c.Public {
			vis = "public"
		}
		fmt.Fprintf(w, "\n%s  %s  %s  %s\n%s\n", c.CreatedDate, c.ID, vis, c.Author.Name, c.Body)
	}
}
