package eventlog

import (
	"time"
	"unsafe"
)

// appendTime appends b, a Salesforce timestamp, as an RFC 3339 UTC time with
// milliseconds ("2024-01-15T12:34:56.789Z"), the form Elasticsearch's date
// fields and ECS's @timestamp take. It accepts the forms event log files and
// the REST API use:
//
//	20240115123456.789              TIMESTAMP (UTC)
//	2024-01-15T12:34:56.789Z        TIMESTAMP_DERIVED and other *_DERIVED columns
//	2024-01-15T12:34:56.000+0000    REST dateTime
//	2024-01-15T12:34:56Z, with any offset, with or without fraction
//	2024-01-15                      Date
//
// It reports false, appending nothing, for anything else.
func appendTime(dst []byte, b []byte) ([]byte, bool) {
	// Fast paths: TIMESTAMP and TIMESTAMP_DERIVED, which every row carries.
	if len(b) == 18 && b[14] == '.' && allDigits(b[:14]) && allDigits(b[15:]) {
		if !plausibleDate(b[0:4], b[4:6], b[6:8], b[8:10], b[10:12], b[12:14]) {
			return dst, false
		}
		dst = append(dst, '"')
		dst = append(dst, b[0:4]...)
		dst = append(dst, '-')
		dst = append(dst, b[4:6]...)
		dst = append(dst, '-')
		dst = append(dst, b[6:8]...)
		dst = append(dst, 'T')
		dst = append(dst, b[8:10]...)
		dst = append(dst, ':')
		dst = append(dst, b[10:12]...)
		dst = append(dst, ':')
		dst = append(dst, b[12:14]...)
		dst = append(dst, '.')
		dst = append(dst, b[15:18]...)
		return append(dst, 'Z', '"'), true
	}
	if len(b) == 24 && b[23] == 'Z' && b[4] == '-' && b[7] == '-' && b[10] == 'T' && b[13] == ':' && b[16] == ':' && b[19] == '.' &&
		allDigits(b[0:4]) && allDigits(b[5:7]) && allDigits(b[8:10]) && allDigits(b[11:13]) && allDigits(b[14:16]) && allDigits(b[17:19]) && allDigits(b[20:23]) &&
		plausibleDate(b[0:4], b[5:7], b[8:10], b[11:13], b[14:16], b[17:19]) {
		dst = append(dst, '"')
		dst = append(dst, b...)
		return append(dst, '"'), true
	}
	t, ok := parseTime(b)
	if !ok {
		return dst, false
	}
	dst = append(dst, '"')
	dst = t.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z")
	return append(dst, '"'), true
}

// parseTime parses any of the forms appendTime accepts.
func parseTime(b []byte) (time.Time, bool) {
	s := unsafe.String(unsafe.SliceData(b), len(b))
	for _, layout := range [...]string{
		"20060102150405.000",
		"2006-01-02T15:04:05.000Z0700",
		"2006-01-02T15:04:05Z07:00",
		"2006-01-02T15:04:05Z0700",
		"2006-01-02",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() < 1 || t.Year() > 9999 {
				return time.Time{}, false
			}
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func num2(b []byte) int { return int(b[0]-'0')*10 + int(b[1]-'0') }

// plausibleDate checks the ranges of a date already known to be digits; the
// day is checked against the month's length.
func plausibleDate(y, mo, d, h, mi, s []byte) bool {
	month, day := num2(mo), num2(d)
	if month < 1 || month > 12 || day < 1 || num2(h) > 23 || num2(mi) > 59 || num2(s) > 59 {
		return false
	}
	year := int(y[0]-'0')*1000 + int(y[1]-'0')*100 + int(y[2]-'0')*10 + int(y[3]-'0')
	return day <= daysIn(time.Month(month), year)
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
