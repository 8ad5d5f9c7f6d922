package emulator_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/emulator"
	sfclock "github.com/sfbridge/sfbridge/internal/clock"
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
	if got.KnowledgeQueryRules == nil || got.KnowledgeQueryRules.PublishStatus != "required" || got.KnowledgeQueryRules.Language != "multilingual" {
		t.Fatalf("default knowledge query rules %+v", got.KnowledgeQueryRules)
	}
	adminJSON(t, s, "PUT", "/_emulator/servicedesk", `{"knowledge_query_rules":{"publish_status":"optional","language":"optional"}}`, 200, &got)
	if kr := s.Org.Store().KnowledgeQueryRules(); kr.PublishStatus != "optional" || kr.Language != "optional" {
		t.Fatalf("store knowledge query rules %+v", kr)
	}
	if r := admin(t, s, "PUT", "/_emulator/servicedesk", `{"knowledge_query_rules":{"language":"sometimes"}}`); r.status != 400 || !strings.Contains(r.body, "sometimes") {
		t.Fatalf("bad knowledge rule: %d %s", r.status, r.body)
	}
	if r := admin(t, s, "PUT", "/_emulator/servicedesk", `{"commit_delay":"soon"}`); r.status != 400 || !strings.Contains(r.body, "Go duration") {
		t.Fatalf("bad delay: %d %s", r.status, r.body)
	}
	if r := admin(t, s, "POST", "/_emulator/records/Case/500xx0000000001AAA/undelete", ""); r.status != 400 || !strings.Contains(r.body, "NOT_FOUND") {
		t.Fatalf("undelete of a missing case: %d %s", r.status, r.body)
	}
}

func TestDeskActivityRunsAtItsRateOnTheOrgClock(t *testing.T) {
	clk := sfclock.NewFake(time.Now())
	s := sftest.NewServerWith(t, sftest.Options{Now: clk.Now})
	q := func(tok, soql string) result {
		return do(t, s, "GET", "/services/data/v62.0/query?q="+url.QueryEscape(soql), tok, nil)
	}
	if err := s.Org.AddSampleRecords(1); err != nil {
		t.Fatal(err)
	}
	tok := s.Login(t, emulator.UserIntegration).AccessToken
	var st emulator.DeskActivityState
	adminJSON(t, s, "PUT", "/_emulator/servicedesk/activity", `{"rate_per_minute": 120, "seed": 7}`, 200, &st)
	if !st.Running || st.Agent != emulator.UserNoEventLogs {
		t.Fatalf("started %+v", st)
	}
	count := func() int {
		r := q(tok, "SELECT COUNT() FROM Case")
		if r.status != 200 {
			t.Fatalf("count: %d %s", r.status, r.body)
		}
		n := 0
		for _, v := range s.Org.DeskActivity().Actions {
			n += v
		}
		return n
	}
	if n := count(); n != 0 {
		t.Fatalf("%d actions before the clock moved", n)
	}
	s.Org.Advance(30 * time.Second)
	if n := count(); n != 60 {
		t.Fatalf("%d actions after 30 s at 120/min, want 60: %v (%s)", n, s.Org.DeskActivity().Actions, s.Org.DeskActivity().LastError)
	}
	acts := s.Org.DeskActivity().Actions
	if acts["case.update"] == 0 || acts["comment.create"] == 0 || acts["failed"] != 0 {
		t.Fatalf("actions %v (%s)", acts, s.Org.DeskActivity().LastError)
	}
	adminJSON(t, s, "PUT", "/_emulator/servicedesk/activity", `{"rate_per_minute": 0}`, 200, &st)
	s.Org.Advance(time.Minute)
	if n := count(); n != 60 || st.Running {
		t.Fatalf("stopped activity went on: %d actions, %+v", n, st)
	}
	if r := admin(t, s, "PUT", "/_emulator/servicedesk/activity", `{"rate_per_minute": 5, "agent": "nobody@example.com"}`); r.status != 400 {
		t.Fatalf("unknown agent: %d %s", r.status, r.body)
	}
}
