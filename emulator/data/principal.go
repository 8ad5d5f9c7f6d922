package data

import (
	"context"

	"github.com/sfbridge/sfbridge/emulator/sfid"
)

// ObjectAccess is a user's object permissions on one sObject type.
type ObjectAccess struct{ Read, Create, Edit, Delete, ViewAll, ModifyAll bool }

// Principal is the authenticated caller of the data API.
type Principal struct {
	UserID sfid.ID
	OrgID  sfid.ID
	// Object returns the caller's access to an object (from profile +
	// permission sets). Nil means no object permissions.
	Object                     func(apiName string) ObjectAccess
	ViewAllData, ModifyAllData bool
	// Permissions holds the caller's other system permissions by name
	// without the "Permissions" prefix (ApiEnabled, ViewSetup,
	// ViewEventLogFiles, …); the UserPermissionAccess object reports them.
	Permissions map[string]bool
}

type principalKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal WithPrincipal stored in ctx.
func PrincipalFrom(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}

// Access returns the caller's effective access to object, folding in View
// All Data and Modify All Data, the objects every user may read, and the
// objects whose access derives from a parent (CaseComment from Case: adding
// a comment needs Edit on Case), and the setup objects that View Setup and
// Configuration or View Event Log Files open.
func (p *Principal) Access(object string) ObjectAccess {
	switch object {
	case ObjCaseComment:
		object = ObjCase
	case ObjOrganization, ObjUserPermissionAccess, ObjProfile, ObjCaseStatus, ObjRecordType:
		return ObjectAccess{Read: true}
	}
	var a ObjectAccess
	if p.Object != nil {
		a = p.Object(object)
	}
	switch object {
	case ObjUser:
		a.Read = true
	case ObjPermissionSet, ObjPermissionSetAssignment:
		// Readable with View Setup and Configuration (Summer '20 and later).
		a.Read = a.Read || p.Permissions["ViewSetup"]
	case ObjEventLogFile:
		a.Read = a.Read || p.Permissions["ViewEventLogFiles"]
	case ObjSetupAuditTrail:
		a.Read = a.Read || p.Permissions["ViewSetup"]
	case ObjLoginHistory:
		a.Read = a.Read || p.Permissions["ManageUsers"]
	case ObjLoginEvent, ObjLogoutEvent, ObjApiEvent:
		a.Read = a.Read || p.Permissions["ViewRealTimeEventMonitoringData"]
	}
	if p.ViewAllData || a.ViewAll || a.ModifyAll || p.ModifyAllData {
		a.Read = true
	}
	if p.ModifyAllData || a.ModifyAll {
		a = ObjectAccess{Read: true, Create: true, Edit: true, Delete: true, ViewAll: true, ModifyAll: true}
	}
	if !a.Read {
		return ObjectAccess{}
	}
	return a
}
