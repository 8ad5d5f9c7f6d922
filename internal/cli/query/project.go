package query

import (
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"
)

// projector renders the selected columns of a record straight from its JSON
// bytes, without decoding the record into a map: strings are sliced out,
// numbers kept as sent, true/false spelled out and null left empty, exactly
// as Cell(Record.Field(column)) renders them (FuzzProjector holds the two
// together). A column whose value is an object or an array (a child
// subquery, or a relationship selected whole) is not handled here: cells
// reports ok=false and the caller renders that record the general way.
type projector struct {
	paths       [][]string
	top, nested []span // reused: members of the record and of a nested object
}

type span struct {
	key        string
	start, end int // the value's bytes
}

var errProjection = errors.New("record is not a well-formed JSON object")

func newProjector(cols []string) *projector {
	p := &projector{}
	for _, c := range cols {
		p.paths = append(p.paths, strings.Split(c, "."))
	}
	return p
}

// cells fills out (one entry a column) from raw. The strings it stores
// share memory with one copy of raw.
func (p *projector) cells(raw []byte, out []string) (ok bool, err error) {
	rec := strings.TrimSpace(string(raw))
	if rec == "" || rec[0] != '{' {
		return false, errProjection
	}
	if p.top, err = members(rec, p.top[:0]); err != nil {
		return false, err
	}
	for c, path := range p.paths {
		v, found := find(rec, p.top, path[0])
		for _, part := range path[1:] {
			if !found {
				break
			}
			if v == "" || v[0] != '{' {
				found = false // null, or a value that has no members
				break
			}
			if p.nested, err = members(v, p.nested[:0]); err != nil {
				return false, err
			}
			v, found = find(v, p.nested, part)
		}
		if !found {
			out[c] = ""
			continue
		}
		cell, simple, err := scalar(v)
		if err != nil {
			return false, err
		}
		if !simple {
			return false, nil
		}
		out[c] = cell
	}
	return true, nil
}

// find returns the value of the member named name: an exact match (the
// last, as in a map), else the first that matches case-insensitively, as
// Record.Field does.
func find(obj string, spans []span, name string) (string, bool) {
	for i := len(spans) - 1; i >= 0; i-- {
		if spans[i].key == name {
			return obj[spans[i].start:spans[i].end], true
		}
	}
	for _, sp := range spans {
		if strings.EqualFold(sp.key, name) {
			return obj[sp.start:sp.end], true
		}
	}
	return "", false
}

// members appends the members of the object at the start of s to spans.
func members(s string, spans []span) ([]span, error) {
	i := skipWS(s, 1)
	if i < len(s) && s[i] == '}' {
		return spans, nil
	}
	for {
		if i >= len(s) || s[i] != '"' {
			return spans, errProjection
		}
		end, err := skipString(s, i)
		if err != nil {
			return spans, err
		}
		key, err := unquote(s[i:end])
		if err != nil {
			return spans, err
		}
		i = skipWS(s, end)
		if i >= len(s) || s[i] != ':' {
			return spans, errProjection
		}
		start := skipWS(s, i+1)
		vend, err := skipValue(s, start, 0)
		if err != nil {
			return spans, err
		}
		spans = append(spans, span{key: key, start: start, end: vend})
		i = skipWS(s, vend)
		switch {
		case i < len(s) && s[i] == '}':
			return spans, nil
		case i < len(s) && s[i] == ',':
			i = skipWS(s, i+1)
		default:
			return spans, errProjection
		}
	}
}

// scalar renders a raw scalar value; simple is false for objects and
// arrays.
func scalar(v string) (cell string, simple bool, err error) {
	switch {
	case v == "null":
		return "", true, nil
	case v == "true" || v == "false":
		return v, true, nil
	case v == "":
		return "", false, errProjection
	case v[0] == '"':
		s, err := unquote(v)
		return s, true, err
	case v[0] == '{' || v[0] == '[':
		return "", false, nil
	default:
		return v, true, nil // a number, kept as sent (json.Number)
	}
}

// unquote returns the value of the JSON string q (quotes included). A
// string without escapes in valid UTF-8 is a substring of q; escapes and
// invalid UTF-8 go through encoding/json, which replaces invalid bytes as
// the decoder does.
func unquote(q string) (string, error) {
	if len(q) < 2 || q[0] != '"' || q[len(q)-1] != '"' {
		return "", errProjection
	}
	body := q[1 : len(q)-1]
	if strings.IndexByte(body, '\\') < 0 && utf8.ValidString(body) {
		return body, nil
	}
	var s string
	if err := json.Unmarshal([]byte(q), &s); err != nil {
		return "", err
	}
	return s, nil
}

func skipWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at the quote at i.
func skipString(s string, i int) (int, error) {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errProjection
}

// maxNesting bounds how deep skipValue follows objects and arrays.
const maxNesting = 10000

// skipValue returns the index after the JSON value starting at i. The REST
// client has validated every record it yields, so this only finds value
// boundaries, keeping itself in bounds on any input.
func skipValue(s string, i, depth int) (int, error) {
	if i >= len(s) || depth > maxNesting {
		return 0, errProjection
	}
	switch s[i] {
	case '"':
		return skipString(s, i)
	case '{', '[':
		closeCh := byte('}')
		if s[i] == '[' {
			closeCh = ']'
		}
		j := skipWS(s, i+1)
		if j < len(s) && s[j] == closeCh {
			return j + 1, nil
		}
		for {
			var err error
			if closeCh == '}' {
				if j >= len(s) || s[j] != '"' {
					return 0, errProjection
				}
				if j, err = skipString(s, j); err != nil {
					return 0, err
				}
				j = skipWS(s, j)
				if j >= len(s) || s[j] != ':' {
					return 0, errProjection
				}
				j = skipWS(s, j+1)
			}
			if j, err = skipValue(s, j, depth+1); err != nil {
				return 0, err
			}
			j = skipWS(s, j)
			switch {
			case j < len(s) && s[j] == closeCh:
				return j + 1, nil
			case j < len(s) && s[j] == ',':
				j = skipWS(s, j+1)
			default:
				return 0, errProjection
			}
		}
	default:
		j := i
		for j < len(s) && !strings.ContainsRune(" \t\r\n,}]", rune(s[j])) {
			j++
		}
		if j == i {
			return 0, errProjection
		}
		return j, nil
	}
}
