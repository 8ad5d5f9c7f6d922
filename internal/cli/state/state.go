// Package state implements `sfbridge state`: inspect what the state store
// holds per org and pipeline, reset a pipeline's checkpoints, and apply
// schema migrations.
package state

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/cli/statearg"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/output"
	libstate "github.com/sfbridge/sfbridge/state"
)

// NewCmd returns `sfbridge state` and its subcommands.
func NewCmd(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "state <command>",
		Short: "Inspect, reset and migrate the state store",
		Long: `The state store keeps what the daemon's pipelines must not lose or repeat:
checkpoints advanced under leases, documents, the dedupe window, the outbox of
undelivered webhooks and events, and sealed keys.

--state selects it: sqlite:PATH (the default, sqlite:<config dir>/state.db) or
postgres://USER@HOST/DATABASE for replicas that share one database.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(NewInspectCmd(f, nil), NewResetCmd(f, nil), NewMigrateCmd(f, nil), NewDeadLettersCmd(f, nil), NewRedriveCmd(f, nil))
	return cmd
}

// InspectOptions holds the flags of `sfbridge state inspect`.
type InspectOptions struct {
	IO      *iostreams.IOStreams
	Factory *factory.Factory
	Now     func() time.Time
	State   statearg.Flag
	Output  output.Flags
}

// NewInspectCmd returns `sfbridge state inspect`.
func NewInspectCmd(f *factory.Factory, runF func(*InspectOptions) error) *cobra.Command {
	opts := &InspectOptions{IO: f.IOStreams, Factory: f, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "inspect [--state URL] [--json]",
		Short: "Show what the state store holds per org and pipeline, and who holds the leases",
		Long: `Show the store's engine and schema version, every checkpoint per org and
pipeline (version, fencing token of its last writer, when it was written), every
lease with its owner and whether it is live, and counts of documents, outbox
records and dedupe entries per org. Sealed keys are listed by fingerprint only.

Inspect never changes the store: it applies no migration.`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(opts, runF, runInspect, nil),
	}
	opts.State.Register(cmd)
	output.AddJSONFlag(cmd.Flags(), &opts.Output)
	return cmd
}

// Report is `state inspect --json`.
type Report struct {
	Engine              string           `json:"engine"`
	URL                 string           `json:"url"`
	SchemaVersion       int              `json:"schema_version"`
	LatestSchemaVersion int              `json:"latest_schema_version"`
	Checkpoints         []CheckpointInfo `json:"checkpoints"`
	Leases              []LeaseInfo      `json:"leases"`
	Stats               libstate.Stats   `json:"counts"`
	Secrets             []SecretInfo     `json:"sealed_keys"`
}

// CheckpointInfo is one checkpoint; Value is shown as text when it is
// printable UTF-8, and only its size otherwise.
type CheckpointInfo struct {
	Org       string    `json:"org"`
	Pipeline  string    `json:"pipeline"`
	Key       string    `json:"key"`
	Version   int64     `json:"version"`
	Token     int64     `json:"token"`
	Value     string    `json:"value,omitempty"`
	Size      int       `json:"size"`
	UpdatedAt time.Time `json:"updated_at"`
}

// LeaseInfo is one lease.
type LeaseInfo struct {
	libstate.Lease
	Live bool `json:"live"`
}

// SecretInfo is one sealed key, without key material.
type SecretInfo struct {
	Org         string `json:"org"`
	Kind        string `json:"kind"`
	MasterKeyID string `json:"master_key_id"`
	Fingerprint string `json:"fingerprint"`
}

func printable(b []byte) (string, bool) {
	if !utf8.Valid(b) || len(b) > 200 {
		return "", false
	}
	for _, r := range string(b) {
		if r < 0x20 || r == 0x7f {
			return "", false
		}
	}
	return string(b), true
}

// openExisting opens the store of flag for reading, without migrating
// it: a store that does not exist yet, or has no schema, is an error that
// says so. It returns the store, its redacted URL and its schema version.
func openExisting(ctx context.Context, flag *statearg.Flag, f *factory.Factory) (libstate.Store, string, int, error) {
	u, err := flag.Resolve(f)
	if err != nil {
		return nil, "", 0, err
	}
	st, err := flag.Open(ctx, f, libstate.Options{SkipMigrate: true})
	if errors.Is(err, libstate.ErrNotFound) {
		return nil, "", 0, fmt.Errorf("there is no state store at %s yet: run `sfbridge state migrate` (or start the daemon) to create it", libstate.Redacted(u))
	}
	if err != nil {
		return nil, "", 0, err
	}
	v, err := st.SchemaVersion(ctx)
	if err == nil && v == 0 {
		err = fmt.Errorf("the state store %s has no schema yet: run `sfbridge state migrate` (or start the daemon) first", libstate.Redacted(u))
	}
	if err != nil {
		st.Close()
		return nil, "", 0, err
	}
	return st, libstate.Redacted(u), v, nil
}

func runInspect(ctx context.Context, opts *InspectOptions) error {
	st, url, version, err := openExisting(ctx, &opts.State, opts.Factory)
	if err != nil {
		return err
	}
	defer st.Close()
	r := Report{Engine: st.Engine(), URL: url, SchemaVersion: version, LatestSchemaVersion: libstate.LatestSchemaVersion(st.Engine())}
	cps, err := st.Checkpoints(ctx, "")
	if err != nil {
		return err
	}
	for _, c := range cps {
		v, _ := printable(c.Value)
		r.Checkpoints = append(r.Checkpoints, CheckpointInfo{Org: c.Org, Pipeline: c.Pipeline, Key: c.Key, Version: c.Version, Token: c.Token, Value: v, Size: len(c.Value), UpdatedAt: c.UpdatedAt})
	}
	leases, err := st.Leases(ctx)
	if err != nil {
		return err
	}
	now := opts.Now()
	for _, l := range leases {
		r.Leases = append(r.Leases, LeaseInfo{Lease: l, Live: l.Live(now)})
	}
	if r.Stats, err = st.Stats(ctx); err != nil {
		return err
	}
	secrets, err := st.Secrets(ctx)
	if err != nil {
		return err
	}
	for _, s := range secrets {
		r.Secrets = append(r.Secrets, SecretInfo{Org: s.Org, Kind: s.Kind, MasterKeyID: s.KeyID, Fingerprint: s.Fingerprint})
	}
	if opts.Output.JSON {
		return output.WriteJSON(opts.IO.Out, r)
	}
	_, err = fmt.Fprint(opts.IO.Out, render(r, now))
	return err
}

func render(r Report, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Store: %s (%s), schema version %d", r.URL, r.Engine, r.SchemaVersion)
	if r.SchemaVersion < r.LatestSchemaVersion {
		fmt.Fprintf(&b, " (this sfbridge migrates it to %d: run `sfbridge state migrate`)", r.LatestSchemaVersion)
	}
	b.WriteString("\n")
	// Group checkpoints by org and pipeline.
	b.WriteString("\nCheckpoints:\n")
	if len(r.Checkpoints) == 0 {
		b.WriteString("  none\n")
	}
	last := ""
	for _, c := range r.Checkpoints {
		if head := c.Org + "/" + c.Pipeline; head != last {
			fmt.Fprintf(&b, "  %s\n", head)
			last = head
		}
		v := c.Value
		if v == "" {
			v = fmt.Sprintf("(%d bytes)", c.Size)
		}
		fmt.Fprintf(&b, "    %-24s v%-5d token %-4d %s  %s\n", c.Key, c.Version, c.Token, c.UpdatedAt.Format(time.RFC3339), v)
	}
	b.WriteString("\nLeases:\n")
	if len(r.Leases) == 0 {
		b.WriteString("  none\n")
	}
	for _, l := range r.Leases {
		switch {
		case l.Live:
			fmt.Fprintf(&b, "  %-32s held by %s (token %d) for %s more\n", l.Name, l.Owner, l.Token, l.ExpiresAt.Sub(now).Round(time.Second))
		case l.Owner == "":
			fmt.Fprintf(&b, "  %-32s free (released, token %d)\n", l.Name, l.Token)
		default:
			fmt.Fprintf(&b, "  %-32s free (expired %s ago, last owner %s, token %d)\n", l.Name, now.Sub(l.ExpiresAt).Round(time.Second), l.Owner, l.Token)
		}
	}
	counts := func(title string, cs []libstate.Count) {
		if len(cs) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s:\n", title)
		for _, c := range cs {
			fmt.Fprintf(&b, "  %-24s %-24s %d\n", c.Org, c.Name, c.Count)
		}
	}
	counts("Documents (org, kind)", r.Stats.Documents)
	counts("Outbox, undelivered (org, topic)", r.Stats.Outbox)
	counts("Dedupe window (org, scope)", r.Stats.Seen)
	if len(r.Secrets) > 0 {
		b.WriteString("\nSealed keys:\n")
		for _, s := range r.Secrets {
			fmt.Fprintf(&b, "  %-24s %-12s %s  master key %s\n", s.Org, s.Kind, s.Fingerprint, s.MasterKeyID)
		}
	}
	return b.String()
}

// ResetOptions holds the flags of `sfbridge state reset`.
type ResetOptions struct {
	IO       *iostreams.IOStreams
	Factory  *factory.Factory
	Now      func() time.Time
	State    statearg.Flag
	Org      string
	Pipeline string
	Force    bool
}

// NewResetCmd returns `sfbridge state reset`.
func NewResetCmd(f *factory.Factory, runF func(*ResetOptions) error) *cobra.Command {
	opts := &ResetOptions{IO: f.IOStreams, Factory: f, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "reset --org ALIAS --pipeline NAME [--force]",
		Short: "Delete a pipeline's checkpoints so it starts over",
		Long: `Delete every checkpoint of one pipeline of one org, so the pipeline starts from
its beginning the next time it runs (events are replayed; their stable ids make
the replay harmless downstream).

Refused while the pipeline's lease (ALIAS/NAME) is live, because a running
pipeline would simply write its position back: stop it first. --force resets
anyway; the running pipeline's next compare-and-set then fails, so it cannot
overwrite the reset with a stale position.`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(opts, runF, runReset, func(*cobra.Command, []string) error {
			if opts.Org == "" || opts.Pipeline == "" {
				return exitcode.UsageErrorf("--org and --pipeline are both required")
			}
			return nil
		}),
	}
	opts.State.Register(cmd)
	cmd.Flags().StringVar(&opts.Org, "org", "", "Org alias (required)")
	cmd.Flags().StringVar(&opts.Pipeline, "pipeline", "", "Pipeline name, such as eventlogs or cases (required)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "Reset even while the pipeline's lease is held")
	return cmd
}

func runReset(ctx context.Context, opts *ResetOptions) error {
	st, err := opts.State.Open(ctx, opts.Factory, libstate.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	name := libstate.PipelineLease(opts.Org, opts.Pipeline)
	leases, err := st.Leases(ctx)
	if err != nil {
		return err
	}
	now := opts.Now()
	for _, l := range leases {
		if l.Name == name && l.Live(now) && !opts.Force {
			return fmt.Errorf("the lease %s is held by %s until %s: the pipeline is running; stop it first, or pass --force",
				name, l.Owner, l.ExpiresAt.Format(time.RFC3339))
		}
	}
	n, err := st.DeleteCheckpoints(ctx, opts.Org, opts.Pipeline)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "Deleted %d checkpoints of %s.\n", n, name)
	return nil
}

// MigrateOptions holds the flags of `sfbridge state migrate`.
type MigrateOptions struct {
	IO      *iostreams.IOStreams
	Factory *factory.Factory
	State   statearg.Flag
}

// NewMigrateCmd returns `sfbridge state migrate`.
func NewMigrateCmd(f *factory.Factory, runF func(*MigrateOptions) error) *cobra.Command {
	opts := &MigrateOptions{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "migrate [--state URL]",
		Short: "Create the state store or bring its schema up to date",
		Long: `Apply the schema migrations this sfbridge embeds, in one transaction. The
daemon does this itself on start; run it ahead of a rollout to migrate once
rather than in the first replica that starts. A store migrated by a newer
sfbridge is refused: schemas are never downgraded.`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(opts, runF, runMigrate, nil),
	}
	opts.State.Register(cmd)
	return cmd
}

func runMigrate(ctx context.Context, opts *MigrateOptions) error {
	from := 0
	before, err := opts.State.Open(ctx, opts.Factory, libstate.Options{SkipMigrate: true})
	switch {
	case errors.Is(err, libstate.ErrNotFound): // a new SQLite file: version 0
	case err != nil:
		return err
	default:
		from, err = before.SchemaVersion(ctx)
		_ = before.Close()
		if err != nil {
			return err
		}
	}
	st, err := opts.State.Open(ctx, opts.Factory, libstate.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	to, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if from == to {
		fmt.Fprintf(opts.IO.Out, "The %s store is at schema version %d, the latest.\n", st.Engine(), to)
		return nil
	}
	fmt.Fprintf(opts.IO.Out, "Migrated the %s store from schema version %d to %d.\n", st.Engine(), from, to)
	return nil
}
