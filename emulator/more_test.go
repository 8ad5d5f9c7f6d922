package emulator_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/sftest"
)

func TestLoginRateLimit(t *testing.T) {
	s := newServer(t)
	s.Org.SetLimits(emulator.OrgLimits{LoginsPerHour: ptr(2)})
	s.Login(t, emulator.UserIntegration)
	s.Login(t, emulator.UserIntegration)
	r := postToken(t, s, grantForm(s.Assertion(t, emulator.UserIntegration)))
	if r.status != 400 || r.body != `{"error":"rate_limit_exceeded","error_description":"Number of logins exceeded"}` {
		t.Fatalf("third login in the hour: %d %s", r.status, r.body)
	}
	s.Org.Advance(61 * time.Minute)
	s.Login(t, emulator.UserIntegration)
}

func ptr[T any](v T) *T { return &v }

func TestPermissionChangesApplyToLiveSessions(t *testing.T) {
	s := newServer(t)
	tok := s.Login(t, emulator.UserIntegration).AccessToken
	// Take API Enabled away from everything the user has.
	fx := emulator.DefaultFixture(s.ClientID, s.CertPEM)
	for _, ps := range fx.PermissionSets {
		ps.Permissions = nil
		if err := s.Org.PutPermissionSet(ps); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range fx.Profiles {
		p.Permissions = nil
		if err := s.Org.PutProfile(p); err != nil {
			t.Fatal(err)
		}
	}
	if r := do(t, s, "GET", "/services/data/v62.0/", tok, nil); r.status != 403 || !strings.Contains(r.body, "API_DISABLED_FOR_ORG") {
		t.Errorf("live session without API Enabled: %d %s", r.status, r.body)
	}
	if r := postToken(t, s, grantForm(s.Assertion(t, emulator.UserIntegration))); r.body != `{"error":"invalid_grant","error_description":"authentication failure"}` {
		t.Errorf("login without API Enabled: %s", r.body)
	}
	logins := s.Org.Logins(1)
	if len(logins) != 1 || !strings.Contains(logins[0].Status, "API Enabled") {
		t.Errorf("login history %+v", logins)
	}
}

func TestFrozenAndDeactivatedUsers(t *testing.T) {
	s := newServer(t)
	tok := s.Login(t, emulator.UserIntegration).AccessToken
	spec := emulator.DefaultFixture(s.ClientID, s.CertPEM).Users[0]
	spec.Frozen = true
	if _, err := s.Org.AddUser(spec); err != nil {
		t.Fatal(err)
	}
	if r := do(t, s, "GET", "/services/data/v62.0/", tok, nil); r.status != 401 {
		t.Errorf("session of a frozen user: %d", r.status)
	}
	if r := postToken(t, s, grantForm(s.Assertion(t, emulator.UserIntegration))); r.body != `{"error":"invalid_grant","error_description":"authentication failure"}` {
		t.Errorf("login of a frozen user: %s", r.body)
	}
	spec.Frozen = false
	spec.Active = ptr(false)
	s.Org.AddUser(spec)
	if r := postToken(t, s, grantForm(s.Assertion(t, emulator.UserIntegration))); r.body != `{"error":"inactive_user","error_description":"User is inactive"}` {
		t.Errorf("login of a deactivated user: %s", r.body)
	}
}

func TestFixtureRecords(t *testing.T) {
	s := sftest.NewServerWith(t, sftest.Options{Key: sharedKey(), Fixture: func(id string, cert []byte) *emulator.Fixture {
		f := emulator.DefaultFixture(id, cert)
		f.Records = map[string][]map[string]any{
			"Case":    {{"Subject": "Broken", "AccountId": "001xx000003DGb0AAG"}},
			"Account": {{"Id": "001xx000003DGb0AAG", "Name": "Acme"}},
		}
		return f
	}})
	tok := s.Login(t, emulator.UserIntegration).AccessToken
	r := do(t, s, "GET", "/services/data/v62.0/query?q=SELECT+Subject,+Account.Name+FROM+Case", tok, nil)
	if r.status != 200 || !strings.Contains(r.body, `"Subject":"Broken"`) || !strings.Contains(r.body, `"Name":"Acme"`) {
		t.Errorf("fixture records: %d %s", r.status, r.body)
	}
}
