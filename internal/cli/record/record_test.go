package record

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/orgclient"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/output"
	"github.com/sfbridge/sfbridge/rest"
)

func TestParseValues(t *testing.T) {
	got, err := ParseValues(`Subject='Printer on floor 2' Status=New  Priority="High" IsEscalated=true Count__c=3 Amount__c=-2.50 Zip__c=01234 Note__c='it\'s' Path__c="a\\b" Description=null Empty__c=''`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"Subject": "Printer on floor 2", "Status": "New", "Priority": "High", "IsEscalated": true,
		"Count__c": json.Number("3"), "Amount__c": json.Number("-2.50"), "Zip__c": "01234",
		"Note__c": "it's", "Path__c": `a\b`, "Description": nil, "Empty__c": "",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ParseValues =\n%v\nwant\n%v", got, want)
	}
	if v, _ := ParseValues(`Flag__c='true'`); v["Flag__c"] != "true" {
		t.Errorf("quoted true became %T", v["Flag__c"])
	}
	for _, bad := range []string{"", "   ", "Subject", "Subject='open", "=x", "Sub-ject=x", "A=1 A=2", "A='x'B=2", "Name=O'Brien x"} {
		if v, err := ParseValues(bad); err == nil {
			t.Errorf("ParseValues(%q) = %v, want an error", bad, v)
		}
	}
}

// render writes values back in the --values syntax, always quoting strings.
func render(m map[string]any) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		switch v := m[k].(type) {
		case string:
			parts = append(parts, k+"='"+strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v)+"'")
		case nil:
			parts = append(parts, k+"=null")
		default:
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		}
	}
	return strings.Join(parts, " ")
}

func FuzzParseValues(f *testing.F) {
	for _, s := range []string{`Subject='Two words' Status=New`, `A="x\"y" B=1.5 C=true D=null`, `A='\\'`, `A=`, "A='\t'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseValues(s)
		if err != nil {
			return
		}
		again, err := ParseValues(render(m))
		if err != nil {
			t.Fatalf("%q parsed to %v, whose rendering %q does not parse: %v", s, m, render(m), err)
		}
		if fmt.Sprintf("%#v", again) != fmt.Sprintf("%#v", m) {
			t.Fatalf("%q → %#v → %q → %#v", s, m, render(m), again)
		}
	})
}

const caseID = "500xx0000000001AAA"

func fakeOrg(t *testing.T) (*httptest.Server, *[]string) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen = append(seen, r.Method+" "+r.URL.Path+" "+string(b))
		w.Header().Set("Content-Type", "application/json")
		switch r.Method + " " + r.URL.Path {
		case "POST /services/data/v66.0/sobjects/Case":
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"id":"`+caseID+`","success":true,"errors":[]}`)
		case "GET /services/data/v66.0/sobjects/Case/" + caseID:
			io.WriteString(w, `{"attributes":{"type":"Case"},"Id":"`+caseID+`","Subject":"Two\nlines","Priority":null}`)
		case "PATCH /services/data/v66.0/sobjects/Case/" + caseID, "DELETE /services/data/v66.0/sobjects/Case/" + caseID:
			w.WriteHeader(http.StatusNoContent)
		case "PATCH /services/data/v66.0/sobjects/Contact/Ext__c/E-1":
			io.WriteString(w, `{"id":"003xx0000000001AAA","success":true,"errors":[],"created":false}`)
		case "POST /services/data/v66.0/sobjects/Contact":
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `[{"message":"Required fields are missing: [LastName]","errorCode":"REQUIRED_FIELD_MISSING","fields":["LastName"]}]`)
		default:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

func runRecord(t *testing.T, srv *httptest.Server, opts *Options) (string, string, error) {
	ios, _, out, errOut := iostreams.Test()
	opts.IO = ios
	opts.Open = func(context.Context, string) (*orgclient.Conn, error) {
		src := auth.NewCachedSource(func(context.Context) (*auth.Token, error) {
			return &auth.Token{AccessToken: "tok", InstanceURL: srv.URL}, nil
		})
		c, err := rest.New(src, rest.WithAPIVersion("66.0"))
		if err != nil {
			return nil, err
		}
		return &orgclient.Conn{Client: c, Close: func() error { return nil }}, nil
	}
	err := run(t.Context(), opts)
	return out.String(), errOut.String(), err
}

func TestRecordCommands(t *testing.T) {
	srv, seen := fakeOrg(t)
	out, _, err := runRecord(t, srv, &Options{Op: "create", Object: "Case", Values: `Subject='Printer jammed' Origin=Web`})
	if err != nil || out != caseID+"\n" {
		t.Fatalf("create printed %q, %v", out, err)
	}
	if got := (*seen)[0]; got != `POST /services/data/v66.0/sobjects/Case {"Origin":"Web","Subject":"Printer jammed"}` {
		t.Errorf("create sent %s", got)
	}
	out, _, err = runRecord(t, srv, &Options{Op: "get", Object: "Case", ID: caseID})
	if err != nil || out != "Id        "+caseID+"\nPriority  \nSubject   Two\\nlines\n" {
		t.Fatalf("get printed %q, %v", out, err)
	}
	_, errOut, err := runRecord(t, srv, &Options{Op: "update", Object: "Case", ID: caseID, Values: "Status=Working"})
	if err != nil || errOut != "updated Case "+caseID+"\n" {
		t.Fatalf("update: %q, %v", errOut, err)
	}
	out, errOut, err = runRecord(t, srv, &Options{Op: "upsert", Object: "Contact", ID: "E-1", ExtIDField: "Ext__c", Values: "LastName=Doe"})
	if err != nil || out != "003xx0000000001AAA\n" || !strings.HasPrefix(errOut, "updated") {
		t.Fatalf("upsert: %q %q, %v", out, errOut, err)
	}
	out, _, err = runRecord(t, srv, &Options{Op: "delete", Object: "Case", ID: caseID, Output: jsonFlag()})
	if err != nil || !strings.Contains(out, `"success": true`) {
		t.Fatalf("delete --json: %q, %v", out, err)
	}
	_, _, err = runRecord(t, srv, &Options{Op: "create", Object: "Contact", Values: "FirstName=Jane"})
	if !errors.Is(err, rest.ErrRequiredFieldMissing) || !strings.Contains(err.Error(), "LastName") {
		t.Fatalf("failed create: %v", err)
	}
	_, _, err = runRecord(t, srv, &Options{Op: "get", Object: "Case", ID: "500xx0000000009AAA"})
	if !errors.Is(err, rest.ErrNotFound) {
		t.Fatalf("missing record: %v", err)
	}
	n := len(*seen)
	_, _, err = runRecord(t, srv, &Options{Op: "create", Object: "Case", Values: "Subject"})
	if exitcode.Of(err) != exitcode.Usage || len(*seen) != n {
		t.Fatalf("bad --values: exit %d, requests %d→%d", exitcode.Of(err), n, len(*seen))
	}
}

func jsonFlag() output.Flags { return output.Flags{JSON: true} }
