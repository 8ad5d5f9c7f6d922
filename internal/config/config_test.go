package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const good = `
listen: 127.0.0.1:9000
doctor_interval: 5m
orgs:
  - alias: acme
    client_id: 3MVG9EXAMPLE
    username: integration@acme.example
    key:
      file: keys/acme.jks
      passphrase_file: keys/acme.pass
      keystore_alias: sfbridge
    require: [servicedesk]
  - alias: globex
    client_id: 3MVG9OTHER
    username: siem@globex.example
    login_url: https://test.salesforce.com
    key: {file: /etc/sfbridge/globex.key}
    require: [eventlogs]
`

func TestParseGood(t *testing.T) {
	cfg, err := Parse([]byte(good), "conf/sfbridge.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Listen:           "127.0.0.1:9000",
		DoctorInterval:   Duration{Duration: 5 * time.Minute, set: true},
		ChecksAPIBudget:  Percent{Fraction: DefaultChecksAPIBudget},
		JournalRetention: Duration{Duration: DefaultJournalRetention},
		LeaseTTL:         Duration{Duration: DefaultLeaseTTL},
		Orgs: []Org{
			{Alias: "acme", ClientID: "3MVG9EXAMPLE", Username: "integration@acme.example", LoginURL: "https://login.salesforce.com",
				Key:     KeySpec{File: "conf/keys/acme.jks", PassphraseFile: "conf/keys/acme.pass", KeystoreAlias: "sfbridge"},
				Require: []string{"servicedesk"}},
			{Alias: "globex", ClientID: "3MVG9OTHER", Username: "siem@globex.example", LoginURL: "https://test.salesforce.com",
				Key: KeySpec{File: "/etc/sfbridge/globex.key"}, Require: []string{"eventlogs"}},
		},
	}
	if diff := cmp.Diff(want, cfg, cmp.AllowUnexported(Duration{}, Percent{})); diff != "" {
		t.Fatalf("config mismatch (-want +got):\n%s", diff)
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Parse([]byte("orgs: [{alias: a, client_id: c, username: u, key: {file: /k}}]"), "x")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != DefaultListen || cfg.DoctorInterval.Duration != 15*time.Minute || cfg.Orgs[0].LoginURL != "https://login.salesforce.com" {
		t.Fatalf("defaults not applied: %+v", cfg)
	}
	cfg, err = Parse([]byte("doctor_interval: 0s\norgs: [{alias: a, client_id: c, username: u, key: {file: /k}}]"), "x")
	if err != nil || cfg.DoctorInterval.Duration != 0 {
		t.Fatalf("explicit 0s interval lost: %v %v", cfg, err)
	}
}

func TestProblemsAreAllReportedWithPaths(t *testing.T) {
	bad := `
listen: 0.0.0.0:8421
orgs:
  - alias: acme
    client_id: x
    usernme: typo@acme.example
    key: {file: k, pasphrase_file: p}
  - alias: acme
    client_id: ""
    username: u
    login_url: ftp://nope
    key: {file: k}
    require: [servicedesk, billing]
`
	_, err := Parse([]byte(bad), "sfbridge.yaml")
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("want *config.Error, got %v", err)
	}
	got := make([]string, len(ce.Problems))
	for i, p := range ce.Problems {
		got[i] = p.String()
	}
	want := []string{
		`orgs[0].usernme (line 6): unknown key; did you mean "username"?`,
		`orgs[0].key.pasphrase_file (line 7): unknown key; did you mean "passphrase_file"?`,
		"auth_token_file: required when listen (0.0.0.0:8421) is not a loopback address: callers beyond this machine must present a bearer token",
		"orgs[0].username (line 4): required: the integration user's Salesforce username",
		`orgs[1].alias (line 8): "acme" is already used by orgs[0]`,
		"orgs[1].client_id (line 9): required: the consumer key of the connected app or External Client App",
		`orgs[1].login_url (line 11): "ftp://nope" is not an absolute URL; write it with its scheme, like https://login.salesforce.com`,
		`orgs[1].require[1] (line 13): unknown check "billing"; known checks: servicedesk, eventlogs`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("problems (-want +got):\n%s", diff)
	}
}

func TestShapeErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "the file is empty"},
		{"orgs: {alias: a}", "orgs (line 1): expected a list"},
		{"orgs: [{alias: [a, b]}]", "orgs[0].alias (line 1): expected a single value"},
		{"listen: [", "not valid YAML"},
		{"doctor_interval: soon\norgs: [{alias: a, client_id: c, username: u, key: {file: /k}}]", `"soon" is not a duration`},
		{"- a\n- b", "(top level) (line 1): expected a mapping"},
	} {
		_, err := Parse([]byte(c.in), "f.yaml")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v; want error containing %q", c.in, err, c.want)
		}
	}
}

func TestLoadReadsAuthTokenAndHidesIt(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte("s3cr3t-token-0123456789\n"), 0o600)
	conf := filepath.Join(dir, "c.yaml")
	os.WriteFile(conf, []byte("listen: 0.0.0.0:1\nauth_token_file: token\norgs: [{alias: a, client_id: c, username: u, key: {file: k}}]"), 0o600)
	cfg, err := Load(conf)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AuthToken.Reveal() != "s3cr3t-token-0123456789" {
		t.Fatalf("token = %q", cfg.AuthToken.Reveal())
	}
	if cfg.Orgs[0].Key.File != filepath.Join(dir, "k") {
		t.Fatalf("relative key path not resolved: %s", cfg.Orgs[0].Key.File)
	}
	js, _ := json.Marshal(cfg)
	for _, s := range []string{fmt.Sprint(cfg.AuthToken), fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg.AuthToken), string(js)} {
		if strings.Contains(s, "s3cr3t") {
			t.Fatalf("secret leaked: %s", s)
		}
	}

	os.WriteFile(tokenFile, []byte("short"), 0o600)
	if _, err := Load(conf); err == nil || !strings.Contains(err.Error(), "at least 16 characters") {
		t.Fatalf("short token accepted: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("orgs: [{alias: a}]"))
	f.Add([]byte("listen: [\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, "fuzz.yaml")
		if err == nil && (len(cfg.Orgs) == 0 || cfg.Listen == "") {
			t.Fatalf("accepted a config without orgs or listen: %+v", cfg)
		}
	})
}

func TestStoredKeyAndStateURL(t *testing.T) {
	cfg, err := Parse([]byte("state: sqlite:db/state.db\norgs: [{alias: a, client_id: c, username: u, key: {stored: a}}]"), "conf/x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.State != "sqlite:conf/db/state.db" || cfg.Orgs[0].Key.Stored != "a" || cfg.Orgs[0].Key.File != "" {
		t.Fatalf("state %q, key %+v", cfg.State, cfg.Orgs[0].Key)
	}
	cfg, err = Parse([]byte("state: postgres://sfbridge@db/sf\norgs: [{alias: a, client_id: c, username: u, key: {stored: a}}]"), "conf/x.yaml")
	if err != nil || cfg.State != "postgres://sfbridge@db/sf" {
		t.Fatalf("postgres state = %q, %v", cfg.State, err)
	}
	bad := `state: mysql://db/x
orgs:
  - {alias: a, client_id: c, username: u, key: {file: /k, stored: a}}
  - {alias: b, client_id: c, username: u, key: {stored: b, passphrase_file: /p}}
`
	_, err = Parse([]byte(bad), "x.yaml")
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *Error", err)
	}
	var paths []string
	for _, p := range ce.Problems {
		paths = append(paths, p.Path)
	}
	if diff := cmp.Diff([]string{"state", "orgs[0].key.stored", "orgs[1].key.stored"}, paths); diff != "" {
		t.Fatalf("problem paths (-want +got):\n%s\n%v", diff, err)
	}
}

// The trial's cases (issue 12): shape and semantic problems together, bad
// durations with path and line, an http login URL, a second document.
func TestEveryProblemAtOnceWithLines(t *testing.T) {
	bad := `listen: [1]
doctor_interval: soon
orgs:
  - alias: a
    username: u
    login_url: http://example.com
    key: {file: k}
  - alias: b
    client_id: c
    username: u
    key: {file: k}
    require: servicedesk
`
	got := problems(t, bad)
	want := []string{
		"listen (line 1): expected a single value",
		`doctor_interval (line 2): "soon" is not a duration like 30s, 15m or 1h`,
		"orgs[1].require (line 12): expected a list",
		"orgs[0].client_id (line 4): required: the consumer key of the connected app or External Client App",
		`orgs[0].login_url (line 6): "http://example.com" must use https`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("problems (-want +got):\n%s", diff)
	}
}

func TestDoctorIntervalFloor(t *testing.T) {
	org := "\norgs: [{alias: a, client_id: c, username: u, key: {file: /k}}]"
	for _, v := range []string{"1ns", "59s", "-5m", "5"} {
		if got := problems(t, "doctor_interval: "+v+org); len(got) != 1 || !strings.HasPrefix(got[0], "doctor_interval (line 1): ") {
			t.Errorf("doctor_interval %s: problems %q", v, got)
		}
	}
	for _, v := range []string{"0s", "1m", "2h"} {
		if _, err := Parse([]byte("doctor_interval: "+v+org), "x"); err != nil {
			t.Errorf("doctor_interval %s refused: %v", v, err)
		}
	}
}

func TestSecondDocumentIsRefused(t *testing.T) {
	got := problems(t, "orgs: [{alias: a, client_id: c, username: u, key: {file: /k}}]\n---\norgs: 5\nbogus: 1\n")
	if len(got) != 1 || !strings.Contains(got[0], "(second document) (line 2): the file holds more than one YAML document") {
		t.Fatalf("problems = %q", got)
	}
}

func TestAliasesAndMergeKeys(t *testing.T) {
	_, err := Parse([]byte(`
x-org: &o {client_id: c, username: u, key: {file: /k}, require: [servicedesk]}
orgs:
  - *o
  - <<: *o
    alias: b
    username: other
`), "x")
	if err == nil || !strings.Contains(err.Error(), "x-org (line 2): unknown key") {
		t.Fatalf("an unknown top-level anchor holder must still be refused: %v", err)
	}
	cfg, err := Parse([]byte(`
orgs:
  - &o {alias: a, client_id: c, username: u, key: {file: /k}}
  - <<: *o
    alias: b
    username: other
`), "x")
	if err != nil {
		t.Fatalf("aliases and merge keys refused: %v", err)
	}
	if len(cfg.Orgs) != 2 || cfg.Orgs[1].Alias != "b" || cfg.Orgs[1].Username != "other" || cfg.Orgs[1].ClientID != "c" {
		t.Fatalf("merged org = %+v", cfg.Orgs)
	}
	got := problems(t, `
orgs:
  - &o {alias: a, client_id: c, username: u, key: {file: /k}, bogus: 1}
  - <<: *o
    alias: b
`)
	if len(got) == 0 || !strings.Contains(got[0], "orgs[0].bogus (line 3): unknown key") {
		t.Fatalf("problems = %q", got)
	}
}

func problems(t *testing.T, yamlText string) []string {
	t.Helper()
	_, err := Parse([]byte(yamlText), "sfbridge.yaml")
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("want *config.Error, got %v", err)
	}
	out := make([]string, len(ce.Problems))
	for i, p := range ce.Problems {
		out[i] = p.String()
	}
	return out
}

func TestChecksAPIBudget(t *testing.T) {
	org := "\norgs: [{alias: a, client_id: c, username: u, key: {file: /k}}]"
	for v, want := range map[string]float64{"1%": 0.01, "0.5%": 0.005, "100%": 1} {
		cfg, err := Parse([]byte("checks_api_budget: "+v+org), "x")
		if err != nil {
			t.Fatalf("checks_api_budget %s: %v", v, err)
		}
		if cfg.ChecksAPIBudget.Fraction != want {
			t.Errorf("checks_api_budget %s = %g, want %g", v, cfg.ChecksAPIBudget.Fraction, want)
		}
	}
	cfg, err := Parse([]byte(org[1:]), "x")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ChecksAPIBudget.Fraction != DefaultChecksAPIBudget {
		t.Errorf("default budget %g, want %g", cfg.ChecksAPIBudget.Fraction, DefaultChecksAPIBudget)
	}
	for _, v := range []string{"0%", "5", "150%", "lots", "[1]"} {
		if got := problems(t, "checks_api_budget: "+v+org); len(got) != 1 || !strings.HasPrefix(got[0], "checks_api_budget (line 1): ") {
			t.Errorf("checks_api_budget %s: problems %q", v, got)
		}
	}
}
