// Package record implements `sfbridge record get|create|update|upsert|delete`:
// single-record operations on an sObject, with field values given in the
// syntax of `sf data create record --values`.
package record

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/output"
	"github.com/sfbridge/sfbridge/rest"
)

// Options holds the flags and arguments of the record subcommands.
type Options struct {
	IO     *iostreams.IOStreams
	Org    cmdutil.OrgFunc
	Target cmdutil.Target
	Output output.Flags

	Op         string // get, create, update, upsert, delete
	Object     string
	ID         string // record id, or the external id value for upsert
	Values     string
	Fields     []string
	ExtIDField string
}

// valuesSyntax describes --values for the help of record and of the
// commands that take it; ParseValues has the details.
const valuesSyntax = `Field values use the syntax of 'sf data create record --values': Field=Value
pairs separated by whitespace. Quote a value that contains spaces with single
or double quotes (Subject='Printer jammed'); as in sf, a quote character counts
as a quote only if it occurs at least twice in the text, quotes may stand
anywhere in a pair (Subject=Two' 'words), and a backslash is an ordinary
character. Each pair splits at its first '='. A value with { and } that is
valid JSON is sent as JSON (Data__c='{"a":1}'); true and false in any case
become booleans, even when quoted; every other value is sent as a string
exactly as written (12.50 stays "12.50", null is the text "null"), which
Salesforce converts for number and date fields. Field= sends an empty value,
which clears the field.

Unlike sf, a field given twice is an error (sf keeps the last value), and so
is a name that is not a field API name or an empty --values; nothing is sent.`

// NewCmd returns the record command and its subcommands. runF, when not
// nil, receives a subcommand's parsed options instead of run (tests of the
// flags use it).
func NewCmd(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "record <command>",
		Short: "Get, create, update, upsert or delete one record",
		Long: `Get, create, update, upsert or delete one record of an sObject.

` + valuesSyntax,
	}
	sub := func(op, use, short string, args cobra.PositionalArgs, setup func(*cobra.Command, *Options)) *cobra.Command {
		opts := &Options{IO: f.IOStreams, Org: f.Org, Op: op}
		c := &cobra.Command{
			Use:   use,
			Short: short,
			Args:  args,
			RunE: cmdutil.RunE(opts, runF, run, func(_ *cobra.Command, args []string) error {
				opts.Object = args[0]
				if len(args) > 1 {
					opts.ID = args[1]
				}
				return nil
			}),
		}
		cmdutil.AddTargetFlags(c.Flags(), &opts.Target)
		output.AddJSONFlag(c.Flags(), &opts.Output)
		if setup != nil {
			setup(c, opts)
		}
		return c
	}
	values := func(c *cobra.Command, o *Options) {
		c.Flags().StringVarP(&o.Values, "values", "v", "", `Field values: "Field=Value Field2='Two words'"`)
		_ = c.MarkFlagRequired("values")
		c.Long = c.Short + ".\n\n" + valuesSyntax
	}
	cmd.AddCommand(
		sub("get", "get SOBJECT ID [--fields A,B] [-o ORG] [--json]", "Print a record's fields", cobra.ExactArgs(2), func(c *cobra.Command, o *Options) {
			c.Flags().StringSliceVar(&o.Fields, "fields", nil, "Only these fields (comma-separated)")
		}),
		sub("create", "create SOBJECT --values \"F=V ...\" [-o ORG] [--json]", "Create a record and print its id", cobra.ExactArgs(1), values),
		sub("update", "update SOBJECT ID --values \"F=V ...\" [-o ORG] [--json]", "Update fields of a record", cobra.ExactArgs(2), values),
		sub("upsert", "upsert SOBJECT EXTERNAL_ID --external-id-field FIELD --values \"F=V ...\" [-o ORG] [--json]", "Insert or update the record with an external id and print its id", cobra.ExactArgs(2), func(c *cobra.Command, o *Options) {
			values(c, o)
			c.Flags().StringVar(&o.ExtIDField, "external-id-field", "", "External id field that identifies the record (required)")
			_ = c.MarkFlagRequired("external-id-field")
		}),
		sub("delete", "delete SOBJECT ID [-o ORG] [--json]", "Delete a record", cobra.ExactArgs(2), nil),
	)
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	var fields map[string]any
	if opts.Op == "create" || opts.Op == "update" || opts.Op == "upsert" {
		var err error
		if fields, err = ParseValues(opts.Values); err != nil {
			return exitcode.With(exitcode.Usage, err)
		}
	}
	return opts.Org.WithClient(ctx, opts.Target, func(c *rest.Client) error {
		out := opts.IO.Out
		switch opts.Op {
		case "get":
			rec, err := c.SObjects.Get(ctx, opts.Object, opts.ID, opts.Fields...)
			if err != nil {
				return err
			}
			if opts.Output.JSON {
				return output.WriteJSON(out, rec)
			}
			return printRecord(opts.IO, rec)
		case "create":
			res, err := c.SObjects.Create(ctx, opts.Object, fields)
			if err != nil {
				return err
			}
			if opts.Output.JSON {
				return output.WriteJSON(out, res)
			}
			fmt.Fprintln(out, res.ID)
			return nil
		case "upsert":
			res, err := c.SObjects.Upsert(ctx, opts.Object, opts.ExtIDField, opts.ID, fields)
			if err != nil {
				return err
			}
			if opts.Output.JSON {
				return output.WriteJSON(out, res)
			}
			what := "updated"
			if res.Created != nil && *res.Created {
				what = "created"
			}
			fmt.Fprintln(out, res.ID)
			fmt.Fprintf(opts.IO.ErrOut, "%s %s %s\n", what, opts.Object, res.ID)
			return nil
		case "update":
			if err := c.SObjects.Update(ctx, opts.Object, opts.ID, fields); err != nil {
				return err
			}
			return done(opts, "updated")
		case "delete":
			if err := c.SObjects.Delete(ctx, opts.Object, opts.ID); err != nil {
				return err
			}
			return done(opts, "deleted")
		}
		return fmt.Errorf("record: unknown operation %q", opts.Op)
	})
}

func done(opts *Options, what string) error {
	if opts.Output.JSON {
		return output.WriteJSON(opts.IO.Out, rest.SaveResult{ID: opts.ID, Success: true, Errors: []rest.ErrorItem{}})
	}
	fmt.Fprintf(opts.IO.ErrOut, "%s %s %s\n", what, opts.Object, opts.ID)
	return nil
}

// printRecord prints Field and Value columns, fields sorted by name.
func printRecord(ios *iostreams.IOStreams, rec rest.Record) error {
	names := make([]string, 0, len(rec))
	for k := range rec {
		if k != "attributes" {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	tw := tabwriter.NewWriter(ios.Out, 0, 4, 2, ' ', 0)
	for _, k := range names {
		v := strings.ReplaceAll(output.Cell(rec[k]), "\n", `\n`)
		fmt.Fprintf(tw, "%s\t%s\n", k, v)
	}
	return tw.Flush()
}
