package eventlog

import (
	"time"
)

// Interval values of EventLogFile.Interval.
const (
	Daily  = "Daily"
	Hourly = "Hourly"
)

// Schedule decides, for an org seed, when Salesforce would create each
// log file and how many simulated rows it holds. It is a pure function of
// its fields; the emulator asks it which files fall into a time window.
//
// Documented (reference §1.5): daily files (Sequence 0) are created the
// next day around 03:00 UTC; hourly files (Sequence 1..n) 3–6 hours after
// their hour, and extra files with a higher Sequence for an old hour, up to
// three days later, hold only the new events. The exact minutes, the share
// of hours with late files and the row counts are the emulator's choice.
type Schedule struct {
	Seed uint64
	// RowsPerHour is the average number of simulated rows per event type
	// and hour (background activity); 0 means none.
	RowsPerHour int
	// LateEvery gives one hour in LateEvery a late file per type (default
	// 12); negative disables late files.
	LateEvery int
	// Prompt, when positive (at least a second), makes the hourly files
	// whose usual CreatedDate falls after PromptFrom come Prompt after
	// their hour ends instead, and no earlier than Prompt after PromptFrom:
	// the files of the hours that ended before PromptFrom and were not
	// made yet all come then. `serve --dev` uses it, so hourly files
	// appear as the hours pass rather than hours later.
	Prompt     time.Duration
	PromptFrom time.Time
}

// HourlyCreated is when the first hourly file (Sequence 1) of an hour is
// created: 3 to 6 hours after the hour ends, on a whole second. It depends
// only on the hour, so the files of every type for one hour share one
// CreatedDate second, as collectors must be ready for.
func (s Schedule) HourlyCreated(hour time.Time) time.Time {
	x := mix(s.Seed ^ uint64(hour.Unix()))
	usual := hour.Add(time.Hour + 3*time.Hour + time.Duration(x%(3*3600))*time.Second)
	if s.Prompt < time.Second || !usual.After(s.PromptFrom) {
		return usual
	}
	t := hour.Add(time.Hour + s.Prompt)
	if first := s.PromptFrom.Add(s.Prompt); t.Before(first) {
		t = first
	}
	return t.Truncate(time.Second)
}

// DailyCreated is when the daily file (Sequence 0) of a day is created: the
// next day between 03:00 and 03:20 UTC, on a whole second.
func (s Schedule) DailyCreated(day time.Time) time.Time {
	x := mix(s.Seed ^ uint64(day.Unix()) ^ 0xda11)
	return day.Add(27*time.Hour + time.Duration(x%1200)*time.Second)
}

// Late reports whether an hour gets a late file (Sequence 2) for a type,
// and when it is created: between 8 hours and 3 days after the hour.
func (s Schedule) Late(eventType string, hour time.Time) (time.Time, bool) {
	every := s.LateEvery
	if every == 0 {
		every = 12
	}
	if every < 0 {
		return time.Time{}, false
	}
	x := PartSeed(s.Seed, eventType, hour, 77)
	if x%uint64(every) != 0 {
		return time.Time{}, false
	}
	d := 8*time.Hour + time.Duration((x>>16)%uint64(64*3600))*time.Second
	return hour.Add(d), true
}

// Rows is the number of simulated rows of one hour's file of a type with
// the given Sequence: RowsPerHour shaped by the time of day (busier in
// working hours), a late file a fifth of that.
func (s Schedule) Rows(eventType string, hour time.Time, seq int) int {
	if s.RowsPerHour <= 0 {
		return 0
	}
	x := PartSeed(s.Seed, eventType, hour, seq)
	h := hour.UTC().Hour()
	shape := 50 // percent
	if h >= 7 && h < 19 {
		shape = 150
	}
	n := s.RowsPerHour * (shape - 25 + int(x%50)) / 100
	if seq > 1 {
		n /= 5
	}
	return max(n, 1)
}
