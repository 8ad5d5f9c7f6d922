package data

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/sfbridge/sfbridge/emulator/soql"
)

// This file holds the Service Cloud behaviours a Case watcher has to cope
// with: delayed commits (a record stamped when its transaction started and
// visible only when it commits), undelete, and case assignment rules run by
// the Sforce-Auto-Assign header.

// pendingWrite is a write whose transaction has not committed yet: its
// SystemModstamp was taken when it started, but queries, retrieves and
// get-updated/get-deleted do not see it until due.
type pendingWrite struct {
	t     *table
	id    string
	rec   *record
	isNew bool
	del   *deletion // delete log entry, for a delete
	due   time.Time
}

// SetCommitDelay makes API writes (create, update, delete of records by a
// caller, outside an allOrNone composite request) commit d after they
// start: the record carries the SystemModstamp of the start and becomes
// visible d later on the org's clock. A later write to the same record, or
// a create that refers to it, waits for it (the row lock) and commits it
// first. Zero (the default) commits at once.
func (s *Store) SetCommitDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commitDelay = max(0, d)
}

// CommitDelay returns the delay set by SetCommitDelay.
func (s *Store) CommitDelay() time.Duration {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.commitDelay
}

// Pending reports how many writes are waiting to commit.
// Writes that are due are committed first.
func (s *Store) Pending() int {
	s.ApplyDue()
	return int(s.npending.Load())
}

// delayed reports whether a write with wo goes through the pending queue.
func (s *Store) delayed(wo writeOpts) bool {
	return !wo.system && wo.undo == nil && s.commitDelay > 0
}

func (s *Store) pendLocked(pw pendingWrite) {
	pw.due = s.now().Add(s.commitDelay)
	s.pending = append(s.pending, pw)
	s.npending.Store(int32(len(s.pending)))
}

// ApplyDue commits the pending writes whose commit time has come. The data
// API calls it before serving each request.
func (s *Store) ApplyDue() {
	if s.npending.Load() == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	keep := s.pending[:0]
	for _, pw := range s.pending {
		if pw.due.After(now) {
			keep = append(keep, pw)
			continue
		}
		s.applyLocked(pw)
	}
	clear(s.pending[len(keep):])
	s.pending = keep
	s.npending.Store(int32(len(s.pending)))
}

// commitPendingLocked commits at once every pending write of the record id
// (a later transaction on the same row waits for the earlier one).
func (s *Store) commitPendingLocked(id string) {
	if len(s.pending) == 0 || id == "" {
		return
	}
	keep := s.pending[:0]
	for _, pw := range s.pending {
		if pw.id == id {
			s.applyLocked(pw)
			continue
		}
		keep = append(keep, pw)
	}
	clear(s.pending[len(keep):])
	s.pending = keep
	s.npending.Store(int32(len(s.pending)))
}

// commitChildrenLocked commits at once the pending writes of ct's records
// whose field fk refers to parent (a cascade delete locks the children).
func (s *Store) commitChildrenLocked(ct *table, fk int, parent string) {
	for _, pw := range s.pending {
		if pw.t == ct && pw.rec.Get(fk) == parent {
			s.commitPendingLocked(pw.id)
			s.commitChildrenLocked(ct, fk, parent)
			return
		}
	}
}

func (s *Store) applyLocked(pw pendingWrite) {
	t := pw.t
	if i, ok := t.byID[pw.id]; ok {
		t.recs[i] = pw.rec
	} else {
		t.byID[pw.id] = int32(len(t.recs))
		t.recs = append(t.recs, pw.rec)
	}
	if pw.del != nil {
		t.deletes = append(t.deletes, *pw.del)
	}
	if t.def.Name == ObjContact && !pw.isNew {
		s.refreshCaseContactLocked(pw.id, nil)
	}
}

// Undelete restores a record from the recycle bin as the caller (Salesforce
// offers it through SOAP, Apex and the UI; the emulator through this method
// and the admin API). Undeleting a Case also restores the comments deleted
// with it. The record gets a new SystemModstamp and leaves get-deleted.
func (s *Store) Undelete(ctx context.Context, object, id string) error {
	p, e := principal(ctx)
	if e != nil {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, a, e := s.readable(p, object)
	if e != nil {
		return e
	}
	if !t.def.Deletable || !a.Delete {
		return insufficientAccess()
	}
	s.commitPendingLocked(id)
	r := s.lookup(t, id)
	if r == nil {
		return notFound()
	}
	if r.Get(deletedIndex(t.def)) != true {
		return badRequest("UNDELETE_FAILED", "Entity is not in the recycle bin: "+id)
	}
	when, _ := s.deletedAtLocked(t, id)
	s.restoreLocked(t, r, string(p.UserID))
	for _, ch := range t.def.Children {
		if !ch.CascadeDelete {
			continue
		}
		ct := s.tables[strings.ToLower(ch.ChildSObject)]
		fd, _ := ct.def.Field(ch.Field)
		for _, c := range ct.recs {
			if c.Get(fd.index) != r.id() || c.Get(deletedIndex(ct.def)) != true {
				continue
			}
			if cw, ok := s.deletedAtLocked(ct, c.id()); ok && cw >= when {
				s.restoreLocked(ct, c, string(p.UserID))
			}
		}
	}
	return nil
}

func (s *Store) deletedAtLocked(t *table, id string) (soql.DateTime, bool) {
	for i := len(t.deletes) - 1; i >= 0; i-- {
		if t.deletes[i].id == id {
			return t.deletes[i].when, true
		}
	}
	return 0, false
}

func (s *Store) restoreLocked(t *table, r *record, user string) {
	vals := r.full(len(t.def.Fields))
	vals[deletedIndex(t.def)] = false
	fd, _ := t.def.Field("SystemModstamp")
	vals[fd.index] = any(s.stamp())
	if fd, ok := t.def.Field("LastModifiedById"); ok && user != "" {
		vals[fd.index] = user
	}
	s.replaceLocked(t, r, newRecord(vals), nil)
	kept := t.deletes[:0]
	for _, d := range t.deletes {
		if d.id != r.id() {
			kept = append(kept, d)
		}
	}
	t.deletes = kept
}

// AssignmentRule is one entry of the org's active case assignment rule:
// a new Case whose Origin matches (empty matches every origin) is given
// OwnerID, a user (005) or a queue (00G). Entries are tried in order.
type AssignmentRule struct {
	Origin  string `json:"origin,omitempty"`
	OwnerID string `json:"owner_id"`
}

// SetAssignmentRules replaces the active case assignment rule. A Case
// created through the API runs it unless the request says
// Sforce-Auto-Assign: FALSE (the header defaults to TRUE, as in Salesforce).
func (s *Store) SetAssignmentRules(rules []AssignmentRule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.assign = append([]AssignmentRule(nil), rules...)
}

// AssignmentRules returns the active case assignment rule.
func (s *Store) AssignmentRules() []AssignmentRule {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]AssignmentRule(nil), s.assign...)
}

type autoAssignKey struct{}

// withAutoAssign records the request's Sforce-Auto-Assign header.
func withAutoAssign(ctx context.Context, h http.Header) context.Context {
	v := strings.TrimSpace(h.Get("Sforce-Auto-Assign"))
	return context.WithValue(ctx, autoAssignKey{}, !strings.EqualFold(v, "false"))
}

// assignLocked applies the assignment rule to a new Case's fields.
func (s *Store) assignLocked(ctx context.Context, fields map[string]any) {
	if on, ok := ctx.Value(autoAssignKey{}).(bool); !ok || !on || len(s.assign) == 0 {
		return
	}
	origin, _ := fields["Origin"].(string)
	for _, r := range s.assign {
		if r.Origin == "" || strings.EqualFold(r.Origin, origin) {
			fields["OwnerId"] = r.OwnerID
			return
		}
	}
}

// Scan calls fn for every committed record of object, deleted ones
// included, with a getter of its fields by API name (a dateTime as a
// time.Time, other values as Insert accepts them). fn must not call the
// store.
func (s *Store) Scan(object string, fn func(id string, get func(field string) any)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.tables[strings.ToLower(object)]
	if !ok {
		return
	}
	for _, r := range t.recs {
		fn(r.id(), func(field string) any {
			fd, ok := t.def.Field(field)
			if !ok {
				return nil
			}
			if dt, ok := r.Get(fd.index).(soql.DateTime); ok {
				return dt.Time()
			}
			return r.Get(fd.index)
		})
	}
}
