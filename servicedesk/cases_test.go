package servicedesk_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/emulator/data"
	"github.com/sfbridge/sfbridge/emulator/sfid"
	"github.com/sfbridge/sfbridge/internal/backoff"
	"github.com/sfbridge/sfbridge/servicedesk"
)

func TestFindEmployeesHonestly(t *testing.T) {
	d := newDesk(t)
	if err := d.srv.Org.AddSampleRecords(1); err != nil {
		t.Fatal(err)
	}
	emp := &servicedesk.Employees{Client: d.client}

	// A sample employee: one Contact and one active User share the email;
	// the lookup ignores case.
	e, err := emp.Find(t.Context(), "Ana.Smith@SFBRIDGE.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Contacts) != 1 || len(e.Users) != 1 || !e.Users[0].Active || e.CaseContactID != e.Contacts[0].ID || len(e.Notes) != 0 {
		t.Fatalf("ana: %+v", e)
	}

	// A duplicate Contact and an inactive User are reported.
	before := d.usage()
	dup := d.create("Contact", map[string]any{"FirstName": "Ana", "LastName": "Smith (dup)", "Email": "ANA.SMITH@sfbridge.test"})
	if _, err := d.srv.Org.AddUser(emulator.UserSpec{Username: "ana.old@sfbridge.test", Email: "ana.smith@sfbridge.test", FirstName: "Ana", LastName: "Old", Profile: "Standard User", Active: new(false)}); err != nil {
		t.Fatal(err)
	}
	e, err = emp.Find(t.Context(), "ana.smith@sfbridge.test")
	if err != nil {
		t.Fatal(err)
	}
	if d.usage()-before != 1 {
		t.Fatalf("Find cost %d API calls, want 1", d.usage()-before)
	}
	if len(e.Contacts) != 2 || e.CaseContactID == dup || len(e.Users) != 2 {
		t.Fatalf("duplicates: %+v", e)
	}
	notes := strings.Join(e.Notes, "\n")
	if !strings.Contains(notes, "2 Contacts share this email") || !strings.Contains(notes, "ana.old@sfbridge.test") || !strings.Contains(notes, "inactive") {
		t.Fatalf("notes: %s", notes)
	}

	// Nobody.
	e, err = emp.Find(t.Context(), "nobody@example.com")
	if err != nil || e.Found() || e.CaseContactID != "" || !strings.Contains(strings.Join(e.Notes, " "), "SuppliedEmail") {
		t.Fatalf("nobody: %+v %v", e, err)
	}
	var ve *servicedesk.ValidationError
	if _, err := emp.Find(t.Context(), "not an email"); !errors.As(err, &ve) {
		t.Fatalf("bad email: %v", err)
	}
}

func TestCreateCaseGetAndComment(t *testing.T) {
	d := newDesk(t)
	contact := d.create("Contact", map[string]any{"FirstName": "Ben", "LastName": "Okafor", "Email": "ben@example.com"})
	queue := string(sfid.Make("00G", "xx", 7))
	d.srv.Org.Store().SetAssignmentRules([]data.AssignmentRule{{Origin: "Web", OwnerID: queue}})
	cs := &servicedesk.Cases{Client: d.client, Clock: d.clk, Retry: backoff.Policy{Jitter: 0}}

	c, err := cs.Create(t.Context(), servicedesk.NewCase{Email: "BEN@example.com", Subject: "Laptop broken", Description: "Screen dark", Priority: "High", Origin: "Web", Assign: true, Key: "ticket-1"})
	if err != nil {
		t.Fatal(err)
	}
	if c.ContactID != contact || c.CaseNumber == "" || c.OwnerID != queue || c.Reused {
		t.Fatalf("created %+v", c)
	}
	// The same key again (a caller retrying after a timeout): no duplicate.
	again, err := cs.Create(t.Context(), servicedesk.NewCase{Email: "ben@example.com", Subject: "Laptop broken", Key: "ticket-1"})
	if err != nil || again.ID != c.ID || !again.Reused || again.CaseNumber != c.CaseNumber {
		t.Fatalf("retried create: %+v %v", again, err)
	}
	// Without a contact, SuppliedEmail; without Assign, the integration owns it.
	s, err := cs.Create(t.Context(), servicedesk.NewCase{Email: "guest@example.com", Subject: "Need access", Origin: "Web"})
	if err != nil || s.SuppliedEmail != "guest@example.com" || s.ContactID != "" || s.OwnerID == queue {
		t.Fatalf("supplied-email case: %+v %v", s, err)
	}

	// A 503 on the composite create: Create looks the key up and retries.
	if _, err := d.srv.Org.AddFault(emulator.FaultSpec{Path: "/services/data/*/composite", Method: "POST", Action: emulator.FaultError, Count: 1, After: 1}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var r *servicedesk.CreatedCase
	go func() {
		var err error
		r, err = cs.Create(t.Context(), servicedesk.NewCase{Email: "ben@example.com", Subject: "Retry me", Key: "ticket-2"})
		done <- err
	}()
	if err := d.clk.BlockUntil(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	next, _ := d.clk.NextDeadline()
	d.clk.Set(next)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	n, err := d.client.Query.Count(t.Context(), "SELECT COUNT() FROM Case WHERE External_Id__c = 'ticket-2'", nil)
	if err != nil || n != 1 || r.Reused {
		t.Fatalf("after a retried create: %d cases with the key (%v), %+v", n, err, r)
	}

	// A record type by developer name or label; an unknown one is refused
	// before anything is written.
	it, err := d.srv.Org.AddRecordType("Case", "IT_Request", "IT Request")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.srv.Org.AddRecordType("Contact", "IT_Request", "IT Request"); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"IT_Request", "IT Request", string(it)} {
		rc, err := cs.Create(t.Context(), servicedesk.NewCase{Email: "ben@example.com", Subject: "Typed " + ref, RecordType: ref})
		if err != nil || rc.RecordTypeID != string(it) {
			t.Fatalf("record type %q: %+v %v", ref, rc, err)
		}
		rec, err := d.client.SObjects.Get(t.Context(), "Case", rc.ID, "RecordTypeId")
		if err != nil || rec["RecordTypeId"] != string(it) {
			t.Fatalf("stored record type: %v %v", rec, err)
		}
	}
	if _, err := cs.Create(t.Context(), servicedesk.NewCase{Email: "ben@example.com", Subject: "x", RecordType: "HR"}); !errors.As(err, new(*servicedesk.ValidationError)) {
		t.Fatalf("unknown record type: %v", err)
	}

	// Comments, then Get by CaseNumber without leading zeros.
	if _, err := cs.AddComment(t.Context(), c.CaseNumber, "We ordered a new screen", true); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AddComment(t.Context(), c.ID, "Internal: warranty expired", false); err != nil {
		t.Fatal(err)
	}
	got, err := cs.Get(t.Context(), strings.TrimLeft(c.CaseNumber, "0"))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != c.ID || got.Subject != "Laptop broken" || got.Priority != "High" || got.Contact.Email != "ben@example.com" || got.Contact.Name != "Ben Okafor" ||
		len(got.Comments) != 2 || !got.Comments[0].Public || got.Comments[1].Public || got.Comments[0].Body != "We ordered a new screen" {
		t.Fatalf("get: %+v", got)
	}
	if _, err := cs.Get(t.Context(), "99999999"); !errors.Is(err, servicedesk.ErrNotFound) {
		t.Fatalf("missing case: %v", err)
	}
	var ve *servicedesk.ValidationError
	if _, err := cs.Get(t.Context(), "not-a-case"); !errors.As(err, &ve) {
		t.Fatalf("bad ref: %v", err)
	}
}
