package botapi_test

import (
	"strings"
	"testing"

	"github.com/sfbridge/sfbridge/emulator"
)

func TestEmployeesCasesAndComments(t *testing.T) {
	e := newEnv(t)
	contact := e.create("Contact", map[string]any{"FirstName": "Ben", "LastName": "Okafor", "Email": "ben@example.com"})

	var emp struct {
		Found         bool   `json:"found"`
		CaseContactID string `json:"case_contact_id"`
		Contacts      []struct {
			ID string `json:"id"`
		} `json:"contacts"`
	}
	if st := e.do("GET", "/v1/orgs/acme/employees?email=BEN@example.com", nil, nil, &emp); st != 200 || !emp.Found || emp.CaseContactID != contact || len(emp.Contacts) != 1 {
		t.Fatalf("employee: %d %+v", st, emp)
	}
	if st := e.do("GET", "/v1/orgs/acme/employees?email=nobody@example.com", nil, nil, &emp); st != 200 || emp.Found {
		t.Fatalf("unknown employee: %d %+v", st, emp)
	}
	e.wantError("GET", "/v1/orgs/acme/employees?email=not-an-email", nil, nil, 400, "bad_request")
	e.wantError("GET", "/v1/orgs/nope/employees?email=ben@example.com", nil, nil, 404, "unknown_org")

	// Create with an idempotency key: 201, then the same case with 200.
	type created struct {
		ID         string `json:"id"`
		CaseNumber string `json:"case_number"`
		ContactID  string `json:"contact_id"`
		Key        string `json:"key"`
		Reused     bool   `json:"reused"`
	}
	body := map[string]any{"email": "ben@example.com", "subject": "Laptop broken", "description": "Screen dark", "priority": "High", "origin": "Web"}
	key := map[string]string{"Idempotency-Key": "ticket-7f3a"}
	var c1, c2 created
	if st := e.do("POST", "/v1/orgs/acme/cases", body, key, &c1); st != 201 || c1.ID == "" || c1.CaseNumber == "" || c1.ContactID != contact || c1.Key != "ticket-7f3a" || c1.Reused {
		t.Fatalf("create: %d %+v", st, c1)
	}
	if st := e.do("POST", "/v1/orgs/acme/cases", body, key, &c2); st != 200 || c2.ID != c1.ID || c2.CaseNumber != c1.CaseNumber || !c2.Reused {
		t.Fatalf("create again with the same key: %d %+v", st, c2)
	}
	n, err := e.rest.Query.Count(t.Context(), "SELECT COUNT() FROM Case WHERE Subject = 'Laptop broken'", nil)
	if err != nil || n != 1 {
		t.Fatalf("%d cases after two requests with one key (%v)", n, err)
	}
	// Without a key every request creates a case.
	var c3 created
	if st := e.do("POST", "/v1/orgs/acme/cases", map[string]any{"email": "guest@example.com", "subject": "Need access"}, nil, &c3); st != 201 || c3.ID == c1.ID || c3.Key == "" {
		t.Fatalf("create without key: %d %+v", st, c3)
	}
	bad := map[string]string{"X-Test-Invalid": "1"}
	e.wantError("POST", "/v1/orgs/acme/cases", body, map[string]string{"Idempotency-Key": "has space", "X-Test-Invalid": "1"}, 400, "bad_request")
	e.wantError("POST", "/v1/orgs/acme/cases", map[string]any{"email": "ben@example.com"}, bad, 400, "bad_request")
	e.wantError("POST", "/v1/orgs/acme/cases", map[string]any{"email": "ben@example.com", "subject": "x", "colour": "red"}, bad, 400, "bad_request")
	e.wantError("POST", "/v1/orgs/acme/cases", `{"email":`, bad, 400, "bad_request")

	// Read it back by id and by number without zeros; comment on it.
	var comment struct {
		ID     string `json:"id"`
		Public bool   `json:"public"`
	}
	if st := e.do("POST", "/v1/orgs/acme/cases/"+c1.CaseNumber+"/comments", map[string]any{"body": "We ordered a screen", "public": true}, nil, &comment); st != 201 || comment.ID == "" || !comment.Public {
		t.Fatalf("comment: %d %+v", st, comment)
	}
	var got struct {
		ID       string `json:"id"`
		Subject  string `json:"subject"`
		Priority string `json:"priority"`
		Comments []struct {
			Body string `json:"body"`
		} `json:"comments"`
	}
	if st := e.do("GET", "/v1/orgs/acme/cases/"+strings.TrimLeft(c1.CaseNumber, "0"), nil, nil, &got); st != 200 || got.ID != c1.ID || got.Subject != "Laptop broken" ||
		got.Priority != "High" || len(got.Comments) != 1 || got.Comments[0].Body != "We ordered a screen" {
		t.Fatalf("get: %d %+v", st, got)
	}
	e.wantError("GET", "/v1/orgs/acme/cases/99999999", nil, nil, 404, "case_not_found")
	e.wantError("GET", "/v1/orgs/acme/cases/not-a-case", nil, nil, 400, "bad_request")
	e.wantError("POST", "/v1/orgs/acme/cases/"+c1.ID+"/comments", map[string]any{"body": ""}, bad, 400, "bad_request")
	e.wantError("POST", "/v1/orgs/acme/cases/"+c1.ID+"/comments", "body=x", map[string]string{"Content-Type": "text/plain", "X-Test-Invalid": "1"}, 415, "unsupported_media_type")

	// The org refuses: 502 with its error code.
	if _, err := e.srv.Org.AddFault(emulator.FaultSpec{Path: "/services/data/*/query", Method: "GET", Action: emulator.FaultError, Status: 400, ErrorCode: "INVALID_FIELD", Message: "No such column", Count: 1}); err != nil {
		t.Fatal(err)
	}
	ae := e.wantError("GET", "/v1/orgs/acme/cases/"+c1.ID, nil, nil, 502, "salesforce_error")
	if ae.Error.Salesforce == nil || ae.Error.Salesforce.ErrorCode != "INVALID_FIELD" || ae.Error.Fix == "" {
		t.Fatalf("salesforce error: %+v", ae)
	}
}

func TestKnowledgeSearchesTheSyncedCopy(t *testing.T) {
	e := newEnv(t)
	if err := e.srv.Org.AddSampleRecords(1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.org.Knowledge.Sync(t.Context(), []string{"en_US", "de"}); err != nil {
		t.Fatal(err)
	}
	before := e.srv.Org.Summary(nil).APIUsage
	var res struct {
		Articles []struct {
			ID                 string  `json:"id"`
			KnowledgeArticleID string  `json:"knowledge_article_id"`
			Title              string  `json:"title"`
			Language           string  `json:"language"`
			URLName            string  `json:"url_name"`
			Score              float64 `json:"score"`
		} `json:"articles"`
	}
	if st := e.do("GET", "/v1/orgs/acme/knowledge?q=password&language=en_US&limit=5", nil, nil, &res); st != 200 || len(res.Articles) == 0 || res.Articles[0].Title != "Reset your password" {
		t.Fatalf("search: %d %+v", st, res)
	}
	first := res.Articles[0]
	if st := e.do("GET", "/v1/orgs/acme/knowledge?q=Passwort&language=de", nil, nil, &res); st != 200 || len(res.Articles) != 1 || res.Articles[0].Language != "de" {
		t.Fatalf("German search: %d %+v", st, res)
	}
	if st := e.do("GET", "/v1/orgs/acme/knowledge?q=zzzunknownword", nil, nil, &res); st != 200 || len(res.Articles) != 0 {
		t.Fatalf("no hits: %d %+v", st, res)
	}
	var art struct {
		ID    string `json:"id"`
		Title string `json:"title"`
		Text  string `json:"text"`
	}
	for _, ref := range []string{first.KnowledgeArticleID, first.ID, first.URLName} {
		if st := e.do("GET", "/v1/orgs/acme/knowledge/"+ref+"?language=en_US", nil, nil, &art); st != 200 || art.ID != first.ID || art.Text == "" {
			t.Fatalf("get %s: %d %+v", ref, st, art)
		}
	}
	if used := e.srv.Org.Summary(nil).APIUsage - before; used != 0 {
		t.Fatalf("knowledge routes made %d Salesforce calls, want none", used)
	}
	e.wantError("GET", "/v1/orgs/acme/knowledge/no-such-article", nil, nil, 404, "article_not_found")
	e.wantError("GET", "/v1/orgs/acme/knowledge?q=", nil, map[string]string{"X-Test-Invalid": "1"}, 400, "bad_request")
	e.wantError("GET", "/v1/orgs/acme/knowledge?q=x&limit=500", nil, map[string]string{"X-Test-Invalid": "1"}, 400, "bad_request")
}

func TestRoutesOfAnOrgWithoutTheirSectionAnswer503(t *testing.T) {
	e := newEnv(t)
	const h = "/v1/orgs/bare/handoffs/00000000-0000-4000-8000-000000000000"
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/v1/orgs/bare/employees?email=a@example.com", nil},
		{"POST", "/v1/orgs/bare/cases", map[string]any{"email": "a@example.com", "subject": "s"}},
		{"GET", "/v1/orgs/bare/cases/00001001", nil},
		{"POST", "/v1/orgs/bare/cases/00001001/comments", map[string]any{"body": "b"}},
		{"GET", "/v1/orgs/bare/knowledge?q=x", nil},
		{"GET", "/v1/orgs/bare/knowledge/x", nil},
		{"GET", "/v1/orgs/bare/events", nil},
		{"POST", "/v1/orgs/bare/handoffs", map[string]any{"user_id": "u"}},
		{"POST", h + "/messages", map[string]any{"text": "t"}},
		{"GET", h + "/events", nil},
		{"DELETE", h, nil},
	} {
		ae := e.wantError(r.method, r.path, r.body, nil, 503, "not_configured")
		if ae.Error.Fix == "" || ae.Error.Salesforce != nil {
			t.Fatalf("%s %s: %+v", r.method, r.path, ae)
		}
	}
	e.wantError("PUT", "/v1/orgs/acme/cases", map[string]any{}, map[string]string{"X-Test-Invalid": "1"}, 404, "not_found")
}
