package rest

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestValidJSONAgreesWithEncodingJSON(t *testing.T) {
	cases := []string{
		`{}`, `[]`, `""`, `0`, `-0`, `-0.5e+10`, `1E5`, ` {"a" : [1, 2.5, true, false, null, "x\u00e9\n"]} `,
		`{"attributes":{"type":"Case"},"Id":"500","Subject":"Zoë \"quoted\" \/ \\"}`,
		"\"\xff\xfe\"", // invalid UTF-8 is valid JSON to encoding/json
		``, ` `, `{`, `}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[,1]`, `01`, `-`, `1.`, `.5`, `1e`, `1e+`,
		`+1`, `tru`, `nul`, `True`, `"abc`, "\"a\tb\"", `"\x"`, `"\u12g4"`, `"\u12"`, `{"a":1}x`, `[1 2]`,
		`{"a" 1}`, `{1:2}`, `NaN`, `"\`, `[` + strings.Repeat("[", 10001) + strings.Repeat("]", 10002),
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
	}
	for _, c := range cases {
		if got, want := validJSON([]byte(c)), json.Valid([]byte(c)); got != want {
			short := c
			if len(short) > 40 {
				short = short[:40] + "…"
			}
			t.Errorf("validJSON(%q) = %t, json.Valid = %t", short, got, want)
		}
	}
}

func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e-3,"x\u00e9"],"b":{"c":null}}`, `[true,false]`, `-0.0E+1`, `"\ud83d"`, `{"a":}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %t, json.Valid = %t", b, got, want)
		}
	})
}

func BenchmarkValidJSON(b *testing.B) {
	rec := []byte(`{"attributes":{"type":"Case","url":"/services/data/v62.0/sobjects/Case/500xx0000000001AAA"},"Id":"500xx0000000001AAA","CaseNumber":"00001000","Subject":"Printer on fire, floor 2","Status":"New","Priority":"High","CreatedDate":"2026-11-20T10:00:00.000+0000","IsClosed":false,"Amount":12.5}`)
	b.Run("validJSON", func(b *testing.B) {
		b.SetBytes(int64(len(rec)))
		for b.Loop() {
			if !validJSON(rec) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(rec)))
		for b.Loop() {
			if !json.Valid(rec) {
				b.Fatal("invalid")
			}
		}
	})
}
