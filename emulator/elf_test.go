package emulator_test

import (
	"compress/gzip"
	"compress/zlib"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/sftest"
)

// elfStart is the emulator clock of the ELF tests: 10:17:00 UTC.
var elfStart = time.Date(2026, 12, 4, 10, 17, 0, 0, time.UTC)

func elfServer(t *testing.T, em emulator.EventMonitoringSpec) (*sftest.Server, *clock) {
	t.Helper()
	clk := &clock{t: elfStart}
	s := sftest.NewServerWith(t, sftest.Options{Key: sharedKey(), Now: clk.Now, Fixture: func(id string, cert []byte) *emulator.Fixture {
		fx := emulator.DefaultFixture(id, cert)
		fx.EventMonitoring = &em
		return fx
	}})
	return s, clk
}

type elfRecord struct {
	ID                string  `json:"Id"`
	EventType         string  `json:"EventType"`
	LogDate           string  `json:"LogDate"`
	LogFile           string  `json:"LogFile"`
	LogFileLength     float64 `json:"LogFileLength"`
	LogFileFieldNames string  `json:"LogFileFieldNames"`
	Interval          string  `json:"Interval"`
	Sequence          int     `json:"Sequence"`
	CreatedDate       string  `json:"CreatedDate"`
}

func elfQuery(t *testing.T, s *sftest.Server, tok, soql string) []elfRecord {
	t.Helper()
	r := do(t, s, "GET", "/services/data/v62.0/query?q="+url.QueryEscape(soql), tok, nil)
	if r.status != 200 {
		t.Fatalf("%s: %d %s", soql, r.status, r.body)
	}
	var res struct {
		TotalSize int         `json:"totalSize"`
		Records   []elfRecord `json:"records"`
	}
	if err := json.Unmarshal([]byte(r.body), &res); err != nil {
		t.Fatal(err)
	}
	if res.TotalSize != len(res.Records) {
		t.Fatalf("totalSize %d, %d records (paging not expected here)", res.TotalSize, len(res.Records))
	}
	return res.Records
}

func parseSFTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse("2006-01-02T15:04:05.000-0700", s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

const elfFields = "SELECT Id, EventType, LogDate, LogFile, LogFileLength, LogFileFieldNames, Interval, Sequence, CreatedDate FROM EventLogFile"

func TestEventLogFilesListedAndDownloaded(t *testing.T) {
	s, _ := elfServer(t, emulator.EventMonitoringSpec{RowsPerHour: 40, SampleDays: 3})
	tok := s.Login(t, emulator.UserIntegration).AccessToken

	recs := elfQuery(t, s, tok, elfFields+" WHERE EventType = 'Login' AND Interval = 'Hourly' ORDER BY CreatedDate ASC NULLS FIRST, Id ASC")
	if len(recs) < 60 {
		t.Fatalf("%d hourly Login files after three days", len(recs))
	}
	var late int
	for i, r := range recs {
		if r.LogFile != "/services/data/v62.0/sobjects/EventLogFile/"+r.ID+"/LogFile" {
			t.Fatalf("LogFile %q", r.LogFile)
		}
		if r.Sequence < 1 || r.Interval != "Hourly" || r.EventType != "Login" {
			t.Fatalf("record %+v", r)
		}
		created, logDate := parseSFTime(t, r.CreatedDate), parseSFTime(t, r.LogDate)
		if created.After(elfStart) || created.Nanosecond() != 0 {
			t.Fatalf("CreatedDate %s (now %s)", created, elfStart)
		}
		if d := created.Sub(logDate); r.Sequence == 1 && (d < 4*time.Hour || d >= 7*time.Hour) {
			t.Fatalf("Sequence 1 file for %s created %s", logDate, created)
		}
		if r.Sequence > 1 {
			late++
		}
		if i > 0 && recs[i-1].CreatedDate > r.CreatedDate {
			t.Fatal("not ordered by CreatedDate")
		}
	}
	if late == 0 {
		t.Error("no late hourly file (Sequence > 1)")
	}

	// The blob: text/csv, every field quoted, the exact LogFileLength.
	f := recs[len(recs)-1]
	r := do(t, s, "GET", f.LogFile, tok, nil, "Accept-Encoding", "identity")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("download: %d %v %s", r.status, r.header, r.body[:min(200, len(r.body))])
	}
	if float64(len(r.body)) != f.LogFileLength || r.header.Get("Content-Length") != strconv.Itoa(len(r.body)) {
		t.Fatalf("%d bytes, Content-Length %s, LogFileLength %v", len(r.body), r.header.Get("Content-Length"), f.LogFileLength)
	}
	rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != f.LogFileFieldNames || !strings.HasPrefix(r.body, `"EVENT_TYPE","TIMESTAMP",`) {
		t.Fatalf("header %q vs %q", rows[0], f.LogFileFieldNames)
	}
	again := do(t, s, "GET", f.LogFile, tok, nil, "Accept-Encoding", "identity")
	if again.body != r.body {
		t.Fatal("a second download differs")
	}

	// Compressed when asked, the same bytes inside.
	for _, enc := range []string{"gzip", "deflate"} {
		z := do(t, s, "GET", f.LogFile, tok, nil, "Accept-Encoding", enc)
		if z.header.Get("Content-Encoding") != enc || z.header.Get("Content-Length") != "" {
			t.Fatalf("%s: headers %v", enc, z.header)
		}
		var zr io.Reader
		if enc == "gzip" {
			zr, err = gzip.NewReader(strings.NewReader(z.body))
		} else {
			zr, err = zlib.NewReader(strings.NewReader(z.body))
		}
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil || string(plain) != r.body {
			t.Fatalf("%s: %v, %d bytes", enc, err, len(plain))
		}
	}

	// Files that do not exist, and users without View Event Log Files.
	if r := do(t, s, "GET", "/services/data/v62.0/sobjects/EventLogFile/0ATxx0000099999AAA/LogFile", tok, nil); r.status != 404 || !strings.Contains(r.body, "NOT_FOUND") {
		t.Errorf("unknown file: %d %s", r.status, r.body)
	}
	other := s.Login(t, emulator.UserNoEventLogs).AccessToken
	if r := do(t, s, "GET", f.LogFile, other, nil); r.status != 404 {
		t.Errorf("no permission: %d %s", r.status, r.body)
	}
	if r := do(t, s, "GET", "/services/data/v62.0/query?q="+url.QueryEscape("SELECT Id FROM EventLogFile"), other, nil); r.status != 400 || !strings.Contains(r.body, "INVALID_TYPE") {
		t.Errorf("no permission query: %d %s", r.status, r.body)
	}
	if r := do(t, s, "GET", f.LogFile, "", nil); r.status != 401 || !strings.Contains(r.body, "INVALID_SESSION_ID") {
		t.Errorf("no session: %d %s", r.status, r.body)
	}
}

func TestEventLogFileQueriesCollectorsSend(t *testing.T) {
	s, _ := elfServer(t, emulator.EventMonitoringSpec{RowsPerHour: 10, SampleDays: 3})
	tok := s.Login(t, emulator.UserIntegration).AccessToken
	all := elfQuery(t, s, tok, elfFields+" ORDER BY CreatedDate, Id")
	if len(all) < 500 {
		t.Fatalf("%d files", len(all))
	}
	count := func(pred func(elfRecord) bool) int {
		n := 0
		for _, r := range all {
			if pred(r) {
				n++
			}
		}
		return n
	}
	check := func(soql string, pred func(elfRecord) bool) {
		t.Helper()
		got := elfQuery(t, s, tok, soql)
		if want := count(pred); len(got) != want || want == 0 {
			t.Errorf("%s: %d records, want %d", soql, len(got), want)
		}
	}
	check(elfFields+" WHERE EventType IN ('Login', 'API')", func(r elfRecord) bool { return r.EventType == "Login" || r.EventType == "API" })
	check(elfFields+" WHERE (EventType = 'Login' OR EventType = 'Logout') AND Sequence = 0", func(r elfRecord) bool {
		return (r.EventType == "Login" || r.EventType == "Logout") && r.Sequence == 0
	})
	check(elfFields+" WHERE Sequence != 0 AND Interval = 'Hourly'", func(r elfRecord) bool { return r.Sequence != 0 })
	check(elfFields+" WHERE Interval = 'Daily'", func(r elfRecord) bool { return r.Interval == "Daily" && r.Sequence == 0 })
	check(elfFields+" WHERE Sequence >= 2", func(r elfRecord) bool { return r.Sequence >= 2 })
	cut := "2026-12-03T06:00:00"
	cutT, _ := time.Parse("2006-01-02T15:04:05", cut)
	after := func(r elfRecord) bool { return parseSFTime(t, r.CreatedDate).After(cutT) }
	for _, lit := range []string{cut + "Z", cut + ".000Z", cut + "+0000", cut + ".000+0000", cut + "+00:00", "2026-12-03T07:00:00+01:00"} {
		check(elfFields+" WHERE CreatedDate > "+lit+" ORDER BY CreatedDate ASC, Id ASC", after)
	}
	check(elfFields+" WHERE LogDate >= 2026-12-02T00:00:00Z", func(r elfRecord) bool { return r.LogDate >= "2026-12-02" })
	check(elfFields+" WHERE LogDate = YESTERDAY", func(r elfRecord) bool { return strings.HasPrefix(r.LogDate, "2026-12-03") })
	check(elfFields+" WHERE LogDate = LAST_N_DAYS:2", func(r elfRecord) bool { return r.LogDate >= "2026-12-02" })

	// The compound cursor: CreatedDate > c OR (CreatedDate = c AND Id > id).
	// Resuming after any record returns exactly the records after it.
	for _, at := range []int{0, len(all) / 3, len(all) / 2, len(all) - 2} {
		mid := all[at]
		c := strings.Replace(mid.CreatedDate, ".000+0000", "Z", 1)
		got := elfQuery(t, s, tok, elfFields+" WHERE CreatedDate > "+c+" OR (CreatedDate = "+c+" AND Id > '"+mid.ID+"') ORDER BY CreatedDate ASC, Id ASC")
		if len(got) != len(all)-at-1 || got[0].ID != all[at+1].ID {
			t.Fatalf("resume after record %d: %d records, want %d", at, len(got), len(all)-at-1)
		}
	}
	if got := elfQuery(t, s, tok, elfFields+" ORDER BY CreatedDate, Id LIMIT 7"); len(got) != 7 || got[6].ID != all[6].ID {
		t.Errorf("LIMIT 7: %d records", len(got))
	}

	// Several files share one CreatedDate second.
	same := map[string]int{}
	for _, r := range all {
		same[r.CreatedDate]++
	}
	shared := 0
	for _, n := range same {
		if n > 1 {
			shared++
		}
	}
	if shared == 0 {
		t.Error("no two files share a CreatedDate")
	}

	// Daily files are created the next day around 03:00 UTC.
	for _, r := range all {
		if r.Interval != "Daily" {
			continue
		}
		created, day := parseSFTime(t, r.CreatedDate), parseSFTime(t, r.LogDate)
		if d := created.Sub(day); d < 27*time.Hour || d > 27*time.Hour+20*time.Minute {
			t.Fatalf("daily file of %s created %s", day, created)
		}
	}

	// Schema drift: today's Login files have a column more than older ones.
	names := map[string]bool{}
	for _, r := range all {
		if r.EventType == "Login" {
			names[r.LogFileFieldNames] = true
		}
	}
	if len(names) != 2 {
		t.Errorf("%d Login schemas, want 2", len(names))
	}
}

func TestEventLogFilesFollowTheClock(t *testing.T) {
	s, clk := elfServer(t, emulator.EventMonitoringSpec{RowsPerHour: 5, SampleDays: 3, Types: []string{"Login", "URI"}})
	tok := s.Login(t, emulator.UserIntegration).AccessToken
	q := elfFields + " WHERE Interval = 'Hourly' ORDER BY CreatedDate, Id"
	before := elfQuery(t, s, tok, q)
	oldest := before[0]
	for _, r := range before {
		if r.EventType != "Login" && r.EventType != "URI" {
			t.Fatalf("background activity of %s", r.EventType)
		}
	}

	// Three hours later the files of three more hours exist.
	s.Org.Advance(3 * time.Hour)
	tok = s.Login(t, emulator.UserIntegration).AccessToken
	after := elfQuery(t, s, tok, q)
	if len(after) <= len(before) {
		t.Fatalf("%d files, then %d", len(before), len(after))
	}

	// After 30 days the oldest files are gone and their blobs answer 404.
	_ = clk
	s.Org.Advance(30*24*time.Hour - 3*time.Hour + time.Minute)
	tok = s.Login(t, emulator.UserIntegration).AccessToken
	later := elfQuery(t, s, tok, q)
	for _, r := range later {
		if r.ID == oldest.ID {
			t.Fatal("a file outlived its retention period")
		}
	}
	if r := do(t, s, "GET", oldest.LogFile, tok, nil); r.status != 404 {
		t.Errorf("expired file: %d %s", r.status, r.body)
	}
}

func TestFreeTierWithoutHourlyFiles(t *testing.T) {
	s, _ := elfServer(t, emulator.EventMonitoringSpec{Licensed: ptr(false), Hourly: ptr(false), RowsPerHour: 5, SampleDays: 3})
	tok := s.Login(t, emulator.UserIntegration).AccessToken
	r := do(t, s, "GET", "/services/data/v62.0/query?q="+url.QueryEscape("SELECT Id FROM EventLogFile WHERE Interval = 'Hourly'"), tok, nil)
	if r.status != 400 || !strings.Contains(r.body, "INVALID_FIELD") || !strings.Contains(r.body, "Interval") {
		t.Fatalf("Interval without hourly files: %d %s", r.status, r.body)
	}
	recs := elfQuery(t, s, tok, "SELECT Id, EventType, Sequence, CreatedDate FROM EventLogFile ORDER BY CreatedDate")
	types := map[string]bool{}
	for _, rec := range recs {
		types[rec.EventType] = true
		if rec.Sequence != 0 {
			t.Fatalf("hourly file %+v", rec)
		}
		if created := parseSFTime(t, rec.CreatedDate); elfStart.Sub(created) > 24*time.Hour {
			t.Fatalf("file created %s outlived the free tier's one day", created)
		}
	}
	for typ := range types {
		if !strings.Contains(",Login,Logout,ApexUnexpectedException,CspViolation,CorsViolation,HostnameRedirects,ApiTotalUsage,", ","+typ+",") {
			t.Errorf("free tier has %s", typ)
		}
	}
	if len(types) != 7 {
		t.Errorf("%d types: %v", len(types), types)
	}
}

func TestOwnActivityBecomesLogData(t *testing.T) {
	s, _ := elfServer(t, emulator.EventMonitoringSpec{})
	tok := s.Login(t, emulator.UserIntegration).AccessToken
	uid, _ := s.Org.UserID(emulator.UserIntegration)
	// A refused login: the assertion of a user the app does not know.
	if r := postToken(t, s, grantForm(s.Assertion(t, "nobody@sfbridge.test"))); r.status != 400 {
		t.Fatalf("token for an unknown user: %d", r.status)
	}
	if r := do(t, s, "GET", "/services/data/v62.0/query?q="+url.QueryEscape("SELECT Id FROM Case"), tok, nil); r.status != 200 {
		t.Fatal(r.body)
	}
	if r := admin(t, s, "POST", "/_emulator/permission-sets", `{"name":"Auditors","permissions":["ViewSetup"]}`); r.status != 204 {
		t.Fatalf("admin: %d %s", r.status, r.body)
	}
	q := func(soql string) string {
		t.Helper()
		r := do(t, s, "GET", "/services/data/v62.0/query?q="+url.QueryEscape(soql), tok, nil)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", soql, r.status, r.body)
		}
		return r.body
	}
	if b := q("SELECT UserId, LoginTime, Status, LoginType, SourceIp, Application FROM LoginHistory WHERE UserId = '" + string(uid) + "' ORDER BY LoginTime DESC"); !strings.Contains(b, `"Status":"Success"`) || !strings.Contains(b, `"LoginTime":"2026-12-04T10:17:00.000+0000"`) {
		t.Errorf("LoginHistory: %s", b)
	}
	if b := q("SELECT EventIdentifier, EventDate, Username, Status FROM LoginEvent WHERE EventDate >= 2026-12-04T10:00:00Z ORDER BY EventDate DESC"); !strings.Contains(b, `"Username":"integration@sfbridge.test"`) {
		t.Errorf("LoginEvent: %s", b)
	}
	r := do(t, s, "GET", "/services/data/v62.0/query?q="+url.QueryEscape("SELECT Id FROM LoginEvent WHERE Username = 'x'"), tok, nil)
	if r.status != 400 || !strings.Contains(r.body, "INVALID_FIELD") {
		t.Errorf("LoginEvent filtered on Username: %d %s", r.status, r.body)
	}
	if b := q("SELECT Action, Section, Display, CreatedDate, CreatedBy.Username, DelegateUser FROM SetupAuditTrail ORDER BY CreatedDate"); !strings.Contains(b, `"Action":"PermSetCreate"`) || !strings.Contains(b, "Auditors") {
		t.Errorf("SetupAuditTrail: %s", b)
	}
	if b := q("SELECT Query, Username FROM ApiEvent WHERE EventDate > 2026-12-04T00:00:00Z"); !strings.Contains(b, "SELECT Id FROM Case") {
		t.Errorf("ApiEvent: %s", b)
	}

	// Seven hours later, the 10:00 hour's Login file holds both logins.
	s.Org.Advance(7 * time.Hour)
	tok = s.Login(t, emulator.UserIntegration).AccessToken
	recs := elfQuery(t, s, tok, elfFields+" WHERE EventType = 'Login' AND Interval = 'Hourly' AND LogDate = 2026-12-04T10:00:00Z")
	if len(recs) != 1 {
		t.Fatalf("%d Login files for 10:00", len(recs))
	}
	body := do(t, s, "GET", recs[0].LogFile, tok, nil).body
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, n := range rows[0] {
		col[n] = i
	}
	got := map[string]string{}
	for _, row := range rows[1:] {
		got[row[col["USER_NAME"]]] = row[col["LOGIN_STATUS"]]
		if row[col["USER_NAME"]] == emulator.UserIntegration && row[col["USER_ID"]] != string(uid)[:15] {
			t.Errorf("USER_ID %q", row[col["USER_ID"]])
		}
	}
	if got[emulator.UserIntegration] != "LOGIN_NO_ERROR" || !strings.HasPrefix(got["nobody@sfbridge.test"], "LOGIN_ERROR_") {
		t.Errorf("Login rows %v", got)
	}
	recs = elfQuery(t, s, tok, elfFields+" WHERE EventType = 'RestApi' AND Interval = 'Hourly'")
	if len(recs) != 1 || !strings.Contains(do(t, s, "GET", recs[0].LogFile, tok, nil).body, `"SELECT Id FROM Case"`) {
		t.Errorf("RestApi files %+v", recs)
	}
}

func adminJSON(t *testing.T, s *sftest.Server, method, path, body string, want int, v any) {
	t.Helper()
	r := admin(t, s, method, path, body)
	if r.status != want {
		t.Fatalf("%s %s: %d %s", method, path, r.status, r.body)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(r.body), v); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEventLogFileAdminAPI(t *testing.T) {
	s, _ := elfServer(t, emulator.EventMonitoringSpec{})
	tok := s.Login(t, emulator.UserIntegration).AccessToken

	// A file with given rows, CreatedDate, Sequence and interval.
	var a emulator.EventLogFileInfo
	adminJSON(t, s, "POST", "/_emulator/event-log-files", `{"event_type":"uri","log_date":"2026-12-04T08:00:00Z","created_date":"2026-12-04T10:00:00Z","sequence":1,"rows":250}`, 201, &a)
	if a.EventType != "URI" || a.Sequence != 1 || a.Rows != 250 || a.Pending || a.Length == 0 {
		t.Fatalf("added %+v", a)
	}
	recs := elfQuery(t, s, tok, elfFields+" WHERE Id = '"+a.ID+"'")
	if len(recs) != 1 || recs[0].CreatedDate != "2026-12-04T10:00:00.000+0000" || recs[0].LogDate != "2026-12-04T08:00:00.000+0000" || int64(recs[0].LogFileLength) != a.Length {
		t.Fatalf("record %+v", recs)
	}
	body := do(t, s, "GET", recs[0].LogFile, tok, nil, "Accept-Encoding", "identity").body
	if n := strings.Count(body, "\n\"URI\","); n != 250 {
		t.Errorf("%d rows", n)
	}
	// retrieve answers the blob URL too, and HEAD gives the length only.
	if r := do(t, s, "GET", "/services/data/v60.0/sobjects/EventLogFile/"+a.ID, tok, nil); r.status != 200 ||
		!strings.Contains(r.body, `"LogFile":"/services/data/v60.0/sobjects/EventLogFile/`+a.ID+`/LogFile"`) || !strings.Contains(r.body, `"Interval":"Hourly"`) {
		t.Errorf("retrieve: %d %s", r.status, r.body)
	}
	if r := do(t, s, "HEAD", recs[0].LogFile, tok, nil, "Accept-Encoding", "identity"); r.status != 200 || r.body != "" || r.header.Get("Content-Length") != strconv.FormatInt(a.Length, 10) {
		t.Errorf("HEAD: %d %v", r.status, r.header)
	}

	// A file of about 200 kB; one created in the future appears on time.
	var big, future emulator.EventLogFileInfo
	adminJSON(t, s, "POST", "/_emulator/event-log-files", `{"event_type":"AuraRequest","file_bytes":200000}`, 201, &big)
	if big.Length < 180000 || big.Length > 220000 {
		t.Errorf("file_bytes 200000 gave %d bytes", big.Length)
	}
	adminJSON(t, s, "POST", "/_emulator/event-log-files", `{"event_type":"Login","created_date":"2026-12-04T11:00:00Z"}`, 201, &future)
	if !future.Pending || len(elfQuery(t, s, tok, elfFields+" WHERE EventType = 'Login'")) != 0 {
		t.Fatalf("future file visible: %+v", future)
	}
	s.Org.Advance(time.Hour)
	tok = s.Login(t, emulator.UserIntegration).AccessToken
	if got := elfQuery(t, s, tok, elfFields+" WHERE EventType = 'Login' AND Sequence = 1"); len(got) != 1 || got[0].ID != future.ID {
		t.Fatalf("future file after an hour: %+v", got)
	}

	// A late file for the URI hour; a shared CreatedDate; expiry.
	var late emulator.EventLogFileInfo
	adminJSON(t, s, "POST", "/_emulator/event-log-files/"+a.ID+"/late", `{"rows":3}`, 201, &late)
	if late.Sequence != 2 || !late.LogDate.Equal(a.LogDate) || late.Rows != 3 {
		t.Fatalf("late %+v", late)
	}
	var moved emulator.EventLogFileInfo
	adminJSON(t, s, "PATCH", "/_emulator/event-log-files/"+big.ID, `{"created_like":"`+a.ID+`"}`, 200, &moved)
	if !moved.CreatedDate.Equal(a.CreatedDate) {
		t.Fatalf("created_like: %v vs %v", moved.CreatedDate, a.CreatedDate)
	}
	if got := elfQuery(t, s, tok, elfFields+" WHERE CreatedDate = 2026-12-04T10:00:00Z"); len(got) != 2 {
		t.Fatalf("%d files share the second", len(got))
	}
	adminJSON(t, s, "DELETE", "/_emulator/event-log-files/"+a.ID, "", 204, nil)
	if r := do(t, s, "GET", recs[0].LogFile, tok, nil); r.status != 404 {
		t.Errorf("expired: %d", r.status)
	}

	// A young file is truncated until it is old enough.
	adminJSON(t, s, "PATCH", "/_emulator/event-log-files/"+late.ID, `{"truncate_bytes":100,"young_for":"10m"}`, 200, nil)
	lf := "/services/data/v62.0/sobjects/EventLogFile/" + late.ID + "/LogFile"
	if r := do(t, s, "GET", lf, tok, nil, "Accept-Encoding", "identity"); len(r.body) != 100 {
		t.Errorf("young file: %d bytes", len(r.body))
	}
	s.Org.Advance(11 * time.Minute)
	if r := do(t, s, "GET", lf, tok, nil, "Accept-Encoding", "identity"); int64(len(r.body)) != late.Length {
		t.Errorf("old enough: %d bytes of %d", len(r.body), late.Length)
	}

	// Generate a day of activity for two types.
	var gen []emulator.EventLogFileInfo
	adminJSON(t, s, "POST", "/_emulator/event-log-files/generate", `{"from":"2026-12-02T00:00:00Z","to":"2026-12-03T00:00:00Z","types":["API","Report"],"rows_per_hour":20}`, 201, &gen)
	if len(gen) != 2*25 {
		t.Fatalf("%d files generated", len(gen))
	}
	if got := elfQuery(t, s, tok, elfFields+" WHERE EventType = 'Report' AND Interval = 'Daily'"); len(got) != 1 || got[0].Sequence != 0 {
		t.Fatalf("daily Report: %+v", got)
	}

	// Settings: switching hourly files off removes Interval.
	adminJSON(t, s, "PATCH", "/_emulator/event-monitoring", `{"hourly":false}`, 204, nil)
	if r := do(t, s, "GET", "/services/data/v62.0/query?q="+url.QueryEscape("SELECT Interval FROM EventLogFile"), tok, nil); r.status != 400 || !strings.Contains(r.body, "INVALID_FIELD") {
		t.Errorf("Interval with hourly off: %d %s", r.status, r.body)
	}
	if r := do(t, s, "GET", "/services/data/v62.0/sobjects/EventLogFile/describe", tok, nil); r.status != 200 || strings.Contains(r.body, `"name":"Interval"`) || !strings.Contains(r.body, `"name":"LogFileLength"`) {
		t.Errorf("describe with hourly off: %d", r.status)
	}
	var em emulator.EventMonitoringSpec
	adminJSON(t, s, "PATCH", "/_emulator/event-monitoring", `{"rows_per_hour":7,"retention_days":9}`, 204, nil)
	adminJSON(t, s, "GET", "/_emulator/event-monitoring", "", 200, &em)
	if *em.Hourly || !*em.Licensed || em.RetentionDays != 9 || em.RowsPerHour != 7 {
		t.Errorf("settings %+v", em)
	}
	adminJSON(t, s, "PATCH", "/_emulator/event-monitoring", `{"rows_per_hour":-1,"licensed":false}`, 204, nil)
	em = emulator.EventMonitoringSpec{}
	adminJSON(t, s, "GET", "/_emulator/event-monitoring", "", 200, &em)
	if *em.Licensed || em.RetentionDays != 1 || em.RowsPerHour != 0 {
		t.Errorf("settings %+v", em)
	}
	adminJSON(t, s, "PATCH", "/_emulator/event-monitoring", `{"types":["Nope"]}`, 400, nil)
	if b := admin(t, s, "GET", "/_emulator/event-log-files", "").body; !strings.Contains(b, big.ID) {
		t.Error("list misses a file")
	}
}

func TestBlobDownloadFaults(t *testing.T) {
	s, _ := elfServer(t, emulator.EventMonitoringSpec{})
	tok := s.Login(t, emulator.UserIntegration).AccessToken
	var f emulator.EventLogFileInfo
	adminJSON(t, s, "POST", "/_emulator/event-log-files", `{"event_type":"API","rows":2000}`, 201, &f)
	lf := "/services/data/v62.0/sobjects/EventLogFile/" + f.ID + "/LogFile"
	get := func(tok string) (int, int, error) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+lf, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept-Encoding", "identity")
		resp, err := s.Client().Do(req)
		if err != nil {
			return 0, 0, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, len(b), err
	}

	adminJSON(t, s, "POST", "/_emulator/event-log-files/faults", `{"kind":"reset","after_bytes":5000}`, 201, nil)
	if st, n, err := get(tok); err == nil || n != 5000 || st != 200 {
		t.Errorf("reset: %d, %d bytes, %v", st, n, err)
	}
	if st, n, err := get(tok); err != nil || int64(n) != f.Length || st != 200 {
		t.Errorf("after the fault: %d, %d bytes, %v", st, n, err)
	}
	adminJSON(t, s, "POST", "/_emulator/event-log-files/faults", `{"kind":"error","status":503}`, 201, nil)
	if st, _, _ := get(tok); st != 503 {
		t.Errorf("error fault: %d", st)
	}
	adminJSON(t, s, "POST", "/_emulator/event-log-files/faults", `{"kind":"unauthorized","after_bytes":100,"file_id":"`+f.ID+`"}`, 201, nil)
	if _, n, err := get(tok); err == nil || n != 100 {
		t.Errorf("unauthorized: %d bytes, %v", n, err)
	}
	if st, _, _ := get(tok); st != 401 {
		t.Errorf("after the session died: %d", st)
	}
	tok = s.Login(t, emulator.UserIntegration).AccessToken
	var faults []emulator.BlobFaultSpec
	adminJSON(t, s, "GET", "/_emulator/event-log-files/faults", "", 200, &faults)
	if len(faults) != 3 || faults[0].Fired != 1 {
		t.Errorf("faults %+v", faults)
	}
	adminJSON(t, s, "POST", "/_emulator/event-log-files/faults", `{"kind":"sideways"}`, 400, nil)
	adminJSON(t, s, "DELETE", "/_emulator/event-log-files/faults", "", 204, nil)
	if st, n, err := get(tok); err != nil || int64(n) != f.Length || st != 200 {
		t.Errorf("no faults: %d, %d bytes, %v", st, n, err)
	}
}

// Advancing the clock in small steps makes exactly the files an org started
// at the end time has: the incremental schedule misses and repeats nothing.
func TestIncrementalScheduleMatchesBackfill(t *testing.T) {
	spec := emulator.EventMonitoringSpec{RowsPerHour: 3, SampleDays: 1, Types: []string{"Login", "URI", "ApiTotalUsage"}}
	a, _ := elfServer(t, spec)
	for i := 0; i < 27; i++ {
		a.Org.Advance(30 * time.Minute)
		_ = a.Org.EventLogFiles()
	}
	b, clk := elfServer(t, spec)
	clk.mu.Lock()
	clk.t = elfStart.Add(27 * 30 * time.Minute)
	clk.mu.Unlock()
	key := func(fs []emulator.EventLogFileInfo) []string {
		var out []string
		for _, f := range fs {
			out = append(out, fmt.Sprintf("%s %s %d %s %s %d", f.EventType, f.Interval, f.Sequence, f.LogDate.Format(time.RFC3339), f.CreatedDate.Format(time.RFC3339), f.Length))
		}
		slices.Sort(out)
		return out
	}
	ka, kb := key(a.Org.EventLogFiles()), key(b.Org.EventLogFiles())
	if len(ka) < 50 || !slices.Equal(ka, kb) {
		t.Fatalf("stepped: %d files, started late: %d files\n%v\n%v", len(ka), len(kb), ka, kb)
	}

	// The simulated users' logins too, in LoginHistory.
	logins := func(s *sftest.Server) []string {
		t.Helper()
		tok := s.Login(t, emulator.UserIntegration).AccessToken
		r := do(t, s, "GET", "/services/data/v62.0/query?q="+url.QueryEscape("SELECT LoginTime, UserId, Status, SourceIp, LoginType FROM LoginHistory ORDER BY LoginTime, UserId"), tok, nil)
		var res struct {
			Records []struct{ LoginTime, UserId, Status, SourceIp, LoginType string }
		}
		if err := json.Unmarshal([]byte(r.body), &res); err != nil || r.status != 200 {
			t.Fatalf("LoginHistory: %d %s", r.status, r.body)
		}
		var out []string
		for _, x := range res.Records {
			out = append(out, x.LoginTime+" "+x.UserId+" "+x.Status+" "+x.SourceIp+" "+x.LoginType)
		}
		return out
	}
	la, lb := logins(a), logins(b)
	if len(la) < 24 || !slices.Equal(la, lb) {
		t.Fatalf("stepped: %d logins, started late: %d\n%v\n%v", len(la), len(lb), la, lb)
	}
	application := 0
	for _, l := range la {
		if strings.HasSuffix(l, " Application") {
			application++
		}
	}
	if application < 24 {
		t.Errorf("%d background logins", application)
	}
}

// BenchmarkLogFileDownload streams a 50 MB event log file over loopback
// HTTP, plain and gzip-compressed, as a collector would.
func BenchmarkLogFileDownload(b *testing.B) {
	clk := &clock{t: elfStart}
	s := sftest.NewServerWith(b, sftest.Options{Key: sharedKey(), Now: clk.Now})
	info, err := s.Org.AddEventLogFile(emulator.EventLogFileSpec{EventType: "URI", FileBytes: 50 << 20})
	if err != nil {
		b.Fatal(err)
	}
	tok := s.Login(b, emulator.UserIntegration).AccessToken
	for _, enc := range []string{"identity", "gzip"} {
		b.Run(enc, func(b *testing.B) {
			b.SetBytes(info.Length)
			for b.Loop() {
				req, _ := http.NewRequestWithContext(b.Context(), http.MethodGet, s.URL+"/services/data/v62.0/sobjects/EventLogFile/"+info.ID+"/LogFile", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("Accept-Encoding", enc)
				resp, err := s.Client().Do(req)
				if err != nil {
					b.Fatal(err)
				}
				var r io.Reader = resp.Body
				if enc == "gzip" {
					if r, err = gzip.NewReader(resp.Body); err != nil {
						b.Fatal(err)
					}
				}
				n, err := io.Copy(io.Discard, r)
				resp.Body.Close()
				if err != nil || n != info.Length {
					b.Fatalf("%d of %d bytes: %v", n, info.Length, err)
				}
			}
		})
	}
}

// A reset in a gzip download leaves an unfinished gzip stream: the client
// must see an error, never a short but valid file.
func TestBlobResetWithGzip(t *testing.T) {
	s, _ := elfServer(t, emulator.EventMonitoringSpec{})
	tok := s.Login(t, emulator.UserIntegration).AccessToken
	var f emulator.EventLogFileInfo
	adminJSON(t, s, "POST", "/_emulator/event-log-files", `{"event_type":"URI","rows":5000}`, 201, &f)
	adminJSON(t, s, "POST", "/_emulator/event-log-files/faults", `{"kind":"reset","after_bytes":300000}`, 201, nil)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+"/services/data/v62.0/sobjects/EventLogFile/"+f.ID+"/LogFile", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, zr)
	if err == nil || n >= f.Length {
		t.Fatalf("read %d of %d bytes without an error", n, f.Length)
	}
}
