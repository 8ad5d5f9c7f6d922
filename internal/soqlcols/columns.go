// Package soqlcols reads the output columns of a SOQL query from its
// SELECT list, for the commands that print query results as rows.
package soqlcols

import (
	"fmt"
	"iter"
	"strings"
	"unicode"
)

// Columns returns the output columns of a SOQL query, in SELECT order:
// field paths as written ("Id", "Contact.Email"), aggregate aliases or
// Salesforce's expr0, expr1… for unaliased aggregates, and the
// relationship name of a child subquery. ok is false when the field list
// cannot be read this way (FIELDS(), TYPEOF, or not a SELECT); the caller
// then uses the fields of the first record.
func Columns(soql string) (cols []string, ok bool) {
	list, ok := selectList(soql)
	if !ok {
		return nil, false
	}
	expr := 0
	for _, item := range splitTopLevel(list) {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, false
		}
		upper := strings.ToUpper(item)
		switch {
		case strings.HasPrefix(upper, "FIELDS(") || strings.HasPrefix(upper, "FIELDS ("), strings.HasPrefix(upper, "TYPEOF"):
			return nil, false
		case strings.HasPrefix(item, "("):
			// (SELECT ... FROM CaseComments ...): the relationship name.
			inner := strings.TrimSuffix(strings.TrimPrefix(item, "("), ")")
			from := indexWord(inner, "FROM")
			if from < 0 {
				return nil, false
			}
			f := strings.Fields(inner[from+len("FROM"):])
			if len(f) == 0 {
				return nil, false
			}
			cols = append(cols, f[0])
		case strings.Contains(item, "("):
			// An aggregate or function, with an optional alias after ")".
			close := strings.LastIndexByte(item, ')')
			if alias := strings.TrimSpace(item[close+1:]); alias != "" {
				cols = append(cols, alias)
			} else {
				cols = append(cols, fmt.Sprintf("expr%d", expr))
				expr++
			}
		default:
			f := strings.Fields(item)
			cols = append(cols, f[len(f)-1]) // a field, or "field alias" in aggregate queries
			if len(f) > 2 {
				return nil, false
			}
		}
	}
	for _, c := range cols {
		if !isPath(c) {
			return nil, false
		}
	}
	return cols, len(cols) > 0
}

// isPath accepts field names, dotted paths and aliases.
func isPath(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// selectList returns the text between the leading SELECT and its FROM.
func selectList(soql string) (string, bool) {
	s := strings.TrimSpace(soql)
	if len(s) < 7 || !strings.EqualFold(s[:6], "SELECT") || !unicode.IsSpace(rune(s[6])) {
		return "", false
	}
	s = s[6:]
	from := indexWord(s, "FROM")
	if from < 0 {
		return "", false
	}
	return s[:from], true
}

// topLevel yields the index of every byte of s that stands outside
// parentheses and single-quoted strings (with backslash escapes), in order.
func topLevel(s string) iter.Seq[int] {
	return func(yield func(int) bool) {
		depth, quoted := 0, false
		for i := 0; i < len(s); i++ {
			c := s[i]
			switch {
			case quoted:
				switch c {
				case '\\':
					i++
				case '\'':
					quoted = false
				}
			case c == '\'':
				quoted = true
			case c == '(':
				depth++
			case c == ')':
				depth--
			case depth == 0:
				if !yield(i) {
					return
				}
			}
		}
	}
}

// indexWord finds word (case-insensitive, as a whole word) outside
// parentheses and quotes.
func indexWord(s, word string) int {
	for i := range topLevel(s) {
		if i+len(word) <= len(s) && strings.EqualFold(s[i:i+len(word)], word) {
			before := i == 0 || isSpace(s[i-1]) || s[i-1] == ')'
			after := i+len(word) == len(s) || isSpace(s[i+len(word)])
			if before && after {
				return i
			}
		}
	}
	return -1
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// splitTopLevel splits on commas outside parentheses and quotes.
func splitTopLevel(s string) []string {
	var parts []string
	start := 0
	for i := range topLevel(s) {
		if s[i] == ',' {
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// IsCountOnly reports whether soql is a SELECT COUNT() query, which
// Salesforce answers with totalSize and no records.
func IsCountOnly(soql string) bool {
	list, ok := selectList(soql)
	if !ok {
		return false
	}
	compact := strings.ToUpper(strings.Join(strings.Fields(list), ""))
	return compact == "COUNT()"
}
