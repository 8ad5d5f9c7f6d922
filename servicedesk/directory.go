package servicedesk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/rest"
	"github.com/sfbridge/sfbridge/state"
)

// Directory keeps a local copy of the org's people — Contacts and Users
// with chosen fields — in the state store, for bots that ingest users.
// Each Sync reads what changed since the last one (by SystemModstamp, with
// an overlap for late commits) in one composite call while nothing
// changed; deleted Contacts are removed, deactivated Users kept with
// IsActive false.
type Directory struct {
	Client *rest.Client
	Store  state.Store
	Org    string
	// ContactFields and UserFields are copied besides Id, Name, Email and
	// (Users) IsActive.
	ContactFields, UserFields []string
	// Overlap re-read before the watermark (default 2 minutes).
	Overlap time.Duration
	Clock   clock.Clock
	// Fence, when set, is a lease the caller holds on the directory's
	// pipeline (see DirectoryLease): Sync fences its commit with it and
	// takes no lease of its own.
	Fence state.Fence
}

// DirectoryLease names the lease that guards the directory of org.
func DirectoryLease(org string) string { return state.PipelineLease(org, directoryPipeline) }

// DirectoryEntry is one person of the directory.
type DirectoryEntry struct {
	Object string         `json:"object"` // Contact or User
	ID     string         `json:"id"`
	Name   string         `json:"name"`
	Email  string         `json:"email"`
	Active bool           `json:"active"`
	Fields map[string]any `json:"fields,omitempty"`
}

// DirectoryStats says what a sync did.
type DirectoryStats struct {
	Contacts int `json:"contacts"`
	Users    int `json:"users"`
	Removed  int `json:"removed"`
	Calls    int `json:"api_calls"`
}

const (
	kindDirectory     = "directory.person"
	directoryPipeline = "directory"
)

// Sync brings the local copy up to date; a first sync copies everyone.
func (d *Directory) Sync(ctx context.Context) (DirectoryStats, error) {
	var st DirectoryStats
	if d.Client == nil || d.Store == nil || d.Org == "" {
		return st, &ConfigError{Field: "Directory", Reason: "Client, Store and Org are required", Fix: "pass a rest.Client, an opened state.Store and the org's name"}
	}
	for _, f := range append(append([]string(nil), d.ContactFields...), d.UserFields...) {
		if !rest.IsAPIName(f) {
			return st, &ConfigError{Field: "fields", Reason: fmt.Sprintf("%q is not a field API name", f), Fix: "name fields such as Department,Title"}
		}
	}
	overlap := d.Overlap
	if overlap <= 0 {
		overlap = 2 * time.Minute
	}
	clk := clock.Or(d.Clock)
	fence := d.Fence
	if fence.Lease == "" {
		lease, err := d.Store.AcquireLease(ctx, DirectoryLease(d.Org), "servicedesk directory", 5*time.Minute)
		if err != nil {
			return st, fmt.Errorf("servicedesk: taking the directory's lease: %w", err)
		}
		defer func() { _ = d.Store.ReleaseLease(context.WithoutCancel(ctx), lease) }()
		fence = state.FenceOf(lease)
	}
	key := state.CheckpointKey{Org: d.Org, Pipeline: directoryPipeline, Key: "watermark"}
	var cp checkpoint
	var version int64
	where := ""
	stored, err := d.Store.Checkpoint(ctx, key)
	switch {
	case errors.Is(err, state.ErrNotFound):
	case err != nil:
		return st, fmt.Errorf("servicedesk: reading the directory's watermark: %w", err)
	default:
		if err := json.Unmarshal(stored.Value, &cp); err != nil {
			return st, fmt.Errorf("servicedesk: the directory's watermark is unreadable (%w); reset it with `sfbridge state reset`", err)
		}
		version = stored.Version
		where = " WHERE SystemModstamp >= " + rest.FormatDateTime(time.UnixMilli(cp.Watermark).Add(-overlap))
	}
	contactQ := "SELECT " + strings.Join(withBase([]string{"Id", "Name", "Email", "IsDeleted", "SystemModstamp"}, d.ContactFields), ", ") + " FROM Contact" + where + " ORDER BY SystemModstamp, Id"
	userQ := "SELECT " + strings.Join(withBase([]string{"Id", "Name", "Email", "IsActive", "SystemModstamp"}, d.UserFields), ", ") + " FROM User" + where + " ORDER BY SystemModstamp, Id"
	subs, err := d.Client.Composite.Do(ctx, rest.CompositeRequest{Requests: []rest.Subrequest{
		{Method: "GET", URL: "queryAll?q=" + url.QueryEscape(contactQ), ReferenceID: "contacts"},
		{Method: "GET", URL: "query?q=" + url.QueryEscape(userQ), ReferenceID: "users"},
	}})
	st.Calls++
	if err != nil {
		return st, fmt.Errorf("servicedesk: syncing the directory: %w", err)
	}
	now := clk.Now()
	mark := cp.Watermark
	var docs []state.Document
	var gone []string
	for i, sub := range subs {
		if i > 1 {
			break
		}
		object := [2]string{"Contact", "User"}[i]
		if sub.HTTPStatusCode >= 300 {
			qe := &QueryError{Object: object, Status: sub.HTTPStatusCode}
			if items := sub.Errors(); len(items) > 0 {
				qe.Code, qe.Msg = items[0].Code(), items[0].Message
			}
			return st, qe
		}
		var page rest.Page[rest.Record]
		if err := json.NewDecoder(bytes.NewReader(sub.Body)).Decode(&page); err != nil {
			return st, fmt.Errorf("servicedesk: syncing the directory: reading %s: %w", object, err)
		}
		recs := page.Records
		for !page.Done {
			next, err := d.Client.Query.NextPage(ctx, page.NextRecordsURL)
			st.Calls++
			if err != nil {
				return st, fmt.Errorf("servicedesk: syncing the directory: next page of %s: %w", object, err)
			}
			page = *next
			recs = append(recs, page.Records...)
		}
		extra := d.ContactFields
		if object == "User" {
			extra = d.UserFields
		}
		for _, r := range recs {
			stamp, err := stampOf(r, "SystemModstamp")
			if err != nil {
				return st, fmt.Errorf("servicedesk: syncing the directory: %s %s: %w", object, r.ID(), err)
			}
			mark = max(mark, stamp.UnixMilli())
			prev, err := d.Store.Document(ctx, d.Org, kindDirectory, r.ID())
			found := err == nil
			if err != nil && !errors.Is(err, state.ErrNotFound) {
				return st, fmt.Errorf("servicedesk: reading directory entry %s: %w", r.ID(), err)
			}
			if boolOf(r, "IsDeleted") {
				if found {
					gone = append(gone, r.ID())
				}
				continue
			}
			if found && prev.Version == fmt.Sprint(stamp.UnixMilli()) {
				continue // re-read in the overlap: already copied
			}
			e := DirectoryEntry{Object: object, ID: r.ID(), Name: str(r, "Name"), Email: str(r, "Email"), Active: object == "Contact" || boolOf(r, "IsActive")}
			for _, f := range extra {
				if v, ok := r.Field(f); ok {
					if e.Fields == nil {
						e.Fields = map[string]any{}
					}
					e.Fields[f] = v
				}
			}
			data, _ := json.Marshal(e)
			docs = append(docs, state.Document{Org: d.Org, Kind: kindDirectory, ID: r.ID(), Version: fmt.Sprint(stamp.UnixMilli()),
				Title: e.Name, Body: e.Email, Data: data, UpdatedAt: now})
			if object == "Contact" {
				st.Contacts++
			} else {
				st.Users++
			}
		}
	}
	// Removals go in the fenced commit with the upserts: a replica that
	// lost the lease removes nothing.
	value, _ := json.Marshal(checkpoint{Watermark: mark})
	if _, err := d.Store.Commit(ctx, state.Commit{Key: key, Expect: version, Value: value, Fence: fence, Documents: docs, Deletes: state.DocumentRefs(d.Org, kindDirectory, gone)}); err != nil {
		return st, fmt.Errorf("servicedesk: committing %d directory entries and %d removals: %w", len(docs), len(gone), err)
	}
	st.Removed = len(gone)
	return st, nil
}

func withBase(base, extra []string) []string {
	out := append([]string(nil), base...)
	for _, f := range extra {
		dup := false
		for _, b := range out {
			dup = dup || strings.EqualFold(b, f)
		}
		if !dup {
			out = append(out, f)
		}
	}
	return out
}

// Entry returns a synced directory entry by Contact or User id.
func (d *Directory) Entry(ctx context.Context, id string) (*DirectoryEntry, error) {
	doc, err := d.Store.Document(ctx, d.Org, kindDirectory, id)
	if errors.Is(err, state.ErrNotFound) {
		return nil, &NotFoundError{What: "directory entry", Key: id}
	}
	if err != nil {
		return nil, fmt.Errorf("servicedesk: reading directory entry %s: %w", id, err)
	}
	var e DirectoryEntry
	if err := json.Unmarshal(doc.Data, &e); err != nil {
		return nil, fmt.Errorf("servicedesk: directory entry %s is unreadable: %w", id, err)
	}
	return &e, nil
}
