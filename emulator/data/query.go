package data

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sfbridge/sfbridge/emulator/sfid"
	"github.com/sfbridge/sfbridge/emulator/soql"
)

// schemaView exposes the objects a principal may read to the SOQL compiler.
type schemaView struct {
	s *Store
	p *Principal
}

func (v schemaView) Object(name string) (soql.Object, bool) {
	t, ok := v.s.tables[strings.ToLower(name)]
	if !ok || !v.p.Access(t.def.Name).Read || !t.def.Queryable {
		return nil, false
	}
	return objView{t: t, v: v}, true
}

type objView struct {
	t *table
	v schemaView
}

func (o objView) Name() string { return o.t.def.Name }

func (o objView) Field(name string) (soql.Field, bool) {
	fd, ok := o.t.def.Field(name)
	if !ok || fd.hidden.Load() {
		return soql.Field{}, false
	}
	return soql.Field{Name: fd.Name, Kind: fd.kind, Index: fd.index, Filterable: fd.Filterable, Sortable: fd.Sortable}, true
}

func (o objView) Parent(rel string) (soql.Field, soql.Object, bool) {
	fd, ok := o.t.def.parents[strings.ToLower(rel)]
	if !ok || len(fd.ReferenceTo) == 0 {
		return soql.Field{}, nil, false
	}
	target, ok := o.v.Object(fd.ReferenceTo[0])
	if !ok {
		return soql.Field{}, nil, false
	}
	return soql.Field{Name: fd.Name, Kind: fd.kind, Index: fd.index}, target, true
}

func (o objView) Child(rel string) (string, soql.Object, soql.Field, bool) {
	for _, ch := range o.t.def.Children {
		if !strings.EqualFold(ch.Name, rel) {
			continue
		}
		child, ok := o.v.Object(ch.ChildSObject)
		if !ok {
			return "", nil, soql.Field{}, false
		}
		ct := child.(objView).t
		fd, _ := ct.def.Field(ch.Field)
		return ch.Name, child, soql.Field{Name: fd.Name, Kind: fd.kind, Index: fd.index}, true
	}
	return "", nil, soql.Field{}, false
}

// resolver gives the SOQL evaluator access to the store's records; it is
// used only while the store's lock is held.
type resolver struct{ s *Store }

// Lookup implements soql.Resolver.
func (rv resolver) Lookup(obj soql.Object, id string) soql.Record {
	ov, ok := obj.(objView)
	if !ok {
		return nil
	}
	if r := rv.s.lookup(ov.t, id); r != nil {
		return r
	}
	return nil
}

// Scan implements soql.Resolver: it visits the live records of obj.
func (rv resolver) Scan(obj soql.Object, fn func(soql.Record)) {
	ov, ok := obj.(objView)
	if !ok {
		return
	}
	del := deletedIndex(ov.t.def)
	for _, r := range ov.t.recs {
		if r.Get(del) != true {
			fn(r)
		}
	}
}

// resultSet is an evaluated query: the rows in order, ready to be served
// page by page without evaluating the query again.
type resultSet struct {
	plan     *soql.Plan
	def      *ObjectDef
	rows     []*record
	total    int
	children []map[string][]*record // per subquery column: parent id → rows
	tree     []*node
	user     sfid.ID
	entity   string
	batch    int // page size of the query that opened the locator
}

// runQuery parses, compiles and evaluates src for p. all includes
// soft-deleted rows (queryAll).
func (s *Store) runQuery(p *Principal, src string, all bool) (*resultSet, error) {
	q, err := soql.Parse(src)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	plan, err := soql.Compile(q, schemaView{s: s, p: p}, soql.CompileOptions{Now: s.now()})
	if err != nil {
		return nil, err
	}
	t := plan.Object.(objView).t
	if err := s.checkKnowledgeQuery(q, t); err != nil {
		return nil, err
	}
	recs := t.recs
	if t.def.Name == ObjUserPermissionAccess {
		recs = []*record{s.permissionAccessRow(t.def, p)}
	}
	rs := &resultSet{plan: plan, def: t.def, user: p.UserID, entity: t.def.Name}
	rows := s.filter(plan, t.def, recs, all)
	if plan.Aggregate {
		// Groups are ordered, offset and limited, not records.
		in := make([]soql.Record, len(rows))
		for i, r := range rows {
			in[i] = r
		}
		for _, vals := range plan.AggregateRows(in, resolver{s}) {
			rs.rows = append(rs.rows, newRecord(vals))
		}
		rs.total = len(rs.rows)
		rs.tree = buildTree(s, plan)
		return rs, nil
	}
	if plan.Ordered() {
		sortRows(rows, plan, resolver{s})
	}
	if plan.Offset > 0 {
		rows = rows[min(plan.Offset, len(rows)):]
	}
	if plan.Limit >= 0 && plan.Limit < len(rows) {
		rows = rows[:plan.Limit]
	}
	switch {
	case plan.CountOnly:
		rs.total = len(rows)
		return rs, nil
	}
	rs.rows = rows
	rs.total = len(rows)
	rs.children = make([]map[string][]*record, len(plan.Columns))
	for i, c := range plan.Columns {
		if c.Kind != soql.SelectSubquery {
			continue
		}
		ct := c.Sub.Object.(objView).t
		m := map[string][]*record{}
		for _, r := range s.filter(c.Sub, ct.def, ct.recs, all) {
			if pid, ok := r.Get(c.ChildFK.Index).(string); ok {
				m[pid] = append(m[pid], r)
			}
		}
		for k, list := range m {
			if c.Sub.Ordered() {
				sortRows(list, c.Sub, resolver{s})
			}
			if c.Sub.Offset > 0 {
				list = list[min(c.Sub.Offset, len(list)):]
			}
			if c.Sub.Limit >= 0 && c.Sub.Limit < len(list) {
				list = list[:c.Sub.Limit]
			}
			m[k] = list
		}
		rs.children[i] = m
	}
	rs.tree = buildTree(s, plan)
	return rs, nil
}

// sortRows orders rows by the plan's ORDER BY keys; rows with equal keys
// keep their stored order (pattern-defeating quicksort with the original
// position as the last key, which beats a stable merge sort on large sets).
func sortRows(rows []*record, plan *soql.Plan, s resolver) {
	type item struct {
		r    *record
		pos  int
		keys []any
		prim int64 // first key as an ordered integer, when it is a dateTime, date or number that fits
	}
	items := make([]item, len(rows))
	var keys []any
	if len(rows) > 0 {
		keys = make([]any, 0, len(rows)*len(plan.SortKeys(rows[0], s, nil)))
	}
	for i, r := range rows {
		n := len(keys)
		keys = plan.SortKeys(r, s, keys)
		items[i] = item{r: r, pos: i, keys: keys[n:len(keys):len(keys)]}
	}
	// The sync pattern ORDER BY SystemModstamp, Id sorts a million rows: when
	// the first key is a dateTime (or date), compare it as an integer first.
	desc, nullsLast := plan.OrderKey(0)
	fast := true
	for i := range items {
		var p int64
		switch x := items[i].keys[0].(type) {
		case nil:
			p = math.MinInt64
			if nullsLast {
				p = math.MaxInt64
			}
			items[i].prim = p
			continue
		case soql.DateTime:
			p = int64(x)
		case soql.Date:
			p = int64(x)
		default:
			fast = false
		}
		if desc {
			p = -p
		}
		items[i].prim = p
	}
	slices.SortFunc(items, func(a, b item) int {
		if fast && a.prim != b.prim {
			if a.prim < b.prim {
				return -1
			}
			return 1
		}
		if c := plan.CompareKeys(a.keys, b.keys); c != 0 {
			return c
		}
		return a.pos - b.pos
	})
	for i := range items {
		rows[i] = items[i].r
	}
}

func (s *Store) filter(plan *soql.Plan, def *ObjectDef, recs []*record, all bool) []*record {
	del := deletedIndex(def)
	var rows []*record
	for _, r := range recs {
		if !all && r.Get(del) == true {
			continue
		}
		if plan.Match(r, resolver{s}) {
			rows = append(rows, r)
		}
	}
	return rows
}

// permissionAccessRow is the one UserPermissionAccess row: the effective
// system permissions of the caller.
func (s *Store) permissionAccessRow(def *ObjectDef, p *Principal) *record {
	vals := make([]any, len(def.Fields))
	for _, fd := range def.Fields {
		name, ok := strings.CutPrefix(fd.Name, "Permissions")
		if !ok {
			continue
		}
		v := p.Permissions[name]
		switch name {
		case "ApiEnabled":
			v = true
		case "ViewAllData":
			v = v || p.ViewAllData || p.ModifyAllData
		case "ModifyAllData":
			v = v || p.ModifyAllData
		}
		vals[fd.index] = v
	}
	vals[deletedIndex(def)] = false
	return newRecord(vals)
}

// node is one key of an output record: a field, a parent relationship
// (with its own keys) or a child subquery.
type node struct {
	key   string
	field *FieldDef
	col   int // index into plan.Columns (fields, COUNT, subqueries)
	step  *soql.Step
	def   *ObjectDef // object of the relationship node's records
	kids  []*node
	sub   []*node // subquery's tree
	isSub bool
	count bool
}

func defOf(o soql.Object) *ObjectDef { return o.(objView).t.def }

func buildTree(s *Store, plan *soql.Plan) []*node {
	var roots []*node
	if plan.Aggregate {
		// AggregateResult records are flat: one key per column, named by
		// its alias (a grouped field's name, or expr0, expr1…).
		for i := range plan.Columns {
			c := &plan.Columns[i]
			n := &node{key: c.Alias, col: i, count: c.Kind == soql.SelectCount}
			if c.Kind == soql.SelectField || c.Func == "MIN" || c.Func == "MAX" {
				owner := plan.Object
				if k := len(c.Path.Steps); k > 0 {
					owner = c.Path.Steps[k-1].Target
				}
				n.field = defOf(owner).Fields[c.Path.Field.Index]
			}
			roots = append(roots, n)
		}
		return roots
	}
	for i := range plan.Columns {
		c := &plan.Columns[i]
		switch c.Kind {
		case soql.SelectSubquery:
			roots = append(roots, &node{key: c.Relationship, col: i, isSub: true, sub: buildTree(s, c.Sub), def: defOf(c.Sub.Object)})
		case soql.SelectCount:
			roots = append(roots, &node{key: c.Alias, col: i, count: true})
		default:
			level := &roots
			owner := plan.Object
			for j := range c.Path.Steps {
				st := &c.Path.Steps[j]
				var found *node
				for _, n := range *level {
					if n.step != nil && n.key == st.Relationship {
						found = n
					}
				}
				if found == nil {
					found = &node{key: st.Relationship, step: st, def: defOf(st.Target)}
					*level = append(*level, found)
				}
				level = &found.kids
				owner = st.Target
			}
			fd := defOf(owner).Fields[c.Path.Field.Index]
			dup := false
			for _, n := range *level {
				if n.field == fd && n.step == nil {
					dup = true
				}
			}
			if !dup {
				*level = append(*level, &node{key: fd.Name, field: fd, col: i})
			}
		}
	}
	return roots
}

// cursorCache keeps evaluated result sets by locator so that paging does
// not evaluate the query again. Idle entries expire after ttl; at most max
// are kept (the least recently used goes first).
type cursorCache struct {
	mu  sync.Mutex
	ttl time.Duration
	max int
	m   map[string]*cursor
}

type cursor struct {
	rs   *resultSet
	last time.Time
}

func newCursorCache(ttl time.Duration, maxEntries int) *cursorCache {
	return &cursorCache{ttl: ttl, max: maxEntries, m: map[string]*cursor{}}
}

func (c *cursorCache) put(id string, rs *resultSet, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range c.m {
		if now.Sub(v.last) > c.ttl {
			delete(c.m, k)
		}
	}
	for len(c.m) >= c.max {
		var oldest string
		var t time.Time
		for k, v := range c.m {
			if oldest == "" || v.last.Before(t) {
				oldest, t = k, v.last
			}
		}
		delete(c.m, oldest)
	}
	c.m[id] = &cursor{rs: rs, last: now}
}

func (c *cursorCache) get(id string, now time.Time) (*resultSet, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur, ok := c.m[id]
	if !ok {
		return nil, false
	}
	if now.Sub(cur.last) > c.ttl {
		delete(c.m, id)
		return nil, false
	}
	cur.last = now
	return cur.rs, true
}

func (c *cursorCache) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

// encoder appends Salesforce's JSON for query results and records.
type encoder struct {
	s       *Store
	b       []byte
	version string // "62.0"
}

func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func (e *encoder) value(fd *FieldDef, v any) {
	switch x := v.(type) {
	case nil:
		e.b = append(e.b, "null"...)
	case string:
		e.b = appendJSONString(e.b, x)
	case bool:
		e.b = strconv.AppendBool(e.b, x)
	case float64:
		e.b = appendNumber(e.b, fd, x)
	case soql.DateTime:
		e.b = append(e.b, '"')
		e.b = appendDateTimeFast(e.b, x)
		e.b = append(e.b, '"')
	case soql.Date:
		e.b = append(e.b, '"')
		e.b = soql.AppendDate(e.b, x)
		e.b = append(e.b, '"')
	default:
		e.b = append(e.b, "null"...)
	}
}

func appendNumber(b []byte, fd *FieldDef, x float64) []byte {
	if fd == nil || fd.Type == "int" {
		return strconv.AppendFloat(b, x, 'f', -1, 64)
	}
	n := len(b)
	b = strconv.AppendFloat(b, x, 'f', -1, 64)
	for _, c := range b[n:] {
		if c == '.' {
			return b
		}
	}
	return append(b, '.', '0')
}

func (e *encoder) attributes(typ, id string) {
	e.b = append(e.b, `{"attributes":{"type":`...)
	e.b = appendJSONString(e.b, typ)
	if id != "" {
		e.b = append(e.b, `,"url":"/services/data/v`...)
		e.b = append(e.b, e.version...)
		e.b = append(e.b, "/sobjects/"...)
		e.b = append(e.b, typ...)
		e.b = append(e.b, '/')
		e.b = append(e.b, id...)
		e.b = append(e.b, '"')
	}
	e.b = append(e.b, '}')
}

// blobURL appends the relative URL Salesforce returns for a base64 field
// (EventLogFile.LogFile) instead of its content.
func (e *encoder) blobURL(object, id, field string) {
	e.b = append(e.b, `"/services/data/v`...)
	e.b = append(e.b, e.version...)
	e.b = append(e.b, "/sobjects/"...)
	e.b = append(e.b, object...)
	e.b = append(e.b, '/')
	e.b = append(e.b, id...)
	e.b = append(e.b, '/')
	e.b = append(e.b, field...)
	e.b = append(e.b, '"')
}

// row appends one query result record.
func (e *encoder) row(rs *resultSet, def *ObjectDef, r *record, nodes []*node, children []map[string][]*record) {
	if rs.plan.Aggregate {
		e.attributes("AggregateResult", "")
		for _, n := range nodes {
			e.b = append(e.b, ',')
			e.b = appendJSONString(e.b, n.key)
			e.b = append(e.b, ':')
			e.value(n.field, r.Get(n.col))
		}
		e.b = append(e.b, '}')
		return
	}
	e.attributes(def.Name, r.id())
	for _, n := range nodes {
		e.b = append(e.b, ',')
		e.b = appendJSONString(e.b, n.key)
		e.b = append(e.b, ':')
		switch {
		case n.field != nil && n.field.Type == "base64":
			e.blobURL(def.Name, r.id(), n.field.Name)
		case n.field != nil:
			e.value(n.field, r.Get(n.field.index))
		case n.step != nil:
			id, _ := r.Get(n.step.FK.Index).(string)
			var pr *record
			if id != "" {
				pr = e.s.lookup(n.step.Target.(objView).t, id)
			}
			if pr == nil {
				e.b = append(e.b, "null"...)
				continue
			}
			e.row(rs, n.def, pr, n.kids, nil)
		case n.isSub:
			list := children[n.col][r.id()]
			if len(list) == 0 {
				e.b = append(e.b, "null"...)
				continue
			}
			e.b = append(e.b, `{"totalSize":`...)
			e.b = strconv.AppendInt(e.b, int64(len(list)), 10)
			e.b = append(e.b, `,"done":true,"records":[`...)
			for i, c := range list {
				if i > 0 {
					e.b = append(e.b, ',')
				}
				e.row(rs, n.def, c, n.sub, nil)
			}
			e.b = append(e.b, "]}"...)
		}
	}
	e.b = append(e.b, '}')
}

// page appends the query response for rows [from, from+n) of rs.
func (e *encoder) page(rs *resultSet, from, n int, locator string) {
	end := min(from+n, len(rs.rows))
	from = min(from, end)
	e.b = append(e.b, `{"totalSize":`...)
	e.b = strconv.AppendInt(e.b, int64(rs.total), 10)
	done := end >= len(rs.rows)
	e.b = append(e.b, `,"done":`...)
	e.b = strconv.AppendBool(e.b, done)
	if !done {
		e.b = append(e.b, `,"nextRecordsUrl":"/services/data/v`...)
		e.b = append(e.b, e.version...)
		e.b = append(e.b, "/query/"...)
		e.b = append(e.b, locator...)
		e.b = append(e.b, '-')
		e.b = strconv.AppendInt(e.b, int64(end), 10)
		e.b = append(e.b, '"')
	}
	e.b = append(e.b, `,"records":[`...)
	for i, r := range rs.rows[from:end] {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.row(rs, rs.def, r, rs.tree, rs.children)
	}
	e.b = append(e.b, "]}"...)
}

// appendDateTimeFast appends 2026-11-20T10:00:00.000+0000 without going
// through time.Format, which dominates encoding otherwise.
func appendDateTimeFast(b []byte, d soql.DateTime) []byte {
	ms := int64(d)
	if ms < 0 || ms >= 253402300800000 { // outside years 1970..9999
		return soql.AppendDateTime(b, d)
	}
	days := ms / 86400000
	rem := ms % 86400000
	y, m, dd := civil(days)
	h, mi, sec, milli := rem/3600000, rem/60000%60, rem/1000%60, rem%1000
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-', byte('0'+dd/10), byte('0'+dd%10), 'T',
		byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.', byte('0'+milli/100), byte('0'+milli/10%10), byte('0'+milli%10))
	return append(b, "+0000"...)
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's days-to-civil algorithm).
func civil(z int64) (y, m, d int64) {
	z += 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}
