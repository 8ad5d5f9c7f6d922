package messaging

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// conversationalSetup has one conversational scripted agent, Sam, and the
// human agents of testSetup offline.
func conversationalSetup() Setup {
	su := testSetup()
	su.Agents[0].Presence = "Offline" // Ann
	su.Agents[1].Presence = "Offline" // Pat
	su.Agents = append(su.Agents, AgentSpec{Name: "Sam", Queues: []string{"General"}, Capacity: 5, Script: &ScriptSpec{
		AcceptDelay: Duration(2 * time.Second), ReplyDelay: Duration(time.Second),
		FirstReply: "Hi, this is Sam. I have read your conversation; how can I help?",
		Replies:    []string{"Let me check that.", "Done: {text}"}, EndWords: []string{"bye"}, Farewell: "Goodbye!"}})
	return su
}

func TestConversationalScriptedAgent(t *testing.T) {
	h := newHarness(t, conversationalSetup())
	c := h.client()
	c.guest()
	s := c.openSSE("", nil)
	id := newUUID()
	c.create(id, nil)
	s.expect("CONVERSATION_ROUTING_RESULT")
	// A bot hands over: its transcript arrives before the agent joins.
	for _, line := range []string{"User: my laptop will not start", "Bot: I could not help; handing over"} {
		if st, out := c.send(id, line); st != 202 {
			t.Fatalf("send: %d %s", st, out)
		}
		s.expect("CONVERSATION_MESSAGE")
	}
	h.fc.Advance(2 * time.Second)
	s.expect("CONVERSATION_SESSION_STATUS_CHANGED")
	s.expect("CONVERSATION_PARTICIPANT_CHANGED")
	// Joining, Sam answers the transcript once, after the reply delay.
	settled(t, h, id)
	h.fc.Advance(time.Second)
	env, p := s.expect("CONVERSATION_MESSAGE")
	if env.ConversationEntry.Sender.Role != "Agent" || messageText(t, p) != "Hi, this is Sam. I have read your conversation; how can I help?" {
		t.Fatalf("first reply %v", p)
	}
	// A burst of two messages gets one answer; the next burst the next one.
	for i, want := range []string{"Let me check that.", "Done: it is plugged in"} {
		texts := []string{"it is the Dell one", "it is plugged in"}
		if i == 0 {
			texts = texts[:1]
		}
		for _, text := range texts {
			c.send(id, text)
			s.expect("CONVERSATION_MESSAGE")
		}
		settled(t, h, id)
		h.fc.Advance(time.Second)
		env, p := s.expect("CONVERSATION_MESSAGE")
		if env.ConversationEntry.Sender.Role != "Agent" || messageText(t, p) != want {
			t.Fatalf("answer %d: %v, want %q", i, p, want)
		}
	}
	// "Bye" ends the session with the farewell.
	c.send(id, "Thanks, bye!")
	s.expect("CONVERSATION_MESSAGE")
	settled(t, h, id)
	h.fc.Advance(time.Second)
	if _, p := s.expect("CONVERSATION_MESSAGE"); messageText(t, p) != "Goodbye!" {
		t.Fatalf("farewell %v", p)
	}
	s.expect("CONVERSATION_PARTICIPANT_CHANGED")
	if _, p := s.expect("CONVERSATION_SESSION_STATUS_CHANGED"); p["sessionStatus"] != "Ended" || p["sessionEndedByRole"] != "Agent" {
		t.Fatalf("end %v", p)
	}
}

// settled waits until what the server does under its lock is done: an
// answer is scheduled by the request that brought the message (done when
// it returned) or by the timer callback that made the agent join (which
// holds the lock from before its events go out until it has scheduled).
func settled(t *testing.T, h *harness, id string) {
	t.Helper()
	if _, err := h.srv.Conversation(id); err != nil {
		t.Fatal(err)
	}
}

func TestHumanTakesOverFromScriptedAgent(t *testing.T) {
	h := newHarness(t, conversationalSetup())
	c := h.client()
	c.guest()
	s := c.openSSE("", nil)
	id := newUUID()
	c.create(id, nil)
	s.expect("CONVERSATION_ROUTING_RESULT")
	h.fc.Advance(2 * time.Second)
	s.expect("CONVERSATION_SESSION_STATUS_CHANGED")
	s.expect("CONVERSATION_PARTICIPANT_CHANGED")
	if err := h.srv.TakeOver("Ann", id); err == nil {
		t.Fatal("an Offline agent took over")
	}
	if err := h.srv.SetPresence("Ann", "Available"); err != nil {
		t.Fatal(err)
	}
	work, err := h.srv.Work("Ann", false)
	if err != nil || len(work) != 1 || work[0].Agent != "Sam" || !work[0].AgentScripted {
		t.Fatalf("Ann's work %+v %v", work, err)
	}
	// Sam has an answer pending when Ann takes over: it is not sent.
	c.send(id, "hello?")
	s.expect("CONVERSATION_MESSAGE")
	settled(t, h, id)
	if err := h.srv.TakeOver("Ann", id); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"left", "joined"} {
		if _, p := s.expect("CONVERSATION_PARTICIPANT_CHANGED"); p["entries"].([]any)[0].(map[string]any)["operation"] != map[string]string{"left": "remove", "joined": "add"}[want] {
			t.Fatalf("%s: %v", want, p)
		}
	}
	h.fc.Advance(5 * time.Second)
	c.send(id, "anyone?")
	s.expect("CONVERSATION_MESSAGE")
	h.fc.Advance(5 * time.Second)
	if _, err := h.srv.Send("Ann", id, "Ann here"); err != nil {
		t.Fatal(err)
	}
	// The next message is Ann's: the script said nothing.
	env, p := s.expect("CONVERSATION_MESSAGE")
	if env.ConversationEntry.SenderDisplayName != "Ann" || messageText(t, p) != "Ann here" {
		t.Fatalf("after take-over %v %v", env, p)
	}
	if err := h.srv.TakeOver("Pat", id); err == nil {
		t.Fatal("took over from a person")
	}
	// The admin API's action, as the console calls it.
	admin := httptest.NewServer(h.srv.AdminHandler())
	defer admin.Close()
	resp, err := admin.Client().Post(admin.URL+AdminPrefix+"conversations/"+id+"/takeover", "application/json", strings.NewReader(`{"agent":"Pat"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("takeover from a person over the admin API: %s", resp.Status)
	}
	w, _ := h.srv.Conversation(id)
	if w.Agent != "Ann" || w.AgentScripted {
		t.Fatalf("work item %+v", w)
	}
}

func TestScriptEndWords(t *testing.T) {
	sc := &ScriptSpec{EndWords: []string{"bye"}}
	for text, want := range map[string]bool{"bye": true, "OK, Bye!": true, "goodbye": false, "bye-bye": false, "by e": false, "": false} {
		if got := sc.endsWith(text); got != want {
			t.Errorf("endsWith(%q) = %v, want %v", text, got, want)
		}
	}
}
