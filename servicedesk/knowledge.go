package servicedesk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/internal/uuidstr"
	"github.com/sfbridge/sfbridge/rest"
	"github.com/sfbridge/sfbridge/state"
)

// Knowledge keeps a local, searchable copy of the org's published
// Knowledge articles in the state store.
//
// A sync obeys the Knowledge query rules: every query names one
// PublishStatus ('Online') and one Language. Per language it lists the
// published versions with their SystemModstamp (ids only), fetches the
// bodies of the versions that are new or changed since the last sync (by
// Id, 200 at a time) and removes the local articles that are no longer
// published (archived, deleted, or replaced by a version in another
// language). The body fields are the article type's rich-text fields,
// found by describe; each article is kept as HTML and as plain text, and
// indexed for full-text search in its language.
type Knowledge struct {
	Client *rest.Client
	Store  state.Store
	// Org names the org in the state store.
	Org string
	// Object is the article version object (default Knowledge__kav; admins
	// can rename the Knowledge prefix).
	Object string
	Clock  clock.Clock
	// Fence, when set, is a lease the caller holds on the knowledge
	// pipeline (see KnowledgeLease). Sync then writes each language's
	// fetched articles, its index, its checkpoint (pipeline "knowledge",
	// key the language) and, when Topic is set, one event per change in a
	// single Commit fenced by it, so a writer that lost the lease writes
	// nothing; articles no longer published are removed after that commit.
	Fence state.Fence
	// Topic is the outbox topic of the change events (KnowledgeEvent), for
	// example "knowledge.events"; it needs Fence.
	Topic string
	// KeepChanges makes Sync return every change event in
	// KnowledgeStats.Changes. Without it only their number (Changed) is
	// returned, so that a first sync of a large knowledge base does not
	// hold one event per article in memory.
	KeepChanges bool

	// indexes caches each language's parsed index for Get and Each,
	// with the generation it was read at (see indexFor).
	mu      sync.Mutex
	indexes map[string]*cachedIndex
}

// cachedIndex is a language's index as Get and Each read it, for the
// generation of the index it was read from: the article keys in order,
// and the key of each version Id and of each lower-cased URL name (the
// first key in order when two URL names differ only in case).
type cachedIndex struct {
	gen       string
	keys      []string
	byVersion map[string]string
	byURL     map[string]string
}

// Knowledge event types.
const (
	KnowledgePublished = "knowledge.published"
	KnowledgeUpdated   = "knowledge.updated"
	KnowledgeArchived  = "knowledge.archived"
)

// KnowledgeEvent is one change of the published articles a sync found.
// ID is stable: "<version id>@<SystemModstamp in Unix ms>" for a version
// published or updated, with "~archived" appended when it left.
type KnowledgeEvent struct {
	ID                 string    `json:"id"`
	Type               string    `json:"type"`
	Time               time.Time `json:"time"`
	ArticleID          string    `json:"article_id"`
	KnowledgeArticleID string    `json:"knowledge_article_id"`
	Language           string    `json:"language"`
	Title              string    `json:"title,omitempty"`
	URLName            string    `json:"url_name,omitempty"`
}

// KnowledgeLease names the lease that guards the knowledge sync of org.
func KnowledgeLease(org string) string { return state.PipelineLease(org, knowledgePipeline) }

const knowledgePipeline = "knowledge"

// Article is one published article version in one language.
type Article struct {
	ID                 string            `json:"id"`
	KnowledgeArticleID string            `json:"knowledge_article_id"`
	ArticleNumber      string            `json:"article_number"`
	Title              string            `json:"title"`
	Summary            string            `json:"summary,omitempty"`
	URLName            string            `json:"url_name"`
	Language           string            `json:"language"`
	VersionNumber      float64           `json:"version_number"`
	LastPublishedDate  string            `json:"last_published_date,omitempty"`
	SystemModstamp     string            `json:"system_modstamp"`
	HTML               map[string]string `json:"html"`
	Text               string            `json:"text"`
	// Link is the article's path in Lightning Experience, relative to the
	// instance URL.
	Link string `json:"link"`
}

// KnowledgeStats says what a sync did.
type KnowledgeStats struct {
	Languages  []string `json:"languages"`
	BodyFields []string `json:"body_fields"`
	Published  int      `json:"published"`
	Fetched    int      `json:"fetched"`
	Removed    int      `json:"removed"`
	Calls      int      `json:"api_calls"`
	// Changed counts the versions published, updated and archived since
	// the last sync.
	Changed int `json:"changed"`
	// Changes are those versions as the events a fenced sync journals,
	// when Knowledge.KeepChanges is set.
	Changes []KnowledgeEvent `json:"changes,omitempty"`
}

// KnowledgeHit is a search result.
type KnowledgeHit struct {
	Article
	Score float64 `json:"score"`
}

const (
	kindArticle = "knowledge.article"
	kindIndex   = "knowledge.index"
	kindMeta    = "knowledge.meta"
)

// index maps an article key (KnowledgeArticleId/Language) to the version
// kept locally, for one language.
type knowledgeIndex struct {
	Entries map[string]indexEntry `json:"entries"`
}

type indexEntry struct {
	Version string `json:"v"` // Id@SystemModstamp
	URLName string `json:"u"`
}

func (k *Knowledge) object() string {
	if k.Object == "" {
		return "Knowledge__kav"
	}
	return k.Object
}

// bodyFields returns the article type's rich-text fields and the
// languages its Language picklist offers.
func (k *Knowledge) describe(ctx context.Context) (body, langs []string, err error) {
	d, err := k.Client.SObjects.Describe(ctx, k.object())
	if err != nil {
		return nil, nil, fmt.Errorf("servicedesk: describing %s (the integration user needs read access to Knowledge): %w", k.object(), err)
	}
	var raw struct {
		Fields []struct {
			Name           string `json:"name"`
			Type           string `json:"type"`
			Custom         bool   `json:"custom"`
			ExtraTypeInfo  string `json:"extraTypeInfo"`
			HTMLFormatted  bool   `json:"htmlFormatted"`
			PicklistValues []struct {
				Value  string `json:"value"`
				Active bool   `json:"active"`
			} `json:"picklistValues"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(d.Raw, &raw); err != nil {
		return nil, nil, fmt.Errorf("servicedesk: reading the describe of %s: %w", k.object(), err)
	}
	for _, f := range raw.Fields {
		if f.Custom && f.Type == "textarea" && (f.ExtraTypeInfo == "richtextarea" || f.HTMLFormatted) {
			body = append(body, f.Name)
		}
		if f.Name == "Language" {
			for _, p := range f.PicklistValues {
				if p.Active {
					langs = append(langs, p.Value)
				}
			}
		}
	}
	return body, langs, nil
}

// Sync brings the local copy up to date for languages (all the org's
// languages when empty).
func (k *Knowledge) Sync(ctx context.Context, languages []string) (KnowledgeStats, error) {
	var st KnowledgeStats
	if k.Client == nil || k.Store == nil || k.Org == "" {
		return st, &ConfigError{Field: "Knowledge", Reason: "Client, Store and Org are required", Fix: "pass a rest.Client, an opened state.Store and the org's name"}
	}
	body, langs, err := k.describe(ctx)
	st.Calls++
	if err != nil {
		return st, err
	}
	st.BodyFields = body
	if len(languages) > 0 {
		for _, l := range languages {
			if !slices.Contains(langs, l) {
				return st, &ValidationError{Field: "language", Value: l, Reason: fmt.Sprintf("is not a language of the org's Knowledge (%s)", strings.Join(langs, ", "))}
			}
		}
		langs = languages
	}
	st.Languages = langs
	synced, err := k.syncedLanguages(ctx)
	if err != nil {
		return st, err
	}
	for _, lang := range langs {
		if err := k.syncLanguage(ctx, lang, body, &st); err != nil {
			return st, err
		}
		if !slices.Contains(synced, lang) {
			synced = append(synced, lang)
			data, _ := json.Marshal(synced)
			if err := k.Store.PutDocuments(ctx, []state.Document{{Org: k.Org, Kind: kindMeta, ID: "languages", Data: data, UpdatedAt: clock.Or(k.Clock).Now()}}); err != nil {
				return st, fmt.Errorf("servicedesk: recording the synced languages: %w", err)
			}
		}
	}
	return st, nil
}

func (k *Knowledge) syncLanguage(ctx context.Context, lang string, body []string, st *KnowledgeStats) error {
	idx := knowledgeIndex{Entries: map[string]indexEntry{}}
	if doc, err := k.Store.Document(ctx, k.Org, kindIndex, lang); err == nil {
		if err := json.Unmarshal(doc.Data, &idx); err != nil {
			return fmt.Errorf("servicedesk: the local knowledge index of %s is unreadable: %w", lang, err)
		}
	} else if !errors.Is(err, state.ErrNotFound) {
		return fmt.Errorf("servicedesk: reading the local knowledge index: %w", err)
	}
	list := "SELECT Id, KnowledgeArticleId, UrlName, SystemModstamp FROM " + k.object() +
		" WHERE PublishStatus = 'Online' AND Language = " + rest.Quote(lang) + " ORDER BY Id"
	current := map[string]indexEntry{}
	var changed []string
	calls := 0
	for p, err := range k.Client.Query.Pages(ctx, list, nil) {
		calls++
		if err != nil {
			st.Calls += calls
			return fmt.Errorf("servicedesk: listing published %s articles: %w", lang, err)
		}
		for _, r := range p.Records {
			// The decoder's strings share one allocation per record: what
			// is kept for the whole sync is copied, so that the pages are
			// not kept alive with it.
			key := str(r, "KnowledgeArticleId") + "/" + lang
			e := indexEntry{Version: r.ID() + "@" + str(r, "SystemModstamp"), URLName: strings.Clone(str(r, "UrlName"))}
			current[key] = e
			if idx.Entries[key].Version != e.Version {
				changed = append(changed, strings.Clone(r.ID()))
			}
		}
	}
	st.Calls += calls
	st.Published += len(current)
	fetchedBefore := st.Fetched
	fenced := k.Fence.Lease != ""
	// The change events are built only for the journal (fenced, with a
	// topic) and for a caller that asked for them; otherwise they are only
	// counted.
	events := (fenced && k.Topic != "") || k.KeepChanges
	// The fetched articles are kept for the end only when fenced (they are
	// committed in one transaction then); otherwise each batch is stored
	// and dropped, so that memory does not grow with the knowledge base.
	var all []state.Document
	var changes []KnowledgeEvent
	fields := append([]string{"Id", "KnowledgeArticleId", "ArticleNumber", "Title", "UrlName", "Summary", "Language", "VersionNumber", "LastPublishedDate", "SystemModstamp"}, body...)
	for chunk := range slices.Chunk(changed, 200) {
		quoted := make([]string, len(chunk))
		for i, id := range chunk {
			quoted[i] = rest.Quote(id)
		}
		q := "SELECT " + strings.Join(fields, ", ") + " FROM " + k.object() + " WHERE PublishStatus = 'Online' AND Language = " + rest.Quote(lang) +
			" AND Id IN (" + strings.Join(quoted, ", ") + ")"
		var docs []state.Document
		calls = 0
		for p, err := range k.Client.Query.Pages(ctx, q, nil) {
			calls++
			if err != nil {
				st.Calls += calls
				return fmt.Errorf("servicedesk: fetching %s articles: %w", lang, err)
			}
			for _, r := range p.Records {
				a := articleOf(r, body, k.object())
				if events {
					changes = append(changes, fetchedEvent(a, lang, idx))
				}
				data, _ := json.Marshal(a)
				docs = append(docs, state.Document{Org: k.Org, Kind: kindArticle, ID: a.KnowledgeArticleID + "/" + lang, Version: a.ID + "@" + a.SystemModstamp,
					Lang: isoLang(lang), Title: strings.Clone(a.Title), Body: strings.TrimSpace(a.Summary + "\n" + a.Text), Data: data, UpdatedAt: clock.Or(k.Clock).Now()})
			}
		}
		st.Calls += calls
		st.Fetched += len(docs)
		if fenced {
			all = append(all, docs...)
			continue
		}
		if err := k.Store.PutDocuments(ctx, docs); err != nil {
			return fmt.Errorf("servicedesk: storing %d articles: %w", len(docs), err)
		}
	}
	var gone []string
	for key := range idx.Entries {
		if _, ok := current[key]; !ok {
			gone = append(gone, key)
		}
	}
	slices.Sort(gone)
	st.Changed += st.Fetched - fetchedBefore + len(gone)
	if events {
		changes = append(changes, k.archived(ctx, lang, idx, gone)...)
	}
	if k.KeepChanges {
		st.Changes = append(st.Changes, changes...)
	}
	if fenced {
		// The removals go in the fenced commit: a replica that lost the
		// lease removes nothing.
		if err := k.commit(ctx, lang, current, all, changes, gone); err != nil {
			return err
		}
		st.Removed += len(gone)
		return nil
	}
	if len(gone) > 0 {
		if _, err := k.Store.DeleteDocuments(ctx, k.Org, kindArticle, gone); err != nil {
			return fmt.Errorf("servicedesk: removing %d unpublished articles: %w", len(gone), err)
		}
		st.Removed += len(gone)
	}
	data := marshalIndex(current)
	clear(current)
	return k.Store.PutDocuments(ctx, indexDocs(k.Org, lang, data, clock.Or(k.Clock).Now()))
}

// indexDocs are a language's index and its generation, a small document
// with a new random value each time the index is written, which Get reads
// to know whether its parsed copy of the index is still current.
func indexDocs(org, lang string, index []byte, now time.Time) []state.Document {
	return []state.Document{{Org: org, Kind: kindIndex, ID: lang, Data: index, UpdatedAt: now},
		{Org: org, Kind: kindMeta, ID: indexGenID(lang), Data: []byte(strconv.Quote(uuidstr.New())), UpdatedAt: now}}
}

func indexGenID(lang string) string { return "index-generation/" + lang }

// marshalIndex is json.Marshal(knowledgeIndex{Entries: current}), keys
// sorted, written into one buffer of the exact size: encoding/json sorts
// a map through a copy of its keys and doubles its buffer, which at
// 100,000 articles costs some 30 MB more than the document itself.
func marshalIndex(current map[string]indexEntry) []byte {
	keys := make([]string, 0, len(current))
	for key := range current {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	quote := func(dst []byte, s string) []byte {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				b, _ := json.Marshal(s)
				return append(dst, b...)
			}
		}
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	size := len(`{"entries":{}}`)
	var scratch []byte
	for _, key := range keys {
		e := current[key]
		scratch = quote(quote(quote(scratch[:0], key), e.Version), e.URLName)
		size += len(scratch) + len(`,:{"v":,"u":}`)
	}
	out := make([]byte, 0, size)
	out = append(out, `{"entries":{`...)
	for i, key := range keys {
		if i > 0 {
			out = append(out, ',')
		}
		e := current[key]
		out = quote(out, key)
		out = append(out, `:{"v":`...)
		out = quote(out, e.Version)
		out = append(out, `,"u":`...)
		out = quote(out, e.URLName)
		out = append(out, '}')
	}
	return append(out, "}}"...)
}

// fetchedEvent is the event of a fetched version: published when its
// article was not in the index, updated when it was.
func fetchedEvent(a Article, lang string, idx knowledgeIndex) KnowledgeEvent {
	typ := KnowledgePublished
	if _, ok := idx.Entries[a.KnowledgeArticleID+"/"+lang]; ok {
		typ = KnowledgeUpdated
	}
	stamp, _ := rest.ParseDateTime(a.SystemModstamp)
	// Copies: a's strings share the fetched record's allocation, HTML and
	// all, which the event would otherwise keep alive for the whole sync.
	return KnowledgeEvent{ID: a.ID + "@" + strconv.FormatInt(stamp.UnixMilli(), 10), Type: typ, Time: stamp.UTC(),
		ArticleID: strings.Clone(a.ID), KnowledgeArticleID: strings.Clone(a.KnowledgeArticleID), Language: lang, Title: strings.Clone(a.Title), URLName: strings.Clone(a.URLName)}
}

// archived builds the events of the articles left out of the listing.
func (k *Knowledge) archived(ctx context.Context, lang string, idx knowledgeIndex, gone []string) []KnowledgeEvent {
	var out []KnowledgeEvent
	now := clock.Or(k.Clock).Now().UTC()
	for _, key := range gone {
		e := idx.Entries[key]
		vid, stampText, _ := strings.Cut(e.Version, "@")
		stamp, _ := rest.ParseDateTime(stampText)
		ev := KnowledgeEvent{ID: vid + "@" + strconv.FormatInt(stamp.UnixMilli(), 10) + "~archived", Type: KnowledgeArchived, Time: now,
			ArticleID: vid, Language: lang, URLName: e.URLName}
		ev.KnowledgeArticleID, _, _ = strings.Cut(key, "/")
		if a, err := k.load(ctx, key); err == nil {
			ev.Title = a.Title
		}
		out = append(out, ev)
	}
	return out
}

// commit writes one language's fetched articles, its new index, its
// checkpoint and its events in one transaction fenced by k.Fence.
func (k *Knowledge) commit(ctx context.Context, lang string, current map[string]indexEntry, docs []state.Document, changes []KnowledgeEvent, gone []string) error {
	key := state.CheckpointKey{Org: k.Org, Pipeline: knowledgePipeline, Key: lang}
	var version int64
	switch cp, err := k.Store.Checkpoint(ctx, key); {
	case err == nil:
		version = cp.Version
	case !errors.Is(err, state.ErrNotFound):
		return fmt.Errorf("servicedesk: reading the knowledge checkpoint of %s: %w", lang, err)
	}
	now := clock.Or(k.Clock).Now()
	docs = append(docs, indexDocs(k.Org, lang, marshalIndex(current), now)...)
	var out []state.OutboxRecord
	if k.Topic != "" {
		for _, ev := range changes {
			b, err := json.Marshal(ev)
			if err != nil {
				return err
			}
			out = append(out, state.OutboxRecord{Org: k.Org, Topic: k.Topic, Payload: b, CreatedAt: now})
		}
	}
	value, _ := json.Marshal(map[string]any{"articles": len(current), "synced_at": now.UTC()})
	if _, err := k.Store.Commit(ctx, state.Commit{Key: key, Expect: version, Value: value, Fence: k.Fence, Documents: docs, Outbox: out, Deletes: state.DocumentRefs(k.Org, kindArticle, gone)}); err != nil {
		return fmt.Errorf("servicedesk: committing %d %s articles, %d removals and %d events: %w", len(docs)-2, lang, len(gone), len(out), err)
	}
	return nil
}

func articleOf(r rest.Record, body []string, object string) Article {
	a := Article{ID: r.ID(), KnowledgeArticleID: str(r, "KnowledgeArticleId"), ArticleNumber: str(r, "ArticleNumber"), Title: str(r, "Title"),
		Summary: str(r, "Summary"), URLName: str(r, "UrlName"), Language: str(r, "Language"), LastPublishedDate: str(r, "LastPublishedDate"),
		SystemModstamp: str(r, "SystemModstamp"), HTML: map[string]string{}}
	if v, ok := r.Field("VersionNumber"); ok {
		a.VersionNumber, _ = v.(float64)
	}
	var text []string
	for _, f := range body {
		h := str(r, f)
		if h == "" {
			continue
		}
		a.HTML[f] = h
		text = append(text, HTMLToText(h))
	}
	a.Text = strings.Join(text, "\n\n")
	a.Link = "/lightning/r/" + object + "/" + a.ID + "/view"
	return a
}

// isoLang turns a Salesforce language code (en_US, de, pt_BR) into the
// ISO 639-1 code the search index stems for.
func isoLang(l string) string {
	l, _, _ = strings.Cut(l, "_")
	return strings.ToLower(l)
}

// isBlock reports whether an HTML element starts a new line of text.
func isBlock(name string) bool {
	switch name {
	case "p", "div", "br", "li", "ul", "ol", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "pre":
		return true
	}
	return false
}

// HTMLToText turns rich-text HTML into plain text: tags dropped, block
// elements on their own lines, entities decoded, scripts and styles
// removed, runs of blank space collapsed.
func HTMLToText(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		s = s[i:]
		j := strings.IndexByte(s, '>')
		if j < 0 {
			b.WriteString(s) // a lone '<' is text
			break
		}
		tag := strings.ToLower(strings.TrimLeft(s[1:j], "/"))
		name, _, _ := strings.Cut(strings.TrimRight(tag, "/ "), " ")
		s = s[j+1:]
		if name == "script" || name == "style" {
			if end := strings.Index(strings.ToLower(s), "</"+name); end >= 0 {
				s = s[end:]
			}
			continue
		}
		if isBlock(name) {
			b.WriteByte('\n')
		}
	}
	lines := strings.Split(html.UnescapeString(b.String()), "\n")
	out := lines[:0]
	for _, l := range lines {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Search runs a full-text query over the local copy, best first;
// language (a Salesforce code such as en_US, or empty for all) filters.
func (k *Knowledge) Search(ctx context.Context, text, language string, limit int) ([]KnowledgeHit, error) {
	if strings.TrimSpace(text) == "" {
		return nil, &ValidationError{Field: "query", Value: text, Reason: "is empty"}
	}
	// The articles come with the hits (WithData): one query, not one
	// more per hit.
	q := state.SearchQuery{Org: k.Org, Kind: kindArticle, Text: text, Limit: limit, WithData: true}
	if language != "" {
		q.Lang = isoLang(language)
	}
	hits, err := k.Store.Search(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("servicedesk: searching knowledge: %w", err)
	}
	out := make([]KnowledgeHit, 0, len(hits))
	for _, h := range hits {
		var hit KnowledgeHit
		if err := json.Unmarshal(h.Data, &hit.Article); err != nil {
			return nil, fmt.Errorf("servicedesk: the local copy of article %s is unreadable: %w", h.ID, err)
		}
		if language != "" && hit.Language != language {
			continue
		}
		hit.Score = h.Score
		out = append(out, hit)
	}
	return out, nil
}

func (k *Knowledge) load(ctx context.Context, key string) (*Article, error) {
	doc, err := k.Store.Document(ctx, k.Org, kindArticle, key)
	if errors.Is(err, state.ErrNotFound) {
		return nil, &NotFoundError{What: "knowledge article", Key: key}
	}
	if err != nil {
		return nil, fmt.Errorf("servicedesk: reading article %s: %w", key, err)
	}
	var a Article
	if err := json.Unmarshal(doc.Data, &a); err != nil {
		return nil, fmt.Errorf("servicedesk: the local copy of article %s is unreadable: %w", key, err)
	}
	return &a, nil
}

// Get returns a synced article by version Id (ka0…), KnowledgeArticleId
// (kA0…) or UrlName; language picks among translations (default: the
// first synced language that has it).
func (k *Knowledge) Get(ctx context.Context, ref, language string) (*Article, error) {
	langs := []string{language}
	if language == "" {
		synced, err := k.syncedLanguages(ctx)
		if err != nil {
			return nil, err
		}
		langs = synced
	}
	for _, lang := range langs {
		// A KnowledgeArticleId is the article's key: one read.
		if a, err := k.load(ctx, ref+"/"+lang); err == nil {
			return a, nil
		} else if !errors.As(err, new(*NotFoundError)) {
			return nil, err
		}
		ci, err := k.indexFor(ctx, lang)
		if err != nil {
			return nil, err
		}
		if ci == nil {
			continue
		}
		if key, ok := ci.byVersion[ref]; ok {
			return k.load(ctx, key)
		}
		if key, ok := ci.byURL[strings.ToLower(ref)]; ok {
			return k.load(ctx, key)
		}
	}
	return nil, &NotFoundError{What: "synced knowledge article", Key: ref}
}

// syncedLanguages lists the languages synced so far, in the order of
// their first sync.
func (k *Knowledge) syncedLanguages(ctx context.Context) ([]string, error) {
	doc, err := k.Store.Document(ctx, k.Org, kindMeta, "languages")
	if errors.Is(err, state.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("servicedesk: reading the synced languages: %w", err)
	}
	var langs []string
	if err := json.Unmarshal(doc.Data, &langs); err != nil {
		return nil, fmt.Errorf("servicedesk: the list of synced languages is unreadable: %w", err)
	}
	return langs, nil
}

// Each calls fn with every synced article, language by language in the
// order they were first synced and by key within one; an error from fn
// stops it.
func (k *Knowledge) Each(ctx context.Context, fn func(*Article) error) error {
	langs, err := k.syncedLanguages(ctx)
	if err != nil {
		return err
	}
	for _, lang := range langs {
		ci, err := k.indexFor(ctx, lang)
		if err != nil {
			return err
		}
		if ci == nil {
			continue
		}
		for _, key := range ci.keys {
			a, err := k.load(ctx, key)
			if err != nil {
				return err
			}
			if err := fn(a); err != nil {
				return err
			}
		}
	}
	return nil
}

// indexFor returns the parsed index of lang, or nil when lang has not been
// synced. The index of a large knowledge base is a large document (some
// 10 MB at 100,000 articles), so the parsed copy is kept and used again
// for as long as the index's generation document is unchanged: a lookup
// then costs one small read instead of reading and decoding the index.
func (k *Knowledge) indexFor(ctx context.Context, lang string) (*cachedIndex, error) {
	gen := ""
	switch doc, err := k.Store.Document(ctx, k.Org, kindMeta, indexGenID(lang)); {
	case err == nil:
		gen = string(doc.Data)
	case !errors.Is(err, state.ErrNotFound):
		return nil, fmt.Errorf("servicedesk: reading the local knowledge index: %w", err)
	}
	k.mu.Lock()
	ci := k.indexes[lang]
	k.mu.Unlock()
	if ci != nil && gen != "" && ci.gen == gen {
		return ci, nil
	}
	doc, err := k.Store.Document(ctx, k.Org, kindIndex, lang)
	if errors.Is(err, state.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("servicedesk: reading the local knowledge index: %w", err)
	}
	var idx knowledgeIndex
	if err := json.Unmarshal(doc.Data, &idx); err != nil {
		return nil, fmt.Errorf("servicedesk: the local knowledge index of %s is unreadable: %w", lang, err)
	}
	ci = &cachedIndex{gen: gen, keys: make([]string, 0, len(idx.Entries)),
		byVersion: make(map[string]string, len(idx.Entries)), byURL: make(map[string]string, len(idx.Entries))}
	for key := range idx.Entries {
		ci.keys = append(ci.keys, key)
	}
	slices.Sort(ci.keys)
	for _, key := range ci.keys {
		e := idx.Entries[key]
		vid, _, _ := strings.Cut(e.Version, "@")
		if _, ok := ci.byVersion[vid]; !ok {
			ci.byVersion[vid] = key
		}
		if url := strings.ToLower(e.URLName); url != "" {
			if _, ok := ci.byURL[url]; !ok {
				ci.byURL[url] = key
			}
		}
	}
	// An index written before generations were (gen == "") is read
	// again each time, never cached as current.
	if gen != "" {
		k.mu.Lock()
		if k.indexes == nil {
			k.indexes = map[string]*cachedIndex{}
		}
		k.indexes[lang] = ci
		k.mu.Unlock()
	}
	return ci, nil
}
