package messaging

import (
	"context"
	"fmt"
)

// Attach follows a conversation that already exists (created earlier by
// this or another process, for example before a restart): it connects the
// end user's stream and delivers the conversation's events from its first
// entry, in transcript order, as Open's conversation does. The caller
// dedupes what it had already seen by Event.EntryID. Transcript is
// ignored; Routing is used when a Send has to start a new session.
func (c *Client) Attach(ctx context.Context, o ConversationOptions) (*Conversation, error) {
	if !validUUID(o.ConversationID) {
		return nil, &Error{Op: "attach conversation", Problem: fmt.Sprintf("conversation id %q is not a lowercase UUID", o.ConversationID), Fix: "give the id of a conversation Open created"}
	}
	if _, err := c.IdentityToken(o.UserID); err != nil {
		return nil, err
	}
	s, err := c.acquire(o.UserID)
	if err != nil {
		return nil, err
	}
	if err := s.ensureStream(ctx); err != nil {
		s.release(ctx)
		return nil, err
	}
	cctx, cancel := context.WithCancel(ctx)
	cv := &Conversation{s: s, id: o.ConversationID, routing: o.Routing, endWith: o.EndWithSession,
		events: make(chan Event, c.cfg.EventBuffer), kickc: make(chan struct{}, 1), typingc: make(chan Event, 1), failc: make(chan error, 1),
		cancel: cancel, done: make(chan struct{}), seen: map[string]struct{}{}}
	s.mu.Lock()
	s.convs[cv.id] = cv
	s.mu.Unlock()
	go cv.run(cctx)
	cv.kick()
	return cv, nil
}

// Detached is a handle on an existing conversation for the calls that need
// no stream: Send and End. It shares the end user's session (and token)
// with any conversation of the user open in this client; Release drops it.
type Detached struct {
	cv *Conversation
}

// Send posts a text message as the end user (see Conversation.Send).
func (d *Detached) Send(ctx context.Context, text string) (string, error) { return d.cv.Send(ctx, text) }

// End ends the session and closes the conversation (see Conversation.End).
func (d *Detached) End(ctx context.Context) error { return d.cv.End(ctx) }

// Detach returns a handle on an existing conversation without connecting a
// stream, for a process that sends on behalf of a conversation another
// process follows.
func (c *Client) Detach(userID, conversationID string, routing map[string]string) (*Detached, error) {
	if !validUUID(conversationID) {
		return nil, &Error{Op: "detach conversation", Problem: fmt.Sprintf("conversation id %q is not a lowercase UUID", conversationID), Fix: "give the id of a conversation Open created"}
	}
	if _, err := c.IdentityToken(userID); err != nil {
		return nil, err
	}
	s, err := c.acquire(userID)
	if err != nil {
		return nil, err
	}
	return &Detached{cv: &Conversation{s: s, id: conversationID, routing: routing, done: make(chan struct{}), cancel: func() {}}}, nil
}

// Release drops the handle's reference to the end user's session (the last
// reference revokes the access token).
func (d *Detached) Release(ctx context.Context) { d.cv.s.release(ctx) }
