package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sfbridge/sfbridge/emulator/messaging"
)

// Fixture describes an org: the organization, its profiles, permission
// sets, users, connected apps and faults. It is read from JSON or YAML (same
// field names; see docs/emulator.md) and is also the body of the admin API's
// create calls.
type Fixture struct {
	Org            OrgSpec             `json:"org"`
	Profiles       []ProfileSpec       `json:"profiles,omitempty"`
	PermissionSets []PermissionSetSpec `json:"permission_sets,omitempty"`
	Users          []UserSpec          `json:"users,omitempty"`
	Apps           []AppSpec           `json:"apps,omitempty"`
	Faults         []FaultSpec         `json:"faults,omitempty"`
	// Seed makes probabilistic faults repeatable (default 1).
	Seed uint64 `json:"seed,omitempty"`
	// Records are data records to insert once the data layer is present,
	// keyed by sObject name.
	Records map[string][]map[string]any `json:"records,omitempty"`
	// EventMonitoring configures Event Monitoring (licence, hourly files,
	// retention, background activity); nil means licensed, hourly, 30 days,
	// no background activity.
	EventMonitoring *EventMonitoringSpec `json:"event_monitoring,omitempty"`
	// Messaging is the Messaging for In-App and Web setup served on the
	// SCRT URL: deployments, channels, keysets, queues, routing rules,
	// agents and settings (see package emulator/messaging).
	Messaging *messaging.Setup `json:"messaging,omitempty"`
}

// OrgSpec describes the organization itself.
type OrgSpec struct {
	// ID is the 15- or 18-character org id (prefix 00D); generated if empty.
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
	// MyDomain is the My Domain name: the org's My Domain URL is
	// https://<MyDomain>.my.salesforce.com (sandbox:
	// https://<MyDomain>.sandbox.my.salesforce.com) and is an accepted audience.
	MyDomain         string `json:"my_domain,omitempty"`
	Sandbox          bool   `json:"sandbox,omitempty"`
	InstanceName     string `json:"instance_name,omitempty"`
	OrganizationType string `json:"organization_type,omitempty"`
	NamespacePrefix  string `json:"namespace_prefix,omitempty"`
	// DailyAPIRequests is the daily API request allocation (default 15000).
	DailyAPIRequests int `json:"daily_api_requests,omitempty"`
	// Audiences are extra accepted JWT audiences.
	Audiences []string `json:"audiences,omitempty"`
}

// ProfileSpec is a profile: system permissions by API name (ApiEnabled,
// ViewEventLogFiles, ViewAllData, ModifyAllData, ViewSetup, …) and object
// permissions by sObject name (read, create, edit, delete, viewAll, modifyAll).
type ProfileSpec struct {
	Name        string              `json:"name"`
	Permissions []string            `json:"permissions,omitempty"`
	Objects     map[string][]string `json:"objects,omitempty"`
}

// PermissionSetSpec is a permission set; same permissions as a profile.
type PermissionSetSpec struct {
	Name        string              `json:"name"`
	Label       string              `json:"label,omitempty"`
	Permissions []string            `json:"permissions,omitempty"`
	Objects     map[string][]string `json:"objects,omitempty"`
}

// UserSpec is a user. Active defaults to true.
type UserSpec struct {
	ID             string   `json:"id,omitempty"`
	Username       string   `json:"username"`
	Email          string   `json:"email,omitempty"`
	FirstName      string   `json:"first_name,omitempty"`
	LastName       string   `json:"last_name,omitempty"`
	Active         *bool    `json:"active,omitempty"`
	Frozen         bool     `json:"frozen,omitempty"`
	Profile        string   `json:"profile"`
	PermissionSets []string `json:"permission_sets,omitempty"`
	TimeZone       string   `json:"time_zone,omitempty"`
}

// Permitted-users policies of a connected app or External Client App.
const (
	AdminApprovedPreAuthorized = "AdminApprovedPreAuthorized"
	AllSelfAuthorized          = "AllSelfAuthorized"
)

// App types.
const (
	ConnectedApp      = "ConnectedApp"
	ExternalClientApp = "ExternalClientApp"
)

// AppSpec is a connected app or External Client App.
type AppSpec struct {
	Name string `json:"name"`
	// Type is ConnectedApp (default) or ExternalClientApp.
	Type           string `json:"type,omitempty"`
	ConsumerKey    string `json:"consumer_key"`
	ConsumerSecret string `json:"consumer_secret,omitempty"`
	// Certificates are PEM certificates (or PEM public keys) the app
	// trusts; CertificateFiles are read from files, relative to the fixture.
	Certificates     []string `json:"certificates,omitempty"`
	CertificateFiles []string `json:"certificate_files,omitempty"`
	// JWTEnabled ("Use digital signatures" / "Enable JWT Bearer Flow")
	// defaults to true when certificates are given.
	JWTEnabled *bool `json:"jwt_enabled,omitempty"`
	// PermittedUsers is AdminApprovedPreAuthorized (default) or AllSelfAuthorized.
	PermittedUsers string   `json:"permitted_users,omitempty"`
	Profiles       []string `json:"profiles,omitempty"`
	PermissionSets []string `json:"permission_sets,omitempty"`
	// ApprovedUsers are usernames that approved the app (self-authorize policy).
	ApprovedUsers []string `json:"approved_users,omitempty"`
	// SessionTimeout is a Go duration ("2h", "15m"); default 2h.
	SessionTimeout string `json:"session_timeout,omitempty"`
	// Scopes default to api, id and refresh_token.
	Scopes              []string `json:"scopes,omitempty"`
	IntrospectAllTokens bool     `json:"introspect_all_tokens,omitempty"`
	// CallbackURLs are the app's callback URLs, which the authorize
	// endpoint's redirect_uri must match exactly; empty accepts
	// https://login.salesforce.com/services/oauth2/success (and test.),
	// the emulator's own /services/oauth2/success and the sf CLI's
	// http://localhost:1717/OauthRedirect.
	CallbackURLs []string `json:"callback_urls,omitempty"`
}

// LoadFixture reads a JSON or YAML fixture file. Certificate files named in
// it are read relative to the fixture's directory.
func LoadFixture(path string) (*Fixture, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("emulator: read fixture: %w", err)
	}
	f, err := ParseFixture(data, path)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	for i := range f.Apps {
		for _, cf := range f.Apps[i].CertificateFiles {
			if !filepath.IsAbs(cf) {
				cf = filepath.Join(dir, cf)
			}
			pem, err := os.ReadFile(cf)
			if err != nil {
				return nil, fmt.Errorf("emulator: fixture %s: app %q: read certificate: %w", path, f.Apps[i].Name, err)
			}
			f.Apps[i].Certificates = append(f.Apps[i].Certificates, string(pem))
		}
		f.Apps[i].CertificateFiles = nil
	}
	if f.Messaging != nil {
		for i := range f.Messaging.Keysets {
			ks := &f.Messaging.Keysets[i]
			for _, kf := range ks.KeyFiles {
				if !filepath.IsAbs(kf) {
					kf = filepath.Join(dir, kf)
				}
				jwk, err := os.ReadFile(kf)
				if err != nil {
					return nil, fmt.Errorf("emulator: fixture %s: keyset %q: read JWK file: %w", path, ks.Name, err)
				}
				ks.Keys = append(ks.Keys, jwk)
			}
			ks.KeyFiles = nil
		}
	}
	return f, nil
}

// ParseFixture decodes a fixture from JSON or YAML; name is used in errors.
// Unknown fields are refused so that a misspelt key does not go unnoticed.
func ParseFixture(data []byte, name string) (*Fixture, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		var v any
		if err := yaml.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("emulator: fixture %s is neither JSON nor valid YAML: %w", name, err)
		}
		v, err := yamlToJSON(v)
		if err != nil {
			return nil, fmt.Errorf("emulator: fixture %s: %w", name, err)
		}
		if data, err = json.Marshal(v); err != nil {
			return nil, fmt.Errorf("emulator: fixture %s: %w", name, err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f Fixture
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("emulator: fixture %s: %w (the format is described in docs/emulator.md)", name, err)
	}
	return &f, nil
}

// yamlToJSON turns YAML's decoded values into ones encoding/json accepts
// (map keys must be strings) and renders times as RFC 3339 strings.
func yamlToJSON(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			c, err := yamlToJSON(e)
			if err != nil {
				return nil, err
			}
			x[k] = c
		}
		return x, nil
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("map key %v is not a string", k)
			}
			c, err := yamlToJSON(e)
			if err != nil {
				return nil, err
			}
			m[ks] = c
		}
		return m, nil
	case []any:
		for i, e := range x {
			c, err := yamlToJSON(e)
			if err != nil {
				return nil, err
			}
			x[i] = c
		}
		return x, nil
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), nil
	default:
		return v, nil
	}
}

// Default usernames of the default org.
const (
	UserIntegration      = "integration@sfbridge.test"
	UserNoEventLogs      = "no-eventlogs@sfbridge.test"
	UserNotPreauthorized = "not-preauthorized@sfbridge.test"
	UserInactive         = "inactive@sfbridge.test"
)

// Roles of the default users, as listed in the emulator's info file.
const (
	RoleIntegration      = "integration"
	RoleNoEventLogs      = "no-eventlogs"
	RoleNotPreauthorized = "not-preauthorized"
	RoleInactive         = "inactive"
)

// DefaultUsers maps each role to its username in the default org.
func DefaultUsers() map[string]string {
	return map[string]string{
		RoleIntegration:      UserIntegration,
		RoleNoEventLogs:      UserNoEventLogs,
		RoleNotPreauthorized: UserNotPreauthorized,
		RoleInactive:         UserInactive,
	}
}

// DefaultAppName is the name of the default org's connected app.
const DefaultAppName = "sfbridge"

// DefaultFixture returns the default org: an "sfbridge" connected app with
// the given consumer key trusting certPEM (admin-approved users are
// pre-authorized through the "sfbridge Integration" permission set), and
// four users, one per failure mode:
//   - integration@sfbridge.test: API Enabled, View Event Log Files, View All
//     Data, View Setup and Configuration, read/write on Case and CaseComment,
//     read on Contact, Account, User and Knowledge__kav; pre-authorized;
//   - no-eventlogs@sfbridge.test: API Enabled, pre-authorized, no View Event
//     Log Files, read-only on Case;
//   - not-preauthorized@sfbridge.test: like integration but not assigned to
//     the app;
//   - inactive@sfbridge.test: like integration but inactive.
//
// Its messaging section is messaging.DefaultSetup: the api deployment
// sfbridge_api, queues General and Payroll, the scripted agent Emma Bot and
// the human agent Alex Agent.
func DefaultFixture(consumerKey string, certPEM []byte) *Fixture {
	rw := []string{"read", "create", "edit", "delete"}
	ro := []string{"read"}
	inactive := false
	full := map[string][]string{
		"Case": rw, "CaseComment": rw, "Contact": ro, "Account": ro, "User": ro,
		"Knowledge__kav": ro, "EventLogFile": ro, "Organization": ro,
	}
	msg := messaging.DefaultSetup()
	return &Fixture{
		Messaging: &msg,
		Org: OrgSpec{
			Name:             "sfbridge Emulated Org",
			MyDomain:         "sfbridge-emulator",
			InstanceName:     "EMU1",
			OrganizationType: "Developer Edition",
			DailyAPIRequests: 15000,
		},
		Profiles: []ProfileSpec{
			{Name: "System Administrator", Permissions: []string{"ApiEnabled", "ViewAllData", "ModifyAllData", "ViewSetup", "ManageUsers", "ViewEventLogFiles", "CustomizeApplication"}},
			{Name: "Minimum Access - API Only Integrations", Permissions: []string{"ApiEnabled"}},
		},
		PermissionSets: []PermissionSetSpec{
			{Name: "sfbridge_Integration", Label: "sfbridge Integration",
				Permissions: []string{"ApiEnabled", "ViewEventLogFiles", "ViewAllData", "ViewSetup"},
				Objects:     full},
			{Name: "sfbridge_Read_Only", Label: "sfbridge Read Only (no event logs)",
				Permissions: []string{"ApiEnabled"},
				Objects:     map[string][]string{"Case": ro, "Organization": ro}},
			{Name: "sfbridge_App_Access", Label: "sfbridge App Access"},
		},
		Users: []UserSpec{
			{Username: UserIntegration, FirstName: "Integration", LastName: "User", Email: "integration@sfbridge.test",
				Profile: "Minimum Access - API Only Integrations", PermissionSets: []string{"sfbridge_Integration", "sfbridge_App_Access"}},
			{Username: UserNoEventLogs, FirstName: "No Event Logs", LastName: "User", Email: "no-eventlogs@sfbridge.test",
				Profile: "Minimum Access - API Only Integrations", PermissionSets: []string{"sfbridge_Read_Only", "sfbridge_App_Access"}},
			{Username: UserNotPreauthorized, FirstName: "Not Preauthorized", LastName: "User", Email: "not-preauthorized@sfbridge.test",
				Profile: "Minimum Access - API Only Integrations", PermissionSets: []string{"sfbridge_Integration"}},
			{Username: UserInactive, FirstName: "Inactive", LastName: "User", Email: "inactive@sfbridge.test", Active: &inactive,
				Profile: "Minimum Access - API Only Integrations", PermissionSets: []string{"sfbridge_Integration", "sfbridge_App_Access"}},
		},
		Apps: []AppSpec{{
			Name:           DefaultAppName,
			Type:           ConnectedApp,
			ConsumerKey:    consumerKey,
			Certificates:   []string{strings.TrimSpace(string(certPEM)) + "\n"},
			PermittedUsers: AdminApprovedPreAuthorized,
			PermissionSets: []string{"sfbridge_App_Access"},
			SessionTimeout: "2h",
			Scopes:         []string{"api", "id", "refresh_token"},
		}},
		Seed: 1,
	}
}
