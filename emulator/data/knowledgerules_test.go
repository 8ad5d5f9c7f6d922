package data

import (
	"net/url"
	"testing"
)

// TestKnowledgeQueryRules checks the implementation restriction on article
// version queries: a query names a version or article, or filters on one
// PublishStatus in a top-level AND, plus one Language once the knowledge
// base is multilingual; otherwise Salesforce answers MALFORMED_QUERY.
func TestKnowledgeQueryRules(t *testing.T) {
	f := newFixture(t)
	insert := func(lang, title string) string {
		t.Helper()
		id, err := f.store.Insert(ObjKnowledge, "", map[string]any{"Title": title, "UrlName": title, "Language": lang, "PublishStatus": "Online"})
		if err != nil {
			t.Fatal(err)
		}
		return string(id)
	}
	query := func(soql string) (int, string, string) {
		t.Helper()
		r := f.do(t, "GET", v+"/query?q="+url.QueryEscape(soql), "")
		if r.status == 200 {
			return 200, "", ""
		}
		code, msg := r.errCode(t)
		return r.status, code, msg
	}
	status := KnowledgeRestrictionMessage(ObjKnowledge)
	language := KnowledgeLanguageMessage(ObjKnowledge)

	en := insert("en_US", "reset-password")
	// One language: PublishStatus is enough.
	for _, tt := range []struct{ soql, msg string }{
		{"SELECT Id FROM Knowledge__kav", status},
		{"SELECT Id FROM Knowledge__kav WHERE Language = 'en_US'", status},
		{"SELECT Id FROM Knowledge__kav WHERE PublishStatus = 'Online' OR Language = 'en_US'", status},
		{"SELECT Id FROM Knowledge__kav WHERE NOT PublishStatus = 'Draft'", status},
		{"SELECT Id FROM Knowledge__kav WHERE PublishStatus IN ('Online', 'Draft')", status},
		{"SELECT Id FROM Knowledge__kav WHERE PublishStatus != 'Draft'", status},
		{"SELECT COUNT() FROM Knowledge__kav", status},
		{"SELECT Id FROM Knowledge__kav WHERE PublishStatus = 'Online'", ""},
		{"SELECT Id FROM Knowledge__kav WHERE Title LIKE 'reset%' AND (PublishStatus = 'Online' AND IsLatestVersion = true)", ""},
		{"SELECT Id FROM Knowledge__kav WHERE Id = '" + en + "'", ""},
		{"SELECT Id FROM Knowledge__kav WHERE KnowledgeArticleId IN ('kA0xx0000000001AAA') AND IsLatestVersion = false", ""},
	} {
		st, code, msg := query(tt.soql)
		if tt.msg == "" && st != 200 {
			t.Errorf("%s: %d %s %s, want 200", tt.soql, st, code, msg)
		}
		if tt.msg != "" && (st != 400 || code != "MALFORMED_QUERY" || msg != tt.msg) {
			t.Errorf("%s: %d %s %q, want 400 MALFORMED_QUERY %q", tt.soql, st, code, msg, tt.msg)
		}
	}

	// A second language makes the knowledge base multilingual.
	insert("de", "passwort-zuruecksetzen")
	for _, tt := range []struct{ soql, msg string }{
		{"SELECT Id FROM Knowledge__kav WHERE PublishStatus = 'Online'", language},
		{"SELECT Id FROM Knowledge__kav WHERE PublishStatus = 'Online' AND Language IN ('en_US', 'de')", language},
		{"SELECT Id FROM Knowledge__kav", status},
		{"SELECT Id FROM Knowledge__kav WHERE PublishStatus = 'Online' AND Language = 'de'", ""},
		{"SELECT Id FROM Knowledge__kav WHERE Id IN ('" + en + "')", ""},
	} {
		st, code, msg := query(tt.soql)
		if tt.msg == "" && st != 200 {
			t.Errorf("multilingual: %s: %d %s %s, want 200", tt.soql, st, code, msg)
		}
		if tt.msg != "" && (st != 400 || code != "MALFORMED_QUERY" || msg != tt.msg) {
			t.Errorf("multilingual: %s: %d %s %q, want 400 MALFORMED_QUERY %q", tt.soql, st, code, msg, tt.msg)
		}
	}
	// queryAll obeys the same rules.
	r := f.do(t, "GET", v+"/queryAll?q="+url.QueryEscape("SELECT Id FROM Knowledge__kav WHERE IsDeleted = true"), "")
	if code, _ := r.errCode(t); r.status != 400 || code != "MALFORMED_QUERY" {
		t.Errorf("queryAll without PublishStatus: %d %s", r.status, r.body)
	}

	// Lightning Knowledge since API 47.0: the rules can be relaxed.
	f.store.SetKnowledgeQueryRules(KnowledgeQueryRules{PublishStatus: "optional", Language: "optional"})
	if st, code, msg := query("SELECT Id FROM Knowledge__kav"); st != 200 {
		t.Errorf("relaxed rules: %d %s %s", st, code, msg)
	}
	f.store.SetKnowledgeQueryRules(KnowledgeQueryRules{Language: "required"})
	if st, _, msg := query("SELECT Id FROM Knowledge__kav WHERE PublishStatus = 'Online'"); st != 400 || msg != language {
		t.Errorf("language required: %d %q", st, msg)
	}
	if got := f.store.KnowledgeQueryRules(); got.PublishStatus != "required" || got.Language != "required" {
		t.Errorf("KnowledgeQueryRules() = %+v", got)
	}
	if err := (KnowledgeQueryRules{Language: "sometimes"}).Validate(); err == nil {
		t.Error("Validate accepted language \"sometimes\"")
	}
	// Other objects are not affected.
	if st, code, msg := query("SELECT Id FROM Case"); st != 200 {
		t.Errorf("Case: %d %s %s", st, code, msg)
	}
}
