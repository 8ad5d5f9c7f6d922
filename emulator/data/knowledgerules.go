package data

import (
	"fmt"
	"strings"

	"github.com/sfbridge/sfbridge/emulator/soql"
)

// KnowledgeQueryRules say which filters a SOQL query on a Knowledge
// article version object (Knowledge__kav, any other …__kav, or
// KnowledgeArticleVersion) must carry, as Salesforce's implementation
// restriction does: a query that names no version (Id or
// KnowledgeArticleId, = or IN, in a top-level AND) must filter on one
// PublishStatus, and on one Language when the knowledge base is
// multilingual, or it is refused with MALFORMED_QUERY.
//
// The zero value is the classic rule the Knowledge developer guide states.
// Since API 47.0 Lightning Knowledge answers a query without PublishStatus
// with every version the user may see; "optional" emulates that.
type KnowledgeQueryRules struct {
	// PublishStatus is "required" (the default when empty) or "optional".
	PublishStatus string `json:"publish_status,omitempty"`
	// Language is "multilingual" (the default when empty: required once
	// the org's article versions are in more than one language),
	// "required" or "optional".
	Language string `json:"language,omitempty"`
}

// Validate reports a value the rules do not know.
func (r KnowledgeQueryRules) Validate() error {
	switch r.PublishStatus {
	case "", "required", "optional":
	default:
		return fmt.Errorf("knowledge_query_rules.publish_status %q is not required or optional", r.PublishStatus)
	}
	switch r.Language {
	case "", "multilingual", "required", "optional":
	default:
		return fmt.Errorf("knowledge_query_rules.language %q is not multilingual, required or optional", r.Language)
	}
	return nil
}

// SetKnowledgeQueryRules replaces the Knowledge query rules.
func (s *Store) SetKnowledgeQueryRules(r KnowledgeQueryRules) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kavRules = r
}

// KnowledgeQueryRules returns the rules in force, defaults spelled out.
func (s *Store) KnowledgeQueryRules() KnowledgeQueryRules {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.kavRules
	if r.PublishStatus == "" {
		r.PublishStatus = "required"
	}
	if r.Language == "" {
		r.Language = "multilingual"
	}
	return r
}

// isArticleVersion reports whether object is a Knowledge article version
// object, to which the Knowledge query rules apply.
func isArticleVersion(object string) bool {
	return strings.HasSuffix(strings.ToLower(object), "__kav") || strings.EqualFold(object, "KnowledgeArticleVersion")
}

// KnowledgeRestrictionMessage is the text of the MALFORMED_QUERY Salesforce
// returns for a query on an article version object without the filters
// the implementation restriction asks for.
func KnowledgeRestrictionMessage(object string) string {
	return "Implementation restriction: When querying or searching the " + object +
		" object, you must filter using the following syntax: Id = [single ID], Id IN [list of ID's], KnowledgeArticleId = [single ID], KnowledgeArticleId IN [list of IDs], or PublishStatus = [status]. In addition PublishStatus is only permitted in a top-level AND condition."
}

// KnowledgeLanguageMessage is the text of the MALFORMED_QUERY the emulator
// returns for a query on a multilingual knowledge base that names a
// PublishStatus but no Language.
func KnowledgeLanguageMessage(object string) string {
	return "Implementation restriction: When querying the " + object +
		" object in a multilingual knowledge base, you must filter using the following syntax: Id = [single ID], Id IN [list of ID's], KnowledgeArticleId = [single ID], KnowledgeArticleId IN [list of IDs], or PublishStatus = [status] AND Language = [language]."
}

// checkKnowledgeQuery applies the Knowledge query rules to a compiled
// query on t; the caller holds s.mu.
func (s *Store) checkKnowledgeQuery(q *soql.Query, t *table) error {
	if !isArticleVersion(t.def.Name) {
		return nil
	}
	var top []*soql.Comparison // the comparisons joined to the query by AND alone
	var collect func(e soql.Expr)
	collect = func(e soql.Expr) {
		switch x := e.(type) {
		case *soql.Logical:
			if !x.Or {
				collect(x.L)
				collect(x.R)
			}
		case *soql.Comparison:
			top = append(top, x)
		}
	}
	if q.Where != nil {
		collect(q.Where)
	}
	field := func(c *soql.Comparison) string {
		name := c.Field.Text
		if i := strings.LastIndexByte(name, '.'); i >= 0 && strings.EqualFold(name[:i], t.def.Name) {
			name = name[i+1:]
		}
		return strings.ToLower(name)
	}
	var status, lang bool
	for _, c := range top {
		if c.Func != "" || c.Sub != nil {
			continue
		}
		switch f := field(c); {
		case (f == "id" || f == "knowledgearticleid") && (c.Op == "=" || c.Op == "IN"):
			return nil // one named version or article: every rule is met
		case f == "publishstatus" && c.Op == "=":
			status = true
		case f == "language" && c.Op == "=":
			lang = true
		}
	}
	rules := s.kavRules
	if !status && rules.PublishStatus != "optional" {
		return &soql.Error{Code: soql.CodeMalformedQuery, Message: KnowledgeRestrictionMessage(t.def.Name)}
	}
	if lang {
		return nil
	}
	switch rules.Language {
	case "optional":
		return nil
	case "required":
	default:
		if !s.multilingualLocked(t) {
			return nil
		}
	}
	return &soql.Error{Code: soql.CodeMalformedQuery, Message: KnowledgeLanguageMessage(t.def.Name)}
}

// multilingualLocked reports whether the live article versions of t are in
// more than one language; the caller holds s.mu.
func (s *Store) multilingualLocked(t *table) bool {
	fd, ok := t.def.Field("Language")
	if !ok {
		return false
	}
	del := deletedIndex(t.def)
	first := ""
	for _, r := range t.recs {
		if r.Get(del) == true {
			continue
		}
		l, _ := r.Get(fd.index).(string)
		if l == "" {
			continue
		}
		if first == "" {
			first = l
		} else if l != first {
			return true
		}
	}
	return false
}
