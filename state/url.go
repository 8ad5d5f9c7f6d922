package state

import (
	"net/url"
	"strings"
	"time"
)

// Location is a parsed state URL.
type Location struct {
	// Engine is "sqlite" or "postgres".
	Engine string
	// Path is the SQLite database file.
	Path string
	// Synchronous is SQLite's synchronous pragma: "normal" (default:
	// durable across a process crash, may lose the last commits on power
	// loss) or "full" (fsync on every commit).
	Synchronous string
	// BusyTimeout is how long SQLite waits for another process's write
	// lock (default 5 s).
	BusyTimeout time.Duration
	// DSN is the PostgreSQL connection string, as given.
	DSN string
}

// DefaultBusyTimeout is SQLite's default wait for a write lock.
const DefaultBusyTimeout = 5 * time.Second

// ParseURL parses a state URL:
//
//	sqlite:PATH[?synchronous=normal|full&busy_timeout=DURATION]
//	postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?PARAMS]   (or postgresql://)
//
// PostgreSQL parameters are pgx's: pool_max_conns, search_path (any
// runtime parameter), sslmode and the rest.
func ParseURL(raw string) (Location, error) {
	switch {
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		u, err := url.Parse(raw)
		if err != nil {
			return Location{}, &URLError{URL: raw, Reason: "not a valid URL"}
		}
		if u.Host == "" {
			return Location{}, &URLError{URL: raw, Reason: "no host"}
		}
		return Location{Engine: "postgres", DSN: raw}, nil
	case strings.HasPrefix(raw, "sqlite:"):
		return parseSQLite(raw)
	case raw == "":
		return Location{}, &URLError{URL: raw, Reason: "empty"}
	default:
		return Location{}, &URLError{URL: raw, Reason: "unknown engine"}
	}
}

func parseSQLite(raw string) (Location, error) {
	rest := strings.TrimPrefix(raw, "sqlite:")
	path, query, _ := strings.Cut(rest, "?")
	if strings.HasPrefix(path, "//") {
		return Location{}, &URLError{URL: raw, Reason: "write sqlite:PATH (sqlite:/abs/file.db or sqlite:rel/file.db), not sqlite://"}
	}
	if path == "" {
		return Location{}, &URLError{URL: raw, Reason: "no file path after sqlite:"}
	}
	if strings.ContainsRune(path, 0) {
		return Location{}, &URLError{URL: raw, Reason: "the path contains a NUL byte"}
	}
	loc := Location{Engine: "sqlite", Path: path, Synchronous: "normal", BusyTimeout: DefaultBusyTimeout}
	values, err := url.ParseQuery(query)
	if err != nil {
		return Location{}, &URLError{URL: raw, Reason: "the parameters after ? are not valid: " + err.Error()}
	}
	for name, vs := range values {
		v := vs[len(vs)-1]
		switch name {
		case "synchronous":
			if v != "normal" && v != "full" {
				return Location{}, &URLError{URL: raw, Reason: "synchronous must be normal or full"}
			}
			loc.Synchronous = v
		case "busy_timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 || d > time.Hour {
				return Location{}, &URLError{URL: raw, Reason: "busy_timeout must be a duration between 0 and 1h, such as 5s"}
			}
			loc.BusyTimeout = d
		default:
			return Location{}, &URLError{URL: raw, Reason: "unknown parameter " + name + " (known: synchronous, busy_timeout)"}
		}
	}
	return loc, nil
}

// redactURL hides a password in a PostgreSQL URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		if strings.Contains(raw, "@") && !strings.HasPrefix(raw, "sqlite:") {
			return "(unparsable URL with credentials)"
		}
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Redacted returns raw with any password replaced, for messages and logs.
func Redacted(raw string) string { return redactURL(raw) }
