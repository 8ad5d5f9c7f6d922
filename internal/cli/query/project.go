package query

import (
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/sfbridge/sfbridge/internal/jsonscan"
)

// projector renders the selected columns of a record straight from its JSON
// bytes, without decoding the record into a map: strings are sliced out,
// numbers kept as sent, true/false spelled out and null left empty, exactly
// as output.Cell(Record.Field(column)) renders them (FuzzProjector holds the two
// together). It validates the record as it goes (jsonscan.Object), so the
// bytes may come straight from the page. A column whose value is an object
// or an array (a child subquery, or a relationship selected whole) is not
// handled here: cells reports ok=false and the caller renders that record
// the general way.
type projector struct {
	paths              [][]string
	top, nested        []jsonscan.Member // reused: members of the record and of a nested object
	names, nestedNames []string          // reused: the names of top's and nested's members
}

var errProjection = errors.New("record is not a well-formed JSON object")

func newProjector(cols []string) *projector {
	p := &projector{}
	for _, c := range cols {
		p.paths = append(p.paths, strings.Split(c, "."))
	}
	return p
}

// cells checks that raw is one JSON object and fills out (one entry a
// column) from it. The strings it stores share memory with one copy of raw.
func (p *projector) cells(raw []byte, out []string) (ok bool, err error) {
	var valid bool
	if p.top, valid = jsonscan.Object(raw, p.top[:0]); !valid {
		return false, errProjection
	}
	rec := string(raw)
	p.names = p.names[:0]
	for _, m := range p.top {
		p.names = append(p.names, memberName(rec, 0, m))
	}
	for c, path := range p.paths {
		var m jsonscan.Member
		i, found := find(p.names, path[0])
		if found {
			m = p.top[i]
		}
		for _, part := range path[1:] {
			if !found {
				break
			}
			if rec[m.Start] != '{' {
				found = false // null, or a value that has no members
				break
			}
			// Valid already: this only finds the nested members again.
			base := m.Start
			p.nested, _ = jsonscan.Object(raw[m.Start:m.End], p.nested[:0])
			p.nestedNames = p.nestedNames[:0]
			for _, n := range p.nested {
				p.nestedNames = append(p.nestedNames, memberName(rec, base, n))
			}
			if i, found = find(p.nestedNames, part); found {
				m = shift(p.nested[i], base)
			}
		}
		if !found {
			out[c] = ""
			continue
		}
		cell, simple, err := scalar(rec, m)
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

// find returns the index of the member named name: an exact match (the
// last, as in a map), else the first that matches case-insensitively, as
// Record.Field does.
func find(names []string, name string) (int, bool) {
	for i := len(names) - 1; i >= 0; i-- {
		if names[i] == name {
			return i, true
		}
	}
	for i, n := range names {
		if strings.EqualFold(n, name) {
			return i, true
		}
	}
	return 0, false
}

func memberName(rec string, base int, m jsonscan.Member) string {
	if m.PlainName {
		return rec[base+m.NameStart : base+m.NameEnd]
	}
	name, _ := unquote(rec[base+m.NameStart-1 : base+m.NameEnd+1]) // valid: Object checked it
	return name
}

func shift(m jsonscan.Member, base int) jsonscan.Member {
	m.NameStart += base
	m.NameEnd += base
	m.Start += base
	m.End += base
	return m
}

// scalar renders the value of m; simple is false for objects and arrays.
func scalar(rec string, m jsonscan.Member) (cell string, simple bool, err error) {
	v := rec[m.Start:m.End]
	switch {
	case m.Plain:
		return v[1 : len(v)-1], true, nil
	case v == "null":
		return "", true, nil
	case v == "true" || v == "false":
		return v, true, nil
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
