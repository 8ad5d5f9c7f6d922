package rest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/rest"
	"github.com/sfbridge/sfbridge/sftest"
)

// These tests exercise the composite, collection, upsert, describe,
// replication and typed-query features of the client against the org
// emulator, which must answer as Salesforce documents.

// lastStatus is the HTTP status of the latest logged request whose path
// ends with suffix.
func lastStatus(t *testing.T, s *sftest.Server, method, suffix string) int {
	t.Helper()
	reqs := s.Org.Requests(0)
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Method == method && strings.HasSuffix(reqs[i].Path, suffix) {
			return reqs[i].Status
		}
	}
	t.Fatalf("no %s request to …%s logged", method, suffix)
	return 0
}

const contactWriter = "contact-writer@sfbridge.test"

// writerClient is a client for a user like the integration user who may
// also create, edit and delete Contacts.
func writerClient(t *testing.T, s *sftest.Server) *rest.Client {
	t.Helper()
	rw := []string{"read", "create", "edit", "delete"}
	if err := s.Org.PutPermissionSet(emulator.PermissionSetSpec{Name: "Contact_Writer", Objects: map[string][]string{"Contact": rw}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Org.AddUser(emulator.UserSpec{Username: contactWriter, LastName: "Writer", Email: contactWriter,
		Profile: "Minimum Access - API Only Integrations", PermissionSets: []string{"sfbridge_Integration", "sfbridge_App_Access", "Contact_Writer"}}); err != nil {
		t.Fatal(err)
	}
	return clientFor(t, s, contactWriter)
}

// clientFor is a client logged in as username.
func clientFor(t *testing.T, s *sftest.Server, username string) *rest.Client {
	t.Helper()
	src, err := auth.NewTokenSource(auth.Config{ConsumerKey: s.ClientID, Username: username, PrivateKey: s.Key, LoginURL: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	c, err := rest.New(src, rest.WithRetry(rest.RetryPolicy{Sleep: func(context.Context, time.Duration) error { return nil }}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func countOf(t *testing.T, c *rest.Client, soql string) int {
	t.Helper()
	n, err := c.Query.Count(t.Context(), soql, nil)
	if err != nil {
		t.Fatalf("%s: %v", soql, err)
	}
	return n
}

func subBody(t *testing.T, r rest.Subresponse) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("subresponse %s body %s: %v", r.ReferenceID, r.Body, err)
	}
	return m
}

func TestEmulatorComposite(t *testing.T) {
	s := sftest.NewServer(t)
	c := writerClient(t, s)
	ctx := t.Context()

	res, err := c.Composite.Do(ctx, rest.CompositeRequest{AllOrNone: true, Requests: []rest.Subrequest{
		{Method: "POST", URL: "sobjects/Contact", ReferenceID: "newContact", Body: map[string]any{"LastName": "Composite", "Email": "composite@example.com"}},
		{Method: "POST", URL: "sobjects/Case", ReferenceID: "newCase", Body: map[string]any{"Subject": "Composite case", "ContactId": "@{newContact.id}"}},
		{Method: "GET", URL: "query/?q=" + strings.ReplaceAll("SELECT Id, Subject, Contact.Email FROM Case WHERE Id = '@{newCase.id}'", " ", "+"), ReferenceID: "q"},
		{Method: "PATCH", URL: "sobjects/Case/@{q.records[0].Id}", ReferenceID: "upd", Body: map[string]any{"Status": "Working"}},
		{Method: "GET", URL: "sobjects/Case/@{newCase.id}?fields=Status,ContactId", ReferenceID: "get"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 5 {
		t.Fatalf("%d subresponses", len(res))
	}
	wantStatus := []int{201, 201, 200, 204, 200}
	for i, r := range res {
		if r.HTTPStatusCode != wantStatus[i] {
			t.Fatalf("subresponse %d (%s): %d %s, want %d", i, r.ReferenceID, r.HTTPStatusCode, r.Body, wantStatus[i])
		}
		if want := []string{"newContact", "newCase", "q", "upd", "get"}[i]; r.ReferenceID != want {
			t.Errorf("subresponse %d has referenceId %q, want %q", i, r.ReferenceID, want)
		}
	}
	contactID, _ := subBody(t, res[0])["id"].(string)
	caseID, _ := subBody(t, res[1])["id"].(string)
	if !strings.HasPrefix(contactID, "003") || !strings.HasPrefix(caseID, "500") {
		t.Fatalf("created %q and %q", contactID, caseID)
	}
	// Composite subresponses for creates carry a Location header.
	if loc := res[1].HTTPHeaders["Location"]; !strings.HasSuffix(loc, "/sobjects/Case/"+caseID) {
		t.Errorf("Location of the created case = %q", loc)
	}
	q := subBody(t, res[2])
	recs, _ := q["records"].([]any)
	if q["totalSize"] != float64(1) || len(recs) != 1 {
		t.Fatalf("query subresponse: %s", res[2].Body)
	}
	rec, _ := recs[0].(map[string]any)
	if contact, _ := rec["Contact"].(map[string]any); rec["Id"] != caseID || contact["Email"] != "composite@example.com" {
		t.Errorf("queried record %v", rec)
	}
	if got := subBody(t, res[4]); got["Status"] != "Working" || got["ContactId"] != contactID {
		t.Errorf("case after update: %s", res[4].Body)
	}
	// The whole composite request counts as one API call.
	posts := 0
	for _, r := range s.Org.Requests(0) {
		if strings.Contains(r.Path, "/sobjects") {
			posts++
		}
	}
	if posts != 0 {
		t.Errorf("%d subrequests were logged as calls of their own", posts)
	}

	t.Run("allOrNone rolls back", func(t *testing.T) {
		before := countOf(t, c, "SELECT COUNT() FROM Contact")
		res, err := c.Composite.Do(ctx, rest.CompositeRequest{AllOrNone: true, Requests: []rest.Subrequest{
			{Method: "POST", URL: "sobjects/Contact", ReferenceID: "ok", Body: map[string]any{"LastName": "Rolled back"}},
			{Method: "POST", URL: "sobjects/Contact", ReferenceID: "bad", Body: map[string]any{"FirstName": "No last name"}},
			{Method: "POST", URL: "sobjects/Case", ReferenceID: "after", Body: map[string]any{"Subject": "never", "ContactId": "@{ok.id}"}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 3 {
			t.Fatalf("%d subresponses", len(res))
		}
		for i, r := range res {
			if r.HTTPStatusCode != 400 || len(r.Errors()) == 0 {
				t.Fatalf("subresponse %d: %d %s", i, r.HTTPStatusCode, r.Body)
			}
		}
		if code := res[1].Errors()[0].Code(); code != string(rest.ErrRequiredFieldMissing) {
			t.Errorf("failing subrequest: %s", res[1].Body)
		}
		for _, i := range []int{0, 2} {
			if code := res[i].Errors()[0].Code(); code != "PROCESSING_HALTED" {
				t.Errorf("subresponse %d: %s, want PROCESSING_HALTED", i, res[i].Body)
			}
		}
		if after := countOf(t, c, "SELECT COUNT() FROM Contact"); after != before {
			t.Errorf("%d contacts after a rolled-back composite, %d before", after, before)
		}
	})

	t.Run("at most 5 queries", func(t *testing.T) {
		var subs []rest.Subrequest
		for i := range 6 {
			subs = append(subs, rest.Subrequest{Method: "GET", URL: "query/?q=SELECT+Id+FROM+Case+LIMIT+1", ReferenceID: fmt.Sprintf("q%d", i)})
		}
		_, err := c.Composite.Do(ctx, rest.CompositeRequest{Requests: subs})
		var ae *rest.APIError
		if !errors.As(err, &ae) || ae.StatusCode != http.StatusBadRequest {
			t.Errorf("six queries: %v", err)
		}
	})

	t.Run("without allOrNone the others proceed", func(t *testing.T) {
		res, err := c.Composite.Do(ctx, rest.CompositeRequest{Requests: []rest.Subrequest{
			{Method: "GET", URL: "sobjects/Case/500000000000000AAA", ReferenceID: "missing"},
			{Method: "POST", URL: "sobjects/Contact", ReferenceID: "kept", Body: map[string]any{"LastName": "Kept"}},
			{Method: "GET", URL: "sobjects/Case/@{missing.Id}", ReferenceID: "dependent"},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 3 || res[0].HTTPStatusCode != 404 || res[1].HTTPStatusCode != 201 || res[2].HTTPStatusCode != 400 {
			for _, r := range res {
				t.Logf("%s: %d %s", r.ReferenceID, r.HTTPStatusCode, r.Body)
			}
			t.Fatal("unexpected statuses")
		}
		if code := res[2].Errors()[0].Code(); code != "PROCESSING_HALTED" {
			t.Errorf("reference to a failed subrequest: %s", res[2].Body)
		}
		id, _ := subBody(t, res[1])["id"].(string)
		if _, err := c.SObjects.Get(ctx, "Contact", id); err != nil {
			t.Errorf("the successful subrequest was not kept: %v", err)
		}
	})
}

func contactRecord(fields map[string]any) rest.Record {
	r := rest.Record{"attributes": map[string]any{"type": "Contact"}}
	for k, v := range fields {
		r[k] = v
	}
	return r
}

func TestEmulatorCollections(t *testing.T) {
	s := sftest.NewServer(t)
	c := writerClient(t, s)
	ctx := t.Context()

	created, err := c.Composite.Create(ctx, false, []rest.Record{
		contactRecord(map[string]any{"LastName": "Coll-1", "External_Id__c": "COLL-1"}),
		contactRecord(map[string]any{"FirstName": "No last name"}),
		contactRecord(map[string]any{"LastName": "Coll-3", "Email": "coll3@example.com"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != 3 {
		t.Fatalf("%d results", len(created))
	}
	if !created[0].Success || !created[2].Success || !strings.HasPrefix(created[0].ID, "003") || !strings.HasPrefix(created[2].ID, "003") {
		t.Fatalf("valid records: %+v", created)
	}
	if created[1].Success || created[1].ID != "" || len(created[1].Errors) != 1 ||
		created[1].Errors[0].StatusCode != string(rest.ErrRequiredFieldMissing) || !slices.Contains(created[1].Errors[0].Fields, "LastName") {
		t.Fatalf("record without LastName: %+v", created[1])
	}
	id1, id3 := created[0].ID, created[2].ID

	updated, err := c.Composite.Update(ctx, false, []rest.Record{
		contactRecord(map[string]any{"Id": id1, "Title": "Engineer"}),
		contactRecord(map[string]any{"Id": id3, "Title": "Manager"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range updated {
		if !r.Success || r.ID != []string{id1, id3}[i] {
			t.Fatalf("update result %d: %+v", i, r)
		}
	}

	upserted, err := c.Composite.Upsert(ctx, false, "Contact", "External_Id__c", []rest.Record{
		contactRecord(map[string]any{"External_Id__c": "COLL-1", "Department": "R&D"}),
		contactRecord(map[string]any{"External_Id__c": "COLL-NEW", "LastName": "Coll-New"}),
	})
	if err != nil {
		t.Fatalf("collection upsert: %v", err)
	}
	if len(upserted) != 2 || !upserted[0].Success || upserted[0].ID != id1 || upserted[0].Created == nil || *upserted[0].Created ||
		!upserted[1].Success || upserted[1].Created == nil || !*upserted[1].Created || !strings.HasPrefix(upserted[1].ID, "003") {
		t.Fatalf("upsert results: %+v", upserted)
	}
	newID := upserted[1].ID

	got, err := c.Composite.Retrieve(ctx, "Contact", []string{id1, id3, newID, "003000000000000AAA"}, []string{"Id", "LastName", "Title", "Department"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[3] != nil {
		t.Fatalf("retrieved %v", got)
	}
	if got[0].ID() != id1 || got[0]["Title"] != "Engineer" || got[0]["Department"] != "R&D" || got[0].Type() != "Contact" {
		t.Errorf("first record %v", got[0])
	}
	if got[1]["Title"] != "Manager" || got[2]["LastName"] != "Coll-New" {
		t.Errorf("records %v, %v", got[1], got[2])
	}

	deleted, err := c.Composite.Delete(ctx, false, []string{id3, newID})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range deleted {
		if !r.Success || r.ID != []string{id3, newID}[i] {
			t.Fatalf("delete result %d: %+v", i, r)
		}
	}
	again, err := c.Composite.Delete(ctx, false, []string{id3})
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 1 || again[0].Success || len(again[0].Errors) == 0 || again[0].Errors[0].StatusCode != string(rest.ErrEntityIsDeleted) {
		t.Errorf("deleting a deleted record: %+v", again)
	}
	if got, err := c.Composite.Retrieve(ctx, "Contact", []string{id1, id3}, []string{"LastName"}); err != nil || len(got) != 2 || got[0] == nil || got[1] != nil {
		t.Errorf("retrieve after delete: %v, %v", got, err)
	}

	t.Run("mixed types", func(t *testing.T) {
		res, err := c.Composite.Create(ctx, true, []rest.Record{
			contactRecord(map[string]any{"LastName": "Mixed"}),
			{"attributes": map[string]any{"type": "Case"}, "Subject": "Mixed", "ContactId": id1},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 2 || !res[0].Success || !strings.HasPrefix(res[0].ID, "003") || !res[1].Success || !strings.HasPrefix(res[1].ID, "500") {
			t.Fatalf("results %+v", res)
		}
	})

	t.Run("allOrNone", func(t *testing.T) {
		before := countOf(t, c, "SELECT COUNT() FROM Contact")
		res, err := c.Composite.Create(ctx, true, []rest.Record{
			contactRecord(map[string]any{"LastName": "All-1"}),
			contactRecord(map[string]any{"Email": "none@example.com"}),
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 2 || res[0].Success || res[1].Success || res[0].ID != "" ||
			len(res[0].Errors) != 1 || res[0].Errors[0].StatusCode != "ALL_OR_NONE_OPERATION_ROLLED_BACK" ||
			len(res[1].Errors) != 1 || res[1].Errors[0].StatusCode != string(rest.ErrRequiredFieldMissing) {
			t.Fatalf("results %+v", res)
		}
		if after := countOf(t, c, "SELECT COUNT() FROM Contact"); after != before {
			t.Errorf("%d contacts after a rolled-back create, %d before", after, before)
		}
	})
}

func TestEmulatorUpsertByExternalID(t *testing.T) {
	s := sftest.NewServer(t)
	c := writerClient(t, s)
	ctx := t.Context()

	ins, err := c.SObjects.Upsert(ctx, "Contact", "External_Id__c", "EXT-42", map[string]any{"LastName": "Upsert", "Title": "First"})
	if err != nil {
		t.Fatal(err)
	}
	if !ins.Success || ins.Created == nil || !*ins.Created || !strings.HasPrefix(ins.ID, "003") {
		t.Fatalf("insert: %+v", ins)
	}
	if st := lastStatus(t, s, "PATCH", "/External_Id__c/EXT-42"); st != http.StatusCreated {
		t.Errorf("insert answered %d, want 201", st)
	}
	rec, err := c.SObjects.Get(ctx, "Contact", ins.ID, "External_Id__c", "Title")
	if err != nil || rec["External_Id__c"] != "EXT-42" || rec["Title"] != "First" {
		t.Fatalf("inserted record %v, %v", rec, err)
	}

	upd, err := c.SObjects.Upsert(ctx, "Contact", "External_Id__c", "EXT-42", map[string]any{"Title": "Second"})
	if err != nil {
		t.Fatal(err)
	}
	if !upd.Success || upd.Created == nil || *upd.Created || upd.ID != ins.ID {
		t.Fatalf("update: %+v", upd)
	}
	if st := lastStatus(t, s, "PATCH", "/External_Id__c/EXT-42"); st != http.StatusOK {
		t.Errorf("update answered %d, want 200", st)
	}
	if rec, err := c.SObjects.Get(ctx, "Contact", ins.ID, "Title"); err != nil || rec["Title"] != "Second" {
		t.Errorf("updated record %v, %v", rec, err)
	}
	if n := countOf(t, c, "SELECT COUNT() FROM Contact WHERE External_Id__c = 'EXT-42'"); n != 1 {
		t.Errorf("%d contacts with the external id", n)
	}

	// The Id field addresses a record by its id.
	byID, err := c.SObjects.Upsert(ctx, "Contact", "Id", ins.ID, map[string]any{"Title": "Third"})
	if err != nil || byID.ID != ins.ID || byID.Created == nil || *byID.Created {
		t.Fatalf("upsert by Id: %+v, %v", byID, err)
	}
	if rec, err := c.SObjects.Get(ctx, "Contact", ins.ID, "Title", "External_Id__c"); err != nil || rec["Title"] != "Third" || rec["External_Id__c"] != "EXT-42" {
		t.Errorf("record after upsert by Id: %v, %v", rec, err)
	}

	t.Run("several matches", func(t *testing.T) {
		var ids []string
		for range 2 {
			r, err := c.SObjects.Create(ctx, "Contact", map[string]any{"LastName": "Twin", "Email": "twin@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.ID)
		}
		_, err := c.SObjects.Upsert(ctx, "Contact", "Email", "twin@example.com", map[string]any{"Title": "Ambiguous"})
		var ae *rest.APIError
		if !errors.As(err, &ae) || ae.StatusCode != http.StatusMultipleChoices {
			t.Fatalf("upsert matching two records: %v", err)
		}
		for _, id := range ids {
			if !strings.Contains(ae.Body, "/sobjects/Contact/"+id) {
				t.Errorf("the 300 answer does not list %s: %q", id, ae.Body)
			}
		}
		// In a collection upsert the ambiguous record fails on its own.
		res, err := c.Composite.Upsert(ctx, false, "Contact", "Email", []rest.Record{
			contactRecord(map[string]any{"Email": "twin@example.com", "Title": "Ambiguous"}),
			contactRecord(map[string]any{"Email": "single@example.com", "LastName": "Single"}),
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 2 || res[0].Success || len(res[0].Errors) == 0 || !res[1].Success || res[1].Created == nil || !*res[1].Created {
			t.Errorf("collection upsert with an ambiguous record: %+v", res)
		}
		for _, id := range ids {
			if rec, err := c.SObjects.Get(ctx, "Contact", id, "Title"); err != nil || rec["Title"] != nil {
				t.Errorf("record %s changed by an ambiguous upsert: %v, %v", id, rec, err)
			}
		}
	})

	t.Run("no such external id field", func(t *testing.T) {
		for _, field := range []string{"Nope__c", "Title"} {
			_, err := c.SObjects.Upsert(ctx, "Contact", field, "X-1", map[string]any{"LastName": "Nobody"})
			var ae *rest.APIError
			if !errors.As(err, &ae) || ae.StatusCode != http.StatusNotFound || !errors.Is(err, rest.ErrNotFound) ||
				!strings.Contains(ae.Errors[0].Message, "Provided external ID field does not exist or is not accessible") {
				t.Errorf("upsert by %s: %v", field, err)
			}
		}
		if n := countOf(t, c, "SELECT COUNT() FROM Contact WHERE LastName = 'Nobody'"); n != 0 {
			t.Errorf("%d records inserted by a failed upsert", n)
		}
	})
}

func TestEmulatorDescribeGlobal(t *testing.T) {
	s := sftest.NewServer(t)
	c, _ := emulatorClient(t, s)
	g, err := c.SObjects.DescribeGlobal(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if g.Encoding != "UTF-8" || g.MaxBatchSize != 200 {
		t.Errorf("encoding %q, maxBatchSize %d", g.Encoding, g.MaxBatchSize)
	}
	byName := map[string]rest.ObjectSummary{}
	for _, o := range g.SObjects {
		if _, dup := byName[o.Name]; dup {
			t.Errorf("%s listed twice", o.Name)
		}
		byName[o.Name] = o
		if !o.Queryable && !o.Retrieveable {
			t.Errorf("%s is listed although the user can neither query nor retrieve it", o.Name)
		}
	}
	for name, prefix := range map[string]string{"Case": "500", "Contact": "003", "CaseComment": "00a", "User": "005"} {
		o, ok := byName[name]
		if !ok {
			t.Errorf("%s missing from the global describe", name)
			continue
		}
		if o.KeyPrefix != prefix || !o.Queryable || o.Custom {
			t.Errorf("%s: %+v", name, o)
		}
	}
	if o := byName["Case"]; !o.Createable || !o.Updateable {
		t.Errorf("the integration user cannot write Case: %+v", o)
	}
	// The global entry agrees with the object's own describe.
	d, err := c.SObjects.Describe(t.Context(), "Case")
	if err != nil {
		t.Fatal(err)
	}
	if o := byName["Case"]; o.Label != d.Label || o.Createable != d.Createable || o.Deletable != d.Deletable {
		t.Errorf("global %+v, describe %+v", o, d)
	}

	// Only the objects the user can see, with the user's CRUD flags.
	ro, err := clientFor(t, s, emulator.UserNoEventLogs).SObjects.DescribeGlobal(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var roCase *rest.ObjectSummary
	for i, o := range ro.SObjects {
		switch o.Name {
		case "Contact", "Account", "Knowledge__kav", "EventLogFile":
			t.Errorf("%s listed for a user who cannot read it", o.Name)
		case "Case":
			roCase = &ro.SObjects[i]
		}
	}
	if roCase == nil || roCase.Createable || roCase.Updateable || roCase.Deletable || !roCase.Queryable {
		t.Errorf("Case for a read-only user: %+v", roCase)
	}
}

func TestEmulatorUpdatedAndDeleted(t *testing.T) {
	s := sftest.NewServer(t)
	c, _ := emulatorClient(t, s)
	ctx := t.Context()

	start := s.Org.Now().Add(-time.Minute)
	mk := func(subject string) string {
		r, err := c.SObjects.Create(ctx, "Case", map[string]any{"Subject": subject})
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	created, changed, gone := mk("window created"), mk("window changed"), mk("window deleted")
	if err := c.SObjects.Update(ctx, "Case", changed, map[string]any{"Status": "Working"}); err != nil {
		t.Fatal(err)
	}
	if err := c.SObjects.Delete(ctx, "Case", gone); err != nil {
		t.Fatal(err)
	}
	deletedAt := s.Org.Now()
	// Salesforce covers whole minutes that have passed: move past them.
	s.Org.Advance(2 * time.Minute)
	end := s.Org.Now()

	up, err := c.SObjects.Updated(ctx, "Case", start, end)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(up.IDs, created) || !slices.Contains(up.IDs, changed) {
		t.Errorf("updated ids %v miss %s or %s", up.IDs, created, changed)
	}
	if slices.Contains(up.IDs, gone) {
		t.Errorf("updated ids include the deleted %s", gone)
	}
	if lc := up.LatestDateCovered.Time; lc.After(end) || lc.Before(deletedAt.Truncate(time.Minute)) || lc.Second() != 0 || lc.Nanosecond() != 0 {
		t.Errorf("latestDateCovered %v for a window ending %v", lc, end)
	}

	del, err := c.SObjects.Deleted(ctx, "Case", start, end)
	if err != nil {
		t.Fatal(err)
	}
	if len(del.DeletedRecords) != 1 || del.DeletedRecords[0].ID != gone {
		t.Fatalf("deleted records %+v", del.DeletedRecords)
	}
	if dd := del.DeletedRecords[0].DeletedDate.Time; dd.Before(start) || dd.After(deletedAt.Add(time.Second)) {
		t.Errorf("deletedDate %v, deleted at about %v", dd, deletedAt)
	}
	if ea := del.EarliestDateAvailable.Time; ea.IsZero() || ea.After(del.DeletedRecords[0].DeletedDate.Time) {
		t.Errorf("earliestDateAvailable %v after the deletion it lists", ea)
	}
	if lc := del.LatestDateCovered.Time; lc.After(end) || lc.Before(deletedAt.Truncate(time.Minute)) {
		t.Errorf("deleted latestDateCovered %v", lc)
	}

	// A window before the changes lists nothing.
	early, err := c.SObjects.Updated(ctx, "Case", start.Add(-time.Hour), start.Add(-30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{created, changed} {
		if slices.Contains(early.IDs, id) {
			t.Errorf("an earlier window lists %s", id)
		}
	}
	// The next window starts at latestDateCovered and misses nothing later.
	s.Org.Advance(time.Minute)
	later := mk("window later")
	s.Org.Advance(2 * time.Minute)
	next, err := c.SObjects.Updated(ctx, "Case", up.LatestDateCovered.Time, s.Org.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(next.IDs, later) {
		t.Errorf("next window %v misses %s", next.IDs, later)
	}
	// Only the last 30 days can be asked for.
	_, err = c.SObjects.Updated(ctx, "Case", s.Org.Now().Add(-40*24*time.Hour), s.Org.Now())
	var ae *rest.APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusBadRequest || ae.Code() != "INVALID_REPLICATION_DATE" {
		t.Errorf("a window starting 40 days ago: %v", err)
	}
	if _, err := c.SObjects.Updated(ctx, "NoSuchObject__c", start, end); !errors.Is(err, rest.ErrNotFound) {
		t.Errorf("unknown object: %v", err)
	}
}

// caseRow is a query result decoded into a caller's struct, parent
// relationship included.
type caseRow struct {
	Attributes rest.Attributes `json:"attributes"`
	ID         string          `json:"Id"`
	Subject    string          `json:"Subject"`
	Status     string          `json:"Status"`
	IsClosed   bool            `json:"IsClosed"`
	IsDeleted  bool            `json:"IsDeleted"`
	Created    rest.DateTime   `json:"CreatedDate"`
	Contact    *struct {
		Attributes rest.Attributes `json:"attributes"`
		Email      string          `json:"Email"`
		LastName   string          `json:"LastName"`
	} `json:"Contact"`
}

func TestEmulatorQueryIntoStruct(t *testing.T) {
	s := sftest.NewServer(t)
	c := writerClient(t, s)
	ctx := t.Context()

	con, err := c.SObjects.Create(ctx, "Contact", map[string]any{"LastName": "Struct", "Email": "struct@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{} // case id → contact email ("" for none)
	for i := range 5 {
		fields := map[string]any{"Subject": fmt.Sprintf("Typed %d", i)}
		if i%2 == 0 {
			fields["ContactId"] = con.ID
		}
		r, err := c.SObjects.Create(ctx, "Case", fields)
		if err != nil {
			t.Fatal(err)
		}
		want[r.ID] = map[bool]string{true: "struct@example.com", false: ""}[i%2 == 0]
	}
	before := s.Org.Now().Add(-time.Minute)
	const soql = "SELECT Id, Subject, Status, IsClosed, CreatedDate, Contact.Email, Contact.LastName FROM Case WHERE Subject LIKE 'Typed %' ORDER BY Subject"
	var got []caseRow
	for r, err := range rest.Query[caseRow](ctx, c, soql, &rest.QueryOptions{BatchSize: 200}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if len(got) != 5 {
		t.Fatalf("%d rows", len(got))
	}
	for i, r := range got {
		email, ok := want[r.ID]
		if !ok || r.Subject != fmt.Sprintf("Typed %d", i) || r.Status != "New" || r.IsClosed || r.Attributes.Type != "Case" ||
			!strings.HasSuffix(r.Attributes.URL, "/sobjects/Case/"+r.ID) {
			t.Errorf("row %d: %+v", i, r)
		}
		if r.Created.IsZero() || r.Created.Before(before.Add(-time.Hour)) {
			t.Errorf("row %d CreatedDate %v", i, r.Created)
		}
		switch {
		case email == "" && r.Contact != nil:
			t.Errorf("row %d: a case without contact decoded a contact %+v", i, r.Contact)
		case email != "" && (r.Contact == nil || r.Contact.Email != email || r.Contact.LastName != "Struct" || r.Contact.Attributes.Type != "Contact"):
			t.Errorf("row %d: contact %+v, want email %s", i, r.Contact, email)
		}
	}

	// Many pages decode into the struct without loss.
	if err := s.Org.Store().Generate("Case", 2500, 3); err != nil {
		t.Fatal(err)
	}
	total := countOf(t, c, "SELECT COUNT() FROM Case")
	n, withContact := 0, 0
	for r, err := range rest.Query[caseRow](ctx, c, "SELECT Id, Subject, Contact.Email FROM Case", nil) {
		if err != nil {
			t.Fatal(err)
		}
		if len(r.ID) != 18 {
			t.Fatalf("row %d id %q", n, r.ID)
		}
		if r.Contact != nil && r.Contact.Email != "" {
			withContact++
		}
		n++
	}
	if n != total || withContact == 0 {
		t.Errorf("%d rows of %d, %d with a contact email", n, total, withContact)
	}
}

func TestEmulatorQueryAllSoftDeleted(t *testing.T) {
	s := sftest.NewServer(t)
	c, _ := emulatorClient(t, s)
	ctx := t.Context()

	var ids []string
	for i := range 3 {
		r, err := c.SObjects.Create(ctx, "Case", map[string]any{"Subject": fmt.Sprintf("Recycle %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	if err := c.SObjects.Delete(ctx, "Case", ids[1]); err != nil {
		t.Fatal(err)
	}
	const soql = "SELECT Id, Subject, IsDeleted FROM Case WHERE Subject LIKE 'Recycle %' ORDER BY Subject"

	var live []string
	for r, err := range rest.Query[caseRow](ctx, c, soql, nil) {
		if err != nil {
			t.Fatal(err)
		}
		live = append(live, r.ID)
	}
	if !slices.Equal(live, []string{ids[0], ids[2]}) {
		t.Errorf("query returned %v, want the live %v", live, []string{ids[0], ids[2]})
	}

	var all []caseRow
	for r, err := range rest.QueryAll[caseRow](ctx, c, soql, nil) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, r)
	}
	if len(all) != 3 {
		t.Fatalf("queryAll returned %d rows", len(all))
	}
	for i, r := range all {
		if r.ID != ids[i] || r.IsDeleted != (i == 1) {
			t.Errorf("queryAll row %d: %+v", i, r)
		}
	}
	var onlyDeleted []string
	for r, err := range rest.QueryAll[rest.Record](ctx, c, "SELECT Id FROM Case WHERE IsDeleted = true AND Subject LIKE 'Recycle %'", nil) {
		if err != nil {
			t.Fatal(err)
		}
		onlyDeleted = append(onlyDeleted, r.ID())
	}
	if !slices.Equal(onlyDeleted, []string{ids[1]}) {
		t.Errorf("queryAll WHERE IsDeleted = true: %v", onlyDeleted)
	}
	// queryAll pages through soft-deleted rows too.
	if err := s.Org.Store().Generate("Case", 2100, 5); err != nil {
		t.Fatal(err)
	}
	var gen []string
	for r, err := range c.Query.Records(ctx, "SELECT Id FROM Case ORDER BY Id LIMIT 2050", nil) {
		if err != nil {
			t.Fatal(err)
		}
		gen = append(gen, r.ID())
	}
	res, err := c.Composite.Delete(ctx, false, gen[2000:2050])
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if !r.Success {
			t.Fatalf("delete: %+v", r)
		}
	}
	liveN := countOf(t, c, "SELECT COUNT() FROM Case")
	allN := 0
	for _, err := range rest.QueryAll[rest.Record](ctx, c, "SELECT Id, IsDeleted FROM Case", nil) {
		if err != nil {
			t.Fatal(err)
		}
		allN++
	}
	if allN != liveN+51 {
		t.Errorf("queryAll returned %d rows; %d live and 51 deleted", allN, liveN)
	}
}
