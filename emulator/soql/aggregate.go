package soql

import (
	"fmt"
	"slices"
	"strings"
)

// aggregation is the compiled GROUP BY, aggregate functions, HAVING and
// ORDER BY of an aggregate query. Every value a group needs is a measure:
// the output columns first, then those only HAVING or ORDER BY use.
type aggregation struct {
	groupBy  []Path
	measures []measure
	having   cond // over a measureRow
	order    []aggOrderKey
}

// measure is one value computed per group: a grouped field (fn empty) or
// an aggregate function of a field.
type measure struct {
	fn    string
	path  Path
	group int // grouped field: index into groupBy
	kind  Kind
}

type aggOrderKey struct {
	m         int
	desc      bool
	nullsLast bool
}

// measureRow is a group's measures, read by HAVING through Record.
type measureRow []any

func (r measureRow) Get(i int) any {
	if i < 0 || i >= len(r) {
		return nil
	}
	return r[i]
}

// measureObject lets HAVING conditions compile as comparisons: its field
// "m<i>" is measure i.
type measureObject struct{ a *aggregation }

func (o measureObject) Name() string { return "AggregateResult" }
func (o measureObject) Field(name string) (Field, bool) {
	var i int
	if _, err := fmt.Sscanf(name, "m%d", &i); err != nil || i < 0 || i >= len(o.a.measures) {
		return Field{}, false
	}
	return Field{Name: name, Kind: o.a.measures[i].kind, Index: i, Filterable: true, Sortable: true}, true
}
func (measureObject) Parent(string) (Field, Object, bool) { return Field{}, nil, false }
func (measureObject) Child(string) (string, Object, Field, bool) {
	return "", nil, Field{}, false
}

// checkAggregateArg refuses aggregate functions on fields of the wrong type.
func (c *compiler) checkAggregateArg(fn string, path Path, n Name) error {
	k := path.Field.Kind
	switch fn {
	case "SUM", "AVG":
		if k != KindNumber {
			return errAt(c.src, n.Pos, CodeMalformedQuery, "field %s does not support aggregate operator %s", path.Field.Name, fn)
		}
	case "MIN", "MAX":
		if k == KindBool {
			return errAt(c.src, n.Pos, CodeMalformedQuery, "field %s does not support aggregate operator %s", path.Field.Name, fn)
		}
	}
	return nil
}

// aggregate compiles what makes q an aggregate query.
func (c *compiler) aggregate(p *Plan, q *Query, obj Object) error {
	a := &aggregation{}
	for _, g := range q.GroupBy {
		path, err := c.path(obj, g)
		if err != nil {
			return err
		}
		if !path.Field.Filterable {
			return errAt(c.src, g.Pos, CodeMalformedQuery, "field '%s' can not be grouped in a query call", path.Field.Name)
		}
		a.groupBy = append(a.groupBy, path)
	}
	groupOf := func(path Path) int {
		for i, g := range a.groupBy {
			if strings.EqualFold(g.Name, path.Name) {
				return i
			}
		}
		return -1
	}
	// measureFor finds or adds the measure for fn(path), or the grouped
	// field path when fn is empty.
	measureFor := func(fn string, path Path, n Name, what string) (int, error) {
		m := measure{fn: fn, path: path, group: -1, kind: KindNumber}
		switch fn {
		case "":
			m.group = groupOf(path)
			if m.group < 0 {
				return 0, errAt(c.src, n.Pos, CodeMalformedQuery, "%s must be grouped or aggregated: %s", what, path.Name)
			}
			m.kind = path.Field.Kind
		case "MIN", "MAX":
			m.kind = path.Field.Kind
		}
		for i, x := range a.measures {
			if x.fn == m.fn && strings.EqualFold(x.path.Name, m.path.Name) {
				return i, nil
			}
		}
		a.measures = append(a.measures, m)
		return len(a.measures) - 1, nil
	}
	for i := range p.Columns {
		col := &p.Columns[i]
		switch col.Kind {
		case SelectSubquery:
			return errAt(c.src, q.Select[i].Pos, CodeMalformedQuery, "Aggregate queries cannot select a child relationship")
		case SelectField:
			if col.Alias == "" {
				col.Alias = col.Path.Field.Name
			}
			g := groupOf(col.Path)
			if g < 0 {
				return errAt(c.src, q.Select[i].Pos, CodeMalformedQuery, "Field must be grouped or aggregated: %s", col.Path.Name)
			}
			// Every column has its own measure, at its own index.
			a.measures = append(a.measures, measure{path: col.Path, group: g, kind: col.Path.Field.Kind})
		default:
			a.measures = append(a.measures, measure{fn: col.Func, path: col.Path, group: -1, kind: KindNumber})
			if col.Func == "MIN" || col.Func == "MAX" {
				a.measures[len(a.measures)-1].kind = col.Path.Field.Kind
			}
		}
	}
	seen := map[string]bool{}
	for _, col := range p.Columns {
		k := strings.ToLower(col.Alias)
		if seen[k] {
			return errAt(c.src, q.Select[0].Pos, CodeMalformedQuery, "duplicate alias: %s", col.Alias)
		}
		seen[k] = true
	}
	if q.Having != nil {
		h, err := c.havingExpr(a, obj, q.Having, measureFor)
		if err != nil {
			return err
		}
		a.having = h
	}
	for _, o := range q.OrderBy {
		var path Path
		if o.Func != "" || o.Field.Text != "" {
			var err error
			if path, err = c.path(obj, o.Field); err != nil {
				return err
			}
		}
		if o.Func != "" {
			if err := c.checkAggregateArg(o.Func, path, o.Field); err != nil {
				return err
			}
		}
		m, err := measureFor(o.Func, path, o.Field, "Ordered field")
		if err != nil {
			return err
		}
		nullsLast := o.Desc
		if o.NullsGiven {
			nullsLast = o.NullsLast
		}
		a.order = append(a.order, aggOrderKey{m: m, desc: o.Desc, nullsLast: nullsLast})
	}
	p.agg = a
	return nil
}

type measureLookup func(fn string, path Path, n Name, what string) (int, error)

// havingExpr compiles a HAVING condition over a group's measures: each
// comparison's left side, a grouped field or an aggregate function, becomes
// a measure, and the comparison is compiled against measureObject.
func (c *compiler) havingExpr(a *aggregation, obj Object, e Expr, measureFor measureLookup) (cond, error) {
	switch x := e.(type) {
	case *Logical:
		l, err := c.havingExpr(a, obj, x.L, measureFor)
		if err != nil {
			return nil, err
		}
		r, err := c.havingExpr(a, obj, x.R, measureFor)
		if err != nil {
			return nil, err
		}
		if x.Or {
			return func(rec Record, res Resolver) bool { return l(rec, res) || r(rec, res) }, nil
		}
		return func(rec Record, res Resolver) bool { return l(rec, res) && r(rec, res) }, nil
	case *Not:
		inner, err := c.havingExpr(a, obj, x.X, measureFor)
		if err != nil {
			return nil, err
		}
		return func(rec Record, res Resolver) bool { return !inner(rec, res) }, nil
	case *Comparison:
		if x.Sub != nil {
			return nil, errAt(c.src, x.Field.Pos, CodeMalformedQuery, "semi-join subqueries are not allowed in HAVING")
		}
		var path Path
		if x.Field.Text != "" {
			var err error
			if path, err = c.path(obj, x.Field); err != nil {
				return nil, err
			}
		} else if x.Func != "COUNT" {
			return nil, errAt(c.src, x.Field.Pos, CodeMalformedQuery, "%s() needs a field", x.Func)
		}
		if x.Func != "" && x.Field.Text != "" {
			if err := c.checkAggregateArg(x.Func, path, x.Field); err != nil {
				return nil, err
			}
		}
		m, err := measureFor(x.Func, path, x.Field, "Field in HAVING")
		if err != nil {
			return nil, err
		}
		y := *x
		y.Func = ""
		y.Field = Name{Text: "m" + itoa(m), Pos: x.Field.Pos}
		return c.comparison(measureObject{a}, &y)
	}
	return nil, &Error{Code: CodeMalformedQuery, Message: "unsupported condition"}
}

// AggregateRows evaluates an aggregate query over the records that match
// its WHERE clause: it groups them (one group when there is no GROUP BY),
// computes each column, keeps the groups HAVING accepts, orders them and
// applies OFFSET and LIMIT. Each row holds one value per column, in
// Columns order: float64 for COUNT, COUNT_DISTINCT, SUM and AVG, the
// field's own type for MIN, MAX and grouped fields, nil for no value.
func (p *Plan) AggregateRows(recs []Record, res Resolver) [][]any {
	a := p.agg
	type group struct {
		first Record
		recs  []Record
	}
	var groups []*group
	if len(a.groupBy) == 0 {
		groups = []*group{{recs: recs}}
	} else {
		index := map[string]*group{}
		var key strings.Builder
		for _, r := range recs {
			key.Reset()
			for _, g := range a.groupBy {
				writeGroupKey(&key, g.Value(r, res))
			}
			gr, ok := index[key.String()]
			if !ok {
				gr = &group{first: r}
				index[key.String()] = gr
				groups = append(groups, gr)
			}
			gr.recs = append(gr.recs, r)
		}
	}
	rows := make([]measureRow, 0, len(groups))
	for _, gr := range groups {
		row := make(measureRow, len(a.measures))
		for i, m := range a.measures {
			if m.fn == "" {
				row[i] = a.groupBy[m.group].Value(gr.first, res)
				continue
			}
			row[i] = aggregateValue(m, gr.recs, res)
		}
		if a.having != nil && !a.having(row, res) {
			continue
		}
		rows = append(rows, row)
	}
	if len(a.order) > 0 {
		slices.SortStableFunc(rows, func(x, y measureRow) int {
			for _, k := range a.order {
				vx, vy := x[k.m], y[k.m]
				if vx == nil || vy == nil {
					if vx == nil && vy == nil {
						continue
					}
					first := -1
					if vy == nil {
						first = 1
					}
					if k.nullsLast {
						first = -first
					}
					return first
				}
				c := Compare(vx, vy)
				if k.desc {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return 0
		})
	}
	if p.Offset > 0 {
		rows = rows[min(p.Offset, len(rows)):]
	}
	if p.Limit >= 0 && p.Limit < len(rows) {
		rows = rows[:p.Limit]
	}
	out := make([][]any, len(rows))
	for i, r := range rows {
		out[i] = []any(r[:len(p.Columns)])
	}
	return out
}

// writeGroupKey appends a value to a group key; text groups ignore case,
// as Salesforce's do.
func writeGroupKey(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("n\x00")
	case string:
		b.WriteString("s")
		b.WriteString(strings.ToLower(x))
		b.WriteByte(0)
	default:
		fmt.Fprintf(b, "%T:%v\x00", x, x)
	}
}

func aggregateValue(m measure, recs []Record, res Resolver) any {
	if m.path.Field.Name == "" { // COUNT()
		return float64(len(recs))
	}
	var (
		n, sum float64
		best   any
		seen   map[string]bool
	)
	if m.fn == "COUNT_DISTINCT" {
		seen = map[string]bool{}
	}
	for _, r := range recs {
		v := m.path.Value(r, res)
		if v == nil {
			continue
		}
		switch m.fn {
		case "COUNT":
			n++
		case "COUNT_DISTINCT":
			var k strings.Builder
			writeGroupKey(&k, v)
			if !seen[k.String()] {
				seen[k.String()] = true
				n++
			}
		case "SUM", "AVG":
			if f, ok := v.(float64); ok {
				sum += f
				n++
			}
		case "MIN":
			if best == nil || Compare(v, best) < 0 {
				best = v
			}
		case "MAX":
			if best == nil || Compare(v, best) > 0 {
				best = v
			}
		}
	}
	switch m.fn {
	case "COUNT", "COUNT_DISTINCT":
		return n
	case "SUM":
		if n == 0 {
			return nil
		}
		return sum
	case "AVG":
		if n == 0 {
			return nil
		}
		return sum / n
	}
	return best
}
