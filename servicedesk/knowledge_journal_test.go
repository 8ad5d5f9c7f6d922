package servicedesk_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/emulator/sfid"
	"github.com/sfbridge/sfbridge/servicedesk"
	"github.com/sfbridge/sfbridge/state"
)

func journal(t *testing.T, st state.Store) []servicedesk.KnowledgeEvent {
	t.Helper()
	recs, err := st.Outbox(t.Context(), state.OutboxQuery{Org: "emu", Topic: "knowledge.events", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]servicedesk.KnowledgeEvent, len(recs))
	for i, r := range recs {
		if err := json.Unmarshal(r.Payload, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// A fenced sync journals one event per published, updated and archived
// version in the commit that stores them, and a writer whose lease was
// taken over writes nothing at all.
func TestKnowledgeFencedSyncJournalsChanges(t *testing.T) {
	d := newDesk(t)
	if err := d.srv.Org.AddSampleRecords(1); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	lease, err := d.store.AcquireLease(ctx, servicedesk.KnowledgeLease("emu"), "replica-a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	k := &servicedesk.Knowledge{Client: d.client, Store: d.store, Org: "emu", Clock: d.clk, Fence: state.FenceOf(lease), Topic: "knowledge.events"}
	st, err := k.Sync(ctx, []string{"en_US", "de"})
	if err != nil {
		t.Fatal(err)
	}
	evs := journal(t, d.store)
	// The journal has the events; the stats count them and, without
	// KeepChanges, do not carry them too.
	if st.Fetched != 20 || len(evs) != 20 || st.Changed != 20 || st.Changes != nil {
		t.Fatalf("first sync: %+v, %d events", st, len(evs))
	}
	ids := map[string]bool{}
	for _, e := range evs {
		if e.Type != servicedesk.KnowledgePublished || e.ArticleID == "" || e.KnowledgeArticleID == "" || e.Title == "" || e.Time.IsZero() || ids[e.ID] {
			t.Fatalf("event %+v", e)
		}
		ids[e.ID] = true
	}
	if hits, err := k.Search(ctx, "password", "en_US", 5); err != nil || len(hits) == 0 {
		t.Fatalf("the fenced sync's articles are not searchable: %v %v", hits, err)
	}
	if _, err := k.Sync(ctx, []string{"en_US", "de"}); err != nil || len(journal(t, d.store)) != 20 {
		t.Fatalf("an unchanged sync journaled again: %v", err)
	}

	a, err := k.Get(ctx, "reset-your-password", "en_US")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.srv.Org.Store().Upsert("Knowledge__kav", sfid.ID(a.ID), map[string]any{"PublishStatus": "Archived", "IsLatestVersion": false}); err != nil {
		t.Fatal(err)
	}
	if st, err := k.Sync(ctx, []string{"en_US", "de"}); err != nil || st.Changed != 1 || st.Removed != 1 {
		t.Fatalf("archive sync: %+v, %v; want 1 change, 1 removed", st, err)
	}
	evs = journal(t, d.store)
	last := evs[len(evs)-1]
	if len(evs) != 21 || last.Type != servicedesk.KnowledgeArchived || last.ArticleID != a.ID || last.Title != a.Title || ids[last.ID] {
		t.Fatalf("archive: %d events, last %+v", len(evs), last)
	}

	// Another replica takes the lease over (the first one's expired while
	// it was stopped): the first one's next sync is refused whole.
	d.clk.Advance(2 * time.Minute)
	if _, err := d.store.AcquireLease(ctx, servicedesk.KnowledgeLease("emu"), "replica-b", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := d.srv.Org.Store().Insert("Knowledge__kav", "", map[string]any{"KnowledgeArticleId": a.KnowledgeArticleID, "ArticleNumber": a.ArticleNumber,
		"Title": "Neu", "UrlName": "neu", "Summary": "s", "Answer__c": "<p>neu</p>", "Language": "de", "PublishStatus": "Online", "VersionNumber": 3}); err != nil {
		t.Fatal(err)
	}
	// ... and one more article is archived: the stale replica must not
	// remove it from the copy either.
	docs, err := d.store.Documents(ctx, state.DocumentQuery{Org: "emu", Kind: "knowledge.article", Limit: 1})
	if err != nil || len(docs) != 1 {
		t.Fatalf("articles: %v, %v", docs, err)
	}
	var b servicedesk.Article
	if err := json.Unmarshal(docs[0].Data, &b); err != nil {
		t.Fatal(err)
	}
	if err := d.srv.Org.Store().Upsert("Knowledge__kav", sfid.ID(b.ID), map[string]any{"PublishStatus": "Archived", "IsLatestVersion": false}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Sync(ctx, []string{"en_US", "de"}); !errors.Is(err, state.ErrFenced) {
		t.Fatalf("a sync under a lost lease: %v, want fenced", err)
	}
	if n := len(journal(t, d.store)); n != 21 {
		t.Fatalf("the fenced-off sync journaled: %d events", n)
	}
	if _, err := d.store.Document(ctx, "emu", "knowledge.article", docs[0].ID); err != nil {
		t.Fatalf("the fenced-off sync removed %s: %v", docs[0].ID, err)
	}
}

// An unfenced sync (the CLI's) returns the change events only when asked
// for them, and counts them either way.
func TestKnowledgeSyncKeepsChangesOnlyWhenAsked(t *testing.T) {
	d := newDesk(t)
	if err := d.srv.Org.AddSampleRecords(1); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	k := &servicedesk.Knowledge{Client: d.client, Store: d.store, Org: "emu", Clock: d.clk}
	st, err := k.Sync(ctx, []string{"en_US"})
	if err != nil {
		t.Fatal(err)
	}
	if st.Changed == 0 || st.Changed != st.Fetched || st.Changes != nil {
		t.Fatalf("first sync without KeepChanges: %+v", st)
	}
	published := st.Published
	a, err := k.Get(ctx, "reset-your-password", "en_US")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.srv.Org.Store().Upsert("Knowledge__kav", sfid.ID(a.ID), map[string]any{"PublishStatus": "Archived", "IsLatestVersion": false}); err != nil {
		t.Fatal(err)
	}
	k.KeepChanges = true
	st, err = k.Sync(ctx, []string{"en_US"})
	if err != nil {
		t.Fatal(err)
	}
	if st.Changed != 1 || len(st.Changes) != 1 || st.Published != published-1 {
		t.Fatalf("archive sync with KeepChanges: %+v", st)
	}
	if ev := st.Changes[0]; ev.Type != servicedesk.KnowledgeArchived || ev.ArticleID != a.ID || ev.Title != a.Title || ev.URLName != a.URLName {
		t.Fatalf("archived event %+v, article %s %q %q", ev, a.ID, a.Title, a.URLName)
	}
}

// Get keeps its parsed copy of the index only while the index is
// unchanged: after a sync that renames an article, the same Knowledge
// finds it by its new URL name and no longer by the old one, by version
// Id and by KnowledgeArticleId alike.
func TestKnowledgeGetSeesTheIndexOfTheLatestSync(t *testing.T) {
	d := newDesk(t)
	if err := d.srv.Org.AddSampleRecords(1); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	k := &servicedesk.Knowledge{Client: d.client, Store: d.store, Org: "emu", Clock: d.clk}
	if _, err := k.Sync(ctx, []string{"en_US"}); err != nil {
		t.Fatal(err)
	}
	a, err := k.Get(ctx, "reset-your-password", "en_US")
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{a.ID, a.KnowledgeArticleID, "RESET-your-password"} {
		if b, err := k.Get(ctx, ref, ""); err != nil || b.ID != a.ID {
			t.Fatalf("Get(%q) = %+v, %v; want article %s", ref, b, err, a.ID)
		}
	}
	d.clk.Advance(time.Minute)
	if err := d.srv.Org.Store().Upsert("Knowledge__kav", sfid.ID(a.ID), map[string]any{"UrlName": "change-your-password"}); err != nil {
		t.Fatal(err)
	}
	if st, err := k.Sync(ctx, []string{"en_US"}); err != nil || st.Fetched != 1 {
		t.Fatalf("resync: %+v, %v; want the renamed article fetched", st, err)
	}
	if b, err := k.Get(ctx, "change-your-password", "en_US"); err != nil || b.ID != a.ID || b.URLName != "change-your-password" {
		t.Fatalf("Get by the new URL name = %+v, %v", b, err)
	}
	if b, err := k.Get(ctx, "reset-your-password", "en_US"); !errors.Is(err, servicedesk.ErrNotFound) {
		t.Fatalf("Get by the old URL name = %+v, %v; want not found", b, err)
	}
}
