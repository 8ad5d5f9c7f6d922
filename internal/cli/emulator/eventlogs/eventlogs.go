// Package eventlogs implements `sfbridge emulator event-logs`: it drives the
// Event Monitoring side of a running emulator through its admin API — list
// and add log files, generate activity, make files late, share a
// CreatedDate, expire or truncate them, inject blob download faults and
// change the org's Event Monitoring settings.
package eventlogs

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	sfemu "github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/internal/cli/emulator/adminapi"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
)

// Options say which admin call to make and where.
type Options struct {
	// InfoFile is the file `sfbridge emulator --info-file` wrote; or URL
	// and AdminToken directly.
	InfoFile   string
	URL        string
	AdminToken string

	Method string
	Path   string // below /_emulator/
	Body   any    // JSON body; nil sends none

	Out        io.Writer
	HTTPClient *http.Client
}

// Error is an admin API refusal.
type Error = adminapi.Error

// NewCmd returns `sfbridge emulator event-logs`. runF replaces the call in
// tests; nil makes it.
func NewCmd(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	if runF == nil {
		runF = run
	}
	opts := &Options{Out: f.IOStreams.Out}
	cmd := &cobra.Command{
		Use:   "event-logs",
		Short: "Drive a running emulator's Event Monitoring (EventLogFile) through its admin API",
		Long: `Drive the Event Monitoring side of a running emulator: list its event log files,
add files, generate activity, make a file late, share a CreatedDate, expire or
truncate a file, inject faults into blob downloads and change the settings.

Reach the emulator with --info-file (the file 'sfbridge emulator --info-file'
writes) or with --url and --admin-token. Times are RFC 3339 (2026-12-04T10:00:00Z).
Every command prints the admin API's JSON answer.`,
		Example: `  sfbridge emulator --sample-data --info-file emu.json &
  sfbridge emulator event-logs list --info-file emu.json
  sfbridge emulator event-logs add --info-file emu.json --type Login --rows 500 --created-date 2026-12-04T10:00:00Z
  sfbridge emulator event-logs fault --info-file emu.json --kind reset --after-bytes 65536`,
		Args: cobra.NoArgs,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&opts.InfoFile, "info-file", "", "Info file written by 'sfbridge emulator --info-file'")
	pf.StringVar(&opts.URL, "url", "", "Emulator base URL (instead of --info-file)")
	pf.StringVar(&opts.AdminToken, "admin-token", "", "Emulator admin token (instead of --info-file)")

	sub := func(use, short string, args cobra.PositionalArgs, build func(args []string) error) *cobra.Command {
		c := &cobra.Command{Use: use, Short: short, Args: args, RunE: func(c *cobra.Command, args []string) error {
			if err := build(args); err != nil {
				return err
			}
			return runF(c.Context(), opts)
		}}
		cmd.AddCommand(c)
		return c
	}

	sub("list", "List the event log files, made and pending", cobra.NoArgs, func([]string) error {
		opts.Method, opts.Path, opts.Body = http.MethodGet, "event-log-files", nil
		return nil
	})

	var add sfemu.EventLogFileSpec
	var seq int
	c := sub("add", "Add a file with given rows, LogDate, CreatedDate, Sequence and interval", cobra.NoArgs, func([]string) error {
		if add.EventType == "" {
			return errors.New("--type is required")
		}
		opts.Method, opts.Path, opts.Body = http.MethodPost, "event-log-files", add
		return nil
	})
	c.Flags().StringVar(&add.EventType, "type", "", "Event type (Login, API, URI, ...)")
	c.Flags().StringVar(&add.Interval, "interval", "Hourly", "Hourly or Daily")
	c.Flags().StringVar(&add.LogDate, "log-date", "", "Hour or day the events belong to (default the previous one)")
	c.Flags().StringVar(&add.CreatedDate, "created-date", "", "When the file appears (default now; later: appears then)")
	c.Flags().IntVar(&seq, "sequence", -1, "Sequence (default: 0 daily, next free one hourly)")
	c.Flags().IntVar(&add.Rows, "rows", 0, "Rows per hour of the file (default 100)")
	c.Flags().Int64Var(&add.FileBytes, "file-bytes", 0, "About this many bytes instead of --rows")
	c.PreRun = func(*cobra.Command, []string) {
		if seq >= 0 {
			add.Sequence = &seq
		}
	}

	var gen sfemu.GenerateSpec
	c = sub("generate", "Generate activity (hourly and daily files) for a time range", cobra.NoArgs, func([]string) error {
		if gen.From == "" || gen.To == "" {
			return errors.New("--from and --to are required")
		}
		opts.Method, opts.Path, opts.Body = http.MethodPost, "event-log-files/generate", gen
		return nil
	})
	c.Flags().StringVar(&gen.From, "from", "", "Start of the range")
	c.Flags().StringVar(&gen.To, "to", "", "End of the range")
	c.Flags().StringSliceVar(&gen.Types, "type", nil, "Event types (default every type the licence allows)")
	c.Flags().StringSliceVar(&gen.Intervals, "interval", nil, "Hourly, Daily (default both)")
	c.Flags().IntVar(&gen.Rows, "rows-per-hour", 0, "Rows per type and hour (default 100)")
	c.Flags().Int64Var(&gen.FileBytes, "file-bytes", 0, "About this many bytes per hourly file instead of --rows-per-hour")

	var late sfemu.LateFileSpec
	c = sub("late ID", "Add a late file (next Sequence, new events only) for the hour of hourly file ID", cobra.ExactArgs(1), func(args []string) error {
		opts.Method, opts.Path, opts.Body = http.MethodPost, "event-log-files/"+url.PathEscape(args[0])+"/late", late
		return nil
	})
	c.Flags().IntVar(&late.Rows, "rows", 10, "Rows of the late file")
	c.Flags().StringVar(&late.CreatedDate, "created-date", "", "When it appears (default now)")

	var patch sfemu.EventLogFilePatch
	c = sub("change ID", "Move a file's CreatedDate (or copy another's) or truncate it while young", cobra.ExactArgs(1), func(args []string) error {
		opts.Method, opts.Path, opts.Body = http.MethodPatch, "event-log-files/"+url.PathEscape(args[0]), patch
		return nil
	})
	c.Flags().StringVar(&patch.CreatedDate, "created-date", "", "New CreatedDate")
	c.Flags().StringVar(&patch.CreatedLike, "created-like", "", "Copy the CreatedDate of this file id")
	c.Flags().Int64Var(&patch.TruncateBytes, "truncate-bytes", 0, "Serve only this many bytes while the file is young")
	c.Flags().StringVar(&patch.YoungFor, "young-for", "", "How long the file counts as young (Go duration, default 5m)")

	sub("expire ID", "Expire (delete) a file: its record goes, its blob answers 404", cobra.ExactArgs(1), func(args []string) error {
		opts.Method, opts.Path, opts.Body = http.MethodDelete, "event-log-files/"+url.PathEscape(args[0]), nil
		return nil
	})

	var fault sfemu.BlobFaultSpec
	c = sub("fault", "Inject a fault into blob downloads: reset, unauthorized, error or trickle", cobra.NoArgs, func([]string) error {
		opts.Method, opts.Path, opts.Body = http.MethodPost, "event-log-files/faults", fault
		return nil
	})
	c.Flags().StringVar(&fault.Kind, "kind", "", "reset (after --after-bytes), unauthorized (session dies after --after-bytes), error (--status), trickle (--bytes-per-second)")
	c.Flags().StringVar(&fault.FileID, "file-id", "", "Only downloads of this file (default any)")
	c.Flags().Int64Var(&fault.AfterBytes, "after-bytes", 0, "Bytes sent before a reset or unauthorized fault")
	c.Flags().IntVar(&fault.Status, "status", 0, "HTTP status of an error fault (default 503)")
	c.Flags().IntVar(&fault.BytesPerSecond, "bytes-per-second", 0, "Rate of a trickle fault")
	c.Flags().IntVar(&fault.Times, "times", 1, "Downloads the fault hits (-1: all)")

	sub("clear-faults", "Remove every blob download fault", cobra.NoArgs, func([]string) error {
		opts.Method, opts.Path, opts.Body = http.MethodDelete, "event-log-files/faults", nil
		return nil
	})

	var set struct {
		licensed, hourly bool
		retention, rows  int
		types            []string
	}
	var setCmd *cobra.Command
	setCmd = sub("settings", "Show or change Event Monitoring: licence, hourly files, retention, background activity", cobra.NoArgs, func([]string) error {
		spec := sfemu.EventMonitoringSpec{RetentionDays: set.retention, RowsPerHour: set.rows, Types: set.types}
		fl := setCmd.Flags()
		if fl.Changed("licensed") {
			spec.Licensed = &set.licensed
		}
		if fl.Changed("hourly") {
			spec.Hourly = &set.hourly
		}
		opts.Method, opts.Path, opts.Body = http.MethodGet, "event-monitoring", nil
		if fl.NFlag() > countGlobal(fl.Changed) {
			opts.Method, opts.Body = http.MethodPatch, spec
		}
		return nil
	})
	setCmd.Flags().BoolVar(&set.licensed, "licensed", true, "Event Monitoring licence (false: the free tier's 7 types, 1-day retention)")
	setCmd.Flags().BoolVar(&set.hourly, "hourly", true, "Hourly files (false: daily only, no Interval field)")
	setCmd.Flags().IntVar(&set.retention, "retention-days", 0, "Retention after CreatedDate")
	setCmd.Flags().IntVar(&set.rows, "rows-per-hour", 0, "Background activity: rows per type and hour")
	setCmd.Flags().StringSliceVar(&set.types, "type", nil, "Event types of the background activity")
	return cmd
}

// countGlobal counts the connection flags among the changed ones.
func countGlobal(changed func(string) bool) int {
	n := 0
	for _, name := range []string{"info-file", "url", "admin-token"} {
		if changed(name) {
			n++
		}
	}
	return n
}

func run(ctx context.Context, opts *Options) error {
	var body []byte
	if opts.Body != nil {
		b, err := json.Marshal(opts.Body)
		if err != nil {
			return err
		}
		body = b
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{}
	}
	b, err := adminapi.Do(ctx, client, adminapi.Target{InfoFile: opts.InfoFile, URL: opts.URL, AdminToken: opts.AdminToken},
		adminapi.Request{Method: opts.Method, Path: opts.Path, Body: body})
	if err != nil {
		return err
	}
	return adminapi.WriteJSON(opts.Out, b)
}
