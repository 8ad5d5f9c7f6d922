// Package eventlogs implements `sfbridge eventlogs`: list an org's event log
// files and types, download one, and collect Event Monitoring data into
// NDJSON, Elasticsearch or Kafka with a checkpoint in the state store.
package eventlogs

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/eventlog"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/output"
	"github.com/sfbridge/sfbridge/rest"
)

// NewCmd returns `sfbridge eventlogs` and its subcommands.
func NewCmd(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "eventlogs <command>",
		Short: "List, download and collect Salesforce Event Monitoring logs",
		Long: `Event Monitoring logs: EventLogFile files (hourly or daily CSV per event type),
SetupAuditTrail, LoginHistory and the Real-Time Event Monitoring objects
(LoginEvent, LogoutEvent, ApiEvent).

collect delivers them as ECS documents to NDJSON, Elasticsearch or Kafka,
each event once, resuming from a checkpoint in the state store. The
integration user needs API Enabled and View Event Log Files (see
sfbridge doctor --require eventlogs).`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(NewListCmd(f, nil), NewTypesCmd(f, nil), NewDownloadCmd(f, nil), NewCollectCmd(f, nil))
	return cmd
}

// parseSince reads --since (see eventlog.ParseSince); empty is no start.
func parseSince(s string, now time.Time) (time.Time, error) {
	if strings.TrimSpace(s) == "" {
		return time.Time{}, nil
	}
	t, err := eventlog.ParseSince(s, now)
	if err != nil {
		return time.Time{}, exitcode.UsageErrorf("--since: %v", err)
	}
	return t, nil
}

func splitList(s []string) []string {
	var out []string
	for _, v := range s {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// ListOptions holds the flags of `sfbridge eventlogs list`.
type ListOptions struct {
	IO       *iostreams.IOStreams
	Org      cmdutil.OrgFunc
	Now      func() time.Time
	Target   cmdutil.Target
	Output   output.Flags
	Since    string
	Types    []string
	Interval string
}

// NewListCmd returns `sfbridge eventlogs list`.
func NewListCmd(f *factory.Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IOStreams, Org: f.Org, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "list [-o ORG] [--since 7d|RFC3339] [--type Login,API] [--interval hourly|daily] [--json]",
		Short: "List event log files: id, type, log date, interval, sequence, size, created",
		Long: `List the org's EventLogFile records, oldest CreatedDate first. Without
--interval the org's hourly files are listed when it has them, its daily ones
otherwise (never both: they hold the same events).`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(opts, runF, runList, nil),
	}
	cmdutil.AddTargetFlags(cmd.Flags(), &opts.Target)
	output.AddFlags(cmd.Flags(), &opts.Output)
	cmd.Flags().StringVar(&opts.Since, "since", "7d", "Files created since: a span (7d, 12h) or a time (RFC 3339)")
	cmd.Flags().StringSliceVar(&opts.Types, "type", nil, "Event types, comma separated (default: all)")
	cmd.Flags().StringVar(&opts.Interval, "interval", "auto", "auto, hourly or daily")
	return cmd
}

func runList(ctx context.Context, opts *ListOptions) error {
	format, err := opts.Output.Resolve(opts.IO)
	if err != nil {
		return exitcode.With(exitcode.Usage, err)
	}
	since, err := parseSince(opts.Since, opts.Now())
	if err != nil {
		return err
	}
	return opts.Org.WithClient(ctx, opts.Target, func(c *rest.Client) error {
		files, err := eventlog.ListFiles(ctx, c, eventlog.FileQuery{Types: splitList(opts.Types), Interval: opts.Interval, Since: since})
		if err != nil {
			return err
		}
		if format == output.JSON {
			if files == nil {
				files = []eventlog.FileInfo{}
			}
			return output.WriteJSON(opts.IO.Out, files)
		}
		rw, err := output.NewRowWriter(opts.IO, format, "ID", "TYPE", "LOG DATE", "INTERVAL", "SEQUENCE", "SIZE", "CREATED")
		if err != nil {
			return err
		}
		for _, fi := range files {
			if err := rw.Write(fi.ID, fi.EventType, fi.LogDate.UTC().Format(time.RFC3339), fi.Interval, strconv.Itoa(fi.Sequence),
				strconv.FormatInt(fi.Length, 10), fi.CreatedDate.UTC().Format(time.RFC3339)); err != nil {
				return err
			}
		}
		return rw.Flush()
	})
}

// TypesOptions holds the flags of `sfbridge eventlogs types`.
type TypesOptions struct {
	IO     *iostreams.IOStreams
	Org    cmdutil.OrgFunc
	Target cmdutil.Target
	Output output.Flags
}

// NewTypesCmd returns `sfbridge eventlogs types`.
func NewTypesCmd(f *factory.Factory, runF func(*TypesOptions) error) *cobra.Command {
	opts := &TypesOptions{IO: f.IOStreams, Org: f.Org}
	cmd := &cobra.Command{
		Use:   "types [-o ORG] [--json]",
		Short: "Show which event types the org has files of, with intervals and the range of log dates",
		Long: `Show the event types the org has EventLogFile records of, with their intervals
(Hourly, Daily), the number of files, the oldest and newest log date, and the
retention. Salesforce does not report the retention: it is inferred, and marked
so (* in the table, "inferred": true in --json), from Salesforce's documented
figures: 30 days after CreatedDate with Event Monitoring, for hourly and daily
files alike, and 1 day for the free event types (Login, Logout, ApiTotalUsage,
CorsViolation, CspViolation, HostnameRedirects, ApexUnexpectedException) without
it. Hourly files or a type outside the free ones show the licence. Developer
Edition orgs keep files 1 day even with it: the oldest log date shows what the
org really keeps.`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(opts, runF, runTypes, nil),
	}
	cmdutil.AddTargetFlags(cmd.Flags(), &opts.Target)
	output.AddFlags(cmd.Flags(), &opts.Output)
	return cmd
}

func runTypes(ctx context.Context, opts *TypesOptions) error {
	format, err := opts.Output.Resolve(opts.IO)
	if err != nil {
		return exitcode.With(exitcode.Usage, err)
	}
	return opts.Org.WithClient(ctx, opts.Target, func(c *rest.Client) error {
		types, err := eventlog.Types(ctx, c)
		if err != nil {
			return err
		}
		if format == output.JSON {
			if types == nil {
				types = []eventlog.TypeInfo{}
			}
			return output.WriteJSON(opts.IO.Out, types)
		}
		rw, err := output.NewRowWriter(opts.IO, format, "TYPE", "INTERVALS", "FILES", "OLDEST", "NEWEST", "RETENTION")
		if err != nil {
			return err
		}
		for _, t := range types {
			ret := strconv.Itoa(t.Retention.Days) + "d"
			if t.Retention.Inferred {
				ret += "*"
			}
			if err := rw.Write(t.EventType, strings.Join(t.Intervals, ","), strconv.Itoa(t.Files), t.Oldest, t.Newest, ret); err != nil {
				return err
			}
		}
		if err := rw.Flush(); err != nil {
			return err
		}
		if len(types) > 0 && types[0].Retention.Inferred {
			// The note goes with the table; piped rows stay rows.
			w := opts.IO.ErrOut
			if format == output.Table {
				w = opts.IO.Out
			}
			fmt.Fprintf(w, "* inferred, not reported by Salesforce: %s\n", types[0].Retention.Basis)
		}
		return nil
	})
}

// DownloadOptions holds the flags of `sfbridge eventlogs download`.
type DownloadOptions struct {
	IO     *iostreams.IOStreams
	Org    cmdutil.OrgFunc
	Target cmdutil.Target
	FileID string
	Format string
	Out    string
}

// NewDownloadCmd returns `sfbridge eventlogs download`.
func NewDownloadCmd(f *factory.Factory, runF func(*DownloadOptions) error) *cobra.Command {
	opts := &DownloadOptions{IO: f.IOStreams, Org: f.Org}
	cmd := &cobra.Command{
		Use:   "download FILE_ID [-o ORG] [--format csv|ndjson] [--out PATH]",
		Short: "Download one event log file as CSV or as ECS NDJSON",
		Long: `Download one EventLogFile's blob, streaming: as the CSV Salesforce serves
(--format csv, the default) or converted to ECS documents, one per line
(--format ndjson). --out writes to a file instead of stdout.`,
		Args: cobra.ExactArgs(1),
		RunE: cmdutil.RunE(opts, runF, runDownload, func(_ *cobra.Command, args []string) error {
			opts.FileID = args[0]
			switch opts.Format {
			case "csv", "ndjson":
				return nil
			}
			return exitcode.UsageErrorf("--format %q is not csv or ndjson", opts.Format)
		}),
	}
	cmdutil.AddTargetFlags(cmd.Flags(), &opts.Target)
	cmd.Flags().StringVar(&opts.Format, "format", "csv", "csv or ndjson")
	cmd.Flags().StringVar(&opts.Out, "out", "", "Write to this file instead of stdout")
	return cmd
}

func runDownload(ctx context.Context, opts *DownloadOptions) error {
	if !isID(opts.FileID) {
		return exitcode.UsageErrorf("%q is not a Salesforce Id such as 0AT5j00002GVrfnGAD", opts.FileID)
	}
	return withOrg(ctx, opts.Org, opts.Target, func(c *rest.Client, _, instanceURL string) error {
		files, err := fileByID(ctx, c, opts.FileID)
		if err != nil {
			return err
		}
		w := opts.IO.Out
		var f *os.File
		if opts.Out != "" {
			if f, err = os.Create(opts.Out); err != nil {
				return err
			}
			w = f
		}
		_, err = eventlog.DownloadFile(ctx, c, files, instanceURL, opts.Format == "ndjson", w)
		if f != nil {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		return err
	})
}

// isID reports whether s looks like a 15- or 18-character Salesforce Id.
func isID(s string) bool {
	if len(s) != 15 && len(s) != 18 {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
			return false
		}
	}
	return true
}

// withOrg opens the org t names and calls fn with its REST client, the
// name its checkpoints are kept under (the profile's alias, else its
// username: what `sfbridge state reset --org` takes) and its instance URL; a
// session renewed on the way is saved.
func withOrg(ctx context.Context, open cmdutil.OrgFunc, t cmdutil.Target, fn func(c *rest.Client, orgKey, instanceURL string) error) (err error) {
	org, err := open(ctx, t)
	if err != nil {
		return err
	}
	c, err := org.Client()
	if err != nil {
		return err
	}
	defer func() {
		if perr := org.Persist(); perr != nil && err == nil {
			err = fmt.Errorf("saving the renewed session: %w", perr)
		}
	}()
	key, instanceURL := "", ""
	if org.Profile != nil {
		key, instanceURL = org.Profile.Name(), org.Profile.InstanceURL
	}
	if instanceURL == "" {
		if tok, terr := org.Token(ctx); terr == nil {
			instanceURL = tok.InstanceURL
		}
	}
	if key == "" {
		key = instanceURL
	}
	return fn(c, key, instanceURL)
}

func fileByID(ctx context.Context, c *rest.Client, id string) (eventlog.FileInfo, error) {
	rec, err := c.SObjects.Get(ctx, "EventLogFile", id, "Id", "EventType", "LogDate", "Sequence", "LogFileLength", "LogFileFieldNames", "LogFileFieldTypes", "CreatedDate", "LogFile")
	if err != nil {
		return eventlog.FileInfo{}, fmt.Errorf("reading EventLogFile %s: %w", id, err)
	}
	return eventlog.FileFromRecord(rec)
}
