package emulator_test

import (
	"strings"
	"testing"

	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/sftest"
)

func TestServiceDeskAdminAPI(t *testing.T) {
	s := sftest.NewServer(t)
	var got emulator.ServiceDeskSettings
	adminJSON(t, s, "PUT", "/_emulator/servicedesk", `{"commit_delay":"5s","assignment_rules":[{"origin":"Web","owner_id":"00Gxx0000000001AAA"}]}`, 200, &got)
	if got.CommitDelay != "5s" || len(got.AssignmentRules) != 1 || got.AssignmentRules[0].Origin != "Web" {
		t.Fatalf("settings %+v", got)
	}
	if s.Org.Store().CommitDelay().String() != "5s" {
		t.Fatalf("store commit delay %v", s.Org.Store().CommitDelay())
	}
	if r := admin(t, s, "PUT", "/_emulator/servicedesk", `{"commit_delay":"soon"}`); r.status != 400 || !strings.Contains(r.body, "Go duration") {
		t.Fatalf("bad delay: %d %s", r.status, r.body)
	}
	if r := admin(t, s, "POST", "/_emulator/records/Case/500xx0000000001AAA/undelete", ""); r.status != 400 || !strings.Contains(r.body, "NOT_FOUND") {
		t.Fatalf("undelete of a missing case: %d %s", r.status, r.body)
	}
}
