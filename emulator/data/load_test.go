package data

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/emulator/sfid"
	"github.com/sfbridge/sfbridge/emulator/soql"
)

func TestLoadJSONAndCSV(t *testing.T) {
	s, err := NewStore(StoreOptions{Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	acc := sfid.Make("001", "xx", 7)
	fixture := `{"Account":[{"Id":"` + string(acc) + `","Name":"Acme","NumberOfEmployees":12}],
		"Contact":[{"LastName":"Doe","FirstName":"Jane","AccountId":"` + acc.Short() + `","Birthdate":"1990-04-01"}]}`
	n, err := s.LoadJSON(strings.NewReader(fixture))
	if err != nil || n != 2 {
		t.Fatalf("LoadJSON = %d, %v", n, err)
	}
	n, err = s.LoadJSON(strings.NewReader(`[{"attributes":{"type":"Case"},"Subject":"From list","Status":"Closed","CreatedDate":"2026-01-02T03:04:05.000+0000"}]`))
	if err != nil || n != 1 {
		t.Fatalf("LoadJSON list = %d, %v", n, err)
	}
	csv := "\ufeffSubject,Priority,IsEscalated\nCSV one,High,true\n\"CSV, two\",,false\n"
	n, err = s.LoadCSV(ObjCase, strings.NewReader(csv))
	if err != nil || n != 2 {
		t.Fatalf("LoadCSV = %d, %v", n, err)
	}
	p := &Principal{UserID: sfid.Make("005", "xx", 1), Object: fullAccess}
	rs, err := s.runQuery(p, "SELECT Subject, Priority, IsClosed, CaseNumber, CreatedDate FROM Case ORDER BY CaseNumber", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.rows) != 3 {
		t.Fatalf("%d cases", len(rs.rows))
	}
	get := func(r *record, f string) any { fd, _ := rs.def.Field(f); return r.Get(fd.index) }
	if get(rs.rows[0], "IsClosed") != true || get(rs.rows[0], "CreatedDate") != soql.DateTimeOf(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("first case: %v", rs.rows[0].vals)
	}
	if get(rs.rows[2], "Subject") != "CSV, two" || get(rs.rows[2], "Priority") != "Medium" || get(rs.rows[1], "CaseNumber") != "00001001" {
		t.Errorf("csv cases: %v / %v", rs.rows[1].vals, rs.rows[2].vals)
	}
	rs, err = s.runQuery(p, "SELECT Name, Account.Name FROM Contact WHERE Birthdate < 2000-01-01", false)
	if err != nil || len(rs.rows) != 1 {
		t.Fatalf("contact: %v %v", rs, err)
	}
	if fd, _ := rs.def.Field("Name"); rs.rows[0].Get(fd.index) != "Jane Doe" {
		t.Errorf("derived Name: %v", rs.rows[0].Get(fd.index))
	}
	for _, bad := range []string{`{"Case":[{"Nope":1}]}`, `[{"Subject":"no type"}]`, `{"Case":{}}`, `nope`, `{"Contact":[{"Id":"zzz","LastName":"x"}]}`} {
		if _, err := s.LoadJSON(strings.NewReader(bad)); err == nil {
			t.Errorf("LoadJSON(%s) accepted", bad)
		}
	}
	if _, err := s.LoadCSV(ObjCase, strings.NewReader("Subject,Priority\nonly one cell\n")); err == nil {
		t.Error("short CSV row accepted")
	}
}

func TestGenerate(t *testing.T) {
	s, _ := NewStore(StoreOptions{Now: func() time.Time { return testNow }})
	for _, o := range []string{ObjAccount, ObjContact, ObjCase, ObjCaseComment, ObjKnowledge} {
		if err := s.Generate(o, 50, 3); err != nil {
			t.Fatalf("Generate(%s): %v", o, err)
		}
	}
	if err := s.Generate(ObjOrganization, 1, 1); err == nil {
		t.Error("generated an Organization")
	}
	p := &Principal{UserID: sfid.Make("005", "xx", 1), Object: fullAccess}
	rs, err := s.runQuery(p, "SELECT Id, CaseNumber, Contact.Email, Owner.Name, (SELECT CommentBody FROM CaseComments) FROM Case WHERE ContactEmail != null", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.rows) != 50 {
		t.Fatalf("%d generated cases with a contact", len(rs.rows))
	}
	// Same seed, same data.
	s2, _ := NewStore(StoreOptions{Now: func() time.Time { return testNow }})
	for _, o := range []string{ObjAccount, ObjContact, ObjCase} {
		if err := s2.Generate(o, 50, 3); err != nil {
			t.Fatal(err)
		}
	}
	a, b := s.tables["case"].recs, s2.tables["case"].recs
	for i := range b {
		for j := range s.tables["case"].def.Fields {
			if a[i].Get(j) != b[i].Get(j) {
				t.Fatalf("case %d field %d differs: %v vs %v", i, j, a[i].Get(j), b[i].Get(j))
			}
		}
	}
}

func FuzzLoadCSV(f *testing.F) {
	f.Add("Subject,Priority,IsEscalated,CreatedDate\nx,High,true,2026-01-01T00:00:00Z\n")
	f.Add("Id,LastName\n003xx0000000001AAA,Doe\n")
	f.Add("\"a\nb\",c\n1,2\n")
	f.Fuzz(func(t *testing.T, in string) {
		s, err := NewStore(StoreOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n, err := s.LoadCSV(ObjCase, strings.NewReader(in))
		if err == nil && s.Count(ObjCase) != n {
			t.Fatalf("loaded %d, store has %d", n, s.Count(ObjCase))
		}
		if _, err := s.LoadJSON(strings.NewReader(in)); err == nil && in == "" {
			t.Fatal("empty JSON accepted")
		}
	})
}

func TestSortRowsMatchesPlanOrder(t *testing.T) {
	s, _ := NewStore(StoreOptions{Now: func() time.Time { return testNow }})
	if err := s.Generate(ObjCase, 3000, 9); err != nil {
		t.Fatal(err)
	}
	p := &Principal{UserID: sfid.Make("005", "xx", 1), Object: fullAccess}
	for _, order := range []string{"SystemModstamp, Id", "ClosedDate DESC NULLS FIRST, CaseNumber", "ClosedDate NULLS LAST, Id DESC", "Status, SystemModstamp DESC"} {
		rs, err := s.runQuery(p, "SELECT Id FROM Case ORDER BY "+order, false)
		if err != nil {
			t.Fatal(err)
		}
		want := slices.Clone(s.tables["case"].recs)
		slices.SortStableFunc(want, func(a, b *record) int { return rs.plan.CompareRecords(a, b, resolver{s}) })
		for i := range want {
			if want[i] != rs.rows[i] {
				t.Fatalf("ORDER BY %s: row %d differs", order, i)
			}
		}
	}
}

func TestRecordPacking(t *testing.T) {
	full := []any{"a", nil, true, nil, nil, 1.5, nil}
	r := newRecord(full)
	if len(r.vals) != 3 {
		t.Fatalf("packed %d values, want 3", len(r.vals))
	}
	for i, want := range full {
		if got := r.Get(i); got != want {
			t.Errorf("Get(%d) = %v, want %v", i, got, want)
		}
	}
	if got := r.full(len(full)); !slices.Equal(got, full) {
		t.Errorf("full = %v", got)
	}
	wide := make([]any, 70)
	wide[69] = "last"
	if w := newRecord(wide); !w.dense || w.Get(69) != "last" || w.Get(3) != nil {
		t.Error("dense record for more than 64 fields")
	}
}
