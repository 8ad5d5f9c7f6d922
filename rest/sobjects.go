package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// SObjectsService reads and writes single records and describes objects:
// /sobjects and below.
type SObjectsService service

// SaveResult is the outcome of creating, updating, upserting or deleting
// one record.
type SaveResult struct {
	ID      string      `json:"id"`
	Success bool        `json:"success"`
	Errors  []ErrorItem `json:"errors"`
	// Created is set by upserts: true when a record was inserted.
	Created *bool `json:"created,omitempty"`
}

// Err returns nil for a success and an error naming Salesforce's codes for
// a failure.
func (r SaveResult) Err() error {
	if r.Success {
		return nil
	}
	var parts []string
	for _, e := range r.Errors {
		p := e.Code() + ": " + e.Message
		if len(e.Fields) > 0 {
			p += " (fields: " + strings.Join(e.Fields, ", ") + ")"
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		parts = []string{"no reason given"}
	}
	return fmt.Errorf("rest: record %s not saved: %s", r.ID, strings.Join(parts, "; "))
}

// IsAPIName reports whether s can be the API name of an object or field
// (Case, Knowledge__kav, ns__Obj__c): 1 to 120 letters, digits and
// underscores. The client refuses any other object name, since names go
// into URL paths unescaped.
func IsAPIName(s string) bool {
	if s == "" || len(s) > 120 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

func checkName(kind, s string) error {
	if !IsAPIName(s) {
		return fmt.Errorf("rest: %s %q is not an API name (letters, digits and underscores)", kind, s)
	}
	return nil
}

// checkID accepts 15- and 18-character record ids.
func checkID(id string) error {
	if (len(id) == 15 || len(id) == 18) && IsAPIName(id) && !strings.Contains(id, "_") {
		return nil
	}
	return fmt.Errorf("rest: %q is not a Salesforce record id (15 or 18 letters and digits)", id)
}

// Create inserts a record of object with the given fields (a map or a
// struct with json tags) and returns its id. A create is not repeated
// after a failure unless the request surely never reached Salesforce.
func (s *SObjectsService) Create(ctx context.Context, object string, fields any) (*SaveResult, error) {
	if err := checkName("object", object); err != nil {
		return nil, err
	}
	body, err := jsonBody(fields)
	if err != nil {
		return nil, err
	}
	var res SaveResult
	if err := s.c.doJSON(ctx, &request{method: http.MethodPost, path: "sobjects/" + object, body: body}, &res); err != nil {
		return nil, err
	}
	if err := res.Err(); err != nil {
		return &res, err
	}
	return &res, nil
}

// Get reads one record; with fields only those, otherwise every field the
// user can see.
func (s *SObjectsService) Get(ctx context.Context, object, id string, fields ...string) (Record, error) {
	if err := checkName("object", object); err != nil {
		return nil, err
	}
	if err := checkID(id); err != nil {
		return nil, err
	}
	r := &request{method: http.MethodGet, path: "sobjects/" + object + "/" + id}
	if len(fields) > 0 {
		for _, f := range fields {
			if err := checkName("field", strings.ReplaceAll(f, ".", "_")); err != nil {
				return nil, err
			}
		}
		r.query = url.Values{"fields": {strings.Join(fields, ",")}}
	}
	var rec Record
	if err := s.c.doJSON(ctx, r, &rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// Update changes the given fields of a record.
func (s *SObjectsService) Update(ctx context.Context, object, id string, fields any) error {
	if err := checkName("object", object); err != nil {
		return err
	}
	if err := checkID(id); err != nil {
		return err
	}
	body, err := jsonBody(fields)
	if err != nil {
		return err
	}
	return s.c.doJSON(ctx, &request{method: http.MethodPatch, path: "sobjects/" + object + "/" + id, body: body}, nil)
}

// Upsert inserts or updates the record whose external id field extIDField
// has the value extID. The result's Created says which happened. Several
// matching records fail with a 300 [*APIError].
func (s *SObjectsService) Upsert(ctx context.Context, object, extIDField, extID string, fields any) (*SaveResult, error) {
	if err := checkName("object", object); err != nil {
		return nil, err
	}
	if err := checkName("external id field", extIDField); err != nil {
		return nil, err
	}
	if extID == "" {
		return nil, fmt.Errorf("rest: Upsert %s: empty external id value", object)
	}
	body, err := jsonBody(fields)
	if err != nil {
		return nil, err
	}
	path := "sobjects/" + object + "/" + extIDField + "/" + url.PathEscape(extID)
	resp, err := s.c.send(ctx, &request{method: http.MethodPatch, path: path, body: body})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	res := SaveResult{Success: true}
	if resp.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
			return nil, fmt.Errorf("rest: Upsert %s: decoding the response: %w", object, err)
		}
	}
	if res.Created == nil {
		created := resp.StatusCode == http.StatusCreated
		res.Created = &created
	}
	return &res, res.Err()
}

// Delete deletes a record (it goes to the recycle bin). When a retry finds
// the record already gone after an attempt that may have deleted it (the
// connection broke after the request was sent, or a 5xx), Delete reports
// success.
func (s *SObjectsService) Delete(ctx context.Context, object, id string) error {
	if err := checkName("object", object); err != nil {
		return err
	}
	if err := checkID(id); err != nil {
		return err
	}
	err := s.c.doJSON(ctx, &request{method: http.MethodDelete, path: "sobjects/" + object + "/" + id}, nil)
	// A retry that finds the record gone, after an attempt that may have
	// deleted it, is the delete having worked.
	var ae *APIError
	if errors.As(err, &ae) && ae.Repeated && (errors.Is(err, ErrEntityIsDeleted) || errors.Is(err, ErrNotFound)) {
		return nil
	}
	return err
}

// Describe is an object's metadata as the calling user sees it: the CRUD
// flags reflect the user's permissions and hidden fields are left out.
type Describe struct {
	Name               string              `json:"name"`
	Label              string              `json:"label"`
	LabelPlural        string              `json:"labelPlural"`
	KeyPrefix          string              `json:"keyPrefix"`
	Custom             bool                `json:"custom"`
	Createable         bool                `json:"createable"`
	Updateable         bool                `json:"updateable"`
	Deletable          bool                `json:"deletable"`
	Queryable          bool                `json:"queryable"`
	Retrieveable       bool                `json:"retrieveable"`
	Searchable         bool                `json:"searchable"`
	Replicateable      bool                `json:"replicateable"`
	Fields             []Field             `json:"fields"`
	ChildRelationships []ChildRelationship `json:"childRelationships"`
	// Raw is the whole describe document as Salesforce sent it.
	Raw json.RawMessage `json:"-"`
}

// Field describes one field.
type Field struct {
	Name             string          `json:"name"`
	Label            string          `json:"label"`
	Type             string          `json:"type"`
	Length           int             `json:"length"`
	Nillable         bool            `json:"nillable"`
	Createable       bool            `json:"createable"`
	Updateable       bool            `json:"updateable"`
	Filterable       bool            `json:"filterable"`
	Custom           bool            `json:"custom"`
	ExternalID       bool            `json:"externalId"`
	IDLookup         bool            `json:"idLookup"`
	Unique           bool            `json:"unique"`
	ReferenceTo      []string        `json:"referenceTo"`
	RelationshipName string          `json:"relationshipName"`
	PicklistValues   []PicklistValue `json:"picklistValues"`
}

// PicklistValue is one value of a picklist field.
type PicklistValue struct {
	Value        string `json:"value"`
	Label        string `json:"label"`
	Active       bool   `json:"active"`
	DefaultValue bool   `json:"defaultValue"`
}

// ChildRelationship links an object to the objects that refer to it.
type ChildRelationship struct {
	ChildSObject     string `json:"childSObject"`
	Field            string `json:"field"`
	RelationshipName string `json:"relationshipName"`
	CascadeDelete    bool   `json:"cascadeDelete"`
}

// Describe describes object.
func (s *SObjectsService) Describe(ctx context.Context, object string) (*Describe, error) {
	if err := checkName("object", object); err != nil {
		return nil, err
	}
	var raw json.RawMessage
	if err := s.c.doJSON(ctx, &request{method: http.MethodGet, path: "sobjects/" + object + "/describe"}, &raw); err != nil {
		return nil, err
	}
	d := &Describe{Raw: raw}
	if err := json.Unmarshal(raw, d); err != nil {
		return nil, fmt.Errorf("rest: describe %s: %w", object, err)
	}
	return d, nil
}

// DescribeGlobal is the global describe: the objects the user can see.
type DescribeGlobal struct {
	Encoding     string          `json:"encoding"`
	MaxBatchSize int             `json:"maxBatchSize"`
	SObjects     []ObjectSummary `json:"sobjects"`
}

// ObjectSummary is one object of the global describe.
type ObjectSummary struct {
	Name         string `json:"name"`
	Label        string `json:"label"`
	KeyPrefix    string `json:"keyPrefix"`
	Custom       bool   `json:"custom"`
	Createable   bool   `json:"createable"`
	Updateable   bool   `json:"updateable"`
	Deletable    bool   `json:"deletable"`
	Queryable    bool   `json:"queryable"`
	Retrieveable bool   `json:"retrieveable"`
}

// DescribeGlobal lists every object the user can see.
func (s *SObjectsService) DescribeGlobal(ctx context.Context) (*DescribeGlobal, error) {
	var g DescribeGlobal
	if err := s.c.doJSON(ctx, &request{method: http.MethodGet, path: "sobjects"}, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

// UpdatedResult lists the ids of records changed in a window.
type UpdatedResult struct {
	IDs []string `json:"ids"`
	// LatestDateCovered is where the next window should start; it can lag
	// behind the requested end while long transactions are open.
	LatestDateCovered DateTime `json:"latestDateCovered"`
}

// DeletedResult lists the records deleted in a window.
type DeletedResult struct {
	DeletedRecords []struct {
		ID          string   `json:"id"`
		DeletedDate DateTime `json:"deletedDate"`
	} `json:"deletedRecords"`
	// EarliestDateAvailable later than the requested start means the
	// delete log was purged: resynchronise fully.
	EarliestDateAvailable DateTime `json:"earliestDateAvailable"`
	LatestDateCovered     DateTime `json:"latestDateCovered"`
}

// Updated lists the ids of object's records changed between start and end
// (at most the last 30 days).
func (s *SObjectsService) Updated(ctx context.Context, object string, start, end time.Time) (*UpdatedResult, error) {
	var res UpdatedResult
	if err := s.window(ctx, object, "updated", start, end, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Deleted lists object's records deleted between start and end.
func (s *SObjectsService) Deleted(ctx context.Context, object string, start, end time.Time) (*DeletedResult, error) {
	var res DeletedResult
	if err := s.window(ctx, object, "deleted", start, end, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

func (s *SObjectsService) window(ctx context.Context, object, kind string, start, end time.Time, out any) error {
	if err := checkName("object", object); err != nil {
		return err
	}
	if !end.After(start) {
		return fmt.Errorf("rest: %s %s: end %s is not after start %s", object, kind, end.Format(time.RFC3339), start.Format(time.RFC3339))
	}
	q := url.Values{"start": {FormatDateTime(start)}, "end": {FormatDateTime(end)}}
	return s.c.doJSON(ctx, &request{method: http.MethodGet, path: "sobjects/" + object + "/" + kind + "/", query: q}, out)
}
