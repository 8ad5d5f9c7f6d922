package soql

import (
	"strings"
	"time"
)

// Kind is how the evaluator treats a field's values.
type Kind uint8

// Field kinds. Stored values are nil (null), string (KindString, KindID),
// bool, float64 (KindNumber), DateTime and Date.
const (
	KindString Kind = iota
	KindID          // Id and reference fields: 18-character ids, accept 15-character literals
	KindBool
	KindNumber
	KindDate
	KindDateTime
)

// DateTime is a stored dateTime value: milliseconds since the Unix epoch, UTC.
type DateTime int64

// Date is a stored date value: days since 1970-01-01.
type Date int32

// DateTimeOf converts t to a DateTime.
func DateTimeOf(t time.Time) DateTime { return DateTime(t.UnixMilli()) }

// DateOf converts the calendar day of t (in t's location) to a Date.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// Time returns the instant in UTC.
func (d DateTime) Time() time.Time { return time.UnixMilli(int64(d)).UTC() }

// Time returns midnight UTC of the day.
func (d Date) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// AppendDateTime appends Salesforce's dateTime format, 2026-11-20T10:00:00.000+0000.
func AppendDateTime(b []byte, d DateTime) []byte {
	return d.Time().AppendFormat(b, "2006-01-02T15:04:05.000+0000")
}

// AppendDate appends 2026-11-20.
func AppendDate(b []byte, d Date) []byte {
	return d.Time().AppendFormat(b, "2006-01-02")
}

// ParseDateTime accepts the ISO-8601 forms clients send for dateTime
// values: …Z, …+00:00, …+0000, with or without fractional seconds.
func ParseDateTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999-0700", "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// Compare orders two stored values of the same kind: -1, 0 or 1. nil sorts
// before everything; strings compare case-insensitively as in Salesforce.
func Compare(a, b any) int {
	if a == nil || b == nil {
		switch {
		case a == nil && b == nil:
			return 0
		case a == nil:
			return -1
		default:
			return 1
		}
	}
	switch x := a.(type) {
	case string:
		y, _ := b.(string)
		return compareFold(x, y)
	case float64:
		y, _ := b.(float64)
		return cmp3(x < y, x > y)
	case bool:
		y, _ := b.(bool)
		return cmp3(!x && y, x && !y)
	case DateTime:
		y, _ := b.(DateTime)
		return cmp3(x < y, x > y)
	case Date:
		y, _ := b.(Date)
		return cmp3(x < y, x > y)
	}
	return 0
}

func cmp3(less, greater bool) int {
	switch {
	case less:
		return -1
	case greater:
		return 1
	}
	return 0
}

// compareFold compares ASCII case-insensitively without allocating, and
// falls back to lower-casing for other text.
func compareFold(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		ca, cb := a[i], b[i]
		if ca >= 0x80 || cb >= 0x80 {
			return strings.Compare(strings.ToLower(a[i:]), strings.ToLower(b[i:]))
		}
		if ca >= 'A' && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if cb >= 'A' && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return cmp3(ca < cb, ca > cb)
		}
	}
	return cmp3(len(a) < len(b), len(a) > len(b))
}

// likeMatcher compiles a LIKE pattern (with \_ \% \\ escapes kept) into a
// case-insensitive matcher.
func likeMatcher(pattern string) func(string) bool {
	type part struct {
		any  bool // %
		one  bool // _
		text rune
	}
	var parts []part
	rs := []rune(strings.ToLower(pattern))
	for i := 0; i < len(rs); i++ {
		switch rs[i] {
		case '\\':
			if i+1 < len(rs) {
				i++
			}
			parts = append(parts, part{text: rs[i]})
		case '%':
			parts = append(parts, part{any: true})
		case '_':
			parts = append(parts, part{one: true})
		default:
			parts = append(parts, part{text: rs[i]})
		}
	}
	// Greedy matching that backtracks only to the last %: O(len(p)·len(s)).
	match := func(p []part, s []rune) bool {
		pi, si, star, mark := 0, 0, -1, 0
		for si < len(s) {
			switch {
			case pi < len(p) && !p[pi].any && (p[pi].one || p[pi].text == s[si]):
				pi++
				si++
			case pi < len(p) && p[pi].any:
				star, mark = pi, si
				pi++
			case star >= 0:
				pi = star + 1
				mark++
				si = mark
			default:
				return false
			}
		}
		for pi < len(p) && p[pi].any {
			pi++
		}
		return pi == len(p)
	}
	return func(s string) bool { return match(parts, []rune(strings.ToLower(s))) }
}

type dateLiteralSpec struct {
	takesN bool
	rng    func(now time.Time, n int) (start, end time.Time)
}

func day(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

func weekStart(t time.Time) time.Time { // weeks start on Sunday (en_US)
	d := day(t)
	return d.AddDate(0, 0, -int(d.Weekday()))
}

func monthStart(t time.Time) time.Time {
	y, m, _ := t.Date()
	return time.Date(y, m, 1, 0, 0, 0, 0, t.Location())
}

func quarterStart(t time.Time) time.Time {
	y, m, _ := t.Date()
	return time.Date(y, ((m-1)/3)*3+1, 1, 0, 0, 0, 0, t.Location())
}

func yearStart(t time.Time) time.Time {
	return time.Date(t.Year(), 1, 1, 0, 0, 0, 0, t.Location())
}

func daysRange(offset, n int) func(time.Time, int) (time.Time, time.Time) {
	return func(now time.Time, _ int) (time.Time, time.Time) {
		s := day(now).AddDate(0, 0, offset)
		return s, s.AddDate(0, 0, n)
	}
}

func periodRange(start func(time.Time) time.Time, add func(time.Time, int) time.Time, k int) func(time.Time, int) (time.Time, time.Time) {
	return func(now time.Time, _ int) (time.Time, time.Time) {
		s := add(start(now), k)
		return s, add(s, 1)
	}
}

func addWeeks(t time.Time, n int) time.Time    { return t.AddDate(0, 0, 7*n) }
func addMonths(t time.Time, n int) time.Time   { return t.AddDate(0, n, 0) }
func addQuarters(t time.Time, n int) time.Time { return t.AddDate(0, 3*n, 0) }
func addYears(t time.Time, n int) time.Time    { return t.AddDate(n, 0, 0) }

func lastN(start func(time.Time) time.Time, add func(time.Time, int) time.Time) func(time.Time, int) (time.Time, time.Time) {
	return func(now time.Time, n int) (time.Time, time.Time) {
		cur := start(now)
		return add(cur, -n), cur
	}
}

func nextN(start func(time.Time) time.Time, add func(time.Time, int) time.Time) func(time.Time, int) (time.Time, time.Time) {
	return func(now time.Time, n int) (time.Time, time.Time) {
		nxt := add(start(now), 1)
		return nxt, add(nxt, n)
	}
}

func nAgo(start func(time.Time) time.Time, add func(time.Time, int) time.Time) func(time.Time, int) (time.Time, time.Time) {
	return func(now time.Time, n int) (time.Time, time.Time) {
		s := add(start(now), -n)
		return s, add(s, 1)
	}
}

func addDays(t time.Time, n int) time.Time { return t.AddDate(0, 0, n) }

// dateLiteral returns Salesforce's relative date literal called name. Each
// is a half-open range [start, end) in the user's time zone (UTC in the
// emulator).
func dateLiteral(name string) (dateLiteralSpec, bool) {
	specs := map[string]dateLiteralSpec{
		"YESTERDAY":       {rng: daysRange(-1, 1)},
		"TODAY":           {rng: daysRange(0, 1)},
		"TOMORROW":        {rng: daysRange(1, 1)},
		"LAST_WEEK":       {rng: periodRange(weekStart, addWeeks, -1)},
		"THIS_WEEK":       {rng: periodRange(weekStart, addWeeks, 0)},
		"NEXT_WEEK":       {rng: periodRange(weekStart, addWeeks, 1)},
		"LAST_MONTH":      {rng: periodRange(monthStart, addMonths, -1)},
		"THIS_MONTH":      {rng: periodRange(monthStart, addMonths, 0)},
		"NEXT_MONTH":      {rng: periodRange(monthStart, addMonths, 1)},
		"LAST_QUARTER":    {rng: periodRange(quarterStart, addQuarters, -1)},
		"THIS_QUARTER":    {rng: periodRange(quarterStart, addQuarters, 0)},
		"NEXT_QUARTER":    {rng: periodRange(quarterStart, addQuarters, 1)},
		"LAST_YEAR":       {rng: periodRange(yearStart, addYears, -1)},
		"THIS_YEAR":       {rng: periodRange(yearStart, addYears, 0)},
		"NEXT_YEAR":       {rng: periodRange(yearStart, addYears, 1)},
		"LAST_90_DAYS":    {rng: func(now time.Time, _ int) (time.Time, time.Time) { return lastNDays(now, 90) }},
		"NEXT_90_DAYS":    {rng: func(now time.Time, _ int) (time.Time, time.Time) { return nextN(day, addDays)(now, 90) }},
		"LAST_N_DAYS":     {takesN: true, rng: lastNDays},
		"NEXT_N_DAYS":     {takesN: true, rng: nextN(day, addDays)},
		"N_DAYS_AGO":      {takesN: true, rng: nAgo(day, addDays)},
		"LAST_N_WEEKS":    {takesN: true, rng: lastN(weekStart, addWeeks)},
		"NEXT_N_WEEKS":    {takesN: true, rng: nextN(weekStart, addWeeks)},
		"N_WEEKS_AGO":     {takesN: true, rng: nAgo(weekStart, addWeeks)},
		"LAST_N_MONTHS":   {takesN: true, rng: lastN(monthStart, addMonths)},
		"NEXT_N_MONTHS":   {takesN: true, rng: nextN(monthStart, addMonths)},
		"N_MONTHS_AGO":    {takesN: true, rng: nAgo(monthStart, addMonths)},
		"LAST_N_QUARTERS": {takesN: true, rng: lastN(quarterStart, addQuarters)},
		"NEXT_N_QUARTERS": {takesN: true, rng: nextN(quarterStart, addQuarters)},
		"LAST_N_YEARS":    {takesN: true, rng: lastN(yearStart, addYears)},
		"NEXT_N_YEARS":    {takesN: true, rng: nextN(yearStart, addYears)},
		"N_YEARS_AGO":     {takesN: true, rng: nAgo(yearStart, addYears)},
		"LAST_N_HOURS": {takesN: true, rng: func(now time.Time, n int) (time.Time, time.Time) {
			h := now.Truncate(time.Hour)
			return h.Add(-time.Duration(n) * time.Hour), now
		}},
		"NEXT_N_HOURS": {takesN: true, rng: func(now time.Time, n int) (time.Time, time.Time) {
			return now, now.Truncate(time.Hour).Add(time.Duration(n+1) * time.Hour)
		}},
	}
	spec, ok := specs[name]
	return spec, ok
}

// lastNDays is LAST_N_DAYS:n: from 00:00 n days ago through the end of today.
func lastNDays(now time.Time, n int) (time.Time, time.Time) {
	d := day(now)
	return d.AddDate(0, 0, -n), d.AddDate(0, 0, 1)
}

// DateLiteralRange resolves a relative date literal (TODAY, LAST_N_DAYS with
// n, …) at now. ok is false for an unknown name.
func DateLiteralRange(name string, n int, now time.Time) (start, end time.Time, ok bool) {
	spec, found := dateLiteral(strings.ToUpper(name))
	if !found {
		return time.Time{}, time.Time{}, false
	}
	s, e := spec.rng(now, n)
	return s, e, true
}
