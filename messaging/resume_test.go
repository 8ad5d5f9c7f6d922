package messaging_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	emsg "github.com/sfbridge/sfbridge/emulator/messaging"
	"github.com/sfbridge/sfbridge/messaging"
)

// crashAfter starts a handoff with a first client, has Alex accept it and
// send "before", and closes that client as a crashed process would leave
// it: the conversation stays open on the server. It returns the
// conversation id and the EntryID of the last event the caller handled.
func (e *env) crashAfter(t *testing.T) (conv, after string) {
	t.Helper()
	c1 := e.client(t, nil)
	h := e.accepted(t, c1)
	e.send(t, h.ID(), "before")
	ev := expect(t, h, "agent_message:before")[0]
	lastEntryIs(t, h, ev.EntryID)
	c1.Close()
	closed(t, h)
	return h.ID(), ev.EntryID
}

// lastEntryIs waits for LastEntryID to reach want: the entry is marked
// delivered right after its event was handed over, so a caller may read the
// event first.
func lastEntryIs(t *testing.T, h *messaging.Handoff, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for h.LastEntryID() != want {
		if time.Now().After(deadline) {
			t.Fatalf("LastEntryID %q, want the last delivered entry %q", h.LastEntryID(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

func (e *env) resume(t *testing.T, c *messaging.Client, conv, after string) *messaging.Handoff {
	t.Helper()
	h, err := c.ResumeHandoff(t.Context(), messaging.HandoffResume{UserID: user, ConversationID: conv, After: after, Routing: map[string]string{"Topic": "Benefits"}})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestResumeDeliversWhatWasMissedThenLive(t *testing.T) {
	e := newEnv(t)
	conv, after := e.crashAfter(t)
	// While no client listens the agent writes twice.
	e.send(t, conv, "while away 1")
	e.send(t, conv, "while away 2")
	c2 := e.client(t, nil)
	h := e.resume(t, c2, conv, after)
	expect(t, h, "agent_message:while away 1", "agent_message:while away 2")
	e.send(t, conv, "live")
	last := expect(t, h, "agent_message:live")[0]
	lastEntryIs(t, h, last.EntryID)
	// The resumed handoff is a full one: the employee can write, and the
	// agent's end ends it.
	if err := h.Send(t.Context(), "thanks"); err != nil {
		t.Fatal(err)
	}
	e.agent(t, "end", func(m *emsg.Server) error { return m.End("Alex Agent", conv) })
	expect(t, h, "agent_left:Alex Agent", "ended:Agent")
	closed(t, h)
	if w, _ := e.msg.Conversation(conv); w.Status != "Closed" {
		t.Fatalf("status after the end: %s", w.Status)
	}
}

func TestResumeAfterTheConversationEnded(t *testing.T) {
	e := newEnv(t)
	conv, after := e.crashAfter(t)
	e.send(t, conv, "last words")
	e.agent(t, "end", func(m *emsg.Server) error { return m.End("Alex Agent", conv) })
	c2 := e.client(t, nil)
	h := e.resume(t, c2, conv, after)
	got := expect(t, h, "agent_message:last words", "agent_left:Alex Agent", "ended:Agent")
	closed(t, h)
	// The terminal event was handled: resuming after it delivers nothing.
	h2 := e.resume(t, c2, conv, got[len(got)-1].EntryID)
	closed(t, h2)
	if w, _ := e.msg.Conversation(conv); w.Status != "Closed" {
		t.Fatalf("a resumed handoff whose session ended leaves the conversation %s", w.Status)
	}
}

func TestResumeFromStartAndByTime(t *testing.T) {
	e := newEnv(t)
	conv, _ := e.crashAfter(t)
	c2 := e.client(t, nil)
	// No position: everything from the start, once.
	h, err := c2.Resume(t.Context(), messaging.ResumeOptions{UserID: user, ConversationID: conv})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"queued", "agent_joined:Alex Agent", "agent_message:before"} {
		select {
		case ev := <-h.Events():
			if describe(ev) != w {
				t.Fatalf("got %s, want %s", describe(ev), w)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s", w)
		}
	}
	h.Close()
	// By time: what was transcripted after it.
	e.fc.Advance(time.Second)
	mark := e.fc.Now()
	e.fc.Advance(time.Second)
	e.send(t, conv, "after the mark")
	h3, err := c2.ResumeHandoff(t.Context(), messaging.HandoffResume{UserID: user, ConversationID: conv, AfterTime: mark})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, h3, "agent_message:after the mark")
	h3.Close()
}

func TestResumeRefusesUnknownPositions(t *testing.T) {
	e := newEnv(t)
	conv, _ := e.crashAfter(t)
	c2 := e.client(t, nil)
	_, err := c2.ResumeHandoff(t.Context(), messaging.HandoffResume{UserID: user, ConversationID: conv, After: "not-an-entry"})
	var me *messaging.Error
	if !errors.As(err, &me) || !strings.Contains(me.Problem, "not an entry") {
		t.Fatalf("unknown After: %v", err)
	}
	_, err = c2.ResumeHandoff(t.Context(), messaging.HandoffResume{UserID: "someone-else", ConversationID: conv})
	if !errors.As(err, &me) || !strings.Contains(me.Problem, "not found") {
		t.Fatalf("another user's conversation: %v", err)
	}
	_, err = c2.ResumeHandoff(t.Context(), messaging.HandoffResume{UserID: user, ConversationID: "Not-A-UUID"})
	if err == nil {
		t.Fatal("a bad conversation id was accepted")
	}
}

// loseFirst forwards the first request matching method and path suffix to
// the server and then reports a dropped connection instead of its answer,
// as a send whose response was lost looks to the client.
type loseFirst struct {
	next   http.RoundTripper
	method string
	suffix string
	lost   atomic.Int32
}

func (l *loseFirst) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(r)
	if err == nil && r.Method == l.method && strings.HasSuffix(r.URL.Path, l.suffix) && l.lost.Add(1) == 1 {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return nil, fmt.Errorf("reading the answer: %w", io.ErrUnexpectedEOF)
	}
	return resp, err
}

// agentSaw counts the end user's messages with text in the agent's view.
func (e *env) agentSaw(t *testing.T, conv, text string) int {
	t.Helper()
	w, err := e.msg.Conversation(conv)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range w.Transcript {
		if l.Type == "Message" && l.Text == text {
			n++
		}
	}
	return n
}

func TestSendIsIdempotent(t *testing.T) {
	for _, mode := range []string{"post", "accept", "reject"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t)
			if err := e.msg.PatchSettings(emsg.SettingsSpec{DuplicateMessageID: mode}); err != nil {
				t.Fatal(err)
			}
			lf := &loseFirst{next: e.cfg.HTTPClient.Transport, method: http.MethodPost, suffix: "/message"}
			if lf.next == nil {
				lf.next = http.DefaultTransport
			}
			// The real clock for the client: the retry waits its backoff.
			c := e.client(t, func(c *messaging.Config) {
				c.Clock = nil
				c.HTTPClient = &http.Client{Transport: lf}
			})
			h := e.accepted(t, c)
			if err := h.Send(t.Context(), "sent once"); err != nil {
				t.Fatal(err)
			}
			if lf.lost.Load() < 1 {
				t.Fatal("no answer was lost")
			}
			if n := e.agentSaw(t, h.ID(), "sent once"); n != 1 {
				t.Fatalf("the agent saw the message %d times", n)
			}
			// A caller's own retry under the same id (after a restart, say)
			// is not posted again either.
			id := "6f0c1a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b"
			for range 2 {
				if err := h.SendWithID(t.Context(), id, "chosen id"); err != nil {
					t.Fatal(err)
				}
			}
			if n := e.agentSaw(t, h.ID(), "chosen id"); n != 1 {
				t.Fatalf("the agent saw the message sent twice under one id %d times", n)
			}
			if err := h.SendWithID(t.Context(), "Not-A-UUID", "x"); err == nil {
				t.Fatal("a bad message id was accepted")
			}
			h.Close()
		})
	}
}
