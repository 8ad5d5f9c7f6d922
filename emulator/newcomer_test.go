package emulator_test

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/sftest"
)

// Salesforce documents the assertion header as {"alg":"RS256"} and nothing
// about other parameters; x/oauth2 sends kid when PrivateKeyID is set. kid
// and typ are ignored: the signature still has to verify.
func TestHeaderKidAndTypIgnored(t *testing.T) {
	s := newServer(t)
	claims := map[string]any{"iss": s.ClientID, "sub": emulator.UserIntegration, "aud": s.URL, "exp": time.Now().Add(3 * time.Minute).Unix()}
	headers := map[string]map[string]any{
		"x/oauth2 with PrivateKeyID": {"alg": "RS256", "typ": "JWT", "kid": "0123456789abcdef"},
		"kid naming no key":          {"alg": "RS256", "kid": "../../dev/null"},
		"typ JOSE":                   {"alg": "RS256", "typ": "JOSE"},
		"typ lower case":             {"alg": "RS256", "typ": "jwt"},
	}
	for name, h := range headers {
		t.Run(name, func(t *testing.T) {
			r := postToken(t, s, grantForm(sign(t, s.Key, h, claims)))
			if r.status != 200 || !strings.Contains(r.body, `"access_token"`) {
				t.Errorf("got %d %s", r.status, r.body)
			}
		})
	}
}

// A new app without a consumer key gets one, as in Salesforce, and the admin
// API answers it; replacing the app keeps it.
func TestNewAppGetsConsumerKey(t *testing.T) {
	s := newServer(t)
	create := func(body string) emulator.AppSpec {
		t.Helper()
		r := admin(t, s, "POST", "/_emulator/apps", body)
		if r.status != 200 {
			t.Fatalf("POST /_emulator/apps %s: %d %s", body, r.status, r.body)
		}
		var a emulator.AppSpec
		if err := json.Unmarshal([]byte(r.body), &a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	shape := regexp.MustCompile(`^3MVG9[A-Za-z0-9._]{80}$`)
	certJSON, _ := json.Marshal(string(s.CertPEM))
	a := create(`{"name":"Moveworks_Server","certificates":[` + string(certJSON) + `],"permission_sets":["sfbridge_App_Access"]}`)
	if !shape.MatchString(a.ConsumerKey) {
		t.Errorf("generated consumer key %q is not shaped like Salesforce's", a.ConsumerKey)
	}
	if len(a.ConsumerSecret) != 64 {
		t.Errorf("generated consumer secret %q", a.ConsumerSecret)
	}
	b := create(`{"name":"Other"}`)
	if b.ConsumerKey == a.ConsumerKey || !shape.MatchString(b.ConsumerKey) {
		t.Errorf("second app's key %q (first %q)", b.ConsumerKey, a.ConsumerKey)
	}
	again := create(`{"name":"Moveworks_Server","certificates":[` + string(certJSON) + `],"permission_sets":["sfbridge_App_Access"]}`)
	if again.ConsumerKey != a.ConsumerKey || again.ConsumerSecret != a.ConsumerSecret {
		t.Errorf("replacing the app changed its key: %q, was %q", again.ConsumerKey, a.ConsumerKey)
	}
	// The generated key is the app's client id.
	claims := map[string]any{"iss": a.ConsumerKey, "sub": emulator.UserIntegration, "aud": s.URL, "exp": time.Now().Add(time.Minute).Unix()}
	if r := postToken(t, s, grantForm(sign(t, s.Key, map[string]any{"alg": "RS256"}, claims))); r.status != 200 {
		t.Errorf("login with the generated consumer key: %d %s", r.status, r.body)
	}
	if r := admin(t, s, "POST", "/_emulator/apps", `{}`); r.status != 400 || !strings.Contains(r.body, "name is required") {
		t.Errorf("app without a name: %d %s", r.status, r.body)
	}
}

// The org's clock moves both ways. A forward move larger than the
// assertion's lifetime makes it expired, as Salesforce does for that skew;
// a smaller one, or a move back (the client's clock runs ahead), does not.
func TestClockMovesBothWays(t *testing.T) {
	client := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC) // the client machine's clock
	s := sftest.NewServerWith(t, sftest.Options{Key: sharedKey(), Now: func() time.Time { return client }})
	assertionAt := func(exp time.Time) string {
		return sign(t, s.Key, map[string]any{"alg": "RS256"}, map[string]any{"iss": s.ClientID, "sub": emulator.UserIntegration, "aud": s.URL, "exp": exp.Unix()})
	}
	clockTo := func(body, wantNow string) {
		t.Helper()
		r := admin(t, s, "POST", "/_emulator/clock", body)
		if r.status != 200 || !strings.Contains(r.body, `"now":"`+wantNow+`"`) {
			t.Fatalf("POST /_emulator/clock %s: %d %s, want now %s", body, r.status, r.body, wantNow)
		}
	}

	// Session timeout without refusing the next login: a short session
	// timeout and a move smaller than the assertion's 3 minutes.
	if r := admin(t, s, "PATCH", "/_emulator/apps/sfbridge", `{"session_timeout":"1m"}`); r.status != 204 {
		t.Fatalf("PATCH app: %d %s", r.status, r.body)
	}
	tok := s.Login(t, emulator.UserIntegration).AccessToken
	clockTo(`{"advance":"90s"}`, "2026-12-01T09:01:30Z")
	if r := do(t, s, "GET", "/services/data/v62.0/", tok, nil); r.status != 401 {
		t.Errorf("session after 90 s idle with a 1 m timeout: %d %s", r.status, r.body)
	}
	if r := postToken(t, s, grantForm(assertionAt(client.Add(3*time.Minute)))); r.status != 200 {
		t.Errorf("new login 90 s into a 3 minute assertion: %d %s", r.status, r.body)
	}

	// Further than the assertion's lifetime: expired, as on Salesforce.
	clockTo(`{"advance":"9m"}`, "2026-12-01T09:10:30Z")
	if r := postToken(t, s, grantForm(assertionAt(client.Add(3*time.Minute)))); r.status != 400 || !strings.Contains(r.body, "expired authorization code") {
		t.Errorf("assertion 10 minutes behind the org: %d %s", r.status, r.body)
	}

	// Back: the org is 20 minutes behind the client (a client clock running ahead).
	clockTo(`{"advance":"-30m30s"}`, "2026-12-01T08:40:00Z")
	r := postToken(t, s, grantForm(assertionAt(client.Add(3*time.Minute))))
	if r.status != 200 {
		t.Errorf("assertion from a clock 20 minutes ahead: %d %s", r.status, r.body)
	}
	if d := do(t, s, "GET", "/services/data/", "", nil).header.Get("Date"); d != "Tue, 01 Dec 2026 08:40:00 GMT" {
		t.Errorf("Date header %q, want the org's clock", d)
	}

	clockTo(`{"offset":"-1h"}`, "2026-12-01T08:00:00Z")
	clockTo(`{"set":"2027-01-01T00:00:00Z"}`, "2027-01-01T00:00:00Z")
	clockTo(`{"offset":"0s"}`, "2026-12-01T09:00:00Z")
	for _, bad := range []string{`{}`, `{"advance":"soon"}`, `{"set":"yesterday"}`, `{"advance":"1h","set":"2027-01-01T00:00:00Z"}`} {
		if r := admin(t, s, "POST", "/_emulator/clock", bad); r.status != 400 {
			t.Errorf("POST /_emulator/clock %s: %d %s", bad, r.status, r.body)
		}
	}
}

// The resource map lists only resources that are served.
func TestResourceMapListsOnlyServed(t *testing.T) {
	s := newServer(t)
	tok := s.Login(t, emulator.UserIntegration).AccessToken
	r := do(t, s, "GET", "/services/data/v62.0/", tok, nil)
	var m map[string]string
	if err := json.Unmarshal([]byte(r.body), &m); err != nil || r.status != 200 {
		t.Fatalf("resource map: %d %s", r.status, r.body)
	}
	for _, want := range []string{"sobjects", "query", "queryAll", "limits", "composite", "identity"} {
		if m[want] == "" {
			t.Errorf("resource map lacks %s: %v", want, m)
		}
	}
	for name, u := range m {
		if name == "identity" {
			continue
		}
		if r := do(t, s, "GET", u, tok, nil); r.status == 404 {
			t.Errorf("resource map lists %s at %s, which answers 404 %s", name, u, r.body)
		}
	}
}

// A token request over the body limit is told so, not "unsupported grant
// type"; a body that is no form says that.
func TestTokenBodyTooLarge(t *testing.T) {
	s := newServer(t)
	big := grantForm(strings.Repeat("a", 1<<20))
	r := postToken(t, s, big)
	if r.status != 413 || !strings.Contains(r.body, `"error":"invalid_request"`) || !strings.Contains(r.body, "too large") {
		t.Errorf("1 MB assertion: %d %s", r.status, r.body)
	}
	if l := s.Org.Logins(1); len(l) != 1 || !strings.Contains(l[0].Status, "over 64 KiB") {
		t.Errorf("login history %+v", l)
	}
	r = do(t, s, "POST", "/services/oauth2/token", "", strings.NewReader("grant_type=%zz"), "Content-Type", "application/x-www-form-urlencoded")
	if r.status != 400 || !strings.Contains(r.body, "malformed request body") {
		t.Errorf("bad form encoding: %d %s", r.status, r.body)
	}
}

// The rate_limit fault is a short-term limit and says so in Salesforce's
// words for concurrent requests, not the daily allocation's.
func TestRateLimitFaultWording(t *testing.T) {
	s := newServer(t)
	tok := s.Login(t, emulator.UserIntegration).AccessToken
	if _, err := s.Org.AddFault(emulator.FaultSpec{Path: "/services/data/**", Action: emulator.FaultRateLimit, RatePerSecond: 0.001, Burst: 1}); err != nil {
		t.Fatal(err)
	}
	do(t, s, "GET", "/services/data/v62.0/", tok, nil)
	r := do(t, s, "GET", "/services/data/v62.0/", tok, nil)
	want := `[{"message":"ConcurrentRequests (Concurrent API Requests) Limit exceeded","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`
	if r.status != 403 || r.body != want {
		t.Errorf("over the rate: %d %s, want 403 %s", r.status, r.body, want)
	}
}

// The sample records: Accounts, employee Users of whom some are Contacts
// with the same email, a hundred-odd Cases with comments, and Knowledge
// articles in English with German translations.
func TestSampleRecords(t *testing.T) {
	s := newServer(t)
	if err := s.Org.AddSampleRecords(1); err != nil {
		t.Fatal(err)
	}
	st := s.Org.Store()
	for obj, want := range map[string]int{"Account": 11, "Contact": 48, "Case": 120, "CaseComment": 240, "Knowledge__kav": 20} {
		if n := st.Count(obj); n != want {
			t.Errorf("%s: %d records, want %d", obj, n, want)
		}
	}
	tok := s.Login(t, emulator.UserIntegration).AccessToken
	query := func(q string) []map[string]any {
		t.Helper()
		r := do(t, s, "GET", "/services/data/v62.0/query?q="+url.QueryEscape(q), tok, nil)
		var res struct{ Records []map[string]any }
		if err := json.Unmarshal([]byte(r.body), &res); err != nil || r.status != 200 {
			t.Fatalf("%s: %d %s", q, r.status, r.body)
		}
		return res.Records
	}
	users := map[string]bool{}
	for _, u := range query("SELECT Email FROM User") {
		users[u["Email"].(string)] = true
	}
	shared := 0
	for _, c := range query("SELECT Email FROM Contact") {
		if users[c["Email"].(string)] {
			shared++
		}
	}
	if shared != 8 {
		t.Errorf("%d Contacts share an email with a User, want 8", shared)
	}
	byArticle := map[string][]string{}
	// The knowledge base is multilingual: a query names one language.
	for _, lang := range []string{"en_US", "de"} {
		for _, k := range query("SELECT KnowledgeArticleId, Language FROM Knowledge__kav WHERE PublishStatus = 'Online' AND Language = '" + lang + "'") {
			id := k["KnowledgeArticleId"].(string)
			byArticle[id] = append(byArticle[id], k["Language"].(string))
		}
	}
	translated := 0
	for _, langs := range byArticle {
		if len(langs) == 2 {
			translated++
		}
	}
	if len(byArticle) != 12 || translated != 8 {
		t.Errorf("%d articles, %d in two languages; want 12 and 8: %v", len(byArticle), translated, byArticle)
	}
	if n := len(query("SELECT Id FROM Case WHERE ContactId != null")); n < 100 {
		t.Errorf("only %d Cases have a Contact", n)
	}
}
