package data

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/emulator/sfid"
)

func (f *fixture) create(t *testing.T, object, body string, hdr ...string) string {
	t.Helper()
	r := f.do(t, "POST", v+"/sobjects/"+object, body, hdr...)
	if r.status != 201 {
		t.Fatalf("create %s: %d %s", object, r.status, r.body)
	}
	return r.obj(t)["id"].(string)
}

func (f *fixture) queryIDs(t *testing.T, all bool, soql string) []string {
	t.Helper()
	res := "query"
	if all {
		res = "queryAll"
	}
	r := f.do(t, "GET", v+"/"+res+"?q="+q(soql), "")
	if r.status != 200 {
		t.Fatalf("%s %s: %d %s", res, soql, r.status, r.body)
	}
	var ids []string
	for _, rec := range r.obj(t)["records"].([]any) {
		ids = append(ids, rec.(map[string]any)["Id"].(string))
	}
	return ids
}

func TestCaseNumbersAndClosedConsistency(t *testing.T) {
	f := newFixture(t)
	a := f.create(t, "Case", `{"Subject":"one"}`)
	b := f.create(t, "Case", `{"Subject":"two"}`)
	ra := f.do(t, "GET", v+"/sobjects/Case/"+a+"?fields=CaseNumber", "").obj(t)
	rb := f.do(t, "GET", v+"/sobjects/Case/"+b+"?fields=CaseNumber,Status,IsClosed,ClosedDate", "").obj(t)
	if ra["CaseNumber"] != "00001000" || rb["CaseNumber"] != "00001001" || rb["Status"] != "New" || rb["IsClosed"] != false || rb["ClosedDate"] != nil {
		t.Fatalf("new cases: %v %v", ra, rb)
	}
	if r := f.do(t, "PATCH", v+"/sobjects/Case/"+b, `{"Status":"Closed"}`); r.status != 204 {
		t.Fatalf("close: %d %s", r.status, r.body)
	}
	rb = f.do(t, "GET", v+"/sobjects/Case/"+b+"?fields=IsClosed,ClosedDate,SystemModstamp", "").obj(t)
	if rb["IsClosed"] != true || rb["ClosedDate"] == nil || rb["ClosedDate"] != rb["SystemModstamp"] {
		t.Fatalf("closed case: %v", rb)
	}
	if r := f.do(t, "PATCH", v+"/sobjects/Case/"+b, `{"IsClosed":false}`); r.status != 400 {
		t.Fatalf("IsClosed is derived and read-only, got %d %s", r.status, r.body)
	}
	if r := f.do(t, "PATCH", v+"/sobjects/Case/"+b, `{"Status":"Working"}`); r.status != 204 {
		t.Fatalf("reopen: %d %s", r.status, r.body)
	}
	rb = f.do(t, "GET", v+"/sobjects/Case/"+b+"?fields=IsClosed,ClosedDate", "").obj(t)
	if rb["IsClosed"] != false || rb["ClosedDate"] != nil {
		t.Fatalf("reopened case: %v", rb)
	}
}

func TestCommitDelayHidesWritesUntilTheyCommit(t *testing.T) {
	f := newFixture(t)
	early := f.create(t, "Case", `{"Subject":"committed at once"}`)
	f.store.SetCommitDelay(time.Hour)
	late := f.create(t, "Case", `{"Subject":"long transaction"}`)
	if got := f.store.Pending(); got != 1 {
		t.Fatalf("pending writes = %d, want 1", got)
	}
	if ids := f.queryIDs(t, false, "SELECT Id FROM Case"); len(ids) != 1 || ids[0] != early {
		t.Fatalf("before the commit the query sees %v, want only %s", ids, early)
	}
	if r := f.do(t, "GET", v+"/sobjects/Case/"+late, ""); r.status != 404 {
		t.Fatalf("retrieve before commit: %d", r.status)
	}
	// A watcher polling now moves its watermark past the late record's stamp.
	mark := f.do(t, "GET", v+"/sobjects/Case/"+early+"?fields=SystemModstamp", "").obj(t)["SystemModstamp"].(string)
	f.advance(2 * time.Hour)
	ids := f.queryIDs(t, false, "SELECT Id FROM Case ORDER BY SystemModstamp, Id")
	if len(ids) != 2 || ids[1] != late {
		t.Fatalf("after the commit: %v", ids)
	}
	stamp := f.do(t, "GET", v+"/sobjects/Case/"+late+"?fields=SystemModstamp", "").obj(t)["SystemModstamp"].(string)
	if stamp > mark && !strings.HasPrefix(stamp, "2026-11-20T10:") {
		t.Fatalf("the late record's SystemModstamp %s is not from the start of its transaction", stamp)
	}
	// A write to a record with a pending write commits the earlier one first.
	c := f.create(t, "Case", `{"Subject":"pending"}`)
	if r := f.do(t, "PATCH", v+"/sobjects/Case/"+c, `{"Subject":"edited"}`); r.status != 204 {
		t.Fatalf("update of a pending record: %d %s", r.status, r.body)
	}
	if ids := f.queryIDs(t, false, "SELECT Id FROM Case WHERE Subject = 'pending'"); len(ids) != 1 || ids[0] != c {
		t.Fatalf("the insert was committed by the update: %v", ids)
	}
	// A comment on a pending Case commits the Case.
	d := f.create(t, "Case", `{"Subject":"parent pending"}`)
	f.create(t, "CaseComment", fmt.Sprintf(`{"ParentId":%q,"CommentBody":"hi"}`, d))
	f.store.SetCommitDelay(0)
	f.advance(2 * time.Hour)
	if f.store.Pending() != 0 {
		t.Fatalf("pending after everything is due: %d", f.store.Pending())
	}
}

func TestDeleteUndeleteAndChangeFeeds(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, "Case", `{"Subject":"to delete"}`)
	cc := f.create(t, "CaseComment", fmt.Sprintf(`{"ParentId":%q,"CommentBody":"note","IsPublished":true}`, c))
	f.advance(time.Hour)
	up := f.do(t, "GET", v+"/sobjects/CaseComment/updated/?start=2026-11-20T00:00:00Z&end=2026-11-20T23:00:00Z", "").obj(t)
	if ids := up["ids"].([]any); len(ids) != 1 || ids[0] != cc {
		t.Fatalf("CaseComment updated: %v", up)
	}
	if r := f.do(t, "DELETE", v+"/sobjects/Case/"+c, ""); r.status != 204 {
		t.Fatalf("delete: %d", r.status)
	}
	if ids := f.queryIDs(t, true, "SELECT Id FROM CaseComment WHERE IsDeleted = true"); len(ids) != 1 || ids[0] != cc {
		t.Fatalf("queryAll deleted comments: %v", ids)
	}
	f.advance(time.Hour)
	del := f.do(t, "GET", v+"/sobjects/CaseComment/deleted/?start=2026-11-20T00:00:00Z&end=2026-11-20T23:00:00Z", "").obj(t)
	if recs := del["deletedRecords"].([]any); len(recs) != 1 || recs[0].(map[string]any)["id"] != cc {
		t.Fatalf("CaseComment deleted: %v", del)
	}
	ctx := WithPrincipal(t.Context(), f.limited)
	if err := f.store.Undelete(ctx, "Case", c); err == nil || !strings.Contains(err.Error(), "INSUFFICIENT_ACCESS") {
		t.Fatalf("undelete without delete access: %v", err)
	}
	ctx = WithPrincipal(t.Context(), f.admin)
	if err := f.store.Undelete(ctx, "Case", c); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Undelete(ctx, "Case", c); err == nil || !strings.Contains(err.Error(), "UNDELETE_FAILED") {
		t.Fatalf("second undelete: %v", err)
	}
	if ids := f.queryIDs(t, false, "SELECT Id FROM CaseComment"); len(ids) != 1 || ids[0] != cc {
		t.Fatalf("the comment deleted with the case came back: %v", ids)
	}
	del = f.do(t, "GET", v+"/sobjects/Case/deleted/?start=2026-11-20T00:00:00Z&end=2026-11-20T23:00:00Z", "").obj(t)
	if recs := del["deletedRecords"].([]any); len(recs) != 0 {
		t.Fatalf("an undeleted case is still in get-deleted: %v", del)
	}
}

func TestAutoAssignRunsTheAssignmentRule(t *testing.T) {
	f := newFixture(t)
	queue := string(sfid.Make("00G", "xx", 7))
	f.store.SetAssignmentRules([]AssignmentRule{{Origin: "Web", OwnerID: queue}})
	owner := func(id string) any {
		return f.do(t, "GET", v+"/sobjects/Case/"+id+"?fields=OwnerId", "").obj(t)["OwnerId"]
	}
	if got := owner(f.create(t, "Case", `{"Subject":"web","Origin":"Web"}`)); got != queue {
		t.Fatalf("default Sforce-Auto-Assign: owner %v, want the queue %s", got, queue)
	}
	if got := owner(f.create(t, "Case", `{"Subject":"web","Origin":"Web"}`, "Sforce-Auto-Assign", "FALSE")); got != string(f.user) {
		t.Fatalf("Sforce-Auto-Assign FALSE: owner %v, want the creator", got)
	}
	if got := owner(f.create(t, "Case", `{"Subject":"phone","Origin":"Phone"}`)); got != string(f.user) {
		t.Fatalf("no matching entry: owner %v", got)
	}
}
