package emulator

import (
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sfbridge/sfbridge/emulator/data"
	"github.com/sfbridge/sfbridge/emulator/eventlog"
	"github.com/sfbridge/sfbridge/emulator/sfid"
	"github.com/sfbridge/sfbridge/internal/clock"
)

// EventMonitoringSpec configures the org's Event Monitoring: licence,
// hourly files, retention and background activity. It is the fixture's
// event_monitoring section and the body of PATCH /_emulator/event-monitoring.
type EventMonitoringSpec struct {
	// Licensed is the Event Monitoring add-on (Shield): every event type.
	// Without it (false) only the free tier's 7 types are logged. Default true.
	Licensed *bool `json:"licensed,omitempty"`
	// Hourly enables hourly files. Without them EventLogFile has no
	// Interval field (a query naming it fails with INVALID_FIELD) and only
	// daily files are made. Default true.
	Hourly *bool `json:"hourly,omitempty"`
	// RetentionDays is how long files live after their CreatedDate
	// (default 30 licensed, 1 free tier).
	RetentionDays int `json:"retention_days,omitempty"`
	// RowsPerHour is the background activity of simulated users: average
	// rows per event type and hour (0: none, only the org's own activity;
	// in a PATCH 0 keeps the current rate and -1 turns it off).
	RowsPerHour int `json:"rows_per_hour,omitempty"`
	// SampleDays back-fills that many days of background activity before
	// the org's start (sfbridge emulator --sample-data uses 3).
	SampleDays int `json:"sample_days,omitempty"`
	// Types restricts background activity to these event types (default
	// every type the licence allows).
	Types []string `json:"types,omitempty"`
	// LateEvery gives one hour in LateEvery a late hourly file per type
	// (default 12; negative: none).
	LateEvery int `json:"late_every,omitempty"`
	// SchemaChange is the day (YYYY-MM-DD) from which event types with a
	// newer release use their newer columns; default the org's start day.
	SchemaChange string `json:"schema_change,omitempty"`
	// HourlyDelay (a Go duration from 1s to 59m) makes hourly files come
	// that long after their hour ends instead of Salesforce's 3 to 6 hours;
	// the hours that ended before it was set and have no file yet get
	// theirs that long after it was set. "off" returns to the usual
	// schedule; empty leaves the setting as it is (default off).
	HourlyDelay string `json:"hourly_delay,omitempty"`
}

// elfSettings is the resolved EventMonitoringSpec.
type elfSettings struct {
	licensed    bool
	hourly      bool
	retention   time.Duration
	rowsPerHour int
	types       []string // canonical; empty: all allowed
	lateEvery   int
	drift       time.Time
	start       time.Time // background activity from here (zero: none)
	prompt      time.Duration
	promptFrom  time.Time
}

func (o *Org) resolveELF(s EventMonitoringSpec, now time.Time, prev *elfSettings) (elfSettings, error) {
	out := elfSettings{licensed: true, hourly: true, lateEvery: s.LateEvery}
	if prev != nil {
		out = *prev
		if s.LateEvery != 0 {
			out.lateEvery = s.LateEvery
		}
	}
	if s.Licensed != nil {
		out.licensed = *s.Licensed
	}
	if s.Hourly != nil {
		out.hourly = *s.Hourly
	}
	switch {
	case s.RetentionDays > 0:
		out.retention = time.Duration(s.RetentionDays) * 24 * time.Hour
	case s.RetentionDays < 0:
		return out, errors.New("event_monitoring: retention_days must not be negative")
	case prev == nil || s.Licensed != nil:
		out.retention = 30 * 24 * time.Hour
		if !out.licensed {
			out.retention = 24 * time.Hour
		}
	}
	if s.SampleDays < 0 {
		return out, errors.New("event_monitoring: sample_days must not be negative")
	}
	switch {
	case s.RowsPerHour < 0: // off (0 means "unchanged" in a PATCH)
		out.rowsPerHour = 0
	case s.RowsPerHour > 0 || prev == nil:
		out.rowsPerHour = s.RowsPerHour
	}
	if s.Types != nil {
		out.types = nil
		for _, t := range s.Types {
			name, ok := o.elf.cat.Canonical(t)
			if !ok {
				return out, fmt.Errorf("event_monitoring: unknown event type %q (known: %s)", t, strings.Join(o.elf.cat.Names(), ", "))
			}
			out.types = append(out.types, name)
		}
	}
	switch s.HourlyDelay {
	case "":
	case "off":
		out.prompt, out.promptFrom = 0, time.Time{}
	default:
		d, err := time.ParseDuration(s.HourlyDelay)
		if err != nil || d < time.Second || d > 59*time.Minute {
			return out, fmt.Errorf("event_monitoring: hourly_delay %q is not a Go duration from 1s to 59m (or \"off\")", s.HourlyDelay)
		}
		if out.prompt == 0 {
			out.promptFrom = now.UTC()
		}
		out.prompt = d
	}
	if s.SchemaChange != "" {
		d, err := time.Parse("2006-01-02", s.SchemaChange)
		if err != nil {
			return out, fmt.Errorf("event_monitoring: schema_change %q is not a date such as 2026-12-01", s.SchemaChange)
		}
		out.drift = d
	} else if prev == nil {
		out.drift = now.UTC().Truncate(24 * time.Hour)
	}
	if prev == nil && s.RowsPerHour > 0 {
		// Whole days of back-filled activity; without any, from this hour.
		out.start = now.UTC().Truncate(time.Hour)
		if s.SampleDays > 0 {
			out.start = now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -s.SampleDays)
		}
	} else if prev != nil && s.RowsPerHour > 0 && out.start.IsZero() {
		out.start = now.UTC().Truncate(time.Hour).AddDate(0, 0, -s.SampleDays)
	}
	return out, nil
}

// elfFile is one EventLogFile: its record's fields and what its blob holds.
type elfFile struct {
	id       sfid.ID
	file     eventlog.File
	interval string
	seq      int
	logDate  time.Time
	created  time.Time
	length   int64
	// A young file (created less than youngFor ago) serves only its first
	// truncate bytes, as a blob still being written.
	truncate int64
	youngFor time.Duration
	inStore  bool
}

type fileKey struct {
	typ      string
	hour     int64
	seq      int
	interval string
}

type partKey struct {
	users   uint64 // fingerprint of the users rows name
	typ     string
	version int
	hour    int64
	seq     int
	events  int
}

// elfState is the org's Event Monitoring: its files and recorded events.
type elfState struct {
	cat  *eventlog.Catalog
	clk  clock.Clock // the trickle fault waits on it
	seed uint64      // from the org id: another org, other rows

	mu        sync.Mutex
	settings  elfSettings
	watermark time.Time // scheduled files created up to here are made
	files     map[sfid.ID]*elfFile
	made      map[fileKey]sfid.ID
	pending   []*elfFile // added through the admin API, created later
	events    map[string]map[int64][]eventlog.Event
	sizes     map[partKey]int64
	faults    blobFaults
	nextDue   time.Time // no scheduled file is due before this
	nextPurge time.Time // no file expires before this
	capHour   int64     // the hour capCount counts recorded calls of
	capCount  int
}

// initELF sets Event Monitoring up from the fixture and makes the files
// that the back-filled activity has produced by now.
func (o *Org) initELF(f *Fixture) error {
	o.elf.cat = eventlog.NewCatalog()
	o.elf.clk = o.clk // Config.Clock: the trickle fault waits on the same clock as the latency fault
	o.elf.files = map[sfid.ID]*elfFile{}
	o.elf.made = map[fileKey]sfid.ID{}
	o.elf.events = map[string]map[int64][]eventlog.Event{}
	o.elf.sizes = map[partKey]int64{}
	h := fnv.New64a()
	h.Write([]byte(o.OrgID()))
	o.elf.seed = h.Sum64()
	var spec EventMonitoringSpec
	if f.EventMonitoring != nil {
		spec = *f.EventMonitoring
	}
	now := o.Now()
	s, err := o.resolveELF(spec, now, nil)
	if err != nil {
		return err
	}
	o.elf.settings = s
	o.elf.watermark = now
	if !s.start.IsZero() {
		o.elf.watermark = s.start
	}
	o.applyELFSchema()
	o.syncELF()
	return nil
}

// applyELFSchema hides EventLogFile.Interval when hourly files are off.
func (o *Org) applyELFSchema() {
	o.elf.mu.Lock()
	hourly := o.elf.settings.hourly
	o.elf.mu.Unlock()
	o.data.store.SetFieldHidden(data.ObjEventLogFile, "Interval", !hourly)
}

// enabledTypes returns the event types the licence allows and background
// activity covers.
func (e *elfState) enabledTypes(background bool) []string {
	names := e.cat.Names()
	if !e.settings.licensed {
		names = e.cat.FreeNames()
	}
	if background && len(e.settings.types) > 0 {
		names = slices.DeleteFunc(slices.Clone(names), func(n string) bool { return !slices.Contains(e.settings.types, n) })
	}
	return names
}

func (e *elfState) typeAllowed(name string) bool {
	return e.settings.licensed || e.cat.Free(name)
}

func (e *elfState) schedule() eventlog.Schedule {
	return eventlog.Schedule{Seed: e.seed, RowsPerHour: e.settings.rowsPerHour, LateEvery: e.settings.lateEvery,
		Prompt: e.settings.prompt, PromptFrom: e.settings.promptFrom}
}

func (e *elfState) version(typ string, day time.Time) int {
	if e.cat.Versions(typ) > 1 && !day.Before(e.settings.drift) {
		return 1
	}
	return 0
}

// backgroundRows is the simulated row count of an hour of a type.
func (e *elfState) backgroundRows(s eventlog.Schedule, typ string, hour time.Time, seq int) int {
	st := e.settings.start
	if st.IsZero() || hour.Before(st) || (len(e.settings.types) > 0 && !slices.Contains(e.settings.types, typ)) {
		return 0
	}
	return s.Rows(typ, hour, seq)
}

// syncELF makes the files whose CreatedDate has come and purges the
// expired ones. It runs before every data API call and blob download.
func (o *Org) syncELF() {
	now := o.Now().UTC()
	e := &o.elf
	e.mu.Lock()
	defer e.mu.Unlock()
	var pending []*elfFile
	if now.After(e.watermark) && !now.Before(e.nextDue) {
		pending = o.scheduledLocked(now)
		e.watermark = now
	}
	// Files added through the admin API whose CreatedDate has come.
	e.pending = slices.DeleteFunc(e.pending, func(f *elfFile) bool {
		if f.created.After(now) {
			return false
		}
		pending = append(pending, f)
		return true
	})
	slices.SortFunc(pending, func(a, b *elfFile) int {
		if c := a.created.Compare(b.created); c != 0 {
			return c
		}
		if c := strings.Compare(a.file.EventType, b.file.EventType); c != 0 {
			return c
		}
		if c := a.logDate.Compare(b.logDate); c != 0 {
			return c
		}
		return a.seq - b.seq
	})
	for _, f := range pending {
		k := fileKey{f.file.EventType, f.logDate.Unix(), f.seq, f.interval}
		if _, dup := e.made[k]; dup && f.id == "" {
			continue
		}
		if err := o.storeELFFile(f); err != nil {
			o.log.Error("emulator: event log file", "err", err)
			continue
		}
		e.made[k] = f.id
	}
	o.purgeELFLocked(now)
}

// scheduledLocked returns the files of the schedule and of recorded
// events whose CreatedDate falls in (watermark, now].
func (o *Org) scheduledLocked(now time.Time) []*elfFile {
	e := &o.elf
	var pending []*elfFile
	sch := e.schedule()
	users := o.elfUsers()
	org := string(o.OrgID())
	from := e.watermark
	// Hours whose files can be created in (from, now]: late files come up
	// to three days after their hour.
	first := from.Add(-76 * time.Hour).Truncate(time.Hour)
	if st := e.settings.start; !st.IsZero() && first.Before(st) {
		first = st
	}
	hours := map[int64]bool{}
	if e.settings.rowsPerHour > 0 && !e.settings.start.IsZero() {
		for h := first; !h.After(now); h = h.Add(time.Hour) {
			hours[h.Unix()] = true
		}
	}
	for _, m := range e.events {
		for h := range m {
			if h >= first.Unix() {
				hours[h] = true
			}
		}
	}
	// nextDue is the earliest CreatedDate still ahead: until then a sync
	// has nothing to make. Hours after now are created 4 hours after they
	// start at the earliest, days 27 hours after.
	next := now.Truncate(time.Hour).Add(5 * time.Hour)
	due := func(t time.Time) bool {
		if t.After(now) && t.Before(next) {
			next = t
		}
		return t.After(from) && !t.After(now)
	}
	defer func() { e.nextDue = next }()
	days := map[int64]bool{}
	for _, typ := range e.enabledTypes(false) {
		for hu := range hours {
			hour := time.Unix(hu, 0).UTC()
			days[hour.Truncate(24*time.Hour).Unix()] = true
			if !e.settings.hourly {
				continue
			}
			if c := sch.HourlyCreated(hour); due(c) {
				p := o.elfPart(sch, typ, hour, 1)
				if p.Rows > 0 || len(p.Events) > 0 {
					pending = append(pending, e.newFile(typ, eventlog.Hourly, 1, hour, c, org, users, []eventlog.Part{p}))
				}
			}
			if c, ok := sch.Late(typ, hour); ok && due(c) {
				if p := o.elfPart(sch, typ, hour, 2); p.Rows > 0 {
					pending = append(pending, e.newFile(typ, eventlog.Hourly, 2, hour, c, org, users, []eventlog.Part{p}))
				}
			}
		}
	}
	for du := range days {
		day := time.Unix(du, 0).UTC()
		c := sch.DailyCreated(day)
		if !due(c) {
			continue
		}
		for _, typ := range e.enabledTypes(false) {
			var parts []eventlog.Part
			for h := 0; h < 24; h++ {
				hour := day.Add(time.Duration(h) * time.Hour)
				if p := o.elfPart(sch, typ, hour, 1); p.Rows > 0 || len(p.Events) > 0 {
					parts = append(parts, p)
				}
				if lc, ok := sch.Late(typ, hour); ok && !lc.After(c) {
					if p := o.elfPart(sch, typ, hour, 2); p.Rows > 0 {
						parts = append(parts, p)
					}
				}
			}
			if len(parts) > 0 {
				pending = append(pending, e.newFile(typ, eventlog.Daily, 0, day, c, org, users, parts))
			}
		}
	}
	if t := o.backgroundLoginsLocked(from, now, users); !t.IsZero() && t.Before(next) {
		next = t
	}
	return pending
}

// elfPart is the simulated rows and recorded events of one hour's file.
func (o *Org) elfPart(sch eventlog.Schedule, typ string, hour time.Time, seq int) eventlog.Part {
	p := eventlog.Part{Hour: hour, Seq: seq, Rows: o.elf.backgroundRows(sch, typ, hour, seq)}
	if seq == 1 {
		p.Events = o.elf.events[typ][hour.Unix()]
	}
	return p
}

func (e *elfState) newFile(typ, interval string, seq int, logDate, created time.Time, org string, users []eventlog.User, parts []eventlog.Part) *elfFile {
	return &elfFile{file: eventlog.File{EventType: typ, Version: e.version(typ, logDate.Truncate(24*time.Hour)), OrgID: org, Users: users, Parts: parts, Seed: e.seed},
		interval: interval, seq: seq, logDate: logDate, created: created.Truncate(time.Second)}
}

// elfUsers are the org's active users, whom simulated rows name.
func (o *Org) elfUsers() []eventlog.User {
	o.mu.RLock()
	defer o.mu.RUnlock()
	var out []eventlog.User
	for _, u := range sortedValues(o.m.users) {
		if u.Active {
			out = append(out, eventlog.User{ID: string(u.ID), Username: u.Username})
		}
	}
	return out
}

// fileLength is the exact byte length of a file; each hour is measured
// once and shared by its hourly and daily files.
func (e *elfState) fileLength(f *eventlog.File) (int64, error) {
	h, err := e.cat.Header(f.EventType, f.Version)
	if err != nil {
		return 0, err
	}
	n := int64(len(h))
	for i, p := range f.Parts {
		k := partKey{usersFingerprint(f.Users), f.EventType, f.Version, p.Hour.Unix(), p.Seq, len(p.Events)}
		sz, ok := e.sizes[k]
		if !ok {
			sz, err = e.cat.PartSize(f, i)
			if err != nil {
				return 0, err
			}
			e.sizes[k] = sz
		}
		n += sz
	}
	return n, nil
}

func usersFingerprint(us []eventlog.User) uint64 {
	h := fnv.New64a()
	for _, u := range us {
		h.Write([]byte(u.ID))
		h.Write([]byte(u.Username))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// storeELFFile inserts the EventLogFile record of f (with e.mu held).
func (o *Org) storeELFFile(f *elfFile) error {
	e := &o.elf
	n, err := e.fileLength(&f.file)
	if err != nil {
		return err
	}
	f.length = n
	if f.id == "" {
		f.id = o.ids.New("0AT")
	}
	fields := map[string]any{
		"EventType": f.file.EventType, "LogDate": f.logDate, "LogFileLength": float64(n), "Sequence": float64(f.seq),
		"LogFileContentType": "CSV", "ApiVersion": float64(MaxAPIVersion),
		"LogFileFieldNames": e.cat.FieldNames(f.file.EventType, f.file.Version),
		"LogFileFieldTypes": e.cat.FieldTypes(f.file.EventType, f.file.Version),
		"CreatedDate":       f.created, "LastModifiedDate": f.created, "SystemModstamp": f.created,
	}
	if f.interval != "" {
		fields["Interval"] = f.interval
	}
	if err := storeErr(o.data.store.Upsert(data.ObjEventLogFile, f.id, fields)); err != nil {
		return err
	}
	f.inStore = true
	e.files[f.id] = f
	if exp := f.created.Add(e.settings.retention); exp.Before(e.nextPurge) {
		e.nextPurge = exp
	}
	return nil
}

// purgeELFLocked deletes files past retention and forgets old events.
func (o *Org) purgeELFLocked(now time.Time) {
	e := &o.elf
	if now.Before(e.nextPurge) {
		return
	}
	next := time.Time{}
	for id, f := range e.files {
		exp := f.created.Add(e.settings.retention)
		if !exp.After(now) {
			o.removeELFFileLocked(id)
			continue
		}
		if next.IsZero() || exp.Before(next) {
			next = exp
		}
	}
	if next.IsZero() {
		next = now.Add(e.settings.retention)
	}
	e.nextPurge = next
	horizon := now.Add(-e.settings.retention - 96*time.Hour).Unix()
	for _, m := range e.events {
		for h := range m {
			if h < horizon {
				delete(m, h)
			}
		}
	}
}

func (o *Org) removeELFFileLocked(id sfid.ID) bool {
	f, ok := o.elf.files[id]
	if !ok {
		return false
	}
	delete(o.elf.files, id)
	if f.inStore {
		o.data.store.Remove(data.ObjEventLogFile, id)
	}
	return true
}

// recordELFEvent adds one event of the org's own activity to the hour it
// happened in; the hour's files, made later, hold it.
func (o *Org) recordELFEvent(typ string, ev eventlog.Event) {
	e := &o.elf
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.typeAllowed(typ) {
		return
	}
	hour := ev.Time.UTC().Truncate(time.Hour)
	m := e.events[typ]
	if m == nil {
		m = map[int64][]eventlog.Event{}
		e.events[typ] = m
	}
	if _, seen := m[hour.Unix()]; !seen {
		// The hour's files are due earlier than the last sync thought.
		if c := e.schedule().HourlyCreated(hour); c.Before(e.nextDue) {
			e.nextDue = c
		}
	}
	m[hour.Unix()] = append(m[hour.Unix()], ev)
}
