package servicedesk_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/sfbridge/sfbridge/emulator/data"
	"github.com/sfbridge/sfbridge/emulator/sfid"
	"github.com/sfbridge/sfbridge/servicedesk"
)

func TestHTMLToText(t *testing.T) {
	got := servicedesk.HTMLToText(`<p>Open the <b>login</b> page&nbsp;&amp; choose <i>Forgot</i></p><script>alert(1)</script><ul><li>one</li><li>two &lt;3</li></ul>`)
	want := "Open the login page & choose Forgot\none\ntwo <3"
	if got != want {
		t.Fatalf("HTMLToText = %q, want %q", got, want)
	}
}

func TestKnowledgeSyncSearchAndRemovals(t *testing.T) {
	d := newDesk(t)
	if err := d.srv.Org.AddSampleRecords(1); err != nil {
		t.Fatal(err)
	}
	// The strictest Knowledge query rules: every query must name one
	// PublishStatus and one Language (or the versions it reads).
	d.srv.Org.Store().SetKnowledgeQueryRules(data.KnowledgeQueryRules{PublishStatus: "required", Language: "required"})
	k := &servicedesk.Knowledge{Client: d.client, Store: d.store, Org: "emu", Clock: d.clk}
	ctx := t.Context()
	st, err := k.Sync(ctx, []string{"en_US", "de"})
	if err != nil {
		t.Fatal(err)
	}
	if st.Published != 20 || st.Fetched != 20 || st.Removed != 0 || !slices.Equal(st.BodyFields, []string{"Answer__c"}) {
		t.Fatalf("first sync: %+v", st)
	}
	// Nothing changed: only the listing queries run.
	before := d.usage()
	st, err = k.Sync(ctx, []string{"en_US", "de"})
	if err != nil || st.Fetched != 0 || st.Removed != 0 {
		t.Fatalf("second sync: %+v %v", st, err)
	}
	if calls := d.usage() - before; calls != 3 {
		t.Fatalf("an unchanged sync of two languages cost %d API calls, want 3 (describe and one listing each)", calls)
	}

	hits, err := k.Search(ctx, "password", "en_US", 5)
	if err != nil || len(hits) == 0 || hits[0].Title != "Reset your password" || hits[0].Text == "" || hits[0].HTML["Answer__c"] == "" {
		t.Fatalf("search password: %+v %v", hits, err)
	}
	de, err := k.Search(ctx, "Passwort", "de", 5)
	if err != nil || len(de) != 1 || de[0].Language != "de" || de[0].KnowledgeArticleID != hits[0].KnowledgeArticleID {
		t.Fatalf("search Passwort in German: %+v %v", de, err)
	}
	a, err := k.Get(ctx, "reset-your-password", "")
	if err != nil || a.Title != "Reset your password" || a.Language != "en_US" || a.ArticleNumber == "" {
		t.Fatalf("get by UrlName: %+v %v", a, err)
	}

	// The English version is archived and the article is republished in
	// French: the local copy holds exactly the published set.
	st0 := d.srv.Org.Store()
	if err := st0.Upsert("Knowledge__kav", sfid.ID(a.ID), map[string]any{"PublishStatus": "Archived", "IsLatestVersion": false}); err != nil {
		t.Fatal(err)
	}
	if _, err := st0.Insert("Knowledge__kav", "", map[string]any{"KnowledgeArticleId": a.KnowledgeArticleID, "ArticleNumber": a.ArticleNumber,
		"Title": "Réinitialiser le mot de passe", "UrlName": "reset-your-password", "Summary": "Ouvrez la page de connexion.", "Answer__c": "<p>Ouvrez la page de connexion.</p>",
		"Language": "fr", "PublishStatus": "Online", "VersionNumber": 2}); err != nil {
		t.Fatal(err)
	}
	st, err = k.Sync(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Removed != 1 || st.Fetched != 1 || st.Published != 20 {
		t.Fatalf("sync after archive and republish: %+v", st)
	}
	if _, err := k.Get(ctx, a.ID, "en_US"); !errors.Is(err, servicedesk.ErrNotFound) {
		t.Fatalf("the archived English version is still local: %v", err)
	}
	fr, err := k.Get(ctx, a.KnowledgeArticleID, "fr")
	if err != nil || fr.Title != "Réinitialiser le mot de passe" || fr.Text != "Ouvrez la page de connexion." {
		t.Fatalf("French version: %+v %v", fr, err)
	}
	if hits, err := k.Search(ctx, "password", "en_US", 5); err != nil || len(hits) != 0 {
		t.Fatalf("the archived article is still found: %+v %v", hits, err)
	}
	var ve *servicedesk.ValidationError
	if _, err := k.Sync(context.Background(), []string{"xx"}); !errors.As(err, &ve) {
		t.Fatalf("unknown language: %v", err)
	}
}
