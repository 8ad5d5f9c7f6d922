// Package eventlog generates the Event Monitoring log files (EventLogFile
// blobs) of the emulated org: per event type the CSV columns Salesforce
// documents, and rows generated on the fly from a seed, so a multi-gigabyte
// file costs no memory and downloads the same bytes every time. It also
// computes the file schedule of an org: which daily and hourly files exist
// at a given instant, their CreatedDate, Sequence and retention.
//
// The package knows nothing about HTTP or the data store; package emulator
// turns its files into EventLogFile records and serves their blobs.
package eventlog

import (
	"strings"
)

// kind says how a column's values are generated.
type kind uint8

const (
	kEventType kind = iota
	kTimestamp
	kTimestampDerived
	kRequestID
	kOrgID
	kUserID
	kUserIDDerived
	kUserName
	kClientIP // an IP or the literal "Salesforce.com IP"
	kSourceIP // always an IP
	kPool     // one of pool, uniformly
	kOutcome  // pool on success, fail on failure (one outcome per row)
	kInt      // lo..hi
	kID       // 15-character id with prefix
	kKey      // 16-character session or login key
)

// column is one CSV column of an event type.
type column struct {
	name   string
	typ    string // LogFileFieldTypes entry: String, Id, Number, IP, EscapedString, Boolean
	k      kind
	pool   [][]byte // quoted values
	fail   [][]byte // quoted values for failed rows (kOutcome)
	lo, hi int64
	prefix string
}

// quote returns v as a CSV field: double-quoted, quotes doubled.
func quote(v string) []byte {
	b := make([]byte, 0, len(v)+2)
	return appendQuoted(b, v)
}

func appendQuoted(b []byte, v string) []byte {
	b = append(b, '"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, v[i])
	}
	return append(b, '"')
}

func quoteAll(vs []string) [][]byte {
	out := make([][]byte, len(vs))
	for i, v := range vs {
		out[i] = quote(v)
	}
	return out
}

// Column constructors.
func str(name string, vals ...string) column {
	return column{name: name, typ: "String", k: kPool, pool: quoteAll(vals)}
}
func esc(name string, vals ...string) column {
	return column{name: name, typ: "EscapedString", k: kPool, pool: quoteAll(vals)}
}
func outcome(name, typ string, ok, fail []string) column {
	return column{name: name, typ: typ, k: kOutcome, pool: quoteAll(ok), fail: quoteAll(fail)}
}
func num(name string, lo, hi int64) column {
	return column{name: name, typ: "Number", k: kInt, lo: lo, hi: hi}
}
func id(name, prefix string) column { return column{name: name, typ: "Id", k: kID, prefix: prefix} }
func key(name string) column        { return column{name: name, typ: "String", k: kKey} }

// eventType is one EventType with its columns. next, when set, is the
// column list of a later release (schema drift): files whose schema version
// is 1 use it.
type eventType struct {
	name string
	free bool // part of the free tier (no Event Monitoring licence)
	cols []column
	next []column
}

func with(base []column, extra ...column) []column {
	out := make([]column, 0, len(base)+len(extra))
	out = append(out, base...)
	return append(out, extra...)
}

// catalog returns the event types the emulator generates. The columns of
// Login, ApexExecution, ApexCallout and AuraRequest follow Salesforce's
// samples and Elastic's test fixtures; the others follow the documented
// main columns of each type (see docs/emulator.md for which is which).
func catalog() []*eventType {
	colEventType := column{name: "EVENT_TYPE", typ: "String", k: kEventType}
	colTimestamp := column{name: "TIMESTAMP", typ: "String", k: kTimestamp}
	colRequestID := column{name: "REQUEST_ID", typ: "String", k: kRequestID}
	colOrgID := column{name: "ORGANIZATION_ID", typ: "Id", k: kOrgID}
	colUserID := column{name: "USER_ID", typ: "Id", k: kUserID}
	colTimestampDerived := column{name: "TIMESTAMP_DERIVED", typ: "DateTime", k: kTimestampDerived}
	colUserIDDerived := column{name: "USER_ID_DERIVED", typ: "Id", k: kUserIDDerived}
	colClientIP := column{name: "CLIENT_IP", typ: "IP", k: kClientIP}
	colSourceIP := column{name: "SOURCE_IP", typ: "IP", k: kSourceIP}
	colUserName := column{name: "USER_NAME", typ: "String", k: kUserName}

	// Values that need quoting: commas, doubled quotes and newlines.
	soqlQueries := []string{
		"SELECT Id, Subject, Status FROM Case WHERE Status = 'New' ORDER BY CreatedDate DESC LIMIT 200",
		"SELECT Id, Name FROM Account WHERE Name LIKE '%\"Acme\", Inc%'",
		"SELECT Id,CreatedDate,LogDate,LogFile FROM EventLogFile WHERE Interval = 'Hourly'\nORDER BY CreatedDate ASC, Id ASC",
		"select id, email from contact where lastmodifieddate > 2026-01-01T00:00:00Z",
		"SELECT COUNT() FROM User WHERE IsActive = true",
	}
	restURIs := []string{
		"/services/data/v62.0/query", "/services/data/v62.0/sobjects/Case", "/services/data/v62.0/sobjects/Account/describe",
		"/services/data/v62.0/composite/sobjects", "/services/data/v62.0/limits",
		"/services/data/v62.0/sobjects/Contact/003xx000004TmiQAAS?fields=Name,Email",
	}
	pageURIs := []string{
		"/lightning/r/Case/500xx000001AbCdAAK/view", "/lightning/o/Account/list?filterName=Recent",
		"/apex/InvoiceSearch?q=\"big, order\"", "/lightning/page/home", "/lightning/r/Report/00Oxx000000RpTAEA0/view",
		"/lightning/n/Custom_Tab?c__note=line one\nline two",
	}
	userAgents := []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
		"sfdx toolbelt:", "jsforce/3.10", "Go-http-client/1.1", "go-salesforce", "5001",
	}
	entities := []string{"Case", "Account", "Contact", "EventLogFile", "User", "Opportunity", "Lead", "Knowledge__kav"}

	loginBase := []column{colEventType, colTimestamp, colRequestID, colOrgID, colUserID,
		num("RUN_TIME", 20, 900), num("CPU_TIME", 5, 300),
		str("URI", "/services/oauth2/token", "/index.jsp", "/saml/SSO", "/services/Soap/u/62.0"),
		key("SESSION_KEY"), key("LOGIN_KEY"), str("USER_TYPE", "Standard", "Standard", "Standard", "PowerPartner", "Guest"),
		outcome("REQUEST_STATUS", "String", []string{"S"}, []string{"F", "A"}),
		num("DB_TOTAL_TIME", 1000000, 90000000),
		str("LOGIN_TYPE", "R", "R", "A", "6", "f"),
		str("BROWSER_TYPE", "Chrome 124", "Firefox 125", "Safari 17", "Unknown", "Java (Salesforce.com)"),
		str("API_TYPE", "", "", "E", "P", "f"), str("API_VERSION", "62.0", "61.0", "9998.0", ""),
		colUserName, str("TLS_PROTOCOL", "TLSv1.3", "TLSv1.2"),
		str("CIPHER_SUITE", "TLS_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384", "TLS_AES_128_GCM_SHA256"),
		str("AUTHENTICATION_METHOD_REFERENCE", "", "pwd", "oauth_jwt", "saml"),
		str("LOGIN_SUB_TYPE", "", "", "jwt_bearer", "oauthjwt"),
		colTimestampDerived, colUserIDDerived, colClientIP, id("URI_ID_DERIVED", "0Ya"),
		outcome("LOGIN_STATUS", "String", []string{"LOGIN_NO_ERROR"},
			[]string{"LOGIN_ERROR_INVALID_PASSWORD", "LOGIN_ERROR_INVALID_USERNAME", "LOGIN_TWOFACTOR_REQ", "LOGIN_ERROR_SSO_PWD_INVALID", "LOGIN_ERROR_RATE_EXCEEDED"}),
		colSourceIP}
	apiBase := []column{colEventType, colTimestamp, colRequestID, colOrgID, colUserID,
		num("RUN_TIME", 3, 4000), num("CPU_TIME", 1, 900), str("URI", restURIs...), key("SESSION_KEY"), key("LOGIN_KEY"),
		outcome("REQUEST_STATUS", "String", []string{"S", "S", "S", "R"}, []string{"F", "A", "N", "U"}),
		num("DB_TOTAL_TIME", 100000, 500000000), str("API_TYPE", "E", "P", "M", "T", "S", "f", "R"),
		str("API_VERSION", "62.0", "61.0", "60.0", "58.0"), str("CLIENT_NAME", "", "sfbridge", "DataLoader", "Workbench"),
		str("METHOD_NAME", "query", "describeSObjects", "create", "update", "retrieve", "queryMore"),
		str("ENTITY_NAME", entities...), num("ROWS_PROCESSED", 0, 2000), num("REQUEST_SIZE", 0, 90000), num("RESPONSE_SIZE", 50, 900000),
		esc("QUERY", soqlQueries...), colTimestampDerived, colUserIDDerived, colClientIP}
	restBase := []column{colEventType, colTimestamp, colRequestID, colOrgID, colUserID,
		num("RUN_TIME", 3, 4000), num("CPU_TIME", 1, 900), str("URI", restURIs...), key("SESSION_KEY"), key("LOGIN_KEY"),
		outcome("REQUEST_STATUS", "String", []string{"S"}, []string{"F", "A", "N"}),
		num("DB_TOTAL_TIME", 100000, 500000000), str("METHOD", "GET", "GET", "GET", "POST", "PATCH", "DELETE"),
		str("MEDIA_TYPE", "application/json", "application/json;charset=UTF-8", "text/csv"),
		outcome("STATUS_CODE", "Number", []string{"200", "200", "201", "204"}, []string{"400", "401", "403", "404", "500", "503"}),
		str("USER_AGENT", userAgents...), num("ROWS_PROCESSED", 0, 2000), num("REQUEST_SIZE", 0, 90000), num("RESPONSE_SIZE", 50, 900000),
		str("ENTITY_NAME", entities...), str("API_VERSION", "62.0", "61.0", "60.0"), esc("QUERY", soqlQueries...),
		id("CONNECTED_APP_ID", "0H4"), colTimestampDerived, colUserIDDerived, colClientIP, str("URI_ID_DERIVED", "", "500xx000001AbCdAAK")}
	types := []*eventType{
		{name: "Login", free: true, cols: loginBase, next: with(loginBase, str("AUTHENTICATION_CONTEXT_CLASS_REFERENCE", "", "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"))},
		{name: "Logout", free: true, cols: []column{colEventType, colTimestamp, colRequestID, colOrgID, colUserID,
			str("USER_TYPE", "S", "S", "P"), str("APP_TYPE", "1007", "2514", "1000"), str("BROWSER_TYPE", "Chrome 124", "Firefox 125", "Safari 17", "Unknown"),
			str("CLIENT_VERSION", "", "9998", "62.0"), str("PLATFORM_TYPE", "1015", "1017", "2003"), str("SESSION_LEVEL", "1", "1", "2"),
			key("SESSION_KEY"), key("LOGIN_KEY"), str("RESOLUTION_TYPE", "1", "2"), colTimestampDerived, colUserIDDerived, colClientIP}},
		{name: "LoginAs", cols: []column{colEventType, colTimestamp, colRequestID, colOrgID, colUserID,
			id("DELEGATED_USER_ID", "005"), str("DELEGATED_USER_NAME", "support@sfbridge.test", "admin@sfbridge.test"),
			id("DELEGATED_ORGANIZATION_ID", "00D"), key("SESSION_KEY"), key("LOGIN_KEY"),
			outcome("REQUEST_STATUS", "String", []string{"S"}, []string{"F"}), colTimestampDerived, colUserIDDerived, colClientIP}},
		{name: "API", cols: apiBase, next: with(apiBase, str("CONNECTED_APP_NAME", "", "sfbridge", "Data Loader"))},
		{name: "RestApi", cols: restBase},
		{name: "BulkApi", cols: []column{colEventType, colTimestamp, colRequestID, colOrgID, colUserID,
			num("RUN_TIME", 50, 90000), num("CPU_TIME", 10, 9000), str("URI", "/services/async/62.0/job/750xx0000000001AAA/batch", "/services/async/62.0/job"),
			key("SESSION_KEY"), key("LOGIN_KEY"), outcome("REQUEST_STATUS", "String", []string{"S"}, []string{"F"}),
			num("DB_TOTAL_TIME", 1000000, 900000000), str("ENTITY_TYPE", entities...), id("JOB_ID", "750"), id("BATCH_ID", "751"),
			str("MESSAGE", "", "", "InvalidBatch : Field name not found : Foo__c", "Failed to process query: \"timeout\", retry"),
			num("ROWS_PROCESSED", 0, 10000), num("NUMBER_FAILURES", 0, 5), colTimestampDerived, colUserIDDerived, colClientIP}},
		{name: "URI", cols: []column{colEventType, colTimestamp, colRequestID, colOrgID, colUserID,
			num("RUN_TIME", 10, 5000), num("CPU_TIME", 2, 1200), esc("URI", pageURIs...), key("SESSION_KEY"), key("LOGIN_KEY"),
			str("USER_TYPE", "S", "S", "P", "G"), outcome("REQUEST_STATUS", "String", []string{"S", "R"}, []string{"F", "N"}),
			num("DB_TOTAL_TIME", 100000, 90000000), str("REFERRER_URI", "", "/lightning/page/home", "https://www.google.com/"),
			str("USER_AGENT", userAgents...), colTimestampDerived, colUserIDDerived, colClientIP, id("URI_ID_DERIVED", "500")}},
		{name: "LightningPageView", cols: []column{colEventType, colTimestamp, colRequestID, colOrgID, colUserID,
			str("APP_NAME", "one:one", "siteforce:communityApp"), str("BROWSER_NAME", "CHROME", "FIREFOX", "SAFARI"),
			str("DEVICE_PLATFORM", "SFX:BROWSER:DESKTOP", "SFX:BROWSER:MOBILE"), num("DURATION", 100, 30000), num("EFFECTIVE_PAGE_TIME", 100, 9000),
			esc("PAGE_URL", pageURIs...), str("PAGE_ENTITY_TYPE", entities...), str("PAGE_CONTEXT", "force:objectHomeDesktop", "force:recordViewDesktop"),
			str("PREVPAGE_URL", "", "/lightning/page/home"), key("SESSION_KEY"), str("USER_TYPE", "Standard", "Standard", "Guest"),
			colTimestampDerived, colUserIDDerived, colClientIP}},
		{name: "Report", cols: []column{colEventType, colTimestamp, colRequestID, colOrgID, colUserID,
			num("RUN_TIME", 100, 30000), num("CPU_TIME", 10, 9000), id("REPORT_ID", "00O"), id("DASHBOARD_ID", "01Z"),
			num("ROW_COUNT", 0, 50000), num("NUMBER_COLUMNS", 1, 40), str("DISPLAY_TYPE", "D", "S", "M", "H"), str("RENDERING_TYPE", "W", "E", "P"),
			str("ORIGIN", "ReportRunFromLightning", "ReportRunUsingApi", "DashboardComponentUpdated"),
			outcome("REQUEST_STATUS", "String", []string{"S"}, []string{"F"}), key("SESSION_KEY"), colTimestampDerived, colUserIDDerived, colClientIP}},
		{name: "ReportExport", cols: []column{colEventType, colTimestamp, colRequestID, colOrgID, colUserID,
			id("REPORT_ID", "00O"), str("EXPORT_FILE_FORMAT", "CSV", "XLSX", "Formatted Report"), num("ROW_COUNT", 1, 250000),
			esc("REPORT_DESCRIPTION", "All open cases", "Accounts, by \"region\"", "Q3 pipeline\nby owner"),
			str("CLIENT_INFO", "Chrome 124", "Firefox 125"), key("SESSION_KEY"), colTimestampDerived, colUserIDDerived, colClientIP}},
		{name: "ApexExecution", cols: []column{colEventType, colTimestamp, colRequestID, colOrgID, colUserID,
			num("RUN_TIME", 5, 60000), num("CPU_TIME", 1, 10000), esc("ENTRY_POINT", "CaseTriggerHandler.onAfterInsert", "VF- /apex/InvoiceSearch", "InvoiceBatch.execute", "RestResource: /services/apexrest/orders"),
			str("QUIDDITY", "A", "B", "C", "E", "F", "H", "L", "M", "R", "V", "W", "X"), num("EXEC_TIME", 5, 60000), num("DB_TOTAL_TIME", 100000, 900000000),
			num("CALLOUT_TIME", 0, 30000), num("NUMBER_SOQL_QUERIES", 0, 100), str("IS_LONG_RUNNING_REQUEST", "0", "0", "0", "1"),
			num("DB_BLOCKS", 0, 5000), num("DB_CPU_TIME", 0, 9000), colTimestampDerived, colUserIDDerived}},
		{name: "ApexCallout", cols: []column{colEventType, colTimestamp, colRequestID, colOrgID, colUserID,
			num("RUN_TIME", 20, 120000), num("CPU_TIME", 1, 300), str("METHOD", "GET", "POST", "PUT"),
			esc("URL", "https://api.example.com/v1/orders?since=2026-01-01", "https://hooks.example.net/notify", "callout:Billing/invoices"),
			str("TYPE", "REST", "SOAP", "OData"), outcome("SUCCESS", "Boolean", []string{"1"}, []string{"0"}), num("TIME", 20, 120000),
			num("REQUEST_SIZE", 0, 50000), num("RESPONSE_SIZE", 0, 500000), outcome("STATUS_CODE", "Number", []string{"200", "201"}, []string{"500", "502", "404"}),
			colTimestampDerived, colUserIDDerived}},
		{name: "ApexUnexpectedException", free: true, cols: []column{colEventType, colTimestamp, colRequestID, colOrgID, colUserID,
			str("EXCEPTION_TYPE", "System.NullPointerException", "System.LimitException", "System.QueryException", "System.DmlException"),
			esc("EXCEPTION_MESSAGE", "Attempt to de-reference a null object", "Too many SOQL queries: 101", "List has no rows for assignment to SObject",
				"Insert failed. First exception on row 0; first error: REQUIRED_FIELD_MISSING, Required fields are missing: [\"Name\"]: [Name]"),
			esc("STACK_TRACE", "Class.CaseTriggerHandler.onAfterInsert: line 42, column 1\nTrigger.CaseTrigger: line 3, column 1", "AnonymousBlock: line 1, column 1"),
			str("EXCEPTION_CATEGORY", "APEX_CODE", "APEX_CODE", "LIMIT"), colTimestampDerived, colUserIDDerived}},
		{name: "ContentTransfer", cols: []column{colEventType, colTimestamp, colRequestID, colOrgID, colUserID,
			num("RUN_TIME", 10, 9000), num("CPU_TIME", 1, 900), str("TRANSACTION_TYPE", "VersionDownloadAction", "VersionRenditionDownload", "saveVersion"),
			str("FILE_TYPE", "PDF", "PNG", "EXCEL_X", "WORD_X", "CSV"), id("VERSION_ID", "068"), id("DOCUMENT_ID", "069"),
			num("SIZE_BYTES", 100, 90000000), str("FILE_PREVIEW_TYPE", "", "THUMB120BY90", "SVGZ"), colTimestampDerived, colUserIDDerived, colClientIP}},
		{name: "AuraRequest", cols: []column{colEventType, colTimestamp, colRequestID, colOrgID, colUserID,
			num("RUN_TIME", 5, 9000), num("CPU_TIME", 1, 3000), esc("ACTION_MESSAGE",
				"aura://RecordUiController/ACTION$getRecordWithFields", "serviceComponent://ui.force.components.controllers.hostConfig.HostConfigController/ACTION$getConfigData",
				"apex://InvoiceController/ACTION$search,\"q\":\"a, b\""), num("ACTION_MESSAGE_LENGTH", 40, 9000),
			str("REQUEST_METHOD", "POST", "GET"), str("USER_AGENT", userAgents...), str("USER_TYPE", "Standard", "Standard", "Guest", "PowerCustomerSuccess"),
			outcome("REQUEST_STATUS", "String", []string{"S"}, []string{"F"}), key("SESSION_KEY"), colTimestampDerived, colUserIDDerived, colClientIP}},
		{name: "CspViolation", free: true, cols: []column{colEventType, colTimestamp, colRequestID, colOrgID, colUserID,
			str("BLOCKED_URI", "https://cdn.example.com/lib.js", "inline", "eval", "https://fonts.example.net/x.woff2"),
			str("BLOCKED_URI_DOMAIN", "cdn.example.com", "", "fonts.example.net"), str("DIRECTIVE", "script-src", "connect-src", "font-src", "img-src"),
			esc("PAGE_URL", pageURIs...), str("SOURCE_FILE", "", "https://acme.my.salesforce.com/lightning/page/home"), num("LINE_NUMBER", 0, 4000),
			colTimestampDerived, colUserIDDerived, colClientIP}},
		{name: "CorsViolation", free: true, cols: []column{colEventType, colTimestamp, colRequestID, colOrgID, colUserID,
			str("HOST", "acme.my.salesforce.com"), str("ORIGIN", "https://evil.example.com", "http://localhost:3000"),
			str("URI", "/services/data/v62.0/query"), colTimestampDerived, colUserIDDerived, colClientIP}},
		{name: "HostnameRedirects", free: true, cols: []column{colEventType, colTimestamp, colRequestID, colOrgID, colUserID,
			str("HOST", "acme.my.salesforce.com"), str("HOSTNAME_TYPE", "MyDomain", "Sites", "Experience Cloud"),
			str("REDIRECTED_TO", "https://acme.my.salesforce.com", "https://acme.my.site.com"), str("REFERRER_URI", "", "https://www.google.com/"),
			str("USER_AGENT", userAgents...), colTimestampDerived, colUserIDDerived, colClientIP}},
		{name: "ApiTotalUsage", free: true, cols: []column{colEventType, colTimestamp, colRequestID, colOrgID, colUserID,
			str("API_FAMILY", "REST", "SOAP", "BULK_API", "REST"), str("API_VERSION", "62.0", "61.0", "60.0"),
			str("API_RESOURCE", "/query", "/sobjects", "/composite", "/limits"), str("CLIENT_NAME", "", "sfbridge", "DataLoader"),
			str("HTTP_METHOD", "GET", "POST", "PATCH"), str("CONNECTED_APP_ID", "", "0H4xx0000000001"), str("ENTITY_NAME", entities...),
			outcome("STATUS_CODE", "Number", []string{"200", "201", "204"}, []string{"400", "401", "403", "404", "500"}),
			num("COUNTS_AGAINST_API_LIMIT", 0, 1), colTimestampDerived, colUserIDDerived, colClientIP}},
	}
	return types
}

// Catalog is the set of event types; lookups are case-insensitive.
type Catalog struct {
	types  []*eventType
	byName map[string]*eventType
}

// NewCatalog returns the emulator's event types.
func NewCatalog() *Catalog {
	c := &Catalog{types: catalog(), byName: map[string]*eventType{}}
	for _, t := range c.types {
		c.byName[strings.ToLower(t.name)] = t
	}
	return c
}

// Names returns every event type name, in catalog order.
func (c *Catalog) Names() []string {
	out := make([]string, len(c.types))
	for i, t := range c.types {
		out[i] = t.name
	}
	return out
}

// FreeNames returns the event types of the free tier (no licence).
func (c *Catalog) FreeNames() []string {
	var out []string
	for _, t := range c.types {
		if t.free {
			out = append(out, t.name)
		}
	}
	return out
}

// Canonical returns the catalog spelling of an event type name.
func (c *Catalog) Canonical(name string) (string, bool) {
	t, ok := c.byName[strings.ToLower(name)]
	if !ok {
		return "", false
	}
	return t.name, true
}

// Free reports whether the event type is in the free tier.
func (c *Catalog) Free(name string) bool {
	t, ok := c.byName[strings.ToLower(name)]
	return ok && t.free
}

// Versions returns how many schema versions (releases) a type has: 1, or 2
// when its columns changed in a later release.
func (c *Catalog) Versions(name string) int {
	t, ok := c.byName[strings.ToLower(name)]
	if !ok {
		return 0
	}
	if t.next != nil {
		return 2
	}
	return 1
}

func (t *eventType) columns(version int) []column {
	if version > 0 && t.next != nil {
		return t.next
	}
	return t.cols
}

// FieldNames returns the comma-separated column names of a type's schema
// version, as EventLogFile.LogFileFieldNames holds them.
func (c *Catalog) FieldNames(name string, version int) string {
	t, ok := c.byName[strings.ToLower(name)]
	if !ok {
		return ""
	}
	cols := t.columns(version)
	names := make([]string, len(cols))
	for i, col := range cols {
		names[i] = col.name
	}
	return strings.Join(names, ",")
}

// FieldTypes returns the comma-separated column types (LogFileFieldTypes).
func (c *Catalog) FieldTypes(name string, version int) string {
	t, ok := c.byName[strings.ToLower(name)]
	if !ok {
		return ""
	}
	cols := t.columns(version)
	types := make([]string, len(cols))
	for i, col := range cols {
		types[i] = col.typ
	}
	return strings.Join(types, ",")
}
