package data

import (
	"math/bits"
	"slices"
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

	commitDelay time.Duration       // see SetCommitDelay
	pending     []pendingWrite      // writes not committed yet, in start order
	npending    atomic.Int32        // len(pending), read without the lock
	assign      []AssignmentRule    // the active case assignment rule
	kavRules    KnowledgeQueryRules // see SetKnowledgeQueryRules
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
