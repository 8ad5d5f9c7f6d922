package data

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/sfbridge/sfbridge/emulator/internal/httpjson"
	"github.com/sfbridge/sfbridge/emulator/sfid"
)

const rolledBackMessage = "Record rolled back because not all records were valid and the request was using AllOrNone header"

type subrequest struct {
	Method      string            `json:"method"`
	URL         string            `json:"url"`
	ReferenceID string            `json:"referenceId"`
	Body        json.RawMessage   `json:"body"`
	HTTPHeaders map[string]string `json:"httpHeaders"`
}

type subresponse struct {
	Body           any               `json:"body"`
	HTTPHeaders    map[string]string `json:"httpHeaders"`
	HTTPStatusCode int               `json:"httpStatusCode"`
	ReferenceID    string            `json:"referenceId"`
}

// recorder captures a subrequest's response.
type recorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

func refPattern() *regexp.Regexp {
	return regexp.MustCompile(`@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[[0-9]+\])*)\}`)
}

// resolveRef evaluates ref.path (id, records[0].Id, …) against the
// decoded bodies of earlier subrequests.
func resolveRef(results map[string]any, name, path string) (string, bool) {
	v, ok := results[name]
	if !ok {
		return "", false
	}
	for path != "" {
		switch path[0] {
		case '.':
			end := strings.IndexAny(path[1:], ".[")
			key := path[1:]
			if end >= 0 {
				key, path = path[1:end+1], path[end+1:]
			} else {
				path = ""
			}
			m, ok := v.(map[string]any)
			if !ok {
				return "", false
			}
			v = m[key]
		case '[':
			end := strings.IndexByte(path, ']')
			i, err := strconv.Atoi(path[1:end])
			path = path[end+1:]
			arr, ok := v.([]any)
			if err != nil || !ok || i >= len(arr) {
				return "", false
			}
			v = arr[i]
		default:
			return "", false
		}
	}
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// composite serves POST /composite: up to 25 subrequests run in order, later
// ones referring to earlier results with @{ref.field}; with allOrNone a
// failure rolls back everything.
func (c *call) composite() {
	var req struct {
		AllOrNone        bool         `json:"allOrNone"`
		CompositeRequest []subrequest `json:"compositeRequest"`
	}
	if e := c.readBody(&req); e != nil {
		writeErr(c.w, e)
		return
	}
	if len(req.CompositeRequest) == 0 {
		writeErr(c.w, badRequest("INVALID_INPUT", "The compositeRequest list is required and must contain at least one subrequest."))
		return
	}
	if len(req.CompositeRequest) > 25 {
		writeErr(c.w, badRequest("LIMIT_EXCEEDED", "Maximum number of subrequests exceeded: the limit is 25."))
		return
	}
	queries := 0
	for _, sr := range req.CompositeRequest {
		if strings.Contains(sr.URL, "/query") {
			queries++
		}
	}
	if queries > 5 {
		writeErr(c.w, badRequest("LIMIT_EXCEEDED", "A composite request can contain at most 5 query operations."))
		return
	}
	undo := &undoLog{}
	ctx := c.r.Context()
	if req.AllOrNone {
		ctx = withUndo(ctx, undo)
	}
	pattern := refPattern()
	results := map[string]any{}
	out := make([]subresponse, 0, len(req.CompositeRequest))
	failed := -1
	for i, sr := range req.CompositeRequest {
		var unresolved string
		replace := func(s string) string {
			return pattern.ReplaceAllStringFunc(s, func(m string) string {
				sub := pattern.FindStringSubmatch(m)
				v, ok := resolveRef(results, sub[1], sub[2])
				if !ok {
					unresolved = sub[1] + sub[2]
					return m
				}
				return v
			})
		}
		u := replace(sr.URL)
		body := []byte(replace(string(sr.Body)))
		if unresolved != "" {
			out = append(out, subresponse{Body: []ErrorItem{{ErrorCode: "PROCESSING_HALTED", Message: fmt.Sprintf("Invalid reference specified. No value for %s found. Provided referenceId ('%s') is not valid or the operation it refers to failed.", unresolved, strings.Split(unresolved, ".")[0])}},
				HTTPHeaders: map[string]string{}, HTTPStatusCode: http.StatusBadRequest, ReferenceID: sr.ReferenceID})
			if failed < 0 {
				failed = i
			}
			if req.AllOrNone {
				break
			}
			continue
		}
		sub, err := http.NewRequestWithContext(ctx, strings.ToUpper(sr.Method), u, bytes.NewReader(bytes.TrimSpace(body)))
		if err != nil {
			out = append(out, subresponse{Body: []ErrorItem{{ErrorCode: "INVALID_INPUT", Message: "invalid subrequest url: " + sr.URL}}, HTTPHeaders: map[string]string{}, HTTPStatusCode: http.StatusBadRequest, ReferenceID: sr.ReferenceID})
			if failed < 0 {
				failed = i
			}
			if req.AllOrNone {
				break
			}
			continue
		}
		if string(body) == "null" {
			sub.Body = http.NoBody
		}
		for k, v := range sr.HTTPHeaders {
			sub.Header.Set(k, v)
		}
		rec := &recorder{h: http.Header{}}
		if !strings.HasPrefix(sub.URL.Path, "/services/data/v") {
			writeErr(rec, notFound())
		} else {
			c.ServeHTTP(rec, sub)
		}
		decoded := jsonRawNumber(rec.body.Bytes())
		headers := map[string]string{}
		if loc := rec.h.Get("Location"); loc != "" {
			headers["Location"] = loc
		}
		out = append(out, subresponse{Body: decoded, HTTPHeaders: headers, HTTPStatusCode: rec.status, ReferenceID: sr.ReferenceID})
		if rec.status >= 400 {
			if failed < 0 {
				failed = i
			}
			if req.AllOrNone {
				break
			}
			continue
		}
		if sr.ReferenceID != "" {
			results[sr.ReferenceID] = decoded
		}
	}
	if req.AllOrNone && failed >= 0 {
		c.s.mu.Lock()
		undo.rollback()
		c.s.mu.Unlock()
		halted := []ErrorItem{{ErrorCode: "PROCESSING_HALTED", Message: "The transaction was rolled back since another operation in the same transaction failed."}}
		for i := range out {
			if i != failed {
				out[i] = subresponse{Body: halted, HTTPHeaders: map[string]string{}, HTTPStatusCode: http.StatusBadRequest, ReferenceID: out[i].ReferenceID}
			}
		}
		for _, sr := range req.CompositeRequest[len(out):] {
			out = append(out, subresponse{Body: halted, HTTPHeaders: map[string]string{}, HTTPStatusCode: http.StatusBadRequest, ReferenceID: sr.ReferenceID})
		}
	}
	httpjson.Write(c.w, http.StatusOK, map[string]any{"compositeResponse": out})
}

func jsonRawNumber(b []byte) any {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return string(b)
	}
	return v
}

type saveResult struct {
	ID      *string       `json:"id"`
	Success bool          `json:"success"`
	Errors  []recordError `json:"errors"`
	Created *bool         `json:"created,omitempty"`
}

type recordError struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

func toRecordErrors(err error) []recordError {
	var e *Error
	if !errors.As(err, &e) {
		return []recordError{{StatusCode: "UNKNOWN_EXCEPTION", Message: err.Error(), Fields: []string{}}}
	}
	out := make([]recordError, len(e.Errors))
	for i, x := range e.Errors {
		f := x.Fields
		if f == nil {
			f = []string{}
		}
		out[i] = recordError{StatusCode: x.ErrorCode, Message: x.Message, Fields: f}
	}
	return out
}

// collections serves /composite/sobjects: create (POST), update (PATCH),
// upsert (PATCH /{T}/{field}) and delete (DELETE ?ids=) of up to 200
// records, with allOrNone.
func (c *call) collections(rest []string) {
	if len(rest) == 1 && (c.method == http.MethodGet || c.method == http.MethodPost) {
		c.retrieveMany(rest[0])
		return
	}
	var extField *FieldDef
	var object string
	switch {
	case len(rest) == 2 && c.method == http.MethodPatch:
		t, _, ok := c.readable(rest[0])
		if !ok {
			return
		}
		fd, ok := t.def.Field(rest[1])
		if !ok || (!fd.ExternalID && !fd.IDLookup) {
			writeErr(c.w, newErr(http.StatusNotFound, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: "+rest[1]))
			return
		}
		object, extField = t.def.Name, fd
	case len(rest) > 0:
		writeErr(c.w, notFound())
		return
	}
	var allOrNone bool
	var recs []map[string]any
	var ids []string
	switch c.method {
	case http.MethodPost, http.MethodPatch:
		var req struct {
			AllOrNone bool             `json:"allOrNone"`
			Records   []map[string]any `json:"records"`
		}
		if e := c.readBody(&req); e != nil {
			writeErr(c.w, e)
			return
		}
		allOrNone, recs = req.AllOrNone, req.Records
		if len(recs) > 200 {
			writeErr(c.w, badRequest("EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call"))
			return
		}
	case http.MethodDelete:
		q := c.r.URL.Query()
		allOrNone = q.Get("allOrNone") == "true"
		for _, id := range strings.Split(q.Get("ids"), ",") {
			if id = strings.TrimSpace(id); id != "" {
				ids = append(ids, id)
			}
		}
		if len(ids) > 200 {
			writeErr(c.w, badRequest("EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call"))
			return
		}
	default:
		c.methodNotAllowed("POST", "PATCH", "DELETE")
		return
	}
	undo := &undoLog{}
	ctx := withUndo(c.r.Context(), undo)
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	var results []saveResult
	anyFailed := false
	record := func(id string, err error) {
		r := saveResult{Success: err == nil, Errors: []recordError{}}
		if id != "" {
			r.ID = &id
		}
		if err != nil {
			r.Errors = toRecordErrors(err)
			anyFailed = true
		}
		results = append(results, r)
	}
	switch c.method {
	case http.MethodPost:
		for _, rec := range recs {
			typ := recordType(rec)
			if typ == "" {
				record("", badRequest("INVALID_TYPE", "Must specify a type in the attributes of each record"))
				continue
			}
			if _, ok := rec["Id"]; ok {
				record("", badRequest("INVALID_FIELD", "cannot specify Id in an insert call", "Id"))
				continue
			}
			id, err := c.s.createLocked(ctx, c.p, typ, rec)
			if err != nil {
				record("", err.withoutNil())
				continue
			}
			record(string(id), nil)
		}
	case http.MethodPatch:
		if extField != nil {
			for _, rec := range recs {
				id, created, err := c.upsertOne(ctx, object, extField, rec)
				record(id, err)
				results[len(results)-1].Created = created
			}
			break
		}
		for _, rec := range recs {
			typ := recordType(rec)
			id, _ := rec["id"].(string)
			if id == "" {
				id, _ = rec["Id"].(string)
			}
			delete(rec, "id")
			delete(rec, "Id")
			if typ == "" || id == "" {
				record(id, badRequest("MISSING_ARGUMENT", "Id not specified in an update call", "Id"))
				continue
			}
			if err := c.s.updateAs(ctx, c.p, typ, id, rec); err != nil {
				record(id, err.withoutNil())
				continue
			}
			record(id, nil)
		}
	case http.MethodDelete:
		for _, id := range ids {
			t := c.tableForID(id)
			if t == "" {
				record(id, badRequest("MALFORMED_ID", "malformed id "+id))
				continue
			}
			if err := c.s.deleteAs(ctx, c.p, t, id); err != nil {
				record(id, err.withoutNil())
				continue
			}
			record(id, nil)
		}
	}
	if allOrNone && anyFailed {
		undo.rollback()
		for i := range results {
			if results[i].Success {
				results[i] = saveResult{ID: nil, Success: false, Errors: []recordError{{StatusCode: "ALL_OR_NONE_OPERATION_ROLLED_BACK", Message: rolledBackMessage, Fields: []string{}}}}
			} else if c.method == http.MethodPost {
				results[i].ID = nil
			}
		}
	}
	httpjson.Write(c.w, http.StatusOK, results)
}

// upsertOne upserts one record of a collection by the external id field
// fd, as PATCH /composite/sobjects/{T}/{field} does: the record whose field
// has the record's value is updated, or a new one inserted. created is
// reported for successes only.
func (c *call) upsertOne(ctx context.Context, object string, fd *FieldDef, rec map[string]any) (string, *bool, error) {
	if typ := recordType(rec); typ == "" {
		return "", nil, badRequest("INVALID_TYPE", "Must specify a type in the attributes of each record")
	} else if !strings.EqualFold(typ, object) {
		return "", nil, badRequest("INVALID_TYPE", fmt.Sprintf("The type %s does not match the sObject type %s of this call", typ, object))
	}
	var value string
	for k, v := range rec {
		if strings.EqualFold(k, fd.Name) {
			value, _ = v.(string)
		}
	}
	if value == "" {
		return "", nil, badRequest("MISSING_ARGUMENT", fd.Name+" not specified", fd.Name)
	}
	matches := c.s.matchField(object, fd, value)
	switch len(matches) {
	case 0:
		if fd.Name == "Id" {
			return "", nil, notFound()
		}
		id, err := c.s.createLocked(ctx, c.p, object, rec)
		if err != nil {
			return "", nil, err.withoutNil()
		}
		created := true
		return string(id), &created, nil
	case 1:
		for k := range rec {
			if strings.EqualFold(k, fd.Name) || strings.EqualFold(k, "Id") {
				delete(rec, k)
			}
		}
		if err := c.s.updateAs(ctx, c.p, object, matches[0], rec); err != nil {
			return matches[0], nil, err.withoutNil()
		}
		created := false
		return matches[0], &created, nil
	}
	return "", nil, badRequest("DUPLICATE_EXTERNAL_ID", fmt.Sprintf("The external ID provided (%s) matches more than one record: %s", value, strings.Join(matches, ", ")), fd.Name)
}

// retrieveMany serves GET /composite/sobjects/{T}?ids=&fields= (up to 800
// ids) and POST with {"ids":[…],"fields":[…]} (up to 2000): the records in
// the order asked, null for ids that are invalid, deleted or unknown.
func (c *call) retrieveMany(object string) {
	var ids, fields []string
	limit := 800
	if c.method == http.MethodGet {
		q := c.r.URL.Query()
		ids = splitList(q.Get("ids"))
		fields = splitList(q.Get("fields"))
	} else {
		limit = 2000
		var req struct {
			IDs    []string `json:"ids"`
			Fields []string `json:"fields"`
		}
		if e := c.readBody(&req); e != nil {
			writeErr(c.w, e)
			return
		}
		ids, fields = req.IDs, req.Fields
	}
	if len(ids) == 0 || len(fields) == 0 {
		writeErr(c.w, badRequest("MISSING_ARGUMENT", "Both ids and fields are required"))
		return
	}
	if len(ids) > limit {
		writeErr(c.w, badRequest("EXCEEDED_ID_LIMIT", fmt.Sprintf("record limit reached. cannot submit more than %d records into this call", limit)))
		return
	}
	var b bytes.Buffer
	b.WriteByte('[')
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		rec, err := c.s.retrieveJSON(c.p, object, id, fields, c.version)
		if err != nil {
			var e *Error
			if errors.As(err, &e) && e.Errors[0].ErrorCode == "INVALID_FIELD" {
				writeErr(c.w, err)
				return
			}
			b.WriteString("null")
			continue
		}
		b.Write(rec)
	}
	b.WriteByte(']')
	httpjson.WriteBytes(c.w, http.StatusOK, b.Bytes())
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func recordType(rec map[string]any) string {
	attrs, _ := rec["attributes"].(map[string]any)
	t, _ := attrs["type"].(string)
	return t
}

func (c *call) tableForID(idText string) string {
	id, err := sfid.Parse(idText)
	if err != nil {
		return ""
	}
	if t, ok := c.s.byPrefix[id.Prefix()]; ok {
		return t.def.Name
	}
	return ""
}
