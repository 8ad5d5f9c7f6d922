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
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/doctor"
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

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("%q is not a duration like 30s, 15m or 1h", n.Value)
	}
	d.Duration, d.set = v, true
	return nil
}

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

// Load reads and validates the configuration file at path. Relative file
// paths inside it are taken relative to the file's directory.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := Parse(data, path)
	if err != nil {
		return nil, err
	}
	if cfg.AuthTokenFile != "" {
		tok, err := os.ReadFile(cfg.AuthTokenFile)
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
// and, when it is a file path, to resolve relative paths.
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
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	checkKeys(doc, reflect.TypeFor[Config](), "", &problems)
	shapeOK := len(problems) == 0
	// Unknown keys do not stop decoding (they are ignored there), so the
	// semantic problems are reported in the same pass; values of the wrong
	// shape do.
	cfg := &Config{}
	if err := doc.Decode(cfg); err != nil {
		if shapeOK {
			problems = append(problems, decodeProblems(err)...)
		}
	} else {
		problems = append(problems, cfg.validate()...)
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

// checkKeys walks the YAML tree against the Go type and reports unknown
// keys and wrongly shaped values with their paths.
func checkKeys(n *yaml.Node, t reflect.Type, path string, problems *[]Problem) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if t == reflect.TypeFor[Duration]() {
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
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			ft, ok := fields[k.Value]
			switch {
			case !ok:
				*problems = append(*problems, Problem{Path: p, Line: k.Line, Message: "unknown key" + suggest(k.Value, names)})
			case seen[k.Value]:
				*problems = append(*problems, Problem{Path: p, Line: k.Line, Message: "key appears twice"})
			default:
				checkKeys(v, ft, p, problems)
			}
			seen[k.Value] = true
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			*problems = append(*problems, Problem{Path: orRoot(path), Line: n.Line, Message: "expected a list"})
			return
		}
		for i, item := range n.Content {
			checkKeys(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), problems)
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
	} else if !IsLoopback(host) && c.AuthTokenFile == "" {
		add("auth_token_file", "required when listen (%s) is not a loopback address: callers beyond this machine must present a bearer token", listen)
	}
	if c.State != "" {
		if _, err := state.ParseURL(c.State); err != nil {
			add("state", "%s", strings.TrimPrefix(err.Error(), "state: "))
		}
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
			if u, err := url.Parse(o.LoginURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				add(p+".login_url", "%q is not an http(s) URL such as https://login.salesforce.com", o.LoginURL)
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
	}
	return ps
}

func (c *Config) applyDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if !c.DoctorInterval.set {
		c.DoctorInterval.Duration = 15 * time.Minute
	}
	for i := range c.Orgs {
		if c.Orgs[i].LoginURL == "" {
			c.Orgs[i].LoginURL = auth.ProductionURL
		}
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
	}
}

// IsLoopback reports whether host names this machine only.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
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
