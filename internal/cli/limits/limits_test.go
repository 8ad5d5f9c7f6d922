package limits

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

func server(t *testing.T, allowed bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Sforce-Limit-Info", "api-usage=250/15000")
		if !allowed {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `[{"errorCode":"INSUFFICIENT_ACCESS","message":"The user does not have the View Setup and Configuration permission"}]`)
			return
		}
		io.WriteString(w, `{"DailyApiRequests":{"Max":15000,"Remaining":14750,"Ant Migration Tool":{"Max":0,"Remaining":0}},"DataStorageMB":{"Max":5,"Remaining":5}}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestLimits(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	if err := run(t.Context(), &Options{IO: ios, Org: cmdutiltest.Org(t, server(t, true).URL), Output: output.Flags{CSV: true}}); err != nil {
		t.Fatal(err)
	}
	if want := "Name,Max,Remaining,Used\nDailyApiRequests,15000,14750,1.7%\nDataStorageMB,5,5,0.0%\n"; out.String() != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", out, want)
	}
}

func TestLimitsWithoutViewSetupFallsBackToTheHeader(t *testing.T) {
	ios, _, out, errOut := iostreams.Test()
	if err := run(t.Context(), &Options{IO: ios, Org: cmdutiltest.Org(t, server(t, false).URL), Output: output.Flags{JSON: true}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"remaining": 14750`) || !strings.Contains(errOut.String(), "View Setup") {
		t.Errorf("stdout %s stderr %s", out, errOut)
	}
}
