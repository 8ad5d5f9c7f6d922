// Package query implements `sfbridge query`: it runs a SOQL query and
// streams the records out as the pages arrive — a table on a terminal, TSV
// on a pipe, CSV or a JSON array when asked — in constant memory whatever
// the size of the result.
package query

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/output"
	"github.com/sfbridge/sfbridge/internal/soqlcols"
	"github.com/sfbridge/sfbridge/rest"
)

// Options holds the flags and arguments of `sfbridge query`.
type Options struct {
	IO     *iostreams.IOStreams
	Org    cmdutil.OrgFunc
	Target cmdutil.Target
	Output output.Flags
	SOQL   string
	All    bool
}

// NewCmd returns the query command. runF, when not nil, receives the parsed
// options instead of run (tests of the flags use it).
func NewCmd(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Org: f.Org}
	cmd := &cobra.Command{
		Use:   `query "SOQL" [-o ORG] [--all] [--json | --csv | --tsv]`,
		Short: "Run a SOQL query and print the records",
		Long: `Run a SOQL query and print the records as the pages arrive: an aligned table
on a terminal, tab-separated values on a pipe, or CSV or a JSON array when
asked. Rows are written as they come, so results of any size stream in
constant memory. With --all, deleted and archived rows are included
(queryAll).

Columns follow the SELECT list; parent fields appear as Contact.Email.
When a query fails, Salesforce's error code and message are shown; a
failure after some rows were written still exits non-zero, and a JSON
array is then left unterminated so that it cannot pass for a complete one.`,
		Example: `  sfbridge query "SELECT Id, CaseNumber, Subject FROM Case WHERE IsClosed = false" -o prod
  sfbridge query "SELECT Id, Email FROM Contact" --csv > contacts.csv
  sfbridge query "SELECT Id FROM Case WHERE IsDeleted = true" --all --json`,
		Args: cobra.ExactArgs(1),
		RunE: cmdutil.RunE(opts, runF, run, func(_ *cobra.Command, args []string) error {
			opts.SOQL = args[0]
			return nil
		}),
	}
	cmdutil.AddTargetFlags(cmd.Flags(), &opts.Target)
	cmd.Flags().BoolVar(&opts.All, "all", false, "Include deleted and archived records (queryAll)")
	output.AddFlags(cmd.Flags(), &opts.Output)
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	format, err := opts.Output.Resolve(opts.IO)
	if err != nil {
		return exitcode.With(exitcode.Usage, err)
	}
	return opts.Org.WithClient(ctx, opts.Target, func(c *rest.Client) error {
		qo := &rest.QueryOptions{All: opts.All}
		if soqlcols.IsCountOnly(opts.SOQL) {
			// Salesforce answers SELECT COUNT() with totalSize and no records.
			n, err := c.Query.Count(ctx, opts.SOQL, qo)
			if err != nil {
				return err
			}
			if format == output.JSON {
				return output.WriteJSON(opts.IO.Out, map[string]int{"totalSize": n})
			}
			rw, err := output.NewRowWriter(opts.IO, format, "totalSize")
			if err != nil {
				return err
			}
			if err := rw.Write(strconv.Itoa(n)); err != nil {
				return err
			}
			return rw.Flush()
		}
		if format == output.JSON {
			return streamJSON(ctx, opts.IO.Out, c, opts.SOQL, qo)
		}
		n, err := writeRows(ctx, opts.IO, format, c, opts.SOQL, qo)
		if err != nil {
			return err
		}
		if format == output.Table {
			fmt.Fprintf(opts.IO.ErrOut, "%d records\n", n)
		}
		return nil
	})
}

// streamJSON streams the records as a JSON array, each record exactly as
// Salesforce sent it (field order kept), one per line. The array opens with
// the first record, so a query that fails before it prints nothing and the
// failure is the one JSON value on stdout (root.Main prints it); one that
// fails later closes the array of the records it got, and the failure
// follows it as a second value.
func streamJSON(ctx context.Context, w io.Writer, c *rest.Client, soql string, qo *rest.QueryOptions) error {
	// bufio.Writer errors are sticky: the Flush at the end reports any.
	bw := bufio.NewWriterSize(w, 64<<10)
	n := 0
	for rec, err := range rest.Query[json.RawMessage](ctx, c, soql, qo) {
		if err != nil {
			if n > 0 {
				_, _ = bw.WriteString("\n")
				_ = bw.Flush()
			}
			return err
		}
		if n == 0 {
			_, _ = bw.WriteString("[")
		} else {
			_, _ = bw.WriteString(",")
		}
		_, _ = bw.WriteString("\n  ")
		_, _ = bw.Write(rec)
		n++
	}
	if n == 0 {
		_, _ = bw.WriteString("[")
	} else {
		_, _ = bw.WriteString("\n")
	}
	_, _ = bw.WriteString("]\n")
	return bw.Flush()
}

// flushEvery bounds what a terminal table holds for alignment.
const flushEvery = 2000

func writeRows(ctx context.Context, ios *iostreams.IOStreams, format output.Format, c *rest.Client, soql string, qo *rest.QueryOptions) (int, error) {
	bw := bufio.NewWriterSize(ios.Out, 64<<10)
	defer bw.Flush()
	sink := *ios
	sink.Out = bw
	cols, known := soqlcols.Columns(soql)
	if !known {
		return writeRecordRows(ctx, &sink, bw, format, c, soql, qo)
	}
	rw, err := output.NewRowWriter(&sink, format, cols...)
	if err != nil {
		return 0, err
	}
	// The columns are known: render them from each record's bytes while
	// the page is read (see projector); only a record with an object or
	// array in a column is decoded into a map.
	p := newProjector(cols)
	var slab []string // rows are cut from it, a few hundred at a time
	toCells := func(raw []byte) ([]string, error) {
		if len(slab) < len(cols) {
			slab = make([]string, len(cols)*256)
		}
		cells := slab[:len(cols):len(cols)]
		slab = slab[len(cols):]
		ok, err := p.cells(raw, cells)
		if err != nil {
			return nil, err
		}
		if !ok {
			rec, err := decodeRecord(raw)
			if err != nil {
				return nil, err
			}
			for i, col := range cols {
				v, _ := rec.Field(col)
				cells[i] = output.Cell(v)
			}
		}
		return cells, nil
	}
	n := 0
	for cells, err := range rest.QueryWith(ctx, c, soql, qo, toCells) {
		if err != nil {
			rw.Flush()
			return n, err
		}
		if err := rw.Write(cells...); err != nil {
			return n, err
		}
		if n++; format == output.Table && n%flushEvery == 0 {
			if err := flushBoth(rw, bw); err != nil {
				return n, err
			}
		}
	}
	return n, rw.Flush()
}

// writeRecordRows renders queries whose columns are only known from the
// first record (FIELDS(), TYPEOF).
func writeRecordRows(ctx context.Context, sink *iostreams.IOStreams, bw *bufio.Writer, format output.Format, c *rest.Client, soql string, qo *rest.QueryOptions) (int, error) {
	var rw *output.RowWriter
	var cols, cells []string
	n := 0
	for rec, err := range c.Query.Records(ctx, soql, qo) {
		if err != nil {
			if rw != nil {
				rw.Flush()
			}
			return n, err
		}
		if rw == nil {
			cols = recordColumns(rec)
			if rw, err = output.NewRowWriter(sink, format, cols...); err != nil {
				return n, err
			}
		}
		cells = cells[:0]
		for _, col := range cols {
			v, _ := rec.Field(col)
			cells = append(cells, output.Cell(v))
		}
		if err := rw.Write(cells...); err != nil {
			return n, err
		}
		if n++; format == output.Table && n%flushEvery == 0 {
			if err := flushBoth(rw, bw); err != nil {
				return n, err
			}
		}
	}
	if rw == nil {
		return 0, nil
	}
	return n, rw.Flush()
}

func flushBoth(rw *output.RowWriter, bw *bufio.Writer) error {
	if err := rw.Flush(); err != nil {
		return err
	}
	return bw.Flush()
}

// decodeRecord decodes one record as the REST client does (numbers kept
// as sent).
func decodeRecord(raw []byte) (rest.Record, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var rec rest.Record
	if err := dec.Decode(&rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// recordColumns lists a record's fields (without attributes), sorted, for
// queries whose SELECT list Columns cannot read.
func recordColumns(rec rest.Record) []string {
	var cols []string
	for k := range rec {
		if k != "attributes" {
			cols = append(cols, k)
		}
	}
	slices.Sort(cols)
	return cols
}
