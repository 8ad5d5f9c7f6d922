package rest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/sfbridge/sfbridge/internal/jsonscan"
)

// recordDecoder turns the bytes of one JSON object into a [Record] with the
// same values encoding/json would produce (with UseNumber), and rejects
// what encoding/json rejects. It validates and decodes in one pass, makes
// one string of the record and slices every unescaped string value and
// number out of it, and reuses one copy of each field name across the
// records of a query. FuzzRecordDecoder holds it to encoding/json.
type recordDecoder struct {
	names map[string]string
	hint  int
	raw   []byte // the record being decoded, the bytes of s
}

const maxInternedNames = 4096

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

func (d *recordDecoder) decode(raw []byte) (Record, error) {
	s := string(raw)
	d.raw = raw
	defer func() { d.raw = nil }()
	v, i, err := d.value(s, skipSpace(s, 0), 0)
	if err != nil {
		return nil, err
	}
	if i = skipSpace(s, i); i != len(s) {
		return nil, syntaxErr(s, i, "after the record")
	}
	switch m := v.(type) {
	case map[string]any:
		return Record(m), nil
	case nil:
		return nil, nil
	default:
		return nil, fmt.Errorf("record is a JSON %T, not an object", v)
	}
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

func syntaxErr(s string, i int, what string) error {
	if i >= len(s) {
		return fmt.Errorf("record JSON ends early (%s): %w", what, errShortJSON)
	}
	return fmt.Errorf("invalid character %q in record JSON at offset %d (%s)", s[i], i, what)
}

func (d *recordDecoder) value(s string, i, depth int) (any, int, error) {
	if i >= len(s) {
		return nil, i, syntaxErr(s, i, "value")
	}
	switch c := s[i]; {
	case c == '{':
		if depth >= maxDepth {
			return nil, i, errors.New("record JSON nests too deeply")
		}
		return d.object(s, i, depth)
	case c == '[':
		if depth >= maxDepth {
			return nil, i, errors.New("record JSON nests too deeply")
		}
		return d.array(s, i, depth)
	case c == '"':
		str, j, err := d.str(s, i, false)
		if err != nil {
			return nil, j, err
		}
		return str, j, nil
	case c == 't':
		return literal(s, i, "true", true)
	case c == 'f':
		return literal(s, i, "false", false)
	case c == 'n':
		return literal(s, i, "null", nil)
	case c == '-' || c >= '0' && c <= '9':
		j, ok := jsonscan.NumberEnd(s, i)
		if !ok {
			return nil, j, syntaxErr(s, j, "number")
		}
		return json.Number(s[i:j]), j, nil
	default:
		return nil, i, syntaxErr(s, i, "value")
	}
}

func literal(s string, i int, word string, v any) (any, int, error) {
	if !strings.HasPrefix(s[i:], word) {
		return nil, i, syntaxErr(s, i, "literal")
	}
	return v, i + len(word), nil
}

func (d *recordDecoder) array(s string, i, depth int) (any, int, error) {
	arr := []any{}
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == ']' {
		return arr, i + 1, nil
	}
	for {
		v, j, err := d.value(s, skipSpace(s, i), depth+1)
		if err != nil {
			return nil, j, err
		}
		arr = append(arr, v)
		j = skipSpace(s, j)
		switch {
		case j < len(s) && s[j] == ']':
			return arr, j + 1, nil
		case j < len(s) && s[j] == ',':
			i = j + 1
		default:
			return nil, j, syntaxErr(s, j, "after an array element")
		}
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
			return nil, j, syntaxErr(s, j, "after a field name")
		}
		v, j, err := d.value(s, skipSpace(s, j+1), depth+1)
		if err != nil {
			return nil, j, err
		}
		m[k] = v
		j = skipSpace(s, j)
		switch {
		case j < len(s) && s[j] == '}':
			if depth == 0 {
				d.hint = len(m)
			}
			return m, j + 1, nil
		case j < len(s) && s[j] == ',':
			i = j + 1
		default:
			return nil, j, syntaxErr(s, j, "after a field value")
		}
	}
}

// str reads the string starting at the quote at i, checked by
// jsonscan.StringEnd on the same bytes. A plain ASCII string is a substring
// of s; anything else with an escape or invalid UTF-8 is unquoted by
// encoding/json (U+FFFD for invalid UTF-8). Names are interned.
func (d *recordDecoder) str(s string, i int, name bool) (string, int, error) {
	if i >= len(s) || s[i] != '"' {
		return "", i, syntaxErr(s, i, "string")
	}
	j, plain, ok := jsonscan.StringEnd(d.raw, i)
	if !ok {
		return "", j, syntaxErr(s, j, "string")
	}
	out := s[i+1 : j-1]
	if !plain && (strings.IndexByte(out, '\\') >= 0 || !utf8.ValidString(out)) {
		var u string // its own variable: &u escapes, out should not
		if err := json.Unmarshal([]byte(s[i:j]), &u); err != nil {
			return "", j, err
		}
		out = u
	}
	if name {
		if n, ok := d.names[out]; ok {
			return n, j, nil
		}
		if d.names == nil {
			d.names = map[string]string{}
		}
		if len(d.names) < maxInternedNames {
			// Copy so that the interned name does not pin this record.
			n := strings.Clone(out)
			d.names[n] = n
			return n, j, nil
		}
	}
	return out, j, nil
}

// errShortJSON means the input ended inside a value.
var errShortJSON = errors.New("unexpected end of JSON input")
