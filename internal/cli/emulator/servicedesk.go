package emulator

import (
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	sfemu "github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/emulator/data"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
)

// The `sfbridge emulator servicedesk …` leaves: commit delay, assignment
// rule, simulated agents and undelete (see docs/emulator.md, "Service
// Cloud behaviour").

func servicedeskShow() adminCmd {
	return adminCmd{use: "show", short: "Show the commit delay and the case assignment rule", args: cobra.NoArgs,
		setup: func(flagAdder, func() []string) func(*AdminOptions) error {
			return func(o *AdminOptions) error { o.Method, o.Path = http.MethodGet, "servicedesk"; return nil }
		}}
}

func servicedeskSet() adminCmd {
	return adminCmd{use: "set", short: "Set the commit delay of API writes and the case assignment rule",
		long: `
--commit-delay makes API writes visible that long after their SystemModstamp
(0s: at once). --assign ORIGIN=OWNER_ID (repeatable; an empty ORIGIN matches
every origin) is the rule a Case created with Sforce-Auto-Assign runs; the
settings replace the current ones.`,
		example: `  sfbridge emulator servicedesk set --commit-delay 20s --assign Web=00Gxx0000000001AAA --info-file emu.json`,
		args:    cobra.NoArgs,
		setup: func(fl flagAdder, _ func() []string) func(*AdminOptions) error {
			var s sfemu.ServiceDeskSettings
			var rules []string
			fl.StringVar(&s.CommitDelay, "commit-delay", "0s", "How long after it starts an API write becomes visible")
			fl.StringArrayVar(&rules, "assign", nil, "ORIGIN=OWNER_ID entry of the assignment rule (repeatable)")
			return func(o *AdminOptions) error {
				o.Method, o.Path = http.MethodPut, "servicedesk"
				for _, r := range rules {
					origin, owner, ok := strings.Cut(r, "=")
					if !ok || owner == "" {
						return exitcode.UsageErrorf("--assign %q is not ORIGIN=OWNER_ID", r)
					}
					s.AssignmentRules = append(s.AssignmentRules, data.AssignmentRule{Origin: origin, OwnerID: owner})
				}
				return jsonBody(o, "", s)
			}
		}}
}

func servicedeskActivity() adminCmd {
	return adminCmd{use: "activity", short: "Start (or with --rate 0 stop) simulated agents working on Cases and articles",
		example: `  sfbridge emulator servicedesk activity --rate 60 --info-file emu.json`,
		args:    cobra.NoArgs,
		setup: func(fl flagAdder, _ func() []string) func(*AdminOptions) error {
			var s sfemu.DeskActivitySpec
			var seed int
			fl.Float64Var(&s.RatePerMinute, "rate", 0, "Actions per minute on the org's clock (0 stops)")
			fl.IntVar(&seed, "seed", 1, "Seed of the sequence of actions")
			fl.StringVar(&s.Agent, "agent", "", "Username the agents act as (default no-eventlogs@sfbridge.test)")
			return func(o *AdminOptions) error {
				if seed < 0 {
					return exitcode.UsageErrorf("--seed must not be negative")
				}
				s.Seed = uint64(seed)
				o.Method, o.Path = http.MethodPut, "servicedesk/activity"
				return jsonBody(o, "", s)
			}
		}}
}

func servicedeskUndelete() adminCmd {
	return adminCmd{use: "undelete SOBJECT ID", short: "Restore a record from the recycle bin (a Case with its comments)", args: cobra.ExactArgs(2),
		setup: func(_ flagAdder, args func() []string) func(*AdminOptions) error {
			return func(o *AdminOptions) error {
				a := args()
				o.Method, o.Path = http.MethodPost, "records/"+pathArg(a[0])+"/"+pathArg(a[1])+"/undelete"
				return nil
			}
		}}
}
