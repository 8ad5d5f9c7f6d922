package botapi

import (
	"context"
	"time"

	"github.com/sfbridge/sfbridge/messaging"
)

// Messenger is what handoffs need of a Messaging for In-App and Web client.
// Create, Send and End are stateless calls any replica can make; Follow
// holds the end user's stream and is used only by the [Pump].
type Messenger interface {
	// Create creates the conversation with its routing attributes and
	// sends the transcript lines as the end user's first messages.
	Create(ctx context.Context, c Conversation) error
	// Send posts the end user's message. A non-empty id (a lowercase
	// UUID) makes the send idempotent: the agent sees the message once
	// however often it is sent with that id.
	Send(ctx context.Context, c Conversation, id, text string) error
	// End ends the chat as the end user and closes the conversation.
	End(ctx context.Context, c Conversation) error
	// Follow delivers the conversation's events from its first entry
	// until it ends or the stream is closed.
	Follow(ctx context.Context, c Conversation) (Stream, error)
}

// Conversation names a handoff's conversation for a Messenger.
type Conversation struct {
	UserID     string
	ID         string // a lowercase UUID
	Routing    map[string]string
	Transcript []string
	// After, for Follow: the entries transcripted at or before it were
	// handled already (zero: follow from the start).
	After time.Time
}

// Stream is a followed conversation.
type Stream interface {
	Events() <-chan messaging.Event
	Close()
}

// NewMessenger adapts a messaging client.
func NewMessenger(c *messaging.Client) Messenger { return clientMessenger{c} }

type clientMessenger struct{ c *messaging.Client }

func (m clientMessenger) Create(ctx context.Context, c Conversation) error {
	cv, err := m.c.Open(ctx, messaging.ConversationOptions{UserID: c.UserID, ConversationID: c.ID, Routing: c.Routing, Transcript: c.Transcript, EndWithSession: true})
	if err != nil {
		return err
	}
	cv.Close() // the pump follows it; the conversation stays open on the server
	return nil
}

func (m clientMessenger) Send(ctx context.Context, c Conversation, id, text string) error {
	d, err := m.c.Detach(c.UserID, c.ID, c.Routing)
	if err != nil {
		return err
	}
	defer d.Release(ctx)
	if id != "" {
		_, err = d.SendWithID(ctx, id, text)
	} else {
		_, err = d.Send(ctx, text)
	}
	return err
}

func (m clientMessenger) End(ctx context.Context, c Conversation) error {
	d, err := m.c.Detach(c.UserID, c.ID, c.Routing)
	if err != nil {
		return err
	}
	defer d.Release(ctx)
	return d.End(ctx)
}

func (m clientMessenger) Follow(ctx context.Context, c Conversation) (Stream, error) {
	// By time, not by entry id: the pump asks for the entries at its
	// watermark again and dedupes them by its journal's stable ids, which
	// is exact even when a crash fell between two events of one entry.
	return m.c.Resume(ctx, messaging.ResumeOptions{UserID: c.UserID, ConversationID: c.ID, Routing: c.Routing, AfterTime: c.After, EndWithSession: true})
}
