package data

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/sfbridge/sfbridge/emulator/sfid"
)

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
