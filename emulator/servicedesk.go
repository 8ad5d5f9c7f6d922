package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/sfbridge/sfbridge/emulator/data"
	"github.com/sfbridge/sfbridge/emulator/internal/httpjson"
	"github.com/sfbridge/sfbridge/emulator/sfid"
)

// ServiceDeskSettings are the emulated org's Service Cloud behaviours:
// the commit delay of API writes (see data.Store.SetCommitDelay) and the
// active case assignment rule run by Sforce-Auto-Assign.
type ServiceDeskSettings struct {
	// CommitDelay is a Go duration ("5s"); "" or "0s" commits at once.
	CommitDelay     string                `json:"commit_delay"`
	AssignmentRules []data.AssignmentRule `json:"assignment_rules"`
}

// ServiceDesk returns the current settings.
func (o *Org) ServiceDesk() ServiceDeskSettings {
	s := o.Store()
	return ServiceDeskSettings{CommitDelay: s.CommitDelay().String(), AssignmentRules: s.AssignmentRules()}
}

// SetServiceDesk replaces the settings.
func (o *Org) SetServiceDesk(v ServiceDeskSettings) error {
	var d time.Duration
	if v.CommitDelay != "" {
		var err error
		if d, err = time.ParseDuration(v.CommitDelay); err != nil || d < 0 {
			return fmt.Errorf("commit_delay %q is not a non-negative Go duration such as 5s", v.CommitDelay)
		}
	}
	for i, r := range v.AssignmentRules {
		if len(r.OwnerID) != 15 && len(r.OwnerID) != 18 {
			return fmt.Errorf("assignment_rules[%d].owner_id %q is not a user (005…) or queue (00G…) id", i, r.OwnerID)
		}
	}
	s := o.Store()
	s.SetCommitDelay(d)
	s.SetAssignmentRules(v.AssignmentRules)
	return nil
}

// UndeleteRecord restores a record (and a Case's comments deleted with it)
// from the recycle bin as the org's first user with full rights.
func (o *Org) UndeleteRecord(ctx context.Context, object, id string) error {
	ctx = data.WithPrincipal(ctx, &data.Principal{OrgID: o.OrgID(), ModifyAllData: true, ViewAllData: true})
	return o.Store().Undelete(ctx, object, id)
}

func (o *Org) serviceDeskRoutes(m *http.ServeMux, p string) {
	o.deskActivityRoutes(m, p)
	o.activityRoutes(m, p)
	m.HandleFunc("GET "+p+"/servicedesk", func(w http.ResponseWriter, _ *http.Request) { httpjson.Write(w, http.StatusOK, o.ServiceDesk()) })
	m.HandleFunc("PUT "+p+"/servicedesk", func(w http.ResponseWriter, r *http.Request) {
		var v ServiceDeskSettings
		if err := decodeStrict(r.Body, &v); err != nil {
			writeAdminError(w, http.StatusBadRequest, "body: %v", err)
			return
		}
		if err := o.SetServiceDesk(v); err != nil {
			writeAdminError(w, http.StatusBadRequest, "%v", err)
			return
		}
		httpjson.Write(w, http.StatusOK, o.ServiceDesk())
	})
	m.HandleFunc("POST "+p+"/records/{sobject}/{id}/undelete", func(w http.ResponseWriter, r *http.Request) {
		obj, _ := url.PathUnescape(r.PathValue("sobject"))
		if err := o.UndeleteRecord(r.Context(), obj, r.PathValue("id")); err != nil {
			writeAdminError(w, http.StatusBadRequest, "%v", err)
			return
		}
		httpjson.Write(w, http.StatusOK, json.RawMessage(`{"undeleted":true}`))
	})
}

// AddRecordType adds an active record type of object (for example a Case
// record type "IT_Request" labelled "IT Request") and returns its id.
func (o *Org) AddRecordType(object, developerName, label string) (sfid.ID, error) {
	if object == "" || developerName == "" {
		return "", fmt.Errorf("a record type needs an object and a developer name")
	}
	if label == "" {
		label = developerName
	}
	return o.Store().Insert(data.ObjRecordType, "", map[string]any{"SobjectType": object, "DeveloperName": developerName, "Name": label, "IsActive": true})
}
