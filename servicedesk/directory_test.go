package servicedesk_test

import (
	"errors"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/servicedesk"
	"github.com/sfbridge/sfbridge/state"
)

func TestDirectorySyncIsIncremental(t *testing.T) {
	d := newDesk(t)
	if err := d.srv.Org.AddSampleRecords(1); err != nil {
		t.Fatal(err)
	}
	dir := &servicedesk.Directory{Client: d.client, Store: d.store, Org: "emu", Clock: d.clk, ContactFields: []string{"Department"}, UserFields: []string{"Username"}}
	st, err := dir.Sync(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Contacts != 48 || st.Users < 12 || st.Calls != 1 {
		t.Fatalf("first sync: %+v", st)
	}
	ana, err := (&servicedesk.Employees{Client: d.client}).Find(t.Context(), "ana.smith@sfbridge.test")
	if err != nil {
		t.Fatal(err)
	}
	e, err := dir.Entry(t.Context(), ana.Users[0].ID)
	if err != nil || e.Object != "User" || !e.Active || e.Fields["Username"] != "ana.smith@sfbridge.test" {
		t.Fatalf("ana as a user: %+v %v", e, err)
	}

	// Ten minutes later nothing changed: what the overlap re-reads is
	// recognised and not copied again.
	d.clk.Advance(10 * time.Minute)
	if st, err := dir.Sync(t.Context()); err != nil || st.Contacts+st.Users+st.Removed != 0 || st.Calls != 1 {
		t.Fatalf("idle sync: %+v %v", st, err)
	}
	// A new Contact, a deleted Contact, a deactivated User. (The emulator
	// re-stamps every User and employee Contact when a user is added, so
	// those come again too.)
	nc := d.create("Contact", map[string]any{"FirstName": "New", "LastName": "Hire", "Email": "new.hire@sfbridge.test", "Department": "IT"})
	if err := d.srv.Org.Store().Delete(d.agent, "Contact", ana.Contacts[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.srv.Org.AddUser(emulator.UserSpec{Username: "ana.smith@sfbridge.test", Email: "ana.smith@sfbridge.test", FirstName: "Ana", LastName: "Smith", Profile: "Standard User", Active: new(false)}); err != nil {
		t.Fatal(err)
	}
	d.clk.Advance(time.Second)
	st, err = dir.Sync(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Contacts < 1 || st.Contacts >= 48 || st.Removed != 1 || st.Users < 1 || st.Calls != 1 {
		t.Fatalf("incremental sync: %+v", st)
	}
	if e, err := dir.Entry(t.Context(), nc); err != nil || e.Email != "new.hire@sfbridge.test" || e.Fields["Department"] != "IT" {
		t.Fatalf("new contact: %+v %v", e, err)
	}
	if _, err := dir.Entry(t.Context(), ana.Contacts[0].ID); !errors.Is(err, servicedesk.ErrNotFound) {
		t.Fatalf("deleted contact still there: %v", err)
	}
	if e, err := dir.Entry(t.Context(), ana.Users[0].ID); err != nil || e.Active {
		t.Fatalf("deactivated user: %+v %v", e, err)
	}
}

// A directory sync under a lease another replica has taken writes nothing
// and removes nothing: the removal of a deleted Contact is part of the
// fenced commit, not a step before it.
func TestFencedOffDirectorySyncRemovesNothing(t *testing.T) {
	d := newDesk(t)
	if err := d.srv.Org.AddSampleRecords(1); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	lease, err := d.store.AcquireLease(ctx, servicedesk.DirectoryLease("emu"), "replica-a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	dir := &servicedesk.Directory{Client: d.client, Store: d.store, Org: "emu", Clock: d.clk, Fence: state.FenceOf(lease)}
	if _, err := dir.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	ana, err := (&servicedesk.Employees{Client: d.client}).Find(ctx, "ana.smith@sfbridge.test")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.srv.Org.Store().Delete(d.agent, "Contact", ana.Contacts[0].ID); err != nil {
		t.Fatal(err)
	}
	d.clk.Advance(2 * time.Minute) // replica-a's lease ran out; replica-b takes it
	if _, err := d.store.AcquireLease(ctx, servicedesk.DirectoryLease("emu"), "replica-b", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := dir.Sync(ctx); !errors.Is(err, state.ErrFenced) {
		t.Fatalf("a sync under a lost lease: %v, want fenced", err)
	}
	if _, err := dir.Entry(ctx, ana.Contacts[0].ID); err != nil {
		t.Fatalf("the fenced-off sync removed the deleted Contact's entry: %v", err)
	}
}
