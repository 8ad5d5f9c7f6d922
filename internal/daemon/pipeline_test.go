package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/internal/config"
	"github.com/sfbridge/sfbridge/servicedesk"
	"github.com/sfbridge/sfbridge/sftest"
	"github.com/sfbridge/sfbridge/state"
	"github.com/sfbridge/sfbridge/state/statetest"
)

// pipelineConfig is a configuration with every pipeline of org acme on
// the emulated org s, its state in stateURL (empty: the state dir's
// SQLite file).
func pipelineConfig(t *testing.T, s *sftest.Server, dir, stateURL string) *config.Config {
	t.Helper()
	y := fmt.Sprintf(`
listen: 127.0.0.1:0
state_dir: %s
state: %q
doctor_interval: 0s
orgs:
  - alias: acme
    client_id: %s
    username: %s
    login_url: %s
    audience: %s
    key: {file: %s}
    eventlogs:
      types: [Login]
      since: 2d
      output: {ndjson: %s}
    cases: {poll: 5s}
    knowledge: {languages: [en_US, de], interval: 1m}
    employees: {interval: 1m}
`, dir, stateURL, s.ClientID, s.Username("integration"), s.URL, s.URL, s.KeyFile, filepath.Join(dir, "eventlogs.ndjson"))
	if stateURL == "" {
		y = strings.Replace(y, "state: \"\"\n", "", 1)
	}
	cfg, err := config.Parse([]byte(y), "")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func orgStatusOf(t *testing.T, base string) OrgStatus {
	t.Helper()
	code, body := get(t, base+"/v1/orgs/acme", "")
	var st OrgStatus
	if err := json.Unmarshal([]byte(body), &st); err != nil || code != 200 {
		t.Fatalf("/v1/orgs/acme = %d %s (%v)", code, body, err)
	}
	return st
}

func pipelineOf(st OrgStatus, name string) PipelineStatus {
	for _, p := range st.Pipelines {
		if p.Name == name {
			return p
		}
	}
	return PipelineStatus{}
}

func waitLong(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Every pipeline of an org runs in the daemon against the emulated org:
// case events land in the journal topic cases.events, knowledge is
// searchable with its changes in knowledge.events, event logs are written
// as NDJSON, employees are synced, and each pipeline reports its progress
// in the status, /readyz and the metrics.
func TestEveryPipelineAgainstTheEmulator(t *testing.T) {
	s := sftest.NewServer(t)
	if err := s.Org.AddSampleRecords(1); err != nil {
		t.Fatal(err)
	}
	const rows = 7
	if _, err := s.Org.AddEventLogFile(emulator.EventLogFileSpec{EventType: "Login", Rows: rows}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := pipelineConfig(t, s, dir, "")
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	m := NewMetrics()
	d, err := FromConfig(t.Context(), cfg, Env{Metrics: m, Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	runDaemon(t, d)
	base := "http://" + d.Addr()
	waitLong(t, "every pipeline to complete a pass", func() bool {
		st := orgStatusOf(t, base)
		for _, name := range []string{"eventlogs", "cases", "knowledge", "employees", "journal"} {
			if p := pipelineOf(st, name); p.LastSuccess == nil {
				return false
			}
		}
		return true
	})

	// A case created now arrives as an event in the journal.
	id, err := s.Org.Store().Insert("Case", "", map[string]any{"Subject": "Printer on fire", "Status": "New", "Origin": "Web"})
	if err != nil {
		t.Fatal(err)
	}
	svc, ok := d.OrgServices("acme")
	if !ok || svc.Store == nil || svc.Client == nil {
		t.Fatalf("OrgServices = %+v, %v", svc, ok)
	}
	waitLong(t, "the new case's event in cases.events", func() bool {
		recs, err := svc.Store.Outbox(t.Context(), state.OutboxQuery{Org: "acme", Topic: TopicCases, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			var ev servicedesk.Event
			if json.Unmarshal(r.Payload, &ev) == nil && ev.CaseID == string(id) && ev.Type == servicedesk.CaseCreated {
				return true
			}
		}
		return false
	})

	k := &servicedesk.Knowledge{Store: svc.Store, Org: "acme"}
	if hits, err := k.Search(t.Context(), "password", "en_US", 5); err != nil || len(hits) == 0 {
		t.Fatalf("knowledge search: %v %v", hits, err)
	}
	if recs, err := svc.Store.Outbox(t.Context(), state.OutboxQuery{Org: "acme", Topic: TopicKnowledge, Limit: 1000}); err != nil || len(recs) != 20 {
		t.Fatalf("knowledge.events: %d records, %v; want one published event per article and language (20)", len(recs), err)
	}
	stats, err := svc.Store.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	people := int64(0)
	for _, c := range stats.Documents {
		if c.Org == "acme" && c.Name == "directory.person" {
			people = c.Count
		}
	}
	if people < 50 {
		t.Fatalf("directory holds %d people, want the sample's Contacts and Users", people)
	}

	f, err := os.Open(filepath.Join(dir, "eventlogs.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := 0
	for sc := bufio.NewScanner(f); sc.Scan(); lines++ {
		var doc map[string]any
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			t.Fatalf("NDJSON line %d: %v", lines, err)
		}
	}
	if lines != rows {
		t.Fatalf("NDJSON has %d events, want %d", lines, rows)
	}

	st := orgStatusOf(t, base)
	for _, name := range []string{"eventlogs", "cases", "knowledge", "employees"} {
		p := pipelineOf(st, name)
		if p.State != StateRunning || p.Events == 0 || p.Errors != 0 || p.APICalls == 0 {
			t.Errorf("pipeline %s: %+v", name, p)
		}
	}
	if p := pipelineOf(st, "cases"); p.APIBudget == nil || *p.APIBudget != 3000 {
		t.Errorf("cases budget: %+v; want 20%% of the emulated org's 15,000", p.APIBudget)
	}
	if code, body := get(t, base+"/readyz?verbose", ""); code != 200 || !strings.Contains(body, "[+]acme/cases running") || !strings.Contains(body, "[+]acme/eventlogs running") {
		t.Errorf("readyz = %d %s", code, body)
	}
	if got := testGather(t, m, "sfbridge_pipeline_events_total"); !strings.Contains(got, "{org=acme,pipeline=eventlogs} 7") || !strings.Contains(got, "{org=acme,pipeline=knowledge} 20") {
		t.Errorf("events metric:\n%s", got)
	}
	if got := testGather(t, m, "sfbridge_pipeline_errors_total"); !strings.Contains(got, "{org=acme,pipeline=cases} 0") {
		t.Errorf("errors metric:\n%s", got)
	}
	get(t, base+"/metrics", "") // a scrape sets the lag gauges
	for _, name := range []string{"sfbridge_pipeline_lag_seconds", "sfbridge_pipeline_last_success_timestamp_seconds"} {
		if got := testGather(t, m, name); strings.Count(got, "org=acme") != 5 {
			t.Errorf("%s:\n%s", name, got)
		}
	}
}

// Two daemons on one store share the pipelines: each (org, pipeline) runs
// on exactly one of them, the other stands by, and when the one running
// it stops, the other takes it over.
func TestPipelinesMoveBetweenReplicas(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			s := sftest.NewServer(t)
			if err := s.Org.AddSampleRecords(1); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			url := "sqlite:" + filepath.Join(dir, "shared.db")
			if engine == "postgres" {
				url = statetest.PostgresURL(t)
			}
			tr := http.DefaultTransport.(*http.Transport).Clone()
			t.Cleanup(tr.CloseIdleConnections)
			var bases [2]string
			var stops [2]func()
			for i := range 2 {
				cfg := pipelineConfig(t, s, filepath.Join(dir, fmt.Sprint(i)), url)
				d, err := FromConfig(t.Context(), cfg, Env{Transport: tr, LeaseTTL: 3 * time.Second, Owner: fmt.Sprintf("replica-%d", i)})
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- d.Run(ctx) }()
				stops[i] = func() {
					cancel()
					if err := <-done; err != nil {
						t.Errorf("Run: %v", err)
					}
				}
				t.Cleanup(func() {
					if ctx.Err() == nil {
						stops[i]()
					}
				})
				bases[i] = "http://" + d.Addr()
			}
			names := []string{"eventlogs", "cases", "knowledge", "employees", "journal"}
			// holders maps each pipeline to the replicas running it.
			holders := func(which ...int) map[string][]int {
				out := map[string][]int{}
				for _, i := range which {
					st := orgStatusOf(t, bases[i])
					for _, n := range names {
						if p := pipelineOf(st, n); p.State == StateRunning {
							out[n] = append(out[n], i)
						}
					}
				}
				return out
			}
			waitLong(t, "every pipeline running on one replica, standing by on the other", func() bool {
				h := holders(0, 1)
				for _, n := range names {
					if len(h[n]) != 1 {
						return false
					}
				}
				for i := range 2 {
					for _, n := range names {
						p := pipelineOf(orgStatusOf(t, bases[i]), n)
						if p.State != StateRunning && (p.State != StateStandby || !strings.HasPrefix(p.Holder, "replica-")) {
							return false
						}
					}
				}
				return true
			})
			// A standby pipeline is ready: both replicas are.
			for i := range 2 {
				if code, body := get(t, bases[i]+"/readyz", ""); code != 200 {
					t.Fatalf("replica %d readyz = %d %s", i, code, body)
				}
			}
			h := holders(0, 1)
			if len(h["cases"]) != 1 {
				t.Fatalf("holders %v", h)
			}
			first := h["cases"][0]
			other := 1 - first
			stops[first]()
			waitLong(t, "the other replica to take every pipeline over", func() bool {
				h := holders(other)
				for _, n := range names {
					if len(h[n]) != 1 {
						return false
					}
				}
				return true
			})
			// Nothing was lost or written twice: one case.created per case.
			st, err := state.Open(t.Context(), url, state.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			recs, err := st.Outbox(t.Context(), state.OutboxQuery{Org: "acme", Topic: TopicCases, Limit: 10000})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, r := range recs {
				var ev servicedesk.Event
				if err := json.Unmarshal(r.Payload, &ev); err != nil {
					t.Fatal(err)
				}
				if seen[ev.ID] {
					t.Fatalf("event %s journaled twice", ev.ID)
				}
				seen[ev.ID] = true
			}
		})
	}
}
