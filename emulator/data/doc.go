// Package data is the emulated org's data layer: an in-memory Store of the
// standard objects (Organization, User, Profile, PermissionSet,
// PermissionSetAssignment, UserPermissionAccess, Account, Contact, Case,
// CaseComment, CaseStatus, Knowledge__kav, EventLogFile) with their
// describe metadata, system fields and soft delete, and NewAPI, the handler
// for the REST data endpoints below /services/data/vNN.N/: query, queryAll
// and query locators, tooling/query, sobjects (describe, CRUD, upsert,
// updated, deleted), composite and composite/sobjects.
//
// The caller of the API is a Principal put in the request context with
// WithPrincipal; its object permissions decide what it may query, describe,
// create, edit and delete, and the refusals are Salesforce's.
package data
