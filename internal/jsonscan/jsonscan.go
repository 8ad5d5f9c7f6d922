// Package jsonscan walks JSON text in one direct pass. It validates with
// exactly the verdicts of encoding/json's Valid and, for an object, reports
// where each member's name and value lie, so that a caller can pick values
// out of a query record without decoding it into a map.
//
// Strings, which make up most of a Salesforce record, are skipped eight
// bytes at a time: a word is tested at once for a quote, a backslash or a
// control byte, and only the word that holds one is looked at byte by byte.
package jsonscan

import (
	"encoding/binary"
	"math/bits"
)

// MaxDepth is how deeply objects and arrays may nest, as in encoding/json.
const MaxDepth = 10000

// Valid reports whether b is one JSON value, white space around it allowed,
// with encoding/json.Valid's verdicts: RFC 8259 syntax, nesting at most
// MaxDepth deep, no byte below 0x20 inside a string. Like encoding/json it
// does not require valid UTF-8.
func Valid(b []byte) bool {
	w := walker{b: b}
	i, ok := w.value(ws(b, 0), 0)
	return ok && ws(b, i) == len(b)
}

// Member is one member of an object, as offsets into the text that was
// walked.
type Member struct {
	// NameStart and NameEnd enclose the name's bytes, without the quotes.
	NameStart, NameEnd int
	// Start and End enclose the value's bytes, quotes included for a string.
	Start, End int
	// PlainName is true when the name has no escape and only ASCII bytes:
	// its bytes are then its value.
	PlainName bool
	// Plain is true when the value is a string with no escape and only
	// ASCII bytes: the bytes between its quotes are then its value.
	Plain bool
}

// Object checks that b is one JSON object, white space around it allowed,
// with Valid's verdicts, and appends its members in order to ms. On false,
// ms holds what was found before the fault.
func Object(b []byte, ms []Member) ([]Member, bool) {
	w := walker{b: b}
	i := ws(b, 0)
	if i >= len(b) || b[i] != '{' {
		return ms, false
	}
	end, ok := w.object(i, 1, &ms)
	return ms, ok && ws(b, end) == len(b)
}

// IndexQuoteOrBackslash returns the index of the first '"' or '\\' in b, or
// -1: where a string that started before b may end.
func IndexQuoteOrBackslash(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		if m := hasByte(x, '"') | hasByte(x, '\\'); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(b); i++ {
		if b[i] == '"' || b[i] == '\\' {
			return i
		}
	}
	return -1
}

const (
	ones = 0x0101010101010101
	high = 0x8080808080808080
)

// hasByte sets the high bit of each byte of x that equals c. A byte above
// a true match may be flagged wrongly (a borrow), never one below it, so the
// lowest flag is always a true match.
func hasByte(x uint64, c byte) uint64 {
	y := x ^ (ones * uint64(c))
	return (y - ones) &^ y & high
}

// below sets the high bit of each byte of x that is less than n (n ≤ 0x80),
// with the same guarantee for the lowest flag as hasByte.
func below(x uint64, n byte) uint64 {
	return (x - ones*uint64(n)) &^ x & high
}

type walker struct{ b []byte }

func ws(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// value checks the value at i and returns the index after it.
func (w *walker) value(i, depth int) (int, bool) {
	if i >= len(w.b) {
		return i, false
	}
	switch c := w.b[i]; {
	case c == '{':
		return w.object(i, depth+1, nil)
	case c == '[':
		return w.array(i, depth+1)
	case c == '"':
		end, _, ok := w.str(i)
		return end, ok
	case c == '-' || (c >= '0' && c <= '9'):
		return NumberEnd(w.b, i)
	case c == 't':
		return w.word(i, "true")
	case c == 'f':
		return w.word(i, "false")
	case c == 'n':
		return w.word(i, "null")
	default:
		return i, false
	}
}

func (w *walker) word(i int, lit string) (int, bool) {
	if len(w.b)-i < len(lit) || string(w.b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

// object checks the object at i; with ms, it appends the object's members.
func (w *walker) object(i, depth int, ms *[]Member) (int, bool) {
	b := w.b
	if depth > MaxDepth {
		return i, false
	}
	i = ws(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return i, false
		}
		nameStart := i + 1
		end, plainName, ok := w.str(i)
		if !ok {
			return end, false
		}
		i = ws(b, end)
		if i >= len(b) || b[i] != ':' {
			return i, false
		}
		start := ws(b, i+1)
		plain := false
		if start < len(b) && b[start] == '"' {
			i, plain, ok = w.str(start)
		} else {
			i, ok = w.value(start, depth)
		}
		if !ok {
			return i, false
		}
		if ms != nil {
			*ms = append(*ms, Member{NameStart: nameStart, NameEnd: end - 1, Start: start, End: i, PlainName: plainName, Plain: plain})
		}
		i = ws(b, i)
		if i >= len(b) {
			return i, false
		}
		switch b[i] {
		case '}':
			return i + 1, true
		case ',':
			i = ws(b, i+1)
		default:
			return i, false
		}
	}
}

func (w *walker) array(i, depth int) (int, bool) {
	b := w.b
	if depth > MaxDepth {
		return i, false
	}
	i = ws(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, true
	}
	for {
		var ok bool
		if i, ok = w.value(i, depth); !ok {
			return i, false
		}
		i = ws(b, i)
		if i >= len(b) {
			return i, false
		}
		switch b[i] {
		case ']':
			return i + 1, true
		case ',':
			i = ws(b, i+1)
		default:
			return i, false
		}
	}
}

// StringEnd checks the JSON string whose opening quote is at b[i], with
// Valid's verdicts, and returns the index after its closing quote; plain is
// true when it has no escape and only ASCII bytes, so that the bytes
// between the quotes are its value. On false, end is where the fault lies
// (len(b) when the string is not closed).
func StringEnd(b []byte, i int) (end int, plain, ok bool) {
	w := walker{b: b}
	return w.str(i)
}

// str checks the string whose opening quote is at i and returns the index
// after its closing quote; plain is true when it has no escape and only
// ASCII bytes.
func (w *walker) str(i int) (end int, plain, ok bool) {
	b := w.b
	var nonASCII uint64
	escaped := false
	i++
	for {
		// Skip ordinary bytes a word at a time; stop at the first quote,
		// backslash or control byte.
		for ; i+8 <= len(b); i += 8 {
			x := binary.LittleEndian.Uint64(b[i:])
			if m := hasByte(x, '"') | hasByte(x, '\\') | below(x, 0x20); m != 0 {
				n := bits.TrailingZeros64(m) >> 3
				nonASCII |= x & high & (1<<(8*n) - 1)
				i += n
				break
			}
			nonASCII |= x & high
		}
		for ; i < len(b); i++ {
			c := b[i]
			if c == '"' || c == '\\' || c < 0x20 {
				break
			}
			nonASCII |= uint64(c & 0x80)
		}
		if i >= len(b) {
			return i, false, false
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, !escaped && nonASCII == 0, true
		case c < 0x20:
			return i, false, false
		}
		// A backslash.
		escaped = true
		i++
		if i >= len(b) {
			return i, false, false
		}
		switch b[i] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i++
		case 'u':
			if len(b)-i < 5 {
				return i, false, false
			}
			for _, h := range b[i+1 : i+5] {
				if !isHex(h) {
					return i, false, false
				}
			}
			i += 5
		default:
			return i, false, false
		}
	}
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// NumberEnd checks the JSON number
// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? at s[i] (which must exist)
// and returns the index after it.
func NumberEnd[S string | []byte](s S, i int) (int, bool) {
	if s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		i = digits(s, i)
	default:
		return i, false
	}
	if i < len(s) && s[i] == '.' {
		j := digits(s, i+1)
		if j == i+1 {
			return j, false
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := digits(s, i)
		if j == i {
			return j, false
		}
		i = j
	}
	return i, true
}

func digits[S string | []byte](s S, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}
