package data

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/sfbridge/sfbridge/emulator/sfid"
	"github.com/sfbridge/sfbridge/emulator/soql"
)

// LoadJSON loads records from a fixture. It accepts either an object
// mapping object names to record lists, {"Case": [{...}], "Contact": [...]},
// or a list of records each carrying "attributes": {"type": "Case"}. A
// record's "Id" is kept when given. Records are loaded in the order given,
// so parents should come before the children that refer to them.
func (s *Store) LoadJSON(r io.Reader) (int, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return 0, fmt.Errorf("data: reading records: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return 0, fmt.Errorf("data: records are not valid JSON: %w", err)
	}
	n := 0
	load := func(object string, rec map[string]any) error {
		var id sfid.ID
		if v, ok := rec["Id"].(string); ok && v != "" {
			p, err := sfid.Parse(v)
			if err != nil {
				return fmt.Errorf("data: record %d (%s): Id %q: %w", n+1, object, v, err)
			}
			id = p
		}
		if _, err := s.Insert(object, id, rec); err != nil {
			return fmt.Errorf("data: record %d (%s): %w", n+1, object, err)
		}
		n++
		return nil
	}
	switch x := raw.(type) {
	case []any:
		for _, item := range x {
			rec, ok := item.(map[string]any)
			if !ok || recordType(rec) == "" {
				return n, fmt.Errorf("data: record %d has no attributes.type; give each record \"attributes\": {\"type\": \"Case\"}", n+1)
			}
			if err := load(recordType(rec), rec); err != nil {
				return n, err
			}
		}
	case map[string]any:
		// Keep the file's order of objects, which JSON maps lose.
		order, err := topLevelKeys(b)
		if err != nil {
			return 0, err
		}
		for _, object := range order {
			list, ok := x[object].([]any)
			if !ok {
				return n, fmt.Errorf("data: %q must be a list of records", object)
			}
			for _, item := range list {
				rec, ok := item.(map[string]any)
				if !ok {
					return n, fmt.Errorf("data: %q holds a value that is not a record", object)
				}
				if err := load(object, rec); err != nil {
					return n, err
				}
			}
		}
	default:
		return 0, errors.New("data: records must be a JSON object keyed by object name or a list of records")
	}
	return n, nil
}

func topLevelKeys(b []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := tok.(string)
		keys = append(keys, k)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// LoadCSV loads records of one object from CSV with a header row of field
// names (as Bulk API and Data Loader files have). Empty cells are null.
func (s *Store) LoadCSV(object string, r io.Reader) (int, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return 0, fmt.Errorf("data: reading the CSV header of %s: %w", object, err)
	}
	header[0] = strings.TrimPrefix(header[0], "\ufeff")
	n := 0
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("data: CSV row %d of %s: %w", n+2, object, err)
		}
		if len(row) != len(header) {
			return n, fmt.Errorf("data: CSV row %d of %s has %d cells, the header has %d", n+2, object, len(row), len(header))
		}
		rec := make(map[string]any, len(row))
		var id sfid.ID
		for i, h := range header {
			h = strings.TrimSpace(h)
			if row[i] == "" {
				continue
			}
			if strings.EqualFold(h, "Id") {
				p, err := sfid.Parse(row[i])
				if err != nil {
					return n, fmt.Errorf("data: CSV row %d of %s: Id %q: %w", n+2, object, row[i], err)
				}
				id = p
				continue
			}
			rec[h] = row[i]
		}
		if _, err := s.Insert(object, id, rec); err != nil {
			return n, fmt.Errorf("data: CSV row %d of %s: %w", n+2, object, err)
		}
		n++
	}
}

// Generate adds n synthetic, realistic records of object (Account,
// Contact, Case, CaseComment or Knowledge__kav), deterministic for a seed.
// Owners and creators are drawn from the existing Users (one is created if
// there is none), Contacts from existing Accounts, Cases from existing
// Contacts, CaseComments from existing Cases. Values that repeat are shared
// between records, so a million Cases fit in memory.
func (s *Store) Generate(object string, n int, seed uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, e := s.table(object)
	if e != nil {
		return fmt.Errorf("data: cannot generate %s: no such object", object)
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	users := s.ensureUsersLocked()
	pickID := func(tbl string) any {
		recs := s.tables[tbl].recs
		if len(recs) == 0 {
			return nil
		}
		return recs[rng.IntN(len(recs))].Get(0)
	}
	boxed := func(vals []string) []any {
		out := make([]any, len(vals))
		for i, v := range vals {
			out[i] = v
		}
		return out
	}
	def := t.def
	index := map[string]int{}
	for _, fd := range def.Fields {
		index[fd.Name] = fd.index
	}
	idx := func(name string) int { return index[name] }
	now := s.now().UTC()
	span := int64(90 * 24 * time.Hour / time.Millisecond)
	first := boxed([]string{"Ana", "Ben", "Chloé", "Dmitri", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kofi", "Lena", "Mateo", "Nora", "Omar", "Priya"})
	last := boxed([]string{"Smith", "Müller", "García", "Rossi", "Nguyen", "Kowalski", "Okafor", "Tanaka", "Dubois", "Silva", "Johansson", "Novak"})
	companies := boxed([]string{"Acme Corp", "Globex", "Initech", "Umbrella Health", "Stark Industries", "Wayne Logistics", "Soylent Foods", "Tyrell Systems", "Cyberdyne", "Hooli"})
	subjects := boxed([]string{"Cannot log in to the portal", "Invoice shows the wrong amount", "Device does not power on", "Request for a refund", "Password reset link expired",
		"Order arrived damaged", "Feature request: export to CSV", "Slow response times in the app", "Shipping address change", "Integration returns 500 errors",
		"Warranty question", "Account locked after update", "Missing items in delivery", "Billing cycle clarification", "Data sync is delayed"})
	statuses, priorities, origins := boxed(caseStatusValues()), boxed(casePriorityValues()), boxed(caseOriginValues())
	comments := boxed([]string{"Called the customer, waiting for logs.", "Escalated to tier 2.", "Customer confirmed the fix works.", "Sent a replacement unit.", "Reproduced the issue internally."})
	trueV, falseV := any(true), any(false)
	scratch := make([]any, len(def.Fields)) // newRecord packs a copy
	for i := 0; i < n; i++ {
		clear(scratch)
		vals := scratch
		id := s.ids.New(def.KeyPrefix)
		vals[0] = string(id)
		created := soql.DateTime(now.UnixMilli() - rng.Int64N(span))
		createdV := any(created)
		modV := createdV
		if rng.IntN(3) == 0 {
			modV = any(created + soql.DateTime(rng.Int64N(now.UnixMilli()-int64(created)+1)))
		}
		user := users[rng.IntN(len(users))]
		vals[idx("IsDeleted")] = falseV
		vals[idx("CreatedDate")] = createdV
		vals[idx("LastModifiedDate")] = modV
		vals[idx("SystemModstamp")] = modV
		vals[idx("CreatedById")] = user
		vals[idx("LastModifiedById")] = user
		if fd, ok := def.Field("OwnerId"); ok {
			vals[fd.index] = user
		}
		fn, ln := first[rng.IntN(len(first))], last[rng.IntN(len(last))]
		switch def.Name {
		case ObjAccount:
			vals[idx("Name")] = companies[rng.IntN(len(companies))]
			vals[idx("Industry")] = def.Fields[idx("Industry")].Picklist[rng.IntN(7)]
			vals[idx("NumberOfEmployees")] = float64(10 + rng.IntN(5000))
		case ObjContact:
			vals[idx("FirstName")], vals[idx("LastName")] = fn, ln
			vals[idx("Name")] = fn.(string) + " " + ln.(string)
			vals[idx("Email")] = fmt.Sprintf("%s.%s.%d@example.com", strings.ToLower(fn.(string)), strings.ToLower(ln.(string)), i)
			vals[idx("AccountId")] = pickID("account")
			vals[idx("IsEmailBounced")] = falseV
		case ObjCase:
			s.caseNumber++
			vals[idx("CaseNumber")] = fmt.Sprintf("%08d", s.caseNumber)
			vals[idx("Subject")] = subjects[rng.IntN(len(subjects))]
			st := statuses[rng.IntN(len(statuses))]
			vals[idx("Status")] = st
			vals[idx("Priority")] = priorities[rng.IntN(len(priorities))]
			vals[idx("Origin")] = origins[rng.IntN(len(origins))]
			vals[idx("IsEscalated")] = falseV
			if closedStatus(st.(string)) {
				vals[idx("IsClosed")] = trueV
				vals[idx("ClosedDate")] = modV
			} else {
				vals[idx("IsClosed")] = falseV
			}
			if cid := pickID("contact"); cid != nil {
				vals[idx("ContactId")] = cid
				c := s.lookup(s.tables["contact"], cid.(string))
				cdef := s.tables["contact"].def
				em, _ := cdef.Field("Email")
				acct, _ := cdef.Field("AccountId")
				vals[idx("ContactEmail")] = c.Get(em.index)
				vals[idx("AccountId")] = c.Get(acct.index) // the Contact's field, not the Case's index
			}
		case ObjCaseComment:
			parent := pickID("case")
			if parent == nil {
				return errors.New("data: generate Cases before CaseComments")
			}
			vals[idx("ParentId")] = parent
			vals[idx("CommentBody")] = comments[rng.IntN(len(comments))]
			vals[idx("IsPublished")] = any(rng.IntN(2) == 0)
			vals[idx("IsNotificationSelected")] = falseV
		case ObjKnowledge:
			s.articleNum++
			title := subjects[rng.IntN(len(subjects))].(string)
			vals[idx("Title")] = "How to resolve: " + title
			vals[idx("UrlName")] = fmt.Sprintf("article-%d", s.articleNum)
			vals[idx("Summary")] = "Steps our support team uses when a customer reports: " + strings.ToLower(title) + "."
			vals[idx("ArticleNumber")] = fmt.Sprintf("%09d", s.articleNum)
			vals[idx("KnowledgeArticleId")] = string(s.ids.New("kA0"))
			vals[idx("Language")] = "en_US"
			vals[idx("PublishStatus")] = []string{"Online", "Online", "Draft", "Archived"}[rng.IntN(4)]
			vals[idx("VersionNumber")] = float64(1)
			vals[idx("IsLatestVersion")] = trueV
			vals[idx("IsMasterLanguage")] = trueV
			vals[idx("IsVisibleInApp")] = trueV
			vals[idx("IsVisibleInPkb")] = any(rng.IntN(2) == 0)
			vals[idx("IsVisibleInCsp")] = falseV
			vals[idx("IsVisibleInPrm")] = falseV
			vals[idx("ValidationStatus")] = "Validated"
			vals[idx("ArticleTotalViewCount")] = float64(rng.IntN(10000))
			vals[idx("Answer__c")] = "<p>Check the account settings, then retry.</p>"
			if vals[idx("PublishStatus")] != "Draft" {
				vals[idx("FirstPublishedDate")] = createdV
				vals[idx("LastPublishedDate")] = modV
			}
		default:
			return fmt.Errorf("data: cannot generate %s records; Generate supports Account, Contact, Case, CaseComment and Knowledge__kav", def.Name)
		}
		t.byID[string(id)] = int32(len(t.recs))
		t.recs = append(t.recs, newRecord(vals))
	}
	return nil
}

// ensureUsersLocked returns the ids of the existing Users, creating an
// automated-process user when there is none.
func (s *Store) ensureUsersLocked() []any {
	ut := s.tables["user"]
	if len(ut.recs) == 0 {
		_, err := s.insertLocked(ut, "", map[string]any{
			"Username": "autoproc@sfbridge.test", "LastName": "Automated Process", "Alias": "autoproc", "Email": "autoproc@sfbridge.test",
			"TimeZoneSidKey": "GMT", "LocaleSidKey": "en_US", "LanguageLocaleKey": "en_US", "EmailEncodingKey": "UTF-8", "UserType": "AutomatedProcess",
		}, writeOpts{system: true})
		if err != nil {
			return []any{nil}
		}
	}
	out := make([]any, 0, min(len(ut.recs), 50))
	for _, r := range ut.recs[:min(len(ut.recs), 50)] {
		out = append(out, r.Get(0))
	}
	return out
}
