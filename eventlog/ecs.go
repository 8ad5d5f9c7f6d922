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
	ipMemo []int64 // per column: row number << 1 | is an IP, for columns already checked
	plMemo []int64 // per column: row number << 1 | is plain (see plain), likewise
}

// appendColumn appends column idx as a JSON string, checking whether it
// needs escaping once per row (many columns feed two or three fields).
func (r *row) appendColumn(dst []byte, idx int) []byte {
	if idx >= len(r.plMemo) {
		r.plMemo = append(r.plMemo, make([]int64, idx+1-len(r.plMemo))...)
	}
	v := r.fields[idx]
	m := r.plMemo[idx]
	if m>>1 != r.num {
		m = r.num << 1
		if plain(v) {
			m |= 1
		}
		r.plMemo[idx] = m
	}
	dst = append(dst, '"')
	if m&1 == 1 {
		dst = append(dst, v...)
	} else {
		dst = appendStringBody(dst, v)
	}
	return append(dst, '"')
}

// ip reports whether column idx of the row is an IP address, checking each
// column once per row (CLIENT_IP feeds four fields).
func (r *row) ip(idx int) bool {
	if idx >= len(r.ipMemo) {
		r.ipMemo = append(r.ipMemo, make([]int64, idx+1-len(r.ipMemo))...)
	}
	if m := r.ipMemo[idx]; m>>1 == r.num {
		return m&1 == 1
	}
	ok := isIP(r.fields[idx])
	m := r.num << 1
	if ok {
		m |= 1
	}
	r.ipMemo[idx] = m
	return ok
}

// leaf appends a JSON value for the row and reports whether it did; when it
// reports false what it appended is discarded.
type leaf func(dst []byte, r *row) ([]byte, bool)

type node struct {
	name  string
	key   []byte // `,"name":`; without the comma for the first member
	leaf  leaf
	konst []byte // the JSON of a constant leaf or object, else nil
	col   int    // with strCol: the column appended as a string when not empty
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
	return n.insertNode(path, &node{leaf: l, col: -1})
}

// insertColumn adds a leaf that appends column idx as a string when it is
// not empty: the commonest leaf, run without a function call.
func (n *node) insertColumn(path []string, idx int) bool {
	return n.insertNode(path, &node{leaf: colString(idx), col: idx})
}

// insertConst adds a constant JSON value at path.
func (n *node) insertConst(path []string, jsonValue []byte) bool {
	return n.insertNode(path, &node{konst: jsonValue, col: -1})
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
			child = &node{name: p, col: -1}
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
		k.key = appendStringLit([]byte{','}, k.name)
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
			chunk = append(chunk, k.key[1:]...)
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
	for i := range n.segs {
		sg := &n.segs[i]
		before := len(dst)
		if sg.chunk != nil {
			if any {
				dst = append(dst, ',')
			}
			dst = append(dst, sg.chunk...)
			any = true
			continue
		}
		k := sg.kid
		if any {
			dst = append(dst, k.key...)
		} else {
			dst = append(dst, k.key[1:]...)
		}
		var ok bool
		if k.col >= 0 {
			if ok = len(r.fields[k.col]) > 0; ok {
				dst = r.appendColumn(dst, k.col)
			}
		} else if k.leaf != nil {
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
		if len(r.fields[idx]) == 0 {
			return dst, false
		}
		return r.appendColumn(dst, idx), true
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
		if !r.ip(idx) {
			return dst, false
		}
		return appendString(dst, r.fields[idx]), true
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
			if !r.ip(i) {
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
	path   string             // dotted, under salesforce.<group>
	conv   func(idx int) leaf // nil: the column as it is, a string
}

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
			{"API_VERSION", "api.version", nil},
			{"AUTHENTICATION_METHOD_REFERENCE", "auth.service_id", nil},
			{"REQUEST_STATUS", "request.status", decoded(decodeRequestStatus)},
			{"REQUEST_ID", "request.id", nil},
			{"USER_ID", "user_id", nil},
			{"LOGIN_KEY", "key", nil},
			{"EVENT_TYPE", "event_type", nil},
			{"ORGANIZATION_ID", "organization_id", nil},
			{"RUN_TIME", "run_time", colInteger},
			{"CPU_TIME", "cpu_time", colInteger},
			{"DB_TOTAL_TIME", "db_total_time", colInteger},
			{"CLIENT_IP", "client.ip", colIP},
			{"URI_ID_DERIVED", "uri.id", nil},
		}
	case "logout":
		return []named{
			{"SESSION_TYPE", "session.type", decoded(decodeSessionType)},
			{"SESSION_LEVEL", "session.level", decoded(decodeSessionLevel)},
			{"EVENT_TYPE", "event_type", nil},
			{"BROWSER_TYPE", "browser_type", nil},
			{"PLATFORM_TYPE", "platform_type", decoded(decodePlatformType)},
			{"RESOLUTION_TYPE", "resolution_type", nil},
			{"APP_TYPE", "app_type", decoded(decodeAppType)},
			{"CLIENT_VERSION", "client_version", nil},
			{"API_TYPE", "api.type", decoded(decodeAPIType)},
			{"API_VERSION", "api.version", nil},
			{"USER_INITIATED_LOGOUT", "user_initiated_logout", func(idx int) leaf {
				if idx < 0 {
					return nil
				}
				return func(dst []byte, r *row) ([]byte, bool) {
					b, _ := parseBool(r.fields[idx])
					return strconv.AppendBool(dst, b), true
				}
			}},
			{"LOGIN_KEY", "login_key", nil},
			{"USER_ID", "user_id", nil},
			{"ORGANIZATION_ID", "organization_id", nil},
			{"USER_TYPE", "user.roles", func(idx int) leaf { return arrayOf(colDecoded(idx, decodeUserType)) }},
		}
	case "apex":
		n := []named{
			{"ACTION", "action", nil}, {"CLASS_NAME", "class_name", nil}, {"CLIENT_NAME", "client_name", nil},
			{"ENTITY", "entity", nil}, {"ENTITY_NAME", "entity_name", nil}, {"ENTRY_POINT", "entry_point", nil},
			{"EVENT_TYPE", "event_type", nil}, {"FILTER", "filter", nil},
			{"IS_LONG_RUNNING_REQUEST", "is_long_running_request", nil}, {"LOGIN_KEY", "login_key", nil},
			{"MEDIA_TYPE", "media_type", nil}, {"MESSAGE", "message", nil}, {"METHOD_NAME", "method_name", nil},
			{"ORGANIZATION_ID", "organization_id", nil}, {"QUERY", "query", nil}, {"QUIDDITY", "quiddity", nil},
			{"REQUEST_ID", "request_id", nil}, {"REQUEST_STATUS", "request_status", nil}, {"SELECT", "select", nil},
			{"SUBQUERIES", "subqueries", nil}, {"TRIGGER_ID", "trigger.id", nil}, {"TRIGGER_NAME", "trigger.name", nil},
			{"TRIGGER_TYPE", "trigger.type", nil}, {"TYPE", "type", nil}, {"URI", "uri", nil},
			{"URI_ID_DERIVED", "uri_derived_id", nil}, {"USER_AGENT", "user_agent", decoded(decodeUserAgent)},
			{"USER_ID_DERIVED", "user_id_derived", nil},
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
