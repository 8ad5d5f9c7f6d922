// Package messaging implements `sfbridge emulator messaging`: the Omni-Channel
// side of a running emulated org (agents, presence, accepting, answering,
// transferring and ending conversations, routing failures, SSE faults, token
// expiry, deployments and User Verification keysets), driven through the
// emulator's admin API — the same API the agent console page uses.
package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	sfemu "github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/internal/cli/emulator/adminapi"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
)

// Options are the flags and arguments of one subcommand: which emulator to
// talk to and the admin call to make.
type Options struct {
	// InfoFile is an emulator info file (base_url, admin_token); the
	// default is the one `sfbridge serve --dev` writes.
	InfoFile   string
	URL        string
	AdminToken string
	JSON       bool

	// Method, Path and Body are the admin call (Path relative to
	// /_emulator/messaging/); Print renders a successful answer.
	Method string
	Path   string
	Body   any
	Print  func(w io.Writer, body []byte) error

	Out        io.Writer
	HTTPClient *http.Client
	configDir  func() (string, error)
}

// NewCmd returns `sfbridge emulator messaging`. runF replaces run in tests.
func NewCmd(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	if runF == nil {
		runF = run
	}
	opts := &Options{Out: f.IOStreams.Out, configDir: f.ConfigDir}
	cmd := &cobra.Command{
		Use:     "messaging",
		Aliases: []string{"msg"},
		Short:   "Act as Omni-Channel agents and inject faults in a running emulator's Messaging side",
		Long: `Drive the Messaging for In-App and Web side of a running emulated org through
its admin API: list agents and work, set presence, accept, answer, transfer
and end conversations, make routing fail, drop, duplicate or delay SSE events,
expire access tokens, and add deployments and User Verification keysets.

The emulator is found through --info-file (default: the info file of
` + "`sfbridge serve --dev`" + `), or --url and --admin-token.
The agent console at <instance URL>` + sfemu.ConsolePath + ` does the same in a browser.`,
		Example: `  sfbridge emulator messaging agents
  sfbridge emulator messaging presence "Alex Agent" Available
  sfbridge emulator messaging work --agent "Alex Agent"
  sfbridge emulator messaging accept 3f1c…-uuid --agent "Alex Agent"
  sfbridge emulator messaging send 3f1c…-uuid "How can I help?" --agent "Alex Agent"
  sfbridge emulator messaging --info-file emulator.json expire-tokens`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&opts.InfoFile, "info-file", "", "Emulator info file with base_url and admin_token (default: the one sfbridge serve --dev writes)")
	pf.StringVar(&opts.URL, "url", "", "The emulator's instance URL (with --admin-token instead of --info-file)")
	pf.StringVar(&opts.AdminToken, "admin-token", "", "The emulator's admin token")
	pf.BoolVar(&opts.JSON, "json", false, "Print the admin API's JSON answer")
	add := func(c *cobra.Command, build func(args []string) error) {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if err := build(args); err != nil {
				return err
			}
			return runF(cmd.Context(), opts)
		}
		cmd.AddCommand(c)
	}
	call := func(method, path string, body any, print func(io.Writer, []byte) error) {
		opts.Method, opts.Path, opts.Body, opts.Print = method, path, body, print
	}

	add(&cobra.Command{Use: "agents", Short: "List agents with presence, capacity and work", Args: cobra.NoArgs}, func([]string) error {
		call("GET", "agents", nil, printAgents)
		return nil
	})
	add(&cobra.Command{Use: "setup", Short: "Show deployments, channels, keysets, queues, rules, agents and settings", Args: cobra.NoArgs}, func([]string) error {
		call("GET", "setup", nil, printJSON)
		return nil
	})
	add(&cobra.Command{Use: "presence AGENT Available|Busy|Offline", Short: "Set an agent's presence", Args: cobra.ExactArgs(2)}, func(a []string) error {
		call("POST", "agents/"+url.PathEscape(a[0])+"/presence", map[string]string{"presence": a[1]}, printAgent)
		return nil
	})
	var agent string
	var all bool
	work := &cobra.Command{Use: "work", Short: "List open conversations (an agent's own and those waiting in its queues)", Args: cobra.NoArgs}
	work.Flags().StringVar(&agent, "agent", "", "Only this agent's work")
	work.Flags().BoolVar(&all, "all", false, "Include ended and closed conversations")
	add(work, func([]string) error {
		q := url.Values{}
		if agent != "" {
			q.Set("agent", agent)
		}
		if all {
			q.Set("all", "true")
		}
		call("GET", "work?"+q.Encode(), nil, printWork)
		return nil
	})
	conv := func(use, short string, nargs int, body func(a []string) any, flags func(*cobra.Command)) {
		c := &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(nargs)}
		if flags != nil {
			flags(c)
		}
		action := strings.Fields(use)[0]
		add(c, func(a []string) error {
			path := map[string]string{"send": "messages"}[action]
			if path == "" {
				path = action
			}
			call("POST", "conversations/"+url.PathEscape(a[0])+"/"+path, body(a), printConversation)
			return nil
		})
	}
	agentFlag := func(required bool) func(*cobra.Command) {
		return func(c *cobra.Command) {
			c.Flags().StringVar(&agent, "agent", "", "The agent")
			if required {
				_ = c.MarkFlagRequired("agent")
			}
		}
	}
	conv("accept CONVERSATION", "Accept waiting work as an agent", 1, func([]string) any { return map[string]string{"agent": agent} }, agentFlag(true))
	conv("send CONVERSATION TEXT", "Send a message as the agent working the conversation", 2,
		func(a []string) any { return map[string]string{"agent": agent, "text": a[1]} }, agentFlag(false))
	var stop bool
	conv("typing CONVERSATION", "Send the agent's typing indicator", 1,
		func([]string) any { return map[string]any{"agent": agent, "typing": !stop} },
		func(c *cobra.Command) {
			agentFlag(false)(c)
			c.Flags().BoolVar(&stop, "stop", false, "Send typing stopped")
		})
	var queue, toAgent string
	conv("transfer CONVERSATION", "Transfer to a queue (or to an agent)", 1,
		func([]string) any { return map[string]string{"queue": queue, "agent": toAgent} },
		func(c *cobra.Command) {
			c.Flags().StringVar(&queue, "queue", "", "The queue to transfer to")
			c.Flags().StringVar(&toAgent, "to-agent", "", "The agent to transfer to (accepts at once when available)")
		})
	conv("end CONVERSATION", "End the conversation's session as the agent", 1, func([]string) any { return map[string]string{"agent": agent} }, agentFlag(false))
	var payload string
	inject := &cobra.Command{Use: "inject CONVERSATION EVENT", Short: "Publish an event of any name (clients must ignore unknown ones)", Args: cobra.ExactArgs(2)}
	inject.Flags().StringVar(&payload, "payload", "{}", "JSON payload of the event")
	add(inject, func(a []string) error {
		if !json.Valid([]byte(payload)) {
			return exitcode.UsageErrorf("--payload is not JSON")
		}
		call("POST", "conversations/"+url.PathEscape(a[0])+"/events", map[string]any{"event": a[1], "payload": json.RawMessage(payload)}, printDone("event published"))
		return nil
	})
	var count int
	var failType, reason string
	fail := &cobra.Command{Use: "fail-routing", Short: "Make the next routings fail (ROUTING_RESULT with a failureType)", Args: cobra.NoArgs}
	fail.Flags().IntVar(&count, "count", 1, "How many routings fail")
	fail.Flags().StringVar(&failType, "type", "RoutingError", "failureType: RoutingError, SubmissionError or Unknown")
	fail.Flags().StringVar(&reason, "reason", "", "failureReason")
	add(fail, func([]string) error {
		call("POST", "routing/fail", map[string]any{"count": count, "failure_type": failType, "reason": reason}, printJSON)
		return nil
	})
	var event string
	var delay time.Duration
	fault := &cobra.Command{Use: "sse-fault drop|duplicate|delay|clear|list", Short: "Drop, duplicate or delay the next SSE events; clear or list the faults", Args: cobra.ExactArgs(1)}
	fault.Flags().StringVar(&event, "event", "", "Only events of this name (default: any)")
	fault.Flags().IntVar(&count, "count", 1, "How many events")
	fault.Flags().DurationVar(&delay, "delay", 0, "How long to delay (delay)")
	add(fault, func(a []string) error {
		switch a[0] {
		case "clear":
			call("DELETE", "sse-faults", nil, printDone("SSE faults cleared"))
		case "list":
			call("GET", "sse-faults", nil, printJSON)
		case "drop", "duplicate", "delay":
			body := map[string]any{"action": a[0], "event": event, "count": count}
			if delay > 0 {
				body["delay"] = delay.String()
			}
			call("POST", "sse-faults", body, printJSON)
		default:
			return exitcode.UsageErrorf("sse-fault: %q is not drop, duplicate, delay, clear or list", a[0])
		}
		return nil
	})
	var subject string
	expire := &cobra.Command{Use: "expire-tokens", Short: "Expire access tokens (streams close with the 401 body)", Args: cobra.NoArgs}
	expire.Flags().StringVar(&subject, "subject", "", "Only the end user with this subject (v2/iamessage/...)")
	add(expire, func([]string) error {
		call("POST", "tokens/expire", map[string]string{"subject": subject}, printJSON)
		return nil
	})
	var issuer, jwksURL string
	var jwkFiles []string
	keyset := &cobra.Command{Use: "keyset NAME", Short: "Create a User Verification keyset from JWK files or a JWKS URL", Args: cobra.ExactArgs(1)}
	keyset.Flags().StringVar(&issuer, "issuer", "", "The issuer the identity JWT's iss must equal")
	keyset.Flags().StringSliceVar(&jwkFiles, "jwk-file", nil, "A single-JWK file as `sfbridge keys jwk --cert` writes (repeatable)")
	keyset.Flags().StringVar(&jwksURL, "jwks-url", "", "A JWKS endpoint instead of uploaded keys")
	_ = keyset.MarkFlagRequired("issuer")
	add(keyset, func(a []string) error {
		var ks []json.RawMessage
		for _, f := range jwkFiles {
			b, err := os.ReadFile(f)
			if err != nil {
				return fmt.Errorf("read JWK file: %w", err)
			}
			ks = append(ks, b)
		}
		call("POST", "keysets", map[string]any{"name": a[0], "issuer": issuer, "keys": ks, "jwks_url": jwksURL}, printDone("keyset "+a[0]+" saved"))
		return nil
	})
	var uv bool
	var chanQueue string
	ch := &cobra.Command{Use: "channel NAME", Short: "Create or replace a messaging channel", Args: cobra.ExactArgs(1)}
	ch.Flags().BoolVar(&uv, "user-verification", false, "Enable User Verification (authenticated access tokens)")
	ch.Flags().StringVar(&chanQueue, "queue", "", "Queue for work no routing rule matches")
	add(ch, func(a []string) error {
		call("POST", "channels", map[string]any{"name": a[0], "user_verification": uv, "queue": chanQueue}, printDone("channel "+a[0]+" saved"))
		return nil
	})
	add(&cobra.Command{Use: "queue NAME", Short: "Add an Omni-Channel queue", Args: cobra.ExactArgs(1)}, func(a []string) error {
		call("POST", "queues", map[string]string{"name": a[0]}, printDone("queue "+a[0]+" saved"))
		return nil
	})
	var agentQueues []string
	var capacity int
	var agentPresence string
	ag := &cobra.Command{Use: "agent NAME", Short: "Add or change an agent (queues, capacity, presence)", Args: cobra.ExactArgs(1)}
	ag.Flags().StringSliceVar(&agentQueues, "queues", nil, "Queues the agent works (comma-separated)")
	ag.Flags().IntVar(&capacity, "capacity", 1, "Conversations at once")
	ag.Flags().StringVar(&agentPresence, "presence", "Offline", "Available, Busy or Offline")
	add(ag, func(a []string) error {
		call("POST", "agents", map[string]any{"name": a[0], "queues": agentQueues, "capacity": capacity, "presence": agentPresence},
			printDone("agent "+a[0]+" saved"))
		return nil
	})
	var depType, channel string
	var unpublished bool
	var prechat []string
	dep := &cobra.Command{Use: "deployment NAME", Short: "Create or replace an Embedded Service deployment", Args: cobra.ExactArgs(1)}
	dep.Flags().StringVar(&depType, "type", "api", "api (Custom Client) or web")
	dep.Flags().StringVar(&channel, "channel", "", "Messaging channel (default: the first)")
	dep.Flags().BoolVar(&unpublished, "unpublished", false, "Not published (token requests are refused)")
	dep.Flags().StringSliceVar(&prechat, "pre-chat", nil, "Pre-chat fields, NAME or NAME:hidden (repeatable or comma-separated)")
	add(dep, func(a []string) error {
		var fields []map[string]any
		for _, p := range prechat {
			name, mod, _ := strings.Cut(p, ":")
			if mod != "" && mod != "hidden" {
				return exitcode.UsageErrorf("--pre-chat %q: write NAME or NAME:hidden", p)
			}
			fields = append(fields, map[string]any{"name": name, "hidden": mod == "hidden"})
		}
		body := map[string]any{"name": a[0], "type": depType, "channel": channel, "pre_chat": fields}
		if unpublished {
			body["published"] = false
		}
		call("POST", "deployments", body, printDone("deployment "+a[0]+" saved"))
		return nil
	})
	return cmd
}

// target names the emulator: --url and --admin-token, --info-file, or the
// info file serve --dev writes.
func (o *Options) target() adminapi.Target {
	t := adminapi.Target{InfoFile: o.InfoFile, URL: o.URL, AdminToken: o.AdminToken}
	if o.configDir != nil {
		t.DefaultInfoFile = func() (string, error) {
			dir, err := o.configDir()
			if err != nil {
				return "", err
			}
			return filepath.Join(dir, "dev", "emulator", "info.json"), nil
		}
	}
	return t
}

// APIError is a refusal of the admin API.
type APIError = adminapi.Error

func run(ctx context.Context, opts *Options) error {
	if (opts.URL == "") != (opts.AdminToken == "") && opts.InfoFile == "" {
		return exitcode.UsageErrorf("give both --url and --admin-token, or --info-file")
	}
	var body []byte
	if opts.Body != nil {
		b, err := json.Marshal(opts.Body)
		if err != nil {
			return err
		}
		body = b
	}
	out, err := adminapi.Do(ctx, opts.HTTPClient, opts.target(), adminapi.Request{Method: opts.Method, Path: "messaging/" + opts.Path, Body: body})
	if err != nil {
		return err
	}
	if opts.JSON || opts.Print == nil {
		return printJSON(opts.Out, out)
	}
	return opts.Print(opts.Out, out)
}

func printJSON(w io.Writer, body []byte) error { return adminapi.WriteJSON(w, body) }

func printDone(msg string) func(io.Writer, []byte) error {
	return func(w io.Writer, _ []byte) error {
		_, err := fmt.Fprintln(w, msg)
		return err
	}
}

type agentRow struct {
	Name     string   `json:"name"`
	Queues   []string `json:"queues"`
	Capacity int      `json:"capacity"`
	Presence string   `json:"presence"`
	Scripted bool     `json:"scripted"`
	Work     []string `json:"work"`
}

func printAgents(w io.Writer, body []byte) error {
	var rows []agentRow
	if err := json.Unmarshal(body, &rows); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AGENT\tPRESENCE\tWORK\tQUEUES\tSCRIPTED")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%v\n", r.Name, r.Presence, len(r.Work), r.Capacity, strings.Join(r.Queues, ","), r.Scripted)
	}
	return tw.Flush()
}

func printAgent(w io.Writer, body []byte) error {
	var r agentRow
	if err := json.Unmarshal(body, &r); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%s is %s (%d of %d conversations)\n", r.Name, r.Presence, len(r.Work), r.Capacity)
	return err
}

type workRow struct {
	ConversationID    string            `json:"conversation_id"`
	EndUserName       string            `json:"end_user_name"`
	Status            string            `json:"status"`
	RoutingStatus     string            `json:"routing_status"`
	Queue             string            `json:"queue"`
	Agent             string            `json:"agent"`
	RoutingAttributes map[string]string `json:"routing_attributes"`
	WaitingSeconds    int               `json:"waiting_seconds"`
	Transcript        []struct {
		Type string `json:"type"`
		Name string `json:"name"`
		Text string `json:"text"`
	} `json:"transcript"`
}

func printWork(w io.Writer, body []byte) error {
	var rows []workRow
	if err := json.Unmarshal(body, &rows); err != nil {
		return err
	}
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "no conversations")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONVERSATION\tSTATUS\tQUEUE\tAGENT\tEND USER\tROUTING ATTRIBUTES")
	for _, r := range rows {
		var attrs []string
		for k, v := range r.RoutingAttributes {
			attrs = append(attrs, k+"="+v)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ConversationID, r.Status, r.Queue, r.Agent, r.EndUserName, strings.Join(slices.Sorted(slices.Values(attrs)), " "))
	}
	return tw.Flush()
}

func printConversation(w io.Writer, body []byte) error {
	var wrapped struct {
		EntryID      string  `json:"entry_id"`
		Conversation workRow `json:"conversation"`
	}
	var r workRow
	if json.Unmarshal(body, &wrapped) == nil && wrapped.EntryID != "" {
		r = wrapped.Conversation
	} else if err := json.Unmarshal(body, &r); err != nil {
		return err
	}
	if r.ConversationID == "" {
		return errors.New("unexpected answer from the emulator")
	}
	fmt.Fprintf(w, "%s: %s (%s)", r.ConversationID, r.Status, r.RoutingStatus)
	if r.Agent != "" {
		fmt.Fprintf(w, ", agent %s", r.Agent)
	}
	if r.Queue != "" {
		fmt.Fprintf(w, ", queue %s", r.Queue)
	}
	fmt.Fprintln(w)
	start := max(len(r.Transcript)-5, 0)
	for _, l := range r.Transcript[start:] {
		if l.Type == "Message" {
			fmt.Fprintf(w, "  %s: %s\n", l.Name, l.Text)
		} else {
			fmt.Fprintf(w, "  · %s\n", l.Text)
		}
	}
	return nil
}
