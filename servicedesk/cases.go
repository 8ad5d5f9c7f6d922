package servicedesk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sfbridge/sfbridge/internal/backoff"
	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/rest"
)

// Cases opens, reads and comments on Cases. Every write is safe to retry:
//
//   - A Case is created with a client-side idempotency key in an External
//     ID field of Case (KeyField, default External_Id__c: the admin creates
//     it as Text, External ID, Unique). Before every attempt the key is
//     looked up; a Case that an earlier, timed-out attempt created is
//     returned (Reused) instead of being created again. Pass the same key
//     when a caller retries after a crash.
//   - A comment has no such field: after a failed attempt, the comments
//     the integration user wrote on the Case since shortly before the first
//     attempt are compared by body, and a match is returned instead of
//     posting again.
type Cases struct {
	Client *rest.Client
	// KeyField is the Case field holding the idempotency key.
	KeyField string
	// Clock and Retry time the retries of writes (nil and zero: real time
	// and the defaults of internal/backoff, at most 5 attempts).
	Clock clock.Clock
	Retry backoff.Policy
}

// NewCase is a Case to open for an employee.
type NewCase struct {
	// Email identifies the employee: the Contact with it (the oldest of
	// duplicates), or SuppliedEmail when no Contact has it.
	Email       string `json:"email"`
	Subject     string `json:"subject"`
	Description string `json:"description,omitempty"`
	Priority    string `json:"priority,omitempty"`
	Origin      string `json:"origin,omitempty"`
	// RecordType is a Case record type by id (012…), developer name or
	// label; empty uses the service user's default.
	RecordType string `json:"record_type,omitempty"`
	// Assign runs the org's active assignment rule
	// (Sforce-Auto-Assign: TRUE); otherwise the header says FALSE and the
	// integration user owns the Case.
	Assign bool `json:"assign,omitempty"`
	// Key is the idempotency key; empty means a random one (safe for the
	// retries inside Create, not across a caller's own retries).
	Key string `json:"key,omitempty"`
}

// CreatedCase is the result of Create.
type CreatedCase struct {
	ID            string `json:"id"`
	CaseNumber    string `json:"case_number"`
	OwnerID       string `json:"owner_id,omitempty"`
	RecordTypeID  string `json:"record_type_id,omitempty"`
	ContactID     string `json:"contact_id,omitempty"`
	SuppliedEmail string `json:"supplied_email,omitempty"`
	Key           string `json:"key"`
	// Reused is true when an earlier attempt with the same key had
	// created the Case.
	Reused bool `json:"reused"`
}

// CaseComment is a comment of a Case.
type CaseComment struct {
	ID          string `json:"id"`
	Body        string `json:"body"`
	Public      bool   `json:"public"`
	Author      Person `json:"author"`
	CreatedDate string `json:"created_date"`
}

// CaseDetail is a Case with its comments, oldest first.
type CaseDetail struct {
	ID               string        `json:"id"`
	CaseNumber       string        `json:"case_number"`
	Subject          string        `json:"subject"`
	Description      string        `json:"description,omitempty"`
	Status           string        `json:"status"`
	Priority         string        `json:"priority,omitempty"`
	Origin           string        `json:"origin,omitempty"`
	IsClosed         bool          `json:"is_closed"`
	Contact          Person        `json:"contact"`
	Owner            Person        `json:"owner"`
	CreatedDate      string        `json:"created_date"`
	LastModifiedDate string        `json:"last_modified_date"`
	Comments         []CaseComment `json:"comments"`
}

func (c *Cases) keyField() string {
	if c.KeyField == "" {
		return "External_Id__c"
	}
	return c.KeyField
}

func (c *Cases) policy() backoff.Policy {
	p := c.Retry
	if p.MaxAttempts == 0 {
		p.MaxAttempts = 5
	}
	return p
}

// retryable reports whether a failed write may not have happened, or
// happened without an answer: worth a lookup and another attempt.
func retryable(err error) backoff.Verdict {
	var te *rest.TransportError
	var ae *rest.APIError
	switch {
	case errors.As(err, &te):
		return backoff.Verdict{Retry: true, Reason: err.Error()}
	case errors.As(err, &ae) && (ae.StatusCode >= 500 || ae.HasCode("UNABLE_TO_LOCK_ROW")):
		return backoff.Verdict{Retry: true, Reason: err.Error()}
	}
	return backoff.Verdict{Reason: err.Error()}
}

func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "sfb-" + hex.EncodeToString(b[:])
}

// isCaseID reports whether s has the shape of a Case id: prefix 500, 15
// or 18 alphanumeric characters.
func isCaseID(s string) bool {
	if (len(s) != 15 && len(s) != 18) || !strings.HasPrefix(s, "500") {
		return false
	}
	for _, r := range s {
		alnum := '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
		if !alnum {
			return false
		}
	}
	return true
}

// Create opens a Case for an employee and returns its Id and CaseNumber.
func (c *Cases) Create(ctx context.Context, nc NewCase) (*CreatedCase, error) {
	if strings.TrimSpace(nc.Subject) == "" {
		return nil, &ValidationError{Field: "subject", Value: nc.Subject, Reason: "is empty; a Case needs a subject"}
	}
	email, err := checkEmail(nc.Email)
	if err != nil {
		return nil, err
	}
	if !rest.IsAPIName(c.keyField()) {
		return nil, &ConfigError{Field: "KeyField", Reason: fmt.Sprintf("%q is not a field API name", c.keyField()), Fix: "name the External ID field of Case, e.g. External_Id__c"}
	}
	key := nc.Key
	if key == "" {
		key = newKey()
	}
	emp, err := (&Employees{Client: c.Client}).Find(ctx, email)
	if err != nil {
		return nil, err
	}
	fields := map[string]any{"Subject": nc.Subject, c.keyField(): key}
	out := &CreatedCase{Key: key}
	if emp.CaseContactID != "" {
		fields["ContactId"] = emp.CaseContactID
		out.ContactID = emp.CaseContactID
	} else {
		fields["SuppliedEmail"] = email
		out.SuppliedEmail = email
	}
	if nc.RecordType != "" {
		rt, err := c.recordType(ctx, nc.RecordType)
		if err != nil {
			return nil, err
		}
		fields["RecordTypeId"] = rt
		out.RecordTypeID = rt
	}
	for k, v := range map[string]string{"Description": nc.Description, "Priority": nc.Priority, "Origin": nc.Origin} {
		if v != "" {
			fields[k] = v
		}
	}
	assign := "FALSE"
	if nc.Assign {
		assign = "TRUE"
	}
	b := c.policy().Start(clock.Or(c.Clock))
	for {
		found, err := c.byKey(ctx, key)
		if err != nil {
			return nil, err
		}
		if found != nil {
			found.Key, found.Reused = key, true
			found.ContactID, found.SuppliedEmail = out.ContactID, out.SuppliedEmail
			return found, nil
		}
		subs, err := c.Client.Composite.Do(ctx, rest.CompositeRequest{Requests: []rest.Subrequest{
			{Method: "POST", URL: "sobjects/Case", ReferenceID: "newCase", Body: fields, HTTPHeaders: map[string]string{"Sforce-Auto-Assign": assign}},
			{Method: "GET", URL: "sobjects/Case/@{newCase.id}?fields=CaseNumber,OwnerId", ReferenceID: "readBack"},
		}})
		if err == nil {
			err = subError("creating the Case", subs)
		}
		if err == nil {
			var saved rest.SaveResult
			var rec struct {
				CaseNumber string `json:"CaseNumber"`
				OwnerID    string `json:"OwnerId"`
			}
			if jerr := errors.Join(json.Unmarshal(subs[0].Body, &saved), json.Unmarshal(subs[1].Body, &rec)); jerr != nil {
				return nil, fmt.Errorf("servicedesk: reading the new Case: %w", jerr)
			}
			out.ID, out.CaseNumber, out.OwnerID = saved.ID, rec.CaseNumber, rec.OwnerID
			return out, nil
		}
		d, ok := b.Next(retryable(err))
		if !ok {
			return nil, err
		}
		if werr := b.Wait(ctx, d); werr != nil {
			return nil, werr
		}
	}
}

// subError turns a failed subresponse into an *rest.APIError.
func subError(what string, subs []rest.Subresponse) error {
	for _, s := range subs {
		if s.HTTPStatusCode >= 300 {
			return fmt.Errorf("servicedesk: %s: %w", what, &rest.APIError{StatusCode: s.HTTPStatusCode, Method: "POST", URL: "composite", Errors: s.Errors()})
		}
	}
	return nil
}

// recordType resolves a Case record type by id, developer name or label.
func (c *Cases) recordType(ctx context.Context, ref string) (string, error) {
	if (len(ref) == 15 || len(ref) == 18) && strings.HasPrefix(ref, "012") {
		return ref, nil
	}
	q := "SELECT Id, DeveloperName, Name FROM RecordType WHERE SobjectType = 'Case' AND IsActive = true AND (DeveloperName = " + rest.Quote(ref) + " OR Name = " + rest.Quote(ref) + ")"
	page, err := c.Client.Query.Page(ctx, q, nil)
	if err != nil {
		return "", fmt.Errorf("servicedesk: finding Case record type %q: %w", ref, err)
	}
	switch len(page.Records) {
	case 0:
		return "", &ValidationError{Field: "record type", Value: ref, Reason: "is not an active Case record type (give its developer name, label or 012… id)"}
	case 1:
		return page.Records[0].ID(), nil
	}
	return "", &ValidationError{Field: "record type", Value: ref, Reason: fmt.Sprintf("names %d Case record types; give the developer name or the id", len(page.Records))}
}

func (c *Cases) byKey(ctx context.Context, key string) (*CreatedCase, error) {
	page, err := c.Client.Query.Page(ctx, "SELECT Id, CaseNumber, OwnerId FROM Case WHERE "+c.keyField()+" = "+rest.Quote(key)+" LIMIT 1", nil)
	if err != nil {
		return nil, fmt.Errorf("servicedesk: looking up idempotency key %s in Case.%s (it must be an External ID field): %w", key, c.keyField(), err)
	}
	if len(page.Records) == 0 {
		return nil, nil
	}
	r := page.Records[0]
	return &CreatedCase{ID: r.ID(), CaseNumber: str(r, "CaseNumber"), OwnerID: str(r, "OwnerId")}, nil
}

// Get reads a Case by Id (500…) or CaseNumber, with its comments.
func (c *Cases) Get(ctx context.Context, ref string) (*CaseDetail, error) {
	where, err := caseWhere(ref)
	if err != nil {
		return nil, err
	}
	q := "SELECT Id, CaseNumber, Subject, Description, Status, Priority, Origin, IsClosed, ContactId, Contact.Name, ContactEmail, SuppliedName, SuppliedEmail, OwnerId, Owner.Name, CreatedDate, LastModifiedDate, " +
		"(SELECT Id, CommentBody, IsPublished, CreatedById, CreatedBy.Name, CreatedDate FROM CaseComments ORDER BY CreatedDate ASC, Id ASC) FROM Case WHERE " + where
	page, err := c.Client.Query.Page(ctx, q, nil)
	if err != nil {
		return nil, fmt.Errorf("servicedesk: reading Case %s: %w", ref, err)
	}
	if len(page.Records) == 0 {
		return nil, &NotFoundError{What: "Case", Key: ref}
	}
	r := page.Records[0]
	d := &CaseDetail{ID: r.ID(), CaseNumber: str(r, "CaseNumber"), Subject: str(r, "Subject"), Description: str(r, "Description"), Status: str(r, "Status"),
		Priority: str(r, "Priority"), Origin: str(r, "Origin"), IsClosed: boolOf(r, "IsClosed"), Contact: contactOf(r, ""), Owner: ownerOf(r, ""),
		CreatedDate: str(r, "CreatedDate"), LastModifiedDate: str(r, "LastModifiedDate"), Comments: []CaseComment{}}
	if sub, ok := r["CaseComments"].(map[string]any); ok {
		recs, _ := sub["records"].([]any)
		for _, x := range recs {
			m, _ := x.(map[string]any)
			cr := rest.Record(m)
			d.Comments = append(d.Comments, CaseComment{ID: cr.ID(), Body: str(cr, "CommentBody"), Public: boolOf(cr, "IsPublished"),
				Author: Person{ID: str(cr, "CreatedById"), Name: str(cr, "CreatedBy.Name")}, CreatedDate: str(cr, "CreatedDate")})
		}
	}
	return d, nil
}

// caseWhere is the SOQL condition for an Id or a CaseNumber (digits are
// padded to the 8 of an auto-number: 1026 → 00001026).
func caseWhere(ref string) (string, error) {
	ref = strings.TrimSpace(ref)
	switch {
	case isCaseID(ref):
		return "Id = " + rest.Quote(ref), nil
	case ref != "" && strings.Trim(ref, "0123456789") == "":
		if len(ref) < 8 {
			ref = strings.Repeat("0", 8-len(ref)) + ref
		}
		return "CaseNumber = " + rest.Quote(ref), nil
	}
	return "", &ValidationError{Field: "case", Value: ref, Reason: "is neither a Case Id (500…) nor a CaseNumber (digits)"}
}

// AddComment adds a comment to a Case (by Id or CaseNumber), published to
// the employee when public, internal otherwise.
func (c *Cases) AddComment(ctx context.Context, ref, body string, public bool) (*CaseComment, error) {
	if strings.TrimSpace(body) == "" {
		return nil, &ValidationError{Field: "body", Value: body, Reason: "is empty"}
	}
	if len(body) > 4000 {
		return nil, &ValidationError{Field: "body", Value: body[:40] + "…", Reason: fmt.Sprintf("is %d bytes; a CaseComment holds at most 4000", len(body))}
	}
	caseID := strings.TrimSpace(ref)
	if !isCaseID(caseID) {
		d, err := c.Get(ctx, ref)
		if err != nil {
			return nil, err
		}
		caseID = d.ID
	}
	clk := clock.Or(c.Clock)
	began := clk.Now().Add(-5 * time.Minute) // tolerate clock skew with the org
	b := c.policy().Start(clk)
	var me string
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			if me == "" {
				id, err := c.Client.Identity.Get(ctx)
				if err != nil {
					return nil, fmt.Errorf("servicedesk: finding the integration user to check for a duplicate comment: %w", err)
				}
				me = id.UserID
			}
			found, err := c.ownComment(ctx, caseID, me, body, began)
			if err != nil {
				return nil, err
			}
			if found != nil {
				return found, nil
			}
		}
		res, err := c.Client.SObjects.Create(ctx, "CaseComment", map[string]any{"ParentId": caseID, "CommentBody": body, "IsPublished": public})
		if err == nil {
			return &CaseComment{ID: res.ID, Body: body, Public: public}, nil
		}
		d, ok := b.Next(retryable(err))
		if !ok {
			return nil, fmt.Errorf("servicedesk: commenting on Case %s: %w", ref, err)
		}
		if werr := b.Wait(ctx, d); werr != nil {
			return nil, werr
		}
	}
}

func (c *Cases) ownComment(ctx context.Context, caseID, me, body string, since time.Time) (*CaseComment, error) {
	q := "SELECT Id, CommentBody, IsPublished, CreatedDate FROM CaseComment WHERE ParentId = " + rest.Quote(caseID) +
		" AND CreatedById = " + rest.Quote(me) + " AND CreatedDate >= " + rest.FormatDateTime(since) + " ORDER BY CreatedDate DESC"
	for r, err := range c.Client.Query.Records(ctx, q, nil) {
		if err != nil {
			return nil, fmt.Errorf("servicedesk: checking for a comment an earlier attempt wrote: %w", err)
		}
		if str(r, "CommentBody") == body {
			return &CaseComment{ID: r.ID(), Body: body, Public: boolOf(r, "IsPublished"), Author: Person{ID: me}, CreatedDate: str(r, "CreatedDate")}, nil
		}
	}
	return nil, nil
}
