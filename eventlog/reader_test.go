package eventlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
)

const loginHeader = `"EVENT_TYPE","TIMESTAMP","REQUEST_ID","ORGANIZATION_ID","USER_ID","RUN_TIME","CPU_TIME","URI","SESSION_KEY","LOGIN_KEY","USER_TYPE","REQUEST_STATUS","DB_TOTAL_TIME","LOGIN_TYPE","BROWSER_TYPE","API_TYPE","API_VERSION","USER_NAME","TLS_PROTOCOL","CIPHER_SUITE","AUTHENTICATION_METHOD_REFERENCE","LOGIN_SUB_TYPE","TIMESTAMP_DERIVED","USER_ID_DERIVED","CLIENT_IP","URI_ID_DERIVED","LOGIN_STATUS","SOURCE_IP"`

const loginTypes = "String,String,String,Id,Id,Number,Number,String,String,String,String,String,Number,String,String,String,String,String,String,String,String,String,DateTime,Id,String,Id,String,String"

// loginRow renders row i of a synthetic Login file.
func loginRow(i int) string {
	status, req := "LOGIN_NO_ERROR", "S"
	if i%7 == 3 {
		status, req = "LOGIN_ERROR_INVALID_PASSWORD", "F"
	}
	clientIP := fmt.Sprintf("203.0.%d.%d", i%200, i%250+1)
	if i%5 == 0 {
		clientIP = "Salesforce.com IP"
	}
	sec := i % 60
	// Real browser strings rarely hold a quote; one row in ten does here, to
	// keep the escaping paths in the measurement.
	browser := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	if i%10 == 1 {
		browser = `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 ""quoted""`
	}
	return fmt.Sprintf(`"Login","20240115123%03d.%03d","4exLFFQZ1234%05d","00D5j000000ABCD","0055j000000XyZa","%d","%d","/index.jsp","","lk%06d","Standard","%s","%d","Application","%s","","52.0","user%d@example.com","TLSv1.2","ECDHE-RSA-AES256-GCM-SHA384","","","2024-01-15T12:3%d:%02d.%03dZ","0055j000000XyZaAAF","%s","","%s","%s"`,
		sec, i%1000, i, 40+i%50, 20+i%30, i, req, 1000000+i, browser, i, (sec/10)%6, sec, i%1000, clientIP, status, clientIP)
}

func loginCSV(rows int) []byte {
	var b bytes.Buffer
	b.WriteString(loginHeader + "\n")
	for i := 0; i < rows; i++ {
		b.WriteString(loginRow(i) + "\n")
	}
	return b.Bytes()
}

func loginFile() File {
	return File{
		ID: "0AT5j00002GVrfnGAD", EventType: "Login", Interval: "Hourly", Sequence: 1,
		LogDate:     time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC),
		FieldNames:  strings.ReplaceAll(strings.ReplaceAll(loginHeader, `"`, ""), ",", ","),
		FieldTypes:  loginTypes,
		InstanceURL: "https://example.my.salesforce.com",
	}
}

// docs converts body and decodes every document.
func docs(t *testing.T, body []byte, f File, opts Options) []map[string]any {
	t.Helper()
	var out bytes.Buffer
	if _, err := WriteNDJSON(&out, bytes.NewReader(body), f, opts); err != nil {
		t.Fatal(err)
	}
	var ds []map[string]any
	dec := json.NewDecoder(&out)
	for {
		var d map[string]any
		if err := dec.Decode(&d); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("output is not NDJSON: %v", err)
		}
		ds = append(ds, d)
	}
	return ds
}

func get(d map[string]any, path string) any {
	var cur any = d
	for _, p := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

func TestLoginRowBecomesElasticShapedECS(t *testing.T) {
	ds := docs(t, loginCSV(6), loginFile(), Options{})
	if len(ds) != 6 {
		t.Fatalf("%d documents, want 6", len(ds))
	}
	d1, d3, d0 := ds[1], ds[3], ds[0]
	want := map[string]any{
		"@timestamp":                                       "2024-01-15T12:30:01.001Z",
		"event.dataset":                                    "salesforce.login",
		"event.module":                                     "salesforce",
		"event.provider":                                   "EventLogFile",
		"event.action":                                     "login-attempt",
		"event.category":                                   []any{"authentication"},
		"event.outcome":                                    "success",
		"event.url":                                        "/index.jsp",
		"user.email":                                       "user1@example.com",
		"user.id":                                          "0055j000000XyZaAAF",
		"user.roles":                                       []any{"Standard"},
		"source.ip":                                        "203.0.1.2",
		"client.ip":                                        "203.0.1.2",
		"tls.cipher":                                       "ECDHE-RSA-AES256-GCM-SHA384",
		"tls.version":                                      "1.2",
		"tls.version_protocol":                             "tls",
		"url.original":                                     "/index.jsp",
		"salesforce.instance_url":                          "https://example.my.salesforce.com",
		"salesforce.log_file.id":                           "0AT5j00002GVrfnGAD",
		"salesforce.log_file.event_type":                   "Login",
		"salesforce.log_file.interval":                     "Hourly",
		"salesforce.log_file.sequence":                     1.0,
		"salesforce.log_file.row":                          2.0,
		"salesforce.log_file.log_date":                     "2024-01-15T12:00:00.000Z",
		"salesforce.login.request.status":                  "Success",
		"salesforce.login.request.id":                      "4exLFFQZ123400001",
		"salesforce.login.run_time":                        41.0,
		"salesforce.login.client.ip":                       "203.0.1.2",
		"salesforce.login.api.version":                     "52.0",
		"salesforce.login.key":                             "lk000001",
		"salesforce.login.organization_id":                 "00D5j000000ABCD",
		"salesforce.login.login_status":                    "LOGIN_NO_ERROR",
		"salesforce.login.timestamp":                       "20240115123001.001",
		"salesforce.login.timestamp_derived":               "2024-01-15T12:30:01.001Z",
		"salesforce.login.db_total_time":                   1000001.0,
		"salesforce.login.URI":                             "/index.jsp", // uri is Elastic's object (uri.id)
		"salesforce.login.browser_type":                    `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "quoted"`,
		"user_agent.original":                              `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "quoted"`,
		"salesforce.login.user_id_derived":                 "0055j000000XyZaAAF",
		"salesforce.login.authentication_method_reference": nil, // empty values are left out
	}
	for path, w := range want {
		if diff := cmp.Diff(w, get(d1, path)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", path, diff)
		}
	}
	if got := get(d3, "event.outcome"); got != "failure" {
		t.Errorf("LOGIN_ERROR row: event.outcome = %v, want failure", got)
	}
	if got := get(d3, "salesforce.login.request.status"); got != "Failure" {
		t.Errorf("REQUEST_STATUS F decoded to %v, want Failure", got)
	}
	// Row 0's client IP is "Salesforce.com IP": no source.ip, no client.ip,
	// but the column keeps the text.
	for _, p := range []string{"source.ip", "client.ip", "salesforce.login.client.ip", "related.ip"} {
		if v := get(d0, p); v != nil {
			t.Errorf("%s = %v for a row whose IP is the literal Salesforce.com IP", p, v)
		}
	}
	if got := get(d0, "salesforce.login.client_ip"); got != "Salesforce.com IP" {
		t.Errorf("salesforce.login.client_ip = %v, want the column's text", got)
	}
	if id, _ := get(d1, "event.id").(string); len(id) != 32 {
		t.Errorf("event.id = %q, want 32 hex characters", id)
	}
}

func TestTimestampFallsBackToTIMESTAMPThenLogDate(t *testing.T) {
	body := "\"EVENT_TYPE\",\"TIMESTAMP\",\"TIMESTAMP_DERIVED\",\"REQUEST_ID\"\n" +
		"\"URI\",\"20221122044615.591\",\"\",\"r1\"\n" +
		"\"URI\",\"\",\"\",\"r2\"\n"
	f := File{ID: "0AT1", EventType: "URI", LogDate: time.Date(2022, 11, 22, 4, 0, 0, 0, time.UTC)}
	ds := docs(t, []byte(body), f, Options{})
	if got := get(ds[0], "@timestamp"); got != "2022-11-22T04:46:15.591Z" {
		t.Errorf("@timestamp from TIMESTAMP = %v", got)
	}
	if got := get(ds[1], "@timestamp"); got != "2022-11-22T04:00:00.000Z" {
		t.Errorf("@timestamp without either column = %v, want the LogDate", got)
	}
	if got := get(ds[0], "event.dataset"); got != "salesforce.uri" {
		t.Errorf("event.dataset = %v, want salesforce.uri", got)
	}
	r, _ := NewReader(strings.NewReader(body), f, Options{})
	r.Next()
	if ts := r.Event().Timestamp(); !ts.Equal(time.Date(2022, 11, 22, 4, 46, 15, 591e6, time.UTC)) {
		t.Errorf("Event.Timestamp = %v", ts)
	}
}

func TestValuesAreTypedFromLogFileFieldTypes(t *testing.T) {
	body := "\"N\",\"D\",\"B\",\"T\",\"S\",\"BAD\",\"NEW_COLUMN\"\n" +
		"\"42\",\"1.5\",\"true\",\"2024-01-15T12:34:56.789Z\",\"0012\",\"n/a\",\"x\"\n"
	f := File{ID: "0AT1", EventType: "Report", FieldNames: "N,D,B,T,S,BAD", FieldTypes: "Number,Double,Boolean,DateTime,String,Number"}
	d := docs(t, []byte(body), f, Options{})[0]
	want := map[string]any{"n": 42.0, "d": 1.5, "b": true, "t": "2024-01-15T12:34:56.789Z", "s": "0012", "bad": "n/a", "new_column": "x"}
	if diff := cmp.Diff(want, d["salesforce"].(map[string]any)["report"]); diff != "" {
		t.Errorf("salesforce.report (-want +got):\n%s", diff)
	}
	r, _ := NewReader(strings.NewReader(body), f, Options{})
	r.Next()
	ev := r.Event()
	got := []any{ev.Value(0), ev.Value(1), ev.Value(2), ev.Value(4), ev.Value(5)}
	if diff := cmp.Diff([]any{42.0, 1.5, true, "0012", "n/a"}, got); diff != "" {
		t.Errorf("Event.Value (-want +got):\n%s", diff)
	}
	if tv, ok := ev.Value(3).(time.Time); !ok || !tv.Equal(time.Date(2024, 1, 15, 12, 34, 56, 789e6, time.UTC)) {
		t.Errorf("Event.Value(DateTime) = %v", ev.Value(3))
	}
}

func ids(t *testing.T, body []byte, f File, opts Options) []string {
	t.Helper()
	r, err := NewReader(bytes.NewReader(body), f, opts)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for r.Next() {
		out = append(out, r.Event().ID())
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEventIDIsStableAcrossRedownloadAndRegeneration(t *testing.T) {
	body := loginCSV(50)
	first := ids(t, body, loginFile(), Options{})
	seen := map[string]bool{}
	for _, id := range first {
		if seen[id] {
			t.Fatalf("event.id %s repeats within a file of distinct rows", id)
		}
		seen[id] = true
	}
	// Regenerated: a new file Id, another sequence, the columns in another order.
	regen := loginFile()
	regen.ID, regen.Sequence = "0AT5j00002ZZZZZZZZ", 2
	if diff := cmp.Diff(first, ids(t, reverseColumns(t, body), regen, Options{})); diff != "" {
		t.Errorf("ids changed when the file was regenerated (-before +after):\n%s", diff)
	}
	// Resumed after 20 delivered rows.
	if diff := cmp.Diff(first[20:], ids(t, body, loginFile(), Options{SkipRows: 20})); diff != "" {
		t.Errorf("ids after SkipRows differ (-want +got):\n%s", diff)
	}
}

// reverseColumns rewrites a CSV with its columns in reverse order.
func reverseColumns(t *testing.T, body []byte) []byte {
	t.Helper()
	s := NewScanner(bytes.NewReader(body), 0)
	var b bytes.Buffer
	for s.Scan() {
		fs := s.Fields()
		for i := len(fs) - 1; i >= 0; i-- {
			b.WriteString(`"` + strings.ReplaceAll(string(fs[i]), `"`, `""`) + `"`)
			if i > 0 {
				b.WriteByte(',')
			}
		}
		b.WriteByte('\n')
	}
	if s.Err() != nil {
		t.Fatal(s.Err())
	}
	return b.Bytes()
}

func TestEventIDSeparatesRepeatedKeysAndRowsWithoutRequestID(t *testing.T) {
	body := "\"EVENT_TYPE\",\"TIMESTAMP\",\"REQUEST_ID\",\"ORGANIZATION_ID\",\"URL\"\n" +
		"\"ApexCallout\",\"20240115120000.000\",\"R1\",\"00D\",\"https://a\"\n" +
		"\"ApexCallout\",\"20240115120000.000\",\"R1\",\"00D\",\"https://b\"\n" +
		"\"ApexCallout\",\"20240115120000.001\",\"R1\",\"00D\",\"https://a\"\n" +
		"\"ApexCallout\",\"20240115120000.001\",\"\",\"00D\",\"https://a\"\n" +
		"\"ApexCallout\",\"20240115120000.001\",\"\",\"00D\",\"https://c\"\n"
	f := File{ID: "0AT1", EventType: "ApexCallout"}
	got := ids(t, []byte(body), f, Options{})
	if len(got) != 5 {
		t.Fatalf("%d ids", len(got))
	}
	seen := map[string]int{}
	for i, id := range got {
		if j, dup := seen[id]; dup {
			t.Errorf("rows %d and %d share event.id %s", j+1, i+1, id)
		}
		seen[id] = i
	}
	// The recipe, computed independently for row 1.
	if want := sha256Hex16("sfbridge.elf.v1\x00ApexCallout\x0000D\x0020240115120000.000\x00R1"); got[0] != want {
		t.Errorf("row 1 id = %s, want %s (the documented recipe)", got[0], want)
	}
	if want := sha256Hex16("sfbridge.elf.v1\x00ApexCallout\x0000D\x0020240115120000.000\x00R1\x00#1"); got[1] != want {
		t.Errorf("row 2 id (second occurrence) = %s, want %s", got[1], want)
	}
	if want := sha256Hex16("sfbridge.elf.row.v1\x00ApexCallout\x00EVENT_TYPE\x00ApexCallout\x00ORGANIZATION_ID\x0000D\x00REQUEST_ID\x00\x00TIMESTAMP\x0020240115120000.001\x00URL\x00https://a"); got[3] != want {
		t.Errorf("row 4 id (no REQUEST_ID) = %s, want %s", got[3], want)
	}
}

func TestSkipRowsBeyondTheFileIsAnError(t *testing.T) {
	r, _ := NewReader(bytes.NewReader(loginCSV(3)), loginFile(), Options{SkipRows: 5})
	for r.Next() {
		t.Fatal("Next returned a row")
	}
	if r.Err() == nil || !strings.Contains(r.Err().Error(), "fewer than the 5 already delivered") {
		t.Errorf("Err = %v", r.Err())
	}
}

func TestTruncatedBodyFailsAfterTheCompleteRows(t *testing.T) {
	body := loginCSV(10)
	cut := body[:len(body)-40]
	var out bytes.Buffer
	n, err := WriteNDJSON(&out, iotest.HalfReader(bytes.NewReader(cut)), loginFile(), Options{})
	if !errors.Is(err, ErrQuote) {
		t.Fatalf("err = %v, want ErrQuote for a body cut inside a field", err)
	}
	if n != 9 {
		t.Errorf("%d events before the cut, want 9", n)
	}
}

func TestNewReaderNeedsAnEventType(t *testing.T) {
	_, err := NewReader(strings.NewReader(""), File{ID: "0AT1"}, Options{})
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "EventType") {
		t.Fatalf("err = %v, want a *ConfigError naming EventType", err)
	}
}

func TestDatasets(t *testing.T) {
	for in, want := range map[string]string{
		"Login": "salesforce.login", "Logout": "salesforce.logout", "ApexTrigger": "salesforce.apex",
		"ExternalCustomApexCallout": "salesforce.apex", "SetupAuditTrail": "salesforce.setupaudittrail",
		"API": "salesforce.api", "ReportExport": "salesforce.reportexport", "LoginEvent": "salesforce.login",
	} {
		if got := DatasetFor(in).Name; got != want {
			t.Errorf("DatasetFor(%q) = %q, want %q", in, got, want)
		}
	}
	if got := kebab("ReportExport"); got != "report-export" {
		t.Errorf("kebab = %q", got)
	}
}

func TestLogoutCodesAreDecoded(t *testing.T) {
	body := "\"EVENT_TYPE\",\"TIMESTAMP\",\"REQUEST_ID\",\"ORGANIZATION_ID\",\"USER_TYPE\",\"SESSION_TYPE\",\"SESSION_LEVEL\",\"APP_TYPE\",\"PLATFORM_TYPE\",\"USER_INITIATED_LOGOUT\",\"CLIENT_IP\",\"TIMESTAMP_DERIVED\"\n" +
		"\"Logout\",\"20240115120000.000\",\"R9\",\"00D\",\"S\",\"U\",\"2\",\"1007\",\"1015\",\"1\",\"198.51.100.7\",\"2024-01-15T12:00:00.000Z\"\n"
	d := docs(t, []byte(body), File{ID: "0AT2", EventType: "Logout"}, Options{})[0]
	want := map[string]any{
		"event.dataset":                           "salesforce.logout",
		"event.action":                            "logout",
		"event.code":                              "R9",
		"source.ip":                               "198.51.100.7",
		"salesforce.logout.user.roles":            []any{"Standard"},
		"salesforce.logout.session.type":          "UI",
		"salesforce.logout.session.level":         "High-Assurance Session",
		"salesforce.logout.app_type":              "SFDC Application",
		"salesforce.logout.platform_type":         "Windows 10",
		"salesforce.logout.user_initiated_logout": true,
		"salesforce.logout.user_type":             "S",
		"user.roles":                              []any{"Standard"},
	}
	for path, w := range want {
		if diff := cmp.Diff(w, get(d, path)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", path, diff)
		}
	}
}

// FuzzReader checks that no CSV body makes the converter panic or write
// invalid JSON, and that for a body encoding/csv reads, the events hold the
// same values.
func FuzzReader(f *testing.F) {
	f.Add(loginCSV(3))
	f.Add([]byte("\"EVENT_TYPE\",\"TIMESTAMP\",\"CLIENT_IP\",\"TLS_PROTOCOL\"\n\"X\",\"20240115120000.000\",\"::1\",\"TLSv1.3\"\n"))
	f.Add([]byte("a,a,a.b,\"\",\"uri\"\n\xff,\x00,\"\u2028\",1e5,-0\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		fl := File{ID: "0AT1", EventType: "Login", FieldTypes: "Number,DateTime,Boolean,String,Number"}
		r, err := NewReader(bytes.NewReader(body), fl, Options{})
		if err != nil {
			t.Fatal(err)
		}
		want, werr := readAllCSV(body)
		var buf []byte
		n := 0
		for r.Next() {
			n++
			ev := r.Event()
			buf = ev.AppendJSON(buf[:0])
			if !json.Valid(buf) {
				t.Fatalf("invalid JSON for row %d: %q", n, buf)
			}
			if werr == nil {
				for i := range ev.Columns() {
					if string(ev.Raw(i)) != want[n][i] {
						t.Fatalf("row %d column %d: %q, encoding/csv %q", n, i, ev.Raw(i), want[n][i])
					}
				}
			}
		}
		// An empty body is an error for the converter (a file has a header
		// line), not for encoding/csv.
		if werr == nil && len(want) > 0 && r.Err() != nil {
			t.Fatalf("encoding/csv reads the body, the converter fails: %v", r.Err())
		}
		if werr == nil && len(want) > 0 && n != len(want)-1 {
			t.Fatalf("%d events, encoding/csv has %d rows after the header", n, len(want)-1)
		}
	})
}

func TestManyRepeatsOfOneKeyInOneMillisecond(t *testing.T) {
	var b strings.Builder
	b.WriteString("\"EVENT_TYPE\",\"TIMESTAMP\",\"REQUEST_ID\",\"ORGANIZATION_ID\"\n")
	for i := 0; i < 40; i++ {
		b.WriteString("\"ApexTrigger\",\"20240115120000.000\",\"R1\",\"00D\"\n")
	}
	b.WriteString("\"ApexTrigger\",\"20240115120000.001\",\"R1\",\"00D\"\n")
	got := ids(t, []byte(b.String()), File{ID: "0AT1", EventType: "ApexTrigger"}, Options{})
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Fatalf("repeated id %s", id)
		}
		seen[id] = true
	}
	base := "sfbridge.elf.v1\x00ApexTrigger\x0000D\x0020240115120000.000\x00R1"
	for _, n := range []int{1, 31, 32, 39} {
		if want := sha256Hex16(fmt.Sprintf("%s\x00#%d", base, n)); got[n] != want {
			t.Errorf("repeat %d: id %s, want %s", n, got[n], want)
		}
	}
	if want := sha256Hex16("sfbridge.elf.v1\x00ApexTrigger\x0000D\x0020240115120000.001\x00R1"); got[40] != want {
		t.Errorf("the next millisecond starts counting again: %s, want %s", got[40], want)
	}
}
