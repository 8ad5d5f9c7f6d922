package eventlog

import (
	"bytes"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"unsafe"
)

// The ECS document of a row is built from a plan made once per file from its
// header: a tree of JSON objects whose leaves read the row's fields. Writing a
// row walks the tree and appends to one buffer; no map, no reflection, and
// empty values are left out (as Elastic's pipelines drop them), along with
// any object they leave empty.

// row is what a leaf reads.
type row struct {
	fields [][]byte
	id     [32]byte
	num    int64
}

// leaf appends a JSON value for the row and reports whether it did; when it
// reports false what it appended is discarded.
type leaf func(dst []byte, r *row) ([]byte, bool)

type node struct {
	name  string
	key   []byte // `"name":`
	leaf  leaf
	konst []byte // the JSON of a constant leaf or object, else nil
	kids  []*node
	segs  []segment
}

// segment is a run of constant members rendered once ("a":1,"b":"x"), or
// one member computed per row.
type segment struct {
	chunk []byte
	kid   *node
}

// insert adds a leaf at path. It reports false, changing nothing, when the
// path is taken or runs through a leaf.
func (n *node) insert(path []string, l leaf) bool {
	return n.insertNode(path, &node{leaf: l})
}

// insertConst adds a constant JSON value at path.
func (n *node) insertConst(path []string, jsonValue []byte) bool {
	return n.insertNode(path, &node{konst: jsonValue})
}

func (n *node) insertNode(path []string, nn *node) bool {
	cur := n
	for i, p := range path {
		var child *node
		for _, k := range cur.kids {
			if k.name == p {
				child = k
				break
			}
		}
		last := i == len(path)-1
		if child == nil {
			if last {
				nn.name = p
				cur.kids = append(cur.kids, nn)
				return true
			}
			child = &node{name: p}
			cur.kids = append(cur.kids, child)
			cur = child
			continue
		}
		if last || child.isLeaf() {
			return false
		}
		cur = child
	}
	return false
}

func (n *node) isLeaf() bool { return n.leaf != nil || (n.konst != nil && n.kids == nil) }

// finish sorts the members, renders their keys and folds constant members
// into chunks.
func (n *node) finish() {
	sort.Slice(n.kids, func(a, b int) bool { return n.kids[a].name < n.kids[b].name })
	allConst := len(n.kids) > 0
	for _, k := range n.kids {
		k.key = appendStringLit(nil, k.name)
		k.key = append(k.key, ':')
		k.finish()
		if k.konst == nil {
			allConst = false
		}
	}
	var chunk []byte
	for _, k := range n.kids {
		if k.konst != nil {
			if len(chunk) > 0 {
				chunk = append(chunk, ',')
			}
			chunk = append(chunk, k.key...)
			chunk = append(chunk, k.konst...)
			continue
		}
		if len(chunk) > 0 {
			n.segs = append(n.segs, segment{chunk: chunk})
			chunk = nil
		}
		n.segs = append(n.segs, segment{kid: k})
	}
	if len(chunk) > 0 {
		n.segs = append(n.segs, segment{chunk: chunk})
	}
	if allConst && n.leaf == nil && len(n.kids) > 0 {
		n.konst = append(append([]byte{'{'}, n.segs[0].chunk...), '}')
	}
}

// appendMembers appends the members of n's object (without braces) and
// reports whether there was any.
func (n *node) appendMembers(dst []byte, r *row) ([]byte, bool) {
	any := false
	for _, sg := range n.segs {
		before := len(dst)
		if any {
			dst = append(dst, ',')
		}
		if sg.chunk != nil {
			dst = append(dst, sg.chunk...)
			any = true
			continue
		}
		k := sg.kid
		dst = append(dst, k.key...)
		var ok bool
		if k.leaf != nil {
			dst, ok = k.leaf(dst, r)
		} else {
			dst = append(dst, '{')
			dst, ok = k.appendMembers(dst, r)
			dst = append(dst, '}')
		}
		if ok {
			any = true
		} else {
			dst = dst[:before]
		}
	}
	return dst, any
}

// str views b as a string without copying; the string must not outlive b.
func str(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// Value kinds, from LogFileFieldTypes.
type kind uint8

const (
	kindString kind = iota
	kindNumber
	kindBool
	kindTime
)

func kindOf(fieldType string) kind {
	switch strings.ToLower(strings.TrimSpace(fieldType)) {
	case "number", "double", "integer", "int", "long", "decimal", "float", "percent", "currency":
		return kindNumber
	case "boolean", "bool":
		return kindBool
	case "datetime", "date", "time":
		return kindTime
	}
	return kindString
}

// Leaf builders. idx < 0 means the file has no such column: the leaf then
// appends nothing.

func colTyped(idx int, k kind) leaf {
	if idx < 0 {
		return nil
	}
	switch k {
	case kindNumber:
		return func(dst []byte, r *row) ([]byte, bool) {
			v := r.fields[idx]
			if len(v) == 0 {
				return dst, false
			}
			if isJSONNumber(v) {
				return append(dst, v...), true
			}
			return appendString(dst, v), true
		}
	case kindBool:
		return func(dst []byte, r *row) ([]byte, bool) {
			v := r.fields[idx]
			if len(v) == 0 {
				return dst, false
			}
			if b, ok := parseBool(v); ok {
				return strconv.AppendBool(dst, b), true
			}
			return appendString(dst, v), true
		}
	case kindTime:
		return func(dst []byte, r *row) ([]byte, bool) {
			v := r.fields[idx]
			if len(v) == 0 {
				return dst, false
			}
			if out, ok := appendTime(dst, v); ok {
				return out, true
			}
			return appendString(dst, v), true
		}
	}
	return colString(idx)
}

func colString(idx int) leaf {
	if idx < 0 {
		return nil
	}
	return func(dst []byte, r *row) ([]byte, bool) {
		v := r.fields[idx]
		if len(v) == 0 {
			return dst, false
		}
		return appendString(dst, v), true
	}
}

// colNumber appends the column only when it is a JSON number, for fields
// Elastic maps as long or float.
func colNumber(idx int) leaf {
	if idx < 0 {
		return nil
	}
	return func(dst []byte, r *row) ([]byte, bool) {
		v := r.fields[idx]
		if !isJSONNumber(v) {
			return dst, false
		}
		return append(dst, v...), true
	}
}

// colInteger appends the column only when it is an integer.
func colInteger(idx int) leaf {
	if idx < 0 {
		return nil
	}
	return func(dst []byte, r *row) ([]byte, bool) {
		v := r.fields[idx]
		if !isInteger(v) || !isJSONNumber(v) {
			return dst, false
		}
		return append(dst, v...), true
	}
}

func colDecoded(idx int, decode func(string) string) leaf {
	if idx < 0 {
		return nil
	}
	return func(dst []byte, r *row) ([]byte, bool) {
		v := r.fields[idx]
		if len(v) == 0 {
			return dst, false
		}
		if d := decode(str(v)); d != "" {
			return appendStringLit(dst, d), true
		}
		return appendString(dst, v), true
	}
}

// colIP appends the column only when it is an IP address: never the literal
// "Salesforce.com IP" that stands for Salesforce's own addresses.
func colIP(idx int) leaf {
	if idx < 0 {
		return nil
	}
	return func(dst []byte, r *row) ([]byte, bool) {
		v := r.fields[idx]
		if !isIP(v) {
			return dst, false
		}
		return appendString(dst, v), true
	}
}

func isIP(v []byte) bool {
	if len(v) < 2 || len(v) > 45 {
		return false
	}
	if ok, sure := isIPv4(v); sure {
		return ok
	}
	_, err := netip.ParseAddr(str(v))
	return err == nil
}

// isIPv4 checks a dotted quad without allocating; sure is false when v may be
// an IPv6 address (it holds a colon), for netip to decide.
func isIPv4(v []byte) (ok, sure bool) {
	if bytes.IndexByte(v, ':') >= 0 {
		return false, false // IPv6 has colons, IPv4 never
	}
	parts, n, digits := 0, 0, 0
	for _, c := range v {
		switch {
		case c >= '0' && c <= '9':
			if digits > 0 && n == 0 {
				return false, true // a leading zero
			}
			n = n*10 + int(c-'0')
			digits++
			if n > 255 {
				return false, true
			}
		case c == '.':
			if digits == 0 {
				return false, true
			}
			parts++
			n, digits = 0, 0
		default:
			return false, true
		}
	}
	return parts == 3 && digits > 0, true
}

func parseBool(v []byte) (bool, bool) {
	switch str(v) {
	case "true", "TRUE", "True", "1":
		return true, true
	case "false", "FALSE", "False", "0":
		return false, true
	}
	return false, false
}

// firstOf appends the first of ls that appends something.
func firstOf(ls ...leaf) leaf {
	var use []leaf
	for _, l := range ls {
		if l != nil {
			use = append(use, l)
		}
	}
	switch len(use) {
	case 0:
		return nil
	case 1:
		return use[0]
	}
	return func(dst []byte, r *row) ([]byte, bool) {
		for _, l := range use {
			if out, ok := l(dst, r); ok {
				return out, true
			}
		}
		return dst, false
	}
}

// arrayOf wraps the value of l in a one-element array.
func arrayOf(l leaf) leaf {
	if l == nil {
		return nil
	}
	return func(dst []byte, r *row) ([]byte, bool) {
		dst = append(dst, '[')
		out, ok := l(dst, r)
		if !ok {
			return dst[:len(dst)-1], false
		}
		return append(out, ']'), true
	}
}

// constant appends a JSON value rendered once.
func constant(jsonValue []byte) leaf {
	if jsonValue == nil {
		return nil
	}
	return func(dst []byte, _ *row) ([]byte, bool) { return append(dst, jsonValue...), true }
}

// jsonString renders s as JSON, nil for "".
func jsonString(s string) []byte {
	if s == "" {
		return nil
	}
	return appendStringLit(nil, s)
}

// jsonStrings renders ss as a JSON array, nil when empty.
func jsonStrings(ss []string) []byte {
	if len(ss) == 0 {
		return nil
	}
	b := []byte{'['}
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendStringLit(b, s)
	}
	return append(b, ']')
}

// outcome derives event.outcome: LOGIN_STATUS (LOGIN_NO_ERROR is success),
// SUCCESS or, for Apex, STATUS ("1" is success), REQUEST_STATUS (S and R are
// success, F, A and N failure, U unknown), then an HTTP STATUS_CODE.
func outcome(h *header, apex bool) leaf {
	login, success, status, reqStatus, code := h.idx("LOGIN_STATUS"), h.idx("SUCCESS"), -1, h.idx("REQUEST_STATUS"), h.idx("STATUS_CODE")
	if apex {
		status = h.idx("STATUS")
	}
	if login < 0 && success < 0 && status < 0 && reqStatus < 0 && code < 0 {
		return nil
	}
	const succ, fail, unknown = `"success"`, `"failure"`, `"unknown"`
	return func(dst []byte, r *row) ([]byte, bool) {
		if v := field(r.fields, login); len(v) > 0 {
			if str(v) == "LOGIN_NO_ERROR" {
				return append(dst, succ...), true
			}
			return append(dst, fail...), true
		}
		for _, i := range [2]int{success, status} {
			if v := field(r.fields, i); len(v) > 0 {
				if str(v) == "1" || str(v) == "true" {
					return append(dst, succ...), true
				}
				return append(dst, fail...), true
			}
		}
		if v := field(r.fields, reqStatus); len(v) == 1 {
			switch v[0] {
			case 'S', 'R':
				return append(dst, succ...), true
			case 'F', 'A', 'N':
				return append(dst, fail...), true
			case 'U':
				return append(dst, unknown...), true
			}
		}
		if v := field(r.fields, code); len(v) == 3 && isInteger(v) {
			if v[0] < '4' {
				return append(dst, succ...), true
			}
			return append(dst, fail...), true
		}
		return dst, false
	}
}

// tlsPart splits TLS_PROTOCOL ("TLSv1.2", or "TLS 1.2" in the objects) into
// tls.version_protocol ("tls", part 0) and tls.version ("1.2", part 1).
func tlsPart(idx, part int) leaf {
	if idx < 0 {
		return nil
	}
	return func(dst []byte, r *row) ([]byte, bool) {
		p, v, ok := splitTLS(r.fields[idx])
		if !ok {
			return dst, false
		}
		if part == 0 {
			dst = append(dst, '"')
			for _, c := range p {
				if c >= 'A' && c <= 'Z' {
					c += 'a' - 'A'
				}
				dst = append(dst, c)
			}
			return append(dst, '"'), true
		}
		return appendString(dst, v), true
	}
}

func splitTLS(b []byte) (proto, version []byte, ok bool) {
	for i, c := range b {
		if c == 'v' || c == ' ' {
			proto, version = b[:i], b[i+1:]
			if len(proto) == 0 || len(version) == 0 || version[0] < '0' || version[0] > '9' {
				return nil, nil, false
			}
			for _, c := range proto {
				if !isLetter(c) {
					return nil, nil, false
				}
			}
			return proto, version, true
		}
	}
	return nil, nil, false
}

// relatedIPs appends the distinct IP addresses of the columns as an array.
func relatedIPs(idxs ...int) leaf {
	var use []int
	for _, i := range idxs {
		if i >= 0 {
			use = append(use, i)
		}
	}
	if len(use) == 0 {
		return nil
	}
	return func(dst []byte, r *row) ([]byte, bool) {
		start := len(dst)
		dst = append(dst, '[')
		n := 0
		for j, i := range use {
			v := r.fields[i]
			if !isIP(v) {
				continue
			}
			dup := false
			for _, p := range use[:j] {
				if str(r.fields[p]) == str(v) {
					dup = true
				}
			}
			if dup {
				continue
			}
			if n > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, v)
			n++
		}
		if n == 0 {
			return dst[:start], false
		}
		return append(dst, ']'), true
	}
}

// userAgent appends USER_AGENT unless it is one of the numeric codes some
// event types write there, else BROWSER_TYPE.
func userAgent(h *header) leaf {
	ua, browser := h.idx("USER_AGENT"), h.idx("BROWSER_TYPE")
	return firstOf(
		func() leaf {
			if ua < 0 {
				return nil
			}
			return func(dst []byte, r *row) ([]byte, bool) {
				v := r.fields[ua]
				if len(v) == 0 || isInteger(v) {
					return dst, false
				}
				return appendString(dst, v), true
			}
		}(),
		func() leaf {
			if browser < 0 {
				return nil
			}
			return func(dst []byte, r *row) ([]byte, bool) {
				v := r.fields[browser]
				if len(v) == 0 || isInteger(v) {
					return dst, false
				}
				return appendString(dst, v), true
			}
		}(),
	)
}

// header indexes a file's columns.
type header struct {
	names []string
	kinds []kind
	index map[string]int
}

func (h *header) idx(name string) int {
	if i, ok := h.index[name]; ok {
		return i
	}
	return -1
}

// named is a column Elastic's pipeline moves to a field of its own under the
// dataset's group, with the conversion it applies.
type named struct {
	column string
	path   string // dotted, under salesforce.<group>
	conv   func(idx int) leaf
}

func keyword(idx int) leaf { return colString(idx) }

func decoded(f func(string) string) func(int) leaf {
	return func(idx int) leaf { return colDecoded(idx, f) }
}

// namedColumns lists, per group, the columns Elastic's ingest pipelines give
// their own names (packages/salesforce/data_stream/*/elasticsearch/
// ingest_pipeline in elastic/integrations).
func namedColumns(group string) []named {
	switch group {
	case "login":
		return []named{
			{"API_TYPE", "api.type", decoded(decodeAPIType)},
			{"API_VERSION", "api.version", keyword},
			{"AUTHENTICATION_METHOD_REFERENCE", "auth.service_id", keyword},
			{"REQUEST_STATUS", "request.status", decoded(decodeRequestStatus)},
			{"REQUEST_ID", "request.id", keyword},
			{"USER_ID", "user_id", keyword},
			{"LOGIN_KEY", "key", keyword},
			{"EVENT_TYPE", "event_type", keyword},
			{"ORGANIZATION_ID", "organization_id", keyword},
			{"RUN_TIME", "run_time", colInteger},
			{"CPU_TIME", "cpu_time", colInteger},
			{"DB_TOTAL_TIME", "db_total_time", colInteger},
			{"CLIENT_IP", "client.ip", colIP},
			{"URI_ID_DERIVED", "uri.id", keyword},
		}
	case "logout":
		return []named{
			{"SESSION_TYPE", "session.type", decoded(decodeSessionType)},
			{"SESSION_LEVEL", "session.level", decoded(decodeSessionLevel)},
			{"EVENT_TYPE", "event_type", keyword},
			{"BROWSER_TYPE", "browser_type", keyword},
			{"PLATFORM_TYPE", "platform_type", decoded(decodePlatformType)},
			{"RESOLUTION_TYPE", "resolution_type", keyword},
			{"APP_TYPE", "app_type", decoded(decodeAppType)},
			{"CLIENT_VERSION", "client_version", keyword},
			{"API_TYPE", "api.type", decoded(decodeAPIType)},
			{"API_VERSION", "api.version", keyword},
			{"USER_INITIATED_LOGOUT", "user_initiated_logout", func(idx int) leaf {
				if idx < 0 {
					return nil
				}
				return func(dst []byte, r *row) ([]byte, bool) {
					b, _ := parseBool(r.fields[idx])
					return strconv.AppendBool(dst, b), true
				}
			}},
			{"LOGIN_KEY", "login_key", keyword},
			{"USER_ID", "user_id", keyword},
			{"ORGANIZATION_ID", "organization_id", keyword},
			{"USER_TYPE", "user.roles", func(idx int) leaf { return arrayOf(colDecoded(idx, decodeUserType)) }},
		}
	case "apex":
		n := []named{
			{"ACTION", "action", keyword}, {"CLASS_NAME", "class_name", keyword}, {"CLIENT_NAME", "client_name", keyword},
			{"ENTITY", "entity", keyword}, {"ENTITY_NAME", "entity_name", keyword}, {"ENTRY_POINT", "entry_point", keyword},
			{"EVENT_TYPE", "event_type", keyword}, {"FILTER", "filter", keyword},
			{"IS_LONG_RUNNING_REQUEST", "is_long_running_request", keyword}, {"LOGIN_KEY", "login_key", keyword},
			{"MEDIA_TYPE", "media_type", keyword}, {"MESSAGE", "message", keyword}, {"METHOD_NAME", "method_name", keyword},
			{"ORGANIZATION_ID", "organization_id", keyword}, {"QUERY", "query", keyword}, {"QUIDDITY", "quiddity", keyword},
			{"REQUEST_ID", "request_id", keyword}, {"REQUEST_STATUS", "request_status", keyword}, {"SELECT", "select", keyword},
			{"SUBQUERIES", "subqueries", keyword}, {"TRIGGER_ID", "trigger.id", keyword}, {"TRIGGER_NAME", "trigger.name", keyword},
			{"TRIGGER_TYPE", "trigger.type", keyword}, {"TYPE", "type", keyword}, {"URI", "uri", keyword},
			{"URI_ID_DERIVED", "uri_derived_id", keyword}, {"USER_AGENT", "user_agent", decoded(decodeUserAgent)},
			{"USER_ID_DERIVED", "user_id_derived", keyword},
		}
		for _, c := range [][2]string{
			{"CALLOUT_TIME", "callout_time"}, {"CPU_TIME", "cpu_time"}, {"DB_BLOCKS", "db_blocks"}, {"DB_CPU_TIME", "db_cpu_time"},
			{"DB_TOTAL_TIME", "db_time.total"}, {"EXECUTE_MS", "execute.ms"}, {"FETCH_MS", "fetch.ms"}, {"LIMIT", "limit"},
			{"LIMIT_USAGE_PERCENT", "limit_usage.pct"}, {"NUMBER_FIELDS", "fields.count"}, {"NUMBER_SOQL_QUERIES", "soql_queries.count"},
			{"OFFSET", "offset"}, {"ROWS", "rows.total"}, {"ROWS_FETCHED", "rows.fetched"}, {"ROWS_PROCESSED", "rows.processed"},
			{"RUN_TIME", "run_time"}, {"THROUGHPUT", "throughput"},
		} {
			n = append(n, named{c[0], c[1], colNumber})
		}
		return n
	}
	return nil
}

func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }
