package messaging

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestScriptedAgent(t *testing.T) {
	su := testSetup()
	su.Agents = append(su.Agents, AgentSpec{Name: "Robo", Queues: []string{"General"}, Capacity: 1, Script: &ScriptSpec{
		AcceptDelay: Duration(3 * time.Second), Greeting: "Hello from Robo", Reply: "echo: {text}", ReplyDelay: Duration(time.Second), EndAfter: 2}})
	su.Agents[0].Presence = "Offline" // Ann
	su.Agents[1].Presence = "Offline" // Pat
	h := newHarness(t, su)
	c := h.client()
	c.guest()
	s := c.openSSE("", nil)
	id := newUUID()
	c.create(id, nil)
	s.expect("CONVERSATION_ROUTING_RESULT")
	h.fc.Advance(2 * time.Second)
	if w, _ := h.srv.Conversation(id); w.Agent != "" {
		t.Fatalf("accepted before the accept delay: %+v", w)
	}
	h.fc.Advance(time.Second)
	s.expect("CONVERSATION_SESSION_STATUS_CHANGED")
	s.expect("CONVERSATION_PARTICIPANT_CHANGED")
	_, p := s.expect("CONVERSATION_MESSAGE")
	if messageText(t, p) != "Hello from Robo" {
		t.Fatalf("greeting %v", p)
	}
	// A second conversation waits: Robo's capacity is 1.
	id2 := newUUID()
	c.create(id2, nil)
	_, p = s.expect("CONVERSATION_ROUTING_RESULT")
	if ewt := p["estimatedWaitTime"].(map[string]any)["estimatedWaitTimeInSeconds"]; ewt != float64(60) {
		t.Fatalf("estimated wait %v", ewt)
	}
	for i, text := range []string{"one", "two"} {
		c.send(id, text)
		s.expect("CONVERSATION_MESSAGE") // echo
		h.fc.Advance(time.Second)
		env, p := s.expect("CONVERSATION_MESSAGE")
		if env.ConversationEntry.Sender.Role != "Agent" || messageText(t, p) != "echo: "+text {
			t.Fatalf("reply %d: %v", i, p)
		}
	}
	// EndAfter 2: the session ends, and Robo takes the waiting one.
	s.expect("CONVERSATION_PARTICIPANT_CHANGED")
	_, p = s.expect("CONVERSATION_SESSION_STATUS_CHANGED")
	if p["sessionStatus"] != "Ended" || p["sessionEndedByRole"] != "Agent" {
		t.Fatalf("%v", p)
	}
	h.fc.Advance(3 * time.Second)
	env, _ := s.expect("CONVERSATION_SESSION_STATUS_CHANGED")
	if env.ConversationID != id2 {
		t.Fatalf("next work %s", env.ConversationID)
	}
}

func TestRoutingFailures(t *testing.T) {
	h := newHarness(t, testSetup())
	c := h.client()
	c.guest()
	s := c.openSSE("", nil)
	id := newUUID()
	c.create(id, map[string]string{"Topic": "Broken"})
	_, p := s.expect("CONVERSATION_ROUTING_RESULT")
	if p["failureType"] != "RoutingError" || p["failureReason"] == "" {
		t.Fatalf("rule failure %v", p)
	}
	if got := c.routingStatus(id); got != "NEEDS_ROUTING" {
		t.Fatalf("status %s", got)
	}
	if err := h.srv.Accept("Ann", id); err == nil {
		t.Fatal("accepted unrouted work")
	}
	// An admin can still transfer it to a queue.
	if err := h.srv.Transfer(id, "General", ""); err != nil {
		t.Fatal(err)
	}
	_, p = s.expect("CONVERSATION_ROUTING_RESULT")
	if p["routingType"] != "Transfer" || p["failureType"] != "None" {
		t.Fatalf("%v", p)
	}
	if err := h.srv.FailRouting(1, "SubmissionError", "flow down"); err != nil {
		t.Fatal(err)
	}
	id2 := newUUID()
	c.create(id2, nil)
	_, p = s.expect("CONVERSATION_ROUTING_RESULT")
	if p["failureType"] != "SubmissionError" || p["failureReason"] != "flow down" {
		t.Fatalf("%v", p)
	}
	id3 := newUUID()
	c.create(id3, nil)
	if _, p = s.expect("CONVERSATION_ROUTING_RESULT"); p["failureType"] != "None" {
		t.Fatalf("the failure outlived its count: %v", p)
	}
	if err := h.srv.FailRouting(1, "Nope", ""); err == nil {
		t.Fatal("accepted an unknown failure type")
	}
}

func TestPresenceAndCapacity(t *testing.T) {
	h := newHarness(t, testSetup())
	c := h.client()
	c.guest()
	a, b := newUUID(), newUUID()
	c.create(a, nil)
	c.create(b, nil)
	if err := h.srv.Accept("Ann", a); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.Accept("Ann", b); err == nil || !strings.Contains(err.Error(), "1 of 1") {
		t.Fatalf("over capacity: %v", err)
	}
	if err := h.srv.SetPresence("Pat", "Busy"); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.Accept("Pat", b); err == nil {
		t.Fatal("a Busy agent accepted work")
	}
	if err := h.srv.SetPresence("Pat", "available"); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.Accept("Pat", b); err != nil {
		t.Fatal(err)
	}
	if _, err := h.srv.Send("Ann", b, "not mine"); err == nil {
		t.Fatal("Ann wrote into Pat's conversation")
	}
	if err := h.srv.SetPresence("Pat", "Lunch"); err == nil {
		t.Fatal("unknown presence accepted")
	}
	work, _ := h.srv.Work("Pat", false)
	if len(work) != 1 || work[0].ConversationID != b {
		t.Fatalf("Pat's work %+v", work)
	}
}

func TestSSEFaultsAndInjectedEvents(t *testing.T) {
	h := newHarness(t, testSetup())
	c := h.client()
	c.guest()
	s := c.openSSE("", nil)
	id := newUUID()
	c.create(id, nil)
	s.expect("CONVERSATION_ROUTING_RESULT")
	if err := h.srv.Accept("Ann", id); err != nil {
		t.Fatal(err)
	}
	s.expect("CONVERSATION_SESSION_STATUS_CHANGED")
	s.expect("CONVERSATION_PARTICIPANT_CHANGED")
	say := func(text string) {
		if _, err := h.srv.Send("Ann", id, text); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.srv.AddSSEFault(SSEFault{Action: "drop", Event: "CONVERSATION_MESSAGE"}); err != nil {
		t.Fatal(err)
	}
	say("dropped")
	say("kept")
	if _, p := s.expect("CONVERSATION_MESSAGE"); messageText(t, p) != "kept" {
		t.Fatalf("drop: %v", p)
	}
	if _, err := h.srv.AddSSEFault(SSEFault{Action: "duplicate"}); err != nil {
		t.Fatal(err)
	}
	say("twice")
	e1, _ := s.expect("CONVERSATION_MESSAGE")
	e2, _ := s.expect("CONVERSATION_MESSAGE")
	if e1.id != e2.id || e1.ConversationEntry.Identifier != e2.ConversationEntry.Identifier {
		t.Fatalf("duplicate: %s/%s", e1.id, e2.id)
	}
	if _, err := h.srv.AddSSEFault(SSEFault{Action: "delay", Delay: Duration(5 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	say("late")
	say("early")
	if _, p := s.expect("CONVERSATION_MESSAGE"); messageText(t, p) != "early" {
		t.Fatalf("delay: %v", p)
	}
	h.fc.Advance(5 * time.Second)
	if _, p := s.expect("CONVERSATION_MESSAGE"); messageText(t, p) != "late" {
		t.Fatalf("delayed: %v", p)
	}
	faults := h.srv.SSEFaults()
	if len(faults) != 3 || faults[0].Fired != 1 {
		t.Fatalf("faults %+v", faults)
	}
	if _, err := h.srv.AddSSEFault(SSEFault{Action: "explode"}); err == nil {
		t.Fatal("unknown action accepted")
	}
	if err := h.srv.InjectEvent(id, "CONVERSATION_SOMETHING_NEW", []byte(`{"x":1}`)); err != nil {
		t.Fatal(err)
	}
	if f := s.next(); f.Event != "CONVERSATION_SOMETHING_NEW" || !strings.Contains(f.Data, `"payload":{"x":1}`) {
		t.Fatalf("injected %+v", f)
	}
}

func TestAdminAPI(t *testing.T) {
	h := newHarness(t, testSetup())
	c := h.client()
	c.guest()
	id := newUUID()
	c.create(id, map[string]string{"Topic": "Payroll"})
	admin := httptest.NewServer(h.srv.AdminHandler())
	defer admin.Close()
	call := func(method, path, body string, want int) []byte {
		t.Helper()
		req, _ := http.NewRequest(method, admin.URL+AdminPrefix+path, strings.NewReader(body))
		resp, err := admin.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, out, want)
		}
		return out
	}
	var work []WorkItem
	_ = json.Unmarshal(call("GET", "work?agent=Pat", "", 200), &work)
	if len(work) != 1 || work[0].RoutingAttributes["Topic"] != "Payroll" || work[0].Status != "Waiting" {
		t.Fatalf("work %+v", work)
	}
	call("POST", "conversations/"+id+"/accept", `{"agent":"Ann"}`, 409)
	call("POST", "conversations/"+id+"/accept", `{"agent":"Nobody"}`, 404)
	call("POST", "conversations/"+id+"/accept", `{"agent":"Pat"}`, 200)
	call("POST", "conversations/"+id+"/typing", `{"agent":"Pat","typing":true}`, 200)
	var sent struct {
		EntryID      string   `json:"entry_id"`
		Conversation WorkItem `json:"conversation"`
	}
	_ = json.Unmarshal(call("POST", "conversations/"+id+"/messages", `{"agent":"Pat","text":"hi there"}`, 200), &sent)
	last := sent.Conversation.Transcript[len(sent.Conversation.Transcript)-1]
	if sent.EntryID == "" || last.Text != "hi there" || last.Role != "Agent" {
		t.Fatalf("sent %+v", sent)
	}
	call("POST", "conversations/"+id+"/transfer", `{"queue":"General"}`, 200)
	call("POST", "conversations/"+id+"/accept", `{"agent":"Ann"}`, 200)
	call("POST", "conversations/"+id+"/end", `{"agent":"Ann"}`, 200)
	call("POST", "conversations/"+id+"/bogus", `{}`, 404)
	call("POST", "agents/Ann/presence", `{"presence":"Busy"}`, 200)
	call("POST", "agents", `{"name":"Zed","queues":["Payroll"],"capacity":2,"presence":"Available"}`, 200)
	call("POST", "agents", `{"name":"Zed","queues":["Nope"]}`, 400)
	call("POST", "agents", `{"name":"Zed","unknown":1}`, 400)
	call("POST", "queues", `{"name":"Tier2"}`, 200)
	call("PUT", "routing-rules", `[{"when":{"Topic":"Escalate"},"queue":"Tier2"}]`, 200)
	call("POST", "deployments", `{"name":"Other_API","pre_chat":[{"name":"Topic"}]}`, 200)
	call("POST", "keysets", `{"name":"KS","issuer":"me"}`, 200)
	id2 := newIdentity(t, "up1", h.fc.Now())
	call("POST", "keysets/KS/keys", string(id2.file), 200)
	call("POST", "keysets/KS/keys", `[`+string(id2.file)+`]`, 400)
	call("PATCH", "settings", `{"verification_failure":"anonymous","token_lifetime":"30m"}`, 200)
	call("POST", "routing/fail", `{"count":2}`, 200)
	call("POST", "sse-faults", `{"action":"drop","count":1}`, 201)
	call("DELETE", "sse-faults", ``, 204)
	call("POST", "conversations/"+id+"/events", `{"event":"CONVERSATION_NEW_THING","payload":{"a":1}}`, 204)
	var exp map[string]int
	_ = json.Unmarshal(call("POST", "tokens/expire", `{}`, 200), &exp)
	if exp["expired"] != 1 {
		t.Fatalf("expired %v", exp)
	}
	var view SetupView
	_ = json.Unmarshal(call("GET", "setup", "", 200), &view)
	if len(view.Agents) != 3 || view.Settings.VerificationFailure != "anonymous" || view.Settings.TokenLifetime.D() != 30*time.Minute ||
		len(view.Keysets) != 1 || view.Keysets[0].KeyIDs[0] != "up1" || len(view.Rules) != 1 || len(view.Deployments) != 4 {
		t.Fatalf("view %+v", view)
	}
	call("GET", "nothing", "", 404)
}

func TestConsolePage(t *testing.T) {
	rec := httptest.NewRecorder()
	ServeConsole(rec, `tok"<x>`)
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `content="tok&#34;&lt;x&gt;"`) || !strings.Contains(body, AdminPrefix) {
		t.Fatalf("console: %d %s", rec.Code, body[:200])
	}
}

func FuzzFrameRoundTrip(f *testing.F) {
	f.Add(int64(1), "CONVERSATION_MESSAGE", `{"a":"b"}`)
	f.Add(int64(0), "ping", "0")
	f.Add(int64(99), "x", "data: with: colons")
	f.Fuzz(func(t *testing.T, id int64, name, data string) {
		if id < 0 || strings.ContainsAny(name, "\r\n:") || strings.ContainsAny(data, "\r\n") || name == "" {
			t.Skip()
		}
		var buf bytes.Buffer
		bw := bufio.NewWriter(&buf)
		if err := WriteFrame(bw, id, name, []byte(data)); err != nil {
			t.Fatal(err)
		}
		bw.Flush()
		var got []frame
		if err := parseFrames(&buf, func(fr frame) { got = append(got, fr) }); err != nil {
			t.Fatal(err)
		}
		wantID := ""
		if id != 0 {
			wantID = strconv.FormatInt(id, 10)
		}
		// A leading space in data is eaten by SSE parsers, as the spec says.
		want := strings.TrimPrefix(data, " ")
		if len(got) != 1 || got[0].Event != strings.TrimPrefix(name, " ") || got[0].Data != want || got[0].ID != wantID {
			t.Fatalf("round trip of (%d, %q, %q): %+v", id, name, data, got)
		}
	})
}
