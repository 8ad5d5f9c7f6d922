package messaging

import (
	"context"
	"time"
)

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

// HandoffResume re-attaches to a handoff started earlier (by this process
// before a restart, or another one).
type HandoffResume struct {
	// UserID is the end user the handoff was started for.
	UserID string
	// ConversationID is Handoff.ID of the handoff.
	ConversationID string
	// After is the EntryID of the last (non-typing) event handled, or
	// Handoff.LastEntryID; see ResumeOptions.After.
	After string
	// AfterTime is used when After is empty; see ResumeOptions.AfterTime.
	AfterTime time.Time
	// Routing are the handoff's routing attributes (used again if a
	// message must start a new session).
	Routing map[string]string
}

// ResumeHandoff re-attaches to a handoff: its Events deliver, exactly once
// and in order, what happened after r.After and then live events, until
// the terminal event. A handoff that ended while nobody listened delivers
// its remaining events and the terminal event; one whose terminal event
// was handled already (at or before r.After) has its Events channel closed
// at once.
func (c *Client) ResumeHandoff(ctx context.Context, r HandoffResume) (*Handoff, error) {
	cv, err := c.Resume(ctx, ResumeOptions{UserID: r.UserID, ConversationID: r.ConversationID, After: r.After, AfterTime: r.AfterTime,
		Routing: r.Routing, EndWithSession: true})
	if err != nil {
		return nil, err
	}
	return &Handoff{cv: cv}, nil
}

// ID is the conversation id.
func (h *Handoff) ID() string { return h.cv.ID() }

// LastEntryID is the id of the last entry whose events were handed to
// Events; see Conversation.LastEntryID.
func (h *Handoff) LastEntryID() string { return h.cv.LastEntryID() }

// Events delivers the handoff's events in order until its terminal event.
func (h *Handoff) Events() <-chan Event { return h.cv.Events() }

// Send sends the end user's message to the agent.
func (h *Handoff) Send(ctx context.Context, text string) error {
	_, err := h.cv.Send(ctx, text)
	return err
}

// SendWithID sends the end user's message under a message id the caller
// chose (a lowercase UUID), so that sending it again — after a lost answer,
// or after a restart and ResumeHandoff — never shows the agent two copies.
func (h *Handoff) SendWithID(ctx context.Context, id, text string) error {
	_, err := h.cv.SendWithID(ctx, id, text)
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
