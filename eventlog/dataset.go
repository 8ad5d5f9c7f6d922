package eventlog

import (
	"strings"
)

// Dataset is where an event type's events go: its ECS event.dataset and the
// group under salesforce.* that holds the row's own columns.
type Dataset struct {
	// Name is event.dataset: "salesforce.login", "salesforce.logout",
	// "salesforce.apex", "salesforce.setupaudittrail" or
	// "salesforce.aura_request" where Elastic's Salesforce integration has a
	// data stream for the type, "salesforce.<type in lower case>" otherwise.
	Name string
	// Group is the object under "salesforce." that holds the columns:
	// "login", "logout", "apex", "setup_audit_trail", "aura_request", or the
	// type in lower case.
	Group string
}

// DatasetFor returns the dataset of an event log file's EventType or of an
// object name (SetupAuditTrail, LoginEvent, LogoutEvent, ...).
func DatasetFor(eventType string) Dataset {
	switch eventType {
	case "Login", "LoginEvent":
		return Dataset{Name: "salesforce.login", Group: "login"}
	case "Logout", "LogoutEvent":
		return Dataset{Name: "salesforce.logout", Group: "logout"}
	case "ApexCallout", "ApexExecution", "ApexRestApi", "ApexSoap", "ApexTrigger", "ExternalCustomApexCallout":
		return Dataset{Name: "salesforce.apex", Group: "apex"}
	case "SetupAuditTrail":
		return Dataset{Name: "salesforce.setupaudittrail", Group: "setup_audit_trail"}
	case "AuraRequest", "AuraRequestEventLog":
		return Dataset{Name: "salesforce.aura_request", Group: "aura_request"}
	}
	g := sanitizeName(eventType)
	if g == "" {
		g = "unknown"
	}
	return Dataset{Name: "salesforce." + g, Group: g}
}

// sanitizeName lower-cases s and replaces every character that is not a
// letter, digit or underscore by an underscore, so that it is a safe JSON
// field name (no dots, which Elasticsearch reads as object paths) and a safe
// part of a data stream name.
func sanitizeName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_':
			b.WriteByte(c)
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// kebab turns an event type into an event.action: "ReportExport" becomes
// "report-export", "API" stays "api".
func kebab(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		upper := c >= 'A' && c <= 'Z'
		if upper && i > 0 {
			prevLower := s[i-1] >= 'a' && s[i-1] <= 'z' || s[i-1] >= '0' && s[i-1] <= '9'
			nextLower := i+1 < len(s) && s[i+1] >= 'a' && s[i+1] <= 'z'
			if prevLower || (nextLower && s[i-1] >= 'A' && s[i-1] <= 'Z') {
				b.WriteByte('-')
			}
		}
		switch {
		case upper:
			b.WriteByte(c + 'a' - 'A')
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteByte(c)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}

// classification is the ECS event.action, event.category and event.type of
// an event type, following Elastic's pipelines where they exist.
type classification struct {
	action   string
	category []string
	typ      []string
}

func classify(eventType string) classification {
	switch eventType {
	case "Login", "LoginEvent", "LoginHistory":
		return classification{"login-attempt", []string{"authentication"}, []string{"info"}}
	case "Logout", "LogoutEvent":
		return classification{"logout", []string{"authentication"}, []string{"info"}}
	case "LoginAs", "LoginAsEvent":
		return classification{"login-as", []string{"authentication"}, []string{"info"}}
	case "ApexCallout":
		return classification{"apex-callout", []string{"network"}, []string{"connection"}}
	case "ApexTrigger":
		return classification{"apex-trigger", nil, []string{"connection"}}
	case "ApexExecution":
		return classification{"apex-execution", nil, nil}
	case "ApexRestApi":
		return classification{"apex-rest", []string{"network"}, []string{"connection"}}
	case "ApexSoap":
		return classification{"apex-soap", []string{"network"}, []string{"connection"}}
	case "ExternalCustomApexCallout":
		return classification{"apex-external-custom-callout", []string{"network"}, []string{"connection"}}
	case "SetupAuditTrail":
		return classification{"", []string{"configuration"}, []string{"admin"}}
	case "API", "RestApi", "BulkApi", "BulkApi2", "ApiEvent", "URI", "LightningPageView", "VisualforceRequest",
		"AuraRequest", "Sites", "UriEvent", "LightningUriEvent":
		return classification{kebab(eventType), []string{"web"}, []string{"access"}}
	}
	return classification{action: kebab(eventType)}
}

// Code tables from Elastic's Salesforce ingest pipelines: the one-letter and
// numeric codes event log files use, and what they mean.

func decodeAPIType(s string) string {
	switch s {
	case "D":
		return "Apex Class"
	case "E":
		return "SOAP Enterprise"
	case "I":
		return "SOAP Cross Instance"
	case "M":
		return "SOAP Metadata"
	case "O":
		return "Old SOAP"
	case "P":
		return "SOAP Partner"
	case "S":
		return "SOAP Apex"
	case "T":
		return "SOAP Tooling"
	case "X":
		return "XmlRPC"
	case "f":
		return "Feed"
	case "l":
		return "Live Agent"
	case "p":
		return "SOAP ClientSync"
	}
	return ""
}

func decodeRequestStatus(s string) string {
	switch s {
	case "S":
		return "Success"
	case "F":
		return "Failure"
	case "U":
		return "Undefined"
	case "A":
		return "Authorization Error"
	case "R":
		return "Redirect"
	case "N":
		return "Not Found"
	}
	return ""
}

func decodeSessionType(s string) string {
	switch s {
	case "A":
		return "API"
	case "I":
		return "APIOnlyUser"
	case "N":
		return "ChatterNetworks"
	case "Z":
		return "ChatterNetworksAPIOnly"
	case "C":
		return "Content"
	case "P":
		return "OauthApprovalUI"
	case "O":
		return "Oauth2"
	case "T":
		return "SiteStudio"
	case "R":
		return "SitePreview"
	case "S":
		return "SubstituteUser"
	case "B":
		return "TempContentExchange"
	case "G":
		return "TempOauthAccessTokenFrontdoor"
	case "Y":
		return "TempVisualforceExchange"
	case "F":
		return "TempUIFrontdoor"
	case "U":
		return "UI"
	case "E":
		return "UserSite"
	case "V":
		return "Visualforce"
	case "W":
		return "WDC_API"
	}
	return ""
}

func decodeSessionLevel(s string) string {
	switch s {
	case "1":
		return "Standard Session"
	case "2":
		return "High-Assurance Session"
	}
	return ""
}

func decodePlatformType(s string) string {
	switch s {
	case "1000":
		return "Windows"
	case "1008":
		return "Windows 2003"
	case "1013":
		return "Windows 8.1"
	case "1015":
		return "Windows 10"
	case "2003":
		return "Macintosh/Apple OSX"
	case "4000":
		return "Linux"
	case "5005":
		return "Android"
	case "5006":
		return "iPhone"
	case "5007":
		return "iPad"
	case "5200":
		return "Android 10.0"
	}
	return ""
}

func decodeAppType(s string) string {
	switch s {
	case "1000":
		return "Application"
	case "1007":
		return "SFDC Application"
	case "1014":
		return "Chat"
	case "2501":
		return "CTI"
	case "2514":
		return "OAuth"
	case "3475":
		return "SFDC Partner Portal"
	}
	return ""
}

func decodeUserType(s string) string {
	switch s {
	case "A":
		return "Automated Process"
	case "b":
		return "High Volume Portal"
	case "C":
		return "Customer Portal User"
	case "D":
		return "External Who"
	case "F":
		return "Self-Service"
	case "G":
		return "Guest"
	case "L":
		return "Package License Manager"
	case "N":
		return "Salesforce to Salesforce"
	case "n":
		return "CSN Only"
	case "O":
		return "Power Custom"
	case "o":
		return "Custom"
	case "P":
		return "Partner"
	case "p":
		return "Customer Portal Manager"
	case "S":
		return "Standard"
	case "X":
		return "Salesforce Administrator"
	}
	return ""
}

// decodeUserAgent decodes the numeric USER_AGENT code of Apex rows by its
// first three digits.
func decodeUserAgent(s string) string {
	if len(s) < 3 {
		return ""
	}
	switch s[:3] {
	case "100":
		return "Internet Explorer"
	case "110":
		return "Firefox"
	case "130":
		return "Chrome"
	case "140":
		return "Safari"
	case "150":
		return "Opera"
	case "160":
		return "Android"
	case "170":
		return "Netscape"
	case "180":
		return "Webkit"
	case "190":
		return "Gecko"
	case "230":
		return "Blackberry"
	case "240":
		return "Good Access"
	case "999":
		return "Unknown"
	}
	return ""
}
