package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sfbridge/sfbridge/eventlog"
	"github.com/sfbridge/sfbridge/internal/loopback"
)

// EventLogs is an org's event-log pipeline: Event Monitoring files and
// audit objects collected into one output, as `sfbridge eventlogs
// collect --follow` does.
type EventLogs struct {
	// Types are EventLogFile event types, or [all] (the default).
	Types []string `yaml:"types"`
	// Interval is auto (default), hourly or daily.
	Interval string `yaml:"interval"`
	// Objects are SetupAuditTrail, LoginHistory, LoginEvent, LogoutEvent
	// and ApiEvent, collected besides the files.
	Objects []string `yaml:"objects"`
	// Since is where a first collection starts: a span (7d, 12h) or a
	// time (RFC 3339 or a date). Default 7d.
	Since string `yaml:"since"`
	// Poll is the pause between collections (default 5m, at least 1m).
	Poll Duration `yaml:"poll"`
	// Concurrency bounds parallel downloads (default 4).
	Concurrency int `yaml:"concurrency"`
	// APIBudget caps the share of the org's daily API allocation this
	// pipeline spends (default 20%).
	APIBudget Percent      `yaml:"api_budget"`
	Output    EventLogsOut `yaml:"output"`
}

// EventLogsOut is the output of the event-log pipeline: exactly one of
// ndjson, elasticsearch and kafka.
type EventLogsOut struct {
	// NDJSON is a file path (relative to the configuration file); the
	// file is cut back to the checkpoint on start.
	NDJSON string `yaml:"ndjson"`
	// RotateBytes starts a new file PATH.N past this size (0: never).
	RotateBytes int64              `yaml:"rotate_bytes"`
	Elastic     *ElasticsearchSink `yaml:"elasticsearch"`
	Kafka       *KafkaSink         `yaml:"kafka"`
}

// ElasticsearchSink writes to the data streams logs-<dataset>-<namespace>.
type ElasticsearchSink struct {
	URL          string `yaml:"url"`
	Namespace    string `yaml:"namespace"`
	APIKeyFile   string `yaml:"api_key_file"`
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
	CAFile       string `yaml:"ca_file"`
	DeadLetter   string `yaml:"dead_letter"`
}

// KafkaSink writes to one topic, or to one per dataset when Topic is
// empty.
type KafkaSink struct {
	Brokers      []string `yaml:"brokers"`
	Topic        string   `yaml:"topic"`
	SASL         string   `yaml:"sasl"`
	Username     string   `yaml:"username"`
	PasswordFile string   `yaml:"password_file"`
	TLS          bool     `yaml:"tls"`
	CAFile       string   `yaml:"ca_file"`
}

// Cases is an org's case watcher: changes of Cases and new comments,
// written as events to the journal topic cases.events.
type Cases struct {
	// Poll is the pause between polls (default 30s, at least 5s).
	Poll Duration `yaml:"poll"`
	// Fields are the Case fields whose changes make case.updated events
	// (default: servicedesk.DefaultTrackedFields).
	Fields []string `yaml:"fields"`
	// Filter keeps only Cases whose field is one of the values, as in
	// {Origin: [Web, Email]}.
	Filter    map[string][]string `yaml:"filter"`
	APIBudget Percent             `yaml:"api_budget"`
}

// Knowledge is an org's knowledge sync: the published articles, kept
// searchable in the state store.
type Knowledge struct {
	// Languages are Salesforce language codes (en_US, de); empty means
	// every language of the org's Knowledge.
	Languages []string `yaml:"languages"`
	// Interval is the pause between syncs (default 15m, at least 1m).
	Interval  Duration `yaml:"interval"`
	APIBudget Percent  `yaml:"api_budget"`
}

// Employees is an org's directory sync: Contacts and Users.
type Employees struct {
	// Interval is the pause between syncs (default 1h, at least 1m).
	Interval      Duration `yaml:"interval"`
	ContactFields []string `yaml:"contact_fields"`
	UserFields    []string `yaml:"user_fields"`
	APIBudget     Percent  `yaml:"api_budget"`
}

// Messaging is an org's Messaging for In-App and Web deployment, for
// live-agent handoffs.
type Messaging struct {
	SCRTURL    string `yaml:"scrt_url"`
	OrgID      string `yaml:"org_id"`
	Deployment string `yaml:"deployment"`
	// KeyFile is the User Verification key that signs identity tokens.
	KeyFile  string `yaml:"key_file"`
	KeyID    string `yaml:"key_id"`
	Issuer   string `yaml:"issuer"`
	Audience string `yaml:"audience"`
	Language string `yaml:"language"`
	// Routing are the default routing attributes of a handoff.
	Routing map[string]string `yaml:"routing"`
}

// Webhooks delivers the journal's events to one URL, signed.
type Webhooks struct {
	URL string `yaml:"url"`
	// SecretFile holds the signing secret (at least 16 characters).
	SecretFile string `yaml:"secret_file"`
	// Events filters by type: exact (case.created) or a prefix with *
	// (case.*); empty means every event.
	Events []string `yaml:"events"`
}

// Pipeline defaults and bounds.
const (
	DefaultEventLogsPoll     = 5 * time.Minute
	DefaultCasesPoll         = 30 * time.Second
	DefaultKnowledgeInterval = 15 * time.Minute
	DefaultEmployeesInterval = time.Hour
	DefaultPipelineAPIBudget = 0.20
	DefaultJournalRetention  = 72 * time.Hour
	DefaultLeaseTTL          = 30 * time.Second
	// MinJournalRetention exceeds the 24 hours webhooks retry a delivery,
	// with an hour to spare.
	MinJournalRetention = 25 * time.Hour
	DefaultSince        = "7d"
)

// journalEventTypes are the types of the journal's events (topics
// cases.events, knowledge.events and handoff.*), which webhooks filter on.
func journalEventTypes() []string {
	return []string{"case.created", "case.updated", "case.closed", "case.reopened", "case.deleted", "case.undeleted", "comment.created",
		"knowledge.published", "knowledge.updated", "knowledge.archived",
		"queued", "agent.joined", "agent.message", "agent.typing", "transferred", "agent.left", "ended", "routing.failed", "error"}
}

// knownEventPattern reports whether a webhook filter pattern is "*", a
// known event type, or a family such as case.* of known types.
func knownEventPattern(p string) bool {
	if p == "*" {
		return true
	}
	prefix, family := strings.CutSuffix(p, ".*")
	if strings.Contains(prefix, "*") || prefix == "" {
		return false
	}
	return slices.ContainsFunc(journalEventTypes(), func(t string) bool {
		if family {
			return strings.HasPrefix(t, prefix+".")
		}
		return t == p
	})
}

func minInterval(add func(path, format string, args ...any), path string, d Duration, least time.Duration) {
	if d.set && d.Duration < least {
		add(path, "%s is shorter than the minimum %s: each run spends the org's daily API calls", d.Duration, least)
	}
}

func checkFieldNames(add func(path, format string, args ...any), path string, names []string) {
	for i, f := range names {
		if !apiName(f) {
			add(fmt.Sprintf("%s[%d]", path, i), "%q is not a field API name such as Status or Department", f)
		}
	}
}

// apiName reports whether s looks like a Salesforce API name (letters,
// digits and underscores, starting with a letter; a relationship path
// with dots is allowed).
func apiName(s string) bool {
	letter := func(c rune) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	for part := range strings.SplitSeq(s, ".") {
		if part == "" || !letter(rune(part[0])) {
			return false
		}
		for _, c := range part {
			if !letter(c) && (c < '0' || c > '9') && c != '_' {
				return false
			}
		}
	}
	return s != ""
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil
}

func (o *Org) validatePipelines(p string, add func(path, format string, args ...any)) {
	if e := o.EventLogs; e != nil {
		validateEventLogs(p+".eventlogs", e, add)
	}
	if c := o.Cases; c != nil {
		minInterval(add, p+".cases.poll", c.Poll, 5*time.Second)
		checkFieldNames(add, p+".cases.fields", c.Fields)
		keys := make([]string, 0, len(c.Filter))
		for k := range c.Filter {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			switch {
			case !apiName(k):
				add(p+".cases.filter."+k, "%q is not a Case field API name such as Origin", k)
			case len(c.Filter[k]) == 0:
				add(p+".cases.filter."+k, "needs at least one value, as in [Web, Email]")
			}
		}
	}
	if k := o.Knowledge; k != nil {
		minInterval(add, p+".knowledge.interval", k.Interval, time.Minute)
		for i, l := range k.Languages {
			if !apiName(l) {
				add(fmt.Sprintf("%s.knowledge.languages[%d]", p, i), "%q is not a Salesforce language code such as en_US or de", l)
			}
		}
	}
	if e := o.Employees; e != nil {
		minInterval(add, p+".employees.interval", e.Interval, time.Minute)
		checkFieldNames(add, p+".employees.contact_fields", e.ContactFields)
		checkFieldNames(add, p+".employees.user_fields", e.UserFields)
	}
	if m := o.Messaging; m != nil {
		validateMessaging(p+".messaging", m, add)
	}
}

func validateEventLogs(p string, e *EventLogs, add func(path, format string, args ...any)) {
	for i, t := range e.Types {
		if t != "all" && !apiName(t) {
			add(fmt.Sprintf("%s.types[%d]", p, i), "%q is not an event type such as Login or ApiTotalUsage (or all)", t)
		}
	}
	switch strings.ToLower(e.Interval) {
	case "", eventlog.IntervalAuto, eventlog.IntervalHourly, eventlog.IntervalDaily:
	default:
		add(p+".interval", "%q is not auto, hourly or daily", e.Interval)
	}
	for i, obj := range e.Objects {
		if !slices.Contains(eventlog.ObjectNames(), obj) {
			add(fmt.Sprintf("%s.objects[%d]", p, i), "%q is not one of %s", obj, strings.Join(eventlog.ObjectNames(), ", "))
		}
	}
	if e.Since != "" {
		if _, err := eventlog.ParseSince(e.Since, time.Now()); err != nil {
			add(p+".since", "%s", err)
		}
	}
	minInterval(add, p+".poll", e.Poll, time.Minute)
	if e.Concurrency < 0 || e.Concurrency > 25 {
		add(p+".concurrency", "%d is outside 1–25 (Salesforce allows 25 long-running requests per org, shared with other integrations)", e.Concurrency)
	}
	out := e.Output
	n := 0
	for _, set := range []bool{out.NDJSON != "", out.Elastic != nil, out.Kafka != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		add(p+".output", "give exactly one of ndjson (a file path), elasticsearch {url: …} or kafka {brokers: […]}")
	}
	if out.RotateBytes < 0 {
		add(p+".output.rotate_bytes", "must not be negative")
	}
	if es := out.Elastic; es != nil {
		if !httpURL(es.URL) {
			add(p+".output.elasticsearch.url", "%q is not a URL such as https://es.example:9200 (without credentials: use api_key_file, or username with password_file)", es.URL)
		}
		if es.Username != "" && es.PasswordFile == "" {
			add(p+".output.elasticsearch.password_file", "required with username")
		}
	}
	if k := out.Kafka; k != nil {
		if len(k.Brokers) == 0 {
			add(p+".output.kafka.brokers", "required: at least one host:port")
		}
		for i, b := range k.Brokers {
			if strings.Contains(b, "@") || !strings.Contains(b, ":") {
				add(fmt.Sprintf("%s.output.kafka.brokers[%d]", p, i), "%q is not host:port (without credentials)", b)
			}
		}
		switch k.SASL {
		case "", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		default:
			add(p+".output.kafka.sasl", "%q is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", k.SASL)
		}
		if k.SASL != "" && (k.Username == "" || k.PasswordFile == "") {
			add(p+".output.kafka.sasl", "needs username and password_file")
		}
	}
}

func validateMessaging(p string, m *Messaging, add func(path, format string, args ...any)) {
	u, err := url.Parse(m.SCRTURL)
	secure := err == nil && (u.Scheme == "https" || u.Scheme == "http" && loopback.IsHost(u.Hostname()))
	if m.SCRTURL == "" || err != nil || u.Host == "" || !secure {
		add(p+".scrt_url", "%q is not the deployment's SCRT URL such as https://acme.my.salesforce-scrt.com (plain http only for a loopback host)", m.SCRTURL)
	}
	if len(m.OrgID) != 15 && len(m.OrgID) != 18 || !strings.HasPrefix(m.OrgID, "00D") {
		add(p+".org_id", "%q is not an org id (00D…, 15 or 18 characters)", m.OrgID)
	}
	if m.Deployment == "" {
		add(p+".deployment", "required: the Custom Client deployment's API name")
	}
	if m.KeyFile == "" {
		add(p+".key_file", "required: the User Verification private key that signs identity tokens")
	}
	if m.KeyID == "" {
		add(p+".key_id", "required: the Key ID registered in the User Verification keyset")
	}
	if m.Issuer == "" {
		add(p+".issuer", "required: the keyset's issuer")
	}
}

func (c *Config) validateTop(add func(path, format string, args ...any)) {
	if w := c.Webhooks; w != nil {
		if !httpURL(w.URL) {
			add("webhooks.url", "%q is not an http(s) URL without credentials", w.URL)
		}
		if w.SecretFile == "" {
			add("webhooks.secret_file", "required: the file with the secret that signs each delivery")
		}
		for i, ev := range w.Events {
			if !knownEventPattern(ev) {
				add(fmt.Sprintf("webhooks.events[%d]", i), "%q is not *, an event type (case.created, knowledge.published, agent.message…) or a family such as case.*", ev)
			}
		}
	}
	if d := c.LeaseTTL; d.set && d.Duration < 3*time.Second {
		add("lease_ttl", "%s is shorter than the minimum 3s: the holder renews its leases every third of it", d.Duration)
	}
	if d := c.JournalRetention; d.set && d.Duration < MinJournalRetention {
		add("journal_retention", "%s is shorter than the minimum %s: webhooks retry a delivery for 24 hours from the journal", d.Duration, MinJournalRetention)
	}
}

func (o *Org) applyPipelineDefaults() {
	if e := o.EventLogs; e != nil {
		if len(e.Types) == 0 {
			e.Types = []string{"all"}
		}
		if e.Since == "" {
			e.Since = DefaultSince
		}
		if !e.Poll.set {
			e.Poll.Duration = DefaultEventLogsPoll
		}
		if !e.APIBudget.set {
			e.APIBudget.Fraction = DefaultPipelineAPIBudget
		}
	}
	if c := o.Cases; c != nil {
		if !c.Poll.set {
			c.Poll.Duration = DefaultCasesPoll
		}
		if !c.APIBudget.set {
			c.APIBudget.Fraction = DefaultPipelineAPIBudget
		}
	}
	if k := o.Knowledge; k != nil {
		if !k.Interval.set {
			k.Interval.Duration = DefaultKnowledgeInterval
		}
		if !k.APIBudget.set {
			k.APIBudget.Fraction = DefaultPipelineAPIBudget
		}
	}
	if e := o.Employees; e != nil {
		if !e.Interval.set {
			e.Interval.Duration = DefaultEmployeesInterval
		}
		if !e.APIBudget.set {
			e.APIBudget.Fraction = DefaultPipelineAPIBudget
		}
	}
}

func (o *Org) resolvePipelinePaths(abs func(*string)) {
	if e := o.EventLogs; e != nil {
		abs(&e.Output.NDJSON)
		if es := e.Output.Elastic; es != nil {
			abs(&es.APIKeyFile)
			abs(&es.PasswordFile)
			abs(&es.CAFile)
			abs(&es.DeadLetter)
		}
		if k := e.Output.Kafka; k != nil {
			abs(&k.PasswordFile)
			abs(&k.CAFile)
		}
	}
	if m := o.Messaging; m != nil {
		abs(&m.KeyFile)
	}
}
