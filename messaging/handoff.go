package messaging

import "context"

// HandoffRequest hands an end user's conversation to a live agent.
type HandoffRequest struct {
	// UserID is the end user's stable id (the identity token's sub).
	UserID string
	// Routing are the routing attributes for the Omni-Channel flow.
	Routing map[string]string
	// Transcript is the bot's conversation so far, sent as the first
	// messages.
	Transcript []string
}

// Handoff is a conversation with a live agent from the bot's side: tokens,
// the stream, reconnects and backfill stay inside. Its Events end with a
// terminal event (ended, routing failed, closed, or error) and then close;
// cancelling the context given to StartHandoff ends it too.
type Handoff struct {
	cv *Conversation
}

// StartHandoff opens the end user's stream, creates the conversation with
// the routing attributes and sends the transcript.
func (c *Client) StartHandoff(ctx context.Context, r HandoffRequest) (*Handoff, error) {
	cv, err := c.Open(ctx, ConversationOptions{UserID: r.UserID, Routing: r.Routing, Transcript: r.Transcript, EndWithSession: true})
	if err != nil {
		return nil, err
	}
	return &Handoff{cv: cv}, nil
}

// ID is the conversation id.
func (h *Handoff) ID() string { return h.cv.ID() }

// Events delivers the handoff's events in order until its terminal event.
func (h *Handoff) Events() <-chan Event { return h.cv.Events() }

// Send sends the end user's message to the agent.
func (h *Handoff) Send(ctx context.Context, text string) error {
	_, err := h.cv.Send(ctx, text)
	return err
}

// Typing shows the agent that the end user is typing (or stopped).
func (h *Handoff) Typing(ctx context.Context, on bool) error { return h.cv.Typing(ctx, on) }

// MarkRead sends read receipts for agent messages.
func (h *Handoff) MarkRead(ctx context.Context, entryIDs ...string) error {
	return h.cv.MarkRead(ctx, entryIDs...)
}

// End ends the chat as the end user: the session ends, the conversation is
// closed, and Events delivers "ended by EndUser" and closes.
func (h *Handoff) End(ctx context.Context) error { return h.cv.End(ctx) }

// Close stops the handoff without telling Salesforce (the agent still sees
// the conversation); use End to leave the chat. It returns when every
// goroutine of the handoff has finished.
func (h *Handoff) Close() { h.cv.Close() }
