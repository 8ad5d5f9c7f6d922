// Package limits implements `sfbridge limits`: the org's limits (daily API
// requests, storage, …) with how much of each remains.
package limits

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
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

// Options holds the flags of `sfbridge limits`.
type Options struct {
	IO     *iostreams.IOStreams
	Org    cmdutil.OrgFunc
	Target cmdutil.Target
	Output output.Flags
}

// NewCmd returns the limits command. runF, when not nil, receives the parsed
// options instead of run (tests of the flags use it).
func NewCmd(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Org: f.Org}
	cmd := &cobra.Command{
		Use:   "limits [-o ORG] [--json | --csv | --tsv]",
		Short: "Show the org's limits and what remains of them",
		Long: `Show the org's limits (daily API requests, storage, bulk jobs, …) with their
maximum, what remains and the share used.

Reading /limits needs the "View Setup and Configuration" permission, which a
least-privilege integration user usually lacks. Then only the API usage
Salesforce reports on every response is shown.`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(opts, runF, run, nil),
	}
	cmdutil.AddTargetFlags(cmd.Flags(), &opts.Target)
	output.AddFlags(cmd.Flags(), &opts.Output)
	return cmd
}

// Row is one limit in --json output.
type Row struct {
	Name      string `json:"name"`
	Max       int64  `json:"max"`
	Remaining int64  `json:"remaining"`
}

func run(ctx context.Context, opts *Options) error {
	format, err := opts.Output.Resolve(opts.IO)
	if err != nil {
		return exitcode.With(exitcode.Usage, err)
	}
	return opts.Org.WithClient(ctx, opts.Target, func(c *rest.Client) error {
		lim, err := c.Limits.Get(ctx)
		var rows []Row
		switch {
		case err == nil:
			for name, l := range lim {
				rows = append(rows, Row{Name: name, Max: l.Max, Remaining: l.Remaining})
			}
			slices.SortFunc(rows, func(a, b Row) int { return strings.Compare(a.Name, b.Name) })
		case errors.Is(err, rest.ErrInsufficientAccess) || isForbidden(err):
			usage, ok := c.APIUsage()
			if !ok {
				return err
			}
			fmt.Fprintf(opts.IO.ErrOut, "warning: the user may not read /limits (needs \"View Setup and Configuration\"); showing the API usage Salesforce reported instead\n")
			rows = []Row{{Name: "DailyApiRequests", Max: usage.Max, Remaining: usage.Remaining()}}
		default:
			return err
		}
		if format == output.JSON {
			return output.WriteJSON(opts.IO.Out, rows)
		}
		rw, err := output.NewRowWriter(opts.IO, format, "Name", "Max", "Remaining", "Used")
		if err != nil {
			return err
		}
		for _, r := range rows {
			used := ""
			if r.Max > 0 {
				used = strconv.FormatFloat(100*float64(r.Max-r.Remaining)/float64(r.Max), 'f', 1, 64) + "%"
			}
			if err := rw.Write(r.Name, strconv.FormatInt(r.Max, 10), strconv.FormatInt(r.Remaining, 10), used); err != nil {
				return err
			}
		}
		return rw.Flush()
	})
}

func isForbidden(err error) bool {
	var ae *rest.APIError
	return errors.As(err, &ae) && ae.StatusCode == http.StatusForbidden && !ae.HasCode(string(rest.ErrRequestLimitExceeded))
}
