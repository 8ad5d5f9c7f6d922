package data

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/bits"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sfbridge/sfbridge/emulator/sfid"
	"github.com/sfbridge/sfbridge/emulator/soql"
	"github.com/sfbridge/sfbridge/internal/clock"
)

// StoreOptions configures a Store.
type StoreOptions struct {
	// IDs hands out record ids; nil means a generator for pod "xx".
	IDs *sfid.Generator
	// Now is the clock for system fields and date literals; nil means the real clock.
	Now func() time.Time
	// OrgID is the organization the records belong to.
	OrgID sfid.ID
	// CursorTTL is how long an idle query locator lives (default 15 minutes,
	// as in Salesforce); MaxCursors caps the locators kept (default 256).
	CursorTTL  time.Duration
	MaxCursors int
}

// Store holds the records of the emulated org in memory. It is safe for
// concurrent use. Records are immutable once stored: an update replaces the
// record, so a query's cached result set stays consistent while callers
// page through it.
type Store struct {
	mu         sync.RWMutex
	ids        *sfid.Generator
	now        func() time.Time
	orgID      sfid.ID
	tables     map[string]*table // lower-case name
	ordered    []*table
	byPrefix   map[string]*table
	caseNumber int
	articleNum int
	lastStamp  int64
	cursors    *cursorCache
	buffers    sync.Pool // *[]byte page buffers, reused so paging does not churn the heap
	schemaTime time.Time // when the schemas were made, for describe's If-Modified-Since

	commitDelay time.Duration    // see SetCommitDelay
	pending     []pendingWrite   // writes not committed yet, in start order
	npending    atomic.Int32     // len(pending), read without the lock
	assign      []AssignmentRule // the active case assignment rule
}

type table struct {
	def     *ObjectDef
	recs    []*record
	byID    map[string]int32
	deletes []deletion
}

type deletion struct {
	id   string
	when soql.DateTime
}

// record holds one row compactly: present has a bit per field whose value
// is not null, and vals holds only those values, in field order. A
// million generated Cases leave about a third of their fields null, so
// this saves that many 16-byte slots per record. Objects with more than
// 64 fields keep every slot (dense).
type record struct {
	present uint64
	dense   bool
	vals    []any
}

func newRecord(full []any) *record {
	if len(full) > 64 {
		return &record{dense: true, vals: full}
	}
	var present uint64
	n := 0
	for i, v := range full {
		if v != nil {
			present |= 1 << uint(i)
			n++
		}
	}
	vals := make([]any, 0, n)
	for _, v := range full {
		if v != nil {
			vals = append(vals, v)
		}
	}
	return &record{present: present, vals: vals}
}

// Get implements soql.Record.
func (r *record) Get(i int) any {
	if r.dense {
		return r.vals[i]
	}
	bit := uint64(1) << uint(i)
	if r.present&bit == 0 {
		return nil
	}
	return r.vals[bits.OnesCount64(r.present&(bit-1))]
}

// full returns a fresh slice of all width values, nulls included.
func (r *record) full(width int) []any {
	if r.dense {
		return slices.Clone(r.vals)
	}
	out := make([]any, width)
	k := 0
	for i := 0; i < width && i < 64; i++ {
		if r.present&(1<<uint(i)) != 0 {
			out[i] = r.vals[k]
			k++
		}
	}
	return out
}

func (r *record) id() string { s, _ := r.Get(0).(string); return s }

// NewStore returns an empty store with the standard objects' schemas.
func NewStore(opts StoreOptions) (*Store, error) {
	ids := opts.IDs
	if ids == nil {
		g, err := sfid.NewGenerator("xx", 0)
		if err != nil {
			return nil, err
		}
		ids = g
	}
	now := opts.Now
	if now == nil {
		now = clock.Real().Now
	}
	ttl := opts.CursorTTL
	if ttl <= 0 {
		ttl = 15 * time.Minute
	}
	maxc := opts.MaxCursors
	if maxc <= 0 {
		maxc = 256
	}
	s := &Store{ids: ids, now: now, orgID: opts.OrgID, tables: map[string]*table{}, byPrefix: map[string]*table{},
		caseNumber: 999, articleNum: 999, cursors: newCursorCache(ttl, maxc)}
	s.schemaTime = now().Truncate(time.Second)
	s.buffers.New = func() any { b := make([]byte, 0, 1<<20); return &b }
	for _, o := range standardObjects() {
		t := &table{def: o, byID: map[string]int32{}}
		s.tables[strings.ToLower(o.Name)] = t
		s.ordered = append(s.ordered, t)
		if o.KeyPrefix != "" {
			s.byPrefix[o.KeyPrefix] = t
		}
	}
	// The Case status values of a fresh org; closedStatus agrees with them.
	for i, st := range caseStatusValues() {
		if _, err := s.Insert(ObjCaseStatus, "", map[string]any{"ApiName": st, "MasterLabel": st, "IsClosed": closedStatus(st), "IsDefault": i == 0, "SortOrder": i + 1}); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Object returns the definition of an object (case-insensitive name).
func (s *Store) Object(name string) (*ObjectDef, bool) {
	t, ok := s.tables[strings.ToLower(name)]
	if !ok {
		return nil, false
	}
	return t.def, true
}

// Objects returns every object definition in a stable order.
func (s *Store) Objects() []*ObjectDef {
	out := make([]*ObjectDef, len(s.ordered))
	for i, t := range s.ordered {
		out[i] = t.def
	}
	return out
}

// Count returns how many records (including soft-deleted ones) object has.
func (s *Store) Count(object string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if t, ok := s.tables[strings.ToLower(object)]; ok {
		return len(t.recs)
	}
	return 0
}

func (s *Store) stamp() soql.DateTime {
	ms := s.now().UnixMilli()
	if ms < s.lastStamp {
		ms = s.lastStamp
	}
	s.lastStamp = ms
	return soql.DateTime(ms)
}

func (s *Store) table(object string) (*table, *Error) {
	t, ok := s.tables[strings.ToLower(object)]
	if !ok {
		return nil, notFound()
	}
	return t, nil
}

func (s *Store) lookup(t *table, id string) *record {
	if i, ok := t.byID[id]; ok {
		return t.recs[i]
	}
	return nil
}

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

// convert turns an input value (from JSON, CSV or Go) into the stored form
// of fd's type.
func (s *Store) convert(fd *FieldDef, v any) (any, *Error) {
	if v == nil {
		return nil, nil
	}
	if id, ok := v.(sfid.ID); ok {
		v = string(id)
	}
	typeErr := func() *Error {
		return badRequest("JSON_PARSER_ERROR", fmt.Sprintf("Cannot deserialize instance of %s from %v value or request may be missing a required field", fd.Type, v))
	}
	switch fd.kind {
	case soql.KindString:
		var str string
		switch x := v.(type) {
		case string:
			str = x
		case json.Number:
			str = x.String()
		case float64:
			str = strconv.FormatFloat(x, 'f', -1, 64)
		case int:
			str = strconv.Itoa(x)
		case bool:
			str = strconv.FormatBool(x)
		default:
			return nil, typeErr()
		}
		if fd.Length > 0 && len([]rune(str)) > fd.Length {
			return nil, badRequest("STRING_TOO_LONG", fmt.Sprintf("%s: data value too large: %s (max length=%d)", fd.Label, str, fd.Length), fd.Name)
		}
		if str == "" {
			return nil, nil
		}
		return str, nil
	case soql.KindID:
		str, ok := v.(string)
		if !ok {
			return nil, typeErr()
		}
		if str == "" {
			return nil, nil
		}
		id, err := sfid.Parse(str)
		if err != nil {
			return nil, badRequest("MALFORMED_ID", fmt.Sprintf("%s: id value of incorrect type: %s", fd.Label, str), fd.Name)
		}
		if len(fd.ReferenceTo) > 0 {
			if rt, ok := s.tables[strings.ToLower(fd.ReferenceTo[0])]; ok && rt.def.KeyPrefix != id.Prefix() && (fd.Name != "OwnerId" || id.Prefix() != "00G") {
				return nil, badRequest("FIELD_INTEGRITY_EXCEPTION", fmt.Sprintf("%s: id value of incorrect type: %s", fd.Label, str), fd.Name)
			}
		}
		return string(id), nil
	case soql.KindBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			if b, err := strconv.ParseBool(x); err == nil {
				return b, nil
			}
		}
		return nil, typeErr()
	case soql.KindNumber:
		var n float64
		switch x := v.(type) {
		case float64:
			n = x
		case int:
			n = float64(x)
		case int64:
			n = float64(x)
		case json.Number:
			f, err := x.Float64()
			if err != nil {
				return nil, typeErr()
			}
			n = f
		case string:
			if x == "" {
				return nil, nil
			}
			f, err := strconv.ParseFloat(x, 64)
			if err != nil {
				return nil, typeErr()
			}
			n = f
		default:
			return nil, typeErr()
		}
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return nil, typeErr()
		}
		return n, nil
	case soql.KindDate, soql.KindDateTime:
		var tm time.Time
		switch x := v.(type) {
		case time.Time:
			tm = x
		case string:
			if x == "" {
				return nil, nil
			}
			p, ok := soql.ParseDateTime(x)
			if !ok {
				return nil, badRequest("JSON_PARSER_ERROR", fmt.Sprintf("Cannot deserialize value of type `%s` from String \"%s\"", fd.Type, x))
			}
			tm = p
		default:
			return nil, typeErr()
		}
		if fd.kind == soql.KindDate {
			return soql.DateOf(tm), nil
		}
		return soql.DateTimeOf(tm), nil
	}
	return nil, typeErr()
}

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

// principal returns the caller or the refusal for an unauthenticated call.
func principal(ctx context.Context) (*Principal, *Error) {
	p, ok := PrincipalFrom(ctx)
	if !ok {
		return nil, newErr(http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
	}
	return p, nil
}

// readable returns the table of an object the caller may read, or 404.
func (s *Store) readable(p *Principal, object string) (*table, ObjectAccess, *Error) {
	t, ok := s.tables[strings.ToLower(object)]
	if !ok {
		return nil, ObjectAccess{}, notFound()
	}
	a := p.Access(t.def.Name)
	if !a.Read {
		return nil, a, notFound()
	}
	return t, a, nil
}

// Create inserts a record as the caller, with Salesforce's checks: object
// permission, createable fields, required fields, lookups.
func (s *Store) Create(ctx context.Context, object string, fields map[string]any) (sfid.ID, error) {
	p, e := principal(ctx)
	if e != nil {
		return "", e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := s.createLocked(ctx, p, object, fields)
	return id, asErr(err)
}

func (s *Store) createLocked(ctx context.Context, p *Principal, object string, fields map[string]any) (sfid.ID, *Error) {
	t, a, e := s.readable(p, object)
	if e != nil {
		return "", e
	}
	if !t.def.Createable {
		return "", badRequest("INVALID_TYPE", fmt.Sprintf("entity type cannot be inserted: %s", t.def.Name))
	}
	if !a.Create && (t.def.Name != ObjCaseComment || !a.Edit) {
		return "", insufficientAccess()
	}
	var comment string
	if t.def.Name == ObjCase {
		if c, ok := fields["Comments"].(string); ok {
			comment = c
		}
	}
	for _, v := range fields {
		if ref, ok := v.(string); ok && len(ref) >= 15 {
			s.commitPendingLocked(normID(ref))
		}
	}
	if t.def.Name == ObjCase {
		fields = maps.Clone(fields)
		s.assignLocked(ctx, fields)
	}
	id, err := s.insertLocked(t, "", fields, writeOpts{user: string(p.UserID), undo: undoFrom(ctx)})
	if err != nil {
		return "", err
	}
	if comment != "" {
		cc := s.tables["casecomment"]
		if _, err := s.insertLocked(cc, "", map[string]any{"ParentId": string(id), "CommentBody": comment}, writeOpts{user: string(p.UserID), undo: undoFrom(ctx)}); err != nil {
			return "", err
		}
	}
	return id, nil
}

// recordFor finds a live record by id for the caller, with Salesforce's
// errors for malformed, unknown and deleted ids.
func (s *Store) recordFor(t *table, idText string) (*record, *Error) {
	id, err := sfid.Parse(idText)
	if err != nil || (t.def.KeyPrefix != "" && id.Prefix() != t.def.KeyPrefix) {
		return nil, newErr(http.StatusNotFound, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: "+idText)
	}
	r := s.lookup(t, string(id))
	if r == nil {
		return nil, notFound()
	}
	if r.Get(deletedIndex(t.def)) == true {
		return nil, newErr(http.StatusNotFound, "ENTITY_IS_DELETED", "entity is deleted")
	}
	return r, nil
}

// Update changes fields of a record as the caller.
func (s *Store) Update(ctx context.Context, object, id string, fields map[string]any) error {
	p, e := principal(ctx)
	if e != nil {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return asErr(s.updateAs(ctx, p, object, id, fields))
}

func (s *Store) updateAs(ctx context.Context, p *Principal, object, id string, fields map[string]any) *Error {
	t, a, e := s.readable(p, object)
	if e != nil {
		return e
	}
	s.commitPendingLocked(normID(id))
	r, e := s.recordFor(t, id)
	if e != nil {
		return e
	}
	if !t.def.Updateable || !a.Edit {
		return insufficientAccess()
	}
	return s.updateLocked(t, r, fields, writeOpts{user: string(p.UserID), undo: undoFrom(ctx)})
}

// Delete soft-deletes a record as the caller (it moves to the recycle bin:
// IsDeleted true, visible to queryAll and /deleted). Deleting a Case also
// deletes its CaseComments.
func (s *Store) Delete(ctx context.Context, object, id string) error {
	p, e := principal(ctx)
	if e != nil {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return asErr(s.deleteAs(ctx, p, object, id))
}

func (s *Store) deleteAs(ctx context.Context, p *Principal, object, id string) *Error {
	t, a, e := s.readable(p, object)
	if e != nil {
		return e
	}
	s.commitPendingLocked(normID(id))
	r, e := s.recordFor(t, id)
	if e != nil {
		return e
	}
	if !t.def.Deletable || !a.Delete {
		return insufficientAccess()
	}
	delay := s.delayed(writeOpts{undo: undoFrom(ctx)})
	s.softDeleteLocked(t, r, string(p.UserID), undoFrom(ctx), delay)
	for _, ch := range t.def.Children {
		if !ch.CascadeDelete {
			continue
		}
		ct := s.tables[strings.ToLower(ch.ChildSObject)]
		fd, _ := ct.def.Field(ch.Field)
		s.commitChildrenLocked(ct, fd.index, r.id())
		for _, c := range ct.recs {
			if c.Get(fd.index) == r.id() && c.Get(deletedIndex(ct.def)) == false {
				s.softDeleteLocked(ct, c, string(p.UserID), undoFrom(ctx), delay)
			}
		}
	}
	return nil
}

func (s *Store) softDeleteLocked(t *table, r *record, user string, undo *undoLog, delay bool) {
	vals := r.full(len(t.def.Fields))
	now := s.stamp()
	vals[deletedIndex(t.def)] = true
	for _, n := range []string{"SystemModstamp"} {
		fd, _ := t.def.Field(n)
		vals[fd.index] = any(now)
	}
	if fd, ok := t.def.Field("LastModifiedById"); ok && user != "" {
		vals[fd.index] = user
	}
	if delay {
		s.pendLocked(pendingWrite{t: t, id: r.id(), rec: newRecord(vals), del: &deletion{id: r.id(), when: now}})
		return
	}
	s.replaceLocked(t, r, newRecord(vals), undo)
	t.deletes = append(t.deletes, deletion{id: r.id(), when: now})
	if undo != nil {
		n := len(t.deletes) - 1
		undo.add(func() {
			if len(t.deletes) > n {
				t.deletes = slices.Delete(t.deletes, n, n+1)
			}
		})
	}
}

// undoLog records how to roll back writes of an allOrNone request.
type undoLog struct{ fns []func() }

func (u *undoLog) add(fn func()) { u.fns = append(u.fns, fn) }

func (u *undoLog) rollback() {
	for i := len(u.fns) - 1; i >= 0; i-- {
		u.fns[i]()
	}
	u.fns = nil
}

type undoKey struct{}

func withUndo(ctx context.Context, u *undoLog) context.Context {
	return context.WithValue(ctx, undoKey{}, u)
}

func undoFrom(ctx context.Context) *undoLog {
	u, _ := ctx.Value(undoKey{}).(*undoLog)
	return u
}

// normID returns the 18-character form of an id, or text unchanged when it
// is not one.
func normID(text string) string {
	id, err := sfid.Parse(text)
	if err != nil {
		return text
	}
	return string(id)
}
