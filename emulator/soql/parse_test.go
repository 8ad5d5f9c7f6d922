package soql

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name, src string
		check     func(t *testing.T, q *Query)
	}{
		{"fields", "SELECT Id, Subject FROM Case", func(t *testing.T, q *Query) {
			if len(q.Select) != 2 || q.Select[1].Field.Text != "Subject" || q.From.Text != "Case" || q.Limit != -1 || q.Offset != -1 {
				t.Fatalf("got %+v", q)
			}
		}},
		{"lower-case keywords", "select id from case where status = 'New' order by createddate desc nulls last limit 5 offset 10", func(t *testing.T, q *Query) {
			if q.Limit != 5 || q.Offset != 10 || len(q.OrderBy) != 1 || !q.OrderBy[0].Desc || !q.OrderBy[0].NullsLast {
				t.Fatalf("got %+v", q)
			}
		}},
		{"parent path", "SELECT Contact.Email, Owner.Name FROM Case", func(t *testing.T, q *Query) {
			if q.Select[0].Field.Text != "Contact.Email" {
				t.Fatalf("got %q", q.Select[0].Field.Text)
			}
		}},
		{"count", "SELECT COUNT() FROM Case", func(t *testing.T, q *Query) {
			if q.Select[0].Kind != SelectCount || q.Select[0].Field.Text != "" {
				t.Fatalf("got %+v", q.Select[0])
			}
		}},
		{"count field alias", "SELECT COUNT(Id) n FROM Case", func(t *testing.T, q *Query) {
			if q.Select[0].Field.Text != "Id" || q.Select[0].Alias != "n" {
				t.Fatalf("got %+v", q.Select[0])
			}
		}},
		{"subquery", "SELECT Id, (SELECT Id, CommentBody FROM CaseComments ORDER BY CreatedDate) FROM Case", func(t *testing.T, q *Query) {
			if q.Select[1].Kind != SelectSubquery || q.Select[1].Sub.From.Text != "CaseComments" || len(q.Select[1].Sub.OrderBy) != 1 {
				t.Fatalf("got %+v", q.Select[1])
			}
		}},
		{"precedence", "SELECT Id FROM Case WHERE A = 1 OR B = 2 AND NOT C = 3", func(t *testing.T, q *Query) {
			or, ok := q.Where.(*Logical)
			if !ok || !or.Or {
				t.Fatalf("top is %T %+v", q.Where, q.Where)
			}
			and, ok := or.R.(*Logical)
			if !ok || and.Or {
				t.Fatalf("right is %+v", or.R)
			}
			if _, ok := and.R.(*Not); !ok {
				t.Fatalf("NOT missing: %+v", and.R)
			}
		}},
		{"in and not in", "SELECT Id FROM Case WHERE Status IN ('New','Working') AND Priority NOT IN ('Low')", func(t *testing.T, q *Query) {
			and := q.Where.(*Logical)
			if c := and.L.(*Comparison); c.Op != "IN" || len(c.Values) != 2 || c.Values[1].StringValue() != "Working" {
				t.Fatalf("got %+v", c)
			}
			if c := and.R.(*Comparison); c.Op != "NOT IN" {
				t.Fatalf("got %+v", c)
			}
		}},
		{"escapes", `SELECT Id FROM Case WHERE Subject = 'it\'s \"x\" \\ \n\t\r\b\f \u00e9'`, func(t *testing.T, q *Query) {
			got := q.Where.(*Comparison).Value.StringValue()
			if want := "it's \"x\" \\ \n\t\r\b\f é"; got != want {
				t.Fatalf("got %q want %q", got, want)
			}
		}},
		{"literals", "SELECT Id FROM Case WHERE A = 2026-11-20 AND B = 2026-11-20T10:00:00Z AND C = 2026-11-20T10:00:00.000+01:00 AND D = -1.5 AND E = true AND F = null AND G = LAST_N_DAYS:30 AND H = TODAY", func(t *testing.T, q *Query) {
			var lits []Literal
			var walk func(e Expr)
			walk = func(e Expr) {
				switch x := e.(type) {
				case *Logical:
					walk(x.L)
					walk(x.R)
				case *Comparison:
					lits = append(lits, x.Value)
				}
			}
			walk(q.Where)
			if lits[0].Kind != LitDate || !lits[0].Time.Equal(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)) {
				t.Errorf("date: %+v", lits[0])
			}
			if lits[1].Kind != LitDateTime || !lits[1].Time.Equal(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)) {
				t.Errorf("datetime: %+v", lits[1])
			}
			if !lits[2].Time.Equal(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)) {
				t.Errorf("offset datetime: %v", lits[2].Time)
			}
			if lits[3].Kind != LitNumber || lits[3].Num != -1.5 {
				t.Errorf("number: %+v", lits[3])
			}
			if lits[4].Kind != LitBool || !lits[4].Bool || lits[5].Kind != LitNull {
				t.Errorf("bool/null: %+v %+v", lits[4], lits[5])
			}
			if lits[6].Kind != LitDateRange || lits[6].Text != "LAST_N_DAYS" || lits[6].N != 30 || lits[7].Text != "TODAY" {
				t.Errorf("date literals: %+v %+v", lits[6], lits[7])
			}
		}},
		{"multi-line", "SELECT Id\nFROM Case\nWHERE Status <> 'Closed'", func(t *testing.T, q *Query) {
			if c := q.Where.(*Comparison); c.Op != "!=" || c.Field.Pos != (Pos{3, 7}) {
				t.Fatalf("got %+v", c)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := Parse(tt.src)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.src, err)
			}
			tt.check(t, q)
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		src, code, msg string
	}{
		{"", CodeMalformedQuery, "SOQL statements cannot be empty or null"},
		{"SELECT Id FRM Case", CodeMalformedQuery, "\nSELECT Id FRM Case\n          ^\nERROR at Row:1:Column:11\nunexpected token: FRM"},
		{"SELECT Id FROM Case WHERE", CodeMalformedQuery, "\nSELECT Id FROM Case WHERE\n                         ^\nERROR at Row:1:Column:26\nunexpected token: <EOF>"},
		{"SELECT Id FROM Case WHERE Subject = 'abc", CodeMalformedQuery, "unterminated string"},
		{`SELECT Id FROM Case WHERE Subject = 'a\qb'`, CodeMalformedQuery, "ERROR at Row:1:Column:39\nInvalid string literal: illegal escape sequence"},
		{"SELECT Id FROM Case OFFSET 2001", CodeNumberOutsideRange, "Maximum SOQL offset allowed is 2000"},
		{"SELECT Id FROM Case LIMIT -1", CodeMalformedQuery, "unexpected token: -1"},
		{"SELECT FROM Case", CodeMalformedQuery, "unexpected token: FROM"},
		{"SELECT Id, (SELECT Id, (SELECT Id FROM X) FROM Y) FROM Case", CodeMalformedQuery, "unexpected token: ("},
		{"SELECT Id FROM Case WHERE CreatedDate = LAST_N_DAYS", CodeMalformedQuery, "unexpected token: <EOF>"},
		{"SELECT Id FROM Case WHERE Status = 'New' HAVING COUNT(Id) > 1", CodeMalformedQuery, "unexpected token: HAVING"},
		{"SELECT Status, SUM() FROM Case GROUP BY Status", CodeMalformedQuery, "unexpected token: )"},
		{"SELECT Id FROM Case WHERE COUNT(Id) > 1", CodeMalformedQuery, "unexpected token: ("},
		{"SELECT Id FROM Case WHERE Id IN (SELECT ParentId FROM CaseComment WHERE ParentId IN (SELECT Id FROM Case))", CodeMalformedQuery, "unexpected token: SELECT"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, err := Parse(tt.src)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) error = %v, want *Error", tt.src, err)
			}
			if e.Code != tt.code || !strings.Contains(e.Message, tt.msg) {
				t.Fatalf("got %s %q, want %s containing %q", e.Code, e.Message, tt.code, tt.msg)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"SELECT Id, Contact.Email, (SELECT Id FROM CaseComments) FROM Case WHERE Status IN ('New') AND NOT (Priority = 'Low' OR CreatedDate > LAST_N_DAYS:3) ORDER BY CreatedDate DESC NULLS LAST LIMIT 10 OFFSET 5",
		`SELECT Id FROM Case WHERE Subject LIKE '%a\_b\%' AND X = 2026-11-20T10:00:00.000+01:00`,
		"SELECT COUNT() FROM Case", "select count(id) c from case where x = -1.25",
		"SELECT Id FROM Case WHERE ContactId IN (SELECT Id FROM Contact WHERE Email != null)",
		"SELECT Status s, COUNT(Id) n, COUNT_DISTINCT(Subject), MIN(CreatedDate), MAX(Amount), SUM(Amount), AVG(Amount) FROM Case GROUP BY Status HAVING COUNT(Id) > 1 AND NOT Status IN ('New') ORDER BY COUNT(Id) DESC, Status NULLS LAST LIMIT 5 OFFSET 1",
		"select contact.email, count() from case group by contact.email having max(amount) >= 2 or sum(amount) = null",
	} {
		f.Add(s)
	}
	schema := testSchema()
	f.Fuzz(func(t *testing.T, src string) {
		q, err := Parse(src)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code == "" || e.Message == "" {
				t.Fatalf("Parse(%q) returned %v, want a *Error with code and message", src, err)
			}
			return
		}
		if q.From.Text == "" || len(q.Select) == 0 {
			t.Fatalf("Parse(%q) accepted a query without FROM or fields", src)
		}
		plan, err := Compile(q, schema, CompileOptions{Now: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)})
		if err != nil {
			return
		}
		var matched []Record
		for _, r := range schema.rows {
			if plan.Match(r, schema) {
				matched = append(matched, r)
			}
		}
		if plan.Aggregate {
			for _, row := range plan.AggregateRows(matched, schema) {
				if len(row) != len(plan.Columns) {
					t.Fatalf("%q: aggregate row has %d values for %d columns", src, len(row), len(plan.Columns))
				}
			}
		}
	})
}

func TestDateTimeLiteralForms(t *testing.T) {
	want := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for _, lit := range []string{"2026-11-20T10:00:00Z", "2026-11-20T10:00:00.000Z", "2026-11-20T10:00:00+0000",
		"2026-11-20T10:00:00.000+0000", "2026-11-20T10:00:00+00:00", "2026-11-20T11:00:00.000+0100", "2026-11-20T09:30:00-0030"} {
		q, err := Parse("SELECT Id FROM EventLogFile WHERE CreatedDate > " + lit + " ORDER BY CreatedDate")
		if err != nil {
			t.Fatalf("%s: %v", lit, err)
		}
		c := q.Where.(*Comparison)
		if c.Value.Kind != LitDateTime || !c.Value.Time.Equal(want) {
			t.Errorf("%s: %v %v", lit, c.Value.Kind, c.Value.Time)
		}
	}
	if _, err := Parse("SELECT Id FROM EventLogFile WHERE CreatedDate > 2026-11-20T10:00:00+000"); err == nil {
		t.Error("a three-digit offset was accepted")
	}
}
