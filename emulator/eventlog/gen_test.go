package eventlog

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

var testUsers = []User{
	{ID: "005xx000001Sv6hAAC", Username: "integration@sfbridge.test"},
	{ID: "005xx000001Sv6iAAC", Username: "agent@sfbridge.test"},
}

func testFile(typ string, version int, rows ...int) *File {
	f := &File{EventType: typ, Version: version, OrgID: "00Dxx0000001gEREAY", Users: testUsers, Seed: 42}
	hour := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	for i, n := range rows {
		f.Parts = append(f.Parts, Part{Hour: hour.Add(time.Duration(i) * time.Hour), Seq: 1, Rows: n})
	}
	return f
}

func generate(tb testing.TB, c *Catalog, f *File) []byte {
	tb.Helper()
	var buf bytes.Buffer
	n, err := c.Write(context.Background(), &buf, f)
	if err != nil {
		tb.Fatal(err)
	}
	if n != int64(buf.Len()) {
		tb.Fatalf("Write returned %d, wrote %d bytes", n, buf.Len())
	}
	return buf.Bytes()
}

// checkCSV parses b strictly and checks the quoting, the header, the
// common columns and the uniqueness of REQUEST_ID; it returns the records.
func checkCSV(tb testing.TB, c *Catalog, f *File, b []byte) [][]string {
	tb.Helper()
	r := csv.NewReader(bytes.NewReader(b))
	recs, err := r.ReadAll()
	if err != nil {
		tb.Fatalf("encoding/csv: %v", err)
	}
	if len(recs) == 0 {
		tb.Fatal("no header")
	}
	if got, want := strings.Join(recs[0], ","), c.FieldNames(f.EventType, f.Version); got != want {
		tb.Fatalf("header %q, LogFileFieldNames %q", got, want)
	}
	if n := len(strings.Split(c.FieldTypes(f.EventType, f.Version), ",")); n != len(recs[0]) {
		tb.Fatalf("%d field types for %d columns", n, len(recs[0]))
	}
	if bytes.Contains(b, []byte("\r")) {
		tb.Fatal("CR in output; Salesforce ends lines with LF")
	}
	// Every field is quoted: a line (outside quoted newlines) starts with a
	// quote, and every separator is "," between quotes.
	if !bytes.HasPrefix(b, []byte(`"`)) || !bytes.HasSuffix(b, []byte("\"\n")) {
		tb.Fatalf("not quoted at the ends: %q…%q", b[:min(20, len(b))], b[max(0, len(b)-20):])
	}
	col := map[string]int{}
	for i, n := range recs[0] {
		col[n] = i
	}
	ids := map[string]bool{}
	org15 := f.OrgID[:15]
	for i, rec := range recs[1:] {
		if rec[col["EVENT_TYPE"]] != f.EventType {
			tb.Fatalf("row %d EVENT_TYPE %q", i+1, rec[col["EVENT_TYPE"]])
		}
		if rec[col["ORGANIZATION_ID"]] != org15 {
			tb.Fatalf("row %d ORGANIZATION_ID %q", i+1, rec[col["ORGANIZATION_ID"]])
		}
		ts := rec[col["TIMESTAMP"]]
		tm, err := time.Parse("20060102150405.000", ts)
		if err != nil {
			tb.Fatalf("row %d TIMESTAMP %q: %v", i+1, ts, err)
		}
		if d := rec[col["TIMESTAMP_DERIVED"]]; d != "" && d != tm.Format("2006-01-02T15:04:05.000Z") {
			tb.Fatalf("row %d TIMESTAMP_DERIVED %q vs TIMESTAMP %q", i+1, d, ts)
		}
		if u := rec[col["USER_ID"]]; len(u) != 15 {
			tb.Fatalf("row %d USER_ID %q is not 15 characters", i+1, u)
		}
		rid := rec[col["REQUEST_ID"]]
		if ids[rid] {
			tb.Fatalf("row %d REQUEST_ID %q repeated", i+1, rid)
		}
		ids[rid] = true
	}
	return recs
}

func TestEveryTypeWellFormed(t *testing.T) {
	c := NewCatalog()
	if n := len(c.Names()); n < 17 {
		t.Fatalf("%d event types, want at least 17", n)
	}
	if got := strings.Join(c.FreeNames(), ","); got != "Login,Logout,ApexUnexpectedException,CspViolation,CorsViolation,HostnameRedirects,ApiTotalUsage" {
		t.Fatalf("free tier %s", got)
	}
	for _, typ := range c.Names() {
		for v := 0; v < c.Versions(typ); v++ {
			f := testFile(typ, v, 500, 300)
			recs := checkCSV(t, c, f, generate(t, c, f))
			if len(recs) != 801 {
				t.Fatalf("%s: %d lines, want header + 800", typ, len(recs))
			}
		}
	}
}

func TestDeterministicAndSized(t *testing.T) {
	c := NewCatalog()
	f := testFile("API", 0, 1000)
	a, b := generate(t, c, f), generate(t, c, f)
	if !bytes.Equal(a, b) {
		t.Fatal("two runs differ")
	}
	n, err := c.Size(f)
	if err != nil || n != int64(len(a)) {
		t.Fatalf("Size = %d, %v; generated %d", n, err, len(a))
	}
	g := testFile("API", 0, 1000)
	g.Parts[0].Seq = 2
	if bytes.Equal(a, generate(t, c, g)) {
		t.Fatal("another Sequence gives the same rows")
	}
}

func TestValuesThatNeedQuoting(t *testing.T) {
	c := NewCatalog()
	f := testFile("API", 0, 3000)
	recs := checkCSV(t, c, f, generate(t, c, f))
	var comma, quote, newline, sfip, empty bool
	for _, rec := range recs[1:] {
		for _, v := range rec {
			comma = comma || strings.Contains(v, ",")
			quote = quote || strings.Contains(v, `"`)
			newline = newline || strings.Contains(v, "\n")
			sfip = sfip || v == "Salesforce.com IP"
		}
		empty = empty || rec[len(rec)-3] == ""
	}
	if !comma || !quote || !newline || !sfip {
		t.Fatalf("comma %v quote %v newline %v Salesforce.com IP %v", comma, quote, newline, sfip)
	}
	if !empty {
		t.Fatal("no row with an empty TIMESTAMP_DERIVED")
	}
}

func TestSchemaDrift(t *testing.T) {
	c := NewCatalog()
	if c.Versions("Login") != 2 {
		t.Fatal("Login has no second schema version")
	}
	if c.FieldNames("Login", 0) == c.FieldNames("Login", 1) {
		t.Fatal("versions have the same columns")
	}
	if !strings.HasSuffix(c.FieldNames("Login", 1), ",AUTHENTICATION_CONTEXT_CLASS_REFERENCE") {
		t.Fatal(c.FieldNames("Login", 1))
	}
}

func TestRecordedEventsMerged(t *testing.T) {
	c := NewCatalog()
	f := testFile("Login", 0, 10)
	hour := f.Parts[0].Hour
	f.Parts[0].Events = []Event{
		{Time: hour.Add(30 * time.Minute), User: &testUsers[1], Values: map[string]string{"REQUEST_ID": "TIDrecorded1", "LOGIN_STATUS": "LOGIN_ERROR_INVALID_USERNAME", "SOURCE_IP": "127.0.0.1"}},
		{Time: hour.Add(59 * time.Minute), User: &testUsers[0], Values: map[string]string{"REQUEST_ID": "TIDrecorded2", "LOGIN_STATUS": "LOGIN_NO_ERROR"}},
	}
	recs := checkCSV(t, c, f, generate(t, c, f))
	if len(recs) != 13 {
		t.Fatalf("%d lines", len(recs))
	}
	var prev string
	found := 0
	for _, rec := range recs[1:] {
		if rec[1] < prev {
			t.Fatalf("rows out of time order: %s after %s", rec[1], prev)
		}
		prev = rec[1]
		if strings.HasPrefix(rec[2], "TIDrecorded") {
			found++
			if rec[2] == "TIDrecorded1" && (rec[len(rec)-2] != "LOGIN_ERROR_INVALID_USERNAME" || rec[4] != "005xx000001Sv6i") {
				t.Fatalf("recorded row %q", rec)
			}
		}
	}
	if found != 2 {
		t.Fatalf("%d recorded rows", found)
	}
}

type failAfter struct{ n int }

func (w *failAfter) Write(p []byte) (int, error) {
	if w.n <= 0 {
		return 0, io.ErrClosedPipe
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriteStopsOnErrorAndCancel(t *testing.T) {
	c := NewCatalog()
	f := testFile("URI", 0, 20000)
	if _, err := c.Write(context.Background(), &failAfter{n: 1}, f); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("err %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Write(ctx, io.Discard, f); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if _, err := c.Write(context.Background(), io.Discard, &File{EventType: "Nope"}); !errors.Is(err, ErrUnknownType) {
		t.Fatalf("err %v", err)
	}
}

// FuzzGenerate checks that whatever the seed, type, users and recorded
// values, encoding/csv reads the output with the header's field count.
func FuzzGenerate(f *testing.F) {
	f.Add(uint64(1), uint8(0), uint16(50), "LOGIN_NO_ERROR", "bob@x.test")
	f.Add(uint64(7), uint8(3), uint16(3), "a \"quoted\", value\nwith newline", "\"")
	f.Add(uint64(99), uint8(14), uint16(0), "", "")
	c := NewCatalog()
	names := c.Names()
	f.Fuzz(func(t *testing.T, seed uint64, typ uint8, rows uint16, value, username string) {
		name := names[int(typ)%len(names)]
		u := User{ID: "005xx000001Sv6hAAC", Username: username}
		file := &File{EventType: name, Version: int(seed % 2), OrgID: "00Dxx0000001gEREAY", Users: []User{u, testUsers[1]}, Seed: seed}
		hour := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
		file.Parts = []Part{{Hour: hour, Seq: 1, Rows: int(rows % 300), Events: []Event{
			{Time: hour.Add(time.Minute), User: &u, Values: map[string]string{"REQUEST_ID": "TIDfuzz", c.columnName(name, int(seed%7)): value}},
		}}}
		var buf bytes.Buffer
		if _, err := c.Write(context.Background(), &buf, file); err != nil {
			t.Fatal(err)
		}
		r := csv.NewReader(&buf)
		recs, err := r.ReadAll()
		if err != nil {
			t.Fatalf("encoding/csv: %v", err)
		}
		if len(recs) != int(rows%300)+2 {
			t.Fatalf("%d records for %d rows + 1 event + header", len(recs), rows%300)
		}
		// encoding/csv reads a quoted CRLF as LF, so the value comes back
		// with its CRLFs as LFs.
		want := strings.ReplaceAll(value, "\r\n", "\n")
		found := false
		for _, rec := range recs[1:] {
			if rec[2] == "TIDfuzz" || strings.Contains(strings.Join(rec, "\x00"), want) {
				found = true
			}
		}
		if !found {
			t.Fatal("recorded event lost")
		}
	})
}

func BenchmarkGenerate(b *testing.B) {
	c := NewCatalog()
	for _, typ := range []string{"Login", "API", "URI", "AuraRequest"} {
		b.Run(typ, func(b *testing.B) {
			f := testFile(typ, 0, 200000)
			n, err := c.Size(f)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(n)
			b.ReportAllocs()
			cpu0 := processCPU()
			runs := 0
			for b.Loop() {
				if _, err := c.Write(context.Background(), io.Discard, f); err != nil {
					b.Fatal(err)
				}
				runs++
			}
			if cpu := processCPU() - cpu0; cpu > 0 {
				// With -cpu 1 this is the generator's rate per CPU core.
				b.ReportMetric(float64(n)*float64(runs)/1e6/cpu.Seconds(), "MB/cpu-s")
			}
		})
	}
}

// columnName returns the i-th column (modulo) of a type's first schema.
func (c *Catalog) columnName(typ string, i int) string {
	cols := c.byName[strings.ToLower(typ)].cols
	return cols[i%len(cols)].name
}

func TestPartSizesAddUp(t *testing.T) {
	c := NewCatalog()
	f := testFile("RestApi", 1, 40, 0, 70)
	h, _ := c.Header("RestApi", 1)
	total := int64(len(h))
	for i := range f.Parts {
		n, err := c.PartSize(f, i)
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	if got := int64(len(generate(t, c, f))); got != total {
		t.Fatalf("file %d bytes, header + parts %d", got, total)
	}
}

func TestSchedule(t *testing.T) {
	s := Schedule{Seed: 5, RowsPerHour: 100}
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for h := 0; h < 48; h++ {
		hour := day.Add(time.Duration(h) * time.Hour)
		c := s.HourlyCreated(hour)
		if d := c.Sub(hour.Add(time.Hour)); d < 3*time.Hour || d >= 6*time.Hour || c.Nanosecond() != 0 {
			t.Fatalf("hour %s created %s", hour, c)
		}
		if late, ok := s.Late("API", hour); ok && (late.Before(c) || late.Sub(hour) > 72*time.Hour) {
			t.Fatalf("late file for %s at %s", hour, late)
		}
		if n := s.Rows("API", hour, 1); n < 25 || n > 175 {
			t.Fatalf("%d rows", n)
		}
	}
	dc := s.DailyCreated(day)
	if dc.Sub(day) < 27*time.Hour || dc.Sub(day) > 27*time.Hour+20*time.Minute {
		t.Fatalf("daily created %s", dc)
	}
	lates := 0
	for h := 0; h < 24*30; h++ {
		if _, ok := s.Late("Login", day.Add(time.Duration(h)*time.Hour)); ok {
			lates++
		}
	}
	if lates < 30 || lates > 90 {
		t.Fatalf("%d late files in 720 hours", lates)
	}
	if (Schedule{RowsPerHour: 0}).Rows("API", day, 1) != 0 {
		t.Fatal("rows without background activity")
	}
}

// With Prompt, every hour gets exactly one CreatedDate: the usual one when
// it came before PromptFrom, otherwise Prompt after the hour ends, and the
// hours that ended before PromptFrom without a file all at PromptFrom +
// Prompt.
func TestPromptSchedule(t *testing.T) {
	from := time.Date(2026, 12, 2, 9, 40, 10, 500, time.UTC)
	usual := Schedule{Seed: 5}
	s := Schedule{Seed: 5, Prompt: 30 * time.Second, PromptFrom: from}
	caughtUp := 0
	for h := -48; h < 24; h++ {
		hour := from.Truncate(time.Hour).Add(time.Duration(h) * time.Hour)
		u, c := usual.HourlyCreated(hour), s.HourlyCreated(hour)
		switch {
		case !u.After(from):
			if !c.Equal(u) {
				t.Fatalf("hour %s: made before the switch at %s, now said to be %s", hour, u, c)
			}
		case hour.Add(time.Hour).Before(from):
			caughtUp++
			if want := from.Add(30 * time.Second).Truncate(time.Second); !c.Equal(want) {
				t.Fatalf("hour %s: created %s, want %s", hour, c, want)
			}
		default:
			if want := hour.Add(time.Hour + 30*time.Second); !c.Equal(want) {
				t.Fatalf("hour %s: created %s, want %s", hour, c, want)
			}
		}
	}
	if caughtUp == 0 {
		t.Fatal("no hour was caught up at the switch")
	}
	if c := (Schedule{Seed: 5, Prompt: time.Millisecond, PromptFrom: from}).HourlyCreated(from.Truncate(time.Hour)); !c.Equal(usual.HourlyCreated(from.Truncate(time.Hour))) {
		t.Fatalf("a prompt under a second was used: %s", c)
	}
}
