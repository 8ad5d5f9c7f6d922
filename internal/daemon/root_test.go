package daemon

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/doctor"
	"github.com/sfbridge/sfbridge/internal/config"
	"github.com/sfbridge/sfbridge/sftest"
)

// runDaemon runs d until the test ends.
func runDaemon(t *testing.T, d *Daemon) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// FromConfig builds the whole daemon from a configuration, without the
// CLI: the org's key, its session (cached, encrypted, under the state
// directory), the counting transports and the doctor, against the
// emulated org.
func TestFromConfigAgainstTheEmulator(t *testing.T) {
	s := sftest.NewServer(t)
	state := t.TempDir()
	cfg := &config.Config{Listen: "127.0.0.1:0", StateDir: state, DoctorInterval: config.Duration{Duration: time.Hour},
		Orgs: []config.Org{{Alias: "acme", ClientID: s.ClientID, Username: s.Username("integration"), LoginURL: s.URL,
			Audience: s.URL, Key: config.KeySpec{File: s.KeyFile}, Require: doctor.Groups()}}}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)

	m := NewMetrics()
	d, err := FromConfig(t.Context(), cfg, Env{Metrics: m, Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	runDaemon(t, d)
	base := "http://" + d.Addr()
	waitFor(t, "the org to be ready", d.Ready)

	code, body := get(t, base+"/v1/orgs/acme", "")
	var st OrgStatus
	if err := json.Unmarshal([]byte(body), &st); err != nil || code != 200 {
		t.Fatalf("/v1/orgs/acme = %d %s (%v)", code, body, err)
	}
	if st.State != "ready" || st.OrgID != s.Org.OrgID().String() || len(st.Checks) < 10 || len(st.Components) != 2 {
		t.Fatalf("status %+v", st)
	}
	for i, name := range []string{"session", "doctor"} {
		if c := st.Components[i]; c.Name != name || c.State != StateRunning || c.LastSuccess == nil || c.Restarts != 0 {
			t.Errorf("component %d = %+v", i, c)
		}
	}
	if got := testGather(t, m, "sfbridge_token_requests_total"); got != "{org=acme,result=granted} 1" {
		t.Errorf("token requests %q", got)
	}
	if got := testGather(t, m, "sfbridge_doctor_runs_total"); got != "{org=acme,outcome=ok} 1" {
		t.Errorf("doctor runs %q", got)
	}

	// The session was cached, encrypted: a second daemon from the same
	// configuration uses it and asks for no token.
	files, _ := filepath.Glob(filepath.Join(state, "sessions", "*"))
	if len(files) != 1 {
		t.Fatalf("session cache files %v", files)
	}
	raw, _ := os.ReadFile(files[0])
	tok := d.orgs[0].Session.(cachedSource).Cached()
	if tok == nil || strings.Contains(string(raw), tok.AccessToken) || strings.Contains(string(raw), tok.OrgID) {
		t.Errorf("the session cache is missing or readable (token %v)", tok != nil)
	}
	m2 := NewMetrics()
	d2, err := FromConfig(t.Context(), cfg, Env{Metrics: m2, Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	runDaemon(t, d2)
	waitFor(t, "the second daemon to be ready", d2.Ready)
	if got := testGather(t, m2, "sfbridge_token_requests_total"); got != "" {
		t.Errorf("the second daemon asked for a token: %q", got)
	}
}

// A configuration whose key cannot be read fails FromConfig with the org
// named, before anything listens.
func TestFromConfigReportsTheOrg(t *testing.T) {
	cfg := &config.Config{Listen: "127.0.0.1:0", Orgs: []config.Org{{Alias: "acme", ClientID: "c", Username: "u",
		Key: config.KeySpec{File: filepath.Join(t.TempDir(), "missing.key")}}}}
	_, err := FromConfig(t.Context(), cfg, Env{})
	if err == nil || !strings.HasPrefix(err.Error(), "org acme: ") || !strings.Contains(err.Error(), "missing.key") {
		t.Fatalf("err = %v", err)
	}
}
