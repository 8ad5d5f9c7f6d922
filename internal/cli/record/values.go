package record

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/sfbridge/sfbridge/rest"
)

// ParseValues reads field values in the syntax of `sf data create record
// --values`, following the rules of the Salesforce CLI's own parser:
//
//   - The text is split into Field=Value tokens at whitespace outside
//     quotes. A single quote (') or double quote (") starts and ends a
//     quoted stretch only if that character occurs at least twice in the
//     whole text; such quote characters are dropped wherever they stand, so
//     Subject='Two words' and Subject=Two' 'words both give "Two words". A
//     quote character that occurs only once is kept as a literal
//     (Name=O'Brien), as is a quote inside the other kind of quotes
//     (Note="it's"). A backslash is an ordinary character.
//   - Each token is split at its first '='; the rest, '=' included, is the
//     value (Formula__c=a=b gives "a=b"). A token without '=' is an error.
//   - If a token contains both '{' and '}' and its value is valid JSON, the
//     JSON value is sent (Data__c='{"a":1}'); numbers in it are kept as
//     written. Otherwise the value is treated like any other.
//   - A value that is true or false in any letter case, ignoring
//     surrounding whitespace, becomes a boolean, even if it was quoted.
//   - Every other value is sent as a string exactly as written: 12.50 is the
//     string "12.50" and null the string "null" (Salesforce converts
//     strings for number, date and other fields), and Field= sends "",
//     which Salesforce stores as null: that is how a field is cleared.
//
// sfbridge is stricter than sf in three ways, all refused before anything
// is sent: a field given twice is an error (sf keeps the last value
// silently); a name that is not a field API name (letters, digits and
// underscores) is an error; and text without any Field=Value pair is an
// error (sf would send an empty record).
func ParseValues(s string) (map[string]any, error) {
	out := map[string]any{}
	for _, tok := range splitValues(s) {
		eq := strings.IndexByte(tok, '=')
		if eq < 0 {
			return nil, fmt.Errorf("--values: %q has no '=': write Field=Value, quoting values with spaces (Subject='Two words')", tok)
		}
		name, raw := tok[:eq], tok[eq+1:]
		if !rest.IsAPIName(name) {
			return nil, fmt.Errorf("--values: %q is not a field API name", name)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("--values: field %s is given twice", name)
		}
		var v any
		ok := false
		if strings.Contains(tok, "{") && strings.Contains(tok, "}") {
			v, ok = parseJSON(raw)
		}
		if !ok {
			v = boolOrString(raw)
		}
		out[name] = v
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--values: no Field=Value pairs")
	}
	return out, nil
}

// splitValues splits s into tokens at whitespace outside quotes, dropping
// the quote characters that open and close quoted stretches.
func splitValues(s string) []string {
	// Trimming s first, as sf does, would not change the counts.
	singles := strings.Count(s, "'") >= 2
	doubles := strings.Count(s, `"`) >= 2
	var tokens []string
	var cur []byte
	inSingle, inDouble := false, false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\'' && singles && !inDouble:
			inSingle = !inSingle
		case r == '"' && doubles && !inSingle:
			inDouble = !inDouble
		case !inSingle && !inDouble && isSpace(r):
			if len(cur) > 0 {
				tokens = append(tokens, string(cur))
				cur = cur[:0]
			}
		default:
			// Bytes are copied, so invalid UTF-8 passes through unchanged.
			cur = append(cur, s[i:i+size]...)
		}
		i += size
	}
	if len(cur) > 0 {
		tokens = append(tokens, string(cur))
	}
	return tokens
}

// parseJSON decodes raw if it is one valid JSON value (surrounding JSON
// whitespace allowed), keeping numbers as written.
func parseJSON(raw string) (any, bool) {
	if !json.Valid([]byte(raw)) {
		return nil, false
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	return v, true
}

func boolOrString(raw string) any {
	t := strings.TrimFunc(raw, isSpace)
	switch {
	case asciiEqualFold(t, "true"):
		return true
	case asciiEqualFold(t, "false"):
		return false
	}
	return raw
}

// asciiEqualFold reports whether s equals the lower-case ASCII word w when
// ASCII letters are lower-cased. Unlike strings.EqualFold it does not fold
// other letters (ſ, the long s, is not an s here, nor in sf).
func asciiEqualFold(s, w string) bool {
	if len(s) != len(w) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[i] {
			return false
		}
	}
	return true
}

// isSpace reports whether r is whitespace for sf's parser (JavaScript's \s
// and String.prototype.trim): unlike unicode.IsSpace it includes U+FEFF and
// excludes U+0085.
func isSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF:
		return true
	}
	return 0x2000 <= r && r <= 0x200A
}
