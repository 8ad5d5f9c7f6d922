package cases

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/cli/statearg"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/servicedesk"
	"github.com/sfbridge/sfbridge/state"
)

// WatchOptions holds the flags of `sfbridge cases watch`.
type WatchOptions struct {
	IO      *iostreams.IOStreams
	Factory *factory.Factory
	Org     cmdutil.OrgFunc
	Now     func() time.Time
	Target  cmdutil.Target
	State   statearg.Flag

	Since   string
	Poll    time.Duration
	Overlap time.Duration
	Fields  []string
	Filters []string
	Output  string
	Name    string
	Once    bool
}

func newWatchCmd(f *factory.Factory, watchF func(*WatchOptions) error) *cobra.Command {
	opts := &WatchOptions{IO: f.IOStreams, Factory: f, Org: f.Org, Now: f.Now}
	c := &cobra.Command{
		Use:   "watch [--since 1h|RFC3339] [--poll 30s] [--fields A,B] [--filter Field=V1,V2] [--state URL] [--output -|ndjson:PATH] [--once] [-o ORG]",
		Short: "Print Case and comment events as NDJSON, without missing or repeating one",
		Long: `Watch the org's Cases and CaseComments and print one JSON event a line:
case.created, case.updated (with the changed tracked fields), case.closed,
case.reopened, case.deleted, case.undeleted, comment.created (public or
internal, by whom, and whether the integration user wrote it: "own") and
comment.updated (an edited body or visibility, with "changed", the editor
in "edited_by", and "own" when the integration user edited it). Every
event carries the case number, the contact's name and email, the owner, and a
stable "id" (<record id>@<SystemModstamp in Unix ms>, plus ~<hash> for a second
version of a Case within the same millisecond).

Each poll reads both objects in one composite request (one API call while
nothing changes), re-reading --overlap before the last change seen, because
Salesforce stamps a record when its transaction starts and shows it when it
commits. The watermark, the last version of every Case (to diff against) and
the undelivered events live in the state store (--state), so a restarted
watch resumes where it stopped. --since applies only to the first run.

--output - (the default) prints to stdout: after a crash the last batch may
be printed again, with the same ids. --output ndjson:PATH appends to a file
exactly once across crashes: the file is fsynced and its length committed to
the state store after every batch.

--once runs one cycle and exits; otherwise watch polls every --poll until
interrupted.`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(opts, watchF, runWatch, nil),
	}
	fl := c.Flags()
	cmdutil.AddTargetFlags(fl, &opts.Target)
	opts.State.Register(c)
	fl.StringVar(&opts.Since, "since", "", "Where a first run starts: a duration back from now (1h) or an RFC 3339 time (default: now less --overlap)")
	fl.DurationVar(&opts.Poll, "poll", 30*time.Second, "Time between polls")
	fl.DurationVar(&opts.Overlap, "overlap", 2*time.Minute, "How far before the last change seen each poll re-reads")
	fl.StringSliceVar(&opts.Fields, "fields", nil, "Case fields whose changes are reported (default "+strings.Join(servicedesk.DefaultTrackedFields(), ",")+")")
	fl.StringArrayVar(&opts.Filters, "filter", nil, "Only Cases whose field has one of the values: Field=V1,V2 (repeatable)")
	fl.StringVar(&opts.Output, "output", "-", "Where events go: - (stdout) or ndjson:PATH")
	fl.StringVar(&opts.Name, "name", "cases", "Name of this watcher's state, to run several on one org")
	fl.BoolVar(&opts.Once, "once", false, "Run one poll and exit")
	return c
}

func (o *WatchOptions) since() (time.Time, error) {
	if o.Since == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(o.Since); err == nil && d >= 0 {
		return o.Now().Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, o.Since); err == nil {
		return t, nil
	}
	return time.Time{}, exitcode.UsageErrorf("--since %q is neither a duration such as 1h nor an RFC 3339 time such as 2026-12-04T10:00:00Z", o.Since)
}

func (o *WatchOptions) filter() (map[string][]string, error) {
	if len(o.Filters) == 0 {
		return nil, nil
	}
	out := map[string][]string{}
	for _, f := range o.Filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" || v == "" {
			return nil, exitcode.UsageErrorf("--filter %q is not Field=Value[,Value…]", f)
		}
		out[k] = append(out[k], strings.Split(v, ",")...)
	}
	return out, nil
}

func runWatch(ctx context.Context, opts *WatchOptions) error {
	since, err := opts.since()
	if err != nil {
		return err
	}
	filter, err := opts.filter()
	if err != nil {
		return err
	}
	path, toFile := strings.CutPrefix(opts.Output, "ndjson:")
	if opts.Output != "-" && (!toFile || path == "") {
		return exitcode.UsageErrorf("--output %q: use - for stdout or ndjson:PATH for a file", opts.Output)
	}
	if opts.Poll < time.Second {
		return exitcode.UsageErrorf("--poll %s is too short: poll every second or less often (each poll is an API call)", opts.Poll)
	}
	org, err := opts.Org(ctx, opts.Target)
	if err != nil {
		return err
	}
	client, err := org.Client()
	if err != nil {
		return err
	}
	defer func() { _ = org.Persist() }()
	orgKey, own := opts.Target.Org, ""
	if org.Profile != nil {
		if org.Profile.OrgID != "" {
			orgKey = org.Profile.OrgID
		}
		own = org.Profile.UserID // saves an identity call per run
	}
	if orgKey == "" {
		orgKey = "default"
	}
	store, err := opts.State.Open(ctx, opts.Factory, state.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	w, err := servicedesk.NewWatcher(servicedesk.WatchConfig{Client: client, Store: store, Org: orgKey, Name: opts.Name,
		TrackedFields: opts.Fields, Filter: filter, Overlap: opts.Overlap, Since: since, OwnUserID: own, Owner: owner(),
		LeaseTTL: max(2*time.Minute, 2*opts.Poll+time.Minute)})
	if err != nil {
		return exitcode.With(exitcode.Usage, err)
	}
	defer func() { _ = w.Close(context.WithoutCancel(ctx)) }()
	deliver, closeSink, err := sink(ctx, w, opts, path, toFile)
	if err != nil {
		return err
	}
	defer closeSink()
	if opts.Once {
		st, err := w.Cycle(ctx, deliver)
		if err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.ErrOut, "%d cases and %d comments read, %d new events, %d API calls, watermark %s\n",
			st.Cases, st.Comments, st.Events, st.Calls, st.Watermark.Format(time.RFC3339Nano))
		return nil
	}
	return w.Run(ctx, opts.Poll, deliver)
}

// sink is where events go: the one place that chooses between stdout and
// the exactly-once file.
func sink(ctx context.Context, w *servicedesk.Watcher, opts *WatchOptions, path string, toFile bool) (func(context.Context, []servicedesk.Event) error, func(), error) {
	if toFile {
		s, err := servicedesk.OpenNDJSON(ctx, w, path)
		if err != nil {
			return nil, nil, err
		}
		return s.Write, func() { _ = s.Close() }, nil
	}
	enc := json.NewEncoder(opts.IO.Out)
	return func(_ context.Context, evs []servicedesk.Event) error {
		for _, e := range evs {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	}, func() {}, nil
}

// owner names this process as the holder of the watcher's lease.
func owner() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("sfbridge cases watch (pid %d on %s)", os.Getpid(), host)
}
