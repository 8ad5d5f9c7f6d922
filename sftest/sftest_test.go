package sftest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sfbridge/sfbridge/sftest"
)

func TestNewServer(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		s := sftest.NewServerWith(t, sftest.Options{TLS: tlsOn})
		if tlsOn != strings.HasPrefix(s.URL, "https://") {
			t.Fatalf("URL %s with TLS %v", s.URL, tlsOn)
		}
		tr := s.Login(t, s.Username("integration"))
		if tr.InstanceURL != s.URL || !strings.HasPrefix(tr.ID, s.URL+"/id/") {
			t.Fatalf("token answer %+v", tr)
		}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+"/services/data/v62.0/", nil)
		req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"identity":"`+tr.ID+`"`) {
			t.Errorf("resource map: %d %s", resp.StatusCode, b)
		}
	}
}

func TestUsernames(t *testing.T) {
	s := sftest.NewServer(t)
	for role, want := range map[string]string{"integration": "integration@sfbridge.test", "no-eventlogs": "no-eventlogs@sfbridge.test",
		"not-preauthorized": "not-preauthorized@sfbridge.test", "inactive": "inactive@sfbridge.test"} {
		if got := s.Username(role); got != want {
			t.Errorf("Username(%q) = %q", role, got)
		}
	}
}
