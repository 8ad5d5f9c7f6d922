package daemon

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/doctor"
	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/internal/config"
	"github.com/sfbridge/sfbridge/sftest"
)

// waitAdvancing moves the fake clock on by step until cond holds, so that
// retries and probes waiting on it run.
func waitAdvancing(t *testing.T, what string, fake *clock.Fake, step time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		fake.Advance(step)
		time.Sleep(5 * time.Millisecond)
	}
}

// Readiness follows the org as it happens: between two doctor runs (an
// hour apart here) the session keeper probes the quiet org, a failed call
// turns it degraded at once (/readyz 503, sfbridge_org_ready 0), and the
// first success makes it ready again.
func TestReadinessFollowsTheLiveSignal(t *testing.T) {
	s := sftest.NewServer(t)
	fake := clock.NewFake(time.Now())
	cfg := &config.Config{Listen: "127.0.0.1:0", StateDir: t.TempDir(), DoctorInterval: config.Duration{Duration: time.Hour},
		ChecksAPIBudget: config.Percent{Fraction: 1},
		Orgs: []config.Org{{Alias: "acme", ClientID: s.ClientID, Username: s.Username("integration"), LoginURL: s.URL,
			Audience: s.URL, Key: config.KeySpec{File: s.KeyFile}, Require: doctor.Groups()}}}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	m := NewMetrics()
	d, err := FromConfig(t.Context(), cfg, Env{Metrics: m, Transport: tr, Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	runDaemon(t, d)
	base := "http://" + d.Addr()
	waitFor(t, "the org to be ready", d.Ready)
	doctorRuns := testGather(t, m, "sfbridge_doctor_runs_total")

	// The org stops answering. Nothing has called it for a probe interval,
	// so the keeper probes it, and the first 503 takes readiness down.
	if _, err := s.Org.AddFault(emulator.FaultSpec{Path: "/services/data/**", Action: "error", Status: http.StatusServiceUnavailable}); err != nil {
		t.Fatal(err)
	}
	fake.Advance(DefaultProbeInterval)
	waitFor(t, "the org to turn degraded", func() bool { return !d.Ready() })
	if code, body := get(t, base+"/readyz", ""); code != http.StatusServiceUnavailable || !strings.Contains(body, "acme (degraded)") {
		t.Errorf("/readyz = %d %q, want 503 naming acme (degraded)", code, body)
	}
	if got := testGather(t, m, "sfbridge_org_ready"); got != "{org=acme} 0" {
		t.Errorf("sfbridge_org_ready = %q, want 0", got)
	}
	st := d.Status()[0]
	if st.Components[0].Name != "session" || st.Components[0].State != StateDegraded || !strings.Contains(st.Error, "503") {
		t.Errorf("status %+v, want the session degraded by the 503", st)
	}
	if got := testGather(t, m, "sfbridge_doctor_runs_total"); got != doctorRuns {
		t.Errorf("doctor runs %q, then %q: the probe, not a doctor run, found the outage", doctorRuns, got)
	}

	// The org answers again: the next probe makes it ready.
	s.Org.ClearFaults()
	waitAdvancing(t, "the org to be ready again", fake, 10*time.Second, d.Ready)
	if got := testGather(t, m, "sfbridge_org_ready"); got != "{org=acme} 1" {
		t.Errorf("sfbridge_org_ready = %q, want 1", got)
	}
}

// A failed login (here the token endpoint is down when a revoked session
// must be renewed) marks the org degraded at once.
func TestFailedLoginMarksTheOrgDegraded(t *testing.T) {
	s := sftest.NewServer(t)
	fake := clock.NewFake(time.Now())
	cfg := &config.Config{Listen: "127.0.0.1:0", DoctorInterval: config.Duration{Duration: time.Hour},
		Orgs: []config.Org{{Alias: "acme", ClientID: s.ClientID, Username: s.Username("integration"), LoginURL: s.URL,
			Audience: s.URL, Key: config.KeySpec{File: s.KeyFile}}}}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	d, err := FromConfig(t.Context(), cfg, Env{Transport: tr, Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	runDaemon(t, d)
	waitFor(t, "the org to be ready", d.Ready)

	s.Org.RevokeUserSessions(s.Username("integration"))
	if _, err := s.Org.AddFault(emulator.FaultSpec{Path: "/services/oauth2/token", Action: "error", Status: http.StatusServiceUnavailable}); err != nil {
		t.Fatal(err)
	}
	fake.Advance(DefaultProbeInterval)
	waitAdvancing(t, "the org to turn degraded", fake, time.Second, func() bool { return !d.Ready() })
	if st := d.Status()[0]; !strings.Contains(st.Error, "login of integration@") || !strings.Contains(st.Error, "503") {
		t.Errorf("error %q, want the failed login's 503", st.Error)
	}
	s.Org.ClearFaults()
	waitAdvancing(t, "the org to be ready again", fake, 10*time.Second, d.Ready)
}

// The signal tells its watcher of changes only, from logins and from API
// calls alike.
func TestLiveReportsChanges(t *testing.T) {
	l := NewLive(clock.NewFake(time.Now()))
	var heard []string
	l.Watch(func(err error) {
		if err == nil {
			heard = append(heard, "up")
			return
		}
		heard = append(heard, err.Error())
	})
	l.Report(nil)
	l.Login(errors.New("503 server_unavailable"))
	l.Report(errors.New("GET /services/data/: 503"))
	l.Login(nil)
	l.Report(nil)
	want := []string{"login failed: 503 server_unavailable", "up"}
	if strings.Join(heard, "|") != strings.Join(want, "|") {
		t.Errorf("heard %q, want %q", heard, want)
	}
	if l.Down() != nil {
		t.Errorf("Down = %v after a success", l.Down())
	}
}

// Over the checks' API budget the doctor postpones its runs and says why,
// and the probe stays quiet.
func TestChecksOverBudgetArePostponed(t *testing.T) {
	s := sftest.NewServer(t)
	fake := clock.NewFake(time.Now())
	cfg := &config.Config{Listen: "127.0.0.1:0", DoctorInterval: config.Duration{Duration: time.Hour},
		ChecksAPIBudget: config.Percent{Fraction: 0.0001}, // 1 call of the emulator's 15,000
		Orgs: []config.Org{{Alias: "acme", ClientID: s.ClientID, Username: s.Username("integration"), LoginURL: s.URL,
			Audience: s.URL, Key: config.KeySpec{File: s.KeyFile}, Require: doctor.Groups()}}}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	m := NewMetrics()
	d, err := FromConfig(t.Context(), cfg, Env{Metrics: m, Transport: tr, Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	runDaemon(t, d)
	waitFor(t, "the org to be ready", d.Ready)
	calls := testGather(t, m, "sfbridge_api_calls_total")

	fake.Advance(time.Hour)
	waitFor(t, "the doctor to postpone its run", func() bool {
		return strings.Contains(d.Status()[0].Components[1].Message, "checks postponed")
	})
	msg := d.Status()[0].Components[1].Message
	for _, want := range []string{"budget is 1 ", "0.01% of the org's daily 15000", "they resume in"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	fake.Advance(DefaultProbeInterval)
	if got := testGather(t, m, "sfbridge_doctor_runs_total"); got != "{org=acme,outcome=ok} 1" {
		t.Errorf("doctor runs %q, want the first run only", got)
	}
	if got := testGather(t, m, "sfbridge_api_calls_total"); got != calls {
		t.Errorf("API calls went from %q to %q over budget", calls, got)
	}
	if !d.Ready() {
		t.Error("an org whose checks are postponed is not ready; the last results stand")
	}
}
