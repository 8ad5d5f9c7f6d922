package rest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/internal/backoff"
	"github.com/sfbridge/sfbridge/internal/clock"
)

const caseID = "500RO0000000001AAA"

func TestSObjectsCRUD(t *testing.T) {
	f := newFakeOrg(t, 0)
	var created map[string]any
	f.handlers["POST /services/data/v66.0/sobjects/Case"] = func(w http.ResponseWriter, r *http.Request) {
		json.NewDecoder(r.Body).Decode(&created)
		writeJSON(w, 201, `{"id":"`+caseID+`","success":true,"errors":[]}`)
	}
	f.handlers["GET /services/data/v66.0/sobjects/Case/"+caseID] = func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("fields") != "Subject,Status" {
			writeJSON(w, 400, `[{"errorCode":"INVALID_FIELD","message":"bad fields"}]`)
			return
		}
		writeJSON(w, 200, `{"attributes":{"type":"Case","url":"/services/data/v66.0/sobjects/Case/`+caseID+`"},"Id":"`+caseID+`","Subject":"Printer","Status":"New"}`)
	}
	var patched string
	f.handlers["PATCH /services/data/v66.0/sobjects/Case/"+caseID] = func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		patched = string(b)
		w.WriteHeader(http.StatusNoContent)
	}
	f.handlers["DELETE /services/data/v66.0/sobjects/Case/"+caseID] = func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }
	f.handlers["PATCH /services/data/v66.0/sobjects/Contact/Ext__c/a b"] = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 201, `{"id":"003RO0000000001AAA","success":true,"errors":[],"created":true}`)
	}
	f.handlers["PATCH /services/data/v66.0/sobjects/Contact/Ext__c/k2"] = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"id":"003RO0000000002AAA","success":true,"errors":[],"created":false}`)
	}
	f.handlers["GET /services/data/v66.0/sobjects/Case/describe"] = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"name":"Case","label":"Case","keyPrefix":"500","createable":true,"queryable":true,"fields":[{"name":"Id","type":"id","label":"Case ID"},{"name":"Status","type":"picklist","label":"Status","picklistValues":[{"value":"New","label":"New","active":true,"defaultValue":true}]}],"childRelationships":[{"childSObject":"CaseComment","field":"ParentId","relationshipName":"CaseComments"}],"urls":{"sobject":"/x"}}`)
	}
	c, _ := f.client(t)
	ctx := t.Context()

	res, err := c.SObjects.Create(ctx, "Case", map[string]any{"Subject": "Printer", "Origin": "Web"})
	if err != nil || res.ID != caseID {
		t.Fatalf("Create = %+v, %v", res, err)
	}
	if created["Subject"] != "Printer" || created["Origin"] != "Web" {
		t.Errorf("create body %v", created)
	}
	rec, err := c.SObjects.Get(ctx, "Case", caseID, "Subject", "Status")
	if err != nil || rec["Subject"] != "Printer" || rec.Type() != "Case" {
		t.Fatalf("Get = %v, %v", rec, err)
	}
	if err := c.SObjects.Update(ctx, "Case", caseID, map[string]any{"Status": "Working"}); err != nil {
		t.Fatal(err)
	}
	if patched != `{"Status":"Working"}` {
		t.Errorf("update body %s", patched)
	}
	up, err := c.SObjects.Upsert(ctx, "Contact", "Ext__c", "a b", map[string]any{"LastName": "Doe"})
	if err != nil || !*up.Created || up.ID != "003RO0000000001AAA" {
		t.Fatalf("Upsert insert = %+v, %v", up, err)
	}
	up, err = c.SObjects.Upsert(ctx, "Contact", "Ext__c", "k2", map[string]any{"LastName": "Doe"})
	if err != nil || *up.Created {
		t.Fatalf("Upsert update = %+v, %v", up, err)
	}
	if err := c.SObjects.Delete(ctx, "Case", caseID); err != nil {
		t.Fatal(err)
	}
	d, err := c.SObjects.Describe(ctx, "Case")
	if err != nil || d.KeyPrefix != "500" || len(d.Fields) != 2 || d.Fields[1].PicklistValues[0].Value != "New" || d.ChildRelationships[0].RelationshipName != "CaseComments" {
		t.Fatalf("Describe = %+v, %v", d, err)
	}
	if !strings.Contains(string(d.Raw), `"urls"`) {
		t.Error("Describe.Raw lost fields the struct does not model")
	}

	// A record that does not exist.
	_, err = c.SObjects.Get(ctx, "Case", "500RO0000000009AAA")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get missing: %v", err)
	}
	// Inputs that would change the URL are refused before any request.
	for _, bad := range []func() error{
		func() error { _, err := c.SObjects.Get(ctx, "Case/../../x", caseID); return err },
		func() error { _, err := c.SObjects.Get(ctx, "Case", "500?q=1"); return err },
		func() error { return c.SObjects.Delete(ctx, "Case", "") },
	} {
		if err := bad(); err == nil {
			t.Error("bad name or id accepted")
		}
	}
}

func TestCreateRetriedOnlyWhenNeverSent(t *testing.T) {
	t.Run("503 is not retried", func(t *testing.T) {
		f := newFakeOrg(t, 0)
		f.faults = func(_ *fakeOrg, r *http.Request, n int) fault {
			return fault{status: 503, body: `[{"message":"busy","errorCode":"SERVER_UNAVAILABLE"}]`}
		}
		c, _ := f.client(t)
		_, err := c.SObjects.Create(t.Context(), "Case", map[string]any{"Subject": "x"})
		var ae *APIError
		if !errors.As(err, &ae) || ae.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("err = %v", err)
		}
		if n := f.callsTo("POST /services/data/v66.0/sobjects/Case"); n != 1 {
			t.Fatalf("create sent %d times; a create that reached Salesforce must not be repeated", n)
		}
	})
	t.Run("reset after the request was sent is not retried", func(t *testing.T) {
		f := newFakeOrg(t, 0)
		f.faults = func(_ *fakeOrg, r *http.Request, n int) fault {
			io.Copy(io.Discard, r.Body) // the whole request arrived
			return fault{reset: true}
		}
		c, _ := f.client(t)
		_, err := c.SObjects.Create(t.Context(), "Case", map[string]any{"Subject": "x"})
		var te *TransportError
		if !errors.As(err, &te) || !te.SentRequest {
			t.Fatalf("err = %v (%T)", err, err)
		}
		if n := f.callsTo("POST /services/data/v66.0/sobjects/Case"); n != 1 {
			t.Fatalf("create sent %d times", n)
		}
	})
	t.Run("dial failure is retried", func(t *testing.T) {
		f := newFakeOrg(t, 0)
		f.handlers["POST /services/data/v66.0/sobjects/Case"] = func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 201, `{"id":"`+caseID+`","success":true,"errors":[]}`)
		}
		var fails atomic.Int32
		base := http.DefaultTransport.(*http.Transport).Clone()
		base.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if fails.Add(1) <= 2 {
				return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("connection refused")}
			}
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}
		c, _ := f.client(t, WithTransport(base), WithAPIVersion("66.0"))
		res, err := c.SObjects.Create(t.Context(), "Case", map[string]any{"Subject": "x"})
		if err != nil || res.ID != caseID {
			t.Fatalf("Create = %v, %v", res, err)
		}
		if n := f.callsTo("POST /services/data/v66.0/sobjects/Case"); n != 1 {
			t.Fatalf("create reached the server %d times, want 1", n)
		}
	})
	t.Run("UNABLE_TO_LOCK_ROW is retried for an update, not for a create", func(t *testing.T) {
		f := newFakeOrg(t, 0)
		f.handlers["POST /services/data/v66.0/sobjects/Case"] = func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 201, `{"id":"`+caseID+`","success":true,"errors":[]}`)
		}
		f.handlers["PATCH /services/data/v66.0/sobjects/Case/"+caseID] = func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		}
		f.faults = func(_ *fakeOrg, r *http.Request, n int) fault {
			if n == 1 { // the first POST and the first PATCH
				return fault{status: 400, body: `[{"message":"unable to obtain exclusive access to this record","errorCode":"UNABLE_TO_LOCK_ROW"}]`}
			}
			return fault{}
		}
		c, _ := f.client(t)
		_, err := c.SObjects.Create(t.Context(), "Case", map[string]any{"Subject": "x"})
		if !errors.Is(err, ErrUnableToLockRow) || !strings.Contains(err.Error(), "not repeated automatically") {
			t.Fatalf("create: %v", err)
		}
		if n := f.callsTo("POST /services/data/v66.0/sobjects/Case"); n != 1 {
			t.Fatalf("create sent %d times", n)
		}
		if err := c.SObjects.Update(t.Context(), "Case", caseID, map[string]any{"Subject": "y"}); err != nil {
			t.Fatalf("update: %v", err)
		}
		if n := f.callsTo("PATCH /services/data/v66.0/sobjects/Case/" + caseID); n != 2 {
			t.Fatalf("update sent %d times, want 2", n)
		}
	})
}

func TestBackoffIsJitteredAndListensToContext(t *testing.T) {
	p := RetryPolicy{MaxAttempts: 100, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, Jitter: func() float64 { return 0.5 }}.withDefaults()
	b := p.backoff().Start(nil)
	want := map[int]time.Duration{1: 75 * time.Millisecond, 2: 150 * time.Millisecond, 3: 300 * time.Millisecond, 5: 750 * time.Millisecond, 9: 750 * time.Millisecond}
	for attempt := 1; attempt <= 9; attempt++ {
		got, ok := b.Next(backoff.Verdict{Retry: true})
		if w, check := want[attempt]; check && (got != w || !ok) {
			t.Errorf("delay after attempt %d = %v, want %v", attempt, got, w)
		}
	}
	f := newFakeOrg(t, 10)
	f.faults = func(*fakeOrg, *http.Request, int) fault { return fault{status: 503, body: `[]`} }
	var slept []time.Duration
	var mints atomic.Int64
	ctx, cancel := context.WithCancel(t.Context())
	c, err := New(f.source(&mints), WithRetry(RetryPolicy{MaxAttempts: 5, Sleep: func(ctx context.Context, d time.Duration) error {
		slept = append(slept, d)
		if len(slept) == 2 {
			cancel()
		}
		return ctx.Err()
	}}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Limits.Get(ctx)
	if !errors.Is(err, context.Canceled) || len(slept) != 2 {
		t.Fatalf("err = %v after %d sleeps", err, len(slept))
	}
	if slept[0] < 125*time.Millisecond || slept[0] > 250*time.Millisecond || slept[1] < 250*time.Millisecond {
		t.Errorf("delays %v, want 125–250ms then 250–500ms", slept)
	}
}

// An error from below the HTTP client that is not a network failure (a
// refused login while renewing the session, a certificate the client does
// not trust) is final: retrying it only repeats the failure.
func TestNonNetworkTransportFailureIsNotRetried(t *testing.T) {
	f := newFakeOrg(t, 0)
	var calls atomic.Int32
	refused := errors.New("login refused: invalid_grant")
	rt := roundTripFunc(func(*http.Request) (*http.Response, error) {
		calls.Add(1)
		return nil, refused
	})
	c, _ := f.client(t, WithTransport(rt), WithAPIVersion("66.0"))
	_, err := c.SObjects.Get(t.Context(), "Case", caseID)
	if !errors.Is(err, refused) {
		t.Fatalf("err = %v", err)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("the request was tried %d times, want 1", n)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A Retry-After from Salesforce replaces the computed delay, given in
// seconds or as an HTTP-date, and is capped at MaxDelay.
func TestRetryAfterIsHonoured(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"3", 3 * time.Second},
		{now.Add(5 * time.Second).Format(http.TimeFormat), 5 * time.Second},
		{"3600", 8 * time.Second},
	} {
		f := newFakeOrg(t, 0)
		calls := 0
		f.handlers["GET /services/data/v66.0/limits"] = func(w http.ResponseWriter, r *http.Request) {
			calls++
			if calls == 1 {
				w.Header().Set("Retry-After", tc.header)
				writeJSON(w, 503, `[{"message":"maintenance","errorCode":"SERVER_UNAVAILABLE"}]`)
				return
			}
			writeJSON(w, 200, `{"DailyApiRequests":{"Max":15000,"Remaining":14998},"DataStorageMB":{"Max":5,"Remaining":5}}`)
		}
		var slept []time.Duration
		var mints atomic.Int64
		c, _ := New(f.source(&mints), WithClock(clock.NewFake(now)), WithRetry(RetryPolicy{Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }}))
		lim, err := c.Limits.Get(t.Context())
		if err != nil || lim["DailyApiRequests"].Remaining != 14998 {
			t.Fatalf("limits %v, %v", lim, err)
		}
		if len(slept) != 1 || slept[0] != tc.want {
			t.Errorf("Retry-After %q: waited %v, want [%v]", tc.header, slept, tc.want)
		}
	}
}

func TestVersionPinnedAndIdentity(t *testing.T) {
	f := newFakeOrg(t, 0)
	f.handlers["GET /id/00D000000000001AAA/005000000000001AAA"] = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"id":"x","user_id":"005000000000001AAA","organization_id":"00D000000000001AAA","username":"int@example.com","active":true}`)
	}
	f.handlers["GET /services/data/v63.0/limits"] = func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{}`) }
	c, _ := f.client(t, WithAPIVersion("v63"))
	if _, err := c.Limits.Get(t.Context()); err != nil {
		t.Fatal(err)
	}
	if f.callsTo("GET /services/data/ ") != 0 || f.callsTo("GET /services/data/v66") != 0 {
		t.Error("a pinned version still negotiated")
	}
	id, err := c.Identity.Get(t.Context())
	if err != nil || id.Username != "int@example.com" || id.OrganizationID != "00D000000000001AAA" {
		t.Fatalf("Identity = %+v, %v", id, err)
	}
	if _, err := New(nil); err == nil {
		t.Error("New(nil) accepted")
	}
	for _, bad := range []Option{WithAPIVersion("sixty"), WithBatchSize(10), WithUserAgent("a\nb"), WithTimeout(-1)} {
		if _, err := New(f.source(new(atomic.Int64)), bad); err == nil {
			t.Error("bad option accepted")
		}
	}
}

func TestCompositeAndCollections(t *testing.T) {
	f := newFakeOrg(t, 0)
	var got struct {
		AllOrNone bool `json:"allOrNone"`
		Requests  []struct {
			URL string `json:"url"`
		} `json:"compositeRequest"`
	}
	f.handlers["POST /services/data/v66.0/composite"] = func(w http.ResponseWriter, r *http.Request) {
		json.NewDecoder(r.Body).Decode(&got)
		writeJSON(w, 200, `{"compositeResponse":[{"body":{"id":"`+caseID+`","success":true,"errors":[]},"httpHeaders":{"Location":"/x"},"httpStatusCode":201,"referenceId":"c"},{"body":[{"errorCode":"PROCESSING_HALTED","message":"halted"}],"httpHeaders":{},"httpStatusCode":400,"referenceId":"cc"}]}`)
	}
	f.handlers["POST /services/data/v66.0/composite/sobjects"] = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `[{"id":"`+caseID+`","success":true,"errors":[]},{"success":false,"errors":[{"statusCode":"REQUIRED_FIELD_MISSING","message":"Required fields are missing: [LastName]","fields":["LastName"]}]}]`)
	}
	f.handlers["DELETE /services/data/v66.0/composite/sobjects"] = func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("ids") != caseID+","+caseID || r.URL.Query().Get("allOrNone") != "false" {
			t.Errorf("delete query %s", r.URL.RawQuery)
		}
		writeJSON(w, 200, `[{"id":"`+caseID+`","success":true,"errors":[]}]`)
	}
	c, _ := f.client(t)
	subs, err := c.Composite.Do(t.Context(), CompositeRequest{AllOrNone: true, Requests: []Subrequest{
		{Method: "POST", URL: "sobjects/Case", ReferenceID: "c", Body: map[string]any{"Subject": "x"}},
		{Method: "POST", URL: "sobjects/CaseComment", ReferenceID: "cc", Body: map[string]any{"ParentId": "@{c.id}"}},
	}})
	if err != nil || len(subs) != 2 || subs[0].HTTPStatusCode != 201 || subs[1].Errors()[0].Code() != "PROCESSING_HALTED" {
		t.Fatalf("composite = %+v, %v", subs, err)
	}
	if !got.AllOrNone || got.Requests[0].URL != "/services/data/v66.0/sobjects/Case" {
		t.Errorf("composite request %+v", got)
	}
	res, err := c.Composite.Create(t.Context(), false, []Record{
		{"attributes": map[string]any{"type": "Case"}, "Subject": "a"},
		{"attributes": map[string]any{"type": "Contact"}},
	})
	if err != nil || len(res) != 2 || res[0].Err() != nil || !strings.Contains(res[1].Err().Error(), "REQUIRED_FIELD_MISSING") {
		t.Fatalf("collection create = %+v, %v", res, err)
	}
	if _, err := c.Composite.Create(t.Context(), false, []Record{{"Subject": "no type"}}); err == nil {
		t.Error("record without attributes.type accepted")
	}
	if _, err := c.Composite.Delete(t.Context(), false, []string{caseID, caseID}); err != nil {
		t.Fatal(err)
	}
}

func TestUpdatedAndDeleted(t *testing.T) {
	f := newFakeOrg(t, 0)
	f.handlers["GET /services/data/v66.0/sobjects/Case/updated/"] = func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("start") != "2025-06-01T10:00:00Z" {
			t.Errorf("start = %q", r.URL.Query().Get("start"))
		}
		writeJSON(w, 200, `{"ids":["`+caseID+`"],"latestDateCovered":"2025-06-01T10:59:00.000+0000"}`)
	}
	f.handlers["GET /services/data/v66.0/sobjects/Case/deleted/"] = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"deletedRecords":[{"id":"`+caseID+`","deletedDate":"2025-06-01T10:30:00.000+0000"}],"earliestDateAvailable":"2025-05-20T00:00:00.000+0000","latestDateCovered":"2025-06-01T10:59:00.000+0000"}`)
	}
	c, _ := f.client(t)
	start := time.Date(2025, 6, 1, 12, 0, 0, 0, time.FixedZone("CEST", 2*3600))
	up, err := c.SObjects.Updated(t.Context(), "Case", start, start.Add(time.Hour))
	if err != nil || up.IDs[0] != caseID || up.LatestDateCovered.Minute() != 59 {
		t.Fatalf("Updated = %+v, %v", up, err)
	}
	del, err := c.SObjects.Deleted(t.Context(), "Case", start, start.Add(time.Hour))
	if err != nil || del.DeletedRecords[0].DeletedDate.Minute() != 30 {
		t.Fatalf("Deleted = %+v, %v", del, err)
	}
	if _, err := c.SObjects.Updated(t.Context(), "Case", start, start); err == nil {
		t.Error("empty window accepted")
	}
}

func TestAPIErrorShapesAndRedaction(t *testing.T) {
	u, _ := url.Parse("https://user:pw@x.my.salesforce.com/services/oauth2/userinfo?oauth_token=SECRET&q=SELECT+Id")
	e := newAPIError("GET", u, 401, []byte(`[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`), nil)
	if strings.Contains(e.Error(), "SECRET") || strings.Contains(e.Error(), "pw") {
		t.Errorf("error leaks a secret: %s", e)
	}
	if !errors.Is(e, ErrInvalidSession) || errors.Is(e, ErrNotFound) || e.ExitCode() != 3 {
		t.Errorf("Is/ExitCode wrong for %s", e)
	}
	html := newAPIError("GET", u, 502, []byte("<html><body>Bad gateway</body></html>"), nil)
	if !strings.Contains(html.Error(), "Bad gateway") || len(html.Errors) != 0 {
		t.Errorf("non-JSON body: %s", html)
	}
	bare := newAPIError("GET", u, 404, nil, nil)
	if !errors.Is(bare, ErrNotFound) {
		t.Error("a bare 404 is not ErrNotFound")
	}
	obj := newAPIError("GET", u, 400, []byte(`{"errorCode":"INVALID_FIELD","message":"x"}`), nil)
	if !errors.Is(obj, ErrInvalidField) {
		t.Error("single error object not understood")
	}
	gone := newAPIError("GET", u, 410, []byte(`[{"errorCode":"GONE","message":"retired"}]`), nil)
	if !strings.Contains(gone.Error(), "retired") || !strings.Contains(gone.Error(), "newer") {
		t.Errorf("410: %s", gone)
	}
}

func TestDeleteThatBrokeOffAndFindsTheRecordGone(t *testing.T) {
	deletedBody := `[{"message":"entity is deleted","errorCode":"ENTITY_IS_DELETED"}]`
	path := "DELETE /services/data/v66.0/sobjects/Case/" + caseID
	t.Run("after a reset once sent, the delete worked", func(t *testing.T) {
		f := newFakeOrg(t, 0)
		f.faults = func(_ *fakeOrg, r *http.Request, n int) fault {
			if n == 1 {
				return fault{reset: true} // Salesforce deleted it; the answer was lost
			}
			return fault{status: 404, body: deletedBody}
		}
		c, _ := f.client(t)
		if err := c.SObjects.Delete(t.Context(), "Case", caseID); err != nil {
			t.Fatalf("Delete = %v, want success", err)
		}
		if n := f.callsTo(path); n != 2 {
			t.Fatalf("DELETE sent %d times, want 2", n)
		}
	})
	t.Run("after a 503, the delete worked", func(t *testing.T) {
		f := newFakeOrg(t, 0)
		f.faults = func(_ *fakeOrg, r *http.Request, n int) fault {
			if n == 1 {
				return fault{status: 503, body: `[]`}
			}
			return fault{status: 404, body: deletedBody}
		}
		c, _ := f.client(t)
		if err := c.SObjects.Delete(t.Context(), "Case", caseID); err != nil {
			t.Fatalf("Delete = %v, want success", err)
		}
	})
	t.Run("on the first attempt, the record was already deleted", func(t *testing.T) {
		f := newFakeOrg(t, 0)
		f.faults = func(*fakeOrg, *http.Request, int) fault { return fault{status: 404, body: deletedBody} }
		c, _ := f.client(t)
		err := c.SObjects.Delete(t.Context(), "Case", caseID)
		var ae *APIError
		if !errors.Is(err, ErrEntityIsDeleted) || !errors.As(err, &ae) || ae.Repeated {
			t.Fatalf("Delete = %v, want ENTITY_IS_DELETED from the first attempt", err)
		}
	})
}
