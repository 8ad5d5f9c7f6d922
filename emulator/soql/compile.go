package soql

import (
	"strings"
	"sync"
	"time"

	"github.com/sfbridge/sfbridge/emulator/sfid"
	"github.com/sfbridge/sfbridge/internal/clock"
)

// Field describes one field of an object for the compiler.
type Field struct {
	Name       string // canonical API name
	Kind       Kind
	Index      int // position of the value in a Record
	Filterable bool
	Sortable   bool
}

// Object is what the compiler needs to know about an sObject type.
// Lookups are case-insensitive and return canonical names.
type Object interface {
	Name() string
	Field(name string) (Field, bool)
	// Parent resolves a child-to-parent relationship name (Contact, Owner)
	// to the foreign-key field and the parent object.
	Parent(relationship string) (fk Field, parent Object, ok bool)
	// Child resolves a parent-to-child relationship name (CaseComments) to
	// the child object and its foreign-key field; name is canonical.
	Child(relationship string) (name string, child Object, fk Field, ok bool)
}

// Schema resolves object names. It reports false for objects that do not
// exist and for objects the caller may not read: Salesforce answers both
// with INVALID_TYPE.
type Schema interface {
	Object(name string) (Object, bool)
}

// Record is one stored row; Get returns the value at a Field's Index.
type Record interface {
	Get(index int) any
}

// Resolver finds a parent record by id for relationship paths, and scans
// an object's live records for semi-joins (Id IN (SELECT … FROM X)).
type Resolver interface {
	Lookup(obj Object, id string) Record
	Scan(obj Object, fn func(Record))
}

// Step is one hop of a relationship path.
type Step struct {
	Relationship string // canonical relationship name (Contact)
	FK           Field  // foreign key on the current object (ContactId)
	Target       Object
}

// Path is a compiled field reference: zero or more relationship hops,
// then a field.
type Path struct {
	Steps []Step
	Field Field
	Name  string // canonical dotted name, Contact.Email
}

// Value evaluates the path on r.
func (p *Path) Value(r Record, res Resolver) any {
	for _, s := range p.Steps {
		id, _ := r.Get(s.FK.Index).(string)
		if id == "" {
			return nil
		}
		r = res.Lookup(s.Target, id)
		if r == nil {
			return nil
		}
	}
	return r.Get(p.Field.Index)
}

// Column is a compiled select item.
type Column struct {
	Kind  SelectKind
	Path  Path   // SelectField, and an aggregate function's argument
	Func  string // SelectCount: COUNT, COUNT_DISTINCT, MIN, MAX, SUM or AVG
	Alias string // aggregate queries: the alias, the grouped field's name, or expr0, expr1…
	// SelectSubquery:
	Relationship string // canonical child relationship name
	ChildFK      Field
	Sub          *Plan
}

// Plan is a compiled query ready to run over records.
type Plan struct {
	Object    Object
	Columns   []Column
	CountOnly bool // SELECT COUNT()
	Aggregate bool // aggregate functions or GROUP BY: AggregateRows gives the rows
	Grouped   bool // GROUP BY
	Limit     int  // -1 without LIMIT
	Offset    int  // -1 without OFFSET
	where     func(Record, Resolver) bool
	order     []orderKey
	agg       *aggregation
}

type orderKey struct {
	path      Path
	desc      bool
	nullsLast bool
}

// CompileOptions carries what evaluation depends on besides the records.
type CompileOptions struct {
	Now time.Time // for TODAY, LAST_N_DAYS:n, …; zero means the real clock's now
}

// Compile resolves q's names against schema and returns a runnable plan.
func Compile(q *Query, schema Schema, opts CompileOptions) (*Plan, error) {
	now := opts.Now
	if now.IsZero() {
		now = clock.Real().Now()
	}
	obj, ok := schema.Object(q.From.Text)
	if !ok {
		return nil, errAt(q.Src, q.From.Pos, CodeInvalidType, "%s", UnsupportedTypeMessage(q.From.Text))
	}
	c := &compiler{src: q.Src, now: now.UTC(), schema: schema}
	return c.plan(q, obj, false)
}

type compiler struct {
	src    string
	now    time.Time
	schema Schema
}

func (c *compiler) plan(q *Query, obj Object, sub bool) (*Plan, error) {
	p := &Plan{Object: obj, Limit: q.Limit, Offset: q.Offset}
	aggN := 0
	for _, it := range q.Select {
		switch it.Kind {
		case SelectField:
			path, err := c.path(obj, it.Field)
			if err != nil {
				return nil, err
			}
			p.Columns = append(p.Columns, Column{Kind: SelectField, Path: path, Alias: it.Alias})
		case SelectCount:
			if it.Field.Text == "" {
				if len(q.Select) != 1 || sub {
					return nil, errAt(c.src, it.Pos, CodeMalformedQuery, "COUNT() and COUNT(fieldName) cannot be mixed with other fields")
				}
				if len(q.GroupBy) > 0 {
					return nil, errAt(c.src, it.Pos, CodeMalformedQuery, "COUNT() cannot be used with GROUP BY: use COUNT(fieldName)")
				}
				p.CountOnly = true
				continue
			}
			path, err := c.path(obj, it.Field)
			if err != nil {
				return nil, err
			}
			fn := it.Func
			if fn == "" {
				fn = "COUNT"
			}
			if err := c.checkAggregateArg(fn, path, it.Field); err != nil {
				return nil, err
			}
			alias := it.Alias
			if alias == "" {
				alias = "expr" + itoa(aggN)
				aggN++
			}
			p.Aggregate = true
			p.Columns = append(p.Columns, Column{Kind: SelectCount, Path: path, Func: fn, Alias: alias})
		case SelectSubquery:
			name, child, fk, ok := obj.Child(it.Sub.From.Text)
			if !ok {
				return nil, errAt(c.src, it.Sub.From.Pos, CodeInvalidType, "Didn't understand relationship '%s' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.", it.Sub.From.Text)
			}
			sp, err := c.plan(it.Sub, child, true)
			if err != nil {
				return nil, err
			}
			p.Columns = append(p.Columns, Column{Kind: SelectSubquery, Relationship: name, ChildFK: fk, Sub: sp})
		}
	}
	if len(q.GroupBy) > 0 {
		p.Aggregate, p.Grouped = true, true
	}
	if p.Aggregate {
		if err := c.aggregate(p, q, obj); err != nil {
			return nil, err
		}
	} else {
		for i, it := range q.Select {
			if it.Alias != "" {
				return nil, errAt(c.src, q.Select[i].Pos, CodeMalformedQuery, "Only aggregate expressions use field aliasing")
			}
		}
	}
	if q.Where != nil {
		w, err := c.expr(obj, q.Where)
		if err != nil {
			return nil, err
		}
		p.where = w
	}
	for _, o := range q.OrderBy {
		if p.Aggregate {
			break // ordered as groups, by aggregate()
		}
		if o.Func != "" {
			return nil, errAt(c.src, o.Field.Pos, CodeMalformedQuery, "Ordered field must be grouped or aggregated: %s(%s)", o.Func, o.Field.Text)
		}
		path, err := c.path(obj, o.Field)
		if err != nil {
			return nil, err
		}
		if !path.Field.Sortable {
			return nil, errAt(c.src, o.Field.Pos, CodeInvalidField, "field '%s' can not be sorted in a query call", path.Field.Name)
		}
		nullsLast := o.Desc
		if o.NullsGiven {
			nullsLast = o.NullsLast
		}
		p.order = append(p.order, orderKey{path: path, desc: o.Desc, nullsLast: nullsLast})
	}
	return p, nil
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

func (c *compiler) path(obj Object, n Name) (Path, error) {
	parts := strings.Split(n.Text, ".")
	// A path may start with the object's own name: SELECT Case.Subject FROM Case.
	if len(parts) > 1 && strings.EqualFold(parts[0], obj.Name()) {
		if _, isRel, _ := obj.Parent(parts[0]); isRel == nil {
			parts = parts[1:]
		}
	}
	var p Path
	cur := obj
	names := make([]string, 0, len(parts))
	for _, rel := range parts[:len(parts)-1] {
		fk, parent, ok := cur.Parent(rel)
		if !ok {
			return Path{}, errAt(c.src, n.Pos, CodeInvalidField, "Didn't understand relationship '%s' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.", rel)
		}
		canonical := strings.TrimSuffix(fk.Name, "Id")
		if canonical == fk.Name || canonical == "" {
			canonical = rel
		}
		p.Steps = append(p.Steps, Step{Relationship: canonical, FK: fk, Target: parent})
		names = append(names, canonical)
		cur = parent
	}
	last := parts[len(parts)-1]
	f, ok := cur.Field(last)
	if !ok {
		return Path{}, errAt(c.src, n.Pos, CodeInvalidField, "%s", NoSuchColumnMessage(n.Text, obj.Name()))
	}
	p.Field = f
	p.Name = strings.Join(append(names, f.Name), ".")
	return p, nil
}

// Match reports whether r satisfies the WHERE clause.
func (p *Plan) Match(r Record, res Resolver) bool {
	return p.where == nil || p.where(r, res)
}

// Ordered reports whether the query has ORDER BY.
func (p *Plan) Ordered() bool { return len(p.order) > 0 }

// Less orders two records by the ORDER BY keys.
func (p *Plan) Less(a, b Record, res Resolver) bool {
	return p.CompareRecords(a, b, res) < 0
}

// OrderKey reports the direction of the i-th ORDER BY key.
func (p *Plan) OrderKey(i int) (desc, nullsLast bool) {
	return p.order[i].desc, p.order[i].nullsLast
}

// SortKeys appends r's ORDER BY key values to dst, for sorting many
// records with CompareKeys without evaluating paths again.
func (p *Plan) SortKeys(r Record, res Resolver, dst []any) []any {
	for i := range p.order {
		dst = append(dst, p.order[i].path.Value(r, res))
	}
	return dst
}

// CompareKeys orders two key lists made by SortKeys: -1, 0 or 1.
func (p *Plan) CompareKeys(a, b []any) int {
	return p.compareWith(func(i int) (any, any) { return a[i], b[i] })
}

// CompareRecords orders two records by the ORDER BY keys: -1, 0 or 1.
func (p *Plan) CompareRecords(a, b Record, res Resolver) int {
	return p.compareWith(func(i int) (any, any) { return p.order[i].path.Value(a, res), p.order[i].path.Value(b, res) })
}

func (p *Plan) compareWith(values func(i int) (any, any)) int {
	for i := range p.order {
		k := &p.order[i]
		va, vb := values(i)
		if va == nil || vb == nil {
			if va == nil && vb == nil {
				continue
			}
			first := -1 // a is null
			if vb == nil {
				first = 1
			}
			if k.nullsLast {
				first = -first
			}
			return first
		}
		c := Compare(va, vb)
		if k.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

type cond = func(Record, Resolver) bool

func (c *compiler) expr(obj Object, e Expr) (cond, error) {
	switch x := e.(type) {
	case *Logical:
		l, err := c.expr(obj, x.L)
		if err != nil {
			return nil, err
		}
		r, err := c.expr(obj, x.R)
		if err != nil {
			return nil, err
		}
		if x.Or {
			return func(rec Record, res Resolver) bool { return l(rec, res) || r(rec, res) }, nil
		}
		return func(rec Record, res Resolver) bool { return l(rec, res) && r(rec, res) }, nil
	case *Not:
		inner, err := c.expr(obj, x.X)
		if err != nil {
			return nil, err
		}
		return func(rec Record, res Resolver) bool { return !inner(rec, res) }, nil
	case *Comparison:
		return c.comparison(obj, x)
	}
	return nil, &Error{Code: CodeMalformedQuery, Message: "unsupported condition"}
}

func (c *compiler) comparison(obj Object, x *Comparison) (cond, error) {
	path, err := c.path(obj, x.Field)
	if err != nil {
		return nil, err
	}
	f := path.Field
	if !f.Filterable {
		return nil, errAt(c.src, x.Field.Pos, CodeInvalidField, "field '%s' can not be filtered in a query call", f.Name)
	}
	get := func(r Record, res Resolver) any { return path.Value(r, res) }
	if len(path.Steps) == 0 {
		idx := f.Index
		get = func(r Record, _ Resolver) any { return r.Get(idx) }
	}
	if x.Sub != nil {
		return c.semiJoin(obj, x, f, get)
	}
	switch x.Op {
	case "IN", "NOT IN":
		vals := make([]any, 0, len(x.Values))
		hasNull := false
		for _, l := range x.Values {
			if l.Kind == LitNull {
				hasNull = true
				continue
			}
			v, err := c.value(f, l, false)
			if err != nil {
				return nil, err
			}
			vals = append(vals, v)
		}
		in := func(v any) bool {
			if v == nil {
				return hasNull
			}
			for _, w := range vals {
				if Compare(v, w) == 0 {
					return true
				}
			}
			return false
		}
		if x.Op == "IN" {
			return func(r Record, res Resolver) bool { return in(get(r, res)) }, nil
		}
		return func(r Record, res Resolver) bool { return !in(get(r, res)) }, nil
	case "LIKE":
		if x.Value.Kind != LitString || (f.Kind != KindString && f.Kind != KindID) {
			return nil, errAt(c.src, x.Value.Pos, CodeInvalidFilterOperator, "invalid operator on %s field: %s", kindName(f.Kind), f.Name)
		}
		m := likeMatcher(x.Value.Str)
		return func(r Record, res Resolver) bool {
			s, ok := get(r, res).(string)
			return ok && m(s)
		}, nil
	}
	if x.Value.Kind == LitNull {
		switch x.Op {
		case "=":
			return func(r Record, res Resolver) bool { return get(r, res) == nil }, nil
		case "!=":
			return func(r Record, res Resolver) bool { return get(r, res) != nil }, nil
		}
		return nil, errAt(c.src, x.Value.Pos, CodeMalformedQuery, "unexpected token: null")
	}
	if x.Value.Kind == LitDateRange {
		if f.Kind != KindDate && f.Kind != KindDateTime {
			return nil, c.typeErr(f, x.Value)
		}
		s, e, _ := DateLiteralRange(x.Value.Text, x.Value.N, c.now)
		var lo, hi any = DateTimeOf(s), DateTimeOf(e)
		if f.Kind == KindDate {
			lo, hi = DateOf(s), DateOf(e)
		}
		return rangeCond(x.Op, get, lo, hi), nil
	}
	v, err := c.value(f, x.Value, true)
	if err != nil {
		return nil, err
	}
	var test func(int) bool
	switch x.Op {
	case "=":
		test = func(c int) bool { return c == 0 }
	case "!=":
		return func(r Record, res Resolver) bool { return Compare(get(r, res), v) != 0 }, nil
	case "<":
		test = func(c int) bool { return c < 0 }
	case "<=":
		test = func(c int) bool { return c <= 0 }
	case ">":
		test = func(c int) bool { return c > 0 }
	case ">=":
		test = func(c int) bool { return c >= 0 }
	default:
		return nil, errAt(c.src, x.Field.Pos, CodeMalformedQuery, "unexpected token: %s", x.Op)
	}
	if f.Kind == KindBool && x.Op != "=" {
		return nil, errAt(c.src, x.Value.Pos, CodeInvalidFilterOperator, "invalid operator on boolean field: %s", f.Name)
	}
	return func(r Record, res Resolver) bool {
		got := get(r, res)
		return got != nil && test(Compare(got, v))
	}, nil
}

// semiJoin compiles field IN (SELECT idField FROM Object WHERE …): the
// subquery selects one id or reference field; its values are collected once,
// at the first record matched.
func (c *compiler) semiJoin(obj Object, x *Comparison, f Field, get func(Record, Resolver) any) (cond, error) {
	sq := x.Sub
	if f.Kind != KindID {
		return nil, errAt(c.src, x.Field.Pos, CodeInvalidFilterOperator, "Invalid semi join field: %s. Only id or reference fields can be compared with a semi join", f.Name)
	}
	subObj, ok := c.schema.Object(sq.From.Text)
	if !ok {
		return nil, errAt(c.src, sq.From.Pos, CodeInvalidType, "%s", UnsupportedTypeMessage(sq.From.Text))
	}
	if len(sq.Select) != 1 || sq.Select[0].Kind != SelectField {
		return nil, errAt(c.src, sq.Select[0].Pos, CodeMalformedQuery, "The selected field in a semi join subquery must be a single id or reference field")
	}
	sub, err := c.plan(sq, subObj, true)
	if err != nil {
		return nil, err
	}
	col := sub.Columns[0].Path
	if col.Field.Kind != KindID {
		return nil, errAt(c.src, sq.Select[0].Pos, CodeMalformedQuery, "The selected field in a semi join subquery must be a single id or reference field: %s", col.Name)
	}
	var once sync.Once
	set := map[string]bool{}
	collect := func(res Resolver) {
		once.Do(func() {
			res.Scan(subObj, func(r Record) {
				if !sub.Match(r, res) {
					return
				}
				if id, ok := col.Value(r, res).(string); ok {
					set[id] = true
				}
			})
		})
	}
	neg := x.Op == "NOT IN"
	return func(r Record, res Resolver) bool {
		collect(res)
		id, ok := get(r, res).(string)
		return (ok && set[id]) != neg
	}, nil
}

// rangeCond applies a comparison against the half-open range [lo, hi) of a
// date literal: = means inside, < before lo, > at or after hi.
func rangeCond(op string, get func(Record, Resolver) any, lo, hi any) cond {
	in := func(v any) bool { return Compare(v, lo) >= 0 && Compare(v, hi) < 0 }
	return func(r Record, res Resolver) bool {
		v := get(r, res)
		if v == nil {
			return op == "!="
		}
		switch op {
		case "=":
			return in(v)
		case "!=":
			return !in(v)
		case "<":
			return Compare(v, lo) < 0
		case "<=":
			return Compare(v, hi) < 0
		case ">":
			return Compare(v, hi) >= 0
		case ">=":
			return Compare(v, lo) >= 0
		}
		return false
	}
}

func kindName(k Kind) string {
	switch k {
	case KindID:
		return "id"
	case KindBool:
		return "boolean"
	case KindNumber:
		return "double"
	case KindDate:
		return "date"
	case KindDateTime:
		return "dateTime"
	}
	return "string"
}

func (c *compiler) typeErr(f Field, l Literal) *Error {
	quoted := ""
	if l.Kind == LitString {
		quoted = " and should not be enclosed in quotes"
	}
	switch f.Kind {
	case KindString, KindID:
		return errAt(c.src, l.Pos, CodeInvalidFilterOperator, "value of filter criterion for field '%s' must be of type string and should be enclosed in quotes", f.Name)
	}
	return errAt(c.src, l.Pos, CodeInvalidFilterOperator, "value of filter criterion for field '%s' must be of type %s%s", f.Name, kindName(f.Kind), quoted)
}

// value converts a literal to the stored representation of f's kind.
func (c *compiler) value(f Field, l Literal, _ bool) (any, error) {
	switch f.Kind {
	case KindString:
		if l.Kind != LitString {
			return nil, c.typeErr(f, l)
		}
		return l.StringValue(), nil
	case KindID:
		if l.Kind != LitString {
			return nil, c.typeErr(f, l)
		}
		s := l.StringValue()
		id, err := sfid.Parse(s)
		if err != nil {
			return nil, errAt(c.src, l.Pos, CodeInvalidFilterOperator, "invalid ID field: %s", s)
		}
		return string(id), nil
	case KindBool:
		if l.Kind != LitBool {
			return nil, c.typeErr(f, l)
		}
		return l.Bool, nil
	case KindNumber:
		if l.Kind != LitNumber {
			return nil, c.typeErr(f, l)
		}
		return l.Num, nil
	case KindDate:
		if l.Kind != LitDate {
			return nil, c.typeErr(f, l)
		}
		return DateOf(l.Time), nil
	case KindDateTime:
		if l.Kind != LitDateTime {
			return nil, c.typeErr(f, l)
		}
		return DateTimeOf(l.Time), nil
	}
	return nil, c.typeErr(f, l)
}
