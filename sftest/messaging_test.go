package sftest_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/sftest"
)

func call(t *testing.T, c *http.Client, method, u, token, adminToken, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, u, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if adminToken != "" {
		req.Header.Set(emulator.AdminTokenHeader, adminToken)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestMessagingOnTheSCRTHost drives the default org's Messaging side: a
// guest conversation on the SCRT URL, an agent through the admin API on the
// instance URL, and the MessagingSession record through SOQL.
func TestMessagingOnTheSCRTHost(t *testing.T) {
	s := sftest.NewServer(t)
	if s.SCRTURL == "" || s.SCRTURL == s.URL {
		t.Fatalf("SCRT URL %q, instance %q", s.SCRTURL, s.URL)
	}
	hc := s.SCRTClient()
	// Emma, the default scripted agent, would answer; this test is the agent.
	if st, out := call(t, s.Client(), "POST", s.URL+"/_emulator/messaging/agents/Emma%20Bot/presence", "", s.AdminToken, `{"presence":"Offline"}`); st != 200 {
		t.Fatalf("presence: %d %s", st, out)
	}
	call(t, s.Client(), "POST", s.URL+"/_emulator/messaging/agents/Alex%20Agent/presence", "", s.AdminToken, `{"presence":"Available"}`)
	org := string(s.Org.OrgID())
	st, out := call(t, hc, "POST", s.SCRTURL+"/iamessage/api/v2/authorization/unauthenticated/access-token", "", "",
		`{"orgId":"`+org+`","esDeveloperName":"sfbridge_api","capabilitiesVersion":"1","platform":"Web"}`)
	if st != 200 {
		t.Fatalf("token: %d %s", st, out)
	}
	var ta struct {
		AccessToken string `json:"accessToken"`
		LastEventID string `json:"lastEventId"`
	}
	_ = json.Unmarshal(out, &ta)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.SCRTURL+"/eventrouter/v1/sse", nil)
	req.Header.Set("Authorization", "Bearer "+ta.AccessToken)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("X-Org-Id", org[:15])
	req.Header.Set("Last-Event-Id", ta.LastEventID)
	resp, err := hc.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("SSE: %v %v", err, resp)
	}
	defer resp.Body.Close()
	events := make(chan string, 64)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if name, ok := strings.CutPrefix(sc.Text(), "event:"); ok {
				events <- name
			}
		}
	}()
	conv := "0b5b8a0e-4d3c-4c1a-9e7f-1a2b3c4d5e6f"
	if st, out := call(t, hc, "POST", s.SCRTURL+"/iamessage/api/v2/conversation", ta.AccessToken, "",
		`{"conversationId":"`+conv+`","esDeveloperName":"sfbridge_api","routingAttributes":{"Topic":"Payroll","UserId":"emp-7"}}`); st != 201 {
		t.Fatalf("create: %d %s", st, out)
	}
	if st, out := call(t, s.Client(), "POST", s.URL+"/_emulator/messaging/conversations/"+conv+"/accept", "", s.AdminToken, `{"agent":"Alex Agent"}`); st != 200 {
		t.Fatalf("accept: %d %s", st, out)
	}
	if st, out := call(t, s.Client(), "POST", s.URL+"/_emulator/messaging/conversations/"+conv+"/messages", "", s.AdminToken, `{"agent":"Alex Agent","text":"Hello"}`); st != 200 {
		t.Fatalf("send: %d %s", st, out)
	}
	want := []string{"CONVERSATION_ROUTING_RESULT", "CONVERSATION_SESSION_STATUS_CHANGED", "CONVERSATION_PARTICIPANT_CHANGED", "CONVERSATION_MESSAGE"}
	for _, w := range want {
		select {
		case got := <-events:
			if got != w {
				t.Fatalf("event %s, want %s", got, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no %s", w)
		}
	}
	tok := s.Login(t, s.Username("integration")).AccessToken
	q := url.QueryEscape("SELECT Status, Topic__c, UserId__c, Agent__c, MessagingEndUser.MessagingPlatformKey FROM MessagingSession WHERE ConversationId__c = '" + conv + "'")
	st, out = call(t, s.Client(), "GET", s.URL+"/services/data/v62.0/query?q="+q, tok, "", "")
	if st != 200 || !strings.Contains(string(out), `"Status":"Active"`) || !strings.Contains(string(out), `"Topic__c":"Payroll"`) ||
		!strings.Contains(string(out), `"Agent__c":"Alex Agent"`) || !strings.Contains(string(out), `"MessagingPlatformKey":"v2/iamessage/ANON/`) {
		t.Fatalf("SOQL: %d %s", st, out)
	}
	var sum struct {
		SCRTURL string `json:"scrt_url"`
	}
	_, out = call(t, s.Client(), "GET", s.URL+"/_emulator/org", "", s.AdminToken, "")
	if _ = json.Unmarshal(out, &sum); sum.SCRTURL != s.SCRTURL {
		t.Fatalf("summary %s", out)
	}
}

func TestConsoleAccess(t *testing.T) {
	s := sftest.NewServer(t)
	// The test client is on loopback: allowed without the token.
	st, out := call(t, s.Client(), "GET", s.URL+emulator.ConsolePath, "", "", "")
	if st != 200 || !strings.Contains(string(out), "Agent console") || !strings.Contains(string(out), s.AdminToken) {
		t.Fatalf("console: %d", st)
	}
	// Through a proxy, loopback says nothing: the token is needed.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+emulator.ConsolePath, nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("proxied console without token: %d", resp.StatusCode)
	}
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+emulator.ConsolePath+"?token="+s.AdminToken, nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	resp, err = s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("proxied console with token: %d", resp.StatusCode)
	}
	// The messaging admin API itself always needs the token.
	if st, _ := call(t, s.Client(), "GET", s.URL+"/_emulator/messaging/work", "", "", ""); st != 401 {
		t.Fatalf("admin API without token: %d", st)
	}
}
