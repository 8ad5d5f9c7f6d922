package record

import (
	"encoding/json"
	"fmt"
	"strings"
)

// ParseValues reads field values in the syntax of `sf data create record
// --values`: space-separated Field=Value pairs, where a value containing
// spaces is quoted with single or double quotes ("Subject='Two words'").
// Inside quotes a backslash escapes the quote character or a backslash.
//
// Unquoted true and false become booleans, unquoted null clears the field,
// and unquoted numbers are sent as JSON numbers; anything quoted is sent
// as a string exactly as written.
func ParseValues(s string) (map[string]any, error) {
	out := map[string]any{}
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i == len(s) {
			break
		}
		start := i
		for i < len(s) && s[i] != '=' && !isSpace(s[i]) {
			i++
		}
		name := s[start:i]
		if i == len(s) || s[i] != '=' {
			return nil, fmt.Errorf("--values: %q has no '=': write Field=Value, quoting values with spaces (Subject='Two words')", name)
		}
		if !validField(name) {
			return nil, fmt.Errorf("--values: %q is not a field API name", name)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("--values: field %s is given twice", name)
		}
		i++ // '='
		var v any
		if i < len(s) && (s[i] == '\'' || s[i] == '"') {
			q := s[i]
			var b strings.Builder
			i++
			closed := false
			for i < len(s) {
				c := s[i]
				if c == '\\' && i+1 < len(s) && (s[i+1] == q || s[i+1] == '\\') {
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				if c == q {
					closed = true
					i++
					break
				}
				b.WriteByte(c)
				i++
			}
			if !closed {
				return nil, fmt.Errorf("--values: the value of %s has no closing %c", name, q)
			}
			if i < len(s) && !isSpace(s[i]) {
				return nil, fmt.Errorf("--values: unexpected %q after the quoted value of %s; separate pairs with spaces", s[i], name)
			}
			v = b.String()
		} else {
			start := i
			for i < len(s) && !isSpace(s[i]) {
				i++
			}
			v = typed(s[start:i])
		}
		out[name] = v
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--values: no Field=Value pairs")
	}
	return out, nil
}

func typed(raw string) any {
	switch raw {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	}
	if isNumber(raw) {
		return json.Number(raw)
	}
	return raw
}

// isNumber accepts JSON-style numbers without exponent: -12, 3.50.
func isNumber(s string) bool {
	if s == "" {
		return false
	}
	i := 0
	if s[0] == '-' {
		i++
	}
	digits, dot := 0, false
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot && digits > 0:
			dot = true
		default:
			return false
		}
	}
	if digits == 0 || s[len(s)-1] == '.' {
		return false
	}
	// No leading zeros (they are likely codes such as a postal code).
	t := strings.TrimPrefix(s, "-")
	return !(len(t) > 1 && t[0] == '0' && t[1] != '.')
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func validField(s string) bool {
	if s == "" || len(s) > 120 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}
