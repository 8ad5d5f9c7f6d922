// Package estest is an in-process fake of Elasticsearch's _bulk API for
// tests of code that writes to Elasticsearch: the documented answers to
// create (201, 409 for an _id already stored) and the documented per-item
// and whole-request failures, triggered by _id prefixes.
package estest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// Server is an in-process stand-in for Elasticsearch's _bulk API, to serve
// over HTTP (httptest.NewServer(estest.New())). It stores documents per
// data stream and _id, answers create with 201 or 409 as Elasticsearch
// does, and injects the documented partial failures by _id:
// "mapping-*" → 400 document_parsing_exception, "throttle-*" → 429
// es_rejected_execution_exception on the first two tries, "boom-*" → 500 on
// the first try, "forbidden-*" → 403. With FailFirstRequest the whole first
// _bulk request gets 503. Like Elasticsearch, it runs a request only once
// it has read all of it: a request cut off by a dying client stores nothing.
type Server struct {
	mu       sync.Mutex
	docs     map[string]map[string]json.RawMessage // data stream → _id → document
	tries    map[string]int
	requests int
	// FailFirstRequest answers the first _bulk request with 503. Set it
	// before serving.
	FailFirstRequest bool
	authHeaders      []string
	queries          []string
}

// New returns an empty Server.
func New() *Server {
	return &Server{docs: map[string]map[string]json.RawMessage{}, tries: map[string]int{}}
}

// ServeHTTP answers GET / (the product check) and POST /_bulk.
func (f *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/" {
		io.WriteString(w, `{"version":{"number":"8.19.0","build_flavor":"default"},"tagline":"You Know, for Search"}`)
		return
	}
	if r.URL.Path != "/_bulk" || r.Method != http.MethodPost {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	f.authHeaders = append(f.authHeaders, r.Header.Get("Authorization"))
	f.queries = append(f.queries, r.URL.RawQuery)
	if f.FailFirstRequest && f.requests == 1 {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"error":{"type":"unavailable_shards_exception","reason":"primary shard is not active"},"status":503}`)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		body = zr
	}
	// Elasticsearch reads the whole request before it runs any of it: a
	// request cut off (the client died half-way) changes nothing, and a
	// body must end with a newline.
	all, err := io.ReadAll(body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":{"type":"parse_exception","reason":%q},"status":400}`, err.Error())
		return
	}
	if len(all) > 0 && all[len(all)-1] != '\n' {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":{"type":"illegal_argument_exception","reason":"The bulk request must be terminated by a newline [\\n]"},"status":400}`)
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(all))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	type item map[string]any
	var items []map[string]item
	anyErr := false
	for sc.Scan() {
		var action map[string]struct {
			Index string `json:"_index"`
			ID    string `json:"_id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &action); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":{"type":"illegal_argument_exception","reason":%q},"status":400}`, err.Error())
			return
		}
		meta, ok := action["create"]
		if !ok || !sc.Scan() {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		doc := append(json.RawMessage(nil), sc.Bytes()...)
		f.tries[meta.ID]++
		backing := ".ds-" + meta.Index + "-2024.01.15-000001"
		res := item{"_index": backing, "_id": meta.ID}
		fail := func(status int, typ, reason string) {
			res["status"] = status
			res["error"] = map[string]any{"type": typ, "reason": reason, "index": backing, "shard": "0", "index_uuid": "aAsFqTI0Tc2W0LCWgPNrOA"}
			anyErr = true
		}
		switch {
		case strings.HasPrefix(meta.ID, "mapping-"):
			fail(400, "document_parsing_exception", "[1:40] failed to parse field [salesforce.login.run_time] of type [long] in document with id '"+meta.ID+"'. Preview of field's value: 'abc'")
		case strings.HasPrefix(meta.ID, "throttle-") && f.tries[meta.ID] <= 2:
			fail(429, "es_rejected_execution_exception", "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1, max_coordinating_and_primary_bytes=1]")
		case strings.HasPrefix(meta.ID, "boom-") && f.tries[meta.ID] == 1:
			fail(500, "null_pointer_exception", "oops")
		case strings.HasPrefix(meta.ID, "forbidden-"):
			fail(403, "security_exception", "action [indices:data/write/bulk[s]] is unauthorized for API key id [x]")
		case f.docs[meta.Index][meta.ID] != nil:
			fail(409, "version_conflict_engine_exception", "["+meta.ID+"]: version conflict, document already exists (current version [1])")
		default:
			if f.docs[meta.Index] == nil {
				f.docs[meta.Index] = map[string]json.RawMessage{}
			}
			f.docs[meta.Index][meta.ID] = doc
			res["status"] = 201
			res["result"] = "created"
			res["_version"] = 1
			res["_shards"] = map[string]int{"total": 2, "successful": 1, "failed": 0}
		}
		items = append(items, map[string]item{"create": res})
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"took": 3, "errors": anyErr, "items": items}) // the client went away: nothing to do
}

// Stored returns a copy of the documents of a data stream by _id.
func (f *Server) Stored(stream string) map[string]json.RawMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]json.RawMessage{}
	for k, v := range f.docs[stream] {
		out[k] = v
	}
	return out
}

// Streams returns the data streams that hold documents.
func (f *Server) Streams() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k := range f.docs {
		out = append(out, k)
	}
	return out
}

// Requests returns the number of _bulk requests received.
func (f *Server) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// Tries returns how many times a create of _id was received.
func (f *Server) Tries(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tries[id]
}

// AuthHeaders returns the Authorization header of every _bulk request.
func (f *Server) AuthHeaders() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.authHeaders...)
}

// Queries returns the query string of every _bulk request.
func (f *Server) Queries() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.queries...)
}
