package doctor

import "testing"

func TestReportOKAndSummary(t *testing.T) {
	r := &Report{Checks: []Result{
		{ID: "key", Status: Pass, Required: true},
		{ID: "cert.expiry", Status: Warn, Required: true},
		{ID: "eventlogs.viewall", Status: Fail, Required: false},
	}}
	if !r.OK() || len(r.Failed()) != 0 {
		t.Fatal("an optional failure or a warning failed the report")
	}
	if got := r.Summary(); got != "1 passed, 1 warned, 1 failed" {
		t.Fatalf("Summary = %q", got)
	}
	r.Checks = append(r.Checks, Result{ID: "token", Status: Fail, Required: true}, Result{ID: "identity", Status: Skip, Required: true})
	if r.OK() {
		t.Fatal("a required failure passed")
	}
	if f := r.Failed(); len(f) != 2 || f[0].ID != "token" || f[1].ID != "identity" {
		t.Fatalf("Failed = %+v", f)
	}
	if got := r.Summary(); got != "1 passed, 1 warned, 2 failed, 1 skipped" {
		t.Fatalf("Summary = %q", got)
	}
}
