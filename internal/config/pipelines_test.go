package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const withPipelines = `
state: postgres://sfbridge@db.example:5432/sfbridge
journal_retention: 48h
webhooks:
  url: https://bot.example/hooks
  secret_file: hook.secret
  events: [case.*, knowledge.published, agent.*, ended]
orgs:
  - alias: acme
    client_id: c
    username: u
    key: {file: k.pem}
    eventlogs:
      types: [Login, API]
      objects: [SetupAuditTrail]
      since: 2d
      output: {ndjson: logs/acme.ndjson}
    cases:
      poll: 10s
      fields: [Status, Priority]
      filter: {Origin: [Web, Email]}
      api_budget: 10%
    knowledge: {languages: [en_US, de]}
    employees: {interval: 30m, user_fields: [Department]}
    messaging:
      scrt_url: https://acme.my.salesforce-scrt.com
      org_id: 00D000000000001
      deployment: Bot_Web
      key_file: uv.pem
      key_id: k1
      issuer: acme-bot
      routing: {queue: Support}
  - alias: globex
    client_id: c
    username: u
    key: {file: /k.pem}
    eventlogs:
      output:
        kafka: {brokers: ["k1:9092", "k2:9092"], topic: sf, sasl: SCRAM-SHA-512, username: sf, password_file: kpw}
`

func TestPipelineSectionsParseWithDefaults(t *testing.T) {
	cfg, err := Parse([]byte(withPipelines), "conf/sfbridge.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.JournalRetention.Duration != 48*time.Hour {
		t.Errorf("journal_retention = %s", cfg.JournalRetention.Duration)
	}
	if w := cfg.Webhooks; w == nil || w.SecretFile != "conf/hook.secret" || len(w.Events) != 4 {
		t.Errorf("webhooks = %+v", w)
	}
	acme := cfg.Orgs[0]
	el := acme.EventLogs
	if el == nil || el.Output.NDJSON != "conf/logs/acme.ndjson" || el.Poll.Duration != DefaultEventLogsPoll ||
		el.APIBudget.Fraction != DefaultPipelineAPIBudget || el.Since != "2d" || !cmp.Equal(el.Types, []string{"Login", "API"}) {
		t.Errorf("eventlogs = %+v", el)
	}
	if c := acme.Cases; c == nil || c.Poll.Duration != 10*time.Second || c.APIBudget.Fraction != 0.10 ||
		!cmp.Equal(c.Filter, map[string][]string{"Origin": {"Web", "Email"}}) {
		t.Errorf("cases = %+v", c)
	}
	if k := acme.Knowledge; k == nil || k.Interval.Duration != DefaultKnowledgeInterval || len(k.Languages) != 2 {
		t.Errorf("knowledge = %+v", k)
	}
	if e := acme.Employees; e == nil || e.Interval.Duration != 30*time.Minute {
		t.Errorf("employees = %+v", e)
	}
	if m := acme.Messaging; m == nil || m.KeyFile != "conf/uv.pem" || m.Routing["queue"] != "Support" {
		t.Errorf("messaging = %+v", m)
	}
	if k := cfg.Orgs[1].EventLogs.Output.Kafka; k == nil || k.PasswordFile != "conf/kpw" {
		t.Errorf("kafka = %+v", k)
	}
	if cfg.Orgs[1].Cases != nil || cfg.Orgs[1].Knowledge != nil {
		t.Errorf("globex has sections it did not configure")
	}
	if cfg.Orgs[1].EventLogs.Types[0] != "all" {
		t.Errorf("default types = %v", cfg.Orgs[1].EventLogs.Types)
	}
}

// Unknown keys, wrongly shaped values and semantic problems of every
// section all come back from one Parse, each with its path and line.
func TestPipelineProblemsAreAllReportedWithLines(t *testing.T) {
	bad := `journal_retention: 24h
webhooks:
  url: ftp://bot.example
  events: [case.*, billing.paid]
orgs:
  - alias: acme
    client_id: c
    username: u
    key: {file: k.pem}
    eventlogs:
      types: [Log-in]
      interval: weekly
      objects: [Opportunity]
      since: yesterday
      poll: 10s
      output: {ndjson: a.ndjson, kafka: {brokers: [k1]}}
    cases:
      poll: 1s
      fields: [Status!]
      filter: {Origin: []}
      api_budget: 150%
    knowledge: {interval: 10s, languages: ["en US"]}
    employees: {intervall: 1h}
    messaging:
      scrt_url: http://acme.example
      org_id: 005000000000001
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
		`orgs[0].cases.api_budget (line 21): "150%" is not a share like 5% or 0.5% (more than 0%, at most 100%)`,
		`orgs[0].employees.intervall (line 23): unknown key; did you mean "interval"?`,
		`orgs[0].eventlogs.types[0] (line 11): "Log-in" is not an event type such as Login or ApiTotalUsage (or all)`,
		`orgs[0].eventlogs.interval (line 12): "weekly" is not auto, hourly or daily`,
		`orgs[0].eventlogs.objects[0] (line 13): "Opportunity" is not one of SetupAuditTrail, LoginHistory, LoginEvent, LogoutEvent, ApiEvent`,
		`orgs[0].eventlogs.since (line 14): "yesterday" is neither a span such as 7d or 12h nor a time such as 2026-12-01T00:00:00Z`,
		`orgs[0].eventlogs.poll (line 15): 10s is shorter than the minimum 1m0s: each run spends the org's daily API calls`,
		`orgs[0].eventlogs.output (line 16): give exactly one of ndjson (a file path), elasticsearch {url: …} or kafka {brokers: […]}`,
		`orgs[0].eventlogs.output.kafka.brokers[0] (line 16): "k1" is not host:port (without credentials)`,
		`orgs[0].cases.poll (line 18): 1s is shorter than the minimum 5s: each run spends the org's daily API calls`,
		`orgs[0].cases.fields[0] (line 19): "Status!" is not a field API name such as Status or Department`,
		`orgs[0].cases.filter.Origin (line 20): needs at least one value, as in [Web, Email]`,
		`orgs[0].knowledge.interval (line 22): 10s is shorter than the minimum 1m0s: each run spends the org's daily API calls`,
		`orgs[0].knowledge.languages[0] (line 22): "en US" is not a Salesforce language code such as en_US or de`,
		`orgs[0].messaging.scrt_url (line 25): "http://acme.example" is not the deployment's SCRT URL such as https://acme.my.salesforce-scrt.com (plain http only for a loopback host)`,
		`orgs[0].messaging.org_id (line 26): "005000000000001" is not an org id (00D…, 15 or 18 characters)`,
		`orgs[0].messaging.deployment (line 25): required: the Custom Client deployment's API name`,
		`orgs[0].messaging.key_file (line 25): required: the User Verification private key that signs identity tokens`,
		`orgs[0].messaging.key_id (line 25): required: the Key ID registered in the User Verification keyset`,
		`orgs[0].messaging.issuer (line 25): required: the keyset's issuer`,
		`webhooks.url (line 3): "ftp://bot.example" is not an http(s) URL without credentials`,
		`webhooks.secret_file (line 3): required: the file with the secret that signs each delivery`,
		`webhooks.events[1] (line 4): "billing.paid" is not *, an event type (case.created, knowledge.published, agent.message…) or a family such as case.*`,
		`journal_retention (line 1): 24h0m0s is shorter than the minimum 25h0m0s: webhooks retry a delivery for 24 hours from the journal`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("problems (-want +got):\n%s", diff)
	}
}

func TestLeaseTTL(t *testing.T) {
	base := "orgs: [{alias: a, client_id: c, username: u, key: {file: /k}}]\n"
	cfg, err := Parse([]byte(base), "x")
	if err != nil || cfg.LeaseTTL.Duration != DefaultLeaseTTL {
		t.Fatalf("default lease_ttl: %v %v", cfg, err)
	}
	if cfg, err = Parse([]byte("lease_ttl: 4s\n"+base), "x"); err != nil || cfg.LeaseTTL.Duration != 4*time.Second {
		t.Fatalf("lease_ttl 4s: %v %v", cfg, err)
	}
	if _, err = Parse([]byte("lease_ttl: 1s\n"+base), "x"); err == nil || !strings.Contains(err.Error(), "lease_ttl (line 1): 1s is shorter than the minimum 3s") {
		t.Fatalf("lease_ttl 1s: %v", err)
	}
}

func TestWebhookEventPatterns(t *testing.T) {
	for p, want := range map[string]bool{
		"*": true, "case.*": true, "case.created": true, "agent.*": true, "ended": true, "knowledge.archived": true,
		"cases.*": false, "case": false, "case.*.x": false, "ca*": false, ".*": false, "": false, "knowledge.deleted": false,
	} {
		if got := knownEventPattern(p); got != want {
			t.Errorf("knownEventPattern(%q) = %v, want %v", p, got, want)
		}
	}
}
