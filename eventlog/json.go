package eventlog

import (
	"encoding/binary"
	"unicode/utf8"
)

// safeASCII reports whether b is an ASCII byte that goes into a JSON string
// as it is.
func safeASCII(b byte) bool { return b >= 0x20 && b < utf8.RuneSelf && b != '"' && b != '\\' }

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD and
// U+2028/U+2029 are escaped, as encoding/json does, so the output is valid
// JSON for every input.
func appendString(dst []byte, s []byte) []byte {
	dst = append(dst, '"')
	if plain(s) {
		dst = append(dst, s...)
	} else {
		dst = appendStringBody(dst, s)
	}
	return append(dst, '"')
}

// plain reports whether s goes into a JSON string unchanged: printable
// ASCII without quotes or backslashes, which most values are. It checks
// eight bytes at a time, the last word overlapping the one before.
func plain(s []byte) bool {
	if len(s) < 8 {
		for _, b := range s {
			if !safeASCII(b) {
				return false
			}
		}
		return true
	}
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if needsCare(binary.LittleEndian.Uint64(s[i:])) {
			return false
		}
	}
	return i == len(s) || !needsCare(binary.LittleEndian.Uint64(s[len(s)-8:]))
}

func appendStringBody(dst []byte, s []byte) []byte {
	start := 0
	for i := 0; i < len(s); {
		// Skip eight plain ASCII bytes at a time.
		for i+8 <= len(s) && !needsCare(binary.LittleEndian.Uint64(s[i:])) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		b := s[i]
		if b < utf8.RuneSelf {
			if safeASCII(b) {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

// appendStringLit appends a Go string as a JSON string.
func appendStringLit(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		if !safeASCII(s[i]) {
			return appendString(dst[:len(dst)-1], []byte(s))
		}
	}
	dst = append(dst, s...)
	return append(dst, '"')
}

// isJSONNumber reports whether b is a number in JSON's grammar.
func isJSONNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i == len(b) {
		return false
	}
	switch {
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i == len(b) || b[i] < '0' || b[i] > '9' {
			return false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i == len(b) || b[i] < '0' || b[i] > '9' {
			return false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	return i == len(b)
}

// isInteger reports whether b is an optionally signed run of digits.
func isInteger(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i == len(b) {
		return false
	}
	for ; i < len(b); i++ {
		if b[i] < '0' || b[i] > '9' {
			return false
		}
	}
	return true
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// needsCare reports whether any of the eight bytes in w is below 0x20, a
// quote, a backslash or not ASCII (the bytes appendStringBody must look at).
func needsCare(w uint64) bool {
	hasLess := (w - lsb*0x20) & ^w & msb // a byte below 0x20
	q := w ^ (lsb * '"')
	hasQuote := (q - lsb) & ^q & msb
	bs := w ^ (lsb * '\\')
	hasBackslash := (bs - lsb) & ^bs & msb
	return (hasLess | hasQuote | hasBackslash | w&msb) != 0
}
