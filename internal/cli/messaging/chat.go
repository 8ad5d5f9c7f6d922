package messaging

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/messaging"
)

// ChatOptions holds the flags of `sfbridge messaging chat`.
type ChatOptions struct {
	IO        *iostreams.IOStreams
	ConfigDir func() (string, error)
	Alias     string
	User      string
	Routing   map[string]string
	Messages  []string
	JSON      bool
	// ExitAfter ends the chat after this many agent messages (0: never).
	ExitAfter int
}

// NewChatCmd returns the chat command.
func NewChatCmd(f *factory.Factory, runF func(*ChatOptions) error) *cobra.Command {
	opts := &ChatOptions{IO: f.IOStreams, ConfigDir: f.ConfigDir}
	cmd := &cobra.Command{
		Use:   "chat -o ALIAS --user USER [--routing KEY=VALUE]… [--message TEXT]…",
		Short: "Hand a conversation to an agent and chat in the terminal",
		Long: `Open a conversation as the verified end user, routed with the routing
attributes, send the --message texts first, then chat: lines typed are sent,
agent messages, typing and joins appear as they happen, and /end ends the
chat. The chat also ends when the agent ends it or routing fails.

With --json, stdout carries one JSON event per line ({"kind": "queued" |
"agent_joined" | "agent_message" | "agent_typing" | "transferred" |
"agent_left" | "ended" | "routing_failed" | ...}) after a first
{"kind": "started", "conversation_id": ...} line, and stdin takes JSON lines:
{"text": "..."} sends a message, {"typing": true} shows typing,
{"end": true} ends the chat.`,
		Example: `  sfbridge messaging chat -o dev --user emp-42 --routing Topic=Payroll --message "My payslip is missing"
  echo '{"text":"hello"}' | sfbridge messaging chat -o dev --user emp-42 --json --exit-after 1`,
		Args: cobra.NoArgs,
		RunE: cmdutil.RunE(opts, runF, runChat, required("target", "user")),
	}
	addCommon(cmd, &opts.Alias, &opts.User)
	cmd.Flags().StringToStringVar(&opts.Routing, "routing", nil, "Routing attribute KEY=VALUE (pre-chat field API name), repeatable")
	cmd.Flags().StringArrayVar(&opts.Messages, "message", nil, "Message to send first, repeatable")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "NDJSON events on stdout, NDJSON commands on stdin")
	cmd.Flags().IntVar(&opts.ExitAfter, "exit-after", 0, "End the chat after this many agent messages (for scripts)")
	return cmd
}

type input struct {
	Text   string `json:"text,omitempty"`
	Typing *bool  `json:"typing,omitempty"`
	End    bool   `json:"end,omitempty"`
}

func runChat(ctx context.Context, opts *ChatOptions) error {
	c, p, err := openClient(opts.ConfigDir, opts.Alias, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	h, err := c.StartHandoff(ctx, messaging.HandoffRequest{UserID: opts.User, Routing: opts.Routing, Transcript: opts.Messages})
	if err != nil {
		return classify(err)
	}
	out := opts.IO.Out
	enc := json.NewEncoder(out)
	if opts.JSON {
		_ = enc.Encode(messaging.Event{Kind: "started", ConversationID: h.ID()})
	} else {
		fmt.Fprintf(out, "Conversation %s on %s as %s. Type a message and press Enter; /end leaves.\n", h.ID(), p.Deployment, opts.User)
	}
	inputs := make(chan input)
	go readInput(ctx, opts.IO.In, opts.JSON, inputs, out)
	agentMsgs := 0
	ended := false
	for {
		select {
		case ev, ok := <-h.Events():
			if !ok {
				return ctx.Err()
			}
			if opts.JSON {
				_ = enc.Encode(ev)
			} else {
				printEvent(out, ev)
			}
			switch ev.Kind {
			case messaging.KindAgentMessage:
				agentMsgs++
				if opts.ExitAfter > 0 && agentMsgs >= opts.ExitAfter && !ended {
					ended = true
					if err := h.End(ctx); err != nil {
						return err
					}
				}
			case messaging.KindRoutingFailed:
				return exitcode.With(exitcode.Error, fmt.Errorf("routing failed (%s): %s; check the routing attributes and the channel's Omni-Channel flow", ev.FailureType, ev.Reason))
			case messaging.KindError:
				return ev.Err
			}
		case in, ok := <-inputs:
			if !ok {
				inputs = nil // stdin closed: keep chatting until the chat ends
				continue
			}
			var err error
			switch {
			case in.End:
				if !ended {
					ended = true
					err = h.End(ctx)
				}
			case in.Typing != nil:
				err = h.Typing(ctx, *in.Typing)
			case in.Text != "":
				err = h.Send(ctx, in.Text)
			}
			if err != nil {
				return err
			}
		}
	}
}

// readInput turns stdin lines into inputs until EOF or ctx ends.
func readInput(ctx context.Context, r io.Reader, asJSON bool, inputs chan<- input, out io.Writer) {
	defer close(inputs)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var in input
		switch {
		case asJSON:
			if err := json.Unmarshal([]byte(line), &in); err != nil {
				_ = json.NewEncoder(out).Encode(map[string]string{"kind": "input_error", "error": err.Error()})
				continue
			}
		case line == "/end":
			in.End = true
		default:
			in.Text = line
		}
		select {
		case inputs <- in:
		case <-ctx.Done():
			return
		}
	}
}

func printEvent(w io.Writer, ev messaging.Event) {
	switch ev.Kind {
	case messaging.KindQueued:
		fmt.Fprintf(w, "· Waiting for an agent (estimated wait %s)\n", ev.EstimatedWait.Round(time.Second))
	case messaging.KindAgentJoined:
		fmt.Fprintf(w, "· %s joined\n", ev.Agent)
	case messaging.KindAgentMessage:
		fmt.Fprintf(w, "%s: %s\n", ev.Agent, ev.Text)
	case messaging.KindAgentTyping:
		if ev.Typing {
			fmt.Fprintf(w, "· %s is typing…\n", ev.Agent)
		}
	case messaging.KindTransferred:
		fmt.Fprintln(w, "· Transferred; waiting for the next agent")
	case messaging.KindAgentLeft:
		fmt.Fprintf(w, "· %s left\n", ev.Agent)
	case messaging.KindEnded:
		fmt.Fprintf(w, "· The chat was ended by %s\n", ev.EndedBy)
	case messaging.KindClosed:
		fmt.Fprintln(w, "· The conversation was closed")
	case messaging.KindRoutingFailed:
		fmt.Fprintf(w, "· Routing failed (%s): %s\n", ev.FailureType, ev.Reason)
	case messaging.KindError:
		fmt.Fprintf(w, "· Error: %s\n", ev.Error)
	}
}
