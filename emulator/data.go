package emulator

import (
	"net/http"
)

// dataLayer is the data API (package emulator/data) the org delegates to.
type dataLayer struct {
	api http.Handler
}

// initData prepares the data layer. Without package emulator/data the org
// serves no data resources.
func (o *Org) initData(*Fixture) error { return nil }

// syncSetupRecords writes the setup objects (Organization, User, Profile,
// PermissionSet, PermissionSetAssignment) into the data layer's store.
func (o *Org) syncSetupRecords() {}

// serveData delegates /services/data/vNN.N/<rest> to the data layer; without
// one every data resource is Salesforce's 404 NOT_FOUND.
func (o *Org) serveData(w http.ResponseWriter, r *http.Request, c caller, version, rest string) {
	if o.data.api == nil {
		writeJSONBytes(w, http.StatusNotFound, bodyNotFound)
		return
	}
	o.data.api.ServeHTTP(w, r)
}

func (o *Org) adminAddRecords(w http.ResponseWriter, r *http.Request) {
	writeAdminError(w, http.StatusNotImplemented, "this build has no data layer, so records cannot be added")
}
