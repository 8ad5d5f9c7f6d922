package soql

import (
	"strconv"
	"strings"
	"time"
)

// MaxOffset is the largest OFFSET Salesforce accepts.
const MaxOffset = 2000

// Parse parses one SOQL statement. It checks syntax only; Compile checks
// names against a schema.
func Parse(src string) (*Query, error) {
	if strings.TrimSpace(src) == "" {
		return nil, &Error{Code: CodeMalformedQuery, Message: "SOQL statements cannot be empty or null"}
	}
	p := &parser{lex: newLexer(src), src: src}
	p.advance()
	q, err := p.query(false)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.unexpected()
	}
	return q, nil
}

type parser struct {
	lex        *lexer
	src        string
	tok        token
	inSemiJoin bool
	inHaving   bool // aggregate functions may start a condition
}

func (p *parser) advance() { p.tok = p.lex.next() }

func (p *parser) unexpected() *Error {
	if p.tok.kind == tIllegal && p.tok.err != "" {
		return errAt(p.src, p.tok.pos, CodeMalformedQuery, "%s", p.tok.err)
	}
	return errAt(p.src, p.tok.pos, CodeMalformedQuery, "unexpected token: %s", p.tok.text)
}

func (p *parser) isKeyword(kw string) bool {
	return p.tok.kind == tIdent && strings.EqualFold(p.tok.text, kw)
}

func (p *parser) expectKeyword(kw string) error {
	if !p.isKeyword(kw) {
		return p.unexpected()
	}
	p.advance()
	return nil
}

// isReserved reports words that cannot be field names or aliases.
func isReserved(s string) bool {
	switch strings.ToUpper(s) {
	case "SELECT", "FROM", "WHERE", "ORDER", "BY", "LIMIT", "OFFSET", "AND", "OR", "NOT", "IN", "LIKE",
		"NULL", "TRUE", "FALSE", "ASC", "DESC", "NULLS", "GROUP", "HAVING", "WITH", "FOR", "USING", "INCLUDES", "EXCLUDES":
		return true
	}
	return false
}

func (p *parser) query(sub bool) (*Query, error) {
	q := &Query{Limit: -1, Offset: -1, Src: p.src}
	if err := p.expectKeyword("SELECT"); err != nil {
		return nil, err
	}
	for {
		item, err := p.selectItem(sub)
		if err != nil {
			return nil, err
		}
		q.Select = append(q.Select, item)
		if p.tok.kind != tComma {
			break
		}
		p.advance()
	}
	if err := p.expectKeyword("FROM"); err != nil {
		return nil, err
	}
	if p.tok.kind != tIdent || isReserved(p.tok.text) || strings.Contains(p.tok.text, ".") {
		return nil, p.unexpected()
	}
	q.From = Name{p.tok.text, p.tok.pos}
	p.advance()
	if p.isKeyword("WHERE") {
		p.advance()
		e, err := p.orExpr()
		if err != nil {
			return nil, err
		}
		q.Where = e
	}
	if p.isKeyword("GROUP") {
		p.advance()
		if err := p.expectKeyword("BY"); err != nil {
			return nil, err
		}
		for {
			if p.tok.kind != tIdent || isReserved(p.tok.text) {
				return nil, p.unexpected()
			}
			q.GroupBy = append(q.GroupBy, Name{p.tok.text, p.tok.pos})
			p.advance()
			if p.tok.kind != tComma {
				break
			}
			p.advance()
		}
		if p.isKeyword("HAVING") {
			p.advance()
			p.inHaving = true
			e, err := p.orExpr()
			p.inHaving = false
			if err != nil {
				return nil, err
			}
			q.Having = e
		}
	}
	if p.isKeyword("ORDER") {
		p.advance()
		if err := p.expectKeyword("BY"); err != nil {
			return nil, err
		}
		for {
			o, err := p.orderItem()
			if err != nil {
				return nil, err
			}
			q.OrderBy = append(q.OrderBy, o)
			if p.tok.kind != tComma {
				break
			}
			p.advance()
		}
	}
	if p.isKeyword("LIMIT") {
		p.advance()
		n, err := p.nonNegInt()
		if err != nil {
			return nil, err
		}
		q.Limit = n
	}
	if p.isKeyword("OFFSET") {
		p.advance()
		pos := p.tok.pos
		n, err := p.nonNegInt()
		if err != nil {
			return nil, err
		}
		if n > MaxOffset && !sub {
			return nil, &Error{Code: CodeNumberOutsideRange, Message: "Maximum SOQL offset allowed is 2000", Pos: pos}
		}
		q.Offset = n
	}
	return q, nil
}

func (p *parser) nonNegInt() (int, error) {
	if p.tok.kind != tNumber || strings.ContainsAny(p.tok.text, ".-+") {
		return 0, p.unexpected()
	}
	n, err := strconv.Atoi(p.tok.text)
	if err != nil {
		return 0, p.unexpected()
	}
	p.advance()
	return n, nil
}

func (p *parser) selectItem(sub bool) (SelectItem, error) {
	pos := p.tok.pos
	if p.tok.kind == tLParen {
		if sub {
			return SelectItem{}, p.unexpected()
		}
		p.advance()
		sq, err := p.query(true)
		if err != nil {
			return SelectItem{}, err
		}
		if p.tok.kind != tRParen {
			return SelectItem{}, p.unexpected()
		}
		p.advance()
		return SelectItem{Kind: SelectSubquery, Sub: sq, Pos: pos}, nil
	}
	if p.tok.kind != tIdent || isReserved(p.tok.text) {
		return SelectItem{}, p.unexpected()
	}
	name := Name{p.tok.text, p.tok.pos}
	p.advance()
	if isAggregateFunc(name.Text) && p.tok.kind == tLParen {
		fn, arg, err := p.aggregateCall(name)
		if err != nil {
			return SelectItem{}, err
		}
		item := SelectItem{Kind: SelectCount, Func: fn, Field: arg, Pos: pos}
		if p.tok.kind == tIdent && !isReserved(p.tok.text) && item.Field.Text != "" {
			item.Alias = p.tok.text
			p.advance()
		}
		return item, nil
	}
	item := SelectItem{Kind: SelectField, Field: name, Pos: pos}
	if p.tok.kind == tIdent && !isReserved(p.tok.text) && !sub && p.aliasFollows() {
		item.Alias = p.tok.text
		p.advance()
	}
	return item, nil
}

// aliasFollows says whether the identifier at hand is a field alias: the
// select list goes on after it (a comma or FROM). Otherwise it is a typo
// such as SELECT Id FRM Case, reported at the identifier.
func (p *parser) aliasFollows() bool {
	l := *p.lex
	next := l.next()
	return next.kind == tComma || (next.kind == tIdent && strings.EqualFold(next.text, "FROM"))
}

// aggregateCall reads the "(field)" of an aggregate function whose name
// was just read; only COUNT may have no argument.
func (p *parser) aggregateCall(name Name) (fn string, arg Name, err error) {
	fn = strings.ToUpper(name.Text)
	p.advance() // (
	if p.tok.kind == tIdent && !isReserved(p.tok.text) {
		arg = Name{p.tok.text, p.tok.pos}
		p.advance()
	}
	if p.tok.kind != tRParen || (arg.Text == "" && fn != "COUNT") {
		return "", Name{}, p.unexpected()
	}
	p.advance()
	return fn, arg, nil
}

func (p *parser) orderItem() (OrderItem, error) {
	if p.tok.kind != tIdent || isReserved(p.tok.text) {
		return OrderItem{}, p.unexpected()
	}
	o := OrderItem{Field: Name{p.tok.text, p.tok.pos}}
	p.advance()
	if isAggregateFunc(o.Field.Text) && p.tok.kind == tLParen {
		fn, arg, err := p.aggregateCall(o.Field)
		if err != nil {
			return OrderItem{}, err
		}
		o.Func, o.Field = fn, arg
	}
	if p.isKeyword("ASC") {
		p.advance()
	} else if p.isKeyword("DESC") {
		o.Desc = true
		p.advance()
	}
	if p.isKeyword("NULLS") {
		p.advance()
		switch {
		case p.isKeyword("FIRST"):
		case p.isKeyword("LAST"):
			o.NullsLast = true
		default:
			return OrderItem{}, p.unexpected()
		}
		o.NullsGiven = true
		p.advance()
	}
	return o, nil
}

func (p *parser) orExpr() (Expr, error) {
	l, err := p.andExpr()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("OR") {
		p.advance()
		r, err := p.andExpr()
		if err != nil {
			return nil, err
		}
		l = &Logical{Or: true, L: l, R: r}
	}
	return l, nil
}

func (p *parser) andExpr() (Expr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("AND") {
		p.advance()
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = &Logical{L: l, R: r}
	}
	return l, nil
}

func (p *parser) unary() (Expr, error) {
	if p.isKeyword("NOT") {
		p.advance()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &Not{X: x}, nil
	}
	if p.tok.kind == tLParen {
		p.advance()
		e, err := p.orExpr()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tRParen {
			return nil, p.unexpected()
		}
		p.advance()
		return e, nil
	}
	return p.comparison()
}

func (p *parser) comparison() (Expr, error) {
	if p.tok.kind != tIdent || isReserved(p.tok.text) {
		return nil, p.unexpected()
	}
	c := &Comparison{Field: Name{p.tok.text, p.tok.pos}}
	p.advance()
	if p.inHaving && isAggregateFunc(c.Field.Text) && p.tok.kind == tLParen {
		fn, arg, err := p.aggregateCall(c.Field)
		if err != nil {
			return nil, err
		}
		c.Func, c.Field = fn, arg
	}
	switch {
	case p.tok.kind == tOp:
		c.Op = p.tok.text
		if c.Op == "<>" {
			c.Op = "!="
		}
		p.advance()
	case p.isKeyword("LIKE"):
		c.Op = "LIKE"
		p.advance()
	case p.isKeyword("IN"):
		c.Op = "IN"
		p.advance()
	case p.isKeyword("NOT"):
		p.advance()
		if !p.isKeyword("IN") {
			return nil, p.unexpected()
		}
		c.Op = "NOT IN"
		p.advance()
	default:
		return nil, p.unexpected()
	}
	if c.Op == "IN" || c.Op == "NOT IN" {
		if p.tok.kind != tLParen {
			return nil, p.unexpected()
		}
		p.advance()
		if p.isKeyword("SELECT") {
			if p.inSemiJoin {
				return nil, p.unexpected()
			}
			p.inSemiJoin = true
			sq, err := p.query(true)
			p.inSemiJoin = false
			if err != nil {
				return nil, err
			}
			if p.tok.kind != tRParen {
				return nil, p.unexpected()
			}
			p.advance()
			c.Sub = sq
			return c, nil
		}
		for {
			v, err := p.literal()
			if err != nil {
				return nil, err
			}
			c.Values = append(c.Values, v)
			if p.tok.kind != tComma {
				break
			}
			p.advance()
		}
		if p.tok.kind != tRParen {
			return nil, p.unexpected()
		}
		p.advance()
		return c, nil
	}
	v, err := p.literal()
	if err != nil {
		return nil, err
	}
	c.Value = v
	return c, nil
}

func (p *parser) literal() (Literal, error) {
	t := p.tok
	lit := Literal{Text: t.text, Pos: t.pos}
	switch t.kind {
	case tString:
		lit.Kind, lit.Str = LitString, t.val
	case tNumber:
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return lit, p.unexpected()
		}
		lit.Kind, lit.Num = LitNumber, f
	case tDate:
		d, err := time.Parse("2006-01-02", t.text)
		if err != nil {
			return lit, errAt(p.src, t.pos, CodeMalformedQuery, "line %d:%d no viable alternative at character '%s'", t.pos.Row, t.pos.Col-1, t.text)
		}
		lit.Kind, lit.Time = LitDate, d
	case tDateTime:
		d, err := parseDateTimeLiteral(t.text)
		if err != nil {
			return lit, errAt(p.src, t.pos, CodeMalformedQuery, "line %d:%d no viable alternative at character '%s'", t.pos.Row, t.pos.Col-1, t.text)
		}
		lit.Kind, lit.Time = LitDateTime, d
	case tIdent:
		u := strings.ToUpper(t.text)
		switch u {
		case "NULL":
			lit.Kind = LitNull
		case "TRUE", "FALSE":
			lit.Kind, lit.Bool = LitBool, u == "TRUE"
		default:
			spec, ok := dateLiteral(u)
			if !ok {
				return lit, p.unexpected()
			}
			lit.Kind = LitDateRange
			lit.Text = u
			if spec.takesN {
				p.advance()
				if p.tok.kind != tColon {
					return lit, p.unexpected()
				}
				p.advance()
				n, err := p.nonNegInt()
				if err != nil {
					return lit, err
				}
				lit.N = n
				return lit, nil
			}
		}
	default:
		return lit, p.unexpected()
	}
	p.advance()
	return lit, nil
}

func parseDateTimeLiteral(s string) (time.Time, error) {
	s = strings.ToUpper(s)
	if strings.HasSuffix(s, "Z") {
		return time.Parse("2006-01-02T15:04:05.999999999Z", s)
	}
	if s[len(s)-3] != ':' {
		return time.Parse("2006-01-02T15:04:05.999999999-0700", s)
	}
	return time.Parse("2006-01-02T15:04:05.999999999-07:00", s)
}
