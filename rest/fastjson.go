package rest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// recordDecoder turns one JSON object, already validated by encoding/json's
// scanner, into a [Record] with the same values encoding/json would produce
// (with UseNumber). It is several times faster than reflection-based
// decoding into map[string]any because it makes one string of the record
// and slices every unescaped string value and number out of it, and it
// reuses one copy of each field name across the records of a query.
type recordDecoder struct {
	names map[string]string
	hint  int
}

const maxInternedNames = 4096

func (d *recordDecoder) decode(raw []byte) (Record, error) {
	s := string(raw)
	v, _, err := d.value(s, skipSpace(s, 0), 0)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		if v == nil {
			return nil, nil
		}
		return nil, fmt.Errorf("record is %T, not an object", v)
	}
	return Record(m), nil
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

func (d *recordDecoder) value(s string, i, depth int) (any, int, error) {
	if i >= len(s) {
		return nil, i, errShortJSON
	}
	if depth > 10000 {
		return nil, i, fmt.Errorf("record nests too deeply")
	}
	switch c := s[i]; {
	case c == '{':
		return d.object(s, i, depth)
	case c == '[':
		var arr []any
		i = skipSpace(s, i+1)
		if i < len(s) && s[i] == ']' {
			return []any{}, i + 1, nil
		}
		for {
			v, j, err := d.value(s, skipSpace(s, i), depth+1)
			if err != nil {
				return nil, j, err
			}
			arr = append(arr, v)
			j = skipSpace(s, j)
			if j >= len(s) {
				return nil, j, errShortJSON
			}
			if s[j] == ']' {
				return arr, j + 1, nil
			}
			i = j + 1 // ','
		}
	case c == '"':
		return d.str(s, i, false)
	case c == 't':
		return true, i + 4, nil
	case c == 'f':
		return false, i + 5, nil
	case c == 'n':
		return nil, i + 4, nil
	default:
		j := i
		for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '-' || s[j] == '+' || s[j] == '.' || s[j] == 'e' || s[j] == 'E') {
			j++
		}
		if j == i {
			return nil, i, fmt.Errorf("unexpected %q in record", c)
		}
		return json.Number(s[i:j]), j, nil
	}
}

func (d *recordDecoder) object(s string, i, depth int) (any, int, error) {
	hint := 0
	if depth == 0 {
		hint = d.hint
	}
	m := make(map[string]any, hint)
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == '}' {
		return m, i + 1, nil
	}
	for {
		k, j, err := d.str(s, skipSpace(s, i), true)
		if err != nil {
			return nil, j, err
		}
		j = skipSpace(s, j)
		if j >= len(s) || s[j] != ':' {
			return nil, j, errShortJSON
		}
		v, j, err := d.value(s, skipSpace(s, j+1), depth+1)
		if err != nil {
			return nil, j, err
		}
		m[k] = v
		j = skipSpace(s, j)
		if j >= len(s) {
			return nil, j, errShortJSON
		}
		if s[j] == '}' {
			if depth == 0 {
				d.hint = len(m)
			}
			return m, j + 1, nil
		}
		i = skipSpace(s, j+1) // ','
	}
}

// str reads the string starting at the quote at i. Without escapes it is a
// substring of s; with escapes encoding/json unquotes it. Names are interned.
func (d *recordDecoder) str(s string, i int, name bool) (string, int, error) {
	if i >= len(s) || s[i] != '"' {
		return "", i, errShortJSON
	}
	j := i + 1
	slow := false // escapes, or bytes that may be invalid UTF-8
	for j < len(s) && s[j] != '"' {
		switch {
		case s[j] == '\\':
			slow = true
			j++
		case s[j] >= utf8.RuneSelf:
			slow = true
		}
		j++
	}
	if j >= len(s) {
		return "", j, errShortJSON
	}
	out := s[i+1 : j]
	if slow && (strings.IndexByte(out, '\\') >= 0 || !utf8.ValidString(out)) {
		// encoding/json's rules: escapes, and U+FFFD for invalid UTF-8.
		var u string // its own variable: &u escapes, out should not
		if err := json.Unmarshal([]byte(s[i:j+1]), &u); err != nil {
			return "", j, err
		}
		out = u
	}
	if name {
		if n, ok := d.names[out]; ok {
			return n, j + 1, nil
		}
		if d.names == nil {
			d.names = map[string]string{}
		}
		if len(d.names) < maxInternedNames {
			// Copy so that the interned name does not pin this record.
			n := strings.Clone(out)
			d.names[n] = n
			return n, j + 1, nil
		}
	}
	return out, j + 1, nil
}

// errShortJSON means the input ended inside a value; it cannot happen for
// input that encoding/json's scanner accepted.
var errShortJSON = errors.New("record JSON ends early")
