package soql

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func aggregate(t *testing.T, src string) (*Plan, [][]any) {
	t.Helper()
	s := testSchema()
	q, err := Parse(src)
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	p, err := Compile(q, s, CompileOptions{Now: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatalf("Compile(%q): %v", src, err)
	}
	if !p.Aggregate {
		t.Fatalf("%q is not an aggregate plan", src)
	}
	var recs []Record
	for _, r := range s.rows {
		if p.Match(r, s) {
			recs = append(recs, r)
		}
	}
	return p, p.AggregateRows(recs, s)
}

func TestAggregateQueries(t *testing.T) {
	at := func(d, h int) DateTime { return DateTimeOf(time.Date(2026, 11, d, h, 0, 0, 0, time.UTC)) }
	tests := []struct {
		src     string
		aliases []string
		rows    string
	}{
		{"SELECT COUNT(Id) FROM Case", []string{"expr0"}, "[[3]]"},
		{"SELECT COUNT(Id), COUNT(Status), COUNT_DISTINCT(Subject), SUM(Amount), AVG(Amount), MIN(Amount), MAX(CreatedDate) FROM Case",
			[]string{"expr0", "expr1", "expr2", "expr3", "expr4", "expr5", "expr6"}, fmt.Sprint([][]any{{3.0, 2.0, 3.0, 15.5, 7.75, 5.5, at(20, 9)}})},
		{"SELECT Status, COUNT(Id) n FROM Case GROUP BY Status ORDER BY Status NULLS LAST", []string{"Status", "n"}, "[[Closed 1] [New 1] [<nil> 1]]"},
		{"SELECT IsClosed c, COUNT(Id), MAX(Amount) top FROM Case GROUP BY IsClosed ORDER BY COUNT(Id) DESC", []string{"c", "expr0", "top"}, "[[false 2 10] [true 1 5.5]]"},
		{"SELECT IsClosed, COUNT(Id) FROM Case GROUP BY IsClosed HAVING COUNT(Id) > 1", []string{"IsClosed", "expr0"}, "[[false 2]]"},
		{"SELECT IsClosed, SUM(Amount) FROM Case GROUP BY IsClosed HAVING SUM(Amount) < 8 OR IsClosed = false ORDER BY IsClosed", []string{"IsClosed", "expr0"}, "[[false 10] [true 5.5]]"},
		{"SELECT Contact.Email, COUNT(Id) FROM Case GROUP BY Contact.Email ORDER BY Contact.Email LIMIT 1", []string{"Email", "expr0"}, "[[<nil> 2]]"},
		{"SELECT Status FROM Case WHERE Status != null GROUP BY Status ORDER BY Status DESC OFFSET 1", []string{"Status"}, "[[Closed]]"},
		{"SELECT SUM(Amount) FROM Case WHERE Amount = null", []string{"expr0"}, "[[<nil>]]"},
		{"SELECT Status, COUNT(Id) FROM Case GROUP BY Status HAVING Status LIKE 'n%'", []string{"Status", "expr0"}, "[[New 1]]"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			p, rows := aggregate(t, tt.src)
			var aliases []string
			for _, c := range p.Columns {
				aliases = append(aliases, c.Alias)
			}
			if strings.Join(aliases, ",") != strings.Join(tt.aliases, ",") {
				t.Errorf("aliases %v, want %v", aliases, tt.aliases)
			}
			if got := fmt.Sprint(rows); got != tt.rows {
				t.Errorf("rows %s, want %s", got, tt.rows)
			}
		})
	}
}

func TestAggregateErrors(t *testing.T) {
	for _, tt := range []struct{ src, msg string }{
		{"SELECT Id FROM Case GROUP BY Status", "Field must be grouped or aggregated: Id"},
		{"SELECT Status, COUNT(Id) FROM Case", "Field must be grouped or aggregated: Status"},
		{"SELECT Id x FROM Case", "Only aggregate expressions use field aliasing"},
		{"SELECT COUNT() FROM Case GROUP BY Status", "COUNT() cannot be used with GROUP BY"},
		{"SELECT SUM(Subject) FROM Case", "does not support aggregate operator SUM"},
		{"SELECT Status, COUNT(Id) FROM Case GROUP BY Status ORDER BY Subject", "Ordered field must be grouped or aggregated: Subject"},
		{"SELECT Status, COUNT(Id) FROM Case GROUP BY Status HAVING Subject = 'x'", "Field in HAVING must be grouped or aggregated: Subject"},
		{"SELECT Id FROM Case ORDER BY COUNT(Id)", "Ordered field must be grouped or aggregated"},
		{"SELECT Status s, COUNT(Id) s FROM Case GROUP BY Status", "duplicate alias"},
		{"SELECT Status, (SELECT Id FROM CaseComments) FROM Case GROUP BY Status", ""},
	} {
		t.Run(tt.src, func(t *testing.T) {
			q, err := Parse(tt.src)
			if err == nil {
				_, err = Compile(q, testSchema(), CompileOptions{})
			}
			var e *Error
			if !errors.As(err, &e) || !strings.Contains(e.Message, tt.msg) {
				t.Fatalf("got %v, want an error containing %q", err, tt.msg)
			}
		})
	}
}
