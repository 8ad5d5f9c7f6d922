// Package describe implements `sfbridge describe`: an sObject's metadata as
// the integration user sees it — its access flags and its fields.
package describe

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/output"
	"github.com/sfbridge/sfbridge/rest"
)

// Options holds the flags and arguments of `sfbridge describe`.
type Options struct {
	IO     *iostreams.IOStreams
	Org    cmdutil.OrgFunc
	Target cmdutil.Target
	Output output.Flags
	Object string
}

// NewCmd returns the describe command. runF, when not nil, receives the parsed
// options instead of run (tests of the flags use it).
func NewCmd(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Org: f.Org}
	cmd := &cobra.Command{
		Use:   "describe SOBJECT [-o ORG] [--json]",
		Short: "Show an object's fields and what the user may do with it",
		Long: `Show an sObject's metadata as the integration user sees it: whether the user
may query, create, update and delete its records (the flags reflect the
user's permissions) and the fields the user can see. With --json the whole
describe document is printed as Salesforce sent it.`,
		Args: cobra.ExactArgs(1),
		RunE: cmdutil.RunE(opts, runF, run, func(_ *cobra.Command, args []string) error {
			opts.Object = args[0]
			return nil
		}),
	}
	cmdutil.AddTargetFlags(cmd.Flags(), &opts.Target)
	output.AddFlags(cmd.Flags(), &opts.Output)
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	format, err := opts.Output.Resolve(opts.IO)
	if err != nil {
		return exitcode.With(exitcode.Usage, err)
	}
	return opts.Org.WithClient(ctx, opts.Target, func(c *rest.Client) error {
		d, err := c.SObjects.Describe(ctx, opts.Object)
		if err != nil {
			return err
		}
		if format == output.JSON {
			_, err := opts.IO.Out.Write(append(d.Raw, '\n'))
			return err
		}
		if format == output.Table {
			yn := func(b bool) string {
				if b {
					return "yes"
				}
				return "no"
			}
			fmt.Fprintf(opts.IO.Out, "%s (%s), key prefix %s\n", d.Name, d.Label, d.KeyPrefix)
			fmt.Fprintf(opts.IO.Out, "query %s  create %s  update %s  delete %s\n\n", yn(d.Queryable), yn(d.Createable), yn(d.Updateable), yn(d.Deletable))
		}
		rw, err := output.NewRowWriter(opts.IO, format, "Name", "Type", "Label", "Length", "Nillable", "Createable", "Updateable", "References")
		if err != nil {
			return err
		}
		for _, fd := range d.Fields {
			typ := fd.Type
			if fd.ExternalID {
				typ += " (external id)"
			}
			if err := rw.Write(fd.Name, typ, fd.Label, strconv.Itoa(fd.Length), strconv.FormatBool(fd.Nillable),
				strconv.FormatBool(fd.Createable), strconv.FormatBool(fd.Updateable), strings.Join(fd.ReferenceTo, ",")); err != nil {
				return err
			}
		}
		return rw.Flush()
	})
}
