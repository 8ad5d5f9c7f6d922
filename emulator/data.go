package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/sfbridge/sfbridge/emulator/data"
	"github.com/sfbridge/sfbridge/emulator/internal/httpjson"
	"github.com/sfbridge/sfbridge/emulator/sfid"
)

// dataLayer is the data API (package emulator/data) the org delegates to,
// and the bookkeeping that mirrors the org model into its store.
type dataLayer struct {
	store *data.Store
	api   http.Handler

	syncMu      sync.Mutex
	assignments map[string]sfid.ID // userID|permSetID → PermissionSetAssignment id
}

// Store returns the org's record store, for loading or generating records.
func (o *Org) Store() *data.Store { return o.data.store }

// initData creates the store and the data API, mirrors the org model into
// the store and loads the fixture's records.
func (o *Org) initData(f *Fixture) error {
	store, err := data.NewStore(data.StoreOptions{IDs: o.ids, Now: o.Now, OrgID: o.OrgID()})
	if err != nil {
		return fmt.Errorf("emulator: data store: %w", err)
	}
	o.data.store = store
	o.data.api = data.NewAPI(store, data.APIOptions{})
	o.data.assignments = map[string]sfid.ID{}
	if err := o.syncSetup(); err != nil {
		return fmt.Errorf("emulator: mirror the org into the data store: %w", err)
	}
	if _, err := o.insertRecords(f.Records); err != nil {
		return fmt.Errorf("emulator: fixture records: %w", err)
	}
	return nil
}

// recordOrder inserts parents before the children that refer to them.
var recordOrder = []string{"Account", "Contact", "Case", "CaseComment", "Knowledge__kav", "EventLogFile"}

// insertRecords inserts records by object; a record's "Id" is kept.
func (o *Org) insertRecords(recs map[string][]map[string]any) ([]string, error) {
	objects := make([]string, 0, len(recs))
	for obj := range recs {
		objects = append(objects, obj)
	}
	rank := func(s string) int {
		for i, n := range recordOrder {
			if strings.EqualFold(n, s) {
				return i
			}
		}
		return len(recordOrder)
	}
	sort.SliceStable(objects, func(i, j int) bool {
		if ri, rj := rank(objects[i]), rank(objects[j]); ri != rj {
			return ri < rj
		}
		return objects[i] < objects[j]
	})
	var ids []string
	for _, obj := range objects {
		for i, rec := range recs[obj] {
			fields := make(map[string]any, len(rec))
			var id sfid.ID
			for k, v := range rec {
				switch {
				case strings.EqualFold(k, "attributes"):
				case strings.EqualFold(k, "Id"):
					s, _ := v.(string)
					parsed, err := sfid.Parse(s)
					if err != nil {
						return ids, fmt.Errorf("%s record %d: %w", obj, i+1, err)
					}
					id = parsed
				default:
					fields[k] = v
				}
			}
			newID, err := o.data.store.Insert(obj, id, fields)
			if err != nil {
				return ids, fmt.Errorf("%s record %d: %w", obj, i+1, err)
			}
			ids = append(ids, string(newID))
		}
	}
	return ids, nil
}

// syncSetupRecords mirrors the org model after a change made through the
// admin API or the Go API. The model is the source of truth; a failure
// here can only come from a schema mismatch and is logged.
func (o *Org) syncSetupRecords() {
	if err := o.syncSetup(); err != nil {
		o.log.Error("emulator: mirror the org into the data store", "err", err)
	}
}

// holderFields are the Permissions* fields of a profile or permission set.
func holderFields(h *permissionHolder) map[string]any {
	m := map[string]any{}
	for _, p := range []string{"ApiEnabled", "ViewAllData", "ModifyAllData", "ViewSetup", "ViewEventLogFiles"} {
		m["Permissions"+p] = h.has(p)
	}
	return m
}

// syncSetup writes Organization, Profile, PermissionSet (including each
// profile's own), User and PermissionSetAssignment records into the store.
func (o *Org) syncSetup() error {
	o.data.syncMu.Lock()
	defer o.data.syncMu.Unlock()
	type rec struct {
		object string
		id     sfid.ID
		fields map[string]any
	}
	var recs []rec
	var active []string

	o.mu.RLock()
	org := o.m.org
	var ns any
	if org.NamespacePrefix != "" {
		ns = org.NamespacePrefix
	}
	recs = append(recs, rec{"Organization", org.ID, map[string]any{
		"Name": org.Name, "InstanceName": org.InstanceName, "IsSandbox": org.Sandbox, "TrialExpirationDate": nil,
		"NamespacePrefix": ns, "OrganizationType": org.OrganizationType, "LanguageLocaleKey": "en_US",
		"TimeZoneSidKey": "GMT", "DefaultLocaleSidKey": "en_US", "MyDomain": org.myDomainURL(),
	}})
	for _, p := range sortedValues(o.m.profiles) {
		f := holderFields(&p.permissionHolder)
		f["Name"] = p.Name
		recs = append(recs, rec{"Profile", p.ID, f})
	}
	for _, p := range sortedValues(o.m.profiles) {
		f := holderFields(&p.permissionHolder)
		f["Name"] = "X" + p.ID.Short()
		f["Label"] = p.Name
		f["IsOwnedByProfile"] = true
		f["IsCustom"] = false
		f["ProfileId"] = string(p.ID)
		recs = append(recs, rec{"PermissionSet", p.OwnedSet, f})
	}
	for _, ps := range sortedValues(o.m.permSets) {
		f := holderFields(&ps.permissionHolder)
		f["Name"] = ps.Name
		f["Label"] = ps.Label
		f["IsOwnedByProfile"] = false
		f["IsCustom"] = true
		recs = append(recs, rec{"PermissionSet", ps.ID, f})
	}
	users := sortedValues(o.m.users)
	for _, u := range users {
		alias := strings.ToLower(nickname(u.Username))
		if len(alias) > 8 {
			alias = alias[:8]
		}
		recs = append(recs, rec{"User", u.ID, map[string]any{
			"Username": u.Username, "FirstName": nilIfEmpty(u.FirstName), "LastName": u.LastName, "Email": u.Email,
			"Alias": alias, "IsActive": u.Active, "IsFrozen": u.Frozen, "ProfileId": string(u.Profile.ID),
			"TimeZoneSidKey": u.TimeZone, "LocaleSidKey": "en_US", "LanguageLocaleKey": "en_US", "EmailEncodingKey": "UTF-8",
		}})
	}
	for _, u := range users {
		sets := []sfid.ID{u.Profile.OwnedSet}
		for _, ps := range u.PermSets {
			sets = append(sets, ps.ID)
		}
		for _, set := range sets {
			key := string(u.ID) + "|" + string(set)
			id, ok := o.data.assignments[key]
			if !ok {
				id = o.ids.New(prefixAssignment)
				o.data.assignments[key] = id
			}
			active = append(active, key)
			recs = append(recs, rec{"PermissionSetAssignment", id, map[string]any{
				"AssigneeId": string(u.ID), "PermissionSetId": string(set), "IsActive": true}})
		}
	}
	o.mu.RUnlock()

	// Assignments that no longer exist become inactive.
	for key, id := range o.data.assignments {
		if !slices.Contains(active, key) {
			recs = append(recs, rec{"PermissionSetAssignment", id, map[string]any{"IsActive": false}})
		}
	}
	for _, r := range recs {
		if err := storeErr(o.data.store.Upsert(r.object, r.id, r.fields)); err != nil {
			return fmt.Errorf("%s %s: %w", r.object, r.id, err)
		}
	}
	return nil
}

// storeErr turns a nil *data.Error held in an error interface into nil.
func storeErr(err error) error {
	var de *data.Error
	if errors.As(err, &de) && de == nil {
		return nil
	}
	return err
}

func sortedValues[T any](m map[string]T) []T {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]T, 0, len(m))
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// principal is the data layer's view of the caller.
func (c caller) principal() *data.Principal {
	eff := c.eff
	perms := make(map[string]bool, len(eff.names))
	for n := range eff.names {
		perms[n] = true
	}
	return &data.Principal{
		UserID: c.userID,
		OrgID:  c.orgID,
		Object: func(name string) data.ObjectAccess {
			p := eff.objects[strings.ToLower(name)]
			return data.ObjectAccess{Read: p.Read, Create: p.Create, Edit: p.Edit, Delete: p.Delete, ViewAll: p.ViewAll, ModifyAll: p.ModifyAll}
		},
		ViewAllData:   eff.has("viewalldata"),
		ModifyAllData: eff.has("modifyalldata"),
		Permissions:   perms,
	}
}

// serveData delegates /services/data/vNN.N/<rest> to the data layer, with
// the caller as its Principal and the version prefix removed.
func (o *Org) serveData(w http.ResponseWriter, r *http.Request, c caller, version, rest string) {
	o.activityTick(r.Context())
	ctx := data.WithPrincipal(r.Context(), c.principal())
	ctx = data.WithAPIVersion(ctx, version)
	r2 := r.WithContext(ctx)
	u := *r.URL
	u.Path = "/" + rest
	u.RawPath = ""
	r2.URL = &u
	o.data.api.ServeHTTP(w, r2)
}

// adminAddRecords inserts records of one object: a JSON object or an array
// of them; "Id" is kept when given.
func (o *Org) adminAddRecords(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		writeAdminError(w, http.StatusBadRequest, "read body: %v", err)
		return
	}
	var list []map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		var one map[string]any
		err = dec.Decode(&one)
		list = []map[string]any{one}
	} else {
		err = dec.Decode(&list)
	}
	if err != nil {
		writeAdminError(w, http.StatusBadRequest, "body is not a JSON record or array of records: %v", err)
		return
	}
	obj, _ := url.PathUnescape(r.PathValue("sobject"))
	ids, err := o.insertRecords(map[string][]map[string]any{obj: list})
	if err != nil {
		writeAdminError(w, http.StatusBadRequest, "%v", err)
		return
	}
	httpjson.Write(w, http.StatusCreated, map[string]any{"ids": ids})
}
