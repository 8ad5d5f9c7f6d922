// Package output renders command results in the format the caller wants: an
// aligned table for a person at a terminal, tab- or comma-separated rows for
// a pipe, or stable JSON. Rows written as CSV or TSV go out as they arrive,
// so a command can stream results of any size in constant memory.
package output

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/spf13/pflag"

	"github.com/sfbridge/sfbridge/internal/iostreams"
)

// Format is one way of rendering results.
type Format int

// The formats a command can render.
const (
	Table Format = iota // aligned columns for a terminal
	TSV                 // tab-separated rows, the default when piped
	CSV                 // RFC 4180 comma-separated rows
	JSON                // stable, indented JSON
)

func (f Format) String() string {
	switch f {
	case TSV:
		return "tsv"
	case CSV:
		return "csv"
	case JSON:
		return "json"
	default:
		return "table"
	}
}

// Flags holds the output flags a command registers with AddFlags.
type Flags struct {
	JSON bool
	CSV  bool
	TSV  bool
	// tabular is false for commands that offer only --json.
	tabular bool
}

// AddJSONFlag registers --json alone, for commands whose result is a
// document rather than rows.
func AddJSONFlag(fs *pflag.FlagSet, f *Flags) {
	fs.BoolVar(&f.JSON, "json", false, "Print the result as JSON")
}

// AddFlags registers --json, --csv and --tsv.
func AddFlags(fs *pflag.FlagSet, f *Flags) {
	f.tabular = true
	AddJSONFlag(fs, f)
	fs.BoolVar(&f.CSV, "csv", false, "Print rows as comma-separated values")
	fs.BoolVar(&f.TSV, "tsv", false, "Print rows as tab-separated values")
}

// ErrConflictingFormats is returned when more than one format flag is set.
var ErrConflictingFormats = errors.New("choose one of --json, --csv and --tsv")

// Resolve picks the format: an explicit flag wins; otherwise a table on a
// terminal and TSV on a pipe.
func (f Flags) Resolve(ios *iostreams.IOStreams) (Format, error) {
	n := 0
	for _, b := range []bool{f.JSON, f.CSV, f.TSV} {
		if b {
			n++
		}
	}
	switch {
	case n > 1:
		return Table, ErrConflictingFormats
	case f.JSON:
		return JSON, nil
	case f.CSV:
		return CSV, nil
	case f.TSV:
		return TSV, nil
	case ios.IsStdoutTTY():
		return Table, nil
	default:
		return TSV, nil
	}
}

// WriteJSON writes v as indented JSON followed by a newline. Map keys come
// out sorted, so the output is stable.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// RowWriter writes rows in a tabular format. Table output is aligned and so
// is held until Flush; CSV and TSV rows are written as they come.
type RowWriter struct {
	format  Format
	rows    [][]string // table rows held until Flush, as plain text
	boldRow int        // index in rows of the header, or -1
	csv     *csv.Writer
	w       io.Writer
	header  []string
	headed  bool
	colors  iostreams.ColorScheme
	maxCell int
}

// NewRowWriter starts a row writer for format with the given column
// headers. JSON is not a row format; callers encode JSON themselves.
func NewRowWriter(ios *iostreams.IOStreams, format Format, header ...string) (*RowWriter, error) {
	rw := &RowWriter{format: format, w: ios.Out, header: header, colors: ios.Colors(), boldRow: -1}
	switch format {
	case Table:
		rw.maxCell = max(20, ios.TerminalWidth()/2)
	case CSV:
		rw.csv = csv.NewWriter(ios.Out)
	case TSV:
	default:
		return nil, fmt.Errorf("output: %s is not a row format", format)
	}
	return rw, nil
}

// Write writes one row; cells beyond the header are kept.
func (rw *RowWriter) Write(cells ...string) error {
	if !rw.headed {
		rw.headed = true
		if len(rw.header) > 0 {
			if err := rw.write(rw.header, true); err != nil {
				return err
			}
		}
	}
	return rw.write(cells, false)
}

func (rw *RowWriter) write(cells []string, header bool) error {
	switch rw.format {
	case CSV:
		return rw.csv.Write(cells)
	case TSV:
		clean := make([]string, len(cells))
		for i, c := range cells {
			clean[i] = tsvEscape(c)
		}
		_, err := io.WriteString(rw.w, strings.Join(clean, "\t")+"\n")
		return err
	default:
		clean := make([]string, len(cells))
		for i, c := range cells {
			c = truncate(strings.Join(strings.Fields(c), " "), rw.maxCell)
			if header {
				c = strings.ToUpper(c)
			}
			clean[i] = c
		}
		if header {
			rw.boldRow = len(rw.rows)
		}
		rw.rows = append(rw.rows, clean)
		return nil
	}
}

// flushTable writes the held rows aligned. Widths are measured on the plain
// text and colour is applied after padding, so escape sequences never count
// as width (text/tabwriter counts them, which misaligned coloured headers).
func (rw *RowWriter) flushTable() error {
	var widths []int
	for _, row := range rw.rows {
		for i, c := range row {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for n, row := range rw.rows {
		b.Reset()
		for i, c := range row {
			cell := c
			if n == rw.boldRow {
				cell = rw.colors.Bold(c)
			}
			b.WriteString(cell)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+tablePadding))
			}
		}
		b.WriteByte('\n')
		if _, err := io.WriteString(rw.w, b.String()); err != nil {
			return err
		}
	}
	rw.rows, rw.boldRow = nil, -1
	return nil
}

// tablePadding is the space between table columns.
const tablePadding = 2

// Flush writes any held output. It writes the header when no row came.
func (rw *RowWriter) Flush() error {
	if !rw.headed && len(rw.header) > 0 {
		rw.headed = true
		if err := rw.write(rw.header, true); err != nil {
			return err
		}
	}
	switch rw.format {
	case CSV:
		rw.csv.Flush()
		return rw.csv.Error()
	case Table:
		return rw.flushTable()
	}
	return nil
}

// tsvEscape keeps a cell on one line and in one column.
func tsvEscape(s string) string {
	if !strings.ContainsAny(s, "\t\n\r\\") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)
	return r.Replace(s)
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
