package eventlog

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sfbridge/sfbridge/rest"
	"github.com/sfbridge/sfbridge/sink"
)

// ObjectNames lists the objects a Collector reads records of.
func ObjectNames() []string {
	return []string{"SetupAuditTrail", "LoginHistory", "LoginEvent", "LogoutEvent", "ApiEvent"}
}

// objectKind says how an object is read: by which date field, and whether
// it is a big object read in bounded EventDate windows (only EventDate and
// EventIdentifier can be filtered on, only EventDate sorted on).
func objectKind(name string) (field string, windowed, ok bool) {
	switch name {
	case "SetupAuditTrail":
		return "CreatedDate", false, true
	case "LoginHistory":
		return "LoginTime", false, true
	case "LoginEvent", "LogoutEvent", "ApiEvent":
		return "EventDate", true, true
	}
	return "", false, false
}

// objectFields is the SELECT list: every field the describe lists, but
// compound ones.
func (r *run) objectFields(ctx context.Context, name string) (string, error) {
	d, err := r.c.cfg.Client.SObjects.Describe(ctx, name)
	if err != nil {
		return "", fmt.Errorf("eventlog: describing %s (the user needs read access to it): %w", name, err)
	}
	var names []string
	for _, f := range d.Fields {
		if f.Type == "address" || f.Type == "location" {
			continue
		}
		names = append(names, f.Name)
	}
	if !slices.Contains(names, "Id") {
		names = append([]string{"Id"}, names...)
	}
	return strings.Join(names, ", "), nil
}

type objectEvent struct {
	at time.Time
	id string // the cursor's tie-breaker: Id, or EventIdentifier for big objects
	ev sink.Event
}

func (r *run) objectEvent(name, field string, rec rest.Record, windowed bool) (objectEvent, error) {
	or, err := ObjectEvent(name, rec, r.c.cfg.InstanceURL)
	if err != nil {
		return objectEvent{}, err
	}
	s, _ := rec[field].(string)
	at, err := rest.ParseDateTime(s)
	if err != nil {
		return objectEvent{}, fmt.Errorf("eventlog: %s %s: %s: %w", name, rec.ID(), field, err)
	}
	id := rec.ID()
	if windowed {
		id = or.ID
	}
	return objectEvent{at: at, id: id, ev: sink.Event{ID: or.ID, Dataset: or.Dataset.Name, Doc: or.JSON}}, nil
}

// deliverObjects writes evs in batches, moving the object's cursor to the
// last event of each batch.
func (r *run) deliverObjects(ctx context.Context, name string, evs []objectEvent) error {
	for len(evs) > 0 {
		n := min(len(evs), r.c.cfg.BatchEvents)
		batch := make([]sink.Event, n)
		for i := range n {
			batch[i] = evs[i].ev
		}
		last := evs[n-1]
		r.sum.Events += int64(n)
		r.sum.add(name, func(tc *TypeCount) { tc.Events += int64(n) })
		if err := r.deliver(ctx, batch, func(cp *checkpoint) {
			if cp.Objects == nil {
				cp.Objects = map[string]*cursorValue{}
			}
			cp.Objects[name] = &cursorValue{Time: last.at, ID: last.id}
		}); err != nil {
			return err
		}
		evs = evs[n:]
	}
	return nil
}

func (r *run) collectObject(ctx context.Context, name string) error {
	field, windowed, _ := objectKind(name)
	fields, err := r.objectFields(ctx, name)
	if err != nil {
		return err
	}
	if windowed {
		return r.collectWindows(ctx, name, field, fields)
	}
	var where string
	if cur := r.cp.Objects[name]; cur != nil {
		where = " WHERE " + cursorPredicate(field, cur.Time, cur.ID)
	} else if !r.c.cfg.Since.IsZero() {
		where = " WHERE " + field + " >= " + soqlTime(r.c.cfg.Since)
	}
	soql := "SELECT " + fields + " FROM " + name + where + " ORDER BY " + field + ", Id"
	var pending []objectEvent
	for rec, err := range r.c.cfg.Client.Query.Records(ctx, soql, nil) {
		if err != nil {
			return fmt.Errorf("eventlog: reading %s: %w", name, err)
		}
		oe, err := r.objectEvent(name, field, rec, false)
		if err != nil {
			return err
		}
		pending = append(pending, oe)
		if len(pending) >= r.c.cfg.BatchEvents {
			if err := r.deliverObjects(ctx, name, pending); err != nil {
				return err
			}
			pending = pending[:0]
		}
	}
	return r.deliverObjects(ctx, name, pending)
}

// collectWindows reads a big object in windows of EventDate, from the
// cursor to now minus the lag. A window's records are sorted by (EventDate,
// EventIdentifier) here, since Salesforce sorts big objects by EventDate
// only; the cursor is such a pair, so a window cut short by a crash resumes
// after its last delivered record.
func (r *run) collectWindows(ctx context.Context, name, field, fields string) error {
	cfg := &r.c.cfg
	cur := r.cp.Objects[name]
	start := cfg.Since
	if cur != nil {
		start = cur.Time
	}
	if start.IsZero() {
		return &CollectorConfigError{Problem: name + " is read in windows of EventDate and needs a start: set Since"}
	}
	end := r.c.clk.Now().Add(-cfg.Lag).UTC()
	for ws := start; ws.Before(end); {
		we := ws.Add(cfg.Window)
		if we.After(end) {
			we = end
		}
		soql := fmt.Sprintf("SELECT %s FROM %s WHERE %s >= %s AND %s <= %s ORDER BY %s", fields, name, field, soqlTime(ws), field, soqlTime(we), field)
		var evs []objectEvent
		for rec, err := range cfg.Client.Query.Records(ctx, soql, nil) {
			if err != nil {
				return fmt.Errorf("eventlog: reading %s: %w", name, err)
			}
			oe, err := r.objectEvent(name, field, rec, true)
			if err != nil {
				return err
			}
			if cur != nil && (oe.at.Before(cur.Time) || oe.at.Equal(cur.Time) && oe.id <= cur.ID) {
				continue
			}
			evs = append(evs, oe)
		}
		slices.SortFunc(evs, func(a, b objectEvent) int {
			if c := a.at.Compare(b.at); c != 0 {
				return c
			}
			return strings.Compare(a.id, b.id)
		})
		if err := r.deliverObjects(ctx, name, evs); err != nil {
			return err
		}
		cur = r.cp.Objects[name]
		if cur == nil || cur.Time.Before(we) {
			cur = &cursorValue{Time: we}
			if err := r.deliver(ctx, nil, func(cp *checkpoint) {
				if cp.Objects == nil {
					cp.Objects = map[string]*cursorValue{}
				}
				cp.Objects[name] = cur
			}); err != nil {
				return err
			}
		}
		ws = we
	}
	return nil
}
