package rest

// validJSON reports whether b is one valid JSON value, with exactly the
// verdicts of encoding/json's Valid (RFC 8259 syntax, nesting at most 10000
// deep, bytes of any value ≥ 0x20 inside strings) but in a single direct
// pass: json.Valid's state machine made up 40 % of the CPU of reading raw
// records. FuzzValidJSON holds the two together.
func validJSON(b []byte) bool {
	v := jsonValidator{b: b}
	i, ok := v.value(v.ws(0), 0)
	return ok && v.ws(i) == len(b)
}

type jsonValidator struct{ b []byte }

// maxNestingDepth is encoding/json's limit.
const maxNestingDepth = 10000

func (v *jsonValidator) ws(i int) int {
	for i < len(v.b) {
		switch v.b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// value checks the value at i and returns the index after it.
func (v *jsonValidator) value(i, depth int) (int, bool) {
	if i >= len(v.b) {
		return i, false
	}
	switch c := v.b[i]; {
	case c == '{':
		return v.object(i, depth+1)
	case c == '[':
		return v.array(i, depth+1)
	case c == '"':
		return v.str(i)
	case c == '-' || (c >= '0' && c <= '9'):
		return v.number(i)
	case c == 't':
		return v.word(i, "true")
	case c == 'f':
		return v.word(i, "false")
	case c == 'n':
		return v.word(i, "null")
	default:
		return i, false
	}
}

func (v *jsonValidator) word(i int, w string) (int, bool) {
	if len(v.b)-i < len(w) || string(v.b[i:i+len(w)]) != w {
		return i, false
	}
	return i + len(w), true
}

func (v *jsonValidator) object(i, depth int) (int, bool) {
	if depth > maxNestingDepth {
		return i, false
	}
	i = v.ws(i + 1)
	if i < len(v.b) && v.b[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(v.b) || v.b[i] != '"' {
			return i, false
		}
		var ok bool
		if i, ok = v.str(i); !ok {
			return i, false
		}
		i = v.ws(i)
		if i >= len(v.b) || v.b[i] != ':' {
			return i, false
		}
		if i, ok = v.value(v.ws(i+1), depth); !ok {
			return i, false
		}
		i = v.ws(i)
		if i >= len(v.b) {
			return i, false
		}
		switch v.b[i] {
		case '}':
			return i + 1, true
		case ',':
			i = v.ws(i + 1)
		default:
			return i, false
		}
	}
}

func (v *jsonValidator) array(i, depth int) (int, bool) {
	if depth > maxNestingDepth {
		return i, false
	}
	i = v.ws(i + 1)
	if i < len(v.b) && v.b[i] == ']' {
		return i + 1, true
	}
	for {
		var ok bool
		if i, ok = v.value(i, depth); !ok {
			return i, false
		}
		i = v.ws(i)
		if i >= len(v.b) {
			return i, false
		}
		switch v.b[i] {
		case ']':
			return i + 1, true
		case ',':
			i = v.ws(i + 1)
		default:
			return i, false
		}
	}
}

// str checks the string whose opening quote is at i.
func (v *jsonValidator) str(i int) (int, bool) {
	for i++; i < len(v.b); i++ {
		switch c := v.b[i]; {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return i, false
		case c == '\\':
			i++
			if i >= len(v.b) {
				return i, false
			}
			switch v.b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(v.b)-i < 5 {
					return i, false
				}
				for _, h := range v.b[i+1 : i+5] {
					if !isHex(h) {
						return i, false
					}
				}
				i += 4
			default:
				return i, false
			}
		}
	}
	return i, false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// number checks -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? at i.
func (v *jsonValidator) number(i int) (int, bool) {
	if v.b[i] == '-' {
		i++
	}
	switch {
	case i < len(v.b) && v.b[i] == '0':
		i++
	case i < len(v.b) && v.b[i] >= '1' && v.b[i] <= '9':
		i = v.digits(i)
	default:
		return i, false
	}
	if i < len(v.b) && v.b[i] == '.' {
		j := v.digits(i + 1)
		if j == i+1 {
			return j, false
		}
		i = j
	}
	if i < len(v.b) && (v.b[i] == 'e' || v.b[i] == 'E') {
		i++
		if i < len(v.b) && (v.b[i] == '+' || v.b[i] == '-') {
			i++
		}
		j := v.digits(i)
		if j == i {
			return j, false
		}
		i = j
	}
	return i, true
}

func (v *jsonValidator) digits(i int) int {
	for i < len(v.b) && v.b[i] >= '0' && v.b[i] <= '9' {
		i++
	}
	return i
}
