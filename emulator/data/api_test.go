package data

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/emulator/sfid"
	"github.com/sfbridge/sfbridge/emulator/soql"
)

var testNow = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

type fixture struct {
	store   *Store
	srv     *httptest.Server
	admin   *Principal
	limited *Principal // read-only on Case, nothing on Knowledge
	user    sfid.ID
	mu      sync.Mutex
	clock   time.Time
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clock = f.clock.Add(d)
}

func fullAccess(string) ObjectAccess {
	return ObjectAccess{Read: true, Create: true, Edit: true, Delete: true}
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ids, err := sfid.NewGenerator("xx", 100)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{clock: testNow}
	s, err := NewStore(StoreOptions{IDs: ids, Now: func() time.Time {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.clock = f.clock.Add(time.Second)
		return f.clock
	}, OrgID: sfid.Make("00D", "xx", 1)})
	if err != nil {
		t.Fatal(err)
	}
	org := sfid.Make("00D", "xx", 1)
	if _, err := s.Insert(ObjOrganization, org, map[string]any{"Name": "Acme", "InstanceName": "CS42", "IsSandbox": false, "OrganizationType": "Developer Edition"}); err != nil {
		t.Fatal(err)
	}
	prof := sfid.Make("00e", "xx", 1)
	if _, err := s.Insert(ObjProfile, prof, map[string]any{"Name": "Integration"}); err != nil {
		t.Fatal(err)
	}
	user := sfid.Make("005", "xx", 1)
	if _, err := s.Insert(ObjUser, user, map[string]any{"Username": "integration@sfbridge.test", "FirstName": "Ina", "LastName": "Tegration", "Email": "integration@sfbridge.test",
		"Alias": "integ", "ProfileId": prof, "IsActive": true, "TimeZoneSidKey": "GMT", "LocaleSidKey": "en_US", "LanguageLocaleKey": "en_US", "EmailEncodingKey": "UTF-8"}); err != nil {
		t.Fatal(err)
	}
	f.store, f.user = s, user
	f.admin = &Principal{UserID: user, OrgID: org, Object: fullAccess, Permissions: map[string]bool{"ViewEventLogFiles": true}}
	f.limited = &Principal{UserID: user, OrgID: org, Object: func(o string) ObjectAccess {
		switch o {
		case ObjCase, ObjContact:
			return ObjectAccess{Read: true}
		}
		return ObjectAccess{}
	}}
	h := NewAPI(s, APIOptions{})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := f.admin
		switch r.Header.Get("X-Test-User") {
		case "limited":
			p = f.limited
		case "setup":
			p = &Principal{UserID: f.limited.UserID, Object: f.limited.Object, Permissions: map[string]bool{"ViewSetup": true}}
		}
		h.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

type resp struct {
	status int
	body   []byte
	header http.Header
}

func (r resp) json(t *testing.T) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.body, err)
	}
	return v
}

func (r resp) obj(t *testing.T) map[string]any {
	t.Helper()
	m, ok := r.json(t).(map[string]any)
	if !ok {
		t.Fatalf("body is not an object: %s", r.body)
	}
	return m
}

// errCode returns the errorCode of a Salesforce error array.
func (r resp) errCode(t *testing.T) (string, string) {
	t.Helper()
	var arr []ErrorItem
	if err := json.Unmarshal(r.body, &arr); err != nil || len(arr) == 0 {
		t.Fatalf("body %q is not an error array: %v", r.body, err)
	}
	return arr[0].ErrorCode, arr[0].Message
}

func (f *fixture) do(t *testing.T, method, path, body string, hdr ...string) resp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, body: b, header: res.Header}
}

func q(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, " ", "+"), "'", "%27") }

const v = "/services/data/v62.0"

func TestOrganizationQuery(t *testing.T) {
	f := newFixture(t)
	r := f.do(t, "GET", v+"/query?q="+q("SELECT Name, InstanceName, IsSandbox, TrialExpirationDate, NamespacePrefix, OrganizationType FROM Organization"), "")
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	want := `{"totalSize":1,"done":true,"records":[{"attributes":{"type":"Organization","url":"/services/data/v62.0/sobjects/Organization/00Dxx0000000001AAA"},"Name":"Acme","InstanceName":"CS42","IsSandbox":false,"TrialExpirationDate":null,"NamespacePrefix":null,"OrganizationType":"Developer Edition"}]}`
	got := string(r.body)
	org := string(sfid.Make("00D", "xx", 1))
	want = strings.Replace(want, "00Dxx0000000001AAA", org, 1)
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestCreateRetrieveUpdateDelete(t *testing.T) {
	f := newFixture(t)
	r := f.do(t, "POST", v+"/sobjects/Contact", `{"FirstName":"Jane","LastName":"Doe","Email":"jane@example.com","attributes":{"type":"Contact"}}`)
	if r.status != 201 {
		t.Fatalf("create contact: %d %s", r.status, r.body)
	}
	contact := r.obj(t)["id"].(string)
	r = f.do(t, "POST", v+"/sobjects/Case", fmt.Sprintf(`{"Subject":"Hello","ContactId":%q,"Comments":"first comment"}`, contact))
	if r.status != 201 {
		t.Fatalf("create case: %d %s", r.status, r.body)
	}
	m := r.obj(t)
	id := m["id"].(string)
	if !strings.HasPrefix(id, "500") || m["success"] != true || len(m["errors"].([]any)) != 0 {
		t.Fatalf("create result %v", m)
	}
	r = f.do(t, "GET", v+"/sobjects/Case/"+id+"?fields=CaseNumber,Status,IsClosed,ContactEmail,Priority,OwnerId,CreatedDate", "")
	rec := r.obj(t)
	if rec["CaseNumber"] != "00001000" || rec["Status"] != "New" || rec["IsClosed"] != false || rec["ContactEmail"] != "jane@example.com" || rec["Priority"] != "Medium" || rec["OwnerId"] != string(f.user) {
		t.Fatalf("retrieved %s", r.body)
	}
	if cd := rec["CreatedDate"].(string); !strings.HasSuffix(cd, ".000+0000") || !strings.HasPrefix(cd, "2026-11-20T10:00:") {
		t.Fatalf("CreatedDate %q", cd)
	}
	attrs := rec["attributes"].(map[string]any)
	if attrs["url"] != v+"/sobjects/Case/"+id {
		t.Fatalf("attributes %v", attrs)
	}
	// Comments created a CaseComment.
	r = f.do(t, "GET", v+"/query?q="+q("SELECT CommentBody, Parent.Subject FROM CaseComment WHERE ParentId = '"+id+"'"), "")
	if !bytes.Contains(r.body, []byte(`"CommentBody":"first comment","Parent":{"attributes":{"type":"Case","url":"/services/data/v62.0/sobjects/Case/`+id+`"},"Subject":"Hello"}`)) {
		t.Fatalf("comment query: %s", r.body)
	}
	r = f.do(t, "PATCH", v+"/sobjects/Case/"+id, `{"Status":"Closed"}`)
	if r.status != 204 || len(r.body) != 0 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	rec = f.do(t, "GET", v+"/sobjects/Case/"+id, "").obj(t)
	if rec["IsClosed"] != true || rec["ClosedDate"] == nil || rec["LastModifiedDate"] == rec["CreatedDate"] {
		t.Fatalf("after close: %v", rec)
	}
	r = f.do(t, "PATCH", v+"/sobjects/Case/"+id, `{"CaseNumber":"1","IsClosed":false}`)
	if code, msg := r.errCode(t); r.status != 400 || code != "INVALID_FIELD_FOR_INSERT_UPDATE" || !strings.HasPrefix(msg, "Unable to create/update fields: ") {
		t.Fatalf("read-only: %d %s", r.status, r.body)
	}
	if r = f.do(t, "DELETE", v+"/sobjects/Case/"+id, ""); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r = f.do(t, "GET", v+"/sobjects/Case/"+id, ""); r.status != 404 {
		t.Fatalf("get deleted: %d %s", r.status, r.body)
	}
	if code, _ := f.do(t, "DELETE", v+"/sobjects/Case/"+id, "").errCode(t); code != "ENTITY_IS_DELETED" {
		t.Fatalf("second delete: %s", code)
	}
	n := f.do(t, "GET", v+"/query?q="+q("SELECT COUNT() FROM Case"), "").obj(t)
	if n["totalSize"].(float64) != 0 {
		t.Fatalf("query sees deleted: %v", n)
	}
	all := f.do(t, "GET", v+"/queryAll?q="+q("SELECT Id, IsDeleted FROM Case"), "").obj(t)
	recs := all["records"].([]any)
	if len(recs) != 1 || recs[0].(map[string]any)["IsDeleted"] != true {
		t.Fatalf("queryAll: %v", all)
	}
	cc := f.do(t, "GET", v+"/queryAll?q="+q("SELECT Id FROM CaseComment WHERE IsDeleted = true"), "").obj(t)
	if cc["totalSize"].(float64) != 1 {
		t.Fatalf("comment not cascade-deleted: %v", cc)
	}
	f.advance(time.Hour)
	del := f.do(t, "GET", v+"/sobjects/Case/deleted/?start=2026-11-20T00%3A00%3A00%2B00%3A00&end=2026-11-21T00%3A00%3A00Z", "").obj(t)
	dr := del["deletedRecords"].([]any)
	if len(dr) != 1 || dr[0].(map[string]any)["id"] != id {
		t.Fatalf("deleted: %v", del)
	}
}

func TestCreateErrors(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, path, body, user string
		status                 int
		code, msg              string
	}{
		{"id in body", "/sobjects/Case", `{"Id":"500xx0000000001AAA"}`, "", 400, "INVALID_FIELD", "The Id field should not be specified in the sobject data."},
		{"unknown field", "/sobjects/Case", `{"Nope":1}`, "", 400, "INVALID_FIELD", "No such column 'Nope' on sobject of type Case"},
		{"required", "/sobjects/Contact", `{"FirstName":"x"}`, "", 400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]"},
		{"too long", "/sobjects/Case", `{"Subject":"` + strings.Repeat("x", 256) + `"}`, "", 400, "STRING_TOO_LONG", "(max length=255)"},
		{"bad id", "/sobjects/Case", `{"ContactId":"xyz"}`, "", 400, "MALFORMED_ID", "Contact ID: id value of incorrect type: xyz"},
		{"wrong type id", "/sobjects/Case", `{"ContactId":"` + string(sfid.Make("001", "xx", 5)) + `"}`, "", 400, "FIELD_INTEGRITY_EXCEPTION", "id value of incorrect type"},
		{"missing lookup", "/sobjects/Case", `{"ContactId":"` + string(sfid.Make("003", "xx", 999)) + `"}`, "", 400, "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY", "insufficient access rights on cross-reference id"},
		{"bad json", "/sobjects/Case", `{"Subject":`, "", 400, "JSON_PARSER_ERROR", ""},
		{"empty body", "/sobjects/Case", ``, "", 400, "JSON_PARSER_ERROR", "The HTTP entity body is required, but this request has no entity body."},
		{"no create permission", "/sobjects/Case", `{"Subject":"x"}`, "limited", 400, "INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id"},
		{"comment on a read-only case", "/sobjects/CaseComment", `{"ParentId":"` + string(sfid.Make("500", "xx", 1)) + `","CommentBody":"x"}`, "limited", 400, "INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id"},
		{"unreadable object", "/sobjects/Knowledge__kav", `{"Title":"x"}`, "limited", 404, "NOT_FOUND", "The requested resource does not exist"},
		{"unknown object", "/sobjects/Nope__c", `{}`, "", 404, "NOT_FOUND", "The requested resource does not exist"},
		{"read-only object", "/sobjects/Organization", `{"Name":"x"}`, "", 400, "INVALID_TYPE", "entity type cannot be inserted: Organization"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(t, "POST", v+tt.path, tt.body, "X-Test-User", tt.user)
			code, msg := r.errCode(t)
			if r.status != tt.status || code != tt.code || !strings.Contains(msg, tt.msg) {
				t.Fatalf("got %d %s %q, want %d %s %q", r.status, code, msg, tt.status, tt.code, tt.msg)
			}
		})
	}
}

func TestQueryErrorsAndPermissions(t *testing.T) {
	f := newFixture(t)
	r := f.do(t, "GET", v+"/query?q="+q("SELECT Id FROM Knowledge__kav"), "", "X-Test-User", "limited")
	code, msg := r.errCode(t)
	want := "\nSELECT Id FROM Knowledge__kav\n               ^\nERROR at Row:1:Column:16\nsObject type 'Knowledge__kav' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."
	if r.status != 400 || code != "INVALID_TYPE" || msg != want {
		t.Fatalf("got %d %s %q", r.status, code, msg)
	}
	r = f.do(t, "GET", v+"/query?q="+q("SELECT Id FROM Knowledge__kav WHERE PublishStatus = 'Online' AND Language = 'en_US'"), "")
	if r.status != 200 {
		t.Fatalf("admin: %d %s", r.status, r.body)
	}
	r = f.do(t, "GET", v+"/query", "")
	if code, msg := r.errCode(t); code != "MALFORMED_QUERY" || msg != "A query string has to be specified" {
		t.Fatalf("missing q: %s %s", code, msg)
	}
	r = f.do(t, "GET", v+"/query?q="+q("SELECT Id FROM Case OFFSET 2001"), "")
	if code, _ := r.errCode(t); code != "NUMBER_OUTSIDE_VALID_RANGE" {
		t.Fatalf("offset: %s", r.body)
	}
	r = f.do(t, "GET", v+"/query/01gxx0000000001AAA-2000", "")
	if code, _ := r.errCode(t); r.status != 400 || code != "INVALID_QUERY_LOCATOR" {
		t.Fatalf("locator: %d %s", r.status, r.body)
	}
	r = f.do(t, "GET", v+"/query?q="+q("SELECT PermissionsApiEnabled, PermissionsViewEventLogFiles, PermissionsViewAllData FROM UserPermissionAccess"), "")
	if !bytes.Contains(r.body, []byte(`"PermissionsApiEnabled":true,"PermissionsViewEventLogFiles":true,"PermissionsViewAllData":false`)) {
		t.Fatalf("UserPermissionAccess: %s", r.body)
	}
	r = f.do(t, "GET", v+"/query?q="+q("SELECT Id FROM PermissionSetAssignment"), "", "X-Test-User", "limited")
	if code, _ := r.errCode(t); code != "INVALID_TYPE" {
		t.Fatalf("PermissionSetAssignment without View Setup: %s", r.body)
	}
	if r = f.do(t, "GET", v+"/query?q="+q("SELECT Id FROM PermissionSetAssignment"), "", "X-Test-User", "setup"); r.status != 200 {
		t.Fatalf("PermissionSetAssignment with View Setup: %s", r.body)
	}
	// Describe flags follow the principal's access.
	d := f.do(t, "GET", v+"/sobjects/Case/describe", "", "X-Test-User", "limited").obj(t)
	if d["queryable"] != true || d["createable"] != false || d["updateable"] != false || d["deletable"] != false {
		t.Fatalf("limited describe flags: %v %v %v %v", d["queryable"], d["createable"], d["updateable"], d["deletable"])
	}
	if r := f.do(t, "GET", v+"/sobjects/Knowledge__kav/describe", "", "X-Test-User", "limited"); r.status != 404 {
		t.Fatalf("unreadable describe: %d", r.status)
	}
	g := f.do(t, "GET", v+"/sobjects", "", "X-Test-User", "limited").obj(t)
	for _, o := range g["sobjects"].([]any) {
		if o.(map[string]any)["name"] == ObjKnowledge {
			t.Fatal("global describe lists an unreadable object")
		}
	}
}

func TestDescribe(t *testing.T) {
	f := newFixture(t)
	d := f.do(t, "GET", v+"/sobjects/Case/describe/", "").obj(t)
	if d["name"] != "Case" || d["keyPrefix"] != "500" || d["createable"] != true {
		t.Fatalf("describe: %v", d)
	}
	fields := map[string]map[string]any{}
	for _, x := range d["fields"].([]any) {
		m := x.(map[string]any)
		fields[m["name"].(string)] = m
	}
	cn := fields["CaseNumber"]
	if cn["autoNumber"] != true || cn["createable"] != false || cn["idLookup"] != true {
		t.Fatalf("CaseNumber: %v", cn)
	}
	if c := fields["ContactId"]; c["type"] != "reference" || c["relationshipName"] != "Contact" || c["referenceTo"].([]any)[0] != "Contact" {
		t.Fatalf("ContactId: %v", c)
	}
	found := false
	for _, x := range d["childRelationships"].([]any) {
		m := x.(map[string]any)
		if m["relationshipName"] == "CaseComments" && m["field"] == "ParentId" && m["childSObject"] == "CaseComment" {
			found = true
		}
	}
	if !found {
		t.Fatal("CaseComments child relationship missing")
	}
	if st := fields["Status"]; len(st["picklistValues"].([]any)) != 4 {
		t.Fatalf("Status picklist: %v", st["picklistValues"])
	}
}

func TestQueryShapes(t *testing.T) {
	f := newFixture(t)
	acc := f.do(t, "POST", v+"/sobjects/Account", `{"Name":"Acme"}`).obj(t)["id"].(string)
	con := f.do(t, "POST", v+"/sobjects/Contact", `{"LastName":"Doe","Email":"d@x.com","AccountId":"`+acc+`"}`).obj(t)["id"].(string)
	c1 := f.do(t, "POST", v+"/sobjects/Case", `{"Subject":"A","ContactId":"`+con+`"}`).obj(t)["id"].(string)
	f.do(t, "POST", v+"/sobjects/Case", `{"Subject":"B"}`)
	f.do(t, "POST", v+"/sobjects/CaseComment", `{"ParentId":"`+c1+`","CommentBody":"one"}`)
	f.do(t, "POST", v+"/sobjects/CaseComment", `{"ParentId":"`+c1+`","CommentBody":"two"}`)

	r := f.do(t, "GET", v+"/query/?q="+q("SELECT Subject, Contact.Email, Contact.Account.Name, (SELECT CommentBody FROM CaseComments ORDER BY CreatedDate DESC) FROM Case ORDER BY Subject"), "")
	m := r.obj(t)
	recs := m["records"].([]any)
	if m["totalSize"].(float64) != 2 || m["done"] != true || len(recs) != 2 {
		t.Fatalf("result: %s", r.body)
	}
	a := recs[0].(map[string]any)
	contact := a["Contact"].(map[string]any)
	if contact["Email"] != "d@x.com" || contact["Account"].(map[string]any)["Name"] != "Acme" {
		t.Fatalf("parent path: %v", a)
	}
	comments := a["CaseComments"].(map[string]any)
	cr := comments["records"].([]any)
	if comments["totalSize"].(float64) != 2 || cr[0].(map[string]any)["CommentBody"] != "two" {
		t.Fatalf("children: %v", comments)
	}
	semi := f.do(t, "GET", v+"/query?q="+q("SELECT Subject FROM Case WHERE Id IN (SELECT ParentId FROM CaseComment WHERE IsPublished = false)"), "").obj(t)
	if semi["totalSize"].(float64) != 1 || semi["records"].([]any)[0].(map[string]any)["Subject"] != "A" {
		t.Fatalf("semi-join: %v", semi)
	}
	b := recs[1].(map[string]any)
	if b["Contact"] != nil || b["CaseComments"] != nil {
		t.Fatalf("empty relations must be null: %v", b)
	}
	cnt := f.do(t, "GET", v+"/query?q="+q("SELECT COUNT(Id) FROM Case"), "")
	if string(cnt.body) != `{"totalSize":1,"done":true,"records":[{"attributes":{"type":"AggregateResult"},"expr0":2}]}` {
		t.Fatalf("count(id): %s", cnt.body)
	}
	cols := f.do(t, "GET", v+"/query?q="+q("SELECT Id, Subject, Contact.Email FROM Case")+"&columns=true", "").obj(t)
	cm := cols["columnMetadata"].([]any)
	if len(cm) != 3 || cm[1].(map[string]any)["columnName"] != "Subject" || cols["entityName"] != "Case" || cols["idSelect"] != true {
		t.Fatalf("columns: %v", cols)
	}
	join := cm[2].(map[string]any)["joinColumns"].([]any)
	if cm[2].(map[string]any)["columnName"] != "Contact" || join[0].(map[string]any)["columnName"] != "Email" || join[0].(map[string]any)["displayName"] != "Contact.Email" {
		t.Fatalf("join columns: %v", cm[2])
	}
	tq := f.do(t, "GET", "/services/data/v51.0/query?q="+q("SELECT Id FROM ScratchOrgInfo limit 1"), "")
	if code, _ := tq.errCode(t); tq.status != 400 || code != "INVALID_TYPE" {
		t.Fatalf("ScratchOrgInfo: %d %s", tq.status, tq.body)
	}
	sp := f.do(t, "GET", v+"/tooling/query?q="+q("SELECT Id,Status,SandboxName FROM SandboxProcess WHERE SandboxOrganization='00Dxx0000000001' ORDER BY CreatedDate DESC"), "").obj(t)
	if sp["totalSize"].(float64) != 0 || sp["done"] != true {
		t.Fatalf("SandboxProcess: %v", sp)
	}
}

func TestPaging(t *testing.T) {
	f := newFixture(t)
	if err := f.store.Generate(ObjCase, 2500, 1); err != nil {
		t.Fatal(err)
	}
	r := f.do(t, "GET", v+"/query?q="+q("SELECT Id, CaseNumber FROM Case ORDER BY CaseNumber"), "", "Sforce-Query-Options", "batchSize=1000")
	m := r.obj(t)
	seen := map[string]bool{}
	pages := 0
	for {
		pages++
		for _, x := range m["records"].([]any) {
			seen[x.(map[string]any)["Id"].(string)] = true
		}
		if m["totalSize"].(float64) != 2500 {
			t.Fatalf("totalSize %v", m["totalSize"])
		}
		if m["done"] == true {
			if _, ok := m["nextRecordsUrl"]; ok {
				t.Fatal("last page has nextRecordsUrl")
			}
			break
		}
		next := m["nextRecordsUrl"].(string)
		if !strings.HasPrefix(next, v+"/query/01g") {
			t.Fatalf("nextRecordsUrl %q", next)
		}
		m = f.do(t, "GET", next, "", "Sforce-Query-Options", "batchSize=1000").obj(t)
	}
	if pages != 3 || len(seen) != 2500 {
		t.Fatalf("pages %d, distinct records %d", pages, len(seen))
	}
	// Default and clamped batch sizes.
	m = f.do(t, "GET", v+"/queryAll?q="+q("SELECT Id FROM Case"), "", "Sforce-Query-Options", "batchSize=10").obj(t)
	if n := len(m["records"].([]any)); n != 200 {
		t.Fatalf("batchSize=10 gave %d records, want the minimum 200", n)
	}
	m = f.do(t, "GET", v+"/query?q="+q("SELECT Id FROM Case"), "").obj(t)
	if n := len(m["records"].([]any)); n != 2000 {
		t.Fatalf("default page %d", n)
	}
	m = f.do(t, "GET", v+"/query?q="+q("SELECT Id FROM Case LIMIT 5 OFFSET 2000"), "").obj(t)
	if m["totalSize"].(float64) != 5 {
		t.Fatalf("limit/offset: %v", m["totalSize"])
	}
}

func TestUpsertAndUpdated(t *testing.T) {
	f := newFixture(t)
	r := f.do(t, "PATCH", v+"/sobjects/Account/External_Id__c/A-1", `{"Name":"One"}`)
	m := r.obj(t)
	if r.status != 201 || m["created"] != true {
		t.Fatalf("upsert insert: %d %s", r.status, r.body)
	}
	id := m["id"].(string)
	r = f.do(t, "PATCH", v+"/sobjects/Account/External_Id__c/a-1", `{"Name":"Uno"}`)
	if m := r.obj(t); r.status != 200 || m["created"] != false || m["id"] != id {
		t.Fatalf("upsert update: %d %s", r.status, r.body)
	}
	if r := f.do(t, "PATCH", v+"/sobjects/Account/Name/Uno", `{}`); r.status != 404 {
		t.Fatalf("non-external field: %d %s", r.status, r.body)
	}
	f.advance(time.Hour)
	up := f.do(t, "GET", v+"/sobjects/Account/updated/?start=2026-11-20T00:00:00Z&end=2026-11-20T23:00:00Z", "").obj(t)
	ids := up["ids"].([]any)
	if len(ids) != 1 || ids[0] != id || up["latestDateCovered"] != "2026-11-20T11:00:00.000+0000" {
		t.Fatalf("updated: %v", up)
	}
	rec := f.do(t, "GET", v+"/sobjects/Account/External_Id__c/A-1", "").obj(t)
	if rec["Name"] != "Uno" {
		t.Fatalf("get by external id: %v", rec)
	}
}

func TestComposite(t *testing.T) {
	f := newFixture(t)
	body := `{"allOrNone":true,"compositeRequest":[
		{"method":"POST","url":"/services/data/v62.0/sobjects/Account","referenceId":"acc","body":{"Name":"Ref Co"}},
		{"method":"POST","url":"/services/data/v62.0/sobjects/Contact","referenceId":"con","body":{"LastName":"Ref","AccountId":"@{acc.id}"}},
		{"method":"GET","url":"/services/data/v62.0/sobjects/Contact/@{con.id}?fields=AccountId","referenceId":"get"}]}`
	r := f.do(t, "POST", v+"/composite", body)
	m := r.obj(t)
	out := m["compositeResponse"].([]any)
	if r.status != 200 || len(out) != 3 {
		t.Fatalf("composite: %s", r.body)
	}
	acc := out[0].(map[string]any)["body"].(map[string]any)["id"]
	got := out[2].(map[string]any)["body"].(map[string]any)["AccountId"]
	if out[1].(map[string]any)["httpStatusCode"].(float64) != 201 || got != acc {
		t.Fatalf("reference not resolved: %s", r.body)
	}
	// allOrNone rolls everything back.
	body = `{"allOrNone":true,"compositeRequest":[
		{"method":"POST","url":"/services/data/v62.0/sobjects/Account","referenceId":"a2","body":{"Name":"Rolled Back"}},
		{"method":"POST","url":"/services/data/v62.0/sobjects/Contact","referenceId":"c2","body":{"FirstName":"NoLast"}}]}`
	out = f.do(t, "POST", v+"/composite", body).obj(t)["compositeResponse"].([]any)
	first := out[0].(map[string]any)
	if first["httpStatusCode"].(float64) != 400 || !strings.Contains(fmt.Sprint(first["body"]), "PROCESSING_HALTED") {
		t.Fatalf("first after rollback: %v", first)
	}
	n := f.do(t, "GET", v+"/query?q="+q("SELECT COUNT() FROM Account WHERE Name = 'Rolled Back'"), "").obj(t)
	if n["totalSize"].(float64) != 0 {
		t.Fatal("allOrNone did not roll back the Account")
	}
}

func TestCompositeSObjects(t *testing.T) {
	f := newFixture(t)
	body := `{"allOrNone":false,"records":[{"attributes":{"type":"Account"},"Name":"A"},{"attributes":{"type":"Contact"},"FirstName":"x"}]}`
	var res []saveResult
	if err := json.Unmarshal(f.do(t, "POST", v+"/composite/sobjects", body).body, &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || !res[0].Success || res[1].Success || res[1].Errors[0].StatusCode != "REQUIRED_FIELD_MISSING" {
		t.Fatalf("results %+v", res)
	}
	body = strings.Replace(body, `"allOrNone":false`, `"allOrNone":true`, 1)
	res = nil
	if err := json.Unmarshal(f.do(t, "POST", v+"/composite/sobjects", body).body, &res); err != nil {
		t.Fatal(err)
	}
	if res[0].Success || res[0].ID != nil || res[0].Errors[0].StatusCode != "ALL_OR_NONE_OPERATION_ROLLED_BACK" || res[0].Errors[0].Message != rolledBackMessage {
		t.Fatalf("allOrNone results %+v", res)
	}
	if n := f.do(t, "GET", v+"/query?q="+q("SELECT COUNT() FROM Account"), "").obj(t)["totalSize"].(float64); n != 1 {
		t.Fatalf("accounts after rollback: %v", n)
	}
	id := *(func() []saveResult {
		var r []saveResult
		json.Unmarshal(f.do(t, "POST", v+"/composite/sobjects", `{"records":[{"attributes":{"type":"Account"},"Name":"B"}]}`).body, &r)
		return r
	}()[0].ID)
	r := f.do(t, "DELETE", v+"/composite/sobjects?ids="+id+",001xx000000zzzzAAA", "")
	res = nil
	json.Unmarshal(r.body, &res)
	if len(res) != 2 || !res[0].Success || res[1].Success {
		t.Fatalf("delete results %s", r.body)
	}
}

func TestNoPrincipal(t *testing.T) {
	s, _ := NewStore(StoreOptions{})
	rec := httptest.NewRecorder()
	NewAPI(s, APIOptions{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/query?q=SELECT+Id+FROM+Case", nil))
	if rec.Code != 401 || !strings.Contains(rec.Body.String(), "INVALID_SESSION_ID") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	// Stripped prefix with the version in the context.
	p := &Principal{UserID: sfid.Make("005", "xx", 1), Object: fullAccess}
	if err := s.Generate(ObjCase, 1, 1); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/query?q=SELECT+Id+FROM+Case", nil)
	req = req.WithContext(WithAPIVersion(WithPrincipal(req.Context(), p), "v58.0"))
	rec = httptest.NewRecorder()
	NewAPI(s, APIOptions{}).ServeHTTP(rec, req)
	if !strings.Contains(rec.Body.String(), `"url":"/services/data/v58.0/sobjects/Case/`) {
		t.Fatalf("%s", rec.Body)
	}
}

func TestAppendDateTimeFast(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2000, 2, 29, 23, 59, 59, 999e6, time.UTC),
		time.Date(2026, 11, 20, 10, 0, 0, 7e6, time.UTC), time.Date(2100, 3, 1, 1, 2, 3, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
	} {
		d := soql.DateTimeOf(tm)
		if got, want := string(appendDateTimeFast(nil, d)), string(soql.AppendDateTime(nil, d)); got != want {
			t.Errorf("%v: got %s want %s", tm, got, want)
		}
	}
}

func TestRetrieveManyAndNotModified(t *testing.T) {
	f := newFixture(t)
	a := f.do(t, "POST", v+"/sobjects/Account", `{"Name":"A"}`).obj(t)["id"].(string)
	b := f.do(t, "POST", v+"/sobjects/Account", `{"Name":"B"}`).obj(t)["id"].(string)
	r := f.do(t, "GET", v+"/composite/sobjects/Account?ids="+a+","+string(sfid.Make("001", "xx", 9999))+","+b+"&fields=Id,Name", "")
	var recs []map[string]any
	if err := json.Unmarshal(r.body, &recs); err != nil || len(recs) != 3 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if recs[0]["Name"] != "A" || recs[1] != nil || recs[2]["Name"] != "B" {
		t.Fatalf("records %v", recs)
	}
	r = f.do(t, "POST", v+"/composite/sobjects/Account", `{"ids":["`+b+`"],"fields":["Nope"]}`)
	if code, _ := r.errCode(t); code != "INVALID_FIELD" {
		t.Fatalf("bad field: %s", r.body)
	}
	r = f.do(t, "GET", v+"/sobjects/Account/describe", "", "If-Modified-Since", testNow.Add(time.Hour).Format(http.TimeFormat))
	if r.status != http.StatusNotModified || len(r.body) != 0 {
		t.Fatalf("If-Modified-Since: %d", r.status)
	}
	if r = f.do(t, "GET", v+"/sobjects/Account/describe", "", "If-Modified-Since", testNow.Add(-time.Hour).Format(http.TimeFormat)); r.status != 200 {
		t.Fatalf("older If-Modified-Since: %d", r.status)
	}
}

func TestGzip(t *testing.T) {
	f := newFixture(t)
	// A gzip request body, and a gzip answer for a client that asks for one.
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write([]byte(`{"Subject":"zipped"}`))
	zw.Close()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+v+"/sobjects/Case", &zb)
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusCreated || res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("status %d, Content-Encoding %q", res.StatusCode, res.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(zr)
	if !bytes.Contains(body, []byte(`"success":true`)) {
		t.Fatalf("body %s", body)
	}
	// 204 stays empty and uncompressed.
	var id struct{ ID string }
	json.Unmarshal(body, &id)
	req, _ = http.NewRequest(http.MethodPatch, f.srv.URL+v+"/sobjects/Case/"+id.ID, strings.NewReader(`{"Status":"Working"}`))
	req.Header.Set("Accept-Encoding", "gzip")
	res2, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	res2.Body.Close()
	if res2.StatusCode != http.StatusNoContent || res2.Header.Get("Content-Encoding") != "" {
		t.Fatalf("PATCH: %d %q", res2.StatusCode, res2.Header.Get("Content-Encoding"))
	}
}

func TestContactChangeReachesCase(t *testing.T) {
	f := newFixture(t)
	con := f.do(t, "POST", v+"/sobjects/Contact", `{"LastName":"Doe","Email":"old@x.com"}`).obj(t)["id"].(string)
	cs := f.do(t, "POST", v+"/sobjects/Case", `{"Subject":"S","ContactId":"`+con+`"}`).obj(t)["id"].(string)
	if r := f.do(t, "PATCH", v+"/sobjects/Contact/"+con, `{"Email":"new@x.com"}`); r.status != 204 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if got := f.do(t, "GET", v+"/sobjects/Case/"+cs+"?fields=ContactEmail", "").obj(t)["ContactEmail"]; got != "new@x.com" {
		t.Fatalf("ContactEmail %v", got)
	}
}

func TestRoutingDetails(t *testing.T) {
	f := newFixture(t)
	id := f.do(t, "POST", v+"/sobjects/Account", `{"Name":"A"}`).obj(t)["id"].(string)
	// POST with _HttpMethod=PATCH is an update.
	if r := f.do(t, "POST", v+"/sobjects/Account/"+id+"?_HttpMethod=PATCH", `{"Name":"B"}`); r.status != 204 {
		t.Fatalf("_HttpMethod: %d %s", r.status, r.body)
	}
	r := f.do(t, "PUT", v+"/sobjects/Account/"+id, `{}`)
	if code, msg := r.errCode(t); r.status != 405 || code != "METHOD_NOT_ALLOWED" || msg != "HTTP Method 'PUT' not allowed. Allowed are HEAD,GET,PATCH,DELETE" {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	if r := f.do(t, "HEAD", v+"/sobjects/Account/"+id, ""); r.status != 200 || len(r.body) != 0 {
		t.Fatalf("HEAD: %d %q", r.status, r.body)
	}
	r = f.do(t, "GET", v+"/sobjects/Account/not-an-id", "")
	if code, msg := r.errCode(t); r.status != 404 || code != "NOT_FOUND" || !strings.HasPrefix(msg, "Provided external ID field does not exist or is not accessible: ") {
		t.Fatalf("malformed id: %d %s", r.status, r.body)
	}
	if r := f.do(t, "GET", v+"/nope", ""); r.status != 404 {
		t.Fatalf("unknown resource: %d", r.status)
	}
	var reqs []string
	for i := 0; i < 26; i++ {
		reqs = append(reqs, fmt.Sprintf(`{"method":"GET","url":"/services/data/v62.0/sobjects/Account/%s","referenceId":"r%d"}`, id, i))
	}
	r = f.do(t, "POST", v+"/composite", `{"compositeRequest":[`+strings.Join(reqs, ",")+`]}`)
	if r.status != 400 {
		t.Fatalf("26 subrequests: %d %s", r.status, r.body)
	}
	recs := strings.Repeat(`{"attributes":{"type":"Account"},"Name":"x"},`, 201)
	r = f.do(t, "POST", v+"/composite/sobjects", `{"records":[`+strings.TrimSuffix(recs, ",")+`]}`)
	if code, _ := r.errCode(t); r.status != 400 || code != "EXCEEDED_ID_LIMIT" {
		t.Fatalf("201 records: %d %s", r.status, r.body)
	}
	// A queryAll locator pages through /queryAll/ too.
	if err := f.store.Generate(ObjAccount, 300, 1); err != nil {
		t.Fatal(err)
	}
	m := f.do(t, "GET", v+"/queryAll?q="+q("SELECT Id FROM Account"), "", "Sforce-Query-Options", "batchSize=200").obj(t)
	next := strings.Replace(m["nextRecordsUrl"].(string), "/query/", "/queryAll/", 1)
	m = f.do(t, "GET", next, "").obj(t)
	if m["done"] != true || len(m["records"].([]any)) != 101 {
		t.Fatalf("queryAll page 2: done=%v n=%d", m["done"], len(m["records"].([]any)))
	}
}

// TestReferenceQueries runs the example queries sfbridge issues (from the
// REST reference) against generated data.
func TestReferenceQueries(t *testing.T) {
	f := newFixture(t)
	for _, o := range []string{ObjAccount, ObjContact, ObjCase, ObjCaseComment, ObjKnowledge} {
		if err := f.store.Generate(o, 40, 5); err != nil {
			t.Fatal(err)
		}
	}
	caseID := f.store.tables["case"].recs[0].id()
	emailField, _ := f.store.tables["contact"].def.Field("Email")
	for _, tt := range []struct {
		soql string
		min  int
	}{
		{"SELECT Id, CaseNumber, Subject, Status, Priority, Origin, OwnerId, ContactId, ContactEmail, IsClosed, CreatedDate, LastModifiedDate, SystemModstamp FROM Case WHERE SystemModstamp >= 2025-06-01T10:00:00Z ORDER BY SystemModstamp ASC, Id ASC LIMIT 2000", 40},
		{"SELECT Id, FirstName, LastName, Email, AccountId FROM Contact WHERE Email = '" + f.store.tables["contact"].recs[0].Get(emailField.index).(string) + "'", 1},
		{"SELECT Id, Username, Email, IsActive, ProfileId FROM User WHERE Email IN ('a@x.com','integration@sfbridge.test') AND IsActive = true", 1},
		{"SELECT Id, ParentId, CommentBody, IsPublished, CreatedById, CreatedDate FROM CaseComment WHERE ParentId = '" + caseID + "' ORDER BY CreatedDate", 0},
		{"SELECT ApiName, MasterLabel, IsClosed, IsDefault FROM CaseStatus", 4},
		{"SELECT Id, KnowledgeArticleId, ArticleNumber, Title, UrlName, Summary, Language, VersionNumber, LastPublishedDate, LastModifiedDate, SystemModstamp, Answer__c FROM Knowledge__kav WHERE PublishStatus = 'Online' AND Language = 'en_US' AND LastPublishedDate > 2025-01-01T00:00:00Z", 1},
		{"SELECT Id, Username, IsActive, ProfileId, Profile.Name FROM User WHERE Username = 'integration@sfbridge.test'", 1},
		{"SELECT PermissionsApiEnabled, PermissionsViewAllData, PermissionsViewEventLogFiles FROM UserPermissionAccess", 1},
		{"SELECT Id, Subject, (SELECT Id, CommentBody, CreatedDate FROM CaseComments ORDER BY CreatedDate) FROM Case WHERE IsClosed = false AND CreatedDate = LAST_N_DAYS:90", 1},
	} {
		r := f.do(t, "GET", v+"/query?q="+url.QueryEscape(tt.soql), "")
		if r.status != 200 {
			t.Errorf("%s: %d %s", tt.soql, r.status, r.body)
			continue
		}
		if n := r.obj(t)["totalSize"].(float64); int(n) < tt.min {
			t.Errorf("%s: totalSize %v, want at least %d", tt.soql, n, tt.min)
		}
	}
	st := f.do(t, "GET", v+"/query?q="+q("SELECT ApiName FROM CaseStatus WHERE IsDefault = true"), "").obj(t)
	if st["records"].([]any)[0].(map[string]any)["ApiName"] != "New" {
		t.Fatalf("default status: %v", st)
	}
}
