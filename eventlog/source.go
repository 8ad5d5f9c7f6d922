package eventlog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sfbridge/sfbridge/rest"
)

// Intervals of event log files, as a collector asks for them.
const (
	IntervalAuto   = "auto"   // hourly where the org has hourly files, else daily
	IntervalHourly = "hourly" // Interval = 'Hourly'
	IntervalDaily  = "daily"  // Sequence = 0: portable, also on orgs without hourly files
)

// FileInfo is an EventLogFile record as the collector lists it.
type FileInfo struct {
	ID          string    `json:"id"`
	EventType   string    `json:"event_type"`
	LogDate     time.Time `json:"log_date"`
	Interval    string    `json:"interval"`
	Sequence    int       `json:"sequence"`
	Length      int64     `json:"length"`
	CreatedDate time.Time `json:"created_date"`
	FieldNames  string    `json:"-"`
	FieldTypes  string    `json:"-"`
	// URL is the LogFile blob's path, relative to the instance.
	URL string `json:"-"`
}

// File returns what a Reader needs to know about the file.
func (f FileInfo) File(instanceURL string) File {
	return File{ID: f.ID, EventType: f.EventType, LogDate: f.LogDate, Interval: f.Interval, Sequence: f.Sequence,
		FieldNames: f.FieldNames, FieldTypes: f.FieldTypes, InstanceURL: instanceURL}
}

// FileQuery selects event log files.
type FileQuery struct {
	// Types are event types (Login, API, ...); empty means every type.
	Types []string
	// Interval is IntervalHourly or IntervalDaily; IntervalAuto or empty
	// means whichever the org has (see DetectInterval).
	Interval string
	// Since keeps files created at or after it; zero keeps every file.
	Since time.Time
	// After, when AfterID is set, keeps files after the cursor
	// (CreatedDate, Id) only: CreatedDate > After, or CreatedDate = After
	// and Id > AfterID. It replaces Since.
	After   time.Time
	AfterID string
}

// soqlTime writes a dateTime literal with milliseconds, so that a cursor
// taken from a record compares equal to the record's own value.
func soqlTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// cursorPredicate is the compound cursor of reference §0:
// field > c OR (field = c AND Id > id).
func cursorPredicate(field string, c time.Time, id string) string {
	ts := soqlTime(c)
	return fmt.Sprintf("(%s > %s OR (%s = %s AND Id > %s))", field, ts, field, ts, rest.Quote(id))
}

// fileSOQL builds the listing query; interval must be resolved.
func fileSOQL(q FileQuery, interval string) string {
	fields := "Id, EventType, LogDate, Sequence, LogFileLength, LogFileFieldNames, LogFileFieldTypes, CreatedDate, LogFile"
	var where []string
	if interval == IntervalHourly {
		fields += ", Interval"
		where = append(where, "Interval = 'Hourly'")
	} else {
		where = append(where, "Sequence = 0")
	}
	switch len(q.Types) {
	case 0:
	case 1:
		where = append(where, "EventType = "+rest.Quote(q.Types[0]))
	default:
		quoted := make([]string, len(q.Types))
		for i, t := range q.Types {
			quoted[i] = rest.Quote(t)
		}
		where = append(where, "EventType IN ("+strings.Join(quoted, ", ")+")")
	}
	switch {
	case q.AfterID != "":
		where = append(where, cursorPredicate("CreatedDate", q.After, q.AfterID))
	case !q.Since.IsZero():
		where = append(where, "CreatedDate >= "+soqlTime(q.Since))
	}
	return "SELECT " + fields + " FROM EventLogFile WHERE " + strings.Join(where, " AND ") + " ORDER BY CreatedDate, Id"
}

// IntervalError says an interval cannot be used on this org.
type IntervalError struct{ Problem string }

func (e *IntervalError) Error() string { return "eventlog: " + e.Problem }

// DetectInterval returns IntervalHourly when the org has hourly event log
// files and IntervalDaily when a query naming Interval fails with
// INVALID_FIELD (the org has daily files only).
func DetectInterval(ctx context.Context, c *rest.Client) (string, error) {
	_, err := c.Query.Page(ctx, "SELECT Id FROM EventLogFile WHERE Interval = 'Hourly' LIMIT 1", nil)
	if err == nil {
		return IntervalHourly, nil
	}
	if isInvalidField(err) {
		return IntervalDaily, nil
	}
	return "", fmt.Errorf("eventlog: checking whether the org has hourly event log files: %w", err)
}

func isInvalidField(err error) bool {
	var ae *rest.APIError
	return errors.As(err, &ae) && ae.HasCode("INVALID_FIELD")
}

// resolveInterval turns the requested interval into hourly or daily.
func resolveInterval(ctx context.Context, c *rest.Client, want string) (string, error) {
	switch strings.ToLower(want) {
	case "", IntervalAuto:
		return DetectInterval(ctx, c)
	case IntervalHourly, IntervalDaily:
		return strings.ToLower(want), nil
	}
	return "", &IntervalError{Problem: fmt.Sprintf("interval %q is not auto, hourly or daily", want)}
}

// ListFiles returns the event log files q selects, oldest CreatedDate
// first (ties by Id). An explicit hourly interval on an org without hourly
// files is an *IntervalError.
func ListFiles(ctx context.Context, c *rest.Client, q FileQuery) ([]FileInfo, error) {
	interval, err := resolveInterval(ctx, c, q.Interval)
	if err != nil {
		return nil, err
	}
	var out []FileInfo
	for rec, err := range c.Query.Records(ctx, fileSOQL(q, interval), nil) {
		if err != nil {
			if interval == IntervalHourly && isInvalidField(err) {
				return nil, &IntervalError{Problem: "the org has no hourly event log files (EventLogFile has no Interval field): use the daily interval"}
			}
			return nil, fmt.Errorf("eventlog: listing event log files: %w", err)
		}
		f, err := fileInfo(rec)
		if err != nil {
			return nil, err
		}
		if f.Interval == "" {
			f.Interval = "Daily"
		}
		out = append(out, f)
	}
	return out, nil
}

// FileFromRecord reads an EventLogFile record (Id, EventType, LogDate,
// Interval, Sequence, LogFileLength, LogFileFieldNames, LogFileFieldTypes,
// CreatedDate, LogFile) as a FileInfo.
func FileFromRecord(rec rest.Record) (FileInfo, error) {
	f, err := fileInfo(rec)
	if err == nil && f.Interval == "" {
		f.Interval = "Daily"
		if f.Sequence > 0 {
			f.Interval = "Hourly"
		}
	}
	return f, err
}

func fileInfo(rec rest.Record) (FileInfo, error) {
	f := FileInfo{ID: rec.ID()}
	str := func(k string) string { s, _ := rec[k].(string); return s }
	f.EventType, f.Interval, f.FieldNames, f.FieldTypes, f.URL = str("EventType"), str("Interval"), str("LogFileFieldNames"), str("LogFileFieldTypes"), str("LogFile")
	var err error
	if f.CreatedDate, err = rest.ParseDateTime(str("CreatedDate")); err != nil {
		return f, fmt.Errorf("eventlog: EventLogFile %s: CreatedDate: %w", f.ID, err)
	}
	if s := str("LogDate"); s != "" {
		if f.LogDate, err = rest.ParseDateTime(s); err != nil {
			return f, fmt.Errorf("eventlog: EventLogFile %s: LogDate: %w", f.ID, err)
		}
	}
	f.Sequence = int(number(rec["Sequence"]))
	f.Length = int64(number(rec["LogFileLength"]))
	if f.URL == "" {
		f.URL = "sobjects/EventLogFile/" + f.ID + "/LogFile"
	}
	if f.ID == "" || f.EventType == "" {
		return f, fmt.Errorf("eventlog: an EventLogFile record without Id or EventType: the listing query must select both")
	}
	return f, nil
}

func number(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case interface{ String() string }:
		f, _ := strconv.ParseFloat(n.String(), 64)
		return f
	case string:
		f, _ := strconv.ParseFloat(n, 64)
		return f
	}
	return 0
}

// TypeInfo is an event type the org has files of.
type TypeInfo struct {
	EventType string   `json:"event_type"`
	Intervals []string `json:"intervals"`
	Files     int      `json:"files"`
	Oldest    string   `json:"oldest_log_date,omitempty"`
	Newest    string   `json:"newest_log_date,omitempty"`
	// Retention is how long Salesforce keeps the type's files, inferred
	// (the API does not say).
	Retention Retention `json:"retention"`
}

// Retention is how long Salesforce keeps an event type's files after their
// CreatedDate. Salesforce's API does not report it: it is inferred from
// what the org's files show, with the figures of Salesforce's
// documentation, and Inferred is always true.
type Retention struct {
	Days     int  `json:"days"`
	Inferred bool `json:"inferred"`
	// Basis says what the figure was inferred from.
	Basis string `json:"basis"`
}

// FreeEventTypes are the event types every org has without an Event
// Monitoring licence, with 1 day of retention (Salesforce's CSP Violation
// page: "free for all customers with a 24-hour data retention period";
// Google SecOps's Salesforce documentation lists the seven).
var FreeEventTypes = []string{"Login", "Logout", "ApiTotalUsage", "CorsViolation", "CspViolation", "HostnameRedirects", "ApexUnexpectedException"}

// Documented retentions of event log files, in days after CreatedDate.
const (
	RetentionLicensedDays = 30 // with Event Monitoring (Shield or the add-on), hourly and daily files alike
	RetentionFreeDays     = 1  // the free types without the licence, and Developer Edition orgs
)

// inferRetention fills in the retention of every type. An org shows its
// Event Monitoring licence by hourly files (which need it) or by a type
// outside the free seven; then every type is kept 30 days. Otherwise the
// free types are kept 1 day. A Developer Edition org keeps files 1 day even
// with the licence, which the files do not show: the newest and oldest log
// dates are the check.
func inferRetention(types []TypeInfo) {
	licensed, why := false, ""
	for _, t := range types {
		if slices.Contains(t.Intervals, "Hourly") {
			licensed, why = true, t.EventType+" has hourly files, which need Event Monitoring"
			break
		}
		if !slices.Contains(FreeEventTypes, t.EventType) {
			licensed, why = true, t.EventType+" is not one of the free types, so the org has Event Monitoring"
		}
	}
	for i := range types {
		r := Retention{Days: RetentionFreeDays, Inferred: true,
			Basis: "only free event types and daily files: no sign of Event Monitoring; Salesforce keeps the free types 1 day"}
		if licensed {
			r = Retention{Days: RetentionLicensedDays, Inferred: true,
				Basis: why + "; Salesforce keeps files 30 days with Event Monitoring (1 day in Developer Edition orgs)"}
		}
		types[i].Retention = r
	}
}

// Types lists the event types the org has files of, with their intervals,
// the range of log dates (which shows the retention in effect) and the
// retention Salesforce documents for them, inferred (see Retention).
func Types(ctx context.Context, c *rest.Client) ([]TypeInfo, error) {
	hourly := true
	soql := "SELECT EventType, Interval, LogDate FROM EventLogFile ORDER BY EventType"
	seq := false
	var out []TypeInfo
	for attempt := 0; attempt < 2; attempt++ {
		out = out[:0]
		byType := map[string]int{}
		failed := false
		for rec, err := range c.Query.Records(ctx, soql, nil) {
			if err != nil {
				if hourly && isInvalidField(err) {
					hourly, seq, failed = false, true, true
					soql = "SELECT EventType, Sequence, LogDate FROM EventLogFile ORDER BY EventType"
					break
				}
				return nil, fmt.Errorf("eventlog: listing event types: %w", err)
			}
			typ, _ := rec["EventType"].(string)
			i, ok := byType[typ]
			if !ok {
				out = append(out, TypeInfo{EventType: typ})
				i = len(out) - 1
				byType[typ] = i
			}
			ti := &out[i]
			iv, _ := rec["Interval"].(string)
			if seq || iv == "" {
				iv = "Daily"
			}
			if !slices.Contains(ti.Intervals, iv) {
				ti.Intervals = append(ti.Intervals, iv)
				slices.Sort(ti.Intervals)
			}
			ti.Files++
			if ld, _ := rec["LogDate"].(string); ld != "" {
				if t, err := rest.ParseDateTime(ld); err == nil {
					d := t.UTC().Format(time.DateOnly)
					if ti.Oldest == "" || d < ti.Oldest {
						ti.Oldest = d
					}
					if d > ti.Newest {
						ti.Newest = d
					}
				}
			}
		}
		if !failed {
			break
		}
	}
	slices.SortFunc(out, func(a, b TypeInfo) int { return strings.Compare(a.EventType, b.EventType) })
	inferRetention(out)
	return out, nil
}
