package eventlog_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/eventlog"
	"github.com/sfbridge/sfbridge/rest"
	"github.com/sfbridge/sfbridge/sink"
	"github.com/sfbridge/sfbridge/sink/ndjson"
)

// bigFile adds a Login file of 300 rows (about 150 kB) created now.
func bigFile(e *env) emulator.EventLogFileInfo {
	e.t.Helper()
	f, err := e.s.Org.AddEventLogFile(emulator.EventLogFileSpec{EventType: "Login", Rows: 300})
	if err != nil {
		e.t.Fatal(err)
	}
	if f.Length < 100_000 {
		e.t.Fatalf("big file of %d bytes", f.Length)
	}
	return f
}

func blobPath(id string) string { return "/services/data/*/sobjects/EventLogFile/" + id + "/LogFile" }

func TestCollectSurvivesDownloadFaults(t *testing.T) {
	cases := []struct {
		name  string
		fault func(e *env, big emulator.EventLogFileInfo)
		// runs until the file is complete, and what the first reports
		runs  int
		check func(t *testing.T, first eventlog.Summary, err error)
	}{
		{name: "reset mid-download", runs: 1, fault: func(e *env, big emulator.EventLogFileInfo) {
			addBlobFault(e, emulator.BlobFaultSpec{Kind: "reset", FileID: big.ID, AfterBytes: 60_000, Times: 2})
		}},
		{name: "401 mid-stream", runs: 1, fault: func(e *env, big emulator.EventLogFileInfo) {
			addBlobFault(e, emulator.BlobFaultSpec{Kind: "unauthorized", FileID: big.ID, AfterBytes: 80_000})
		}},
		{name: "503 before any byte", runs: 1, fault: func(e *env, big emulator.EventLogFileInfo) {
			addBlobFault(e, emulator.BlobFaultSpec{Kind: "error", FileID: big.ID, Status: 503, Times: 6})
		}},
		{name: "slow trickle", runs: 1, fault: func(e *env, _ emulator.EventLogFileInfo) {
			small, err := e.s.Org.AddEventLogFile(emulator.EventLogFileSpec{EventType: "Login", Rows: 6})
			if err != nil {
				e.t.Fatal(err)
			}
			addBlobFault(e, emulator.BlobFaultSpec{Kind: "trickle", FileID: small.ID, BytesPerSecond: 2000})
		}},
		{name: "truncated while young", runs: 2, fault: func(e *env, big emulator.EventLogFileInfo) {
			if _, err := e.s.Org.PatchEventLogFile(big.ID, emulator.EventLogFilePatch{TruncateBytes: 70_000, YoungFor: "10m"}); err != nil {
				e.t.Fatal(err)
			}
		}, check: func(t *testing.T, first eventlog.Summary, err error) {
			t.Helper()
			if err != nil || first.Deferred != 1 {
				t.Fatalf("first run: %+v, %v; want the truncated file deferred", first, err)
			}
		}},
		{name: "request limit", runs: 2, fault: func(e *env, big emulator.EventLogFileInfo) {
			addFault(e, emulator.FaultSpec{Path: blobPath(big.ID), Action: "error", Status: 403, ErrorCode: "REQUEST_LIMIT_EXCEEDED", Message: "TotalRequests Limit exceeded.", Count: 1})
		}, check: func(t *testing.T, _ eventlog.Summary, err error) {
			t.Helper()
			var le *eventlog.LimitError
			if !errors.As(err, &le) {
				t.Fatalf("first run: %v; want *LimitError", err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, sampleOrg())
			big := bigFile(e)
			want := reference(e, "Login")
			if tc.name == "slow trickle" {
				// the trickled file is added by the fault: reference after it
				want = nil
			}
			tc.fault(e, big)
			if want == nil {
				want = reference(e, "Login")
			}
			p := ""
			for i := range tc.runs {
				sk, path := e.ndjson("out.ndjson")
				p = path
				sum, err := e.run(e.config("main", sk, "Login"))
				if i == 0 && tc.check != nil {
					tc.check(t, sum, err)
					e.org.Add(11 * time.Minute) // the young file settles
					continue
				}
				if err != nil {
					t.Fatalf("run %d: %v", i+1, err)
				}
			}
			exactlyOnce(t, ids(t, p), want)
			assertFaultsFired(e)
		})
	}
}

// assertFaultsFired fails the test when an injected fault never fired: the
// test would then prove nothing.
func assertFaultsFired(e *env) {
	e.t.Helper()
	for _, f := range e.s.Org.Faults() {
		if f.Fired == 0 {
			e.t.Errorf("fault %+v never fired", f.FaultSpec)
		}
	}
	req, err := http.NewRequestWithContext(e.t.Context(), http.MethodGet, e.s.URL+"/_emulator/event-log-files/faults", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("X-Emulator-Admin-Token", e.s.AdminToken)
	resp, err := e.s.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var blobFaults []emulator.BlobFaultSpec
	if err := json.NewDecoder(resp.Body).Decode(&blobFaults); err != nil {
		e.t.Fatal(err)
	}
	for _, f := range blobFaults {
		if f.Fired == 0 {
			e.t.Errorf("blob fault %+v never fired", f)
		}
	}
}

func addBlobFault(e *env, f emulator.BlobFaultSpec) {
	e.t.Helper()
	if _, err := e.s.Org.AddBlobFault(f); err != nil {
		e.t.Fatal(err)
	}
}

func addFault(e *env, f emulator.FaultSpec) {
	e.t.Helper()
	if _, err := e.s.Org.AddFault(f); err != nil {
		e.t.Fatal(err)
	}
}

func TestCollectSkipsAFileThatExpiredAfterListing(t *testing.T) {
	e := newEnv(t, sampleOrg())
	big := bigFile(e)
	reference(e, "Login")
	want := idsExcept(t, filepath.Join(e.dir, "reference.ndjson"), big.ID)
	addFault(e, emulator.FaultSpec{Path: blobPath(big.ID), Action: "error", Status: 404, ErrorCode: "NOT_FOUND", Message: "The requested resource does not exist"})
	sk, p := e.ndjson("out.ndjson")
	sum, err := e.run(e.config("main", sk, "Login"))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Skipped != 1 || sum.PerType["Login"].Skipped != 1 {
		t.Fatalf("summary %+v: want one skipped file", sum)
	}
	exactlyOnce(t, ids(t, p), want)
	if all := ids(t, filepath.Join(e.dir, "reference.ndjson")); len(all) != len(want)+big.Rows {
		t.Fatalf("the reference holds %d events, %d without the expired file of %d rows", len(all), len(want), big.Rows)
	}
	// The cursor went past it: a later run does not try it again.
	sk2, _ := e.ndjson("out.ndjson")
	sum2, err := e.run(e.config("main", sk2, "Login"))
	if err != nil || sum2.Files != 0 || sum2.Skipped != 0 {
		t.Fatalf("second run %+v, %v", sum2, err)
	}
}

// crashSink writes a batch durably, then fails the Write (or the Flush of
// appended batches) number crashAt: the process "dies" between the sink's
// write and the checkpoint.
type crashSink struct {
	*ndjson.Sink
	writes, crashAt int
}

var errCrash = errors.New("crash between write and commit")

func (c *crashSink) Write(ctx context.Context, b []sink.Event) (sink.Ack, error) {
	ack, err := c.Sink.Write(ctx, b)
	c.writes++
	if err == nil && c.writes == c.crashAt {
		return ack, errCrash
	}
	return ack, err
}

func (c *crashSink) Flush(ctx context.Context) (sink.Ack, error) {
	ack, err := c.Sink.Flush(ctx)
	c.writes++
	if err == nil && c.writes == c.crashAt {
		return ack, errCrash
	}
	return ack, err
}

func TestCollectResumesExactlyOnceAfterACrashBetweenWriteAndCommit(t *testing.T) {
	e := newEnv(t, sampleOrg())
	bigFile(e)
	want := reference(e, "Login", "API")
	for crashAt := 1; ; crashAt += 9 {
		sk, p := e.ndjson("out.ndjson")
		cfg := e.config("main", &crashSink{Sink: sk, crashAt: crashAt}, "Login", "API")
		_, err := e.run(cfg)
		if err == nil {
			// the run got to the end before the crash point: all delivered
			exactlyOnce(t, ids(t, p), want)
			if crashAt < 20 {
				t.Fatal("no crash happened: the test proves nothing")
			}
			return
		}
		if !errors.Is(err, errCrash) {
			t.Fatalf("crash at write %d: %v", crashAt, err)
		}
	}
}

func TestCollectObjectsByCursorAndWindows(t *testing.T) {
	e := newEnv(t, sampleOrg())
	objects := []string{"SetupAuditTrail", "LoginHistory", "LoginEvent", "LogoutEvent"}
	since := collectStart.Add(-26 * time.Hour)
	cfg := func(key string) eventlog.CollectorConfig {
		sk, _ := e.ndjson(key + ".ndjson")
		c := e.config(key, sk)
		c.Objects, c.Since, c.Window = objects, since, 5*time.Hour
		return c
	}
	if _, err := e.run(cfg("main")); err != nil {
		t.Fatal(err)
	}
	// New activity: a setup change, logins (each a LoginHistory and a LoginEvent row).
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPatch, e.s.URL+"/_emulator/event-monitoring", strings.NewReader(`{"retention_days":20}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Emulator-Admin-Token", e.s.AdminToken)
	resp, err := e.s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("admin PATCH: %s", resp.Status)
	}
	e.org.Add(time.Minute)
	e.clk.Advance(2 * time.Minute)
	e.s.Login(t, emulator.UserIntegration)
	tok := e.s.Login(t, emulator.UserIntegration).AccessToken
	// A revoked token is a LogoutEvent.
	rv, err := e.s.Client().PostForm(e.s.URL+"/services/oauth2/revoke", url.Values{"token": {tok}})
	if err != nil {
		t.Fatal(err)
	}
	rv.Body.Close()
	if rv.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %s", rv.Status)
	}
	e.org.Add(time.Minute)
	e.clk.Advance(time.Minute)
	if _, err := e.run(cfg("main")); err != nil {
		t.Fatal(err)
	}
	got := ids(t, e.dir+"/main.ndjson")
	// What the org holds, read directly.
	var want []string
	q := func(soql, field string) {
		for rec, err := range e.client.Query.Records(t.Context(), soql, nil) {
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, fmt.Sprint(rec[field]))
		}
	}
	ts := since.Format("2006-01-02T15:04:05Z")
	q("SELECT Id FROM SetupAuditTrail WHERE CreatedDate >= "+ts, "Id")
	q("SELECT Id FROM LoginHistory WHERE LoginTime >= "+ts, "Id")
	end := e.clk.Now().UTC().Format("2006-01-02T15:04:05Z")
	q("SELECT EventIdentifier FROM LoginEvent WHERE EventDate >= "+ts+" AND EventDate <= "+end, "EventIdentifier")
	q("SELECT EventIdentifier FROM LogoutEvent WHERE EventDate >= "+ts+" AND EventDate <= "+end, "EventIdentifier")
	if len(want) < 10 {
		t.Fatalf("only %d records in the org", len(want))
	}
	exactlyOnce(t, got, want)
	var audit int
	for _, id := range got {
		if strings.HasPrefix(id, "0Ym") {
			audit++
		}
	}
	if audit == 0 {
		t.Fatal("no SetupAuditTrail event")
	}
	logouts := 0
	for _, err := range e.client.Query.Records(t.Context(), "SELECT EventIdentifier FROM LogoutEvent WHERE EventDate >= "+ts, nil) {
		if err != nil {
			t.Fatal(err)
		}
		logouts++
	}
	if logouts == 0 {
		t.Fatal("no LogoutEvent: the revocation did not make one")
	}
}

func TestCollectorConfigErrors(t *testing.T) {
	c := &rest.Client{}
	for _, cfg := range []eventlog.CollectorConfig{
		{},
		{Client: c},
		{Client: c, Store: nil},
	} {
		var ce *eventlog.CollectorConfigError
		if _, err := eventlog.NewCollector(cfg); !errors.As(err, &ce) {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
}
