package messaging

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/sfbridge/sfbridge/internal/uuidstr"
)

// Detached is a handle on an existing conversation for the calls that need
// no stream: Send and End. A process that serves requests for a
// conversation another process follows (with Resume) uses it. It shares
// the end user's session (and token) with any conversation of the user
// open in this client; Release drops it.
type Detached struct {
	cv *Conversation
}

// Detach returns a handle on an existing conversation without connecting
// the end user's stream.
func (c *Client) Detach(userID, conversationID string, routing map[string]string) (*Detached, error) {
	if !uuidstr.Valid(conversationID) {
		return nil, &Error{Op: "detach conversation", Problem: fmt.Sprintf("conversation id %q is not a lowercase UUID", conversationID), Fix: "give the id of a conversation Open created"}
	}
	if _, err := c.IdentityToken(userID); err != nil {
		return nil, err
	}
	s, err := c.acquire(userID)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	// finished: no pump ever runs for this handle.
	cv := &Conversation{s: s, id: conversationID, routing: routing, ctx: ctx, cancel: cancel, done: make(chan struct{}), finished: true}
	return &Detached{cv: cv}, nil
}

// Send posts a text message as the end user (see Conversation.Send).
func (d *Detached) Send(ctx context.Context, text string) (string, error) {
	return d.cv.Send(ctx, text)
}

// SendWithID posts a text message under a caller-chosen id, once however
// often it is retried (see Conversation.SendWithID).
func (d *Detached) SendWithID(ctx context.Context, id, text string) (string, error) {
	return d.cv.SendWithID(ctx, id, text)
}

// End ends the session and closes the conversation on the server; the
// process that follows the conversation receives the events that follow.
func (d *Detached) End(ctx context.Context) error {
	err := d.cv.s.call(ctx, http.MethodDelete, apiPrefix+"/conversation/"+d.cv.id+"?esDeveloperName="+url.QueryEscape(d.cv.s.c.cfg.DeploymentName), nil, nil)
	if err != nil {
		return &Error{Op: "close conversation", Problem: "refused", Err: err}
	}
	return nil
}

// Release drops the handle's reference to the end user's session (the last
// reference stops nothing else and revokes the access token).
func (d *Detached) Release(ctx context.Context) {
	d.cv.cancel()
	d.cv.s.release(ctx)
}
