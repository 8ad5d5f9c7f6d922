package data

import (
	"slices"
	"testing"
)

// A query locator keeps the batch size of the query that opened it, whatever
// the next-page request carries.
func TestLocatorKeepsBatchSize(t *testing.T) {
	f := newFixture(t)
	if err := f.store.Generate(ObjCase, 1000, 1); err != nil {
		t.Fatal(err)
	}
	m := f.do(t, "GET", v+"/query?q="+q("SELECT Id FROM Case ORDER BY CaseNumber"), "", "Sforce-Query-Options", "batchSize=300").obj(t)
	got := []int{len(m["records"].([]any))}
	for _, hdr := range [][]string{nil, {"Sforce-Query-Options", "batchSize=2000"}, {"Sforce-Query-Options", "batchSize=200"}} {
		next, ok := m["nextRecordsUrl"].(string)
		if !ok {
			t.Fatalf("no nextRecordsUrl after %v", got)
		}
		m = f.do(t, "GET", next, "", hdr...).obj(t)
		got = append(got, len(m["records"].([]any)))
	}
	if want := []int{300, 300, 300, 100}; !slices.Equal(got, want) || m["done"] != true {
		t.Fatalf("page sizes %v (done %v), want %v", got, m["done"], want)
	}
}
