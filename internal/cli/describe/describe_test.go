package describe

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil/cmdutiltest"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/output"
)

const caseDescribe = `{"name":"Case","label":"Case","labelPlural":"Cases","keyPrefix":"500","createable":true,"updateable":true,"deletable":false,"queryable":true,"fields":[{"name":"Id","type":"id","label":"Case ID","length":18,"nillable":false,"createable":false,"updateable":false},{"name":"ContactId","type":"reference","label":"Contact ID","length":18,"nillable":true,"createable":true,"updateable":true,"referenceTo":["Contact"]}],"childRelationships":[],"supportedScopes":[{"label":"All cases","name":"everything"}]}`

func TestDescribe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/services/data/v66.0/sobjects/Case/describe" {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]`)
			return
		}
		io.WriteString(w, caseDescribe)
	}))
	defer srv.Close()

	ios, _, out, _ := iostreams.Test()
	ios.SetTTY(false, true, false)
	ios.SetNoColor(true)
	if err := run(t.Context(), &Options{IO: ios, Org: cmdutiltest.Org(t, srv.URL), Object: "Case"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Case (Case), key prefix 500", "query yes  create yes  update yes  delete no", "ContactId  reference  Contact ID  18      true      true        true        Contact"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	ios, _, out, _ = iostreams.Test()
	if err := run(t.Context(), &Options{IO: ios, Org: cmdutiltest.Org(t, srv.URL), Object: "Case", Output: output.Flags{JSON: true}}); err != nil {
		t.Fatal(err)
	}
	if out.String() != caseDescribe+"\n" {
		t.Errorf("--json is not Salesforce's document:\n%s", out)
	}

	ios, _, _, _ = iostreams.Test()
	err := run(t.Context(), &Options{IO: ios, Org: cmdutiltest.Org(t, srv.URL), Object: "Nope__c"})
	if err == nil || !strings.Contains(err.Error(), "NOT_FOUND") {
		t.Errorf("unknown object: %v", err)
	}
}
