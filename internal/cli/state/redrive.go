package state

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/cli/statearg"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/output"
	"github.com/sfbridge/sfbridge/internal/webhook"
)

// RedriveOptions holds the flags and arguments of `sfbridge state redrive`.
type RedriveOptions struct {
	IO      *iostreams.IOStreams
	Factory *factory.Factory
	State   statearg.Flag
	Output  output.Flags
	Org     string
	All     bool
	IDs     []string
}

// NewRedriveCmd returns `sfbridge state redrive`.
func NewRedriveCmd(f *factory.Factory, runF func(*RedriveOptions) error) *cobra.Command {
	opts := &RedriveOptions{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "redrive --org ALIAS (EVENT_ID... | --all) [--state URL] [--json]",
		Short: "Send dead-lettered webhook events again",
		Long: `Put webhook events that were given up (see "sfbridge state dead-letters") back
into the org's journal, with their original id and payload. The daemon's
webhook deliverer POSTs each of them again, after the events already waiting,
and retries it for max_age from now; a receiver that had it before recognises
its Sfbridge-Event-Id. Each dead letter is marked with the time it was sent
again (redriven_at); if it is given up again, a new dead letter replaces it.

--all sends every dead letter of the org that was not sent again yet. Fix the
receiver first: an event the receiver still refuses comes back as a dead
letter after max_age (at once for 410 Gone).`,
		Example: `  sfbridge state dead-letters --org acme
  sfbridge state redrive --org acme 3f6c2a1e-0b7d-4c55-9a43-2d1f6b7e8a90
  sfbridge state redrive --org acme --all --json`,
		RunE: cmdutil.RunE(opts, runF, runRedrive, func(_ *cobra.Command, args []string) error {
			opts.IDs = args
			switch {
			case opts.Org == "":
				return exitcode.UsageErrorf("--org is required: the alias of the org whose dead letters to send again")
			case opts.All && len(args) > 0:
				return exitcode.UsageErrorf("give event ids or --all, not both")
			case !opts.All && len(args) == 0:
				return exitcode.UsageErrorf("name the events to send again (their ids, from `sfbridge state dead-letters --org %s`), or give --all", opts.Org)
			}
			return nil
		}),
	}
	opts.State.Register(cmd)
	output.AddJSONFlag(cmd.Flags(), &opts.Output)
	cmd.Flags().StringVar(&opts.Org, "org", "", "The org alias (required)")
	cmd.Flags().BoolVar(&opts.All, "all", false, "Every dead letter of the org not sent again yet")
	return cmd
}

// redrivePage is how many dead letters one transaction sends again.
const redrivePage = 1000

func runRedrive(ctx context.Context, opts *RedriveOptions) error {
	st, _, _, err := openExisting(ctx, &opts.State, opts.Factory)
	if err != nil {
		return err
	}
	defer st.Close()
	ids := opts.IDs
	if opts.All {
		dls, err := webhook.DeadLetters(ctx, st, opts.Org)
		if err != nil {
			return err
		}
		ids = nil
		for _, dl := range dls {
			if dl.RedrivenAt.IsZero() {
				ids = append(ids, dl.ID)
			}
		}
	}
	host, _ := os.Hostname()
	var sent []DeadLetter
	// One transaction per page, so that --all over many dead letters does
	// not build one huge commit.
	for len(ids) > 0 {
		n := min(len(ids), redrivePage)
		dls, err := webhook.Redrive(ctx, st, nil, opts.Org, fmt.Sprintf("sfbridge-cli/%s/%d", host, os.Getpid()), ids[:n])
		if err != nil {
			return err
		}
		for _, dl := range dls {
			sent = append(sent, DeadLetter{Org: opts.Org, DeadLetter: dl})
		}
		ids = ids[n:]
	}
	if opts.Output.JSON {
		if sent == nil {
			sent = []DeadLetter{}
		}
		return output.WriteJSON(opts.IO.Out, sent)
	}
	if len(sent) == 0 {
		fmt.Fprintf(opts.IO.ErrOut, "org %s has no dead letters that were not sent again\n", opts.Org)
		return nil
	}
	var b strings.Builder
	for _, dl := range sent {
		fmt.Fprintf(&b, "%s  %s  sent again\n", dl.ID, dl.Type)
	}
	fmt.Fprintf(&b, "%d events are back in the journal of %s; the daemon's webhook deliverer sends them next\n", len(sent), opts.Org)
	_, err = fmt.Fprint(opts.IO.Out, b.String())
	return err
}
