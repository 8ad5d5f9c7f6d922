package messaging_test

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	emsg "github.com/sfbridge/sfbridge/emulator/messaging"
	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/keys"
	"github.com/sfbridge/sfbridge/messaging"
	"github.com/sfbridge/sfbridge/sftest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	issuer = "https://bot.example"
	kid    = "bot-key-1"
	user   = "emp-42"
)

// env is an emulated org with a keyset for the test key, Emma (the
// scripted agent) off duty and Alex Agent available, and a client on the
// org's fake clock.
type env struct {
	s   *sftest.Server
	fc  *clock.Fake
	msg *emsg.Server
	cfg messaging.Config
}

func newEnv(t *testing.T) *env {
	t.Helper()
	fc := clock.NewFake(time.Now())
	s := sftest.NewServerWith(t, sftest.Options{Clock: fc, Now: fc.Now})
	m := s.Org.Messaging()
	certs, err := keys.ParseCertificates(s.CertPEM, "cert", keys.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := keys.NewJWK(&s.Key.PublicKey, kid, certs)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(jwk)
	if err := m.PutKeyset(emsg.KeysetSpec{Name: "Bot_Keys", Issuer: issuer, Keys: []json.RawMessage{raw}}); err != nil {
		t.Fatal(err)
	}
	e := &env{s: s, fc: fc, msg: m}
	if err := m.SetPresence("Emma Bot", "Offline"); err != nil {
		t.Fatal(err)
	}
	if err := m.SetPresence("Alex Agent", "Available"); err != nil {
		t.Fatal(err)
	}
	e.cfg = messaging.Config{SCRTURL: s.SCRTURL, OrgID: string(s.Org.OrgID()), DeploymentName: "sfbridge_api", Key: s.Key, KeyID: kid, Issuer: issuer,
		HTTPClient: s.SCRTClient(), Clock: fc}
	return e
}

func (e *env) client(t *testing.T, mod func(*messaging.Config)) *messaging.Client {
	t.Helper()
	cfg := e.cfg
	if mod != nil {
		mod(&cfg)
	}
	c, err := messaging.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		cfg.HTTPClient.CloseIdleConnections()
	})
	return c
}

func (e *env) start(t *testing.T, c *messaging.Client, routing map[string]string, transcript ...string) *messaging.Handoff {
	t.Helper()
	h, err := c.StartHandoff(t.Context(), messaging.HandoffRequest{UserID: user, Routing: routing, Transcript: transcript})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// next returns the next event that is not typing; the deadline only
// bounds a failing test.
func next(t *testing.T, h *messaging.Handoff) messaging.Event {
	t.Helper()
	for {
		select {
		case ev, ok := <-h.Events():
			if !ok {
				t.Fatal("the event channel closed")
			}
			if ev.Kind == messaging.KindAgentTyping {
				continue
			}
			return ev
		case <-time.After(10 * time.Second):
			t.Fatal("no event within 10s")
		}
	}
}

// expect reads events and compares their kinds (and agent text) with want:
// "queued", "agent_joined:Alex Agent", "agent_message:text", "ended:Agent".
func expect(t *testing.T, h *messaging.Handoff, want ...string) []messaging.Event {
	t.Helper()
	var got []messaging.Event
	for _, w := range want {
		ev := next(t, h)
		got = append(got, ev)
		if d := describe(ev); d != w {
			t.Fatalf("event %d: got %s, want %s (so far %v)", len(got), d, w, kinds(got))
		}
	}
	return got
}

func describe(ev messaging.Event) string {
	switch ev.Kind {
	case messaging.KindAgentJoined, messaging.KindAgentLeft:
		return string(ev.Kind) + ":" + ev.Agent
	case messaging.KindAgentMessage:
		return string(ev.Kind) + ":" + ev.Text
	case messaging.KindEnded:
		return string(ev.Kind) + ":" + ev.EndedBy
	case messaging.KindRoutingFailed:
		return string(ev.Kind) + ":" + ev.FailureType
	case messaging.KindError:
		return string(ev.Kind) + ":" + ev.Error
	}
	return string(ev.Kind)
}

func kinds(evs []messaging.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = describe(e)
	}
	return out
}

// closed asserts the channel closes after the terminal event.
func closed(t *testing.T, h *messaging.Handoff) {
	t.Helper()
	select {
	case ev, ok := <-h.Events():
		if ok {
			t.Fatalf("event after the terminal one: %s", describe(ev))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the channel did not close")
	}
}

func (e *env) agent(t *testing.T, name string, f func(m *emsg.Server) error) {
	t.Helper()
	if err := f(e.msg); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func (e *env) send(t *testing.T, conv, text string) {
	t.Helper()
	if _, err := e.msg.Send("Alex Agent", conv, text); err != nil {
		t.Fatal(err)
	}
}

func TestHandoffLifecycle(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, nil)
	h := e.start(t, c, map[string]string{"Topic": "Payroll", "UserId": user}, "Bot: how can I help?", "User: my payslip is missing")
	ev := expect(t, h, "queued")[0]
	if ev.Queue == "" || ev.ConversationID != h.ID() {
		t.Fatalf("queued event %+v", ev)
	}
	e.agent(t, "accept", func(m *emsg.Server) error { return m.Accept("Alex Agent", h.ID()) })
	expect(t, h, "agent_joined:Alex Agent")
	w, err := e.msg.Conversation(h.ID())
	if err != nil {
		t.Fatal(err)
	}
	var said []string
	for _, l := range w.Transcript {
		if l.Type == "Message" {
			said = append(said, l.Text)
		}
	}
	if w.RoutingAttributes["Topic"] != "Payroll" || w.Queue != "Payroll" || strings.Join(said, "|") != "Bot: how can I help?|User: my payslip is missing" {
		t.Fatalf("agent's view %+v", w)
	}
	// Typing from the agent reaches the caller live.
	e.agent(t, "typing", func(m *emsg.Server) error { return m.Typing("Alex Agent", h.ID(), true) })
	select {
	case ev := <-h.Events():
		if ev.Kind != messaging.KindAgentTyping || !ev.Typing || ev.Agent != "Alex Agent" {
			t.Fatalf("typing event %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no typing event")
	}
	e.send(t, h.ID(), "Hello, I am Alex")
	m := expect(t, h, "agent_message:Hello, I am Alex")[0]
	if err := h.MarkRead(t.Context(), m.EntryID); err != nil {
		t.Fatal(err)
	}
	if err := h.Typing(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	if err := h.Send(t.Context(), "thanks"); err != nil {
		t.Fatal(err)
	}
	e.send(t, h.ID(), "Fixed it")
	e.agent(t, "end", func(m *emsg.Server) error { return m.End("Alex Agent", h.ID()) })
	expect(t, h, "agent_message:Fixed it", "agent_left:Alex Agent", "ended:Agent")
	closed(t, h)
	if st := c.Stats(); st.TokensMinted != 1 {
		t.Fatalf("stats %+v", st)
	}
	// The handoff closed the conversation on the server when the agent ended it.
	if w, _ := e.msg.Conversation(h.ID()); w.Status != "Closed" {
		t.Fatalf("status after the end: %s", w.Status)
	}
}

func runtimeYield() { runtime.Gosched() }
