package servicedesk

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sfbridge/sfbridge/internal/backoff"
	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/rest"
	"github.com/sfbridge/sfbridge/state"
)

// Event types.
const (
	CaseCreated    = "case.created"
	CaseUpdated    = "case.updated"
	CaseClosed     = "case.closed"
	CaseReopened   = "case.reopened"
	CaseDeleted    = "case.deleted"
	CaseUndeleted  = "case.undeleted"
	CommentCreated = "comment.created"
	CommentUpdated = "comment.updated"
)

// DefaultTrackedFields returns the Case fields whose changes make a
// case.updated event (and are reported in Changed) when none are chosen.
func DefaultTrackedFields() []string {
	return []string{"Subject", "Status", "Priority", "Origin", "Type", "Reason", "OwnerId", "ContactId", "Description", "IsEscalated"}
}

// Person is a contact or an owner as an event names them.
type Person struct {
	ID    string `json:"id,omitempty"`
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

// Change is one tracked field's old and new value.
type Change struct {
	From any `json:"from"`
	To   any `json:"to"`
}

// Comment is the comment of a comment.created event.
type Comment struct {
	ID     string `json:"id"`
	Body   string `json:"body"`
	Public bool   `json:"public"`
	// Author is the user who wrote it; Own is true when that is the
	// integration user itself, so a bot does not echo its own comments.
	// For comment.updated, EditedBy is the user who edited it last and
	// Own says whether that is the integration user.
	Author   Person  `json:"author"`
	EditedBy *Person `json:"edited_by,omitempty"`
	Own      bool    `json:"own"`
}

// Event is one change of a Case or one new comment. ID is stable: the
// same version of the same record always yields the same id
// ("<record id>@<SystemModstamp in Unix milliseconds>", followed by
// "~<content hash>" for a second version of a Case within the same
// millisecond).
type Event struct {
	ID         string            `json:"id"`
	Type       string            `json:"type"`
	Time       time.Time         `json:"time"`
	CaseID     string            `json:"case_id"`
	CaseNumber string            `json:"case_number,omitempty"`
	Subject    string            `json:"subject,omitempty"`
	Status     string            `json:"status,omitempty"`
	Contact    Person            `json:"contact"`
	Owner      Person            `json:"owner"`
	Changed    map[string]Change `json:"changed,omitempty"`
	Comment    *Comment          `json:"comment,omitempty"`
}

// WatchConfig configures a Watcher.
type WatchConfig struct {
	Client *rest.Client
	Store  state.Store
	// Org names the org in the state store (an alias or the org id).
	Org string
	// Name tells several watchers of one org apart (default "cases").
	Name string
	// TrackedFields are the Case fields whose changes are reported
	// (default DefaultTrackedFields). A version that changes none of them
	// is recorded but makes no event.
	TrackedFields []string
	// Filter keeps only Cases (and their comments) whose field is one of
	// the values, for example {"Origin": {"Web", "Email"}} or
	// {"RecordTypeId": {"012…"}}.
	Filter map[string][]string
	// Overlap is how far before its watermark each poll re-reads
	// (default 2 minutes): it must exceed the longest transaction of the
	// org, or a record committed late with an older SystemModstamp is
	// missed.
	Overlap time.Duration
	// Since is where a watcher without a checkpoint starts (default: now
	// on Clock less Overlap, for an org clock behind ours). A stored
	// checkpoint wins.
	Since time.Time
	// OwnUserID is the integration user's id, whose comments are marked
	// Own; empty means the session user's (one identity call at start).
	OwnUserID string
	// Clock is the time source (nil: real time). Retry is the backoff of
	// Run after a failed cycle (zero: defaults of internal/backoff).
	Clock clock.Clock
	Retry backoff.Policy
	// BatchSize asks for query pages of this many rows (200–2000; 0 is
	// Salesforce's default of 2000). A backlog larger than a page costs one
	// more call per page.
	BatchSize int
	// Owner and LeaseTTL name the lease that fences the state writes
	// (defaults "servicedesk" and 2 minutes); a second watcher of the same
	// org and name is refused while the first holds it.
	Owner    string
	LeaseTTL time.Duration
	// Topic is the outbox topic the events are committed to (default
	// "servicedesk.<Name>.events"); the daemon journals them as
	// "cases.events".
	Topic string
}

// Watcher follows the Cases and CaseComments of one org. It is not safe
// for concurrent use; run one per (org, name).
type Watcher struct {
	cfg                   WatchConfig
	clk                   clock.Clock
	key                   state.CheckpointKey
	topic                 string
	kindCase, kindComment string // document kinds of the versions seen
	lease                 state.Lease
	held                  bool
	own                   string
	tracked               []string
}

// Stats counts one poll's work.
type Stats struct {
	Cases, Comments int // rows read (the overlap included)
	Events          int // new events committed
	Calls           int // API calls made
	Watermark       time.Time
}

// NewWatcher checks cfg and returns a watcher.
func NewWatcher(cfg WatchConfig) (*Watcher, error) {
	if cfg.Client == nil || cfg.Store == nil {
		return nil, &ConfigError{Field: "WatchConfig", Reason: "Client and Store are required", Fix: "pass a rest.Client and an opened state.Store"}
	}
	if cfg.Org == "" {
		return nil, &ConfigError{Field: "Org", Reason: "empty", Fix: "name the org (its alias) so its state is kept apart"}
	}
	if cfg.Name == "" {
		cfg.Name = "cases"
	}
	if cfg.Overlap == 0 {
		cfg.Overlap = 2 * time.Minute
	}
	if cfg.Overlap < 0 {
		return nil, &ConfigError{Field: "Overlap", Reason: "negative", Fix: "use a positive duration such as 2m"}
	}
	if cfg.Owner == "" {
		cfg.Owner = "servicedesk"
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 2 * time.Minute
	}
	if cfg.BatchSize != 0 && (cfg.BatchSize < 200 || cfg.BatchSize > 2000) {
		return nil, &ConfigError{Field: "BatchSize", Reason: fmt.Sprintf("%d is outside 200–2000", cfg.BatchSize), Fix: "use 0 for the default or a size from 200 to 2000"}
	}
	if err := cfg.Retry.Validate(); err != nil {
		return nil, &ConfigError{Field: "Retry", Reason: err.Error(), Fix: "fix the backoff policy"}
	}
	tracked := cfg.TrackedFields
	if len(tracked) == 0 {
		tracked = DefaultTrackedFields()
	}
	for _, f := range tracked {
		if !rest.IsAPIName(f) {
			return nil, &ConfigError{Field: "TrackedFields", Reason: fmt.Sprintf("%q is not a field API name", f), Fix: "name Case fields such as Status,Priority"}
		}
	}
	for f, vals := range cfg.Filter {
		if !rest.IsAPIName(f) || len(vals) == 0 {
			return nil, &ConfigError{Field: "Filter", Reason: fmt.Sprintf("%q needs a field API name and at least one value", f), Fix: "use for example Origin=Web,Email"}
		}
	}
	pipeline := "servicedesk." + cfg.Name
	if cfg.Topic == "" {
		cfg.Topic = pipeline + ".events"
	}
	return &Watcher{
		cfg: cfg, clk: clock.Or(cfg.Clock), own: cfg.OwnUserID, tracked: slices.Clone(tracked),
		key:   state.CheckpointKey{Org: cfg.Org, Pipeline: pipeline, Key: "watermark"},
		topic: cfg.Topic, kindCase: pipeline + ".case", kindComment: pipeline + ".comment",
	}, nil
}

type checkpoint struct {
	// Watermark is the highest SystemModstamp seen, Unix milliseconds.
	Watermark int64 `json:"watermark"`
}

type caseDoc struct {
	Deleted bool           `json:"deleted"`
	Closed  bool           `json:"closed"`
	Fields  map[string]any `json:"fields"`
}

func (w *Watcher) ensureLease(ctx context.Context) (state.Fence, error) {
	l, err := w.cfg.Store.AcquireLease(ctx, state.PipelineLease(w.cfg.Org, w.key.Pipeline), w.cfg.Owner, w.cfg.LeaseTTL)
	if err != nil {
		return state.Fence{}, fmt.Errorf("servicedesk: taking the watcher's lease: %w", err)
	}
	w.lease, w.held = l, true
	return state.FenceOf(l), nil
}

// Lease names the lease that fences the watcher's writes:
// state.PipelineLease(org, "servicedesk.<Name>").
func (w *Watcher) Lease() string { return state.PipelineLease(w.cfg.Org, w.key.Pipeline) }

// Topic is the outbox topic the watcher commits its events to.
func (w *Watcher) Topic() string { return w.topic }

// Fence takes (or extends) the watcher's lease and returns it as the fence
// of state writes that belong to the watcher, such as an output's
// committed position.
func (w *Watcher) Fence(ctx context.Context) (state.Fence, error) { return w.ensureLease(ctx) }

// Close releases the watcher's lease so another process may take over at
// once.
func (w *Watcher) Close(ctx context.Context) error {
	if !w.held {
		return nil
	}
	w.held = false
	return w.cfg.Store.ReleaseLease(ctx, w.lease)
}

func soqlList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = rest.Quote(v)
	}
	return "(" + strings.Join(q, ", ") + ")"
}

func (w *Watcher) filterClause(prefix string) string {
	keys := make([]string, 0, len(w.cfg.Filter))
	for k := range w.cfg.Filter {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " AND %s%s IN %s", prefix, k, soqlList(w.cfg.Filter[k]))
	}
	return b.String()
}

func caseBaseFields() []string {
	return []string{"Id", "CaseNumber", "Subject", "Status", "IsClosed", "IsDeleted", "CreatedDate", "SystemModstamp",
		"ContactId", "Contact.Name", "ContactEmail", "SuppliedName", "SuppliedEmail", "OwnerId", "Owner.Name"}
}

func commentFields() []string {
	return []string{"Id", "ParentId", "CommentBody", "IsPublished", "IsDeleted", "CreatedById", "CreatedBy.Name", "CreatedDate", "SystemModstamp",
		"LastModifiedById", "LastModifiedBy.Name", "Parent.CaseNumber", "Parent.Subject", "Parent.Status", "Parent.ContactId", "Parent.Contact.Name", "Parent.ContactEmail", "Parent.SuppliedName", "Parent.SuppliedEmail", "Parent.OwnerId", "Parent.Owner.Name"}
}

func (w *Watcher) caseQuery(since time.Time) string {
	fields := caseBaseFields()
	for _, f := range w.tracked {
		if !slices.ContainsFunc(fields, func(s string) bool { return strings.EqualFold(s, f) }) {
			fields = append(fields, f)
		}
	}
	return "SELECT " + strings.Join(fields, ", ") + " FROM Case WHERE SystemModstamp >= " + rest.FormatDateTime(since) +
		w.filterClause("") + " ORDER BY SystemModstamp ASC, Id ASC"
}

func (w *Watcher) commentQuery(since time.Time) string {
	return "SELECT " + strings.Join(commentFields(), ", ") + " FROM CaseComment WHERE SystemModstamp >= " + rest.FormatDateTime(since) +
		w.filterClause("Parent.") + " ORDER BY SystemModstamp ASC, Id ASC"
}

type row struct {
	comment bool
	rec     rest.Record
	id      string
	stamp   time.Time
}

// fetch runs both queries in one composite request and pages through any
// rest; it returns the rows and the API calls made.
func (w *Watcher) fetch(ctx context.Context, since time.Time) (cases, comments []row, calls int, err error) {
	var hdr map[string]string
	if w.cfg.BatchSize > 0 {
		hdr = map[string]string{"Sforce-Query-Options": "batchSize=" + strconv.Itoa(w.cfg.BatchSize)}
	}
	req := rest.CompositeRequest{Requests: []rest.Subrequest{
		{Method: "GET", URL: "queryAll?q=" + url.QueryEscape(w.caseQuery(since)), ReferenceID: "cases", HTTPHeaders: hdr},
		{Method: "GET", URL: "queryAll?q=" + url.QueryEscape(w.commentQuery(since)), ReferenceID: "comments", HTTPHeaders: hdr},
	}}
	subs, err := w.cfg.Client.Composite.Do(ctx, req)
	calls++
	if err != nil {
		return nil, nil, calls, fmt.Errorf("servicedesk: polling Cases and CaseComments: %w", err)
	}
	if len(subs) != 2 {
		return nil, nil, calls, fmt.Errorf("servicedesk: polling: composite answered %d subresponses, want 2", len(subs))
	}
	for i, sub := range subs {
		object := [2]string{"Case", "CaseComment"}[i]
		if sub.HTTPStatusCode >= 300 {
			qe := &QueryError{Object: object, Status: sub.HTTPStatusCode}
			if items := sub.Errors(); len(items) > 0 {
				qe.Code, qe.Msg = items[0].Code(), items[0].Message
			}
			return nil, nil, calls, qe
		}
		var page rest.Page[rest.Record]
		dec := json.NewDecoder(bytes.NewReader(sub.Body))
		if err := dec.Decode(&page); err != nil {
			return nil, nil, calls, fmt.Errorf("servicedesk: polling %s: reading the result: %w", object, err)
		}
		recs := page.Records
		for !page.Done {
			if page.NextRecordsURL == "" {
				return nil, nil, calls, fmt.Errorf("servicedesk: polling %s: a page that is not the last has no nextRecordsUrl", object)
			}
			next, err := w.cfg.Client.Query.NextPage(ctx, page.NextRecordsURL)
			calls++
			if err != nil {
				return nil, nil, calls, fmt.Errorf("servicedesk: polling %s: next page: %w", object, err)
			}
			page = *next
			recs = append(recs, page.Records...)
		}
		rows := make([]row, 0, len(recs))
		for _, r := range recs {
			st, err := stampOf(r, "SystemModstamp")
			if err != nil {
				return nil, nil, calls, fmt.Errorf("servicedesk: polling %s: record %s: %w", object, r.ID(), err)
			}
			rows = append(rows, row{comment: i == 1, rec: r, id: r.ID(), stamp: st})
		}
		if i == 0 {
			cases = rows
		} else {
			comments = rows
		}
	}
	return cases, comments, calls, nil
}

func stampOf(r rest.Record, field string) (time.Time, error) {
	v, _ := r.Field(field)
	s, _ := v.(string)
	if s == "" {
		return time.Time{}, fmt.Errorf("no %s", field)
	}
	return rest.ParseDateTime(s)
}

func str(r rest.Record, path string) string {
	v, _ := r.Field(path)
	s, _ := v.(string)
	return s
}

func boolOf(r rest.Record, path string) bool {
	v, _ := r.Field(path)
	b, _ := v.(bool)
	return b
}

func eventID(id string, stamp time.Time) string {
	return id + "@" + strconv.FormatInt(stamp.UnixMilli(), 10)
}

// person builds the contact of a Case from its fields under prefix.
func contactOf(r rest.Record, prefix string) Person {
	p := Person{ID: str(r, prefix+"ContactId"), Name: str(r, prefix+"Contact.Name"), Email: str(r, prefix+"ContactEmail")}
	if p.Email == "" {
		p.Email = str(r, prefix+"SuppliedEmail")
	}
	if p.Name == "" {
		p.Name = str(r, prefix+"SuppliedName")
	}
	return p
}

func ownerOf(r rest.Record, prefix string) Person {
	return Person{ID: str(r, prefix+"OwnerId"), Name: str(r, prefix+"Owner.Name")}
}

// normalize makes a JSON value comparable with one read back from state.
func normalize(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return v
	}
	return out
}

func sameValue(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func (w *Watcher) identity(ctx context.Context) (calls int, err error) {
	if w.own != "" {
		return 0, nil
	}
	id, err := w.cfg.Client.Identity.Get(ctx)
	if err != nil {
		return 1, fmt.Errorf("servicedesk: finding the integration user (to recognise its own comments): %w", err)
	}
	w.own = id.UserID
	return 1, nil
}

// Poll runs one cycle: it reads the changes since the watermark (less the
// overlap) and commits their events, the versions seen and the new
// watermark in one transaction. Events wait in the state store's outbox
// until Deliver hands them over.
func (w *Watcher) Poll(ctx context.Context) (Stats, error) {
	var st Stats
	n, err := w.identity(ctx)
	st.Calls += n
	if err != nil {
		return st, err
	}
	fence, err := w.ensureLease(ctx)
	if err != nil {
		return st, err
	}
	var cp checkpoint
	var version int64
	stored, err := w.cfg.Store.Checkpoint(ctx, w.key)
	var since time.Time
	switch {
	case errors.Is(err, state.ErrNotFound):
		since = w.cfg.Since
		if since.IsZero() {
			// Now, less the overlap: the org's clock may be behind ours.
			since = w.clk.Now().Add(-w.cfg.Overlap)
		}
		cp.Watermark = since.UnixMilli()
	case err != nil:
		return st, fmt.Errorf("servicedesk: reading the watermark: %w", err)
	default:
		if err := json.Unmarshal(stored.Value, &cp); err != nil {
			return st, fmt.Errorf("servicedesk: the stored watermark of %s/%s is unreadable (%w); reset it with `sfbridge state reset`", w.key.Org, w.key.Pipeline, err)
		}
		version = stored.Version
		since = time.UnixMilli(cp.Watermark).Add(-w.cfg.Overlap)
	}
	cases, comments, calls, err := w.fetch(ctx, since)
	st.Calls += calls
	if err != nil {
		return st, err
	}
	st.Cases, st.Comments = len(cases), len(comments)
	rows := append(cases, comments...)
	slices.SortStableFunc(rows, func(a, b row) int {
		if c := a.stamp.Compare(b.stamp); c != 0 {
			return c
		}
		if a.comment != b.comment { // a case before its comment of the same instant
			if a.comment {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.id, b.id)
	})
	var docs []state.Document
	var events []Event
	mark := cp.Watermark
	now := w.clk.Now()
	for _, r := range rows {
		mark = max(mark, r.stamp.UnixMilli())
		var ev *Event
		var doc *state.Document
		var err error
		if r.comment {
			ev, doc, err = w.commentEvent(ctx, r, since, now)
		} else {
			ev, doc, err = w.caseEvent(ctx, r, since, now)
		}
		if err != nil {
			return st, err
		}
		if doc != nil {
			docs = append(docs, *doc)
		}
		if ev != nil {
			events = append(events, *ev)
		}
	}
	st.Watermark = time.UnixMilli(mark).UTC()
	if len(docs) == 0 && mark == cp.Watermark && version > 0 {
		return st, nil
	}
	value, _ := json.Marshal(checkpoint{Watermark: mark})
	out := make([]state.OutboxRecord, len(events))
	for i, e := range events {
		b, err := json.Marshal(e)
		if err != nil {
			return st, fmt.Errorf("servicedesk: encoding event %s: %w", e.ID, err)
		}
		out[i] = state.OutboxRecord{Org: w.cfg.Org, Topic: w.topic, Payload: b, CreatedAt: now}
	}
	if _, err := w.cfg.Store.Commit(ctx, state.Commit{Key: w.key, Expect: version, Value: value, Fence: fence, Documents: docs, Outbox: out}); err != nil {
		return st, fmt.Errorf("servicedesk: committing %d events: %w", len(events), err)
	}
	st.Events = len(events)
	return st, nil
}

// previous returns the stored version of a record: found is false when
// it was never seen; seen is true when this very version was.
func (w *Watcher) previous(ctx context.Context, kind string, r row) (doc state.Document, found, seen bool, err error) {
	doc, err = w.cfg.Store.Document(ctx, w.cfg.Org, kind, r.id)
	if errors.Is(err, state.ErrNotFound) {
		return doc, false, false, nil
	}
	if err != nil {
		return doc, false, false, fmt.Errorf("servicedesk: reading the last version of %s: %w", r.id, err)
	}
	ms, perr := strconv.ParseInt(doc.Version, 10, 64)
	return doc, true, perr == nil && ms >= r.stamp.UnixMilli(), nil
}

func (w *Watcher) caseEvent(ctx context.Context, r row, since, now time.Time) (*Event, *state.Document, error) {
	prevDoc, found, _, err := w.previous(ctx, w.kindCase, r)
	if err != nil {
		return nil, nil, err
	}
	cur := caseDoc{Deleted: boolOf(r.rec, "IsDeleted"), Closed: boolOf(r.rec, "IsClosed"), Fields: map[string]any{}}
	for _, f := range w.tracked {
		v, _ := r.rec.Field(f)
		cur.Fields[f] = normalize(v)
	}
	data, _ := json.Marshal(cur)
	id := eventID(r.id, r.stamp)
	if found {
		prevMS, _ := strconv.ParseInt(prevDoc.Version, 10, 64)
		switch ms := r.stamp.UnixMilli(); {
		case prevMS > ms:
			return nil, nil, nil // an older version than the one kept
		case prevMS == ms && bytes.Equal(prevDoc.Data, data):
			return nil, nil, nil // this version, read again in the overlap
		case prevMS == ms:
			// A second version within the same millisecond: told apart by
			// its content, so its id is still stable.
			sum := sha256.Sum256(data)
			id += "~" + hex.EncodeToString(sum[:4])
		}
	}
	doc := &state.Document{Org: w.cfg.Org, Kind: w.kindCase, ID: r.id, Version: strconv.FormatInt(r.stamp.UnixMilli(), 10), Data: data, UpdatedAt: now}
	ev := &Event{ID: id, Time: r.stamp.UTC(), CaseID: r.id, CaseNumber: str(r.rec, "CaseNumber"), Subject: str(r.rec, "Subject"),
		Status: str(r.rec, "Status"), Contact: contactOf(r.rec, ""), Owner: ownerOf(r.rec, "")}
	if !found {
		created, _ := stampOf(r.rec, "CreatedDate")
		switch {
		case cur.Deleted:
			ev.Type = CaseDeleted
		case !created.Before(since) || created.Equal(r.stamp):
			ev.Type = CaseCreated
		default:
			ev.Type = CaseUpdated // first seen: changed before the watch began
		}
		return ev, doc, nil
	}
	var prev caseDoc
	if err := json.Unmarshal(prevDoc.Data, &prev); err != nil {
		return nil, nil, fmt.Errorf("servicedesk: the stored version of case %s is unreadable: %w", r.id, err)
	}
	for _, f := range w.tracked {
		if old, ok := prev.Fields[f]; !ok || !sameValue(old, cur.Fields[f]) {
			if ev.Changed == nil {
				ev.Changed = map[string]Change{}
			}
			ev.Changed[f] = Change{From: prev.Fields[f], To: cur.Fields[f]}
		}
	}
	switch {
	case cur.Deleted && !prev.Deleted:
		ev.Type = CaseDeleted
	case !cur.Deleted && prev.Deleted:
		ev.Type = CaseUndeleted
	case cur.Deleted:
		return nil, doc, nil // a deleted case changed again: nothing to tell
	case cur.Closed && !prev.Closed:
		ev.Type = CaseClosed
	case !cur.Closed && prev.Closed:
		ev.Type = CaseReopened
	case len(ev.Changed) > 0:
		ev.Type = CaseUpdated
	default:
		return nil, doc, nil // no tracked field changed
	}
	return ev, doc, nil
}

// commentDoc is the last version of a comment the watcher saw: what an
// edit can change.
type commentDoc struct {
	Body   string `json:"body"`
	Public bool   `json:"public"`
}

func (w *Watcher) commentEvent(ctx context.Context, r row, since, now time.Time) (*Event, *state.Document, error) {
	prevDoc, found, seen, err := w.previous(ctx, w.kindComment, r)
	if err != nil || seen {
		return nil, nil, err
	}
	cur := commentDoc{Body: str(r.rec, "CommentBody"), Public: boolOf(r.rec, "IsPublished")}
	data, _ := json.Marshal(cur)
	doc := &state.Document{Org: w.cfg.Org, Kind: w.kindComment, ID: r.id, Version: strconv.FormatInt(r.stamp.UnixMilli(), 10), Data: data, UpdatedAt: now}
	created, _ := stampOf(r.rec, "CreatedDate")
	if boolOf(r.rec, "IsDeleted") || (!found && created.Before(since) && !created.Equal(r.stamp)) {
		return nil, doc, nil // a delete, or a comment older than the watch
	}
	author := str(r.rec, "CreatedById")
	ev := &Event{ID: eventID(r.id, r.stamp), Type: CommentCreated, Time: r.stamp.UTC(), CaseID: str(r.rec, "ParentId"),
		CaseNumber: str(r.rec, "Parent.CaseNumber"), Subject: str(r.rec, "Parent.Subject"), Status: str(r.rec, "Parent.Status"),
		Contact: contactOf(r.rec, "Parent."), Owner: ownerOf(r.rec, "Parent."),
		Comment: &Comment{ID: r.id, Body: cur.Body, Public: cur.Public,
			Author: Person{ID: author, Name: str(r.rec, "CreatedBy.Name")}, Own: author != "" && author == w.own}}
	if !found {
		return ev, doc, nil
	}
	// A newer version of a comment already seen: an edit of its body or
	// its visibility is comment.updated; a version that changes neither
	// (an undelete, or a version kept before the watcher recorded
	// comment contents) only moves the stored version on.
	var prev commentDoc
	if len(prevDoc.Data) == 0 || json.Unmarshal(prevDoc.Data, &prev) != nil {
		return nil, doc, nil
	}
	if prev.Body != cur.Body {
		ev.Changed = map[string]Change{"CommentBody": {From: prev.Body, To: cur.Body}}
	}
	if prev.Public != cur.Public {
		if ev.Changed == nil {
			ev.Changed = map[string]Change{}
		}
		ev.Changed["IsPublished"] = Change{From: prev.Public, To: cur.Public}
	}
	if len(ev.Changed) == 0 {
		return nil, doc, nil
	}
	editor := str(r.rec, "LastModifiedById")
	ev.Type = CommentUpdated
	ev.Comment.EditedBy = &Person{ID: editor, Name: str(r.rec, "LastModifiedBy.Name")}
	ev.Comment.Own = editor != "" && editor == w.own
	return ev, doc, nil
}

// Deliver hands the committed events to fn in commit order, in batches,
// and removes each batch from the outbox once fn returns nil. After a
// crash the last batch may be handed over again (same event ids).
func (w *Watcher) Deliver(ctx context.Context, fn func(context.Context, []Event) error) (int, error) {
	total := 0
	for {
		recs, err := w.cfg.Store.Outbox(ctx, state.OutboxQuery{Org: w.cfg.Org, Topic: w.topic, Limit: 500})
		if err != nil {
			return total, fmt.Errorf("servicedesk: reading undelivered events: %w", err)
		}
		if len(recs) == 0 {
			return total, nil
		}
		events := make([]Event, len(recs))
		seqs := make([]int64, len(recs))
		for i, r := range recs {
			if err := json.Unmarshal(r.Payload, &events[i]); err != nil {
				return total, fmt.Errorf("servicedesk: undelivered event %d is unreadable: %w", r.Seq, err)
			}
			seqs[i] = r.Seq
		}
		if err := fn(ctx, events); err != nil {
			return total, err
		}
		if _, err := w.cfg.Store.AckOutbox(ctx, seqs...); err != nil {
			return total, fmt.Errorf("servicedesk: marking %d events delivered: %w", len(seqs), err)
		}
		total += len(events)
	}
}

// Cycle delivers what an earlier run left undelivered, polls once and
// delivers the new events.
func (w *Watcher) Cycle(ctx context.Context, fn func(context.Context, []Event) error) (Stats, error) {
	if _, err := w.Deliver(ctx, fn); err != nil {
		return Stats{}, err
	}
	st, err := w.Poll(ctx)
	if err != nil {
		return st, err
	}
	_, err = w.Deliver(ctx, fn)
	return st, err
}

// Run polls every interval until ctx ends, delivering events to fn. A
// failed cycle is retried with backoff; errors that retrying cannot fix
// (configuration, a refused query, a fenced write) end Run; a lease held
// by another watcher is waited for. It returns nil when ctx is cancelled.
func (w *Watcher) Run(ctx context.Context, interval time.Duration, fn func(context.Context, []Event) error) error {
	if interval <= 0 {
		return &ConfigError{Field: "interval", Reason: "must be positive", Fix: "poll every 30s or more"}
	}
	b := w.cfg.Retry.Start(w.clk)
	for {
		// Polls start every interval (a cycle's own time is not added to
		// the wait), so a change is read at most one interval plus one
		// cycle after it commits, and an idle org costs exactly one call
		// per interval.
		started := w.clk.Now()
		_, err := w.Cycle(ctx, fn)
		if ctx.Err() != nil {
			return nil
		}
		wait := max(0, interval-w.clk.Since(started))
		if err != nil {
			v := w.classify(err)
			if !v.Retry {
				return err
			}
			d, ok := b.Next(v)
			if !ok {
				return err
			}
			wait = d
		} else {
			b.Reset()
		}
		if wait == 0 {
			continue // the cycle took the whole interval: poll again now
		}
		t := w.clk.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C():
		}
	}
}

// classify judges a failed cycle for Run. A lease held by another owner
// (a crashed watcher's, until it expires, or a live standby's) is waited
// for; configuration errors, a refused query and a write fenced off
// (another watcher took over) end Run.
func (w *Watcher) classify(err error) backoff.Verdict {
	var ce *ConfigError
	var held *state.LeaseHeldError
	var qe *QueryError
	switch {
	case errors.As(err, &held):
		return backoff.Verdict{Retry: true, Reason: err.Error(), After: max(time.Second, held.ExpiresAt.Sub(w.clk.Now()))}
	case errors.As(err, &ce), errors.Is(err, state.ErrFenced), errors.Is(err, state.ErrConflict):
		return backoff.Verdict{Reason: err.Error()}
	case errors.As(err, &qe) && qe.Status < 500:
		return backoff.Verdict{Reason: err.Error()}
	}
	return backoff.Verdict{Retry: true, Reason: err.Error()}
}
