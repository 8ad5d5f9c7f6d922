package eventlog

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// File describes an EventLogFile record: what the collector knows about a
// CSV body before reading it. Every event carries it.
type File struct {
	ID          string    // the EventLogFile Id (0AT...)
	EventType   string    // Login, API, URI, ...; required
	LogDate     time.Time // the hour or day the events belong to
	Interval    string    // "Hourly" or "Daily"; empty on orgs without hourly files
	Sequence    int       // 0 for daily files, 1.. for hourly ones
	FieldNames  string    // LogFileFieldNames, comma separated; optional
	FieldTypes  string    // LogFileFieldTypes, comma separated; optional
	InstanceURL string    // the org's instance URL, for salesforce.instance_url
}

// Options tune a Reader.
type Options struct {
	// SkipRows is the number of data rows (after the header) to read and
	// drop: the rows a sink already acknowledged before a download broke off.
	// Their event ids are still computed, so the rows after them get the same
	// ids as in an uninterrupted read.
	SkipRows int64
	// MaxRecord bounds one CSV record in bytes; 0 means DefaultMaxRecord.
	MaxRecord int
}

// ConfigError says a File or Options cannot be used.
type ConfigError struct{ Problem string }

func (e *ConfigError) Error() string { return "eventlog: " + e.Problem }

// Reader converts an EventLogFile CSV body to events as it arrives: one row
// at a time, in memory bounded by the largest row, whatever the size of the
// body. The CSV is read by its header, so columns Salesforce adds, removes or
// reorders survive; values are typed from LogFileFieldTypes.
//
//	r, err := eventlog.NewReader(resp.Body, file, eventlog.Options{})
//	for r.Next() {
//		ev := r.Event()
//		buf = ev.AppendJSON(buf[:0]) // one ECS document
//	}
//	if err := r.Err(); err != nil { ... }
type Reader struct {
	sc       *Scanner
	file     File
	opts     Options
	dataset  Dataset
	hdr      *header
	plan     *node
	ids      *idMaker
	row      row
	rowNum   int64
	err      error
	started  bool
	done     bool
	ev       Event
	tsDerIdx int
	tsIdx    int
}

// NewReader returns a Reader of body. It reads nothing until Next.
func NewReader(body io.Reader, f File, opts Options) (*Reader, error) {
	if strings.TrimSpace(f.EventType) == "" {
		return nil, &ConfigError{Problem: "File.EventType is empty: pass the EventLogFile's EventType (Login, API, URI, ...) so that events get their dataset and id"}
	}
	if opts.SkipRows < 0 {
		return nil, &ConfigError{Problem: fmt.Sprintf("Options.SkipRows is %d; it counts rows already delivered and cannot be negative", opts.SkipRows)}
	}
	r := &Reader{sc: NewScanner(body, opts.MaxRecord), file: f, opts: opts, dataset: DatasetFor(f.EventType)}
	r.ev.r = r
	return r, nil
}

// Dataset returns the dataset the file's events go to.
func (r *Reader) Dataset() Dataset { return r.dataset }

// Header returns the CSV's column names, once Next has been called.
func (r *Reader) Header() []string {
	if r.hdr == nil {
		return nil
	}
	return r.hdr.names
}

// Err returns the error that stopped Next, or nil at the end of the body.
func (r *Reader) Err() error { return r.err }

// Row returns the number of data rows read so far, skipped rows included:
// the row number of the current event.
func (r *Reader) Row() int64 { return r.rowNum }

// Event returns the current event. It is valid until the next call to Next.
func (r *Reader) Event() *Event { return &r.ev }

// Next advances to the next row, past the first Options.SkipRows rows.
func (r *Reader) Next() bool {
	if r.done {
		return false
	}
	if !r.started {
		r.started = true
		if !r.readHeader() {
			r.done = true
			return false
		}
	}
	for r.sc.Scan() {
		r.rowNum++
		r.row.fields = r.sc.Fields()
		r.row.num = r.rowNum
		r.ids.next(&r.row.id, r.row.fields)
		if r.rowNum <= r.opts.SkipRows {
			continue
		}
		return true
	}
	r.done = true
	r.err = r.sc.Err()
	if r.err == nil && r.rowNum < r.opts.SkipRows {
		r.err = fmt.Errorf("eventlog: file %s has %d rows, fewer than the %d already delivered: the file changed since it was first read; collect it again from the start", r.file.ID, r.rowNum, r.opts.SkipRows)
	}
	return false
}

func (r *Reader) readHeader() bool {
	if !r.sc.Scan() {
		r.err = r.sc.Err()
		if r.err == nil {
			r.err = fmt.Errorf("eventlog: file %s is empty: an event log file starts with a header line; download it again", r.file.ID)
		}
		return false
	}
	fs := r.sc.Fields()
	names := make([]string, len(fs))
	for i, f := range fs {
		if i == 0 {
			f = bytes.TrimPrefix(f, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
		}
		names[i] = string(f)
	}
	r.hdr = newHeader(names, r.file.FieldNames, r.file.FieldTypes)
	r.ids = newIDMaker(r.file.EventType, names)
	r.tsDerIdx, r.tsIdx = r.hdr.idx("TIMESTAMP_DERIVED"), r.hdr.idx("TIMESTAMP")
	r.plan = buildPlan(r.hdr, r.file, r.dataset)
	return true
}

func newHeader(names []string, fieldNames, fieldTypes string) *header {
	h := &header{names: names, kinds: make([]kind, len(names)), index: make(map[string]int, len(names))}
	for i, n := range names {
		if _, dup := h.index[n]; !dup {
			h.index[n] = i
		}
	}
	if fieldTypes == "" {
		return h
	}
	types := strings.Split(fieldTypes, ",")
	if fieldNames != "" {
		for i, n := range strings.Split(fieldNames, ",") {
			if j, ok := h.index[strings.TrimSpace(n)]; ok && i < len(types) {
				h.kinds[j] = kindOf(types[i])
			}
		}
	} else if len(types) == len(names) {
		for i, t := range types {
			h.kinds[i] = kindOf(t)
		}
	}
	return h
}

// buildPlan lays out the ECS document of the file's rows.
func buildPlan(h *header, f File, ds Dataset) *node {
	root := &node{}
	add := func(path string, l leaf) {
		if l != nil {
			root.insert(strings.Split(path, "."), l)
		}
	}
	addCol := func(path string, idx int) {
		if idx >= 0 {
			root.insertColumn(strings.Split(path, "."), idx)
		}
	}
	addConst := func(path string, jsonValue []byte) {
		if jsonValue != nil {
			root.insertConst(strings.Split(path, "."), jsonValue)
		}
	}
	cls := classify(f.EventType)
	group := "salesforce." + ds.Group + "."

	add("@timestamp", firstOf(
		timeLeaf(h.idx("TIMESTAMP_DERIVED")),
		timeLeaf(h.idx("TIMESTAMP")),
		constant(jsonTime(f.LogDate)),
	))
	add("event.id", func(dst []byte, r *row) ([]byte, bool) {
		dst = append(dst, '"')
		dst = append(dst, r.id[:]...)
		return append(dst, '"'), true
	})
	addConst("event.dataset", jsonString(ds.Name))
	addConst("event.module", jsonString("salesforce"))
	addConst("event.provider", jsonString("EventLogFile"))
	addConst("event.kind", jsonString("event"))
	addConst("event.action", jsonString(cls.action))
	addConst("event.category", jsonStrings(cls.category))
	addConst("event.type", jsonStrings(cls.typ))
	add("event.outcome", outcome(h, ds.Group == "apex"))
	addConst("salesforce.instance_url", jsonString(f.InstanceURL))
	addConst("salesforce.log_file.id", jsonString(f.ID))
	addConst("salesforce.log_file.event_type", jsonString(f.EventType))
	addConst("salesforce.log_file.log_date", jsonTime(f.LogDate))
	addConst("salesforce.log_file.interval", jsonString(f.Interval))
	addConst("salesforce.log_file.sequence", strconv.AppendInt(nil, int64(f.Sequence), 10))
	add("salesforce.log_file.row", func(dst []byte, r *row) ([]byte, bool) {
		return strconv.AppendInt(dst, r.num, 10), true
	})

	// ECS fields, dataset-specific first (Elastic's choices), then the
	// general ones; the first writer of a path wins.
	switch ds.Group {
	case "login":
		addCol("user.email", h.idx("USER_NAME"))
		add("user.roles", arrayOf(colString(h.idx("USER_TYPE"))))
		addCol("event.url", h.idx("URI"))
	case "logout":
		addCol("event.code", h.idx("REQUEST_ID"))
		add("source.ip", colIP(h.idx("CLIENT_IP")))
	case "apex":
		add("user.roles", arrayOf(colString(h.idx("USER_TYPE"))))
		if f.EventType == "ApexCallout" {
			addCol("event.url", h.idx("URL"))
		} else if f.EventType != "ExternalCustomApexCallout" {
			addCol("event.url", h.idx("URI"))
		}
	}
	add("user.id", firstOf(colString(h.idx("USER_ID_DERIVED")), colString(h.idx("USER_ID"))))
	addCol("user.name", h.idx("USER_NAME"))
	add("user.roles", arrayOf(colDecoded(h.idx("USER_TYPE"), decodeUserType)))
	add("source.ip", firstOf(colIP(h.idx("SOURCE_IP")), colIP(h.idx("CLIENT_IP"))))
	add("client.ip", colIP(h.idx("CLIENT_IP")))
	add("related.ip", relatedIPs(h.idx("SOURCE_IP"), h.idx("CLIENT_IP")))
	add("url.original", firstOf(colString(h.idx("URL")), colString(h.idx("URI")), colString(h.idx("PAGE_URL"))))
	add("user_agent.original", userAgent(h))
	addCol("tls.cipher", h.idx("CIPHER_SUITE"))
	add("tls.version_protocol", tlsPart(h.idx("TLS_PROTOCOL"), 0))
	add("tls.version", tlsPart(h.idx("TLS_PROTOCOL"), 1))
	add("http.request.method", firstOf(colString(h.idx("METHOD")), colString(h.idx("HTTP_METHOD")), colString(h.idx("REQUEST_METHOD"))))
	add("http.request.bytes", colInteger(h.idx("REQUEST_SIZE")))
	add("http.response.bytes", colInteger(h.idx("RESPONSE_SIZE")))
	add("http.response.status_code", colInteger(h.idx("STATUS_CODE")))

	// Elastic's names for the columns it knows, then every column under its
	// own lower-case name (typed from LogFileFieldTypes). A column whose
	// lower-case name is taken by one of Elastic's objects (Login's URI
	// against uri.id) keeps its name as Salesforce spells it.
	for _, n := range namedColumns(ds.Group) {
		if i := h.idx(n.column); i >= 0 {
			if n.conv == nil {
				addCol(group+n.path, i)
			} else {
				add(group+n.path, n.conv(i))
			}
		}
	}
	for i, name := range h.names {
		if h.index[name] != i {
			continue // a repeated column name: the first one wins
		}
		var l leaf
		if h.kinds[i] == kindString {
			l = nil
		} else {
			l = colTyped(i, h.kinds[i])
		}
		lower := sanitizeName(name)
		if lower == "" {
			lower = "column_" + strconv.Itoa(i+1)
		}
		if hasNode(root, group+lower) {
			continue // Elastic's field of the same name already holds it
		}
		ins := func(path []string) bool {
			if l == nil {
				return root.insertColumn(path, i)
			}
			return root.insert(path, l)
		}
		if !ins([]string{"salesforce", ds.Group, lower}) {
			if verbatim := strings.ReplaceAll(name, ".", "_"); verbatim != "" {
				ins([]string{"salesforce", ds.Group, verbatim})
			}
		}
	}
	root.finish()
	return root
}

func hasNode(root *node, dotted string) bool {
	cur := root
	for _, p := range strings.Split(dotted, ".") {
		var next *node
		for _, k := range cur.kids {
			if k.name == p {
				next = k
			}
		}
		if next == nil {
			return false
		}
		cur = next
	}
	return cur.leaf != nil
}

func timeLeaf(idx int) leaf {
	if idx < 0 {
		return nil
	}
	return func(dst []byte, r *row) ([]byte, bool) {
		return appendTime(dst, r.fields[idx])
	}
}

// jsonTime renders t like appendTime does, nil for the zero time.
func jsonTime(t time.Time) []byte {
	if t.IsZero() {
		return nil
	}
	b := append([]byte{'"'}, t.UTC().Format("2006-01-02T15:04:05.000Z")...)
	return append(b, '"')
}

// Event is one row of an event log file. It is valid until the Reader's next
// call to Next; copy what must outlive it.
type Event struct{ r *Reader }

// ID returns event.id: stable across downloads and regenerations of the
// file (see the recipe in the package documentation).
func (e *Event) ID() string { return string(e.r.row.id[:]) }

// AppendID appends event.id to dst without allocating.
func (e *Event) AppendID(dst []byte) []byte { return append(dst, e.r.row.id[:]...) }

// Row returns the 1-based number of the row in its file.
func (e *Event) Row() int64 { return e.r.row.num }

// Dataset returns the dataset the event goes to.
func (e *Event) Dataset() Dataset { return e.r.dataset }

// File returns the file the event came from.
func (e *Event) File() File { return e.r.file }

// Columns returns the CSV header.
func (e *Event) Columns() []string { return e.r.hdr.names }

// Raw returns the text of column i as the CSV holds it.
func (e *Event) Raw(i int) []byte { return e.r.row.fields[i] }

// Lookup returns the text of the named column.
func (e *Event) Lookup(column string) (string, bool) {
	i := e.r.hdr.idx(column)
	if i < 0 {
		return "", false
	}
	return string(e.r.row.fields[i]), true
}

// Value returns column i typed from LogFileFieldTypes: float64 for numbers,
// bool for booleans, time.Time for dates and times, string otherwise (and for
// a value that does not parse as its type); nil for an empty value.
func (e *Event) Value(i int) any {
	v := e.r.row.fields[i]
	if len(v) == 0 {
		return nil
	}
	switch e.r.hdr.kinds[i] {
	case kindNumber:
		if f, err := strconv.ParseFloat(str(v), 64); err == nil && isJSONNumber(v) {
			return f
		}
	case kindBool:
		if b, ok := parseBool(v); ok {
			return b
		}
	case kindTime:
		if t, ok := parseTime(v); ok {
			return t
		}
	}
	return string(v)
}

// Timestamp returns @timestamp: TIMESTAMP_DERIVED, else TIMESTAMP, else the
// file's LogDate.
func (e *Event) Timestamp() time.Time {
	for _, i := range [2]int{e.r.tsDerIdx, e.r.tsIdx} {
		if v := field(e.r.row.fields, i); len(v) > 0 {
			if t, ok := parseTime(v); ok {
				return t
			}
		}
	}
	return e.r.file.LogDate.UTC()
}

// AppendJSON appends the event's ECS document, one JSON object without a
// trailing newline.
func (e *Event) AppendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	dst, _ = e.r.plan.appendMembers(dst, &e.r.row)
	return append(dst, '}')
}

// WriteNDJSON converts a whole CSV body to ECS NDJSON on w, one document per
// line, and returns the number of events written. It is the fast path of
// `sfbridge eventlogs download --format ndjson`: one reused buffer, flushed to
// w in blocks of about 64 KiB.
func WriteNDJSON(w io.Writer, body io.Reader, f File, opts Options) (int64, error) {
	r, err := NewReader(body, f, opts)
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 0, 128<<10)
	var n int64
	for r.Next() {
		buf = r.Event().AppendJSON(buf)
		buf = append(buf, '\n')
		n++
		if len(buf) >= 64<<10 {
			if _, err := w.Write(buf); err != nil {
				return n, err
			}
			buf = buf[:0]
		}
	}
	if len(buf) > 0 {
		if _, err := w.Write(buf); err != nil {
			return n, err
		}
	}
	if err := r.Err(); err != nil {
		return n, err
	}
	return n, nil
}
