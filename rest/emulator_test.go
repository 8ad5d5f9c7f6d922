package rest_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/rest"
	"github.com/sfbridge/sfbridge/sftest"
)

// These tests run the client against the org emulator, which serves the
// REST API from its SOQL engine and data layer and injects faults.

type countingSource struct {
	auth.Source
	mints atomic.Int64
	last  atomic.Pointer[auth.Token]
}

func (c *countingSource) Token(ctx context.Context) (*auth.Token, error) {
	tok, err := c.Source.Token(ctx)
	if err == nil && c.last.Swap(tok) != tok {
		c.mints.Add(1)
	}
	return tok, err
}

func emulatorClient(t *testing.T, s *sftest.Server, opts ...rest.Option) (*rest.Client, *countingSource) {
	t.Helper()
	src, err := auth.NewTokenSource(auth.Config{ConsumerKey: s.ClientID, Username: emulator.UserIntegration, PrivateKey: s.Key, LoginURL: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	cs := &countingSource{Source: src}
	opts = append([]rest.Option{rest.WithRetry(rest.RetryPolicy{Sleep: func(context.Context, time.Duration) error { return nil }})}, opts...)
	c, err := rest.New(cs, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c, cs
}

func idsOf(t *testing.T, c *rest.Client, soql string) []string {
	t.Helper()
	var ids []string
	for r, err := range c.Query.Records(t.Context(), soql, nil) {
		if err != nil {
			t.Fatalf("after %d records: %v", len(ids), err)
		}
		ids = append(ids, r.ID())
	}
	return ids
}

func TestEmulatorQueryPagesAreCompleteAndInOrder(t *testing.T) {
	s := sftest.NewServer(t)
	if err := s.Org.Store().Generate("Case", 4500, 7); err != nil {
		t.Fatal(err)
	}
	want := s.Org.Store().Count("Case")
	const soql = "SELECT Id, CaseNumber, Subject, Status, Contact.Email FROM Case ORDER BY Id"
	c, _ := emulatorClient(t, s)
	base := idsOf(t, c, soql)
	if len(base) != want {
		t.Fatalf("%d records, want %d", len(base), want)
	}
	seen := map[string]bool{}
	for _, id := range base {
		if seen[id] {
			t.Fatalf("record %s delivered twice", id)
		}
		seen[id] = true
	}
	if v, _ := c.APIVersion(t.Context()); v == "" {
		t.Error("no API version negotiated")
	}
	if li, ok := c.APIUsage(); !ok || li.Max == 0 {
		t.Errorf("no Sforce-Limit-Info kept: %+v", li)
	}

	faults := []struct {
		name  string
		spec  emulator.FaultSpec
		mints int64
	}{
		{"503", emulator.FaultSpec{Action: emulator.FaultError, Status: 503}, 1},
		{"reset", emulator.FaultSpec{Action: emulator.FaultReset}, 1},
		{"truncated body", emulator.FaultSpec{Action: emulator.FaultTruncate, TruncateAfter: 7000}, 1},
		{"UNABLE_TO_LOCK_ROW", emulator.FaultSpec{Action: emulator.FaultError, Status: 400, ErrorCode: "UNABLE_TO_LOCK_ROW", Message: "unable to obtain exclusive access to this record"}, 1},
		{"session expired", emulator.FaultSpec{Action: emulator.FaultExpireSession}, 2},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			s.Org.ClearFaults()
			spec := f.spec
			spec.Method, spec.Path, spec.Count = "GET", "/services/data/*/query/*", 1 // the second page
			if _, err := s.Org.AddFault(spec); err != nil {
				t.Fatal(err)
			}
			c, src := emulatorClient(t, s)
			got := idsOf(t, c, soql)
			if !slices.Equal(got, base) {
				t.Fatalf("%d records, want the same %d in the same order", len(got), len(base))
			}
			if fired := s.Org.Faults()[0].Fired; fired != 1 {
				t.Errorf("fault fired %d times", fired)
			}
			if n := src.mints.Load(); n != f.mints {
				t.Errorf("%d sessions used, want %d", n, f.mints)
			}
		})
	}

	t.Run("last page truncated", func(t *testing.T) {
		// The emulator, like Salesforce, closes the cursor once it has sent
		// the last page, so the page cannot be fetched again: the query must
		// fail clearly after a gapless prefix.
		s.Org.ClearFaults()
		if _, err := s.Org.AddFault(emulator.FaultSpec{Method: "GET", Path: "/services/data/*/query/*", After: 1, Count: 1, Action: emulator.FaultTruncate, TruncateAfter: 7000}); err != nil {
			t.Fatal(err)
		}
		c, _ := emulatorClient(t, s)
		var got []string
		var last error
		for r, err := range c.Query.Records(t.Context(), soql, nil) {
			if err != nil {
				last = err
				break
			}
			got = append(got, r.ID())
		}
		var pe *rest.PageError
		switch {
		case last == nil:
			if !slices.Equal(got, base) {
				t.Fatal("completed with different records")
			}
		case errors.As(last, &pe):
			if !slices.Equal(got, base[:len(got)]) || len(got) < 4000 || pe.Delivered != len(got)-4000 {
				t.Fatalf("%d records before %v", len(got), last)
			}
		default:
			t.Fatalf("unclear error after %d records: %v", len(got), last)
		}
	})

	t.Run("REQUEST_LIMIT_EXCEEDED stops the query", func(t *testing.T) {
		s.Org.ClearFaults()
		if _, err := s.Org.AddFault(emulator.FaultSpec{Method: "GET", Path: "/services/data/*/query/*", Action: emulator.FaultError, Status: 403, ErrorCode: "REQUEST_LIMIT_EXCEEDED", Message: "TotalRequests Limit exceeded."}); err != nil {
			t.Fatal(err)
		}
		c, _ := emulatorClient(t, s)
		n := 0
		var last error
		for r, err := range c.Query.Records(t.Context(), soql, nil) {
			if err != nil {
				last = err
				break
			}
			if r.ID() != base[n] {
				t.Fatalf("record %d out of order", n)
			}
			n++
		}
		if !errors.Is(last, rest.ErrRequestLimitExceeded) || n != 2000 {
			t.Fatalf("after %d records: %v", n, last)
		}
		if fired := s.Org.Faults()[0].Fired; fired != 1 {
			t.Errorf("REQUEST_LIMIT_EXCEEDED was retried: fired %d times", fired)
		}
	})
}

func TestEmulatorErrorsAndRecords(t *testing.T) {
	s := sftest.NewServer(t)
	c, _ := emulatorClient(t, s)
	ctx := t.Context()

	_, err := c.Query.Page(ctx, "SELECT Id FORM Case", nil)
	if !errors.Is(err, rest.ErrMalformedQuery) {
		t.Errorf("bad SOQL: %v", err)
	}
	_, err = c.Query.Page(ctx, "SELECT Id FROM NoSuchObject__c", nil)
	if !errors.Is(err, rest.ErrInvalidType) {
		t.Errorf("unknown object: %v", err)
	}
	_, err = c.Query.Page(ctx, "SELECT NoSuchField__c FROM Case", nil)
	if !errors.Is(err, rest.ErrInvalidField) {
		t.Errorf("unknown field: %v", err)
	}

	res, err := c.SObjects.Create(ctx, "Case", map[string]any{"Subject": "Printer jammed", "Origin": "Web"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.ID, "500") || len(res.ID) != 18 {
		t.Fatalf("created id %q", res.ID)
	}
	if err := c.SObjects.Update(ctx, "Case", res.ID, map[string]any{"Subject": "Printer fixed"}); err != nil {
		t.Fatal(err)
	}
	rec, err := c.SObjects.Get(ctx, "Case", res.ID, "Subject", "Status")
	if err != nil || rec["Subject"] != "Printer fixed" || rec.Type() != "Case" {
		t.Fatalf("Get = %v, %v", rec, err)
	}
	d, err := c.SObjects.Describe(ctx, "Case")
	if err != nil || d.KeyPrefix != "500" || len(d.Fields) == 0 {
		t.Fatalf("Describe = %+v, %v", d, err)
	}
	if err := c.SObjects.Delete(ctx, "Case", res.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SObjects.Get(ctx, "Case", res.ID); !errors.Is(err, rest.ErrNotFound) {
		t.Errorf("Get after delete: %v", err)
	}
	deleted := 0
	for r, err := range rest.QueryAll[rest.Record](ctx, c, "SELECT Id, IsDeleted FROM Case WHERE Id = "+rest.Quote(res.ID), nil) {
		if err != nil {
			t.Fatal(err)
		}
		if r["IsDeleted"] == true {
			deleted++
		}
	}
	if deleted != 1 {
		t.Errorf("queryAll found %d deleted records, want 1", deleted)
	}
	id, err := c.Identity.Get(ctx)
	if err != nil || id.Username != emulator.UserIntegration {
		t.Errorf("Identity = %+v, %v", id, err)
	}
}

// TestEmulatorQueryPageBreaksAfterNextWasRequested truncates a page after
// the client has requested the one after it (the next page is requested as
// soon as its URL is read, unless it may be the last): the broken page is
// fetched again from the still-open cursor, and the result is complete and
// in order.
func TestEmulatorQueryPageBreaksAfterNextWasRequested(t *testing.T) {
	s := sftest.NewServer(t)
	if err := s.Org.Store().Generate("Case", 8500, 11); err != nil {
		t.Fatal(err)
	}
	const soql = "SELECT Id, CaseNumber, Subject FROM Case ORDER BY Id"
	c, _ := emulatorClient(t, s)
	base := idsOf(t, c, soql)
	if len(base) != 8500 {
		t.Fatalf("%d records", len(base))
	}
	s.Org.ClearFaults()
	// The first locator request is the second page (rows 2000-3999): it
	// breaks off. The third page (rows 4000-5999) is requested while the
	// second is read; a harmless probe fault counts its arrival.
	if _, err := s.Org.AddFault(emulator.FaultSpec{Method: "GET", Path: "/services/data/*/query/*", Count: 1, Action: emulator.FaultTruncate, TruncateAfter: 20000}); err != nil {
		t.Fatal(err)
	}
	probe, err := s.Org.AddFault(emulator.FaultSpec{Method: "GET", Path: "/services/data/*/query/*-4000", Action: emulator.FaultLatency, Latency: "1ms"})
	if err != nil {
		t.Fatal(err)
	}
	thirdArrived := func() bool {
		for _, f := range s.Org.Faults() {
			if f.ID == probe && f.Matched > 0 {
				return true
			}
		}
		return false
	}
	// Before fetching the broken page again, wait (boundedly) for the third
	// page's request: it was sent early only if it arrives meanwhile.
	var earlyRequest atomic.Bool
	c, _ = emulatorClient(t, s, rest.WithRetry(rest.RetryPolicy{Sleep: func(context.Context, time.Duration) error {
		for deadline := time.Now().Add(3 * time.Second); !thirdArrived() && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		earlyRequest.Store(thirdArrived())
		return nil
	}}))
	if got := idsOf(t, c, soql); !slices.Equal(got, base) {
		t.Fatalf("%d records, want the same %d in the same order", len(got), len(base))
	}
	fetches := map[string]int{}
	for _, r := range s.Org.Requests(0) {
		if i := strings.LastIndexByte(r.Path, '-'); strings.Contains(r.Path, "/query/") && i > 0 {
			fetches[r.Path[i+1:]]++
		}
	}
	// Twice per page for the two queries, once more for the broken page.
	if fetches["2000"] != 3 || fetches["4000"] != 2 || fetches["8000"] != 2 {
		t.Errorf("locator fetches by offset: %v", fetches)
	}
	if !earlyRequest.Load() {
		t.Error("the third page was not requested before the second was fetched again")
	}
}

func TestEmulatorResourcesRenewsAnExpiredSession(t *testing.T) {
	s := sftest.NewServer(t)
	c, src := emulatorClient(t, s)
	m, err := c.Resources(t.Context())
	if err != nil || !strings.HasSuffix(m["sobjects"], "/sobjects") || m["query"] == "" {
		t.Fatalf("Resources = %v, %v", m, err)
	}
	s.Org.RevokeUserSessions("integration@sfbridge.test")
	if _, err := c.Resources(t.Context()); err != nil {
		t.Fatalf("after the session was revoked: %v", err)
	}
	if n := src.mints.Load(); n != 2 {
		t.Fatalf("%d sessions, want a second one after the revocation", n)
	}
}
