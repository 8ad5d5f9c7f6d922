package soql

import (
	"strings"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tDate
	tDateTime
	tLParen
	tRParen
	tComma
	tColon
	tOp
	tIllegal
)

// Pos is a 1-based position in the query text, as Salesforce reports it.
type Pos struct{ Row, Col int }

type token struct {
	kind tokKind
	text string // source text (for strings, the raw text between the quotes)
	val  string // decoded string value
	pos  Pos
	err  string // lexing problem for tIllegal
}

type lexer struct {
	src      string
	off      int
	row, col int
}

func newLexer(src string) *lexer { return &lexer{src: src, row: 1, col: 1} }

func (l *lexer) advance(n int) {
	for i := 0; i < n && l.off < len(l.src); i++ {
		if l.src[l.off] == '\n' {
			l.row++
			l.col = 1
		} else if l.src[l.off] < utf8.RuneSelf || utf8.RuneStart(l.src[l.off]) {
			l.col++
		}
		l.off++
	}
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || isDigit(c) }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (l *lexer) next() token {
	for l.off < len(l.src) {
		c := l.src[l.off]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' {
			l.advance(1)
			continue
		}
		break
	}
	pos := Pos{l.row, l.col}
	if l.off >= len(l.src) {
		return token{kind: tEOF, text: "<EOF>", pos: pos}
	}
	start := l.off
	c := l.src[l.off]
	switch {
	case isIdentStart(c):
		end := l.off
		for end < len(l.src) && (isIdentChar(l.src[end]) || (l.src[end] == '.' && end+1 < len(l.src) && isIdentStart(l.src[end+1]))) {
			end++
		}
		l.advance(end - start)
		return token{kind: tIdent, text: l.src[start:end], pos: pos}
	case isDigit(c) || ((c == '-' || c == '+') && l.off+1 < len(l.src) && isDigit(l.src[l.off+1])):
		if n := matchDateTime(l.src[l.off:]); n > 0 {
			l.advance(n)
			return token{kind: tDateTime, text: l.src[start : start+n], pos: pos}
		}
		if n := matchDate(l.src[l.off:]); n > 0 {
			l.advance(n)
			return token{kind: tDate, text: l.src[start : start+n], pos: pos}
		}
		end := l.off + 1
		for end < len(l.src) && isDigit(l.src[end]) {
			end++
		}
		if end+1 < len(l.src) && l.src[end] == '.' && isDigit(l.src[end+1]) {
			end++
			for end < len(l.src) && isDigit(l.src[end]) {
				end++
			}
		}
		l.advance(end - start)
		return token{kind: tNumber, text: l.src[start:end], pos: pos}
	case c == '\'':
		return l.lexString(pos)
	case c == '(':
		l.advance(1)
		return token{kind: tLParen, text: "(", pos: pos}
	case c == ')':
		l.advance(1)
		return token{kind: tRParen, text: ")", pos: pos}
	case c == ',':
		l.advance(1)
		return token{kind: tComma, text: ",", pos: pos}
	case c == ':':
		l.advance(1)
		return token{kind: tColon, text: ":", pos: pos}
	case c == '=':
		l.advance(1)
		return token{kind: tOp, text: "=", pos: pos}
	case c == '!' || c == '<' || c == '>':
		if l.off+1 < len(l.src) {
			two := l.src[l.off : l.off+2]
			if two == "!=" || two == "<>" || two == "<=" || two == ">=" {
				l.advance(2)
				return token{kind: tOp, text: two, pos: pos}
			}
		}
		if c != '!' {
			l.advance(1)
			return token{kind: tOp, text: string(c), pos: pos}
		}
	}
	_, size := utf8.DecodeRuneInString(l.src[l.off:])
	l.advance(size)
	return token{kind: tIllegal, text: l.src[start : start+size], pos: pos}
}

// lexString reads a single-quoted string. Salesforce's escapes are
// \n \r \t \b \f \" \' \\ \uXXXX, and \_ \% which only LIKE treats
// specially; val keeps \_ and \% escaped so LIKE can tell them apart,
// and unescapeLike turns them into plain characters elsewhere.
func (l *lexer) lexString(pos Pos) token {
	start := l.off
	i := l.off + 1
	var b strings.Builder
	for i < len(l.src) {
		c := l.src[i]
		switch c {
		case '\'':
			raw := l.src[l.off+1 : i]
			l.advance(i + 1 - l.off)
			return token{kind: tString, text: raw, val: b.String(), pos: pos}
		case '\\':
			if i+1 >= len(l.src) {
				i++
				continue
			}
			e := l.src[i+1]
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case '"', '\'':
				b.WriteByte(e)
			case '\\':
				b.WriteString(`\\`)
			case '_', '%':
				b.WriteByte('\\')
				b.WriteByte(e)
			case 'u':
				if i+6 <= len(l.src) && isHex4(l.src[i+2:i+6]) {
					b.WriteRune(rune(hexVal(l.src[i+2 : i+6])))
					i += 6
					continue
				}
				return l.illegalAt(i, "Invalid string literal: illegal escape sequence")
			default:
				return l.illegalAt(i, "Invalid string literal: illegal escape sequence")
			}
			i += 2
		default:
			b.WriteByte(c)
			i++
		}
	}
	l.advance(len(l.src) - l.off)
	return token{kind: tIllegal, text: l.src[start:], pos: pos, err: "unterminated string"}
}

func (l *lexer) illegalAt(i int, msg string) token {
	l.advance(i - l.off)
	p := Pos{l.row, l.col}
	l.advance(len(l.src) - l.off)
	return token{kind: tIllegal, text: "\\", pos: p, err: msg}
}

func isHex4(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return len(s) == 4
}

func hexVal(s string) int {
	v := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		v <<= 4
		switch {
		case isDigit(c):
			v |= int(c - '0')
		case c >= 'a' && c <= 'f':
			v |= int(c-'a') + 10
		default:
			v |= int(c-'A') + 10
		}
	}
	return v
}

// unescapeLike turns the \\, \_ and \% kept by lexString into plain text.
func unescapeLike(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// matchDate returns the length of a YYYY-MM-DD prefix not followed by more
// literal characters, or 0.
func matchDate(s string) int {
	if len(s) < 10 || !digits(s[0:4]) || s[4] != '-' || !digits(s[5:7]) || s[7] != '-' || !digits(s[8:10]) {
		return 0
	}
	if len(s) > 10 && (isIdentChar(s[10]) || s[10] == ':') {
		return 0
	}
	return 10
}

// matchDateTime returns the length of YYYY-MM-DDThh:mm:ss[.fff](Z|±hh:mm|±hhmm) or 0.
func matchDateTime(s string) int {
	if matchDateLoose(s) == 0 || len(s) < 20 || (s[10] != 'T' && s[10] != 't') {
		return 0
	}
	if !digits(s[11:13]) || s[13] != ':' || !digits(s[14:16]) || s[16] != ':' || !digits(s[17:19]) {
		return 0
	}
	i := 19
	if i < len(s) && s[i] == '.' {
		j := i + 1
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j == i+1 {
			return 0
		}
		i = j
	}
	if i < len(s) && (s[i] == 'Z' || s[i] == 'z') {
		i++
	} else if i+6 <= len(s) && (s[i] == '+' || s[i] == '-') && digits(s[i+1:i+3]) && s[i+3] == ':' && digits(s[i+4:i+6]) {
		i += 6
	} else if i+5 <= len(s) && (s[i] == '+' || s[i] == '-') && digits(s[i+1:i+5]) {
		i += 5 // +0000, the form Salesforce itself writes and collectors echo back
	} else {
		return 0
	}
	if i < len(s) && isIdentChar(s[i]) {
		return 0
	}
	return i
}

func matchDateLoose(s string) int {
	if len(s) < 10 || !digits(s[0:4]) || s[4] != '-' || !digits(s[5:7]) || s[7] != '-' || !digits(s[8:10]) {
		return 0
	}
	return 10
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return len(s) > 0
}
