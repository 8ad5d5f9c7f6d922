package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// unquoteSOQL reads one SOQL string literal at the start of s the way
// Salesforce's lexer does and returns its value and what follows it.
func unquoteSOQL(s string) (val, rest string, err error) {
	if !strings.HasPrefix(s, "'") {
		return "", s, errors.New("no opening quote")
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\'':
			return b.String(), s[i+1:], nil
		case '\\':
			i++
			if i >= len(s) {
				return "", "", errors.New("dangling backslash")
			}
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case '"', '\'', '\\', '%', '_':
				b.WriteByte(s[i])
			case 'u':
				if i+4 >= len(s) {
					return "", "", errors.New("short \\u")
				}
				var r rune
				for _, h := range s[i+1 : i+5] {
					r <<= 4
					switch {
					case '0' <= h && h <= '9':
						r |= h - '0'
					case 'a' <= h && h <= 'f':
						r |= h - 'a' + 10
					default:
						return "", "", errors.New("bad hex")
					}
				}
				b.WriteRune(r)
				i += 4
			default:
				return "", "", errors.New("invalid escape")
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", errors.New("unterminated literal")
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		`O'Brien`:        `'O\'Brien'`,
		`a\b`:            `'a\\b'`,
		"line\nbreak\t":  `'line\nbreak\t'`,
		`50%_off`:        `'50%_off'`,
		`' OR Name != '`: `'\' OR Name != \''`,
		"nul\x00":        `'nul\u0000'`,
		`say "hi"`:       `'say \"hi\"'`,
		"Grüße":          `'Grüße'`,
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
	if got := EscapeLike(`50%_off\`); got != `50\%\_off\\` {
		t.Errorf("EscapeLike = %s", got)
	}
}

func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "O'Brien", `\' OR 1=1 --`, "a\nb", "%_", "\x00\x7f", "\xff", "日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, like := range []bool{false, true} {
			lit := Quote(s)
			if like {
				lit = "'" + EscapeLike(s) + "'"
			}
			val, rest, err := unquoteSOQL(lit + " AND Id != null")
			if err != nil {
				t.Fatalf("Quote(%q) = %s is not one valid literal: %v", s, lit, err)
			}
			if rest != " AND Id != null" {
				t.Fatalf("Quote(%q) = %s ends early; the query would continue with %q", s, lit, rest)
			}
			want := string([]rune(s)) // invalid bytes become U+FFFD, one each
			if val != want {
				t.Fatalf("Quote(%q) round-trips to %q", s, val)
			}
			if strings.ContainsAny(lit, "\n\r\x00") {
				t.Fatalf("literal %q has a raw control character", lit)
			}
		}
	})
}

func TestDateTimes(t *testing.T) {
	at := time.Date(2024, 5, 8, 23, 20, 0, 999_000_000, time.FixedZone("CEST", 2*3600))
	if got := FormatDateTime(at); got != "2024-05-08T21:20:00Z" {
		t.Errorf("FormatDateTime = %s", got)
	}
	if got := FormatDate(at); got != "2024-05-08" {
		t.Errorf("FormatDate = %s", got)
	}
	for _, s := range []string{"2024-05-08T21:20:00.000+0000", "2024-05-08T21:20:00Z", "2024-05-08T23:20:00+02:00", "2024-05-08T21:20:00+0000"} {
		got, err := ParseDateTime(s)
		if err != nil || !got.Equal(time.Date(2024, 5, 8, 21, 20, 0, 0, time.UTC)) {
			t.Errorf("ParseDateTime(%s) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseDateTime("yesterday"); err == nil {
		t.Error("garbage parsed")
	}
	b, _ := json.Marshal(DateTime{at})
	if string(b) != `"2024-05-08T21:20:00.999+0000"` {
		t.Errorf("DateTime JSON = %s", b)
	}
}

func FuzzParseDateTime(f *testing.F) {
	for _, s := range []string{"2024-05-08T21:20:00.000+0000", "2024-05-08T21:20:00Z", "2024-02-30T00:00:00Z", "", "9999-12-31T23:59:59.999-1200"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseDateTime(s)
		if err != nil {
			return
		}
		// What parses must survive Salesforce's own format and SOQL's.
		var d DateTime
		b, _ := json.Marshal(DateTime{tm})
		if tm.UTC().Year() < 0 || tm.UTC().Year() > 9999 {
			return
		}
		if err := json.Unmarshal(b, &d); err != nil || !d.Equal(tm.Truncate(time.Millisecond)) && !d.Equal(tm) {
			t.Fatalf("%q → %s → %v, %v", s, b, d.Time, err)
		}
		back, err := ParseDateTime(FormatDateTime(tm))
		if err != nil || !back.Equal(tm.UTC().Truncate(time.Second)) {
			t.Fatalf("FormatDateTime round trip of %v: %v, %v", tm, back, err)
		}
	})
}

func TestParseLimitInfo(t *testing.T) {
	li, err := ParseLimitInfo("api-usage=25/5000; per-app-api-usage=17/250(appName=sample-connected-app)")
	if err != nil || li.Used != 25 || li.Max != 5000 || li.PerApp == nil || li.PerApp.Used != 17 || li.PerApp.App != "sample-connected-app" || li.Remaining() != 4975 {
		t.Fatalf("ParseLimitInfo = %+v, %v", li, err)
	}
	if li.String() != "api-usage=25/5000; per-app-api-usage=17/250(appName=sample-connected-app)" {
		t.Errorf("String = %s", li)
	}
	for _, bad := range []string{"", "api-usage=", "api-usage=1", "api-usage=a/5", "per-app-api-usage=1/2(appName=x)", "api-usage=-1/5"} {
		if _, err := ParseLimitInfo(bad); err == nil {
			t.Errorf("ParseLimitInfo(%q) accepted", bad)
		}
	}
}

func FuzzParseLimitInfo(f *testing.F) {
	f.Add("api-usage=25/5000")
	f.Add("api-usage=25/5000; per-app-api-usage=17/250(appName=sample-connected-app)")
	f.Add("per-app-api-usage=1/2(appName=a;b); api-usage=3/4")
	f.Fuzz(func(t *testing.T, s string) {
		li, err := ParseLimitInfo(s)
		if err != nil {
			return
		}
		if li.Used < 0 || li.Max < 0 {
			t.Fatalf("negative usage from %q: %+v", s, li)
		}
		again, err := ParseLimitInfo(li.String())
		if err != nil || again.Used != li.Used || again.Max != li.Max {
			t.Fatalf("%q → %s → %+v, %v", s, li, again, err)
		}
	})
}

// FuzzDecodePage feeds arbitrary bodies to the streaming page decoder: it
// must not panic, and a body it accepts must be one valid query result
// whose records were all emitted.
func FuzzDecodePage(f *testing.F) {
	f.Add([]byte(`{"totalSize":2,"done":true,"records":[{"Id":"a"},{"Id":"b"}]}`), 0)
	f.Add([]byte(`{"totalSize":2,"done":false,"nextRecordsUrl":"/services/data/v66.0/query/01g-2","records":[{"Id":"a"}]}`), 1)
	f.Add([]byte(`{"done":true,"records":null}`), 0)
	f.Add([]byte(`{"totalSize":2,"done":true,"records":[{"Id":"a"},{"Id"`), 0)
	f.Fuzz(func(t *testing.T, body []byte, skip int) {
		if skip < 0 || skip > 5 {
			return
		}
		var got []Record
		meta, n, err := decodePage(bytes.NewReader(body), decoderFor[Record](), skip, nil, func(r Record) error { got = append(got, r); return nil })
		// Read a byte at a time, every value crosses the reader's buffer:
		// the verdict and the records must be the same.
		var got1 []Record
		meta1, n1, err1 := decodePage(iotest.OneByteReader(bytes.NewReader(body)), decoderFor[Record](), skip, nil, func(r Record) error { got1 = append(got1, r); return nil })
		if (err == nil) != (err1 == nil) || n != n1 || meta != meta1 || !reflect.DeepEqual(got, got1) {
			t.Fatalf("%q: whole: n=%d %v; byte by byte: n=%d %v", body, n, err, n1, err1)
		}
		if err != nil {
			if len(got) > max(0, n-skip) {
				t.Fatalf("emitted %d records but decoded only %d", len(got), n)
			}
			return
		}
		// The oracle: encoding/json with exact key matching, as Salesforce
		// sends "done" and "records" in lower case.
		var doc map[string]json.RawMessage
		if err := json.NewDecoder(bytes.NewReader(body)).Decode(&doc); err != nil {
			t.Fatalf("accepted a body encoding/json rejects: %q: %v", body, err)
		}
		var done bool
		if err := json.Unmarshal(doc["done"], &done); err != nil {
			t.Fatalf("accepted %q with a bad done: %v", body, err)
		}
		var recs []json.RawMessage
		if r, ok := doc["records"]; ok {
			if err := json.Unmarshal(r, &recs); err != nil {
				t.Fatalf("accepted %q with bad records: %v", body, err)
			}
		}
		if done != meta.Done || n != len(recs) || len(got) != max(0, n-skip) {
			t.Fatalf("decoded n=%d emitted=%d done=%t; body has %d records done=%t", n, len(got), meta.Done, len(recs), done)
		}
	})
}

// FuzzRecordDecoder holds the fast Record decoder to encoding/json: it
// accepts exactly the objects encoding/json accepts and yields the same
// values.
func FuzzRecordDecoder(f *testing.F) {
	f.Add([]byte(`{"attributes":{"type":"Case","url":"/x"},"Id":"500","N":1.5e3,"B":true,"Z":null,"A":[1,"x",{"k":"v"}],"S":"a\"b\u00e9\n"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(` { "a" : [ ] , "b" : { } } `))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"a":01}`))
	f.Add([]byte(`{"a":tru}`))
	f.Add([]byte(`{"a":1,}`))
	f.Add([]byte("{\"a\":\"\x01\"}"))
	f.Add([]byte("{\"a\xff\":\"b\xffc\"}")) // invalid UTF-8 becomes U+FFFD
	f.Fuzz(func(t *testing.T, b []byte) {
		var d recordDecoder
		for range 2 { // the second pass uses interned names
			got, err := d.decode(b)
			if !json.Valid(b) {
				if err == nil {
					t.Fatalf("decode(%q) accepted JSON that encoding/json rejects", b)
				}
				return
			}
			var want any
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.UseNumber()
			if err := dec.Decode(&want); err != nil {
				t.Fatal(err)
			}
			switch w := want.(type) {
			case map[string]any:
				if err != nil {
					t.Fatalf("decode(%q): %v", b, err)
				}
				// DeepEqual, not a comparison of re-marshalled bytes:
				// json.Marshal would turn invalid UTF-8 into U+FFFD on both
				// sides and hide a decoder that kept the raw bytes.
				if !reflect.DeepEqual(map[string]any(got), w) {
					t.Fatalf("decode(%q) = %#v, encoding/json gives %#v", b, got, w)
				}
			case nil:
				if err != nil || got != nil {
					t.Fatalf("decode(null) = %v, %v", got, err)
				}
			default:
				if err == nil {
					t.Fatalf("decode(%q) accepted a %T as a record", b, w)
				}
			}
		}
	})
}
