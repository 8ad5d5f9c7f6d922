package jsonscan

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

var validCases = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `-0.5e+10`, `1E5`, ` {"a" : [1, 2.5, true, false, null, "x\u00e9\n"]} `,
	`{"attributes":{"type":"Case"},"Id":"500","Subject":"Zoë \"quoted\" \/ \\"}`,
	"\"\xff\xfe\"", // invalid UTF-8 is valid JSON to encoding/json
	``, ` `, `{`, `}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[,1]`, `01`, `-`, `1.`, `.5`, `1e`, `1e+`,
	`+1`, `tru`, `nul`, `True`, `"abc`, "\"a\tb\"", `"\x"`, `"\u12g4"`, `"\u12"`, `{"a":1}x`, `[1 2]`,
	`{"a" 1}`, `{1:2}`, `NaN`, `"\`, `[` + strings.Repeat("[", 10001) + strings.Repeat("]", 10002),
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
	// Strings long enough for the word-at-a-time path, with the special
	// byte at every position of a word.
	`"0123456789abcdef0123456789"`, `"0123456789abcdef012345678\"9"`, "\"0123456789abcde\x01f\"",
	`"01234567\\89abcdef"`, `"0123456\u00e9789abcdef"`, `"01234567`, `"0123456789abcdef\`,
	"\"\x7f\x80\x9f\xa0\xff0123456789\"",
}

func TestValidAgreesWithEncodingJSON(t *testing.T) {
	for _, c := range validCases {
		if got, want := Valid([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("Valid(%.40q) = %t, json.Valid = %t", c, got, want)
		}
	}
	for n := range 20 {
		for _, special := range []string{`\"`, `\\`, "\x1f", `\u0041`, "é"} {
			s := `"` + strings.Repeat("x", n) + special + strings.Repeat("y", 20-n) + `"`
			if got, want := Valid([]byte(s)), json.Valid([]byte(s)); got != want {
				t.Errorf("Valid(%q) = %t, json.Valid = %t", s, got, want)
			}
		}
	}
}

func FuzzValid(f *testing.F) {
	for _, s := range validCases[:20] {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Valid(b), json.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %t, json.Valid = %t", b, got, want)
		}
	})
}

// members decodes the members of the object b with encoding/json, as name
// and raw value, in order.
func members(t *testing.T, b []byte) (names []string, values []string) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %q", b)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			t.Fatal(err)
		}
		names = append(names, tok.(string))
		values = append(values, string(raw))
	}
	return names, values
}

// checkMembers holds what Object found to encoding/json's reading of b.
func checkMembers(t *testing.T, b []byte, ms []Member) {
	t.Helper()
	names, values := members(t, b)
	if len(ms) != len(names) {
		t.Fatalf("%q: %d members, encoding/json finds %d", b, len(ms), len(names))
	}
	for i, m := range ms {
		var name string
		if err := json.Unmarshal(b[m.NameStart-1:m.NameEnd+1], &name); err != nil || name != names[i] {
			t.Fatalf("%q: member %d name %q (%v), want %q", b, i, name, err, names[i])
		}
		if m.PlainName && string(b[m.NameStart:m.NameEnd]) != name {
			t.Fatalf("%q: member %d name is plain but its bytes are not its value", b, i)
		}
		if got := string(b[m.Start:m.End]); got != values[i] {
			t.Fatalf("%q: member %d value %q, want %q", b, i, got, values[i])
		}
		var v any
		if err := json.Unmarshal(b[m.Start:m.End], &v); err != nil {
			t.Fatal(err)
		}
		s, isString := v.(string)
		if m.Plain && (!isString || string(b[m.Start+1:m.End-1]) != s) {
			t.Fatalf("%q: member %d value is plain but its bytes are not its value", b, i)
		}
		if isString && !m.Plain && !bytes.ContainsAny(b[m.Start:m.End], "\\") && !hasNonASCII(b[m.Start:m.End]) {
			t.Fatalf("%q: member %d value %s is plain, not marked so", b, i, b[m.Start:m.End])
		}
	}
}

func hasNonASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

func TestObjectMembers(t *testing.T) {
	rec := []byte(` {"attributes":{"type":"Case","url":"/services/data/v62.0/sobjects/Case/500xx0000000001AAA"},
	 "Id" : "500xx0000000001AAA","Subject":"Printer \"on fire\", floor 2","Amount":12.50,"IsClosed":false,
	 "ClosedDate":null,"Contact":{"Name":"Zoë Ågren"},"Tags":["a",{"b":[]}],"Na\u006de":"x","": ""} `)
	ms, ok := Object(rec, nil)
	if !ok {
		t.Fatal("Object refused a valid record")
	}
	checkMembers(t, rec, ms)
	if !ms[1].Plain || ms[2].Plain || !ms[0].PlainName || ms[8].PlainName {
		t.Errorf("plain flags: %+v", ms)
	}
}

func TestObjectRefuses(t *testing.T) {
	for _, c := range []string{``, `[]`, `"x"`, `1`, `{"a":`, `{"a" 1}`, `{"a":1,}`, `{"a":"\u00`, `{1:2}`, `{"a":1}}`, `{}x`} {
		if _, ok := Object([]byte(c), nil); ok {
			t.Errorf("Object(%q) accepted it", c)
		}
	}
}

func FuzzObject(f *testing.F) {
	f.Add([]byte(`{"a":[1,{"c":"\ud83d\ude00"}],"B":null,"c":"plain text here","d":"\xff\xfe"}`))
	f.Add([]byte(`{"attributes":{"type":"Case"},"Id":"500xx0000000001AAA","Subject":"a \"b\""}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, ok := Object(b, nil)
		trimmed := bytes.TrimSpace(b)
		want := json.Valid(b) && len(trimmed) > 0 && trimmed[0] == '{'
		if ok != want {
			t.Fatalf("Object(%q) = %t, want %t", b, ok, want)
		}
		if ok {
			checkMembers(t, b, ms)
		}
	})
}

func FuzzIndexQuoteOrBackslash(f *testing.F) {
	f.Add([]byte(`0123456789abcdef\"`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := IndexQuoteOrBackslash(b), bytes.IndexAny(b, `"\`); got != want {
			t.Fatalf("IndexQuoteOrBackslash(%q) = %d, want %d", b, got, want)
		}
	})
}

func BenchmarkValid(b *testing.B) {
	rec := []byte(`{"attributes":{"type":"Case","url":"/services/data/v62.0/sobjects/Case/500xx0000000001AAA"},"Id":"500xx0000000001AAA","CaseNumber":"00001000","Subject":"Printer on fire, floor 2","Status":"New","Priority":"High","CreatedDate":"2026-11-20T10:00:00.000+0000","IsClosed":false,"Amount":12.5}`)
	b.Run("Valid", func(b *testing.B) {
		b.SetBytes(int64(len(rec)))
		for b.Loop() {
			if !Valid(rec) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("Object", func(b *testing.B) {
		b.SetBytes(int64(len(rec)))
		var ms []Member
		for b.Loop() {
			var ok bool
			if ms, ok = Object(rec, ms[:0]); !ok {
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
