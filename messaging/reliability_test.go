package messaging_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	emsg "github.com/sfbridge/sfbridge/emulator/messaging"
	"github.com/sfbridge/sfbridge/internal/backoff"
	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/messaging"
)

// accepted starts a handoff and has Alex accept it.
func (e *env) accepted(t *testing.T, c *messaging.Client) *messaging.Handoff {
	t.Helper()
	h := e.start(t, c, map[string]string{"Topic": "Benefits"})
	expect(t, h, "queued")
	e.agent(t, "accept", func(m *emsg.Server) error { return m.Accept("Alex Agent", h.ID()) })
	expect(t, h, "agent_joined:Alex Agent")
	return h
}

func msgs(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("agent_message:%s %d", prefix, i+1)
	}
	return out
}

func TestEveryNthEventDropped(t *testing.T) {
	e := newEnv(t)
	h := e.accepted(t, e.client(t, nil))
	const n, every = 30, 3
	for i := 1; i <= n; i++ {
		if i%every == 0 {
			// The next event never reaches the stream (list-entries has it).
			if _, err := e.msg.AddSSEFault(emsg.SSEFault{Action: "drop", Event: "CONVERSATION_MESSAGE"}); err != nil {
				t.Fatal(err)
			}
		}
		e.send(t, h.ID(), fmt.Sprintf("m %d", i))
	}
	// The last one dropped too: the agent's end is the last event, and it
	// arrives.
	e.agent(t, "end", func(m *emsg.Server) error { return m.End("Alex Agent", h.ID()) })
	expect(t, h, append(msgs("m", n), "agent_left:Alex Agent", "ended:Agent")...)
	closed(t, h)
	fired := 0
	for _, f := range e.msg.SSEFaults() {
		fired += f.Fired
	}
	if fired != n/every {
		t.Fatalf("%d drops fired, want %d", fired, n/every)
	}
}

func TestLastEventDroppedIsFoundByReconcile(t *testing.T) {
	e := newEnv(t)
	h := e.accepted(t, e.client(t, nil))
	if _, err := e.msg.AddSSEFault(emsg.SSEFault{Action: "drop", Count: 3}); err != nil {
		t.Fatal(err)
	}
	e.send(t, h.ID(), "only via list-entries")
	e.agent(t, "end", func(m *emsg.Server) error { return m.End("Alex Agent", h.ID()) })
	// Nothing reached the stream; the reconcile tick reads the entries.
	e.fc.Advance(61 * time.Second)
	expect(t, h, "agent_message:only via list-entries", "agent_left:Alex Agent", "ended:Agent")
	closed(t, h)
}

func TestDuplicateAndDelayedEvents(t *testing.T) {
	e := newEnv(t)
	h := e.accepted(t, e.client(t, nil))
	if _, err := e.msg.AddSSEFault(emsg.SSEFault{Action: "duplicate", Count: 4}); err != nil {
		t.Fatal(err)
	}
	e.send(t, h.ID(), "d 1")
	e.send(t, h.ID(), "d 2")
	if _, err := e.msg.AddSSEFault(emsg.SSEFault{Action: "delay", Event: "CONVERSATION_MESSAGE", Count: 2, Delay: emsg.Duration(5 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	e.send(t, h.ID(), "d 3")
	e.send(t, h.ID(), "d 4")
	e.send(t, h.ID(), "d 5")
	expect(t, h, msgs("d", 5)...)
	// The delayed events arrive late, with new ids: nothing is delivered twice.
	e.fc.Advance(5 * time.Second)
	e.send(t, h.ID(), "d 6")
	e.agent(t, "end", func(m *emsg.Server) error { return m.End("Alex Agent", h.ID()) })
	expect(t, h, "agent_message:d 6", "agent_left:Alex Agent", "ended:Agent")
	closed(t, h)
}

func TestTokenExpiryMidChat(t *testing.T) {
	e := newEnv(t)
	// Only the token's expiry is under test: no heartbeat or reconcile
	// timer falls due while the clock jumps.
	c := e.client(t, func(c *messaging.Config) { c.HeartbeatTimeout, c.ReconcileInterval = 2*time.Hour, -1 })
	h := e.accepted(t, c)
	e.send(t, h.ID(), "before")
	expect(t, h, "agent_message:before")
	// The verified-user token lifetime (60 min) passes: the server ends the
	// stream with its 401 body; the client mints again and reconnects.
	e.fc.Advance(61 * time.Minute)
	e.msg.Recheck()
	e.send(t, h.ID(), "after")
	expect(t, h, "agent_message:after")
	if err := h.Send(t.Context(), "still here"); err != nil {
		t.Fatal(err)
	}
	e.agent(t, "end", func(m *emsg.Server) error { return m.End("Alex Agent", h.ID()) })
	expect(t, h, "agent_left:Alex Agent", "ended:Agent")
	closed(t, h)
	if st := c.Stats(); st.TokensMinted < 2 || st.Reconnects < 1 {
		t.Fatalf("stats %+v: want a second token and a reconnect", st)
	}
}

func TestRenewsBeforeExpiry(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, nil)
	h := e.accepted(t, c)
	e.fc.Advance(56 * time.Minute) // within RenewBefore (5m) of the 60m expiry
	if err := h.Send(t.Context(), "renewed"); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.TokensMinted != 2 {
		t.Fatalf("minted %d tokens, want 2 (a fresh identity token, not a continuation)", st.TokensMinted)
	}
}

func Test401OnSend(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, nil)
	h := e.accepted(t, c)
	if n := e.msg.ExpireTokens(""); n == 0 {
		t.Fatal("no token expired")
	}
	if err := h.Send(t.Context(), "after a 401"); err != nil {
		t.Fatal(err)
	}
	w, _ := e.msg.Conversation(h.ID())
	if last := w.Transcript[len(w.Transcript)-1]; last.Text != "after a 401" {
		t.Fatalf("last line %+v", last)
	}
	e.send(t, h.ID(), "reply")
	expect(t, h, "agent_message:reply")
}

func TestTransferThenNewAgent(t *testing.T) {
	e := newEnv(t)
	if err := e.msg.PutAgent(emsg.AgentSpec{Name: "Jane Agent", Queues: []string{"Payroll"}, Capacity: 2, Presence: "Available"}); err != nil {
		t.Fatal(err)
	}
	h := e.accepted(t, e.client(t, nil))
	e.send(t, h.ID(), "let me transfer you")
	e.agent(t, "transfer", func(m *emsg.Server) error { return m.Transfer(h.ID(), "Payroll", "") })
	// A transfer is not an end.
	got := expect(t, h, "agent_message:let me transfer you", "agent_left:Alex Agent", "transferred")
	if got[2].Queue == "" {
		t.Fatalf("transfer without a queue: %+v", got[2])
	}
	e.agent(t, "accept", func(m *emsg.Server) error { return m.Accept("Jane Agent", h.ID()) })
	if _, err := e.msg.Send("Jane Agent", h.ID(), "Jane here"); err != nil {
		t.Fatal(err)
	}
	e.agent(t, "end", func(m *emsg.Server) error { return m.End("Jane Agent", h.ID()) })
	expect(t, h, "agent_joined:Jane Agent", "agent_message:Jane here", "agent_left:Jane Agent", "ended:Agent")
	closed(t, h)
}

func TestEndUserCloses(t *testing.T) {
	e := newEnv(t)
	h := e.accepted(t, e.client(t, nil))
	e.send(t, h.ID(), "anything else?")
	expect(t, h, "agent_message:anything else?")
	if err := h.End(t.Context()); err != nil {
		t.Fatal(err)
	}
	expect(t, h, "agent_left:Alex Agent", "ended:EndUser")
	closed(t, h)
	if err := h.Send(t.Context(), "too late"); !errors.Is(err, messaging.ErrClosed) {
		t.Fatalf("send after the end: %v", err)
	}
	if w, _ := e.msg.Conversation(h.ID()); w.Status != "Closed" {
		t.Fatalf("status %s", w.Status)
	}
}

func TestRoutingFailure(t *testing.T) {
	e := newEnv(t)
	if err := e.msg.FailRouting(1, "RoutingError", "No agent can take it"); err != nil {
		t.Fatal(err)
	}
	h := e.start(t, e.client(t, nil), map[string]string{"Topic": "Payroll"})
	ev := expect(t, h, "routing_failed:RoutingError")[0]
	if ev.Reason != "No agent can take it" {
		t.Fatalf("reason %q", ev.Reason)
	}
	closed(t, h)
}

func TestNoActiveSessionStartsANewOne(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, nil)
	cv, err := c.Open(t.Context(), messaging.ConversationOptions{UserID: user, Routing: map[string]string{"Topic": "Payroll"}})
	if err != nil {
		t.Fatal(err)
	}
	defer cv.Close()
	e.agent(t, "accept", func(m *emsg.Server) error { return m.Accept("Alex Agent", cv.ID()) })
	if err := cv.EndSession(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The session is over: the server answers 417 and the client starts a
	// new session with the routing attributes.
	if _, err := cv.Send(t.Context(), "one more question"); err != nil {
		t.Fatal(err)
	}
	w, _ := e.msg.Conversation(cv.ID())
	if w.Status != "Waiting" || w.RoutingAttributes["Topic"] != "Payroll" {
		t.Fatalf("after 417: %+v", w)
	}
	var seen []string
	for ev := range cv.Events() {
		seen = append(seen, describe(ev))
		if len(seen) == 5 {
			break
		}
	}
	if strings.Join(seen, ",") != "queued,agent_joined:Alex Agent,agent_left:Alex Agent,ended:EndUser,queued" {
		t.Fatalf("events %v", seen)
	}
}

func TestUnknownEventsAreCountedAndIgnored(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, nil)
	h := e.accepted(t, c)
	for _, name := range []string{"CONVERSATION_SOMETHING_NEW", "CONVERSATION_QUEUE_POSITION"} {
		if err := e.msg.InjectEvent(h.ID(), name, []byte(`{"x":1}`)); err != nil {
			t.Fatal(err)
		}
	}
	e.send(t, h.ID(), "after the unknown")
	expect(t, h, "agent_message:after the unknown")
	// The message may have been read by a backfill already under way, so
	// the stream's count is awaited (bounded).
	deadline := time.Now().Add(10 * time.Second)
	for c.Stats().UnknownEvents < 2 && time.Now().Before(deadline) {
		runtimeYield()
	}
	if st := c.Stats(); st.UnknownEvents != 2 {
		t.Fatalf("unknown events %d, want 2", st.UnknownEvents)
	}
	e.agent(t, "end", func(m *emsg.Server) error { return m.End("Alex Agent", h.ID()) })
	expect(t, h, "agent_left:Alex Agent", "ended:Agent")
	closed(t, h)
}

// TestEmulatorRestart serves the emulator's SCRT host on a listener this
// test stops and starts again on the same address: the stream breaks, the
// client backs off (on the fake clock) and reconnects, and what the agent
// wrote meanwhile arrives once, in order.
func TestEmulatorRestart(t *testing.T) {
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	serve := func(ln net.Listener) *http.Server {
		srv := &http.Server{Handler: e.msg.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		return srv
	}
	srv := serve(ln)
	hc := &http.Client{Transport: &http.Transport{}}
	const wait = 7 * time.Second // shorter than the emulator's 15 s pings
	c := e.client(t, func(cfg *messaging.Config) {
		cfg.SCRTURL, cfg.HTTPClient = "http://"+addr, hc
		cfg.Reconnect = backoff.Policy{Initial: wait, Max: wait}
		cfg.ReconcileInterval = -1
	})
	h := e.accepted(t, c)
	e.send(t, h.ID(), "r 1")
	expect(t, h, "agent_message:r 1")

	_ = srv.Close() // the host goes away, connections and all
	e.send(t, h.ID(), "r 2")
	e.send(t, h.ID(), "r 3")
	// Let the client fail to reconnect at least once before the host is back.
	// Wait (bounded) until the client failed to reconnect and armed its
	// backoff timer on the fake clock.
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, ok := e.fc.NextDeadline()
		if c.Stats().ConnectFailures > 0 && ok && d.After(e.fc.Now()) && !d.After(e.fc.Now().Add(wait)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the client did not back off after failing to reconnect")
		}
		runtimeYield()
	}
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv2 := serve(ln2)
	defer srv2.Close()
	e.fc.Advance(wait)
	e.send(t, h.ID(), "r 4")
	e.agent(t, "end", func(m *emsg.Server) error { return m.End("Alex Agent", h.ID()) })
	// The clock goes on while we wait: a read that met a connection of the
	// closed host retries after a backoff on this clock, and the client's
	// backoff timer may have been armed just after the Advance above.
	var got []string
	for _, want := range []string{"agent_message:r 2", "agent_message:r 3", "agent_message:r 4", "agent_left:Alex Agent", "ended:Agent"} {
		ev := nextDriving(t, e.fc, h, time.Second)
		got = append(got, describe(ev))
		if got[len(got)-1] != want {
			t.Fatalf("after the restart got %v, want %s next", got, want)
		}
	}
	closed(t, h)
	c.Close()
	hc.CloseIdleConnections()
}

func TestContextCancelEndsEverything(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	h, err := c.StartHandoff(ctx, messaging.HandoffRequest{UserID: user, Routing: map[string]string{"Topic": "Payroll"}})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, h, "queued")
	cancel()
	for range h.Events() {
	}
	// The session's stream is gone and its token revoked.
	deadline := time.Now().Add(10 * time.Second)
	for e.msg.Streams() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d streams still open", e.msg.Streams())
		}
		runtimeYield()
	}
}

// TestHeartbeatTimeout: a stream that goes silent (no event, no ping) is
// given up after the heartbeat timeout and reconnected, and what it did not
// carry is read after the reconnect.
func TestHeartbeatTimeout(t *testing.T) {
	e := newEnv(t)
	// The server pings every hour: a silent stream.
	if err := e.msg.PatchSettings(emsg.SettingsSpec{PingInterval: emsg.Duration(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// No reconcile: only the reconnect can bring the dropped entry.
	c := e.client(t, func(c *messaging.Config) { c.HeartbeatTimeout, c.ReconcileInterval = 30*time.Second, -1 })
	h := e.accepted(t, c)
	if _, err := e.msg.AddSSEFault(emsg.SSEFault{Action: "drop", Event: "CONVERSATION_MESSAGE"}); err != nil {
		t.Fatal(err)
	}
	e.send(t, h.ID(), "lost on the stream")
	if st := c.Stats(); st.Reconnects != 0 {
		t.Fatalf("reconnected before the timeout: %+v", st)
	}
	e.fc.Advance(31 * time.Second)
	expect(t, h, "agent_message:lost on the stream")
	// The entry may also ride on a read that an earlier doorbell started,
	// and a frame that was still in flight moves the heartbeat on, so the
	// reconnect is awaited on its own: each silent 31 s must end the stream.
	deadline := time.Now().Add(10 * time.Second)
	nudge := time.Now().Add(200 * time.Millisecond)
	for c.Stats().Reconnects == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v, want a reconnect after the heartbeat timeout", c.Stats())
		}
		if time.Now().After(nudge) {
			e.fc.Advance(31 * time.Second)
			nudge = time.Now().Add(200 * time.Millisecond)
		}
		runtimeYield()
	}
}

// nextDriving is next, for a test whose client waits on the fake clock:
// while no event comes it moves the clock on by step, every 20 ms of real
// time, for up to 10 s.
func nextDriving(t *testing.T, fc *clock.Fake, h *messaging.Handoff, step time.Duration) messaging.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case ev, ok := <-h.Events():
			if !ok {
				t.Fatal("the event channel closed")
			}
			if ev.Kind != messaging.KindAgentTyping {
				return ev
			}
		case <-time.After(20 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatal("no event within 10s")
			}
			fc.Advance(step)
		}
	}
}
