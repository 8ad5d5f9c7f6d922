package soql

import (
	"strings"
	"time"
)

// Query is a parsed SOQL statement.
type Query struct {
	Select  []SelectItem
	From    Name
	Where   Expr // nil without WHERE
	GroupBy []Name
	Having  Expr // nil without HAVING
	OrderBy []OrderItem
	Limit   int // -1 without LIMIT
	Offset  int // -1 without OFFSET
	Src     string
}

// Name is an identifier or dotted path with its place in the query.
type Name struct {
	Text string
	Pos  Pos
}

// SelectKind says what a select item is.
type SelectKind uint8

// Select item kinds.
const (
	SelectField    SelectKind = iota // Id, Contact.Email
	SelectCount                      // COUNT(), COUNT(field) or another aggregate function (Func)
	SelectSubquery                   // (SELECT … FROM CaseComments)
)

// SelectItem is one entry of the SELECT list.
type SelectItem struct {
	Kind  SelectKind
	Field Name   // SelectField; the function's argument (empty Text for COUNT())
	Func  string // SelectCount: COUNT, COUNT_DISTINCT, MIN, MAX, SUM or AVG
	Alias string // COUNT(Id) n, Status s (aliases only in aggregate queries)
	Sub   *Query // SelectSubquery
	Pos   Pos
}

// aggregateFuncs are the aggregate functions SOQL has.
func isAggregateFunc(name string) bool {
	switch strings.ToUpper(name) {
	case "COUNT", "COUNT_DISTINCT", "MIN", "MAX", "SUM", "AVG":
		return true
	}
	return false
}

// OrderItem is one ORDER BY key.
type OrderItem struct {
	Field      Name   // the field, or the aggregate function's argument
	Func       string // aggregate function (aggregate queries), or empty
	Desc       bool
	NullsLast  bool
	NullsGiven bool
}

// Expr is a WHERE condition: *Logical, *Not or *Comparison.
type Expr interface{ exprNode() }

// Logical is AND or OR of two conditions.
type Logical struct {
	Or   bool
	L, R Expr
}

// Not negates a condition.
type Not struct{ X Expr }

// Comparison is field OP value, field IN (values), field LIKE pattern.
type Comparison struct {
	Field  Name   // the field, or the aggregate function's argument (HAVING)
	Func   string // aggregate function in a HAVING condition, or empty
	Op     string // = != < <= > >= LIKE IN NOT IN
	Value  Literal
	Values []Literal // IN / NOT IN
	Sub    *Query    // semi-join: Id IN (SELECT ParentId FROM CaseComment …)
}

func (*Logical) exprNode()    {}
func (*Not) exprNode()        {}
func (*Comparison) exprNode() {}

// LitKind says what kind of literal a value is.
type LitKind uint8

// Literal kinds.
const (
	LitString LitKind = iota
	LitNumber
	LitBool
	LitNull
	LitDate
	LitDateTime
	LitDateRange // TODAY, LAST_N_DAYS:30, …
)

// Literal is a constant in a WHERE clause.
type Literal struct {
	Kind LitKind
	Text string    // source text
	Str  string    // LitString: value with LIKE escapes (\_ \% \\) kept
	Num  float64   // LitNumber
	Bool bool      // LitBool
	Time time.Time // LitDate (midnight UTC), LitDateTime
	N    int       // LitDateRange argument (LAST_N_DAYS:n)
	Pos  Pos
}

// StringValue is a string literal's value with LIKE escapes removed.
func (l Literal) StringValue() string { return unescapeLike(l.Str) }
