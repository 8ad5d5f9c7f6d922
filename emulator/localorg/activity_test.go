package localorg

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/internal/assertion"
	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/keys"
)

// devClient talks to a started org: the data API as the integration user
// and the Messaging API as a guest.
type devClient struct {
	t     *testing.T
	o     *Org
	hc    *http.Client
	token string
	msg   string // Messaging access token
}

func newDevClient(t *testing.T, o *Org, now time.Time) *devClient {
	t.Helper()
	c := &devClient{t: t, o: o, hc: &http.Client{Transport: &http.Transport{}}}
	t.Cleanup(c.hc.CloseIdleConnections)
	keyPEM, err := os.ReadFile(o.Info.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	key, err := keys.ParsePrivateKey(keyPEM, "server.key", keys.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := assertion.Sign(key, assertion.Claims{Issuer: o.Info.ClientID, Subject: emulator.UserIntegration,
		Audience: o.Info.LoginURL, Expiry: now.Add(3 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	c.call(http.MethodPost, o.Info.TokenURL, "application/x-www-form-urlencoded", url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {a}}.Encode(), "", 200, &tok)
	c.token = tok.AccessToken
	return c
}

func (c *devClient) call(method, u, ctype, body, bearer string, want int, out any) {
	c.t.Helper()
	req, err := http.NewRequestWithContext(c.t.Context(), method, u, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, u, resp.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, u, err, b)
		}
	}
}

// queryAll runs SOQL through queryAll (deleted records included).
func (c *devClient) queryAll(soql string) []map[string]any {
	c.t.Helper()
	var res struct {
		Records []map[string]any `json:"records"`
		Done    bool             `json:"done"`
	}
	c.call(http.MethodGet, c.o.Info.InstanceURL+"/services/data/v62.0/queryAll?q="+url.QueryEscape(soql), "", "", c.token, 200, &res)
	if !res.Done {
		c.t.Fatalf("%s: more than one page", soql)
	}
	return res.Records
}

func (c *devClient) messaging(method, path string, body any, want int, out any) {
	c.t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	c.call(method, c.o.Info.SCRTURL+"/iamessage/api/v2"+path, "application/json", string(b), c.msg, want, out)
}

func (c *devClient) say(conv, text string) {
	c.t.Helper()
	c.messaging(http.MethodPost, "/conversation/"+conv+"/message", map[string]any{"esDeveloperName": "sfbridge_api",
		"message": map[string]any{"id": newID(c.t), "messageType": "StaticContentMessage", "staticContent": map[string]any{"formatType": "Text", "text": text}}},
		202, nil)
}

// line is a conversation entry as the test reads it.
type line struct{ typ, role, text, op string }

func (c *devClient) entries(conv string) []line {
	c.t.Helper()
	var res struct {
		Entries []struct {
			EntryType string `json:"entryType"`
			Sender    struct {
				Role string `json:"role"`
			} `json:"sender"`
			Payload struct {
				AbstractMessage struct {
					StaticContent struct {
						Text string `json:"text"`
					} `json:"staticContent"`
				} `json:"abstractMessage"`
				Entries []struct {
					Operation string `json:"operation"`
				} `json:"entries"`
				SessionStatus string `json:"sessionStatus"`
			} `json:"entryPayload"`
		} `json:"conversationEntries"`
	}
	c.messaging(http.MethodGet, "/conversation/"+conv+"/entries?direction=FromStart&limit=50", nil, 200, &res)
	var out []line
	for _, e := range res.Entries {
		l := line{typ: e.EntryType, role: e.Sender.Role, text: e.Payload.AbstractMessage.StaticContent.Text}
		if len(e.Payload.Entries) > 0 {
			l.op = e.Payload.Entries[0].Operation
		}
		if e.EntryType == "SessionStatusChanged" {
			l.text = e.Payload.SessionStatus
		}
		out = append(out, l)
	}
	return out
}

// waitFor polls the conversation until cond holds of its entries (the
// scripted agent acts in timer callbacks of their own).
func (c *devClient) waitFor(conv, what string, cond func([]line) bool) []line {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ls := c.entries(conv)
		if cond(ls) {
			return ls
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("waiting for %s: entries %+v", what, ls)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func agentTexts(ls []line) []string {
	var out []string
	for _, l := range ls {
		if l.typ == "Message" && l.role == "Agent" {
			out = append(out, l.text)
		}
	}
	return out
}

// newID is a lowercase version 4 UUID, as conversation and message ids are.
func newID(t *testing.T) string {
	t.Helper()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func soqlTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// TestDevActivity runs the org serve --dev starts, on a fake clock, and
// sees every part of its activity through the APIs a client uses.
func TestDevActivity(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	fc := clock.NewFake(time.Date(2026, 3, 2, 9, 40, 0, 0, time.UTC))
	start := fc.Now()
	o, err := Start(t.Context(), Options{Addr: "127.0.0.1:0", StateDir: t.TempDir(), Sample: true, Clock: fc,
		Activity: true, ActivitySpec: emulator.ActivitySpec{CasesPerMinute: 30, ArticlesPerHour: 600, Seed: 5}})
	if err != nil {
		t.Fatal(err)
	}
	c := newDevClient(t, o, start)

	// Nothing has happened yet at the start.
	since := soqlTime(start)
	if n := len(c.queryAll("SELECT Id FROM Case WHERE SystemModstamp > " + since)); n != 0 {
		t.Fatalf("%d Cases changed before the clock moved", n)
	}
	hourly := func(after time.Time) []map[string]any {
		return c.queryAll("SELECT Id, EventType, LogDate, CreatedDate FROM EventLogFile WHERE Interval = 'Hourly' AND CreatedDate > " + soqlTime(after))
	}
	if n := len(hourly(start)); n != 0 {
		t.Fatalf("%d hourly files created after the start, before the clock moved", n)
	}

	// Within its first minute the org has new hourly files, the last
	// completed hour (08:00) among them.
	fc.Advance(time.Minute)
	files := hourly(start)
	last := false
	for _, f := range files {
		if strings.HasPrefix(f["LogDate"].(string), "2026-03-02T08:00:00") {
			last = true
		}
	}
	if !last {
		t.Fatalf("no hourly file of 08:00 in the first minute: %d new files", len(files))
	}
	// No hour of the back-filled days is without its file.
	have := map[string]bool{}
	for _, f := range c.queryAll("SELECT LogDate FROM EventLogFile WHERE EventType = 'API' AND Interval = 'Hourly' AND Sequence = 1") {
		have[f["LogDate"].(string)[:13]] = true
	}
	for h := start.Truncate(24*time.Hour).AddDate(0, 0, -3); h.Before(start.Truncate(time.Hour)); h = h.Add(time.Hour) {
		if !have[h.Format("2006-01-02T15")] {
			t.Errorf("no hourly API file for %s", h)
		}
	}

	// Cases and comments: 30 actions a minute.
	fc.Advance(time.Minute)
	changed := c.queryAll("SELECT Id, Status, Priority, OwnerId, CreatedDate, IsDeleted FROM Case WHERE SystemModstamp > " + since)
	comments := c.queryAll("SELECT Id, ParentId FROM CaseComment WHERE CreatedDate > " + since)
	created := c.queryAll("SELECT Id FROM Case WHERE CreatedDate > " + since)
	st := o.Org.Activity()
	acts := st.Cases.Actions
	if acts["failed"] != 0 || st.Articles["failed"] != 0 {
		t.Fatalf("failed actions: %v %s; %v %s", acts, st.Cases.LastError, st.Articles, st.LastError)
	}
	total := 0
	for _, n := range acts {
		total += n
	}
	if total != 60 {
		t.Fatalf("%d case actions in 2 minutes at 30/min: %v", total, acts)
	}
	if len(changed) == 0 || acts["case.update"] == 0 || acts["case.assign"] == 0 {
		t.Fatalf("case changes: %d changed, actions %v", len(changed), acts)
	}
	if len(comments) != acts["comment.create"] || len(comments) == 0 {
		t.Fatalf("%d new comments, %d comment actions", len(comments), acts["comment.create"])
	}
	if len(created) != acts["case.create"] || len(created) == 0 {
		t.Fatalf("%d new cases, %d create actions", len(created), acts["case.create"])
	}
	owners := map[any]bool{}
	for _, r := range changed {
		owners[r["OwnerId"]] = true
	}
	if len(owners) < 2 {
		t.Fatalf("reassigned Cases all have one owner: %v", owners)
	}

	t.Logf("case actions %v; %d hourly files in the first minute", acts, len(files))
	// Knowledge: 20 actions in 2 minutes at 600/h.
	// One PublishStatus and one Language per query: Salesforce's Knowledge
	// query rules, which the emulator enforces.
	status := map[string]int{}
	for _, ps := range []string{"Online", "Archived"} {
		for _, lang := range []string{"en_US", "de"} {
			arts := c.queryAll("SELECT Id, KnowledgeArticleId, PublishStatus, VersionNumber FROM Knowledge__kav WHERE PublishStatus = '" + ps +
				"' AND Language = '" + lang + "' AND SystemModstamp > " + since)
			for _, a := range arts {
				status[a["PublishStatus"].(string)]++
			}
		}
	}
	if st.Articles["article.update"] == 0 || st.Articles["article.publish"] == 0 || st.Articles["article.archive"] == 0 ||
		status["Online"] == 0 || status["Archived"] == 0 {
		t.Fatalf("articles: actions %v, changed versions by status %v", st.Articles, status)
	}

	t.Logf("article actions %v; changed versions by status %v", st.Articles, status)
	// The scripted agent answers a handoff.
	var tok struct {
		AccessToken string `json:"accessToken"`
	}
	c.messaging(http.MethodPost, "/authorization/unauthenticated/access-token", map[string]any{"orgId": o.Info.OrgID[:15],
		"esDeveloperName": "sfbridge_api", "capabilitiesVersion": "1", "platform": "Web"}, 200, &tok)
	c.msg = tok.AccessToken
	conv := newID(t)
	c.messaging(http.MethodPost, "/conversation", map[string]any{"conversationId": conv, "esDeveloperName": "sfbridge_api",
		"routingAttributes": map[string]string{"Topic": "Laptop"}}, 201, nil)
	c.say(conv, "User: my laptop does not start")
	c.say(conv, "Bot: I could not fix it; handing you over to a person")
	fc.Advance(2 * time.Second)
	c.waitFor(conv, "the agent to join", func(ls []line) bool {
		for _, l := range ls {
			if l.typ == "ParticipantChanged" && l.op == "add" {
				return true
			}
		}
		return false
	})
	fc.Advance(2 * time.Second)
	ls := c.waitFor(conv, "the first reply", func(ls []line) bool { return len(agentTexts(ls)) > 0 })
	if got := agentTexts(ls); len(got) != 1 || got[0] != emulator.DefaultAgentFirstReply {
		t.Fatalf("first reply %q", got)
	}
	c.say(conv, "It is the grey one")
	fc.Advance(2 * time.Second)
	ls = c.waitFor(conv, "the second reply", func(ls []line) bool { return len(agentTexts(ls)) > 1 })
	if got := agentTexts(ls)[1]; got != emulator.DevAgentScript(emulator.DefaultActivityAgent).Replies[0] {
		t.Fatalf("second reply %q", got)
	}
	c.say(conv, "thanks, bye")
	fc.Advance(2 * time.Second)
	ls = c.waitFor(conv, "the session to end", func(ls []line) bool {
		return len(ls) > 0 && ls[len(ls)-1].typ == "SessionStatusChanged" && ls[len(ls)-1].text == "Ended"
	})
	if got := agentTexts(ls); got[len(got)-1] != emulator.DefaultAgentFarewell {
		t.Fatalf("farewell %q", got)
	}

	// An hour on, the file of 09:00 comes 30 s after 10:00.
	fc.Set(time.Date(2026, 3, 2, 10, 0, 29, 0, time.UTC))
	c = newDevClient(t, o, fc.Now())
	for _, f := range hourly(start) {
		if strings.HasPrefix(f["LogDate"].(string), "2026-03-02T09:00:00") {
			t.Fatalf("the file of 09:00 came before 10:00:30: %v", f)
		}
	}
	fc.Advance(time.Second)
	n := 0
	for _, f := range hourly(start) {
		if strings.HasPrefix(f["LogDate"].(string), "2026-03-02T09:00:00") {
			n++
			if !strings.HasPrefix(f["CreatedDate"].(string), "2026-03-02T10:00:30") {
				t.Errorf("file of 09:00 created %v", f["CreatedDate"])
			}
		}
	}
	if n == 0 {
		t.Fatal("no hourly file of 09:00 at 10:00:30")
	}

	if err := o.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st := o.Org.Activity(); st.Running || st.Cases.Running {
		t.Fatalf("activity still running after Shutdown: %+v", st)
	}
	c.hc.CloseIdleConnections()
}

// Without Activity, nothing changes as time passes.
func TestNoActivityByDefault(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 3, 2, 9, 40, 0, 0, time.UTC))
	o, err := Start(t.Context(), Options{Addr: "127.0.0.1:0", StateDir: filepath.Join(t.TempDir(), "s"), Sample: true, Clock: fc})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Shutdown(t.Context())
	c := newDevClient(t, o, fc.Now())
	fc.Advance(10 * time.Minute)
	if n := len(c.queryAll("SELECT Id FROM Case WHERE SystemModstamp > " + soqlTime(time.Date(2026, 3, 2, 9, 40, 0, 0, time.UTC)))); n != 0 {
		t.Fatalf("%d Cases changed without activity", n)
	}
	if st := o.Org.Activity(); st.Running {
		t.Fatalf("activity %+v", st)
	}
}
