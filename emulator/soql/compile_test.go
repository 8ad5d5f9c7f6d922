package soql

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/emulator/sfid"
)

// A tiny schema: Case(Id, Subject, Status, IsClosed, Amount, CreatedDate,
// DueDate, ContactId, Description) → Contact(Id, Email).
type testObj struct {
	name    string
	fields  []Field
	parents map[string]string // relationship → fk field
	s       *testSchemaT
}

func (o *testObj) Name() string { return o.name }
func (o *testObj) Field(n string) (Field, bool) {
	for _, f := range o.fields {
		if strings.EqualFold(f.Name, n) {
			return f, true
		}
	}
	return Field{}, false
}
func (o *testObj) Parent(rel string) (Field, Object, bool) {
	for r, fk := range o.parents {
		if strings.EqualFold(r, rel) {
			f, _ := o.Field(fk)
			return f, o.s.objs["contact"], true
		}
	}
	return Field{}, nil, false
}
func (o *testObj) Child(string) (string, Object, Field, bool) { return "", nil, Field{}, false }

type testSchemaT struct {
	objs     map[string]*testObj
	rows     []testRow
	contacts map[string]testRow
}

func (s *testSchemaT) Object(n string) (Object, bool) {
	o, ok := s.objs[strings.ToLower(n)]
	return o, ok
}
func (s *testSchemaT) Scan(obj Object, fn func(Record)) {
	if obj.Name() == "Contact" {
		for _, r := range s.contacts {
			fn(r)
		}
		return
	}
	for _, r := range s.rows {
		fn(r)
	}
}

func (s *testSchemaT) Lookup(_ Object, id string) Record {
	if r, ok := s.contacts[id]; ok {
		return r
	}
	return nil
}

type testRow []any

func (r testRow) Get(i int) any { return r[i] }

var (
	caseID1    = string(sfid.Make("500", "xx", 1))
	caseID2    = string(sfid.Make("500", "xx", 2))
	caseID3    = string(sfid.Make("500", "xx", 3))
	contactID1 = string(sfid.Make("003", "xx", 1))
)

func testSchema() *testSchemaT {
	s := &testSchemaT{objs: map[string]*testObj{}}
	ff := func(name string, k Kind, i int) Field {
		return Field{Name: name, Kind: k, Index: i, Filterable: name != "Description", Sortable: name != "Description"}
	}
	s.objs["case"] = &testObj{name: "Case", s: s, parents: map[string]string{"Contact": "ContactId"}, fields: []Field{
		ff("Id", KindID, 0), ff("Subject", KindString, 1), ff("Status", KindString, 2), ff("IsClosed", KindBool, 3),
		ff("Amount", KindNumber, 4), ff("CreatedDate", KindDateTime, 5), ff("DueDate", KindDate, 6), ff("ContactId", KindID, 7), ff("Description", KindString, 8),
	}}
	s.objs["contact"] = &testObj{name: "Contact", s: s, fields: []Field{ff("Id", KindID, 0), ff("Email", KindString, 1)}}
	at := func(d, h int) DateTime { return DateTimeOf(time.Date(2026, 11, d, h, 0, 0, 0, time.UTC)) }
	day := func(d int) Date { return DateOf(time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC)) }
	s.rows = []testRow{
		{caseID1, "Printer on fire", "New", false, 10.0, at(20, 9), day(25), contactID1, "x"},
		{caseID2, "printer jammed", "Closed", true, 5.5, at(19, 23), nil, nil, nil},
		{caseID3, "Login_problem 100%", nil, false, nil, at(1, 0), day(1), nil, nil},
	}
	s.contacts = map[string]testRow{contactID1: {contactID1, "Jane@Example.com"}}
	return s
}

func run(t *testing.T, src string) []string {
	t.Helper()
	s := testSchema()
	q, err := Parse(src)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	p, err := Compile(q, s, CompileOptions{Now: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatalf("Compile(%q): %v", src, err)
	}
	var rows []testRow
	for _, r := range s.rows {
		if p.Match(r, s) {
			rows = append(rows, r)
		}
	}
	slices.SortStableFunc(rows, func(a, b testRow) int { return p.CompareRecords(a, b, s) })
	var ids []string
	for _, r := range rows {
		ids = append(ids, r[0].(string)[12:15])
	}
	return ids
}

func TestEvaluate(t *testing.T) {
	tests := []struct {
		where string
		want  []string
	}{
		{"Subject = 'PRINTER ON FIRE'", []string{"001"}},
		{"Subject != 'printer on fire'", []string{"002", "003"}},
		{"Subject LIKE 'printer%'", []string{"001", "002"}},
		{"Subject LIKE '%\\_problem 100\\%'", []string{"003"}},
		{"Subject LIKE 'Login_problem%'", []string{"003"}},
		{"Subject LIKE 'printer _ammed'", []string{"002"}},
		{"Status = null", []string{"003"}},
		{"Status != null", []string{"001", "002"}},
		{"Status IN ('new', 'CLOSED')", []string{"001", "002"}},
		{"Status NOT IN ('New')", []string{"002", "003"}},
		{"IsClosed = true", []string{"002"}},
		{"Amount > 5.5", []string{"001"}},
		{"Amount >= 5.5", []string{"001", "002"}},
		{"Amount < 100", []string{"001", "002"}},
		{"CreatedDate = TODAY", []string{"001"}},
		{"CreatedDate = YESTERDAY", []string{"002"}},
		{"CreatedDate = LAST_N_DAYS:1", []string{"001", "002"}},
		{"CreatedDate < LAST_N_DAYS:7", []string{"003"}},
		{"CreatedDate = THIS_MONTH", []string{"001", "002", "003"}},
		{"CreatedDate = LAST_MONTH", nil},
		{"CreatedDate > 2026-11-19T23:00:00Z", []string{"001"}},
		{"CreatedDate >= 2026-11-20T00:00:00+01:00", []string{"001", "002"}},
		{"DueDate = 2026-11-25", []string{"001"}},
		{"DueDate = NEXT_N_DAYS:5", []string{"001"}},
		{"DueDate = NEXT_N_DAYS:4", nil},
		{"Contact.Email = 'jane@example.com'", []string{"001"}},
		{"Contact.Email = null", []string{"002", "003"}},
		{"NOT (Status = 'New' OR Status = 'Closed')", []string{"003"}},
		{"(Status = 'New' OR Status = 'Closed') AND Amount < 6", []string{"002"}},
		{"Id = '" + caseID2[:15] + "'", []string{"002"}},
		{"Id IN ('" + caseID1 + "', '" + caseID3 + "')", []string{"001", "003"}},
		{"ContactId IN (SELECT Id FROM Contact WHERE Email LIKE '%example.com')", []string{"001"}},
		{"ContactId NOT IN (SELECT Id FROM Contact)", []string{"002", "003"}},
		{"Id IN (SELECT Id FROM Case WHERE Status = 'Closed')", []string{"002"}},
	}
	for _, tt := range tests {
		t.Run(tt.where, func(t *testing.T) {
			got := run(t, "SELECT Id FROM Case WHERE "+tt.where)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLikeMatcher(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"abc", "ABC", true}, {"a%", "a", true}, {"%", "", true}, {"_", "", false}, {"a_c", "abc", true},
		{"%b%", "abc", true}, {"%x%", "abc", false}, {"a%c%e", "abcde", true}, {"a%c%e", "abcdef", false},
		{`100\%`, "100%", true}, {`100\%`, "1000", false}, {`a\_b`, "a_b", true}, {`a\_b`, "axb", false},
		{"%a%a%a%a%a%a%a%a%a%a%b", strings.Repeat("a", 5000), false}, {"é%", "Éclair", true},
	}
	for _, tt := range tests {
		if got := likeMatcher(tt.pattern)(tt.s); got != tt.want {
			t.Errorf("LIKE %q on %.20q = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestOrderBy(t *testing.T) {
	tests := []struct {
		order string
		want  []string
	}{
		{"Subject", []string{"003", "002", "001"}},
		{"Subject DESC", []string{"001", "002", "003"}},
		{"Status", []string{"003", "002", "001"}},
		{"Status NULLS LAST", []string{"002", "001", "003"}},
		{"Status DESC", []string{"001", "002", "003"}},
		{"Status DESC NULLS FIRST", []string{"003", "001", "002"}},
		{"IsClosed DESC, CreatedDate ASC", []string{"002", "003", "001"}},
		{"Contact.Email DESC NULLS LAST, Id DESC", []string{"001", "003", "002"}},
	}
	for _, tt := range tests {
		t.Run(tt.order, func(t *testing.T) {
			if got := run(t, "SELECT Id FROM Case ORDER BY "+tt.order); !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		src, code, msg string
	}{
		{"SELECT Id FROM Foo", CodeInvalidType, "\nSELECT Id FROM Foo\n               ^\nERROR at Row:1:Column:16\nsObject type 'Foo' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."},
		{"SELECT Id, Nope FROM Case", CodeInvalidField, "\nSELECT Id, Nope FROM Case\n           ^\nERROR at Row:1:Column:12\nNo such column 'Nope' on entity 'Case'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name."},
		{"SELECT Owner.Name FROM Case", CodeInvalidField, "Didn't understand relationship 'Owner' in field path."},
		{"SELECT Id, (SELECT Id FROM Comments) FROM Case", CodeInvalidType, "Didn't understand relationship 'Comments' in FROM part of query call."},
		{"SELECT Id FROM Case WHERE Description = 'x'", CodeInvalidField, "field 'Description' can not be filtered in a query call"},
		{"SELECT Id FROM Case ORDER BY Description", CodeInvalidField, "field 'Description' can not be sorted in a query call"},
		{"SELECT Id FROM Case WHERE CreatedDate = '2026-11-20'", CodeInvalidFilterOperator, "value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed in quotes"},
		{"SELECT Id FROM Case WHERE DueDate = 2026-11-20T00:00:00Z", CodeInvalidFilterOperator, "must be of type date"},
		{"SELECT Id FROM Case WHERE Subject = 5", CodeInvalidFilterOperator, "must be of type string and should be enclosed in quotes"},
		{"SELECT Id FROM Case WHERE Id = 'nope'", CodeInvalidFilterOperator, "invalid ID field: nope"},
		{"SELECT Id FROM Case WHERE Amount LIKE '5%'", CodeInvalidFilterOperator, "invalid operator on double field: Amount"},
		{"SELECT COUNT(), Id FROM Case", CodeMalformedQuery, "COUNT() and COUNT(fieldName) cannot be mixed"},
		{"SELECT Id FROM Case WHERE Subject IN (SELECT Id FROM Contact)", CodeInvalidFilterOperator, "Invalid semi join field: Subject"},
		{"SELECT Id FROM Case WHERE Id IN (SELECT Email FROM Contact)", CodeMalformedQuery, "must be a single id or reference field"},
		{"SELECT Id FROM Case WHERE Id IN (SELECT Id FROM Nope)", CodeInvalidType, "sObject type 'Nope' is not supported."},
		{"SELECT COUNT(Id), Subject FROM Case", CodeMalformedQuery, "Field must be grouped or aggregated: Subject"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			q, err := Parse(tt.src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			_, err = Compile(q, testSchema(), CompileOptions{})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Compile error = %v, want *Error", err)
			}
			if e.Code != tt.code || !strings.Contains(e.Message, tt.msg) {
				t.Fatalf("got %s %q\nwant %s containing %q", e.Code, e.Message, tt.code, tt.msg)
			}
		})
	}
}

func TestDateLiteralRanges(t *testing.T) {
	now := time.Date(2026, 11, 20, 15, 4, 5, 0, time.UTC) // a Friday
	d := func(m time.Month, day int) time.Time { return time.Date(2026, m, day, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		name       string
		n          int
		start, end time.Time
	}{
		{"TODAY", 0, d(11, 20), d(11, 21)},
		{"YESTERDAY", 0, d(11, 19), d(11, 20)},
		{"TOMORROW", 0, d(11, 21), d(11, 22)},
		{"THIS_WEEK", 0, d(11, 15), d(11, 22)},
		{"LAST_WEEK", 0, d(11, 8), d(11, 15)},
		{"THIS_MONTH", 0, d(11, 1), d(12, 1)},
		{"LAST_MONTH", 0, d(10, 1), d(11, 1)},
		{"LAST_N_DAYS", 3, d(11, 17), d(11, 21)},
		{"NEXT_N_DAYS", 3, d(11, 21), d(11, 24)},
		{"N_DAYS_AGO", 2, d(11, 18), d(11, 19)},
		{"THIS_QUARTER", 0, d(10, 1), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		s, e, ok := DateLiteralRange(tt.name, tt.n, now)
		if !ok || !s.Equal(tt.start) || !e.Equal(tt.end) {
			t.Errorf("%s:%d = [%v, %v) ok=%v, want [%v, %v)", tt.name, tt.n, s, e, ok, tt.start, tt.end)
		}
	}
	if _, _, ok := DateLiteralRange("SOMEDAY", 0, now); ok {
		t.Error("unknown literal accepted")
	}
}

func TestAppendDateTime(t *testing.T) {
	got := string(AppendDateTime(nil, DateTimeOf(time.Date(2026, 11, 20, 10, 0, 0, 0, time.FixedZone("x", 3600)))))
	if got != "2026-11-20T09:00:00.000+0000" {
		t.Fatalf("got %s", got)
	}
}
