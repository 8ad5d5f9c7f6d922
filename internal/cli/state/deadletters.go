package state

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/cli/statearg"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/output"
	"github.com/sfbridge/sfbridge/internal/webhook"
)

// DeadLettersOptions holds the flags of `sfbridge state dead-letters`.
type DeadLettersOptions struct {
	IO      *iostreams.IOStreams
	Factory *factory.Factory
	State   statearg.Flag
	Output  output.Flags
	Org     string
	Limit   int
}

// NewDeadLettersCmd returns `sfbridge state dead-letters`.
func NewDeadLettersCmd(f *factory.Factory, runF func(*DeadLettersOptions) error) *cobra.Command {
	opts := &DeadLettersOptions{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "dead-letters [--org ALIAS] [--limit N] [--state URL] [--json]",
		Short: "List the webhook events that were given up, and why",
		Long: `List the events the daemon's webhook deliverer gave up on (dead letters): per
org, newest first, with the event's id and type, when it was given up, how many
POSTs were made, the last HTTP status and the error. --json prints each dead
letter whole, the payload included, as docs/webhooks.md describes it.

Send some or all of them again with "sfbridge state redrive --org ALIAS
EVENT_ID..." (or --all); the list marks those already sent again. To send
every event of the journal again (until journal_retention), with its original
id: "sfbridge state reset --org ALIAS --pipeline webhooks".`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(opts, runF, runDeadLetters, func(*cobra.Command, []string) error {
			if opts.Limit < 1 {
				return exitcode.UsageErrorf("--limit %d: give at least 1", opts.Limit)
			}
			return nil
		}),
	}
	opts.State.Register(cmd)
	output.AddJSONFlag(cmd.Flags(), &opts.Output)
	cmd.Flags().StringVar(&opts.Org, "org", "", "Only this org alias")
	cmd.Flags().IntVar(&opts.Limit, "limit", 100, "At most this many per org, the newest")
	return cmd
}

// DeadLetter is one line of `state dead-letters --json`.
type DeadLetter struct {
	Org string `json:"org"`
	webhook.DeadLetter
}

func runDeadLetters(ctx context.Context, opts *DeadLettersOptions) error {
	st, _, _, err := openExisting(ctx, &opts.State, opts.Factory)
	if err != nil {
		return err
	}
	defer st.Close()
	stats, err := st.Stats(ctx)
	if err != nil {
		return err
	}
	var orgs []string
	for _, c := range stats.Documents {
		if c.Name == webhook.KindDeadLetter && (opts.Org == "" || c.Org == opts.Org) {
			orgs = append(orgs, c.Org)
		}
	}
	slices.Sort(orgs)
	var all []DeadLetter
	for _, org := range orgs {
		dls, err := webhook.DeadLetters(ctx, st, org)
		if err != nil {
			return err
		}
		list := make([]DeadLetter, len(dls))
		for i, dl := range dls {
			list[i] = DeadLetter{Org: org, DeadLetter: dl}
		}
		// Newest first; the store pages by id, which says nothing of time.
		slices.SortStableFunc(list, func(a, b DeadLetter) int { return b.DeadAt.Compare(a.DeadAt) })
		all = append(all, list[:min(len(list), opts.Limit)]...)
	}
	if opts.Output.JSON {
		if all == nil {
			all = []DeadLetter{}
		}
		return output.WriteJSON(opts.IO.Out, all)
	}
	if len(all) == 0 {
		fmt.Fprintln(opts.IO.ErrOut, "no dead letters")
		return nil
	}
	var b strings.Builder
	for _, dl := range all {
		status := "no answer"
		if dl.LastStatus != 0 {
			status = fmt.Sprintf("HTTP %d", dl.LastStatus)
		}
		again := ""
		if !dl.RedrivenAt.IsZero() {
			again = " (sent again " + dl.RedrivenAt.UTC().Format(time.RFC3339) + ")"
		}
		fmt.Fprintf(&b, "%s  %s  %s  %s  %d attempts, %s: %s%s\n", dl.DeadAt.UTC().Format(time.RFC3339), dl.Org, dl.ID, dl.Type, dl.Attempts, status, dl.Error, again)
	}
	_, err = fmt.Fprint(opts.IO.Out, b.String())
	return err
}
