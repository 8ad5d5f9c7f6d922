package data

import (
	"encoding/json"
	"strings"
	"testing"
)

// GROUP BY and aggregate functions answer AggregateResult records, flat,
// named by alias or expr0, expr1…, without a url, with totalSize the
// number of groups.
func TestAggregateQueryShape(t *testing.T) {
	f := newFixture(t)
	if err := f.store.Generate(ObjCase, 300, 3); err != nil {
		t.Fatal(err)
	}
	r := f.do(t, "GET", v+"/query?q="+q("SELECT Status, COUNT(Id), COUNT(Subject) n, MIN(CreatedDate) FROM Case GROUP BY Status HAVING COUNT(Id) > 0 ORDER BY Status"), "")
	var res struct {
		TotalSize int  `json:"totalSize"`
		Done      bool `json:"done"`
		Records   []map[string]json.RawMessage
	}
	if err := json.Unmarshal(r.body, &res); err != nil || r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if res.TotalSize != 4 || !res.Done || len(res.Records) != 4 {
		t.Fatalf("totalSize %d done %v records %d: %s", res.TotalSize, res.Done, len(res.Records), r.body)
	}
	first := res.Records[0]
	if string(first["attributes"]) != `{"type":"AggregateResult"}` {
		t.Errorf("attributes %s", first["attributes"])
	}
	var keys []string
	for k := range first {
		keys = append(keys, k)
	}
	for _, k := range []string{"Status", "expr0", "n", "expr1"} {
		if _, ok := first[k]; !ok {
			t.Errorf("record lacks %s: %v", k, keys)
		}
	}
	if string(first["Status"]) != `"Closed"` || !strings.HasSuffix(string(first["expr1"]), `+0000"`) {
		t.Errorf("first group %s %s", first["Status"], first["expr1"])
	}
	total := 0
	for _, rec := range res.Records {
		var n int
		if err := json.Unmarshal(rec["expr0"], &n); err != nil {
			t.Fatalf("expr0 %s is not an integer", rec["expr0"])
		}
		total += n
	}
	if total != 300 {
		t.Errorf("group counts add up to %d, want 300", total)
	}
	// Without GROUP BY: one record; the old COUNT(field) shape holds.
	r = f.do(t, "GET", v+"/query?q="+q("SELECT COUNT(Id), MAX(CaseNumber) last FROM Case"), "")
	if !strings.Contains(string(r.body), `"totalSize":1,"done":true,"records":[{"attributes":{"type":"AggregateResult"},"expr0":300,"last":"`) {
		t.Errorf("ungrouped: %s", r.body)
	}
	r = f.do(t, "GET", v+"/query?q="+q("SELECT Status FROM Case GROUP BY Status")+"&columns=true", "")
	if !strings.Contains(string(r.body), `"groupBy":true`) {
		t.Errorf("columns: %s", r.body)
	}
}
