package emulator

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sfbridge/sfbridge/emulator/eventlog"
	"github.com/sfbridge/sfbridge/emulator/internal/httpjson"
	"github.com/sfbridge/sfbridge/emulator/sfid"
)

// EventLogFileInfo is an event log file as the admin API lists it.
type EventLogFileInfo struct {
	ID            string    `json:"id"`
	EventType     string    `json:"event_type"`
	Interval      string    `json:"interval"`
	Sequence      int       `json:"sequence"`
	LogDate       time.Time `json:"log_date"`
	CreatedDate   time.Time `json:"created_date"`
	Length        int64     `json:"length"`
	Rows          int       `json:"rows"`
	TruncateBytes int64     `json:"truncate_bytes,omitempty"`
	YoungFor      string    `json:"young_for,omitempty"`
	Pending       bool      `json:"pending,omitempty"`
}

// EventLogFileSpec adds one file (POST /_emulator/event-log-files).
type EventLogFileSpec struct {
	EventType string `json:"event_type"`
	// Interval is Hourly (default) or Daily.
	Interval string `json:"interval,omitempty"`
	// LogDate is the hour (Hourly) or day (Daily) the events belong to
	// (RFC 3339; default the previous hour or day).
	LogDate string `json:"log_date,omitempty"`
	// CreatedDate is when the file appears (RFC 3339; default now). A
	// future CreatedDate makes the file appear when the clock gets there.
	CreatedDate string `json:"created_date,omitempty"`
	// Sequence defaults to 0 for daily files and to the next free one for
	// hourly files.
	Sequence *int `json:"sequence,omitempty"`
	// Rows per hour of the file, or FileBytes: about that many bytes.
	Rows      int   `json:"rows,omitempty"`
	FileBytes int64 `json:"file_bytes,omitempty"`
}

// GenerateSpec generates activity for a time range
// (POST /_emulator/event-log-files/generate): for every hour of [From, To)
// and every type, the hourly files (and the daily files of whole days),
// created when the schedule says; files whose CreatedDate is still ahead
// appear when the clock gets there.
type GenerateSpec struct {
	From      string   `json:"from"`
	To        string   `json:"to"`
	Types     []string `json:"types,omitempty"`
	Intervals []string `json:"intervals,omitempty"` // Hourly, Daily (default both, or Daily only without hourly files)
	Rows      int      `json:"rows_per_hour,omitempty"`
	FileBytes int64    `json:"file_bytes,omitempty"` // about this many bytes per hourly file, instead of rows_per_hour
}

// EventLogFilePatch changes a file (PATCH /_emulator/event-log-files/{id}).
type EventLogFilePatch struct {
	// CreatedDate moves the file's CreatedDate (RFC 3339); CreatedLike
	// copies another file's, so that the two share one second.
	CreatedDate string `json:"created_date,omitempty"`
	CreatedLike string `json:"created_like,omitempty"`
	// TruncateBytes with YoungFor: until the file is YoungFor old (a Go
	// duration) its blob holds only its first TruncateBytes bytes.
	TruncateBytes int64  `json:"truncate_bytes,omitempty"`
	YoungFor      string `json:"young_for,omitempty"`
}

// LateFileSpec adds a late file for the hour of an existing hourly file
// (POST /_emulator/event-log-files/{id}/late): the next Sequence, new
// events only, created now or at CreatedDate.
type LateFileSpec struct {
	Rows        int    `json:"rows,omitempty"`
	CreatedDate string `json:"created_date,omitempty"`
}

func (o *Org) elfAdminRoutes(m *http.ServeMux, p string) {
	base := p + "/event-log-files"
	m.HandleFunc("GET "+p+"/event-monitoring", func(w http.ResponseWriter, _ *http.Request) {
		httpjson.Write(w, http.StatusOK, o.EventMonitoring())
	})
	m.HandleFunc("PATCH "+p+"/event-monitoring", adminPut(o.SetEventMonitoring))
	m.HandleFunc("GET "+base, func(w http.ResponseWriter, _ *http.Request) { httpjson.Write(w, http.StatusOK, o.EventLogFiles()) })
	m.HandleFunc("POST "+base, adminCreate(o.AddEventLogFile))
	m.HandleFunc("POST "+base+"/generate", adminCreate(o.GenerateEventLogFiles))
	m.HandleFunc("GET "+base+"/faults", func(w http.ResponseWriter, _ *http.Request) {
		o.elf.mu.Lock()
		defer o.elf.mu.Unlock()
		httpjson.Write(w, http.StatusOK, o.elf.faults.list())
	})
	m.HandleFunc("POST "+base+"/faults", adminCreate(o.AddBlobFault))
	m.HandleFunc("DELETE "+base+"/faults", func(w http.ResponseWriter, _ *http.Request) {
		o.elf.mu.Lock()
		o.elf.faults.rules = nil
		o.elf.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("PATCH "+base+"/{id}", func(w http.ResponseWriter, r *http.Request) {
		var patch EventLogFilePatch
		if err := decodeStrict(r.Body, &patch); err != nil {
			writeAdminError(w, http.StatusBadRequest, "bad JSON body: %v", err)
			return
		}
		info, err := o.PatchEventLogFile(r.PathValue("id"), patch)
		if err != nil {
			writeAdminError(w, http.StatusBadRequest, "%v", err)
			return
		}
		httpjson.Write(w, http.StatusOK, info)
	})
	m.HandleFunc("POST "+base+"/{id}/late", func(w http.ResponseWriter, r *http.Request) {
		var spec LateFileSpec
		if err := decodeStrict(r.Body, &spec); err != nil {
			writeAdminError(w, http.StatusBadRequest, "bad JSON body: %v", err)
			return
		}
		info, err := o.AddLateEventLogFile(r.PathValue("id"), spec)
		if err != nil {
			writeAdminError(w, http.StatusBadRequest, "%v", err)
			return
		}
		httpjson.Write(w, http.StatusCreated, info)
	})
	m.HandleFunc("DELETE "+base+"/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !o.ExpireEventLogFile(r.PathValue("id")) {
			writeAdminError(w, http.StatusNotFound, "no event log file %q", r.PathValue("id"))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// adminCreate adapts a method that creates something to an admin endpoint
// answering 201 with what it created.
func adminCreate[T, R any](create func(T) (R, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var spec T
		if err := decodeStrict(r.Body, &spec); err != nil {
			writeAdminError(w, http.StatusBadRequest, "bad JSON body: %v", err)
			return
		}
		out, err := create(spec)
		if err != nil {
			writeAdminError(w, http.StatusBadRequest, "%v", err)
			return
		}
		httpjson.Write(w, http.StatusCreated, out)
	}
}

// EventMonitoring returns the org's Event Monitoring settings.
func (o *Org) EventMonitoring() EventMonitoringSpec {
	o.elf.mu.Lock()
	defer o.elf.mu.Unlock()
	s := o.elf.settings
	delay := "off"
	if s.prompt > 0 {
		delay = s.prompt.String()
	}
	return EventMonitoringSpec{Licensed: &s.licensed, Hourly: &s.hourly, RetentionDays: int(s.retention / (24 * time.Hour)),
		RowsPerHour: s.rowsPerHour, Types: s.types, LateEvery: s.lateEvery, SchemaChange: s.drift.Format("2006-01-02"), HourlyDelay: delay}
}

// SetEventMonitoring changes the settings given in s; the others stay.
// Turning background activity on starts it at the current hour (minus
// SampleDays).
func (o *Org) SetEventMonitoring(s EventMonitoringSpec) error {
	now := o.Now()
	o.elf.mu.Lock()
	prev := o.elf.settings
	next, err := o.resolveELF(s, now, &prev)
	if err == nil {
		o.elf.settings = next
		o.elf.nextDue, o.elf.nextPurge = time.Time{}, time.Time{} // look again
		if next.start.Before(prev.start) || prev.start.IsZero() {
			o.elf.watermark = minTime(o.elf.watermark, next.start)
		}
	}
	o.elf.mu.Unlock()
	if err != nil {
		return err
	}
	o.applyELFSchema()
	o.syncELF()
	return nil
}

// EventLogFiles lists the files, made and pending, by CreatedDate.
func (o *Org) EventLogFiles() []EventLogFileInfo {
	o.syncELF()
	o.elf.mu.Lock()
	defer o.elf.mu.Unlock()
	var out []EventLogFileInfo
	for _, f := range o.elf.files {
		out = append(out, f.info())
	}
	for _, f := range o.elf.pending {
		out = append(out, f.info())
	}
	slices.SortFunc(out, func(a, b EventLogFileInfo) int {
		if c := a.CreatedDate.Compare(b.CreatedDate); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

func (f *elfFile) info() EventLogFileInfo {
	rows := 0
	for _, p := range f.file.Parts {
		rows += p.Rows + len(p.Events)
	}
	i := EventLogFileInfo{ID: string(f.id), EventType: f.file.EventType, Interval: f.interval, Sequence: f.seq,
		LogDate: f.logDate, CreatedDate: f.created, Length: f.length, Rows: rows, TruncateBytes: f.truncate, Pending: !f.inStore}
	if f.youngFor > 0 {
		i.YoungFor = f.youngFor.String()
	}
	return i
}

func parseAdminTime(name, s string, def time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q is not an RFC 3339 time such as 2026-12-01T10:00:00Z", name, s)
	}
	return t.UTC(), nil
}

// rowsFor turns a byte size into a row count for a type.
func (e *elfState) rowsFor(typ string, version int, bytes int64, users []eventlog.User) int {
	const sample = 1000
	f := eventlog.File{EventType: typ, Version: version, Users: users, OrgID: "00D000000000000", Seed: e.seed,
		Parts: []eventlog.Part{{Hour: time.Unix(0, 0).UTC(), Seq: 1, Rows: sample}}}
	n, err := e.cat.PartSize(&f, 0)
	if err != nil || n == 0 {
		return 1
	}
	return max(int(bytes*sample/n), 1)
}

// AddEventLogFile adds one file with given rows, dates and Sequence.
func (o *Org) AddEventLogFile(s EventLogFileSpec) (EventLogFileInfo, error) {
	typ, ok := o.elf.cat.Canonical(s.EventType)
	if !ok {
		return EventLogFileInfo{}, fmt.Errorf("unknown event_type %q (known: %s)", s.EventType, strings.Join(o.elf.cat.Names(), ", "))
	}
	now := o.Now().UTC()
	interval := eventlog.Hourly
	switch strings.ToLower(s.Interval) {
	case "", "hourly":
	case "daily":
		interval = eventlog.Daily
	default:
		return EventLogFileInfo{}, fmt.Errorf("interval %q is neither Hourly nor Daily", s.Interval)
	}
	unit := time.Hour
	if interval == eventlog.Daily {
		unit = 24 * time.Hour
	}
	logDate, err := parseAdminTime("log_date", s.LogDate, now.Truncate(unit).Add(-unit))
	if err != nil {
		return EventLogFileInfo{}, err
	}
	logDate = logDate.Truncate(unit)
	created, err := parseAdminTime("created_date", s.CreatedDate, now)
	if err != nil {
		return EventLogFileInfo{}, err
	}
	if s.Rows < 0 || s.FileBytes < 0 {
		return EventLogFileInfo{}, fmt.Errorf("rows and file_bytes must not be negative")
	}
	users := o.elfUsers()
	org := string(o.OrgID())
	o.elf.mu.Lock()
	e := &o.elf
	if interval == eventlog.Hourly && !e.settings.hourly {
		e.mu.Unlock()
		return EventLogFileInfo{}, fmt.Errorf("hourly event log files are off for this org (PATCH /_emulator/event-monitoring {\"hourly\":true})")
	}
	version := e.version(typ, logDate.Truncate(24*time.Hour))
	rows := s.Rows
	if s.FileBytes > 0 {
		rows = e.rowsFor(typ, version, s.FileBytes, users)
		if interval == eventlog.Daily {
			rows = max(rows/24, 1)
		}
	}
	if rows == 0 {
		rows = 100
	}
	seq := 0
	if interval == eventlog.Hourly {
		seq = e.nextSeq(typ, logDate)
	}
	if s.Sequence != nil {
		seq = *s.Sequence
	}
	var parts []eventlog.Part
	if interval == eventlog.Hourly {
		parts = []eventlog.Part{{Hour: logDate, Seq: seq + 1000, Rows: rows}}
	} else {
		for h := 0; h < 24; h++ {
			parts = append(parts, eventlog.Part{Hour: logDate.Add(time.Duration(h) * time.Hour), Seq: 1001, Rows: rows})
		}
	}
	f := e.newFile(typ, interval, seq, logDate, created, org, users, parts)
	f.id = o.ids.New("0AT")
	e.pending = append(e.pending, f)
	e.mu.Unlock()
	o.syncELF()
	return o.fileInfo(f), nil
}

func minTime(a, b time.Time) time.Time {
	if !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

func (o *Org) fileInfo(f *elfFile) EventLogFileInfo {
	o.elf.mu.Lock()
	defer o.elf.mu.Unlock()
	return f.info()
}

// nextSeq is the next free hourly Sequence of a type's hour.
func (e *elfState) nextSeq(typ string, hour time.Time) int {
	seq := 1
	consider := func(f *elfFile) {
		if f.interval == eventlog.Hourly && f.file.EventType == typ && f.logDate.Equal(hour) && f.seq >= seq {
			seq = f.seq + 1
		}
	}
	for _, f := range e.files {
		consider(f)
	}
	for _, f := range e.pending {
		consider(f)
	}
	// The schedule's own files of the hour, made or still to come.
	if e.settings.rowsPerHour > 0 && !e.settings.start.IsZero() && !hour.Before(e.settings.start) {
		seq = max(seq, 2)
		if _, ok := e.schedule().Late(typ, hour); ok {
			seq = max(seq, 3)
		}
	}
	return seq
}

// AddLateEventLogFile adds a late file for the hour of file id.
func (o *Org) AddLateEventLogFile(id string, s LateFileSpec) (EventLogFileInfo, error) {
	sid, err := sfid.Parse(id)
	if err != nil {
		return EventLogFileInfo{}, err
	}
	o.elf.mu.Lock()
	f, ok := o.elf.files[sid]
	o.elf.mu.Unlock()
	if !ok || f.interval != eventlog.Hourly {
		return EventLogFileInfo{}, fmt.Errorf("no hourly event log file %q", id)
	}
	rows := s.Rows
	if rows == 0 {
		rows = 10
	}
	return o.AddEventLogFile(EventLogFileSpec{EventType: f.file.EventType, Interval: eventlog.Hourly,
		LogDate: f.logDate.Format(time.RFC3339), CreatedDate: s.CreatedDate, Rows: rows})
}

// PatchEventLogFile moves a file's CreatedDate or makes it a young,
// truncated blob.
func (o *Org) PatchEventLogFile(id string, p EventLogFilePatch) (EventLogFileInfo, error) {
	sid, err := sfid.Parse(id)
	if err != nil {
		return EventLogFileInfo{}, err
	}
	o.elf.mu.Lock()
	defer o.elf.mu.Unlock()
	f, ok := o.elf.files[sid]
	if !ok {
		return EventLogFileInfo{}, fmt.Errorf("no event log file %q", id)
	}
	created := f.created
	if p.CreatedLike != "" {
		other, err := sfid.Parse(p.CreatedLike)
		g, ok := o.elf.files[other]
		if err != nil || !ok {
			return EventLogFileInfo{}, fmt.Errorf("created_like: no event log file %q", p.CreatedLike)
		}
		created = g.created
	}
	if created, err = parseAdminTime("created_date", p.CreatedDate, created); err != nil {
		return EventLogFileInfo{}, err
	}
	if p.TruncateBytes < 0 {
		return EventLogFileInfo{}, fmt.Errorf("truncate_bytes must not be negative")
	}
	if p.TruncateBytes > 0 {
		young := 5 * time.Minute
		if p.YoungFor != "" {
			if young, err = time.ParseDuration(p.YoungFor); err != nil || young <= 0 {
				return EventLogFileInfo{}, fmt.Errorf("young_for %q is not a positive Go duration such as 5m", p.YoungFor)
			}
		}
		f.truncate, f.youngFor = p.TruncateBytes, young
	}
	if !created.Equal(f.created) {
		f.created = created.Truncate(time.Second)
		if err := o.storeELFFile(f); err != nil {
			return EventLogFileInfo{}, err
		}
	}
	return f.info(), nil
}

// ExpireEventLogFile deletes a file as retention would: its record goes
// and its blob answers 404.
func (o *Org) ExpireEventLogFile(id string) bool {
	sid, err := sfid.Parse(id)
	if err != nil {
		return false
	}
	o.elf.mu.Lock()
	defer o.elf.mu.Unlock()
	return o.removeELFFileLocked(sid)
}

// GenerateEventLogFiles generates activity for a time range.
func (o *Org) GenerateEventLogFiles(s GenerateSpec) ([]EventLogFileInfo, error) {
	from, err := parseAdminTime("from", s.From, time.Time{})
	if err != nil {
		return nil, err
	}
	to, err := parseAdminTime("to", s.To, time.Time{})
	if err != nil {
		return nil, err
	}
	if from.IsZero() || to.IsZero() || !to.After(from) || to.Sub(from) > 31*24*time.Hour {
		return nil, fmt.Errorf("from and to must be given, from before to, at most 31 days apart")
	}
	from = from.Truncate(time.Hour)
	o.elf.mu.Lock()
	settings := o.elf.settings
	types := o.elf.enabledTypes(false)
	o.elf.mu.Unlock()
	if len(s.Types) > 0 {
		types = nil
		for _, t := range s.Types {
			name, ok := o.elf.cat.Canonical(t)
			if !ok {
				return nil, fmt.Errorf("unknown event type %q", t)
			}
			types = append(types, name)
		}
	}
	hourly, daily := settings.hourly, true
	if len(s.Intervals) > 0 {
		hourly, daily = false, false
		for _, iv := range s.Intervals {
			switch strings.ToLower(iv) {
			case "hourly":
				hourly = true
			case "daily":
				daily = true
			default:
				return nil, fmt.Errorf("interval %q is neither Hourly nor Daily", iv)
			}
		}
	}
	rows := s.Rows
	if rows <= 0 && s.FileBytes <= 0 {
		rows = 100
	}
	sch := eventlog.Schedule{Seed: o.elf.seed ^ 0x6e6e, LateEvery: -1}
	var out []EventLogFileInfo
	for _, typ := range types {
		r := rows
		if s.FileBytes > 0 {
			o.elf.mu.Lock()
			r = o.elf.rowsFor(typ, 0, s.FileBytes, o.elfUsers())
			o.elf.mu.Unlock()
		}
		if hourly {
			for h := from; h.Before(to); h = h.Add(time.Hour) {
				info, err := o.AddEventLogFile(EventLogFileSpec{EventType: typ, LogDate: h.Format(time.RFC3339),
					CreatedDate: sch.HourlyCreated(h).Format(time.RFC3339), Rows: r})
				if err != nil {
					return out, err
				}
				out = append(out, info)
			}
		}
		if daily {
			for d := from.Truncate(24 * time.Hour); d.Add(24*time.Hour).Compare(to) <= 0; d = d.Add(24 * time.Hour) {
				if d.Before(from) {
					continue
				}
				info, err := o.AddEventLogFile(EventLogFileSpec{EventType: typ, Interval: eventlog.Daily, LogDate: d.Format(time.RFC3339),
					CreatedDate: sch.DailyCreated(d).Format(time.RFC3339), Rows: r})
				if err != nil {
					return out, err
				}
				out = append(out, info)
			}
		}
	}
	return out, nil
}

// AddBlobFault adds a fault on blob downloads.
func (o *Org) AddBlobFault(s BlobFaultSpec) (BlobFaultSpec, error) {
	o.elf.mu.Lock()
	defer o.elf.mu.Unlock()
	return o.elf.faults.add(s)
}
