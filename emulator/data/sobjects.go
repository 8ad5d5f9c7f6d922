package data

import (
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sfbridge/sfbridge/emulator/internal/httpjson"
	"github.com/sfbridge/sfbridge/emulator/sfid"
	"github.com/sfbridge/sfbridge/emulator/soql"
)

func (c *call) sobjects(seg []string) {
	if len(seg) == 0 {
		if c.method != http.MethodGet && c.method != http.MethodHead {
			c.methodNotAllowed("HEAD", "GET")
			return
		}
		c.globalDescribe()
		return
	}
	t, access, ok := c.readable(seg[0])
	if !ok {
		return
	}
	def := t.def
	switch {
	case len(seg) == 1:
		switch c.method {
		case http.MethodGet, http.MethodHead:
			httpjson.Write(c.w, http.StatusOK, map[string]any{"objectDescribe": c.describeSummary(def, access), "recentItems": []any{}})
		case http.MethodPost:
			c.create(def.Name)
		default:
			c.methodNotAllowed("HEAD", "GET", "POST")
		}
	case len(seg) == 2 && seg[1] == "describe":
		if c.method != http.MethodGet && c.method != http.MethodHead {
			c.methodNotAllowed("HEAD", "GET")
			return
		}
		if since, err := http.ParseTime(c.r.Header.Get("If-Modified-Since")); err == nil && !c.s.schemaTime.After(since) {
			c.w.WriteHeader(http.StatusNotModified)
			return
		}
		c.w.Header().Set("Last-Modified", c.s.schemaTime.UTC().Format(http.TimeFormat))
		httpjson.Write(c.w, http.StatusOK, c.describe(def, access))
	case len(seg) == 2 && (seg[1] == "updated" || seg[1] == "deleted"):
		c.changes(t, seg[1] == "deleted")
	case len(seg) == 2:
		c.record(def.Name, seg[1])
	case len(seg) == 3:
		c.byExternalID(def, seg[1], seg[2])
	default:
		writeErr(c.w, notFound())
	}
}

func (c *call) create(object string) {
	var body map[string]any
	if e := c.readBody(&body); e != nil {
		writeErr(c.w, e)
		return
	}
	id, err := c.s.Create(withAutoAssign(c.r.Context(), c.r.Header), object, body)
	if err != nil {
		writeErr(c.w, err)
		return
	}
	c.w.Header().Set("Location", c.recordURL(object, string(id)))
	httpjson.Write(c.w, http.StatusCreated, map[string]any{"id": id, "success": true, "errors": []any{}})
}

func (c *call) record(object, id string) {
	switch c.method {
	case http.MethodGet, http.MethodHead:
		var fields []string
		if f := c.r.URL.Query().Get("fields"); f != "" {
			fields = strings.Split(f, ",")
		}
		b, err := c.s.retrieveJSON(c.p, object, id, fields, c.version)
		if err != nil {
			writeErr(c.w, err)
			return
		}
		httpjson.WriteBytes(c.w, http.StatusOK, b)
	case http.MethodPatch:
		var body map[string]any
		if e := c.readBody(&body); e != nil {
			writeErr(c.w, e)
			return
		}
		if err := c.s.Update(c.r.Context(), object, id, body); err != nil {
			writeErr(c.w, err)
			return
		}
		c.w.WriteHeader(http.StatusNoContent)
	case http.MethodDelete:
		if err := c.s.Delete(c.r.Context(), object, id); err != nil {
			writeErr(c.w, err)
			return
		}
		c.w.WriteHeader(http.StatusNoContent)
	default:
		c.methodNotAllowed("HEAD", "GET", "PATCH", "DELETE")
	}
}

// retrieveJSON renders one record with the given fields (all fields when
// none are given), as GET /sobjects/{T}/{id} does.
func (s *Store) retrieveJSON(p *Principal, object, id string, fields []string, version string) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, _, e := s.readable(p, object)
	if e != nil {
		return nil, e
	}
	r, e := s.recordFor(t, id)
	if e != nil {
		if e.Errors[0].ErrorCode == "ENTITY_IS_DELETED" {
			return nil, notFound()
		}
		return nil, e
	}
	fds := slices.DeleteFunc(slices.Clone(t.def.Fields), func(fd *FieldDef) bool { return fd.hidden.Load() })
	if len(fields) > 0 {
		fds = nil
		for _, name := range fields {
			fd, ok := t.def.Field(strings.TrimSpace(name))
			if !ok || fd.hidden.Load() {
				return nil, badRequest("INVALID_FIELD", soql.NoSuchColumnMessage(strings.TrimSpace(name), t.def.Name))
			}
			fds = append(fds, fd)
		}
	}
	enc := &encoder{s: s, version: version}
	enc.attributes(t.def.Name, r.id())
	for _, fd := range fds {
		enc.b = append(enc.b, ',')
		enc.b = appendJSONString(enc.b, fd.Name)
		enc.b = append(enc.b, ':')
		if fd.Type == "base64" {
			enc.blobURL(t.def.Name, r.id(), fd.Name)
			continue
		}
		enc.value(fd, r.Get(fd.index))
	}
	enc.b = append(enc.b, '}')
	return enc.b, nil
}

// byExternalID serves /sobjects/{T}/{field}/{value}: GET retrieves, PATCH
// upserts, DELETE deletes the record whose external id field matches.
func (c *call) byExternalID(def *ObjectDef, field, value string) {
	fd, ok := def.Field(field)
	if !ok || (!fd.ExternalID && !fd.IDLookup) {
		writeErr(c.w, newErr(http.StatusNotFound, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: "+field))
		return
	}
	c.s.mu.RLock()
	matches := c.s.matchField(def.Name, fd, value)
	c.s.mu.RUnlock()
	if len(matches) > 1 {
		urls := make([]string, len(matches))
		for i, id := range matches {
			urls[i] = c.recordURL(def.Name, id)
		}
		httpjson.Write(c.w, http.StatusMultipleChoices, urls)
		return
	}
	switch c.method {
	case http.MethodGet, http.MethodHead, http.MethodDelete:
		if len(matches) == 0 {
			writeErr(c.w, notFound())
			return
		}
		c.record(def.Name, matches[0])
	case http.MethodPatch, http.MethodPost:
		var body map[string]any
		if e := c.readBody(&body); e != nil {
			writeErr(c.w, e)
			return
		}
		if len(matches) == 1 {
			delete(body, fd.Name)
			if err := c.s.Update(c.r.Context(), def.Name, matches[0], body); err != nil {
				writeErr(c.w, err)
				return
			}
			httpjson.Write(c.w, http.StatusOK, map[string]any{"id": matches[0], "success": true, "errors": []any{}, "created": false})
			return
		}
		if c.r.URL.Query().Get("updateOnly") == "true" {
			writeErr(c.w, notFound())
			return
		}
		if fd.Name != "Id" {
			body[fd.Name] = value
		}
		id, err := c.s.Create(c.r.Context(), def.Name, body)
		if err != nil {
			writeErr(c.w, err)
			return
		}
		httpjson.Write(c.w, http.StatusCreated, map[string]any{"id": id, "success": true, "errors": []any{}, "created": true})
	default:
		c.methodNotAllowed("HEAD", "GET", "PATCH", "DELETE")
	}
}

// matchField returns the ids of live records whose field equals value.
func (s *Store) matchField(object string, fd *FieldDef, value string) []string {
	t := s.tables[strings.ToLower(object)]
	if fd.Name == "Id" {
		id, err := sfid.Parse(value)
		if err != nil {
			return nil
		}
		if r := s.lookup(t, string(id)); r != nil && r.Get(deletedIndex(t.def)) == false {
			return []string{r.id()}
		}
		return nil
	}
	var out []string
	del := deletedIndex(t.def)
	for _, r := range t.recs {
		if v, ok := r.Get(fd.index).(string); ok && strings.EqualFold(v, value) && r.Get(del) == false {
			out = append(out, r.id())
		}
	}
	return out
}

// changes serves /updated and /deleted: the ids changed or deleted in
// [start, end), with latestDateCovered (and earliestDateAvailable).
func (c *call) changes(t *table, deleted bool) {
	if c.method != http.MethodGet {
		c.methodNotAllowed("GET")
		return
	}
	q := c.r.URL.Query()
	start, ok1 := soql.ParseDateTime(q.Get("start"))
	end, ok2 := soql.ParseDateTime(q.Get("end"))
	if !ok1 || !ok2 {
		writeErr(c.w, badRequest("INVALID_REPLICATION_DATE", "start and end must be dateTime values such as 2026-11-20T10:00:00+00:00"))
		return
	}
	if !start.Before(end) {
		writeErr(c.w, badRequest("INVALID_REPLICATION_DATE", "startDate must chronologically precede endDate by more than one minute"))
		return
	}
	now := c.s.now().UTC()
	if !deleted && start.Before(now.AddDate(0, 0, -30)) {
		writeErr(c.w, badRequest("INVALID_REPLICATION_DATE", "startDate cannot be more than 30 days ago"))
		return
	}
	covered := end
	if covered.After(now) {
		covered = now
	}
	covered = covered.Truncate(time.Minute)
	lo, hi := soql.DateTimeOf(start), soql.DateTimeOf(covered)
	c.s.mu.RLock()
	defer c.s.mu.RUnlock()
	if !t.def.Replicateable {
		writeErr(c.w, badRequest("INVALID_TYPE", "The object "+t.def.Name+" is not replicateable"))
		return
	}
	if deleted {
		type rec struct {
			ID          string `json:"id"`
			DeletedDate string `json:"deletedDate"`
		}
		out := []rec{}
		earliest := covered
		for _, d := range t.deletes {
			if dt := d.when.Time(); dt.Before(earliest) {
				earliest = dt
			}
			if d.when >= lo && d.when < hi {
				out = append(out, rec{ID: d.id, DeletedDate: formatDateTime(d.when)})
			}
		}
		httpjson.Write(c.w, http.StatusOK, map[string]any{"deletedRecords": out, "earliestDateAvailable": formatDateTime(soql.DateTimeOf(earliest.Truncate(time.Minute))), "latestDateCovered": formatDateTime(hi)})
		return
	}
	stamp, _ := t.def.Field("SystemModstamp")
	del := deletedIndex(t.def)
	ids := []string{}
	for _, r := range t.recs {
		if r.Get(del) == true {
			continue
		}
		if v, ok := r.Get(stamp.index).(soql.DateTime); ok && v >= lo && v < hi {
			ids = append(ids, r.id())
		}
	}
	if len(ids) > 600000 {
		writeErr(c.w, badRequest("EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 600000 records in this operation"))
		return
	}
	httpjson.Write(c.w, http.StatusOK, map[string]any{"ids": ids, "latestDateCovered": formatDateTime(hi)})
}

func formatDateTime(d soql.DateTime) string { return string(soql.AppendDateTime(nil, d)) }

func (c *call) objectURLs(name string) map[string]string {
	base := "/services/data/v" + c.version + "/sobjects/" + name
	return map[string]string{"sobject": base, "describe": base + "/describe", "rowTemplate": base + "/{ID}"}
}

func (c *call) describeSummary(def *ObjectDef, a ObjectAccess) map[string]any {
	var prefix any = def.KeyPrefix
	if def.KeyPrefix == "" {
		prefix = nil
	}
	return map[string]any{
		"name": def.Name, "label": def.Label, "labelPlural": def.LabelPlural, "keyPrefix": prefix,
		"custom": def.Custom, "customSetting": false,
		"createable": def.Createable && (a.Create || (def.Name == ObjCaseComment && a.Edit)),
		"updateable": def.Updateable && a.Edit, "deletable": def.Deletable && a.Delete,
		"queryable": def.Queryable && a.Read, "retrieveable": a.Read && def.KeyPrefix != "",
		"searchable": def.KeyPrefix != "" && !strings.HasPrefix(def.Name, "Permission"), "triggerable": def.Createable,
		"undeletable": def.Deletable && a.Delete, "replicateable": def.Replicateable, "mergeable": def.Name == ObjAccount || def.Name == ObjContact || def.Name == ObjCase,
		"layoutable": def.Createable, "feedEnabled": def.Name == ObjCase || def.Name == ObjAccount || def.Name == ObjContact,
		"activateable": false, "deprecatedAndHidden": false, "mruEnabled": def.Createable, "hasSubtypes": false, "isSubtype": false,
		"isInterface": false, "associateEntityType": nil, "associateParentEntity": nil, "urls": c.objectURLs(def.Name),
	}
}

func (c *call) globalDescribe() {
	var list []map[string]any
	for _, def := range c.s.Objects() {
		a := c.p.Access(def.Name)
		if !a.Read {
			continue
		}
		list = append(list, c.describeSummary(def, a))
	}
	httpjson.Write(c.w, http.StatusOK, map[string]any{"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": list})
}

func soapType(fd *FieldDef) string {
	switch fd.Type {
	case "id", "reference":
		return "tns:ID"
	case "boolean":
		return "xsd:boolean"
	case "int":
		return "xsd:int"
	case "double", "currency", "percent":
		return "xsd:double"
	case "date":
		return "xsd:date"
	case "datetime":
		return "xsd:dateTime"
	case "base64":
		return "xsd:base64Binary"
	}
	return "xsd:string"
}

func (c *call) describeField(def *ObjectDef, fd *FieldDef) map[string]any {
	pl := []map[string]any{}
	for _, v := range fd.Picklist {
		pl = append(pl, map[string]any{"active": true, "defaultValue": v == fd.DefaultValue, "label": v, "validFor": nil, "value": v})
	}
	var rel, extra any
	if fd.RelationshipName != "" {
		rel = fd.RelationshipName
	}
	if fd.HTMLFormatted {
		extra = "richtextarea"
	} else if fd.Type == "textarea" && fd.Length > 255 {
		extra = "plaintextarea"
	}
	refTo := fd.ReferenceTo
	if refTo == nil {
		refTo = []string{}
	}
	precision, scale, digits := 0, 0, 0
	switch fd.Type {
	case "int":
		digits = 9
	case "double", "currency", "percent":
		precision, scale = 18, 2
	}
	length := fd.Length
	if fd.kind != soql.KindString && fd.Type != "id" && fd.Type != "reference" {
		length = 0
	}
	return map[string]any{
		"name": fd.Name, "label": fd.Label, "type": fd.Type, "length": length, "byteLength": length * 3,
		"precision": precision, "scale": scale, "digits": digits,
		"nillable": fd.Nillable, "createable": fd.Createable && def.Createable, "updateable": fd.Updateable && def.Updateable,
		"filterable": fd.Filterable, "sortable": fd.Sortable, "groupable": fd.Filterable && fd.kind != soql.KindDateTime,
		"defaultedOnCreate": fd.Defaulted, "calculated": fd.Calculated, "autoNumber": fd.AutoNumber,
		"externalId": fd.ExternalID, "idLookup": fd.IDLookup, "unique": fd.Unique, "caseSensitive": false,
		"custom": fd.Custom, "nameField": fd.NameField, "referenceTo": refTo, "relationshipName": rel,
		"relationshipOrder": nil, "cascadeDelete": false, "restrictedDelete": false, "writeRequiresMasterRead": false,
		"picklistValues": pl, "restrictedPicklist": false, "dependentPicklist": false, "controllerName": nil,
		"soapType": soapType(fd), "extraTypeInfo": extra, "htmlFormatted": fd.HTMLFormatted,
		"defaultValue": nil, "defaultValueFormula": nil, "inlineHelpText": nil, "encrypted": false,
		"deprecatedAndHidden": false, "permissionable": fd.Nillable && !fd.Calculated && fd.Createable,
		"polymorphicForeignKey": fd.Name == "OwnerId", "namePointing": fd.Name == "OwnerId",
		"aggregatable": fd.Filterable, "aiPredictionField": false, "compoundFieldName": nil, "displayLocationInDecimal": false,
		"filteredLookupInfo": nil, "formulaTreatNullNumberAsZero": false, "highScaleNumber": false, "mask": nil, "maskType": nil,
		"queryByDistance": false, "referenceTargetField": nil, "searchPrefilterable": fd.Type == "reference",
	}
}

func (c *call) describe(def *ObjectDef, a ObjectAccess) map[string]any {
	d := c.describeSummary(def, a)
	fields := make([]map[string]any, 0, len(def.Fields))
	for _, fd := range def.Fields {
		if fd.hidden.Load() {
			continue
		}
		m := c.describeField(def, fd)
		fields = append(fields, m)
	}
	children := []map[string]any{}
	for _, ch := range def.Children {
		children = append(children, map[string]any{"cascadeDelete": ch.CascadeDelete, "childSObject": ch.ChildSObject, "deprecatedAndHidden": false,
			"field": ch.Field, "junctionIdListNames": []string{}, "junctionReferenceTo": []string{}, "relationshipName": ch.Name, "restrictedDelete": false})
	}
	sort.Slice(children, func(i, j int) bool {
		return children[i]["childSObject"].(string) < children[j]["childSObject"].(string)
	})
	d["fields"] = fields
	d["childRelationships"] = children
	d["recordTypeInfos"] = []any{}
	d["supportedScopes"] = []map[string]string{{"label": "All " + strings.ToLower(def.LabelPlural), "name": "everything"}, {"label": "My " + strings.ToLower(def.LabelPlural), "name": "mine"}}
	d["namedLayoutInfos"] = []any{}
	d["actionOverrides"] = []any{}
	d["compactLayoutable"] = def.Createable
	d["listviewable"] = nil
	d["lookupLayoutable"] = nil
	d["networkScopeFieldName"] = nil
	d["searchLayoutable"] = def.Createable
	d["sobjectDescribeOption"] = "FULL"
	d["defaultImplementation"] = nil
	d["extendedBy"] = nil
	d["extendsInterfaces"] = nil
	d["implementedBy"] = nil
	d["implementsInterfaces"] = nil
	urls := c.objectURLs(def.Name)
	urls["uiEditTemplate"] = "/{ID}/e"
	urls["uiDetailTemplate"] = "/{ID}"
	urls["uiNewRecord"] = "/" + def.KeyPrefix + "/e"
	d["urls"] = urls
	return d
}

// readable looks up an object the caller may read; when it may not, the
// error has been written and ok is false.
func (c *call) readable(object string) (t *table, access ObjectAccess, ok bool) {
	c.s.mu.RLock()
	t, access, e := c.s.readable(c.p, object)
	c.s.mu.RUnlock()
	if e != nil {
		writeErr(c.w, e)
		return nil, ObjectAccess{}, false
	}
	return t, access, true
}
