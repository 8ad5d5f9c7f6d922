package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil/cmdutiltest"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/output"
	"github.com/sfbridge/sfbridge/rest"
)

// pagedOrg serves /query in pages of two records with nextRecordsUrl, like
// Salesforce; failAt > 0 makes the page at that offset answer 500 forever.
func pagedOrg(t *testing.T, total, failAt int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Sforce-Limit-Info", "api-usage=7/15000")
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`)
			return
		}
		off := 0
		switch {
		case r.URL.Path == "/services/data/v66.0/query" || r.URL.Path == "/services/data/v66.0/queryAll":
			if strings.Contains(r.URL.Query().Get("q"), "FORM") {
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, `[{"message":"\nSELECT Id FORM Case\n          ^\nERROR at Row:1:Column:11\nunexpected token: FORM","errorCode":"MALFORMED_QUERY"}]`)
				return
			}
		case strings.HasPrefix(r.URL.Path, "/services/data/v66.0/query/01gxx0000000001AAA-"):
			fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/services/data/v66.0/query/01gxx0000000001AAA-"), "%d", &off)
		default:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]`)
			return
		}
		if failAt > 0 && off == failAt {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `[{"errorCode":"UNKNOWN_EXCEPTION","message":"An unexpected error occurred"}]`)
			return
		}
		end := min(off+2, total)
		var recs []string
		for i := off; i < end; i++ {
			contact := `null`
			if i%2 == 0 {
				contact = fmt.Sprintf(`{"attributes":{"type":"Contact","url":"/x"},"Email":"c%d@example.com"}`, i)
			}
			recs = append(recs, fmt.Sprintf(`{"attributes":{"type":"Case","url":"/services/data/v66.0/sobjects/Case/500xx00000000%02dAAA"},"Id":"500xx00000000%02dAAA","Subject":"Case, \"%d\"\nline","Amount":%d.50,"IsClosed":%t,"Contact":%s}`, i, i, i, i, i%3 == 0, contact))
		}
		next := ""
		if end < total {
			next = fmt.Sprintf(`"nextRecordsUrl":"/services/data/v66.0/query/01gxx0000000001AAA-%d",`, end)
		}
		fmt.Fprintf(w, `{"totalSize":%d,"done":%t,%s"records":[%s]}`, total, end == total, next, strings.Join(recs, ","))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func opener(tb testing.TB, srv *httptest.Server) cmdutil.OrgFunc {
	tb.Helper()
	org := cmdutiltest.Org(tb, srv.URL, rest.WithRetry(rest.RetryPolicy{MaxAttempts: 2, Sleep: func(context.Context, time.Duration) error { return nil }}))
	return func(ctx context.Context, target cmdutil.Target) (*cmdutil.Org, error) {
		if target.Org != "" && target.Org != "myorg" {
			return nil, errors.New("no such org profile")
		}
		return org(ctx, target)
	}
}

func runQuery(t *testing.T, srv *httptest.Server, soql string, fl output.Flags, tty bool) (string, string, error) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	ios.SetTTY(false, tty, false)
	ios.SetNoColor(true)
	opts := &Options{IO: ios, Org: opener(t, srv), SOQL: soql, Output: fl}
	opts.Target.Org = "myorg"
	err := run(t.Context(), opts)
	return out.String(), errOut.String(), err
}

func TestQueryCSVFollowsSelectOrderAcrossPages(t *testing.T) {
	srv := pagedOrg(t, 5, 0)
	out, _, err := runQuery(t, srv, "SELECT Id, Contact.Email, IsClosed, Amount, Subject FROM Case", output.Flags{CSV: true}, false)
	if err != nil {
		t.Fatal(err)
	}
	want := "Id,Contact.Email,IsClosed,Amount,Subject\n" +
		"500xx0000000000AAA,c0@example.com,true,0.50,\"Case, \"\"0\"\"\nline\"\n" +
		"500xx0000000001AAA,,false,1.50,\"Case, \"\"1\"\"\nline\"\n" +
		"500xx0000000002AAA,c2@example.com,false,2.50,\"Case, \"\"2\"\"\nline\"\n" +
		"500xx0000000003AAA,,true,3.50,\"Case, \"\"3\"\"\nline\"\n" +
		"500xx0000000004AAA,c4@example.com,false,4.50,\"Case, \"\"4\"\"\nline\"\n"
	if out != want {
		t.Errorf("CSV output:\n%s\nwant:\n%s", out, want)
	}
}

func TestQueryJSONIsOneStreamedArray(t *testing.T) {
	srv := pagedOrg(t, 5, 0)
	out, _, err := runQuery(t, srv, "SELECT Id, Subject FROM Case", output.Flags{JSON: true}, false)
	if err != nil {
		t.Fatal(err)
	}
	var recs []map[string]any
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatalf("output is not one JSON array: %v\n%s", err, out)
	}
	if len(recs) != 5 || recs[4]["Id"] != "500xx0000000004AAA" {
		t.Fatalf("records %v", recs)
	}
	// Fields keep Salesforce's order (attributes first), untouched.
	if !strings.HasPrefix(strings.Split(out, "\n")[1], `  {"attributes":{"type":"Case"`) {
		t.Errorf("records were re-encoded: %s", strings.Split(out, "\n")[1])
	}
	empty, _, err := runQuery(t, pagedOrg(t, 0, 0), "SELECT Id FROM Case", output.Flags{JSON: true}, false)
	if err != nil || empty != "[]\n" {
		t.Errorf("empty result %q, %v", empty, err)
	}
}

func TestQueryTableOnTerminal(t *testing.T) {
	srv := pagedOrg(t, 3, 0)
	out, errOut, err := runQuery(t, srv, "SELECT Id, IsClosed FROM Case", output.Flags{}, true)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[1], "500xx0000000000AAA  true") {
		t.Errorf("table:\n%s", out)
	}
	if errOut != "3 records\n" {
		t.Errorf("stderr %q", errOut)
	}
}

func TestQueryBadSOQLShowsCodeAndMessage(t *testing.T) {
	srv := pagedOrg(t, 3, 0)
	_, _, err := runQuery(t, srv, "SELECT Id FORM Case", output.Flags{CSV: true}, false)
	if err == nil || !strings.Contains(err.Error(), "MALFORMED_QUERY") || !strings.Contains(err.Error(), "unexpected token: FORM") {
		t.Fatalf("err = %v", err)
	}
}

func TestQueryFailureMidwayKeepsRowsAndFails(t *testing.T) {
	srv := pagedOrg(t, 6, 4)
	out, _, err := runQuery(t, srv, "SELECT Id FROM Case", output.Flags{TSV: true}, false)
	if err == nil || !strings.Contains(err.Error(), "UNKNOWN_EXCEPTION") {
		t.Fatalf("err = %v", err)
	}
	if got := strings.Count(out, "500xx"); got != 4 {
		t.Errorf("%d rows written before the failure, want 4:\n%s", got, out)
	}
	js, _, err := runQuery(t, srv, "SELECT Id FROM Case", output.Flags{JSON: true}, false)
	if err == nil || json.Valid([]byte(js)) {
		t.Errorf("a failed query produced valid JSON (%v):\n%s", err, js)
	}
}
