package rest

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// EscapeString escapes s for use inside a single-quoted SOQL string
// literal: quotes, backslashes and control characters are escaped, so the
// value can never end the literal or change the query.
//
//	"SELECT Id FROM Contact WHERE Email = " + rest.Quote(email)
func EscapeString(s string) string { return escape(s, false) }

// Quote returns s as a complete SOQL string literal, quotes included.
func Quote(s string) string { return "'" + EscapeString(s) + "'" }

// EscapeLike is EscapeString that also escapes the LIKE wildcards % and _,
// for matching s literally inside a LIKE pattern:
//
//	"... WHERE Subject LIKE '" + rest.EscapeLike(word) + "%'"
func EscapeLike(s string) string { return escape(s, true) }

func escape(s string, like bool) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	for _, r := range s {
		writeEscaped(&b, r, like)
	}
	return b.String()
}

func writeEscaped(b *strings.Builder, r rune, like bool) {
	switch r {
	case '\'':
		b.WriteString(`\'`)
	case '"':
		b.WriteString(`\"`)
	case '\\':
		b.WriteString(`\\`)
	case '\n':
		b.WriteString(`\n`)
	case '\r':
		b.WriteString(`\r`)
	case '\t':
		b.WriteString(`\t`)
	case '\b':
		b.WriteString(`\b`)
	case '\f':
		b.WriteString(`\f`)
	case '%', '_':
		if like {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	default:
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			fmt.Fprintf(b, `\u%04x`, r)
			return
		}
		b.WriteRune(r)
	}
}

// FormatDateTime renders t as a SOQL dateTime literal in UTC, for example
// 2024-05-01T10:00:00Z (unquoted in SOQL). Fractions of a second are
// dropped, which moves the instant back by less than a second: a
// "SystemModstamp >= " watermark then overlaps rather than misses.
func FormatDateTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// FormatDate renders t's calendar date (in t's location) as a SOQL date
// literal such as 2024-05-01.
func FormatDate(t time.Time) string { return t.Format(time.DateOnly) }

// sfDateTimeLayout is how Salesforce writes dateTime values in JSON.
const sfDateTimeLayout = "2006-01-02T15:04:05.000-0700"

// ParseDateTime parses a dateTime as Salesforce writes it
// (2024-05-08T21:20:00.000+0000) or any ISO 8601 form it accepts
// (2024-05-08T21:20:00Z, 2024-05-08T21:20:00.123+00:00).
func ParseDateTime(s string) (time.Time, error) {
	for _, layout := range [...]string{sfDateTimeLayout, "2006-01-02T15:04:05-0700", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("rest: %q is not a Salesforce dateTime (like 2024-05-08T21:20:00.000+0000)", s)
}

// DateTime is a time that decodes from and encodes to Salesforce's JSON
// dateTime form. Use it for dateTime fields of structs given to [Query].
type DateTime struct{ time.Time }

// MarshalJSON writes 2024-05-08T21:20:00.000+0000 in UTC, or null for the
// zero time.
func (d DateTime) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + d.UTC().Format(sfDateTimeLayout) + `"`), nil
}

// UnmarshalJSON accepts the forms of [ParseDateTime] and null.
func (d *DateTime) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		d.Time = time.Time{}
		return nil
	}
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return errors.New("rest: dateTime is not a JSON string")
	}
	t, err := ParseDateTime(s[1 : len(s)-1])
	if err != nil {
		return err
	}
	d.Time = t
	return nil
}
