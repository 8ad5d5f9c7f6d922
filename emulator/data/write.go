package data

import (
	"fmt"
	"strings"

	"github.com/sfbridge/sfbridge/emulator/sfid"
)

// writeOpts says who writes and which checks apply.
type writeOpts struct {
	user   string // CreatedById / LastModifiedById
	system bool   // org-model writes: read-only fields allowed, no permission checks
	undo   *undoLog
}

// Insert stores a record with the given id (a new id when id is empty),
// bypassing permission and read-only checks: the emulator uses it to mirror
// its org model (Organization, User, Profile, PermissionSet,
// PermissionSetAssignment) and to seed fixtures. Values may be Go strings,
// bools, numbers, time.Time, sfid.ID or nil. System fields not given are
// filled in (CreatedById defaults to the record's own id for a User and to
// the first User otherwise).
func (s *Store) Insert(object string, id sfid.ID, fields map[string]any) (sfid.ID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, e := s.table(object)
	if e != nil {
		return "", e
	}
	if id != "" {
		if _, dup := t.byID[string(id)]; dup {
			return "", badRequest("DUPLICATE_VALUE", fmt.Sprintf("duplicate value found: Id duplicates value on record with id: %s", id), "Id")
		}
	}
	newID, err := s.insertLocked(t, id, fields, writeOpts{system: true})
	if err != nil {
		return "", err
	}
	return newID, nil
}

// Upsert inserts a record with the given id or, when it exists, sets the
// given fields on it, with the same system privileges as Insert.
func (s *Store) Upsert(object string, id sfid.ID, fields map[string]any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, e := s.table(object)
	if e != nil {
		return e
	}
	if id != "" {
		if old := s.lookup(t, string(id)); old != nil {
			return asErr(s.updateLocked(t, old, fields, writeOpts{system: true, user: s.defaultUser(t, string(id))}))
		}
	}
	_, err := s.insertLocked(t, id, fields, writeOpts{system: true})
	return asErr(err)
}

// asErr turns a nil *Error into a nil error interface.
func asErr(e *Error) error {
	if e == nil {
		return nil
	}
	return e
}

// defaultUser is the user recorded as creator for system writes.
func (s *Store) defaultUser(t *table, own string) string {
	if t.def.Name == ObjUser && own != "" {
		return own
	}
	users := s.tables["user"]
	if len(users.recs) > 0 {
		return users.recs[0].id()
	}
	return own
}

func (s *Store) insertLocked(t *table, id sfid.ID, fields map[string]any, wo writeOpts) (sfid.ID, *Error) {
	def := t.def
	if id == "" {
		if def.KeyPrefix == "" {
			return "", badRequest("INVALID_TYPE", "entity type cannot be inserted: "+def.Name)
		}
		id = s.ids.New(def.KeyPrefix)
	}
	vals := make([]any, len(def.Fields))
	vals[0] = string(id)
	given := map[int]bool{}
	var bad []string
	for name, v := range fields {
		if name == "attributes" {
			continue
		}
		fd, ok := def.Field(name)
		if !ok {
			return "", badRequest("INVALID_FIELD", fmt.Sprintf("No such column '%s' on sobject of type %s", name, def.Name))
		}
		if fd.Name == "Id" {
			if wo.system {
				continue
			}
			return "", badRequest("INVALID_FIELD", "The Id field should not be specified in the sobject data.")
		}
		if !wo.system && !fd.Createable {
			bad = append(bad, fd.Name)
			continue
		}
		cv, err := s.convert(fd, v)
		if err != nil {
			return "", err
		}
		vals[fd.index] = cv
		given[fd.index] = true
	}
	if len(bad) > 0 {
		return "", readOnlyErr(bad)
	}
	user := wo.user
	if user == "" {
		user = s.defaultUser(t, string(id))
	}
	now := any(s.stamp())
	var userV any
	if user != "" {
		userV = user
	}
	for _, fd := range def.Fields {
		switch fd.Name {
		case "IsDeleted":
			vals[fd.index] = false
			continue
		case "CreatedDate", "LastModifiedDate", "SystemModstamp":
			if !given[fd.index] {
				vals[fd.index] = now
			}
			continue
		case "CreatedById", "LastModifiedById":
			if !given[fd.index] {
				vals[fd.index] = userV
			}
			continue
		case "OwnerId":
			if vals[fd.index] == nil {
				vals[fd.index] = userV
			}
			continue
		}
		if vals[fd.index] != nil {
			continue
		}
		switch {
		case fd.Type == "boolean":
			vals[fd.index] = fd.Name == "IsActive" || fd.Name == "IsLatestVersion" || fd.Name == "IsMasterLanguage"
		case fd.DefaultValue != "":
			vals[fd.index] = fd.DefaultValue
		}
	}
	if err := s.derive(t, vals, nil, wo.system); err != nil {
		return "", err
	}
	if !wo.system {
		var missing []string
		for _, fd := range def.Fields {
			if fd.Required && vals[fd.index] == nil {
				missing = append(missing, fd.Name)
			}
		}
		if len(missing) > 0 {
			return "", badRequest("REQUIRED_FIELD_MISSING", "Required fields are missing: ["+strings.Join(missing, ", ")+"]", missing...)
		}
		if err := s.checkRefs(t, vals); err != nil {
			return "", err
		}
		if err := s.checkUnique(t, vals, ""); err != nil {
			return "", err
		}
	}
	r := newRecord(vals)
	if s.delayed(wo) {
		s.pendLocked(pendingWrite{t: t, id: string(id), rec: r, isNew: true})
		return id, nil
	}
	t.byID[string(id)] = int32(len(t.recs))
	t.recs = append(t.recs, r)
	if wo.undo != nil {
		wo.undo.add(func() { s.removeLocked(t, string(id)) })
	}
	return id, nil
}

// removeLocked drops a record entirely (rollback of an insert).
func (s *Store) removeLocked(t *table, id string) {
	i, ok := t.byID[id]
	if !ok {
		return
	}
	last := int32(len(t.recs) - 1)
	if i != last {
		t.recs[i] = t.recs[last]
		t.byID[t.recs[i].id()] = i
	}
	t.recs = t.recs[:last]
	delete(t.byID, id)
}

func readOnlyErr(fields []string) *Error {
	return badRequest("INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: "+strings.Join(fields, ", ")+". Please check the security settings of this field and verify that it is read/write for your profile or permission set.", fields...)
}

// derive maintains computed fields: Name, CaseNumber, IsClosed, ClosedDate,
// Contact* mirrors on Case, the article numbering of Knowledge.
func (s *Store) derive(t *table, vals []any, old []any, system bool) *Error {
	def := t.def
	get := func(name string) any {
		fd, _ := def.Field(name)
		return vals[fd.index]
	}
	set := func(name string, v any) {
		fd, _ := def.Field(name)
		vals[fd.index] = v
	}
	switch def.Name {
	case ObjContact, ObjUser:
		if system && get("Name") != nil && old == nil {
			break
		}
		first, _ := get("FirstName").(string)
		last, _ := get("LastName").(string)
		set("Name", strings.TrimSpace(first+" "+last))
	case ObjCase:
		if old == nil && get("CaseNumber") == nil {
			s.caseNumber++
			set("CaseNumber", fmt.Sprintf("%08d", s.caseNumber))
		}
		status, _ := get("Status").(string)
		closed := closedStatus(status)
		set("IsClosed", closed)
		switch {
		case !closed:
			set("ClosedDate", nil)
		case get("ClosedDate") == nil:
			set("ClosedDate", get("LastModifiedDate"))
		}
		if cid, ok := get("ContactId").(string); ok {
			if c := s.lookup(s.tables["contact"], cid); c != nil {
				cdef := s.tables["contact"].def
				for _, m := range [][2]string{{"ContactEmail", "Email"}, {"ContactPhone", "Phone"}, {"ContactMobile", "MobilePhone"}} {
					fd, _ := cdef.Field(m[1])
					set(m[0], c.Get(fd.index))
				}
			}
		} else {
			set("ContactEmail", nil)
			set("ContactPhone", nil)
			set("ContactMobile", nil)
		}
		set("Comments", nil)
	case ObjKnowledge:
		if old == nil {
			if get("ArticleNumber") == nil {
				s.articleNum++
				set("ArticleNumber", fmt.Sprintf("%09d", s.articleNum))
			}
			if get("KnowledgeArticleId") == nil {
				set("KnowledgeArticleId", string(s.ids.New("kA0")))
			}
			if get("VersionNumber") == nil {
				set("VersionNumber", float64(1))
			}
		}
	}
	return nil
}

// checkRefs refuses lookups to records that do not exist or are deleted.
func (s *Store) checkRefs(t *table, vals []any) *Error {
	for _, fd := range t.def.Fields {
		if fd.Type != "reference" || len(fd.ReferenceTo) == 0 || !fd.Createable {
			continue
		}
		id, ok := vals[fd.index].(string)
		if !ok || (fd.Name == "OwnerId" && strings.HasPrefix(id, "00G")) {
			continue // queues are not emulated as records
		}
		rt, found := s.tables[strings.ToLower(fd.ReferenceTo[0])]
		if !found {
			continue
		}
		r := s.lookup(rt, id)
		if r == nil || r.Get(deletedIndex(rt.def)) == true {
			return badRequest("INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY", "insufficient access rights on cross-reference id", fd.Name)
		}
	}
	return nil
}

func (s *Store) checkUnique(t *table, vals []any, self string) *Error {
	for _, fd := range t.def.Fields {
		if !fd.Unique {
			continue
		}
		v, ok := vals[fd.index].(string)
		if !ok || v == "" {
			continue
		}
		for _, r := range t.recs {
			if o, _ := r.Get(fd.index).(string); strings.EqualFold(o, v) && r.id() != self {
				return badRequest("DUPLICATE_VALUE", fmt.Sprintf("duplicate value found: %s duplicates value on record with id: %s", fd.Name, r.id()), fd.Name)
			}
		}
	}
	return nil
}

func deletedIndex(def *ObjectDef) int { return def.deletedIdx }

func (s *Store) updateLocked(t *table, old *record, fields map[string]any, wo writeOpts) *Error {
	def := t.def
	vals := old.full(len(def.Fields))
	var bad []string
	for name, v := range fields {
		if name == "attributes" {
			continue
		}
		fd, ok := def.Field(name)
		if !ok {
			return badRequest("INVALID_FIELD", fmt.Sprintf("No such column '%s' on sobject of type %s", name, def.Name))
		}
		if fd.Name == "Id" {
			if str, _ := v.(string); str != "" {
				if id, err := sfid.Parse(str); err == nil && string(id) == old.id() {
					continue
				}
			}
			if wo.system {
				continue
			}
			return badRequest("INVALID_FIELD", "The Id field should not be specified in the sobject data.")
		}
		if !wo.system && !fd.Updateable {
			bad = append(bad, fd.Name)
			continue
		}
		cv, err := s.convert(fd, v)
		if err != nil {
			return err
		}
		if cv == nil && fd.Required && !wo.system {
			return badRequest("REQUIRED_FIELD_MISSING", "Required fields are missing: ["+fd.Name+"]", fd.Name)
		}
		vals[fd.index] = cv
	}
	if len(bad) > 0 {
		return readOnlyErr(bad)
	}
	now := any(s.stamp())
	for _, n := range []string{"LastModifiedDate", "SystemModstamp"} {
		fd, _ := def.Field(n)
		vals[fd.index] = now
	}
	if wo.user != "" {
		fd, _ := def.Field("LastModifiedById")
		vals[fd.index] = wo.user
	}
	if err := s.derive(t, vals, old.full(len(def.Fields)), wo.system); err != nil {
		return err
	}
	if !wo.system {
		if err := s.checkRefs(t, vals); err != nil {
			return err
		}
		if err := s.checkUnique(t, vals, old.id()); err != nil {
			return err
		}
	}
	if s.delayed(wo) {
		s.pendLocked(pendingWrite{t: t, id: old.id(), rec: newRecord(vals)})
		return nil
	}
	s.replaceLocked(t, old, newRecord(vals), wo.undo)
	if def.Name == ObjContact {
		s.refreshCaseContactLocked(old.id(), wo.undo)
	}
	return nil
}

// refreshCaseContactLocked copies a changed Contact's email and phones into
// the Cases that refer to it (Case.ContactEmail and friends mirror them).
func (s *Store) refreshCaseContactLocked(contactID string, undo *undoLog) {
	ct := s.tables["case"]
	fk, _ := ct.def.Field("ContactId")
	for _, r := range ct.recs {
		if r.Get(fk.index) != contactID {
			continue
		}
		vals := r.full(len(ct.def.Fields))
		if err := s.derive(ct, vals, vals, true); err != nil {
			continue
		}
		s.replaceLocked(ct, r, newRecord(vals), undo)
	}
}

func (s *Store) replaceLocked(t *table, old, nr *record, undo *undoLog) {
	i, ok := t.byID[old.id()]
	if !ok {
		return
	}
	prev := t.recs[i]
	t.recs[i] = nr
	if undo != nil {
		undo.add(func() {
			if j, ok := t.byID[prev.id()]; ok {
				t.recs[j] = prev
			}
		})
	}
}
