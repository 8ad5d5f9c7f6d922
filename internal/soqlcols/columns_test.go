package soqlcols

import (
	"slices"
	"strings"
	"testing"
)

func TestColumns(t *testing.T) {
	for soql, want := range map[string][]string{
		"SELECT Id, Contact.Email FROM Case":                                          {"Id", "Contact.Email"},
		"select id,subject from case where subject = 'a, from b'":                     {"id", "subject"},
		"SELECT Id, (SELECT Id, CommentBody FROM CaseComments) FROM Case":             {"Id", "CaseComments"},
		"SELECT COUNT(Id), Status, MAX(CreatedDate) latest FROM Case GROUP BY Status": {"expr0", "Status", "latest"},
		"SELECT Status s, COUNT(Id) n FROM Case GROUP BY Status":                      {"s", "n"},
	} {
		got, ok := Columns(soql)
		if !ok || !slices.Equal(got, want) {
			t.Errorf("Columns(%q) = %v, %t; want %v", soql, got, ok, want)
		}
	}
	for _, soql := range []string{"SELECT FIELDS(ALL) FROM Case LIMIT 200", "DELETE x", "SELECT FROM Case", "SELECT Id"} {
		if cols, ok := Columns(soql); ok {
			t.Errorf("Columns(%q) = %v; want not ok", soql, cols)
		}
	}
}

func TestIsCountOnly(t *testing.T) {
	for soql, want := range map[string]bool{
		"SELECT COUNT() FROM Case":                        true,
		"select count ( ) from Case where Status = 'New'": true,
		"SELECT COUNT(Id) FROM Case":                      false,
		"SELECT COUNT(), Id FROM Case":                    false,
		"SELECT Id FROM Case":                             false,
		"DELETE x":                                        false,
	} {
		if got := IsCountOnly(soql); got != want {
			t.Errorf("IsCountOnly(%q) = %t, want %t", soql, got, want)
		}
	}
}

func FuzzColumns(f *testing.F) {
	for _, s := range []string{"SELECT Id, Contact.Email FROM Case", "SELECT Id, (SELECT Id FROM CaseComments) FROM Case", "SELECT COUNT() FROM Case", "SELECT a b c FROM x", "SELECT ')' FROM x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cols, ok := Columns(s)
		if ok && len(cols) == 0 {
			t.Fatalf("Columns(%q) ok with no columns", s)
		}
		for _, c := range cols {
			if c == "" || strings.ContainsAny(c, " \t\n") {
				t.Fatalf("Columns(%q) produced column %q", s, c)
			}
		}
	})
}
