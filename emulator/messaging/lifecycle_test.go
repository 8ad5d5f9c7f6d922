package messaging

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLifecycleAgentEndAndNewSession(t *testing.T) {
	h := newHarness(t, testSetup())
	c := h.client()
	c.guest()
	s := c.openSSE(c.lastEID, nil)
	id := newUUID()
	c.create(id, map[string]string{"Topic": "Payroll", "UserId": "emp-42"})

	env, p := s.expect("CONVERSATION_ROUTING_RESULT")
	if env.ConversationID != id || env.ChannelType != "embedded_messaging" || p["routingType"] != "Initial" || p["failureType"] != "None" {
		t.Fatalf("routing result %+v %v", env, p)
	}
	ewt := p["estimatedWaitTime"].(map[string]any)
	if ewt["estimatedWaitTimeInSeconds"] != float64(0) {
		t.Fatalf("EWT with a free agent: %v", ewt)
	}
	if got := c.routingStatus(id); got != "ROUTED" {
		t.Fatalf("routing status %s", got)
	}
	// Ann does not work Payroll.
	if err := h.srv.Accept("Ann", id); err == nil {
		t.Fatal("Ann accepted Payroll work")
	}
	if err := h.srv.Accept("Pat", id); err != nil {
		t.Fatal(err)
	}
	_, p = s.expect("CONVERSATION_SESSION_STATUS_CHANGED")
	if p["sessionStatus"] != "Active" || p["sessionStatusPrev"] != "Waiting" {
		t.Fatalf("status %v", p)
	}
	env, p = s.expect("CONVERSATION_PARTICIPANT_CHANGED")
	e0 := p["entries"].([]any)[0].(map[string]any)
	if e0["operation"] != "add" || e0["displayName"] != "Pat" || e0["participant"].(map[string]any)["role"] != "Agent" {
		t.Fatalf("participant %v", p)
	}

	st, out := c.send(id, "my payslip is wrong")
	if st != http.StatusAccepted || !strings.Contains(string(out), `"conversationEntries"`) {
		t.Fatalf("send: %d %s", st, out)
	}
	env, p = s.expect("CONVERSATION_MESSAGE")
	if env.ConversationEntry.Sender.Role != "EndUser" || messageText(t, p) != "my payslip is wrong" || env.ConversationEntry.SenderDisplayName != "Guest" {
		t.Fatalf("echo %+v %v", env, p)
	}
	if err := h.srv.Typing("Pat", id, true); err != nil {
		t.Fatal(err)
	}
	s.expect("CONVERSATION_TYPING_STARTED_INDICATOR")
	if _, err := h.srv.Send("Pat", id, "Let me look."); err != nil {
		t.Fatal(err)
	}
	env, p = s.expect("CONVERSATION_MESSAGE")
	if env.ConversationEntry.Sender.Role != "Agent" || env.ConversationEntry.SenderDisplayName != "Pat" || messageText(t, p) != "Let me look." {
		t.Fatalf("agent message %+v %v", env, p)
	}
	agentEntry := env.ConversationEntry.Identifier
	c.mustDo(202, "POST", "/iamessage/api/v2/conversation/"+id+"/acknowledge-entries", map[string]any{"acks": []map[string]any{
		{"id": newUUID(), "entryType": "Delivery", "conversationEntryId": agentEntry}, {"id": newUUID(), "entryType": "Read", "conversationEntryId": agentEntry}}})
	env, _ = s.expect("CONVERSATION_DELIVERY_ACKNOWLEDGEMENT")
	if len(env.ConversationEntry.RelatedRecords) != 1 || env.ConversationEntry.RelatedRecords[0] != agentEntry {
		t.Fatalf("ack related records %v", env.ConversationEntry.RelatedRecords)
	}
	s.expect("CONVERSATION_READ_ACKNOWLEDGEMENT")

	// The agent ends the session: remove, then Ended by Agent.
	if err := h.srv.End("Pat", id); err != nil {
		t.Fatal(err)
	}
	_, p = s.expect("CONVERSATION_PARTICIPANT_CHANGED")
	if p["entries"].([]any)[0].(map[string]any)["operation"] != "remove" {
		t.Fatalf("remove %v", p)
	}
	_, p = s.expect("CONVERSATION_SESSION_STATUS_CHANGED")
	if p["sessionStatus"] != "Ended" || p["sessionEndedByRole"] != "Agent" {
		t.Fatalf("ended %v", p)
	}
	if got := c.routingStatus(id); got != "NEEDS_ROUTING" {
		t.Fatalf("routing status after end %s", got)
	}
	st, out = c.send(id, "hello again")
	if st != http.StatusExpectationFailed {
		t.Fatalf("send without a session: %d %s", st, out)
	}
	// The sample's retry: the same message with isNewMessagingSession.
	c.mustDo(202, "POST", "/iamessage/api/v2/conversation/"+id+"/message", map[string]any{
		"message":               map[string]any{"id": newUUID(), "messageType": "StaticContentMessage", "staticContent": map[string]any{"formatType": "Text", "text": "hello again"}},
		"esDeveloperName":       "Bridge_API",
		"isNewMessagingSession": true, "routingAttributes": map[string]string{"Topic": "Other"}, "language": "en_US"})
	_, p = s.expect("CONVERSATION_ROUTING_RESULT")
	if p["routingType"] != "Initial" {
		t.Fatalf("new session routing %v", p)
	}
	_, p = s.expect("CONVERSATION_MESSAGE")
	if messageText(t, p) != "hello again" {
		t.Fatalf("%v", p)
	}

	// Records: the end user and both sessions, with the routing attributes.
	var sessions []map[string]any
	for rid, obj := range h.rec.objs {
		if obj == ObjMessagingSession {
			sessions = append(sessions, h.rec.get(rid))
		}
	}
	if len(sessions) != 2 {
		t.Fatalf("sessions %v", sessions)
	}
	var first map[string]any
	for _, r := range sessions {
		if r["Topic__c"] == "Payroll" {
			first = r
		}
	}
	if first == nil || first["Status"] != "Ended" || first["Agent__c"] != "Pat" || first["Queue__c"] != "Payroll" ||
		!strings.Contains(first["RoutingAttributes__c"].(string), `"UserId":"emp-42"`) {
		t.Fatalf("first session record %v", first)
	}
}

func TestLifecycleTransfer(t *testing.T) {
	h := newHarness(t, testSetup())
	c := h.client()
	c.guest()
	s := c.openSSE("", nil)
	id := newUUID()
	c.create(id, map[string]string{"Topic": "Benefits"})
	s.expect("CONVERSATION_ROUTING_RESULT")
	if err := h.srv.Accept("Ann", id); err != nil {
		t.Fatal(err)
	}
	s.expect("CONVERSATION_SESSION_STATUS_CHANGED")
	s.expect("CONVERSATION_PARTICIPANT_CHANGED")
	if err := h.srv.Transfer(id, "Payroll", ""); err != nil {
		t.Fatal(err)
	}
	_, p := s.expect("CONVERSATION_PARTICIPANT_CHANGED")
	if e := p["entries"].([]any)[0].(map[string]any); e["operation"] != "remove" || e["displayName"] != "Ann" {
		t.Fatalf("%v", p)
	}
	_, p = s.expect("CONVERSATION_ROUTING_RESULT")
	if p["routingType"] != "Transfer" || p["failureType"] != "None" {
		t.Fatalf("%v", p)
	}
	if got := c.routingStatus(id); got != "TRANSFER" {
		t.Fatalf("routing status %s", got)
	}
	if err := h.srv.Accept("Pat", id); err != nil {
		t.Fatal(err)
	}
	// The session stayed Active: only the new participant.
	_, p = s.expect("CONVERSATION_PARTICIPANT_CHANGED")
	if e := p["entries"].([]any)[0].(map[string]any); e["operation"] != "add" || e["displayName"] != "Pat" {
		t.Fatalf("%v", p)
	}
	if got := c.routingStatus(id); got != "ROUTED" {
		t.Fatalf("routing status %s", got)
	}
	w, _ := h.srv.Conversation(id)
	if w.Agent != "Pat" || w.Status != "Active" || w.Queue != "Payroll" {
		t.Fatalf("work item %+v", w)
	}
}

func TestLifecycleUserEndsAndCloses(t *testing.T) {
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
	c.mustDo(204, "DELETE", "/iamessage/api/v2/conversation/"+id+"/session?esDeveloperName=Bridge_API", nil)
	s.expect("CONVERSATION_PARTICIPANT_CHANGED")
	_, p := s.expect("CONVERSATION_SESSION_STATUS_CHANGED")
	if p["sessionEndedByRole"] != "EndUser" {
		t.Fatalf("%v", p)
	}
	c.mustDo(400, "DELETE", "/iamessage/api/v2/conversation/"+id+"/session?esDeveloperName=Bridge_API", nil)
	c.mustDo(204, "DELETE", "/iamessage/api/v2/conversation/"+id+"?esDeveloperName=Bridge_API", nil)
	env, _ := s.expect("CONVERSATION_CLOSE_CONVERSATION")
	if env.ConversationEntry.EntryType != "CloseConversation" {
		t.Fatalf("%+v", env)
	}
	st, out := c.send(id, "anyone?")
	if st != 400 || !strings.Contains(string(out), "closed") {
		t.Fatalf("send to a closed conversation: %d %s", st, out)
	}
	var list struct {
		Open, Closed  int `json:"-"`
		OpenN         int `json:"openConversationsFound"`
		ClosedN       int `json:"closedConversationsFound"`
		Conversations []struct {
			ConversationID string `json:"conversationId"`
			EndTimestamp   int64  `json:"endTimestamp"`
		} `json:"conversations"`
	}
	_ = json.Unmarshal(c.mustDo(200, "GET", "/iamessage/api/v2/conversation/list?inclClosedConvs=true&limit=20", nil), &list)
	if list.OpenN != 0 || list.ClosedN != 1 || len(list.Conversations) != 1 || list.Conversations[0].EndTimestamp == 0 {
		t.Fatalf("list %+v", list)
	}
	_ = json.Unmarshal(c.mustDo(200, "GET", "/iamessage/api/v2/conversation/list?inclClosedConvs=false", nil), &list)
	if len(list.Conversations) != 0 {
		t.Fatalf("open list %+v", list)
	}
}

func TestTokenExpiryMidStream(t *testing.T) {
	h := newHarness(t, testSetup())
	c := h.client()
	c.guest()
	s := c.openSSE("", nil)
	id := newUUID()
	c.create(id, nil)
	s.expect("CONVERSATION_ROUTING_RESULT")
	h.fc.Advance(2 * time.Hour) // the guest lifetime
	f := s.next()
	if f.Event != "error" || f.Data != expiredBody {
		t.Fatalf("last frame %+v", f)
	}
	if _, ok := <-s.frames; ok {
		t.Fatal("the stream stayed open after the token expired")
	}
	again := c.openSSE("", nil)
	if again.status != 401 || again.body != expiredBody {
		t.Fatalf("reconnect with an expired token: %d %s", again.status, again.body)
	}
	st, out := c.send(id, "hi")
	if st != 401 || !strings.Contains(string(out), "Jwt is expired") {
		t.Fatalf("REST with an expired token: %d %s", st, out)
	}
	// A fresh token for a new guest works again.
	c.guest()
	if s2 := c.openSSE("", nil); s2.status != 200 {
		t.Fatalf("new token: %d", s2.status)
	}
}

func TestAdminExpireTokensEndsStreams(t *testing.T) {
	h := newHarness(t, testSetup())
	c := h.client()
	c.guest()
	s := c.openSSE("", nil)
	other := h.client()
	other.guest()
	if n := h.srv.ExpireTokens(c.subject); n != 1 {
		t.Fatalf("expired %d tokens", n)
	}
	if f := s.next(); f.Event != "error" || f.Data != expiredBody {
		t.Fatalf("%+v", f)
	}
	if st, _ := other.do("GET", "/iamessage/api/v2/conversation/list", nil); st != 200 {
		t.Fatalf("other end user's token: %d", st)
	}
}

func TestReconnectWithLastEventID(t *testing.T) {
	su := testSetup()
	su.Settings.ReplayBuffer = 4
	h := newHarness(t, su)
	c := h.client()
	c.guest()
	s := c.openSSE(c.lastEID, nil)
	id := newUUID()
	c.create(id, nil)
	s.expect("CONVERSATION_ROUTING_RESULT")
	if err := h.srv.Accept("Ann", id); err != nil {
		t.Fatal(err)
	}
	s.expect("CONVERSATION_SESSION_STATUS_CHANGED")
	env, _ := s.expect("CONVERSATION_PARTICIPANT_CHANGED")
	last := env.id
	s.close()
	for i := range 3 {
		if _, err := h.srv.Send("Ann", id, fmt.Sprintf("missed %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	s = c.openSSE(last, nil)
	prev, _ := strconv.Atoi(last)
	for i := range 3 {
		env, p := s.expect("CONVERSATION_MESSAGE")
		if messageText(t, p) != fmt.Sprintf("missed %d", i) {
			t.Fatalf("replay %d: %v", i, p)
		}
		n, _ := strconv.Atoi(env.id)
		if n <= prev {
			t.Fatalf("ids not increasing: %d after %d", n, prev)
		}
		prev = n
	}
	s.close()
	// The buffer is bounded: of 6 missed events only the last 4 come back.
	for i := range 6 {
		if _, err := h.srv.Send("Ann", id, fmt.Sprintf("later %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	s = c.openSSE(strconv.Itoa(prev), nil)
	for i := 2; i < 6; i++ {
		_, p := s.expect("CONVERSATION_MESSAGE")
		if messageText(t, p) != fmt.Sprintf("later %d", i) {
			t.Fatalf("bounded replay: %v", p)
		}
	}
	// The list-entries backfill has everything.
	var entries struct {
		ConversationEntries []struct {
			EntryType    string         `json:"entryType"`
			EntryPayload map[string]any `json:"entryPayload"`
		} `json:"conversationEntries"`
	}
	_ = json.Unmarshal(c.mustDo(200, "GET", "/iamessage/api/v2/conversation/"+id+"/entries?limit=50&direction=FromStart&entryTypeFilter=Message", nil), &entries)
	if len(entries.ConversationEntries) != 9 || messageText(t, entries.ConversationEntries[0].EntryPayload) != "missed 0" {
		t.Fatalf("entries %+v", entries)
	}
	_ = json.Unmarshal(c.mustDo(200, "GET", "/iamessage/api/v2/conversation/"+id+"/entries?limit=2", nil), &entries)
	if len(entries.ConversationEntries) != 2 || messageText(t, entries.ConversationEntries[0].EntryPayload) != "later 5" {
		t.Fatalf("FromEnd page %+v", entries)
	}
	c.mustDo(400, "GET", "/iamessage/api/v2/conversation/"+id+"/entries?limit=51", nil)
	// A time window (epoch ms, or ISO 8601) in the future selects nothing.
	future := h.fc.Now().Add(time.Hour)
	for _, ts := range []string{strconv.FormatInt(future.UnixMilli(), 10), future.Format(time.RFC3339)} {
		_ = json.Unmarshal(c.mustDo(200, "GET", "/iamessage/api/v2/conversation/"+id+"/entries?startTimestamp="+ts, nil), &entries)
		if len(entries.ConversationEntries) != 0 {
			t.Fatalf("startTimestamp %s: %d entries", ts, len(entries.ConversationEntries))
		}
	}
	c.mustDo(400, "GET", "/iamessage/api/v2/conversation/"+id+"/entries?startTimestamp=yesterday", nil)
}

func TestSSERequestChecks(t *testing.T) {
	h := newHarness(t, testSetup())
	c := h.client()
	c.guest()
	if s := c.openSSE("", map[string]string{"Accept": ""}); s.status != 406 {
		t.Fatalf("no Accept: %d", s.status)
	}
	if s := c.openSSE("", map[string]string{"X-Org-ID": ""}); s.status != 400 {
		t.Fatalf("no X-Org-Id: %d", s.status)
	}
	if s := c.openSSE("", map[string]string{"X-Org-ID": "00D000000000009"}); s.status != 400 || !strings.Contains(s.body, "OrgId in the header and token must match") {
		t.Fatalf("wrong org: %d %s", s.status, s.body)
	}
	if s := c.openSSE("", map[string]string{"Authorization": ""}); s.status != 401 {
		t.Fatalf("no token: %d", s.status)
	}
	s := c.openSSE("", map[string]string{"X-Org-ID": testOrg})
	if s.status != 200 {
		t.Fatalf("18-char org id: %d %s", s.status, s.body)
	}
	// Keepalive pings on the clock.
	h.fc.Advance(15 * time.Second)
	select {
	case f := <-s.frames:
		if f.Event != "ping" {
			t.Fatalf("want a ping, got %+v", f)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no ping")
	}
	// One stream per access token: a second connection replaces the first.
	s2 := c.openSSE("", nil)
	if s2.status != 200 {
		t.Fatal(s2.status)
	}
	select {
	case _, ok := <-s.frames:
		for ok {
			_, ok = <-s.frames
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first stream stayed open")
	}
	// That stream carries all of the end user's conversations.
	a, b := newUUID(), newUUID()
	c.create(a, nil)
	c.create(b, map[string]string{"Topic": "Payroll"})
	e1, _ := s2.expect("CONVERSATION_ROUTING_RESULT")
	e2, _ := s2.expect("CONVERSATION_ROUTING_RESULT")
	if e1.ConversationID != a || e2.ConversationID != b {
		t.Fatalf("conversations %s %s", e1.ConversationID, e2.ConversationID)
	}
}

func TestConversationRequestChecks(t *testing.T) {
	h := newHarness(t, testSetup())
	c := h.client()
	if st, _ := c.do("POST", "/iamessage/api/v2/conversation", map[string]any{"conversationId": newUUID()}); st != 401 {
		t.Fatalf("no token: %d", st)
	}
	c.guest()
	for _, bad := range []string{strings.ToUpper(newUUID()), "not-a-uuid", "3f2b8c1e-1111-4222-c333-444455556666"} {
		st, out := c.do("POST", "/iamessage/api/v2/conversation", map[string]any{"conversationId": bad, "esDeveloperName": "Bridge_API"})
		var e APIError
		_ = json.Unmarshal(out, &e)
		if st != 400 || e.Message != badConversationID {
			t.Fatalf("%s: %d %s", bad, st, out)
		}
	}
	if st, _ := c.send(newUUID(), "x"); st != 404 {
		t.Fatalf("unknown conversation: %d", st)
	}
	// Another end user cannot see the conversation.
	id := newUUID()
	c.create(id, nil)
	other := h.client()
	other.guest()
	if st, _ := other.send(id, "x"); st != 404 {
		t.Fatalf("other end user: %d", st)
	}
	if st, out := c.do("POST", "/iamessage/api/v2/conversation/"+id+"/entry", map[string]any{"entryType": "Bogus", "id": newUUID()}); st != 400 {
		t.Fatalf("bad typing entry: %d %s", st, out)
	}
	c.mustDo(202, "POST", "/iamessage/api/v2/conversation/"+id+"/entry", map[string]any{"entryType": "TypingStartedIndicator", "id": newUUID()})
	if w, _ := h.srv.Conversation(id); !w.EndUserTyping {
		t.Fatal("the agent does not see the end user typing")
	}
}

func multipartBody(t *testing.T, entry string, name, typ string, size int) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	boundary := "XBOUNDARYX"
	fmt.Fprintf(bw, "--%s\r\nContent-Disposition: form-data; name=\"messageEntry\"\r\nContent-Type: application/json\r\n\r\n%s\r\n", boundary, entry)
	fmt.Fprintf(bw, "--%s\r\nContent-Disposition: form-data; name=\"fileData\"; filename=%q\r\nContent-Type: %s\r\n\r\n", boundary, name, typ)
	bw.Write(bytes.Repeat([]byte("a"), size))
	fmt.Fprintf(bw, "\r\n--%s--\r\n", boundary)
	bw.Flush()
	return &buf, "multipart/form-data; boundary=" + boundary
}

func TestFileUpload(t *testing.T) {
	h := newHarness(t, testSetup())
	c := h.client()
	c.guest()
	s := c.openSSE("", nil)
	id := newUUID()
	c.create(id, nil)
	s.expect("CONVERSATION_ROUTING_RESULT")
	entry := fmt.Sprintf(`{"esDeveloperName":"Bridge_API","message":{"id":%q,"fileId":%q,"text":"screenshot"}}`, newUUID(), newUUID())
	upload := func(name, typ string, size int) (int, string) {
		body, ct := multipartBody(t, entry, name, typ, size)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, h.hs.URL+"/iamessage/api/v2/conversation/"+id+"/file", body)
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set("Content-Type", ct)
		resp, err := h.hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	if st, out := upload("shot.png", "image/png", 1000); st != 202 {
		t.Fatalf("upload: %d %s", st, out)
	}
	_, p := s.expect("CONVERSATION_MESSAGE")
	sc := p["abstractMessage"].(map[string]any)["staticContent"].(map[string]any)
	if sc["formatType"] != "Attachments" || sc["attachments"].([]any)[0].(map[string]any)["name"] != "shot.png" {
		t.Fatalf("attachment %v", p)
	}
	if st, _ := upload("big.png", "image/png", maxFileSize+1); st != 413 {
		t.Fatalf("too large: %d", st)
	}
	if st, _ := upload("x.exe", "application/x-msdownload", 10); st != 415 {
		t.Fatalf("bad type: %d", st)
	}
}

func TestCORS(t *testing.T) {
	h := newHarness(t, testSetup())
	req, _ := http.NewRequest(http.MethodOptions, h.hs.URL+"/eventrouter/v1/sse", nil)
	req.Header.Set("Origin", "http://localhost:3000")
	req.Header.Set("Access-Control-Request-Method", "GET")
	req.Header.Set("Access-Control-Request-Headers", "authorization,x-org-id,last-event-id")
	resp, err := h.hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" ||
		resp.Header.Get("Access-Control-Allow-Headers") != "authorization,x-org-id,last-event-id" || resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/iamessage/api/v2/authorization/unauthenticated/access-token",
		strings.NewReader(`{"orgId":"`+testOrg+`","esDeveloperName":"Bridge_API","capabilitiesVersion":"1","platform":"Web"}`))
	r.Header.Set("Origin", "http://localhost:3000")
	h.srv.Handler().ServeHTTP(rec, r)
	if rec.Code != 200 || rec.Header().Get("Access-Control-Allow-Origin") != "http://localhost:3000" {
		t.Fatalf("simple request: %d %v", rec.Code, rec.Header())
	}
	// The stream answer itself carries them too.
	c := h.client()
	c.guest()
	sreq, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, h.hs.URL+"/eventrouter/v1/sse", nil)
	sreq.Header.Set("Origin", "http://localhost:3000")
	sreq.Header.Set("Authorization", "Bearer "+c.token)
	sreq.Header.Set("Accept", "text/event-stream")
	sreq.Header.Set("X-Org-ID", testOrg[:15])
	sresp, err := h.hs.Client().Do(sreq)
	if err != nil {
		t.Fatal(err)
	}
	defer sresp.Body.Close()
	if sresp.StatusCode != http.StatusOK || sresp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" ||
		!strings.HasPrefix(sresp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream answer: %d %v %v", sresp.StatusCode, sresp.Header, sresp.TransferEncoding)
	}
}

func TestStreamNoticesTheClientLeaving(t *testing.T) {
	h := newHarness(t, testSetup())
	c := h.client()
	c.guest()
	s := c.openSSE("", nil)
	if n := h.srv.Streams(); n != 1 {
		t.Fatalf("%d streams open", n)
	}
	s.close()
	deadline := time.Now().Add(5 * time.Second)
	for h.srv.Streams() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stream outlived its client (no clock advance, so no ping noticed it)")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRepeatedMessageID: what a message whose id the conversation holds
// gets is settings.duplicate_message_id (Salesforce does not document it).
func TestRepeatedMessageID(t *testing.T) {
	for _, tc := range []struct {
		mode     string
		status   int
		messages int
	}{{"post", 202, 2}, {"accept", 202, 1}, {"reject", 409, 1}} {
		t.Run(tc.mode, func(t *testing.T) {
			h := newHarness(t, testSetup())
			if err := h.srv.PatchSettings(SettingsSpec{DuplicateMessageID: tc.mode}); err != nil {
				t.Fatal(err)
			}
			c := h.client()
			c.guest()
			id := newUUID()
			c.create(id, nil)
			msg := map[string]any{"message": map[string]any{"id": newUUID(), "messageType": "StaticContentMessage",
				"staticContent": map[string]any{"formatType": "Text", "text": "once"}}, "esDeveloperName": "Bridge_API"}
			var first, again struct {
				ConversationEntries []struct {
					ID string `json:"id"`
				} `json:"conversationEntries"`
			}
			_ = json.Unmarshal(c.mustDo(202, "POST", "/iamessage/api/v2/conversation/"+id+"/message", msg), &first)
			st, out := c.do("POST", "/iamessage/api/v2/conversation/"+id+"/message", msg)
			if st != tc.status {
				t.Fatalf("repeated id: %d %s", st, out)
			}
			_ = json.Unmarshal(out, &again)
			if tc.mode == "accept" && (len(again.ConversationEntries) != 1 || again.ConversationEntries[0].ID != first.ConversationEntries[0].ID) {
				t.Fatalf("accept answered %s, first entry %+v", out, first)
			}
			w, _ := h.srv.Conversation(id)
			n := 0
			for _, l := range w.Transcript {
				if l.Type == "Message" && l.Text == "once" {
					n++
				}
			}
			if n != tc.messages {
				t.Fatalf("the agent sees %d messages, want %d", n, tc.messages)
			}
		})
	}
	h := newHarness(t, testSetup())
	if err := h.srv.PatchSettings(SettingsSpec{DuplicateMessageID: "ignore"}); err == nil {
		t.Fatal("an unknown duplicate_message_id mode was accepted")
	}
}
