package emulator_test

import (
	"strings"
	"testing"

	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/sftest"
)

func TestActivityAdminAPI(t *testing.T) {
	s := sftest.NewServer(t)
	for _, body := range []string{`{"cases_per_minute": 1e9}`, `{"event_log_delay": "soon"}`, `{"event_log_delay": "2h"}`, `{"rate": 1}`} {
		if r := admin(t, s, "PUT", "/_emulator/activity", body); r.status != 400 {
			t.Errorf("PUT %s: %d %s", body, r.status, r.body)
		}
	}
	var st emulator.ActivityState
	adminJSON(t, s, "PUT", "/_emulator/activity", `{}`, 200, &st)
	if !st.Running || !st.Cases.Running || st.CasesPerMinute != emulator.DefaultCasesPerMinute ||
		st.ArticlesPerHour != emulator.DefaultArticlesPerHour || st.EventLogDelay != "30s" || st.Agent != emulator.DefaultActivityAgent ||
		!st.Cases.Reassign || !st.Cases.NoArticles {
		t.Fatalf("defaults %+v", st)
	}
	if d := s.Org.EventMonitoring().HourlyDelay; d != "30s" {
		t.Fatalf("event monitoring hourly_delay %q", d)
	}
	for _, a := range s.Org.Messaging().View().Agents {
		if a.Name == emulator.DefaultActivityAgent && !a.Scripted {
			t.Fatalf("agent %+v is not scripted", a)
		}
	}
	// A missing agent is added, working every queue.
	st = emulator.ActivityState{}
	adminJSON(t, s, "PUT", "/_emulator/activity", `{"agent": "Sam Script", "cases_per_minute": -1, "event_log_delay": "off"}`, 200, &st)
	if st.Cases.Running || st.CasesPerMinute != 0 {
		t.Fatalf("cases off: %+v", st)
	}
	found := false
	for _, a := range s.Org.Messaging().View().Agents {
		if a.Name == "Sam Script" {
			found = a.Scripted && a.Presence == "Available" && len(a.Queues) == len(s.Org.Messaging().View().Queues)
		}
	}
	if !found {
		t.Fatalf("agents %+v", s.Org.Messaging().View().Agents)
	}
	st = emulator.ActivityState{}
	adminJSON(t, s, "DELETE", "/_emulator/activity", ``, 200, &st)
	if st.Running || st.Cases.Running {
		t.Fatalf("stopped %+v", st)
	}
	r := admin(t, s, "PATCH", "/_emulator/event-monitoring", `{"hourly_delay": "1ms"}`)
	if r.status != 400 || !strings.Contains(r.body, "1s to 59m") {
		t.Fatalf("hourly_delay 1ms: %d %s", r.status, r.body)
	}
	adminJSON(t, s, "PATCH", "/_emulator/event-monitoring", `{"hourly_delay": "off"}`, 204, nil)
	if d := s.Org.EventMonitoring().HourlyDelay; d != "off" {
		t.Fatalf("hourly_delay after off: %q", d)
	}
}
