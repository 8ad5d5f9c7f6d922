package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// CompositeService sends several operations in one call: /composite and
// the sObject collections under /composite/sobjects.
type CompositeService service

// Subrequest is one operation of a composite request. URL may be relative
// to the versioned root ("sobjects/Case") or absolute
// ("/services/data/v66.0/sobjects/Case"); later subrequests can refer to
// earlier results as @{ReferenceID.id}.
type Subrequest struct {
	Method      string            `json:"method"`
	URL         string            `json:"url"`
	ReferenceID string            `json:"referenceId"`
	Body        any               `json:"body,omitempty"`
	HTTPHeaders map[string]string `json:"httpHeaders,omitempty"`
}

// CompositeRequest is up to 25 subrequests (at most 5 of them queries),
// counted as one API call.
type CompositeRequest struct {
	AllOrNone          bool         `json:"allOrNone"`
	CollateSubrequests bool         `json:"collateSubrequests"`
	Requests           []Subrequest `json:"compositeRequest"`
}

// Subresponse is the result of one subrequest. The composite call itself
// succeeds even when subrequests fail; check HTTPStatusCode.
type Subresponse struct {
	Body           json.RawMessage   `json:"body"`
	HTTPHeaders    map[string]string `json:"httpHeaders"`
	HTTPStatusCode int               `json:"httpStatusCode"`
	ReferenceID    string            `json:"referenceId"`
}

// Errors decodes a failed subresponse's error list.
func (r Subresponse) Errors() []ErrorItem {
	if r.HTTPStatusCode < 300 {
		return nil
	}
	var items []ErrorItem
	_ = json.Unmarshal(r.Body, &items)
	return items
}

// Do sends a composite request. It is not retried after it may have
// reached Salesforce, since it may create records.
func (s *CompositeService) Do(ctx context.Context, req CompositeRequest) ([]Subresponse, error) {
	if n := len(req.Requests); n == 0 || n > 25 {
		return nil, fmt.Errorf("rest: composite: %d subrequests; want 1 to 25", n)
	}
	v, err := s.c.APIVersion(ctx)
	if err != nil {
		return nil, err
	}
	subs := make([]Subrequest, len(req.Requests))
	for i, sr := range req.Requests {
		if !strings.HasPrefix(sr.URL, "/") {
			sr.URL = "/services/data/v" + v + "/" + sr.URL
		}
		subs[i] = sr
	}
	req.Requests = subs
	body, err := jsonBody(req)
	if err != nil {
		return nil, err
	}
	var out struct {
		CompositeResponse []Subresponse `json:"compositeResponse"`
	}
	if err := s.c.doJSON(ctx, &request{method: http.MethodPost, path: "composite", body: body}, &out); err != nil {
		return nil, err
	}
	return out.CompositeResponse, nil
}

// maxCollection is the sObject collections limit per call.
const maxCollection = 200

// Create inserts up to 200 records (each with attributes.type set) and
// returns one result per record, in order. With allOrNone, one failure
// rolls back all.
func (s *CompositeService) Create(ctx context.Context, allOrNone bool, records []Record) ([]SaveResult, error) {
	return s.collection(ctx, http.MethodPost, "composite/sobjects", allOrNone, records)
}

// Update updates up to 200 records (each with Id and attributes.type).
func (s *CompositeService) Update(ctx context.Context, allOrNone bool, records []Record) ([]SaveResult, error) {
	return s.collection(ctx, http.MethodPatch, "composite/sobjects", allOrNone, records)
}

// Upsert upserts up to 200 records of object by extIDField.
func (s *CompositeService) Upsert(ctx context.Context, allOrNone bool, object, extIDField string, records []Record) ([]SaveResult, error) {
	if err := checkName("object", object); err != nil {
		return nil, err
	}
	if err := checkName("external id field", extIDField); err != nil {
		return nil, err
	}
	return s.collection(ctx, http.MethodPatch, "composite/sobjects/"+object+"/"+extIDField, allOrNone, records)
}

func (s *CompositeService) collection(ctx context.Context, method, path string, allOrNone bool, records []Record) ([]SaveResult, error) {
	if n := len(records); n == 0 || n > maxCollection {
		return nil, fmt.Errorf("rest: sObject collection of %d records; want 1 to %d", n, maxCollection)
	}
	for i, r := range records {
		if r.Type() == "" {
			return nil, fmt.Errorf("rest: record %d has no attributes.type; set Record{\"attributes\": map[string]any{\"type\": \"Case\"}, ...}", i)
		}
	}
	body, err := jsonBody(map[string]any{"allOrNone": allOrNone, "records": records})
	if err != nil {
		return nil, err
	}
	var out []SaveResult
	if err := s.c.doJSON(ctx, &request{method: method, path: path, body: body}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Delete deletes up to 200 records by id.
func (s *CompositeService) Delete(ctx context.Context, allOrNone bool, ids []string) ([]SaveResult, error) {
	if n := len(ids); n == 0 || n > maxCollection {
		return nil, fmt.Errorf("rest: delete of %d records; want 1 to %d", n, maxCollection)
	}
	for _, id := range ids {
		if err := checkID(id); err != nil {
			return nil, err
		}
	}
	q := map[string][]string{"ids": {strings.Join(ids, ",")}, "allOrNone": {fmt.Sprint(allOrNone)}}
	var out []SaveResult
	if err := s.c.doJSON(ctx, &request{method: http.MethodDelete, path: "composite/sobjects", query: q}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Retrieve reads up to 2000 records of one object by id; entries for ids
// that do not exist or are not visible are nil.
func (s *CompositeService) Retrieve(ctx context.Context, object string, ids, fields []string) ([]Record, error) {
	if err := checkName("object", object); err != nil {
		return nil, err
	}
	if len(ids) == 0 || len(ids) > 2000 || len(fields) == 0 {
		return nil, fmt.Errorf("rest: retrieve %s: want 1 to 2000 ids and at least one field", object)
	}
	body, err := jsonBody(map[string]any{"ids": ids, "fields": fields})
	if err != nil {
		return nil, err
	}
	var out []Record
	// A retrieve by POST changes nothing, so it may be retried like a GET.
	if err := s.c.doJSON(ctx, &request{method: http.MethodPost, path: "composite/sobjects/" + object, body: body, retrySafe: true}, &out); err != nil {
		return nil, err
	}
	return out, nil
}
