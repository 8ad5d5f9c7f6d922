package eventlog

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func decodeRecord(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestObjectEventSetupAuditTrail(t *testing.T) {
	rec := decodeRecord(t, `{"attributes":{"type":"SetupAuditTrail","url":"/services/data/v62.0/sobjects/SetupAuditTrail/0Ym5j0000001"},
		"Id":"0Ym5j0000001","Action":"PermSetAssign","Section":"Manage Users","CreatedDate":"2024-01-15T12:34:56.000+0000",
		"CreatedById":"0055j000000XyZaAAF","Display":"For user jane@example.com, assigned permission set Admin","DelegateUser":null,
		"CreatedByContext":"","ResponsibleNamespacePrefix":null}`)
	got, err := ObjectEvent("", rec, "https://example.my.salesforce.com")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "0Ym5j0000001" || got.Dataset.Name != "salesforce.setupaudittrail" {
		t.Errorf("ID %q dataset %q", got.ID, got.Dataset.Name)
	}
	d := decodeRecord(t, string(got.JSON))
	want := map[string]any{
		"@timestamp":                           "2024-01-15T12:34:56.000Z",
		"event.id":                             "0Ym5j0000001",
		"event.action":                         "PermSetAssign",
		"event.dataset":                        "salesforce.setupaudittrail",
		"event.type":                           []any{"admin"},
		"user.id":                              "0055j000000XyZaAAF",
		"user.name":                            "jane@example.com",
		"salesforce.setup_audit_trail.section": "Manage Users",
		"salesforce.setup_audit_trail.created_by_id": "0055j000000XyZaAAF",
		"salesforce.setup_audit_trail.display":       "For user jane@example.com, assigned permission set Admin",
		"salesforce.setup_audit_trail.event_type":    "SetupAuditTrail",
		"salesforce.setup_audit_trail.delegate_user": nil,
		"salesforce.instance_url":                    "https://example.my.salesforce.com",
	}
	for p, w := range want {
		if diff := cmp.Diff(w, get(d, p)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", p, diff)
		}
	}
}

func TestObjectEventLoginEvent(t *testing.T) {
	rec := decodeRecord(t, `{"attributes":{"type":"LoginEvent"},"Id":"000000000000000AAA","EventIdentifier":"6f2a9b1e-1111-2222-3333-444455556666",
		"EventDate":"2024-01-15T12:00:01.500Z","Username":"jane@example.com","UserId":"0055j000000XyZaAAF","SourceIp":"198.51.100.9",
		"Status":"Invalid Password","LoginType":"Application","TlsProtocol":"TLS 1.3","CipherSuite":"TLS_AES_256_GCM_SHA384",
		"LoginLatitude":48.85,"LoginLongitude":2.35,"Country":"France","LoginHistoryId":"0Ya000","ApiVersion":"62.0"}`)
	got, err := ObjectEvent("", rec, "")
	if err != nil {
		t.Fatal(err)
	}
	d := decodeRecord(t, string(got.JSON))
	want := map[string]any{
		"event.id":                     "6f2a9b1e-1111-2222-3333-444455556666",
		"event.dataset":                "salesforce.login",
		"event.provider":               "Object",
		"event.outcome":                "failure",
		"event.category":               []any{"authentication"},
		"@timestamp":                   "2024-01-15T12:00:01.500Z",
		"source.ip":                    "198.51.100.9",
		"source.geo.location":          map[string]any{"lat": 48.85, "lon": 2.35},
		"source.geo.country_name":      "France",
		"user.email":                   "jane@example.com",
		"tls.version":                  "1.3",
		"tls.version_protocol":         "tls",
		"salesforce.login.type":        "Application",
		"salesforce.login.history_id":  "0Ya000",
		"salesforce.login.source_ip":   "198.51.100.9",
		"salesforce.login.api.version": "62.0",
	}
	for p, w := range want {
		if diff := cmp.Diff(w, get(d, p)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", p, diff)
		}
	}
}

func TestObjectEventErrors(t *testing.T) {
	_, err := ObjectEvent("LoginHistory", map[string]any{"LoginTime": "2024-01-15T12:00:00.000+0000"}, "")
	var oe *ObjectError
	if !errors.As(err, &oe) || oe.Object != "LoginHistory" {
		t.Errorf("no Id: err = %v", err)
	}
	_, err = ObjectEvent("LoginHistory", map[string]any{"Id": "0Ya1"}, "")
	if !errors.As(err, &oe) {
		t.Errorf("no date: err = %v", err)
	}
	r, err := ObjectEvent("LoginHistory", map[string]any{"Id": "0Ya1", "LoginTime": "2024-01-15T12:00:00.000+0000", "Status": "Success"}, "")
	if err != nil || r.Dataset.Name != "salesforce.loginhistory" || !r.Timestamp.Equal(mustTime(t, "2024-01-15T12:00:00Z")) {
		t.Errorf("LoginHistory: %+v, %v", r, err)
	}
}
