package messaging_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/sftest"
)

// chromium finds the browser; under CI=true a missing browser fails the
// test, elsewhere it is skipped with the way to install it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; scripts/test installs it (apt-get install -y chromium)")
	}
	t.Skip("chromium is not installed (apt-get install -y chromium); skipping the agent console browser test")
	return ""
}

type sseFrame struct{ event, data string }

// TestConsoleInChromium: a Go client starts a conversation on the SCRT
// host; a person's steps in the agent console (presence, accept, read,
// type, reply) run in headless Chromium; the client receives the reply.
func TestConsoleInChromium(t *testing.T) {
	browser := chromium(t)
	s := sftest.NewServer(t)
	msg := s.Org.Messaging()
	if err := msg.SetPresence("Emma Bot", "Offline"); err != nil { // this test is the agent
		t.Fatal(err)
	}
	org := string(s.Org.OrgID())
	hc := s.SCRTClient()
	post := func(path, token, body string) []byte {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.SCRTURL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
		}
		return b
	}
	var tok struct {
		AccessToken string `json:"accessToken"`
	}
	_ = json.Unmarshal(post("/iamessage/api/v2/authorization/unauthenticated/access-token", "",
		`{"orgId":"`+org+`","esDeveloperName":"sfbridge_api","capabilitiesVersion":"1","platform":"Web"}`), &tok)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.SCRTURL+"/eventrouter/v1/sse", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("X-Org-Id", org[:15])
	resp, err := hc.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("SSE: %v", err)
	}
	frames := make(chan sseFrame, 256)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var f sseFrame
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event:"):
				f.event = strings.TrimPrefix(line, "event:")
			case strings.HasPrefix(line, "data:"):
				f.data = strings.TrimPrefix(line, "data:")
			case line == "":
				frames <- f
				f = sseFrame{}
			}
		}
	}()
	defer func() { cancel(); <-done }()
	conv := "6c0e4d2a-8b1f-4e3d-a5c6-7d8e9f0a1b2c"
	post("/iamessage/api/v2/conversation", tok.AccessToken,
		`{"conversationId":"`+conv+`","esDeveloperName":"sfbridge_api","routingAttributes":{"Topic":"Payroll","UserId":"emp-9"}}`)
	post("/iamessage/api/v2/conversation/"+conv+"/message", tok.AccessToken,
		`{"message":{"id":"0e1f2a3b-4c5d-4e6f-8a7b-8c9d0e1f2a3b","messageType":"StaticContentMessage","staticContent":{"formatType":"Text","text":"My payslip is missing"}},"esDeveloperName":"sfbridge_api"}`)

	opts := append(chromedp.DefaultExecAllocatorOptions[:0:0],
		chromedp.ExecPath(browser), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()))
	actx, acancel := chromedp.NewExecAllocator(t.Context(), opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	bctx, tcancel := context.WithTimeout(bctx, 60*time.Second)
	defer tcancel()

	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	poll := func(js string) chromedp.Action[chromedp.Void] { return chromedp.Poll[chromedp.Void](js) }
	steps := []struct {
		name string
		do   chromedp.Action[chromedp.Void]
	}{
		{"open the console", chromedp.Navigate(s.URL + emulator.ConsolePath)},
		{"agents listed", poll(`document.querySelector('#agent option[value="Alex Agent"]') !== null`)},
		{"set Available", chromedp.Click(css(`button[data-presence="Available"]`))},
		{"presence shown", poll(`document.getElementById("presence").textContent.startsWith("Available")`)},
		{"work listed", poll(`document.querySelector('.work[data-id="` + conv + `"]') !== null`)},
		{"select the work", chromedp.Click(css(`.work[data-id="` + conv + `"]`))},
		{"transcript so far", poll(`document.getElementById("transcript").textContent.includes("My payslip is missing")`)},
		{"accept enabled", poll(`!document.getElementById("accept").disabled`)},
		{"accept", chromedp.Click(chromedp.ID("accept"))},
		{"reply box enabled", poll(`!document.getElementById("text").disabled`)},
	}
	for _, st := range steps {
		if err := chromedp.Do(bctx, st.do); err != nil {
			t.Fatalf("console step %q: %v", st.name, err)
		}
	}
	attrs, err := chromedp.Run(bctx, chromedp.Text(chromedp.ID("attrs")))
	if err != nil || !strings.Contains(attrs, `"Topic": "Payroll"`) {
		t.Fatalf("routing attributes %q: %v", attrs, err)
	}
	// The end user writes while the agent reads live.
	post("/iamessage/api/v2/conversation/"+conv+"/message", tok.AccessToken,
		`{"message":{"id":"1e1f2a3b-4c5d-4e6f-8a7b-8c9d0e1f2a3b","messageType":"StaticContentMessage","staticContent":{"formatType":"Text","text":"Are you there?"}},"esDeveloperName":"sfbridge_api"}`)
	err = chromedp.Do(bctx,
		poll(`document.getElementById("transcript").textContent.includes("Are you there?")`),
		chromedp.SendKeys(chromedp.ID("text"), "Hello, I am looking into it"),
		chromedp.Click(chromedp.ID("send")),
		poll(`document.getElementById("transcript").textContent.includes("Alex Agent: Hello, I am looking into it")`),
	)
	if err != nil {
		t.Fatalf("console reply: %v", err)
	}

	// What the Go client saw, in order (echoes and acks in between are fine).
	want := []struct{ event, contains string }{
		{"CONVERSATION_SESSION_STATUS_CHANGED", `\"sessionStatus\":\"Active\"`},
		{"CONVERSATION_PARTICIPANT_CHANGED", `\"displayName\":\"Alex Agent\"`},
		{"CONVERSATION_TYPING_STARTED_INDICATOR", `"role":"Agent"`},
		{"CONVERSATION_MESSAGE", `Hello, I am looking into it`},
	}
	deadline := time.After(15 * time.Second)
	for _, w := range want {
		for found := false; !found; {
			select {
			case f := <-frames:
				found = f.event == w.event && strings.Contains(f.data, w.contains)
			case <-deadline:
				t.Fatalf("the client did not receive %s containing %s", w.event, w.contains)
			}
		}
	}
	item, err := msg.Conversation(conv)
	if err != nil || item.Agent != "Alex Agent" || item.Status != "Active" {
		t.Fatalf("work item %+v %v", item, err)
	}

	// The agent ends the chat from the console.
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.ID("end")), poll(`document.getElementById("end").disabled`)); err != nil {
		t.Fatalf("console end: %v", err)
	}
	for _, w := range []struct{ event, contains string }{
		{"CONVERSATION_PARTICIPANT_CHANGED", `\"operation\":\"remove\"`},
		{"CONVERSATION_SESSION_STATUS_CHANGED", `\"sessionEndedByRole\":\"Agent\"`},
	} {
		for found := false; !found; {
			select {
			case f := <-frames:
				found = f.event == w.event && strings.Contains(f.data, w.contains)
			case <-deadline:
				t.Fatalf("the client did not receive %s containing %s", w.event, w.contains)
			}
		}
	}
}
