package emulator_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/sfbridge/sfbridge/emulator"
)

func TestDataAPIThroughTheOrg(t *testing.T) {
	s := newServer(t)
	tok := s.Login(t, emulator.UserIntegration).AccessToken
	q := func(tok, soql string) result {
		return do(t, s, "GET", "/services/data/v62.0/query?q="+url.QueryEscape(soql), tok, nil)
	}

	// The sf CLI's login query, answered by the SOQL engine from the org model.
	r := q(tok, "SELECT Name, InstanceName, IsSandbox, TrialExpirationDate, NamespacePrefix, OrganizationType FROM Organization")
	var res struct {
		TotalSize int              `json:"totalSize"`
		Done      bool             `json:"done"`
		Records   []map[string]any `json:"records"`
	}
	if err := json.Unmarshal([]byte(r.body), &res); err != nil || r.status != 200 || res.TotalSize != 1 {
		t.Fatalf("Organization query: %d %s", r.status, r.body)
	}
	org := res.Records[0]
	if org["Name"] != "sfbridge Emulated Org" || org["InstanceName"] != "EMU1" || org["IsSandbox"] != false || org["OrganizationType"] != "Developer Edition" {
		t.Errorf("Organization record %v", org)
	}
	if r.header.Get("Sforce-Limit-Info") == "" {
		t.Error("data answers carry no Sforce-Limit-Info")
	}

	// Users, profiles and assignments mirror the org model.
	uid, _ := s.Org.UserID(emulator.UserIntegration)
	r = q(tok, "SELECT PermissionSet.Name FROM PermissionSetAssignment WHERE AssigneeId = '"+string(uid)+"' AND PermissionSet.IsOwnedByProfile = false ORDER BY PermissionSet.Name")
	if r.status != 200 || !strings.Contains(r.body, `"sfbridge_App_Access"`) || !strings.Contains(r.body, `"sfbridge_Integration"`) {
		t.Errorf("assignments: %d %s", r.status, r.body)
	}
	r = q(tok, "SELECT Username, IsActive, Profile.Name FROM User WHERE Username = 'inactive@sfbridge.test'")
	if r.status != 200 || !strings.Contains(r.body, `"IsActive":false`) || !strings.Contains(r.body, "Minimum Access - API Only Integrations") {
		t.Errorf("users: %d %s", r.status, r.body)
	}
	r = q(tok, "SELECT PermissionsApiEnabled, PermissionsViewEventLogFiles FROM UserPermissionAccess")
	if r.status != 200 || !strings.Contains(r.body, `"PermissionsViewEventLogFiles":true`) {
		t.Errorf("UserPermissionAccess: %d %s", r.status, r.body)
	}

	// Create and read back a Case; go-salesforce's query/ with a slash.
	r = do(t, s, "POST", "/services/data/v62.0/sobjects/Case", tok, strings.NewReader(`{"Subject":"Printer on fire","attributes":{"type":"Case"}}`), "Content-Type", "application/json")
	if r.status != 201 || !strings.Contains(r.body, `"success":true`) {
		t.Fatalf("create Case: %d %s", r.status, r.body)
	}
	r = do(t, s, "GET", "/services/data/v62.0/query/?q="+url.QueryEscape("SELECT Subject FROM Case"), tok, nil)
	if r.status != 200 || !strings.Contains(r.body, "Printer on fire") {
		t.Errorf("query/: %d %s", r.status, r.body)
	}

	// The no-eventlogs user reads Cases but may not create them.
	ro := s.Login(t, emulator.UserNoEventLogs).AccessToken
	if r := q(ro, "SELECT Subject FROM Case"); r.status != 200 || !strings.Contains(r.body, "Printer on fire") {
		t.Errorf("read-only user query: %d %s", r.status, r.body)
	}
	r = do(t, s, "POST", "/services/data/v62.0/sobjects/Case", ro, strings.NewReader(`{"Subject":"x"}`), "Content-Type", "application/json")
	if r.status < 400 {
		t.Errorf("read-only user created a Case: %d %s", r.status, r.body)
	}
	if r := q(ro, "SELECT Id FROM EventLogFile"); r.status != 400 || !strings.Contains(r.body, "INVALID_TYPE") {
		t.Errorf("EventLogFile without permission: %d %s", r.status, r.body)
	}

	// Records added through the admin API are queryable.
	ar := admin(t, s, "POST", "/_emulator/records/Account", `[{"Name":"Acme"},{"Name":"Globex"}]`)
	if ar.status != 201 {
		t.Fatalf("admin records: %d %s", ar.status, ar.body)
	}
	if r := q(tok, "SELECT COUNT() FROM Account"); !strings.Contains(r.body, `"totalSize":2`) {
		t.Errorf("accounts: %s", r.body)
	}

	// A user added through the admin API appears in SOQL.
	admin(t, s, "POST", "/_emulator/users", `{"username":"late@sfbridge.test","profile":"System Administrator"}`)
	if r := q(tok, "SELECT Id FROM User WHERE Username = 'late@sfbridge.test'"); !strings.Contains(r.body, `"totalSize":1`) {
		t.Errorf("added user: %s", r.body)
	}
	if r := do(t, s, "GET", "/services/data/latest/sobjects/Case/describe", tok, nil); r.status != 200 || !strings.Contains(r.body, `"name":"Case"`) {
		t.Errorf("describe via latest: %d %.200s", r.status, r.body)
	}
}
