package data

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"

	"github.com/sfbridge/sfbridge/emulator/internal/httpjson"
	"github.com/sfbridge/sfbridge/emulator/soql"
)

// APIOptions configures the data API handler.
type APIOptions struct {
	// Version is the API version ("62.0") used when a request's path does
	// not start with /services/data/vNN.N and its context carries none
	// (see WithAPIVersion). Default "62.0".
	Version string
	// DevHub makes `SELECT … FROM ScratchOrgInfo` on query answer an empty
	// result, so the sf CLI treats the org as a Dev Hub. By default it is
	// INVALID_TYPE, as for an ordinary org.
	DevHub bool
	// MaxBodyBytes caps request bodies (default 32 MiB).
	MaxBodyBytes int64
	// DisableCompression turns off gzip responses for clients that send
	// Accept-Encoding: gzip (for a caller that compresses itself).
	DisableCompression bool
}

type versionKey struct{}

// WithAPIVersion records the request's API version ("62.0") for a handler
// that receives paths with the /services/data/vNN.N prefix already removed.
func WithAPIVersion(ctx context.Context, version string) context.Context {
	return context.WithValue(ctx, versionKey{}, strings.TrimPrefix(version, "v"))
}

type api struct {
	s     *Store
	opts  APIOptions
	gzips sync.Pool // *gzip.Writer
}

// NewAPI returns the handler for the REST data endpoints: query, queryAll,
// query locators, tooling/query, sobjects (global and object describe,
// create, retrieve, update, delete, upsert, updated, deleted), composite
// and composite/sobjects. It accepts paths either with their
// /services/data/vNN.N prefix (the version is taken from it) or with the
// prefix removed (the version then comes from WithAPIVersion or
// opts.Version). The caller must have put the authenticated Principal in the
// request context with WithPrincipal.
func NewAPI(store *Store, opts APIOptions) http.Handler {
	if opts.Version == "" {
		opts.Version = "62.0"
	}
	opts.Version = strings.TrimPrefix(opts.Version, "v")
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 32 << 20
	}
	a := &api{s: store, opts: opts}
	a.gzips.New = func() any {
		zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
		return zw
	}
	return a
}

// splitVersion splits /services/data/vNN.N/rest into "NN.N" and "/rest".
func splitVersion(path string) (version, rest string, ok bool) {
	after, found := strings.CutPrefix(path, "/services/data/v")
	if !found {
		return "", "", false
	}
	v, rest, _ := strings.Cut(after, "/")
	major, minor, dot := strings.Cut(v, ".")
	if !dot || major == "" || minor == "" || strings.Trim(major, "0123456789") != "" || strings.Trim(minor, "0123456789") != "" {
		return "", "", false
	}
	return v, "/" + rest, true
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	version := a.opts.Version
	if v, ok := r.Context().Value(versionKey{}).(string); ok && v != "" {
		version = v
	}
	if v, rest, ok := splitVersion(path); ok {
		version, path = v, rest
	}
	path = strings.TrimPrefix(path, "/")
	method := r.Method
	if o := r.URL.Query().Get("_HttpMethod"); o != "" && method == http.MethodPost {
		method = strings.ToUpper(o)
	}
	if !a.opts.DisableCompression && acceptsGzip(r) {
		gw := &gzipWriter{ResponseWriter: w, pool: &a.gzips}
		defer gw.finish()
		w = gw
	}
	p, e := principal(r.Context())
	if e != nil {
		writeErr(w, e)
		return
	}
	a.s.ApplyDue()
	c := &call{api: a, w: w, r: r, p: p, version: version, method: method}
	c.route(path)
}

type call struct {
	*api
	w       http.ResponseWriter
	r       *http.Request
	p       *Principal
	version string
	method  string
}

func writeErr(w http.ResponseWriter, err error) {
	var e *Error
	var qe *soql.Error
	switch {
	case errors.As(err, &e):
	case errors.As(err, &qe):
		e = badRequest(qe.Code, qe.Message)
	default:
		e = newErr(http.StatusInternalServerError, "UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId if you contact support: "+err.Error())
	}
	httpjson.Write(w, e.Status, e.Errors)
}

func (c *call) methodNotAllowed(allowed ...string) {
	writeErr(c.w, newErr(http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED",
		fmt.Sprintf("HTTP Method '%s' not allowed. Allowed are %s", c.method, strings.Join(allowed, ","))))
}

func (c *call) route(path string) {
	seg := strings.Split(strings.TrimSuffix(path, "/"), "/")
	switch {
	case seg[0] == "query" || seg[0] == "queryAll":
		if c.method != http.MethodGet && c.method != http.MethodHead {
			c.methodNotAllowed("HEAD", "GET")
			return
		}
		switch len(seg) {
		case 1:
			c.query(seg[0] == "queryAll", false)
		case 2:
			c.more(seg[1])
		default:
			writeErr(c.w, notFound())
		}
	case seg[0] == "tooling" && len(seg) == 2 && seg[1] == "query":
		c.query(false, true)
	case seg[0] == "sobjects":
		c.sobjects(seg[1:])
	case seg[0] == "composite" && len(seg) == 1:
		if c.method != http.MethodPost {
			c.methodNotAllowed("POST")
			return
		}
		c.composite()
	case seg[0] == "composite" && len(seg) >= 2 && seg[1] == "sobjects":
		c.collections(seg[2:])
	default:
		writeErr(c.w, notFound())
	}
}

// batchSize reads Sforce-Query-Options: batchSize=N (200–2000, default 2000).
func batchSize(h http.Header) int {
	for _, part := range strings.Split(h.Get("Sforce-Query-Options"), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "batchSize") {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return 2000
		}
		return max(200, min(2000, n))
	}
	return 2000
}

func (c *call) query(all, tooling bool) {
	qv := c.r.URL.Query()
	src, ok := qv["q"]
	if !ok {
		if ex := qv.Get("explain"); ex != "" {
			writeErr(c.w, badRequest("MALFORMED_QUERY", "explain is not supported by the emulator"))
			return
		}
		writeErr(c.w, badRequest("MALFORMED_QUERY", "A query string has to be specified"))
		return
	}
	q := src[0]
	if tooling {
		c.toolingQuery(q)
		return
	}
	if c.opts.DevHub {
		if pq, err := soql.Parse(q); err == nil && strings.EqualFold(pq.From.Text, "ScratchOrgInfo") {
			httpjson.WriteBytes(c.w, http.StatusOK, []byte(`{"totalSize":0,"done":true,"records":[]}`))
			return
		}
	}
	if qv.Get("columns") == "true" {
		c.columns(q)
		return
	}
	rs, err := c.s.runQuery(c.p, q, all)
	if err != nil {
		writeErr(c.w, err)
		return
	}
	c.servePage(rs, 0, batchSize(c.r.Header), "")
}

func (c *call) servePage(rs *resultSet, from, n int, locator string) {
	if locator == "" && from+n < len(rs.rows) {
		rs.batch = n
		locator = string(c.s.ids.New("01g"))
		c.s.cursors.put(locator, rs, c.s.now())
	}
	buf := c.s.buffers.Get().(*[]byte)
	enc := &encoder{s: c.s, version: c.version, b: (*buf)[:0]}
	c.s.mu.RLock()
	enc.page(rs, from, n, locator)
	c.s.mu.RUnlock()
	if from+n >= len(rs.rows) && locator != "" {
		c.s.cursors.drop(locator)
	}
	httpjson.WriteBytes(c.w, http.StatusOK, enc.b)
	if cap(enc.b) <= 8<<20 {
		*buf = enc.b
		c.s.buffers.Put(buf)
	}
}

func (c *call) more(loc string) {
	cut := strings.LastIndexByte(loc, '-')
	invalid := badRequest("INVALID_QUERY_LOCATOR", "invalid query locator")
	if cut <= 0 {
		writeErr(c.w, invalid)
		return
	}
	from, err := strconv.Atoi(loc[cut+1:])
	if err != nil || from < 0 {
		writeErr(c.w, invalid)
		return
	}
	rs, ok := c.s.cursors.get(loc[:cut], c.s.now())
	if !ok || rs.user != c.p.UserID || from > len(rs.rows) {
		writeErr(c.w, invalid)
		return
	}
	// A locator keeps the batch size of the query that opened it, whatever
	// Sforce-Query-Options the next-page request carries.
	n := rs.batch
	if n <= 0 {
		n = batchSize(c.r.Header)
	}
	c.servePage(rs, from, n, loc[:cut])
}

// toolingQuery answers the Tooling API queries real clients send: the sf
// CLI's SandboxProcess probe gets an empty result, ScratchOrgInfo and other
// objects the emulator does not model get INVALID_TYPE.
func (c *call) toolingQuery(q string) {
	pq, err := soql.Parse(q)
	if err != nil {
		writeErr(c.w, err)
		return
	}
	name := pq.From.Text
	if strings.EqualFold(name, "SandboxProcess") {
		httpjson.Write(c.w, http.StatusOK, map[string]any{"size": 0, "totalSize": 0, "done": true, "queryLocator": nil, "entityTypeName": "SandboxProcess", "records": []any{}})
		return
	}
	rs, err := c.s.runQuery(c.p, q, false)
	if err != nil {
		writeErr(c.w, err)
		return
	}
	c.servePage(rs, 0, batchSize(c.r.Header), "")
}

type columnMeta struct {
	Aggregate      bool         `json:"aggregate"`
	ApexType       *string      `json:"apexType"`
	BooleanType    bool         `json:"booleanType"`
	ColumnName     string       `json:"columnName"`
	Custom         bool         `json:"custom"`
	DisplayName    string       `json:"displayName"`
	ForeignKeyName *string      `json:"foreignKeyName"`
	Insertable     bool         `json:"insertable"`
	JoinColumns    []columnMeta `json:"joinColumns"`
	NumberType     bool         `json:"numberType"`
	TextType       bool         `json:"textType"`
	Updatable      bool         `json:"updatable"`
}

// columns answers the undocumented columns=true call the sf CLI makes after
// a query: the shape of the result's columns.
func (c *call) columns(q string) {
	rs, err := c.s.runQuery(c.p, q, false)
	if err != nil {
		writeErr(c.w, err)
		return
	}
	var build func(nodes []*node, prefix string) []columnMeta
	build = func(nodes []*node, prefix string) []columnMeta {
		out := []columnMeta{}
		for _, n := range nodes {
			m := columnMeta{ColumnName: n.key, DisplayName: prefix + n.key, JoinColumns: []columnMeta{}}
			switch {
			case n.count:
				m.Aggregate, m.NumberType = true, true
				t := "Integer"
				if n.field != nil { // MIN or MAX: the field's type
					t = apexType(n.field)
					m.NumberType = n.field.kind == soql.KindNumber
				}
				m.ApexType = &t
			case n.field != nil:
				t := apexType(n.field)
				m.ApexType = &t
				m.BooleanType = n.field.Type == "boolean"
				m.NumberType = n.field.kind == soql.KindNumber
				m.TextType = n.field.kind == soql.KindString
				m.Custom = n.field.Custom
				m.Insertable, m.Updatable = n.field.Createable, n.field.Updateable
			case n.step != nil:
				m.JoinColumns = build(n.kids, prefix+n.key+".")
			case n.isSub:
				m.Aggregate = true
				m.JoinColumns = build(n.sub, "")
			}
			out = append(out, m)
		}
		return out
	}
	idSelect := false
	for _, n := range rs.tree {
		if n.field != nil && n.field.Name == "Id" {
			idSelect = true
		}
	}
	entity, prefix := any(rs.def.Name), any(rs.def.KeyPrefix)
	if rs.plan.Aggregate || rs.plan.CountOnly {
		entity, prefix = nil, nil
	}
	httpjson.Write(c.w, http.StatusOK, map[string]any{
		"columnMetadata": build(rs.tree, ""), "entityName": entity, "groupBy": rs.plan.Grouped, "idSelect": idSelect, "keyPrefix": prefix,
	})
}

func apexType(fd *FieldDef) string {
	switch fd.Type {
	case "id":
		return "Id"
	case "reference":
		return "Id"
	case "boolean":
		return "Boolean"
	case "int":
		return "Integer"
	case "double", "currency", "percent":
		return "Double"
	case "date":
		return "Date"
	case "datetime":
		return "Datetime"
	}
	return "String"
}

// readBody reads a JSON request body (gzip or deflate accepted) into v.
func (c *call) readBody(v any) *Error {
	var rd io.Reader = http.MaxBytesReader(c.w, c.r.Body, c.opts.MaxBodyBytes)
	if strings.EqualFold(c.r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(rd)
		if err != nil {
			return badRequest("JSON_PARSER_ERROR", "The request body is not valid gzip: "+err.Error())
		}
		defer zr.Close()
		rd = zr
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		return badRequest("JSON_PARSER_ERROR", "The request body could not be read: "+err.Error())
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return badRequest("JSON_PARSER_ERROR", "The HTTP entity body is required, but this request has no entity body.")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return badRequest("JSON_PARSER_ERROR", jsonErrMessage(b, err))
	}
	return nil
}

func jsonErrMessage(b []byte, err error) string {
	var se *json.SyntaxError
	off := int64(0)
	if errors.As(err, &se) {
		off = se.Offset
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		off = te.Offset
		return fmt.Sprintf("Cannot deserialize instance of %s from %s value at [line:%d, column:%d]", te.Type, te.Value, lineOf(b, off), colOf(b, off))
	}
	return fmt.Sprintf("Unexpected character: %s at [line:%d, column:%d]", err.Error(), lineOf(b, off), colOf(b, off))
}

func lineOf(b []byte, off int64) int {
	off = min(off, int64(len(b)))
	return bytes.Count(b[:off], []byte("\n")) + 1
}

func colOf(b []byte, off int64) int {
	off = min(off, int64(len(b)))
	i := bytes.LastIndexByte(b[:off], '\n')
	return int(off) - i
}

func (c *call) recordURL(object, id string) string {
	return "/services/data/v" + c.version + "/sobjects/" + object + "/" + url.PathEscape(id)
}
