package data

import (
	"strings"
	"sync/atomic"

	"github.com/sfbridge/sfbridge/emulator/soql"
)

// FieldDef describes one field of an sObject as describe reports it.
type FieldDef struct {
	Name             string
	Label            string
	Type             string // describe type: id, string, textarea, picklist, reference, boolean, datetime, date, email, phone, url, int, double, currency, percent
	Length           int
	Nillable         bool
	Createable       bool
	Updateable       bool
	Filterable       bool
	Sortable         bool
	Unique           bool
	ExternalID       bool
	IDLookup         bool
	NameField        bool
	AutoNumber       bool
	Calculated       bool
	Defaulted        bool // defaultedOnCreate
	Required         bool // must be given on create
	Custom           bool
	HTMLFormatted    bool
	ReferenceTo      []string
	RelationshipName string
	Picklist         []string
	DefaultValue     string // picklist default
	index            int
	kind             soql.Kind
	hidden           atomic.Bool // not present in this org (EventLogFile.Interval without hourly files)
}

// ChildRelationship is a parent-to-child relationship (Case → CaseComments).
type ChildRelationship struct {
	Name          string // CaseComments
	ChildSObject  string // CaseComment
	Field         string // ParentId
	CascadeDelete bool
}

// ObjectDef describes one sObject type.
type ObjectDef struct {
	Name        string
	Label       string
	LabelPlural string
	KeyPrefix   string
	Custom      bool
	// What the object itself supports, before the caller's permissions.
	Createable, Updateable, Deletable, Queryable, Replicateable bool
	Fields                                                      []*FieldDef
	Children                                                    []ChildRelationship
	byName                                                      map[string]*FieldDef
	parents                                                     map[string]*FieldDef // lower relationship name → fk field
	deletedIdx                                                  int
}

// Field returns the field named name (case-insensitive).
func (o *ObjectDef) Field(name string) (*FieldDef, bool) {
	f, ok := o.byName[strings.ToLower(name)]
	return f, ok
}

func (o *ObjectDef) finish() {
	o.byName = make(map[string]*FieldDef, len(o.Fields))
	o.parents = map[string]*FieldDef{}
	for i, f := range o.Fields {
		f.index = i
		f.kind = kindOf(f.Type)
		if f.Label == "" {
			f.Label = labelOf(f.Name)
		}
		o.byName[strings.ToLower(f.Name)] = f
		if f.RelationshipName != "" {
			o.parents[strings.ToLower(f.RelationshipName)] = f
		}
		if f.Name == "IsDeleted" {
			o.deletedIdx = i
		}
	}
}

func kindOf(typ string) soql.Kind {
	switch typ {
	case "id", "reference":
		return soql.KindID
	case "boolean":
		return soql.KindBool
	case "int", "double", "currency", "percent":
		return soql.KindNumber
	case "date":
		return soql.KindDate
	case "datetime":
		return soql.KindDateTime
	}
	return soql.KindString
}

// labelOf turns an API name into a label: LastModifiedDate → Last Modified Date.
func labelOf(name string) string {
	name = strings.TrimSuffix(name, "__c")
	if base, ok := strings.CutSuffix(name, "Id"); ok && base != "" {
		return labelOf(base) + " ID"
	}
	var b strings.Builder
	for i, r := range name {
		if r == '_' {
			b.WriteByte(' ')
			continue
		}
		if i > 0 && r >= 'A' && r <= 'Z' {
			prev := name[i-1]
			if prev >= 'a' && prev <= 'z' {
				b.WriteByte(' ')
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

// f builds a field. flags: req (required on create), ro (read-only),
// co (create-only), ext (external id), idl (id lookup), uniq, name,
// nf (not filterable or sortable), def (defaulted on create), calc, auto,
// html, custom, nn (not nillable but not required).
func f(name, typ string, length int, flags string) *FieldDef {
	d := &FieldDef{Name: name, Type: typ, Length: length, Nillable: true, Createable: true, Updateable: true, Filterable: true, Sortable: true}
	for _, fl := range strings.Fields(flags) {
		switch fl {
		case "req":
			d.Required, d.Nillable = true, false
		case "nn":
			d.Nillable = false
		case "ro":
			d.Createable, d.Updateable = false, false
		case "co":
			d.Updateable = false
		case "ext":
			d.ExternalID, d.IDLookup, d.Unique = true, true, true
		case "idl":
			d.IDLookup = true
		case "uniq":
			d.Unique = true
		case "name":
			d.NameField = true
		case "nf":
			d.Filterable, d.Sortable = false, false
		case "def":
			d.Defaulted = true
		case "calc":
			d.Calculated = true
		case "auto":
			d.AutoNumber = true
		case "html":
			d.HTMLFormatted = true
		case "custom":
			d.Custom = true
		}
	}
	switch typ {
	case "boolean":
		d.Nillable = false
		d.Defaulted = true
	case "id":
		d.Nillable, d.Createable, d.Updateable = false, false, false
		d.IDLookup = true
	case "textarea":
		if length > 255 {
			d.Filterable, d.Sortable = false, false
		}
	}
	return d
}

func ref(name, to, rel, flags string) *FieldDef {
	d := f(name, "reference", 18, flags)
	d.ReferenceTo = []string{to}
	d.RelationshipName = rel
	return d
}

func pick(name string, values []string, def, flags string) *FieldDef {
	d := f(name, "picklist", 255, flags)
	d.Picklist = values
	d.DefaultValue = def
	if def != "" {
		d.Defaulted = true
	}
	return d
}

// systemFields are the audit fields every object carries.
func systemFields() []*FieldDef {
	return []*FieldDef{
		f("IsDeleted", "boolean", 0, "ro"),
		f("CreatedDate", "datetime", 0, "ro def nn"),
		ref("CreatedById", "User", "CreatedBy", "ro def nn"),
		f("LastModifiedDate", "datetime", 0, "ro def nn"),
		ref("LastModifiedById", "User", "LastModifiedBy", "ro def nn"),
		f("SystemModstamp", "datetime", 0, "ro def nn"),
	}
}

func object(name, label, plural, prefix string, fields ...*FieldDef) *ObjectDef {
	o := &ObjectDef{Name: name, Label: label, LabelPlural: plural, KeyPrefix: prefix,
		Createable: true, Updateable: true, Deletable: true, Queryable: true, Replicateable: true}
	o.Fields = append([]*FieldDef{f("Id", "id", 18, "")}, fields...)
	o.Fields = append(o.Fields, systemFields()...)
	o.Custom = strings.HasSuffix(name, "__c") || strings.HasSuffix(name, "__kav")
	return o
}

func readOnly(o *ObjectDef) *ObjectDef {
	o.Createable, o.Updateable, o.Deletable = false, false, false
	for _, fd := range o.Fields {
		fd.Createable, fd.Updateable = false, false
	}
	return o
}

// Standard objects' API names.
const (
	ObjOrganization            = "Organization"
	ObjUser                    = "User"
	ObjProfile                 = "Profile"
	ObjPermissionSet           = "PermissionSet"
	ObjPermissionSetAssignment = "PermissionSetAssignment"
	ObjUserPermissionAccess    = "UserPermissionAccess"
	ObjAccount                 = "Account"
	ObjContact                 = "Contact"
	ObjCase                    = "Case"
	ObjCaseComment             = "CaseComment"
	ObjKnowledge               = "Knowledge__kav"
	ObjEventLogFile            = "EventLogFile"
	ObjCaseStatus              = "CaseStatus"
	ObjRecordType              = "RecordType"
	ObjSetupAuditTrail         = "SetupAuditTrail"
	ObjLoginHistory            = "LoginHistory"
	ObjLoginEvent              = "LoginEvent"
	ObjLogoutEvent             = "LogoutEvent"
	ObjApiEvent                = "ApiEvent"
)

// rtemObject is a Real-Time Event Monitoring storage object (a big object):
// the fields every such event has, then extra. As for big objects, only
// EventDate and EventIdentifier can be filtered on and only EventDate
// sorted on.
func rtemObject(name, label, plural, prefix string, extra ...*FieldDef) *ObjectDef {
	fields := []*FieldDef{
		f("EventIdentifier", "string", 36, ""),
		f("EventDate", "datetime", 0, ""),
		ref("UserId", "User", "", "nf"),
		f("Username", "string", 80, "nf"),
		f("SourceIp", "string", 39, "nf"),
		f("SessionKey", "string", 40, "nf"),
		f("LoginKey", "string", 40, "nf"),
		f("SessionLevel", "string", 40, "nf"),
	}
	fields = append(fields, extra...)
	o := readOnly(object(name, label, plural, prefix, fields...))
	o.Replicateable = false
	for _, x := range o.Fields {
		switch x.Name {
		case "EventDate":
		case "EventIdentifier":
			x.Sortable = false
		default:
			x.Filterable, x.Sortable = false, false
		}
	}
	return o
}

func caseStatusValues() []string   { return []string{"New", "Working", "Escalated", "Closed"} }
func casePriorityValues() []string { return []string{"High", "Medium", "Low"} }
func caseOriginValues() []string   { return []string{"Phone", "Email", "Web"} }

// closedStatus reports whether a Case status counts as closed (CaseStatus.IsClosed).
func closedStatus(s string) bool { return strings.EqualFold(s, "Closed") }

// standardObjects returns fresh definitions of the emulated objects.
func standardObjects() []*ObjectDef {
	langs := []string{"en_US", "de", "fr", "es", "ja"}
	tzs := []string{"America/Los_Angeles", "America/New_York", "Europe/London", "Europe/Berlin", "GMT"}
	objs := []*ObjectDef{
		readOnly(object(ObjOrganization, "Organization", "Organizations", "00D",
			f("Name", "string", 80, "name"),
			f("Division", "string", 80, ""),
			f("InstanceName", "string", 5, ""),
			f("IsSandbox", "boolean", 0, ""),
			f("TrialExpirationDate", "datetime", 0, ""),
			f("NamespacePrefix", "string", 15, ""),
			pick("OrganizationType", []string{"Developer Edition", "Enterprise Edition", "Unlimited Edition", "Professional Edition"}, "", ""),
			f("PrimaryContact", "string", 80, ""),
			f("Country", "string", 80, ""),
			pick("LanguageLocaleKey", langs, "en_US", ""),
			pick("TimeZoneSidKey", tzs, "GMT", ""),
			f("DefaultLocaleSidKey", "string", 40, ""),
			f("MyDomain", "string", 255, ""),
		)),
		object(ObjUser, "User", "Users", "005",
			f("Username", "email", 80, "req uniq idl"),
			f("LastName", "string", 80, "req"),
			f("FirstName", "string", 40, ""),
			f("Name", "string", 121, "ro calc name"),
			f("Alias", "string", 8, "req"),
			f("CommunityNickname", "string", 40, "uniq"),
			f("Email", "email", 128, "req"),
			f("IsActive", "boolean", 0, ""),
			ref("ProfileId", "Profile", "Profile", "req"),
			ref("UserRoleId", "UserRole", "", ""),
			pick("UserType", []string{"Standard", "AutomatedProcess", "PowerPartner", "CspLitePortal"}, "Standard", "ro"),
			ref("ManagerId", "User", "Manager", ""),
			f("Department", "string", 80, ""),
			f("Title", "string", 80, ""),
			f("EmployeeNumber", "string", 20, ""),
			f("FederationIdentifier", "string", 512, "idl"),
			ref("ContactId", "Contact", "Contact", ""),
			pick("TimeZoneSidKey", tzs, "", "req"),
			f("LocaleSidKey", "string", 40, "req"),
			pick("LanguageLocaleKey", langs, "", "req"),
			f("EmailEncodingKey", "string", 40, "req"),
			f("IsFrozen", "boolean", 0, "ro"),
			f("LastLoginDate", "datetime", 0, "ro"),
		),
		readOnly(object(ObjProfile, "Profile", "Profiles", "00e",
			f("Name", "string", 255, "name"),
			f("Description", "string", 255, ""),
			pick("UserType", []string{"Standard", "PowerPartner", "CspLitePortal"}, "Standard", ""),
			f("UserLicenseId", "reference", 18, ""),
			f("PermissionsApiEnabled", "boolean", 0, ""),
			f("PermissionsViewAllData", "boolean", 0, ""),
			f("PermissionsModifyAllData", "boolean", 0, ""),
			f("PermissionsViewSetup", "boolean", 0, ""),
			f("PermissionsViewEventLogFiles", "boolean", 0, ""),
		)),
		readOnly(object(ObjPermissionSet, "Permission Set", "Permission Sets", "0PS",
			f("Name", "string", 80, "uniq"),
			f("Label", "string", 80, "name"),
			f("Description", "string", 255, ""),
			f("IsOwnedByProfile", "boolean", 0, ""),
			f("IsCustom", "boolean", 0, ""),
			ref("ProfileId", "Profile", "Profile", ""),
			f("NamespacePrefix", "string", 15, ""),
			f("PermissionsApiEnabled", "boolean", 0, ""),
			f("PermissionsViewAllData", "boolean", 0, ""),
			f("PermissionsModifyAllData", "boolean", 0, ""),
			f("PermissionsViewSetup", "boolean", 0, ""),
			f("PermissionsViewEventLogFiles", "boolean", 0, ""),
		)),
		readOnly(object(ObjPermissionSetAssignment, "Permission Set Assignment", "Permission Set Assignments", "0Pa",
			ref("AssigneeId", "User", "Assignee", ""),
			ref("PermissionSetId", "PermissionSet", "PermissionSet", ""),
			f("PermissionSetGroupId", "reference", 18, ""),
			f("IsActive", "boolean", 0, ""),
			f("ExpirationDate", "datetime", 0, ""),
		)),
		readOnly(object(ObjUserPermissionAccess, "User Permission Access", "User Permission Access", "",
			f("PermissionsApiEnabled", "boolean", 0, ""),
			f("PermissionsViewAllData", "boolean", 0, ""),
			f("PermissionsModifyAllData", "boolean", 0, ""),
			f("PermissionsViewSetup", "boolean", 0, ""),
			f("PermissionsViewEventLogFiles", "boolean", 0, ""),
			f("PermissionsManageUsers", "boolean", 0, ""),
			f("PermissionsViewAllUsers", "boolean", 0, ""),
		)),
		object(ObjAccount, "Account", "Accounts", "001",
			f("Name", "string", 255, "req name"),
			f("AccountNumber", "string", 40, ""),
			pick("Type", []string{"Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other"}, "", ""),
			pick("Industry", []string{"Agriculture", "Banking", "Education", "Healthcare", "Manufacturing", "Retail", "Technology"}, "", ""),
			f("Phone", "phone", 40, ""),
			f("Website", "url", 255, ""),
			f("BillingStreet", "textarea", 255, ""),
			f("BillingCity", "string", 40, ""),
			f("BillingState", "string", 80, ""),
			f("BillingPostalCode", "string", 20, ""),
			f("BillingCountry", "string", 80, ""),
			f("NumberOfEmployees", "int", 0, ""),
			f("AnnualRevenue", "currency", 0, ""),
			f("Description", "textarea", 32000, ""),
			ref("OwnerId", "User", "Owner", "def"),
			ref("ParentId", "Account", "Parent", ""),
			f("External_Id__c", "string", 255, "ext custom"),
		),
		object(ObjContact, "Contact", "Contacts", "003",
			ref("AccountId", "Account", "Account", ""),
			pick("Salutation", []string{"Mr.", "Ms.", "Mrs.", "Dr.", "Prof."}, "", ""),
			f("FirstName", "string", 40, ""),
			f("LastName", "string", 80, "req"),
			f("Name", "string", 121, "ro calc name"),
			f("Email", "email", 80, "idl"),
			f("Phone", "phone", 40, ""),
			f("MobilePhone", "phone", 40, ""),
			f("Title", "string", 128, ""),
			f("Department", "string", 80, ""),
			ref("ReportsToId", "Contact", "ReportsTo", ""),
			f("Birthdate", "date", 0, ""),
			f("MailingStreet", "textarea", 255, ""),
			f("MailingCity", "string", 40, ""),
			f("MailingState", "string", 80, ""),
			f("MailingPostalCode", "string", 20, ""),
			f("MailingCountry", "string", 80, ""),
			f("IsEmailBounced", "boolean", 0, ""),
			f("EmailBouncedReason", "string", 255, ""),
			ref("OwnerId", "User", "Owner", "def"),
			f("External_Id__c", "string", 255, "ext custom"),
		),
		object(ObjCase, "Case", "Cases", "500",
			f("CaseNumber", "string", 30, "ro auto idl def"),
			ref("ContactId", "Contact", "Contact", ""),
			ref("AccountId", "Account", "Account", ""),
			ref("ParentId", "Case", "Parent", ""),
			f("SuppliedName", "string", 80, ""),
			f("SuppliedEmail", "email", 80, ""),
			f("SuppliedPhone", "string", 40, ""),
			f("SuppliedCompany", "string", 80, ""),
			pick("Type", []string{"Mechanical", "Electrical", "Electronic", "Structural", "Other"}, "", ""),
			pick("Status", caseStatusValues(), "New", ""),
			pick("Reason", []string{"Installation", "Equipment Complexity", "Performance", "Breakdown", "Equipment Design", "Feedback", "Other"}, "", ""),
			pick("Origin", caseOriginValues(), "", ""),
			pick("Language", langs, "", ""),
			f("Subject", "string", 255, ""),
			pick("Priority", casePriorityValues(), "Medium", ""),
			f("Description", "textarea", 32000, ""),
			f("IsClosed", "boolean", 0, "ro"),
			f("ClosedDate", "datetime", 0, "ro"),
			f("IsEscalated", "boolean", 0, ""),
			ref("OwnerId", "User", "Owner", "def"),
			f("ContactPhone", "phone", 40, "ro"),
			f("ContactMobile", "phone", 40, "ro"),
			f("ContactEmail", "email", 80, "ro"),
			f("Comments", "textarea", 4000, ""),
			f("External_Id__c", "string", 255, "ext custom"),
			ref("RecordTypeId", "RecordType", "RecordType", ""),
		),
		object(ObjCaseComment, "Case Comment", "Case Comments", "00a",
			ref("ParentId", "Case", "Parent", "req co"),
			f("IsPublished", "boolean", 0, ""),
			f("CommentBody", "textarea", 4000, ""),
			f("IsNotificationSelected", "boolean", 0, ""),
		),
		object(ObjKnowledge, "Knowledge", "Knowledge", "ka0",
			f("KnowledgeArticleId", "reference", 18, "ro"),
			f("ArticleNumber", "string", 30, "ro auto"),
			f("Title", "string", 255, "req name"),
			f("UrlName", "string", 255, "req"),
			f("Summary", "textarea", 1000, "nf"),
			pick("Language", langs, "en_US", "co"),
			pick("PublishStatus", []string{"Draft", "Online", "Archived"}, "Draft", "ro"),
			f("VersionNumber", "int", 0, "ro"),
			f("IsLatestVersion", "boolean", 0, "ro"),
			f("IsVisibleInApp", "boolean", 0, ""),
			f("IsVisibleInPkb", "boolean", 0, ""),
			f("IsVisibleInCsp", "boolean", 0, ""),
			f("IsVisibleInPrm", "boolean", 0, ""),
			pick("ValidationStatus", []string{"Not Validated", "Validated"}, "Not Validated", ""),
			f("FirstPublishedDate", "datetime", 0, "ro"),
			f("LastPublishedDate", "datetime", 0, "ro"),
			f("ArchivedDate", "datetime", 0, "ro"),
			f("ArticleTotalViewCount", "int", 0, "ro"),
			f("IsMasterLanguage", "boolean", 0, "ro"),
			f("Answer__c", "textarea", 32768, "html custom"),
		),
		readOnly(object(ObjRecordType, "Record Type", "Record Types", "012",
			f("Name", "string", 80, "name"),
			f("DeveloperName", "string", 80, ""),
			f("SobjectType", "string", 40, ""),
			f("Description", "string", 255, ""),
			f("IsActive", "boolean", 0, ""),
		)),
		readOnly(object(ObjCaseStatus, "Case Status Value", "Case Status Values", "01J",
			f("ApiName", "string", 255, ""),
			f("MasterLabel", "string", 255, "name"),
			f("IsClosed", "boolean", 0, ""),
			f("IsDefault", "boolean", 0, ""),
			f("SortOrder", "int", 0, ""),
		)),
		readOnly(object(ObjEventLogFile, "Event Log File", "Event Log Files", "0AT",
			pick("EventType", nil, "", ""),
			f("LogDate", "datetime", 0, ""),
			f("LogFileLength", "double", 0, ""),
			pick("Interval", []string{"Daily", "Hourly"}, "", ""),
			f("Sequence", "int", 0, ""),
			f("LogFile", "base64", 0, "nf"),
			f("LogFileContentType", "string", 255, ""),
			f("LogFileFieldNames", "string", 1333, "nf"),
			f("LogFileFieldTypes", "string", 1333, "nf"),
			f("ApiVersion", "double", 0, ""),
		)),
		// Setup Audit Trail: setup changes, kept 180 days.
		readOnly(object(ObjSetupAuditTrail, "Setup Audit Trail", "Setup Audit Trail", "0Ym",
			f("Action", "string", 255, ""),
			f("Section", "string", 255, ""),
			f("Display", "string", 1000, ""),
			f("DelegateUser", "string", 80, ""),
			f("CreatedByContext", "string", 255, ""),
			f("CreatedByIssuer", "string", 255, ""),
			f("ResponsibleNamespacePrefix", "string", 15, ""),
		)),
		// Login History: every login attempt, kept six months.
		readOnly(object(ObjLoginHistory, "Login History", "Login History", "0Ya",
			ref("UserId", "User", "", ""),
			f("LoginTime", "datetime", 0, ""),
			f("LoginType", "string", 40, ""),
			f("SourceIp", "string", 39, ""),
			f("LoginUrl", "string", 255, ""),
			f("Status", "string", 128, ""),
			f("Application", "string", 255, ""),
			f("Browser", "string", 64, ""),
			f("Platform", "string", 64, ""),
			f("ApiType", "string", 64, ""),
			f("ApiVersion", "string", 32, ""),
			f("ClientVersion", "string", 64, ""),
			f("TlsProtocol", "string", 32, ""),
			f("CipherSuite", "string", 64, ""),
			f("CountryIso", "string", 2, ""),
			f("LoginGeoId", "string", 18, ""),
			f("AuthenticationServiceId", "string", 18, ""),
			f("AuthMethodReference", "string", 64, ""),
			f("LoginSubType", "string", 64, ""),
			f("ForwardedForIp", "string", 39, ""),
		)),
		rtemObject(ObjLoginEvent, "Login Event", "Login Events", "0Yn",
			f("LoginType", "string", 40, "nf"), f("LoginSubType", "string", 64, "nf"), f("LoginUrl", "string", 255, "nf"),
			f("Status", "string", 128, "nf"), f("Application", "string", 255, "nf"), f("Browser", "string", 64, "nf"),
			f("Platform", "string", 64, "nf"), f("TlsProtocol", "string", 32, "nf"), f("CipherSuite", "string", 64, "nf"),
			f("Country", "string", 64, "nf"), f("City", "string", 64, "nf"), f("CountryIso", "string", 2, "nf"),
			f("LoginLatitude", "double", 0, "nf"), f("LoginLongitude", "double", 0, "nf"), f("LoginGeoId", "string", 18, "nf"),
			f("LoginHistoryId", "string", 18, "nf"), f("AuthMethodReference", "string", 64, "nf"), f("AdditionalInfo", "string", 1000, "nf"),
			f("PolicyId", "string", 18, "nf"), f("PolicyOutcome", "string", 40, "nf"), f("EvaluationTime", "double", 0, "nf"),
			f("ApiType", "string", 64, "nf"), f("ApiVersion", "string", 32, "nf"), f("HttpMethod", "string", 10, "nf"),
		),
		rtemObject(ObjLogoutEvent, "Logout Event", "Logout Events", "0Yo",
			f("SessionType", "string", 40, "nf"),
		),
		rtemObject(ObjApiEvent, "API Event", "API Events", "0Yp",
			f("ApiType", "string", 64, "nf"), f("ApiVersion", "string", 32, "nf"), f("Application", "string", 255, "nf"),
			f("Client", "string", 255, "nf"), f("Operation", "string", 64, "nf"), f("QueriedEntities", "string", 255, "nf"),
			f("Query", "string", 32000, "nf"), f("RowsProcessed", "double", 0, "nf"), f("RowsReturned", "double", 0, "nf"),
			f("Records", "string", 32000, "nf"), f("ElapsedTime", "double", 0, "nf"), f("Platform", "string", 64, "nf"),
			f("UserAgent", "string", 255, "nf"), f("LoginHistoryId", "string", 18, "nf"), f("PolicyId", "string", 18, "nf"),
			f("PolicyOutcome", "string", 40, "nf"), f("EvaluationTime", "double", 0, "nf"), f("AdditionalInfo", "string", 1000, "nf"),
		),
	}
	objs = append(objs, messagingObjects()...)
	for _, o := range objs {
		switch o.Name {
		case ObjCase:
			o.Children = []ChildRelationship{{Name: "CaseComments", ChildSObject: ObjCaseComment, Field: "ParentId", CascadeDelete: true}, {Name: "Cases", ChildSObject: ObjCase, Field: "ParentId"}}
		case ObjAccount:
			o.Children = []ChildRelationship{{Name: "Contacts", ChildSObject: ObjContact, Field: "AccountId"}, {Name: "Cases", ChildSObject: ObjCase, Field: "AccountId"}, {Name: "ChildAccounts", ChildSObject: ObjAccount, Field: "ParentId"}}
		case ObjContact:
			o.Children = []ChildRelationship{{Name: "Cases", ChildSObject: ObjCase, Field: "ContactId"}}
		case ObjUser:
			o.Children = []ChildRelationship{{Name: "PermissionSetAssignments", ChildSObject: ObjPermissionSetAssignment, Field: "AssigneeId"}}
		case ObjPermissionSet:
			o.Children = []ChildRelationship{{Name: "Assignments", ChildSObject: ObjPermissionSetAssignment, Field: "PermissionSetId"}}
		case ObjUserPermissionAccess:
			o.Replicateable = false
		}
		o.finish()
	}
	return objs
}
