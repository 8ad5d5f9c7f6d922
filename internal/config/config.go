// Package config loads the `sfbridge serve` configuration: a strict YAML
// file in which unknown keys are errors and every problem is reported with
// its path (orgs[1].key.file), all at once rather than one per run.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/doctor"
	"github.com/sfbridge/sfbridge/internal/inputfile"
	"github.com/sfbridge/sfbridge/internal/loopback"
	"github.com/sfbridge/sfbridge/state"
)

// Secret is a string that never shows itself: it prints, logs and
// marshals as "<secret>".
type Secret string

// String hides the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "<secret>"
}

// GoString hides the value from %#v.
func (s Secret) GoString() string { return s.String() }

// MarshalJSON hides the value.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// MarshalYAML hides the value.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// Reveal returns the value itself, for the one place that needs it.
func (s Secret) Reveal() string { return string(s) }

// Config is the daemon configuration.
type Config struct {
	// Listen is the address of the daemon's HTTP server (health, readiness,
	// metrics, status). Default 127.0.0.1:8421.
	Listen string `yaml:"listen"`
	// AuthTokenFile names a file holding the bearer token that callers of
	// the HTTP server must present. Required when Listen is not loopback.
	AuthTokenFile string `yaml:"auth_token_file"`
	// StateDir holds the token caches and other daemon state.
	StateDir string `yaml:"state_dir"`
	// State is the state store URL: sqlite:PATH (relative to the config
	// file) or postgres://…; empty means a SQLite file in StateDir.
	State string `yaml:"state"`
	// DoctorInterval is how often each org's doctor checks run again after
	// the first run at start. Default 15m; 0 runs them only at start.
	DoctorInterval Duration `yaml:"doctor_interval"`
	// ChecksAPIBudget caps the share of each org's daily API allocation
	// that the daemon's own checks (doctor runs, probes) may spend in any
	// 24 hours, written like "5%". Default [DefaultChecksAPIBudget].
	ChecksAPIBudget Percent `yaml:"checks_api_budget"`
	// JournalRetention is how long the event journal (the state outbox
	// topics cases.events, knowledge.events, handoff.*) keeps a record.
	// Default 72h; at least 25h, beyond the webhooks' 24-hour retries.
	JournalRetention Duration `yaml:"journal_retention"`
	// LeaseTTL is the lifetime of a pipeline's lease (default 30s, at
	// least 3s): a replica that dies leaves its pipelines to the others
	// within it; the holder renews every third of it.
	LeaseTTL Duration `yaml:"lease_ttl"`
	// Webhooks, when set, delivers the journal's events to a URL.
	Webhooks *Webhooks `yaml:"webhooks"`
	// Orgs are the Salesforce orgs the daemon connects to.
	Orgs []Org `yaml:"orgs"`

	// AuthToken is read from AuthTokenFile by Load.
	AuthToken Secret `yaml:"-"`
}

// Org is one Salesforce org and its JWT bearer credentials.
type Org struct {
	Alias    string `yaml:"alias"`
	ClientID string `yaml:"client_id"`
	Username string `yaml:"username"`
	// LoginURL is the token host: https://login.salesforce.com,
	// https://test.salesforce.com, a My Domain or an Experience Cloud site.
	LoginURL string `yaml:"login_url"`
	// Audience overrides the aud claim; empty means discover it.
	Audience string  `yaml:"audience"`
	Key      KeySpec `yaml:"key"`
	// Require names the doctor check groups (doctor.Groups) that must pass.
	Require []string `yaml:"require"`

	// The org's pipelines; each section present runs as one component.
	EventLogs *EventLogs `yaml:"eventlogs"`
	Cases     *Cases     `yaml:"cases"`
	Knowledge *Knowledge `yaml:"knowledge"`
	Employees *Employees `yaml:"employees"`
	Messaging *Messaging `yaml:"messaging"`
}

// KeySpec says where an org's signing key is and how to open it.
type KeySpec struct {
	// File is a PEM (plain or encrypted), DER, JKS or PKCS#12 file.
	File string `yaml:"file"`
	// Stored names a key sealed in the state store by `sfbridge keys
	// import --org ALIAS` instead of a file; the master key that opens it
	// comes from the environment, never from this file.
	Stored string `yaml:"stored"`
	// PassphraseFile holds the passphrase of an encrypted PEM, or the store
	// password of a JKS or PKCS#12 file.
	PassphraseFile string `yaml:"passphrase_file"`
	// KeystoreAlias picks the entry of a JKS or PKCS#12 store.
	KeystoreAlias string `yaml:"keystore_alias"`
	// KeyPasswordFile holds a JKS key password when it differs from the
	// store password.
	KeyPasswordFile string `yaml:"key_password_file"`
}

// Duration is a time.Duration written as "15m" in YAML.
type Duration struct {
	time.Duration
	set bool
}

// UnmarshalYAML parses a Go duration string. A bad value is reported as a
// *yaml.TypeError, so decoding goes on and every other problem is found in
// the same pass; checkKeys reports it with its path and line.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseDuration(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{err.Error()}}
	}
	d.Duration, d.set = v, true
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a duration like 30s, 15m or 1h", s)
	}
	return v, nil
}

// Percent is a share written as "5%" or "0.5%" in YAML; Fraction is 0.05
// or 0.005.
type Percent struct {
	Fraction float64
	set      bool
}

// UnmarshalYAML parses a percentage; a bad value is a *yaml.TypeError, like
// a bad duration.
func (p *Percent) UnmarshalYAML(n *yaml.Node) error {
	v, err := parsePercent(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{err.Error()}}
	}
	p.Fraction, p.set = v, true
	return nil
}

func parsePercent(s string) (float64, error) {
	num, ok := strings.CutSuffix(strings.TrimSpace(s), "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if !ok || err != nil || v <= 0 || v > 100 {
		return 0, fmt.Errorf("%q is not a share like 5%% or 0.5%% (more than 0%%, at most 100%%)", s)
	}
	return v / 100, nil
}

// DefaultChecksAPIBudget is the default share of an org's daily API
// allocation the daemon's checks may spend: 5%, which is 750 calls a day
// in a Developer Edition org (15,000) and several thousand in production
// orgs, enough for the default doctor interval and probes.
const DefaultChecksAPIBudget = 0.05

// MinDoctorInterval is the shortest doctor_interval accepted (0, meaning
// "only at start", aside). Each doctor run costs several API calls, which
// count against the org's daily allocation.
const MinDoctorInterval = time.Minute

// DefaultListen is the daemon's default address: loopback only.
const DefaultListen = "127.0.0.1:8421"

// Problem is one thing wrong with a configuration, at a path.
type Problem struct {
	Path    string
	Line    int
	Message string
}

func (p Problem) String() string {
	loc := p.Path
	if p.Line > 0 {
		loc = fmt.Sprintf("%s (line %d)", p.Path, p.Line)
	}
	if loc == "" {
		return p.Message
	}
	return loc + ": " + p.Message
}

// Error lists every problem found in a configuration file.
type Error struct {
	File     string
	Problems []Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "config %s has %d problem(s):", e.File, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - " + p.String())
	}
	return b.String()
}

// maxConfigFile bounds the configuration file.
const maxConfigFile = 16 << 20

// Load reads and validates the configuration file at path. Relative file
// paths inside it are taken relative to the file's directory.
func Load(path string) (*Config, error) {
	data, err := inputfile.Read(path, maxConfigFile)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := Parse(data, path)
	if err != nil {
		return nil, err
	}
	if cfg.AuthTokenFile != "" {
		tok, err := inputfile.Read(cfg.AuthTokenFile, 64<<10)
		if err != nil {
			return nil, &Error{File: path, Problems: []Problem{{Path: "auth_token_file", Message: fmt.Sprintf("cannot read: %v", err)}}}
		}
		cfg.AuthToken = Secret(strings.TrimSpace(string(tok)))
		if len(cfg.AuthToken) < 16 {
			return nil, &Error{File: path, Problems: []Problem{{Path: "auth_token_file", Message: "the token must be at least 16 characters"}}}
		}
	}
	return cfg, nil
}

// Parse decodes and validates configuration data; name is used in errors
// and, when it is a file path, to resolve relative paths. Every problem is
// reported at once: unknown keys, values of the wrong shape and semantic
// errors, each with its path and line.
func Parse(data []byte, name string) (*Config, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: name, Problems: []Problem{{Message: "the file is empty; it needs at least one org under `orgs:`"}}}
		}
		return nil, &Error{File: name, Problems: []Problem{{Message: "not valid YAML: " + err.Error()}}}
	}
	var problems []Problem
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		problems = append(problems, Problem{Message: "not valid YAML after the first document: " + err.Error()})
	default:
		problems = append(problems, Problem{Path: "(second document)", Line: extra.Line,
			Message: "the file holds more than one YAML document; sfbridge reads exactly one: remove the `---` line and merge them"})
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	lines := map[string]int{}
	checkKeys(doc, reflect.TypeFor[Config](), "", &problems, lines)
	shapePaths := make([]string, 0, len(problems))
	for _, p := range problems {
		shapePaths = append(shapePaths, p.Path)
	}
	// Decoding goes on past values of the wrong type (a *yaml.TypeError
	// lists them; checkKeys has already reported each with its path), so
	// the semantic checks run on everything that did decode. A semantic
	// problem under a path that is already wrongly shaped is not repeated.
	cfg := &Config{}
	if err := doc.Decode(cfg); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			problems = append(problems, Problem{Message: err.Error()})
		} else if len(shapePaths) == 0 {
			problems = append(problems, decodeProblems(err)...)
		}
	}
	for _, p := range cfg.validate() {
		if under(p.Path, shapePaths) {
			continue
		}
		if p.Line == 0 {
			p.Line = lineOf(p.Path, lines)
		}
		problems = append(problems, p)
	}
	if len(problems) > 0 {
		return nil, &Error{File: name, Problems: problems}
	}
	cfg.applyDefaults()
	if dir := dirOf(name); dir != "" {
		cfg.resolvePaths(dir)
	}
	return cfg, nil
}

// under reports whether path is one of paths or lies below one of them.
func under(path string, paths []string) bool {
	for _, p := range paths {
		if p == "" || p == "(top level)" || path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[") {
			return true
		}
	}
	return false
}

// lineOf finds the line of path, or of its nearest ancestor that is in the
// file (a required key that is missing has no line of its own).
func lineOf(path string, lines map[string]int) int {
	for path != "" {
		if l, ok := lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// checkKeys walks the YAML tree against the Go type and reports unknown
// keys, wrongly shaped values and bad durations with their paths; it records
// the line of every path it passes in lines.
func checkKeys(n *yaml.Node, t reflect.Type, path string, problems *[]Problem, lines map[string]int) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if path != "" {
		if _, ok := lines[path]; !ok {
			lines[path] = n.Line
		}
	}
	switch t.Kind() {
	case reflect.Struct:
		if t == reflect.TypeFor[Percent]() {
			if n.Kind != yaml.ScalarNode {
				*problems = append(*problems, Problem{Path: orRoot(path), Line: n.Line, Message: "expected a share like 5% or 0.5%"})
			} else if _, err := parsePercent(n.Value); err != nil {
				*problems = append(*problems, Problem{Path: orRoot(path), Line: n.Line, Message: err.Error()})
			}
			return
		}
		if t == reflect.TypeFor[Duration]() {
			if n.Kind != yaml.ScalarNode {
				*problems = append(*problems, Problem{Path: orRoot(path), Line: n.Line, Message: "expected a duration like 30s, 15m or 1h"})
			} else if _, err := parseDuration(n.Value); err != nil {
				*problems = append(*problems, Problem{Path: orRoot(path), Line: n.Line, Message: err.Error()})
			}
			return
		}
		if n.Kind != yaml.MappingNode {
			*problems = append(*problems, Problem{Path: orRoot(path), Line: n.Line, Message: "expected a mapping of keys to values"})
			return
		}
		fields := map[string]reflect.Type{}
		var names []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			fields[tag] = f.Type
			names = append(names, tag)
		}
		seen := map[string]bool{}
		var walk func(m *yaml.Node, merged bool)
		walk = func(m *yaml.Node, merged bool) {
			for i := 0; i+1 < len(m.Content); i += 2 {
				k, v := m.Content[i], m.Content[i+1]
				if k.Tag == "!!merge" || (k.Value == "<<" && k.Style == 0) {
					// A YAML merge key: its mapping (or list of mappings)
					// supplies keys that this mapping does not set itself.
					for v.Kind == yaml.AliasNode && v.Alias != nil {
						v = v.Alias
					}
					srcs := []*yaml.Node{v}
					if v.Kind == yaml.SequenceNode {
						srcs = v.Content
					}
					for _, src := range srcs {
						for src.Kind == yaml.AliasNode && src.Alias != nil {
							src = src.Alias
						}
						if src.Kind != yaml.MappingNode {
							*problems = append(*problems, Problem{Path: join(path, "<<"), Line: k.Line, Message: "a merge key needs a mapping (or a list of mappings)"})
							continue
						}
						walk(src, true)
					}
					continue
				}
				p := join(path, k.Value)
				ft, ok := fields[k.Value]
				switch {
				case !ok:
					*problems = append(*problems, Problem{Path: p, Line: k.Line, Message: "unknown key" + suggest(k.Value, names)})
				case seen[k.Value] && merged:
					// set by the mapping itself, which wins over a merge
				case seen[k.Value]:
					*problems = append(*problems, Problem{Path: p, Line: k.Line, Message: "key appears twice"})
				default:
					checkKeys(v, ft, p, problems, lines)
				}
				seen[k.Value] = true
			}
		}
		// Keys of the mapping itself first, so they take precedence over
		// merged ones whatever their order in the file.
		var own, merges []*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Tag == "!!merge" || (k.Value == "<<" && k.Style == 0) {
				merges = append(merges, k, n.Content[i+1])
			} else {
				own = append(own, k, n.Content[i+1])
			}
		}
		walk(&yaml.Node{Kind: yaml.MappingNode, Content: own}, false)
		walk(&yaml.Node{Kind: yaml.MappingNode, Content: merges}, true)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			*problems = append(*problems, Problem{Path: orRoot(path), Line: n.Line, Message: "expected a mapping of keys to values"})
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			checkKeys(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value), problems, lines)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			*problems = append(*problems, Problem{Path: orRoot(path), Line: n.Line, Message: "expected a list"})
			return
		}
		for i, item := range n.Content {
			checkKeys(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), problems, lines)
		}
	default:
		if n.Kind != yaml.ScalarNode {
			*problems = append(*problems, Problem{Path: orRoot(path), Line: n.Line, Message: "expected a single value"})
		}
	}
}

func decodeProblems(err error) []Problem {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		out := make([]Problem, 0, len(te.Errors))
		for _, e := range te.Errors {
			out = append(out, Problem{Message: e})
		}
		return out
	}
	return []Problem{{Message: err.Error()}}
}

func (c *Config) validate() []Problem {
	var ps []Problem
	add := func(path, format string, args ...any) {
		ps = append(ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	listen := c.Listen
	if listen == "" {
		listen = DefaultListen
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		add("listen", "%q is not host:port (for example 127.0.0.1:8421)", c.Listen)
	} else if !loopback.IsHost(host) && c.AuthTokenFile == "" {
		add("auth_token_file", "required when listen (%s) is not a loopback address: callers beyond this machine must present a bearer token", listen)
	}
	if c.State != "" {
		if _, err := state.ParseURL(c.State); err != nil {
			add("state", "%s", strings.TrimPrefix(err.Error(), "state: "))
		}
	}
	if d := c.DoctorInterval.Duration; d != 0 && d < MinDoctorInterval {
		add("doctor_interval", "%s is shorter than the minimum %s: each doctor run spends several of the org's daily API calls (0 runs the checks only at start)", d, MinDoctorInterval)
	}
	if len(c.Orgs) == 0 {
		add("orgs", "at least one org is required")
	}
	aliases := map[string]int{}
	for i, o := range c.Orgs {
		p := fmt.Sprintf("orgs[%d]", i)
		if o.Alias == "" {
			add(p+".alias", "required: a short name for the org, used in metrics and the status API")
		} else if j, dup := aliases[o.Alias]; dup {
			add(p+".alias", "%q is already used by orgs[%d]", o.Alias, j)
		} else {
			aliases[o.Alias] = i
		}
		if o.ClientID == "" {
			add(p+".client_id", "required: the consumer key of the connected app or External Client App")
		}
		if o.Username == "" {
			add(p+".username", "required: the integration user's Salesforce username")
		}
		if o.LoginURL != "" {
			if err := auth.CheckLoginURL(o.LoginURL); err != nil {
				var ce *auth.ConfigError
				reason := err.Error()
				if errors.As(err, &ce) {
					reason = ce.Reason
				}
				add(p+".login_url", "%s", reason)
			}
		}
		if o.Audience != "" {
			if u, err := url.Parse(o.Audience); err != nil || u.Scheme == "" || u.Host == "" {
				add(p+".audience", "%q is not a URL such as https://test.salesforce.com", o.Audience)
			}
		}
		switch {
		case o.Key.File == "" && o.Key.Stored == "":
			add(p+".key.file", "required: the private key (PEM, encrypted PEM, JKS or PKCS#12) whose certificate is uploaded to the app, or key.stored naming a key sealed with `sfbridge keys import`")
		case o.Key.File != "" && o.Key.Stored != "":
			add(p+".key.stored", "give either key.file or key.stored, not both")
		case o.Key.Stored != "" && (o.Key.PassphraseFile != "" || o.Key.KeystoreAlias != "" || o.Key.KeyPasswordFile != ""):
			add(p+".key.stored", "a stored key is already decrypted and sealed: drop passphrase_file, keystore_alias and key_password_file")
		}
		if o.Key.KeyPasswordFile != "" && o.Key.PassphraseFile == "" {
			add(p+".key.key_password_file", "needs key.passphrase_file (the store password) as well")
		}
		for j, r := range o.Require {
			if !slices.Contains(doctor.Groups(), r) {
				add(fmt.Sprintf("%s.require[%d]", p, j), "unknown check %q; known checks: %s", r, strings.Join(doctor.Groups(), ", "))
			}
		}
		o.validatePipelines(p, add)
	}
	c.validateTop(add)
	return ps
}

func (c *Config) applyDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if !c.DoctorInterval.set {
		c.DoctorInterval.Duration = 15 * time.Minute
	}
	if !c.ChecksAPIBudget.set {
		c.ChecksAPIBudget.Fraction = DefaultChecksAPIBudget
	}
	if !c.LeaseTTL.set {
		c.LeaseTTL.Duration = DefaultLeaseTTL
	}
	if !c.JournalRetention.set {
		c.JournalRetention.Duration = DefaultJournalRetention
	}
	for i := range c.Orgs {
		if c.Orgs[i].LoginURL == "" {
			c.Orgs[i].LoginURL = auth.ProductionURL
		}
		c.Orgs[i].applyPipelineDefaults()
	}
}

func (c *Config) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !strings.HasPrefix(*p, "/") {
			*p = dir + "/" + *p
		}
	}
	abs(&c.AuthTokenFile)
	abs(&c.StateDir)
	if p, ok := strings.CutPrefix(c.State, "sqlite:"); ok && p != "" && !strings.HasPrefix(p, "/") {
		c.State = "sqlite:" + dir + "/" + p
	}
	for i := range c.Orgs {
		k := &c.Orgs[i].Key
		abs(&k.File)
		abs(&k.PassphraseFile)
		abs(&k.KeyPasswordFile)
		c.Orgs[i].resolvePipelinePaths(abs)
	}
	if w := c.Webhooks; w != nil {
		abs(&w.SecretFile)
	}
}

func dirOf(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[:i]
	}
	if _, err := os.Stat(name); err == nil {
		return "."
	}
	return ""
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orRoot(path string) string {
	if path == "" {
		return "(top level)"
	}
	return path
}

// suggest names the closest known key for a misspelt one.
func suggest(got string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := distance(strings.ToLower(got), k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return "; known keys: " + strings.Join(known, ", ")
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// distance is the Levenshtein edit distance.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
