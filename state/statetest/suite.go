package statetest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/state"
)

// childEnv carries the state URL to a re-executed test binary that must
// play the crashing writer.
const childEnv = "SFBRIDGE_STATETEST_CRASH_CHILD"

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Run runs the contract suite. newURL returns the URL of a new, empty
// database for one test.
func Run(t *testing.T, newURL func(t testing.TB) string) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, url string)
	}{
		{"CheckpointCompareAndSet", testCheckpointCAS},
		{"CommitIsAtomic", testCommitAtomic},
		{"ConcurrentCompareAndSet", testConcurrentCAS},
		{"LeaseExpiryAndFencing", testLeaseFencing},
		{"Documents", testDocuments},
		{"Search", testSearch},
		{"Dedupe", testDedupe},
		{"Outbox", testOutbox},
		{"SealedSecrets", testSecrets},
		{"Migrations", testMigrations},
		{"CrashBetweenWriteAndCommit", testCrash},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if u := os.Getenv(childEnv); u != "" {
				if tc.name == "CrashBetweenWriteAndCommit" {
					crashChild(t, u)
				}
				return
			}
			t.Parallel()
			tc.fn(t, newURL(t))
		})
	}
}

// Open opens url with a fake clock the test can advance.
func Open(tb testing.TB, url string, c clock.Clock) state.Store {
	tb.Helper()
	st, err := state.Open(tb.Context(), url, state.Options{Clock: c})
	if err != nil {
		tb.Fatalf("open %s: %v", state.Redacted(url), err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	return st
}

func mustLease(tb testing.TB, st state.Store, name, owner string, ttl time.Duration) state.Lease {
	tb.Helper()
	l, err := st.AcquireLease(tb.Context(), name, owner, ttl)
	if err != nil {
		tb.Fatalf("acquire %s for %s: %v", name, owner, err)
	}
	return l
}

func testCheckpointCAS(t *testing.T, url string) {
	t.Helper()
	ctx := t.Context()
	fc := clock.NewFake(epoch)
	st := Open(t, url, fc)
	l := mustLease(t, st, "acme/eventlogs", "replica-1", time.Minute)
	key := state.CheckpointKey{Org: "acme", Pipeline: "eventlogs", Key: "Login"}

	if _, err := st.Checkpoint(ctx, key); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("missing checkpoint: err = %v, want ErrNotFound", err)
	}
	c1, err := st.Commit(ctx, state.Commit{Key: key, Expect: 0, Value: []byte("cursor-1"), Fence: state.FenceOf(l)})
	if err != nil {
		t.Fatal(err)
	}
	if c1.Version != 1 || c1.Token != l.Token {
		t.Fatalf("first commit = version %d token %d, want 1 and %d", c1.Version, c1.Token, l.Token)
	}
	// A second creator loses.
	_, err = st.Commit(ctx, state.Commit{Key: key, Expect: 0, Value: []byte("other"), Fence: state.FenceOf(l)})
	var ce *state.ConflictError
	if !errors.As(err, &ce) || ce.Actual != 1 || ce.Expected != 0 || !errors.Is(err, state.ErrConflict) {
		t.Fatalf("second create: err = %v, want ConflictError expected 0 actual 1", err)
	}
	fc.Advance(time.Second)
	c2, err := st.Commit(ctx, state.Commit{Key: key, Expect: 1, Value: []byte("cursor-2"), Fence: state.FenceOf(l)})
	if err != nil {
		t.Fatal(err)
	}
	// A stale writer that read version 1 loses.
	_, err = st.Commit(ctx, state.Commit{Key: key, Expect: 1, Value: []byte("stale"), Fence: state.FenceOf(l)})
	if !errors.As(err, &ce) || ce.Actual != 2 {
		t.Fatalf("stale update: err = %v, want ConflictError actual 2", err)
	}
	got, err := st.Checkpoint(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	want := state.Checkpoint{CheckpointKey: key, Value: []byte("cursor-2"), Version: 2, Token: l.Token, UpdatedAt: epoch.Add(time.Second)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("stored checkpoint (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(c2, got); diff != "" {
		t.Fatalf("Commit's result differs from the stored checkpoint (-commit +stored):\n%s", diff)
	}
	// No fence, no write.
	_, err = st.Commit(ctx, state.Commit{Key: key, Expect: 2, Value: []byte("x")})
	var ie *state.InvalidError
	if !errors.As(err, &ie) {
		t.Fatalf("unfenced commit: err = %v, want InvalidError", err)
	}

	other := state.CheckpointKey{Org: "acme", Pipeline: "cases", Key: "watermark"}
	if _, err := st.Commit(ctx, state.Commit{Key: other, Value: []byte("w"), Fence: state.FenceOf(l)}); err != nil {
		t.Fatal(err)
	}
	list, err := st.Checkpoints(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Pipeline != "cases" || list[1].Pipeline != "eventlogs" {
		t.Fatalf("Checkpoints = %+v, want cases then eventlogs", list)
	}
	n, err := st.DeleteCheckpoints(ctx, "acme", "eventlogs")
	if err != nil || n != 1 {
		t.Fatalf("DeleteCheckpoints = %d, %v; want 1", n, err)
	}
	if _, err := st.Checkpoint(ctx, key); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("after delete: err = %v, want ErrNotFound", err)
	}
}

func testCommitAtomic(t *testing.T, url string) {
	t.Helper()
	ctx := t.Context()
	st := Open(t, url, clock.NewFake(epoch))
	l := mustLease(t, st, "acme/knowledge", "r1", time.Minute)
	key := state.CheckpointKey{Org: "acme", Pipeline: "knowledge", Key: "since"}
	commit := state.Commit{
		Key: key, Value: []byte("t1"), Fence: state.FenceOf(l),
		Documents: []state.Document{{Org: "acme", Kind: "article", ID: "ka1", Title: "Reset a password"}},
		Outbox:    []state.OutboxRecord{{Topic: "webhook", Payload: []byte(`{"id":1}`)}},
	}
	if _, err := st.Commit(ctx, commit); err != nil {
		t.Fatal(err)
	}
	// A losing compare-and-set writes none of its documents or records.
	lost := state.Commit{
		Key: key, Expect: 0, Value: []byte("t2"), Fence: state.FenceOf(l),
		Documents: []state.Document{{Org: "acme", Kind: "article", ID: "ka2", Title: "Lost"}},
		Outbox:    []state.OutboxRecord{{Topic: "webhook", Payload: []byte(`{"id":2}`)}},
	}
	if _, err := st.Commit(ctx, lost); !errors.Is(err, state.ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	if _, err := st.Document(ctx, "acme", "article", "ka2"); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("document of a lost commit: err = %v, want ErrNotFound", err)
	}
	recs, err := st.Outbox(ctx, state.OutboxQuery{Org: "acme", Topic: "webhook"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || string(recs[0].Payload) != `{"id":1}` || recs[0].Org != "acme" {
		t.Fatalf("outbox = %+v, want only the committed record", recs)
	}
	d, err := st.Document(ctx, "acme", "article", "ka1")
	if err != nil || d.Title != "Reset a password" {
		t.Fatalf("document = %+v, %v", d, err)
	}

	// Deletes go with the commit: not at all when it loses, and when it
	// wins in the same transaction (out of search too), whatever the
	// order of upserts and deletes in the commit.
	if err := st.PutDocuments(ctx, []state.Document{{Org: "acme", Kind: "article", ID: "ka3", Title: "Printer jam"},
		{Org: "acme", Kind: "user", ID: "005a", Title: "Ada"}}); err != nil {
		t.Fatal(err)
	}
	deletes := []state.DocumentRef{{Org: "acme", Kind: "article", ID: "ka1"}, {Org: "acme", Kind: "user", ID: "005a"},
		{Org: "acme", Kind: "article", ID: "ka3"}, {Org: "acme", Kind: "article", ID: "missing"}}
	lost = state.Commit{Key: key, Expect: 7, Value: []byte("t3"), Fence: state.FenceOf(l), Deletes: deletes}
	if _, err := st.Commit(ctx, lost); !errors.Is(err, state.ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	if _, err := st.Document(ctx, "acme", "article", "ka1"); err != nil {
		t.Fatalf("a lost commit deleted ka1: %v", err)
	}
	won := state.Commit{Key: key, Expect: 1, Value: []byte("t3"), Fence: state.FenceOf(l), Deletes: deletes,
		Documents: []state.Document{{Org: "acme", Kind: "article", ID: "ka4", Title: "Printer drivers"}}}
	if _, err := st.Commit(ctx, won); err != nil {
		t.Fatal(err)
	}
	for _, r := range deletes {
		if _, err := st.Document(ctx, r.Org, r.Kind, r.ID); !errors.Is(err, state.ErrNotFound) {
			t.Fatalf("%s/%s after the commit: err = %v, want ErrNotFound", r.Kind, r.ID, err)
		}
	}
	hits, err := st.Search(ctx, state.SearchQuery{Org: "acme", Kind: "article", Text: "printer"})
	if err != nil || len(hits) != 1 || hits[0].ID != "ka4" {
		t.Fatalf("search after the commit = %+v, %v; want ka4 only", hits, err)
	}
	if _, err := st.Commit(ctx, state.Commit{Key: key, Expect: 2, Fence: state.FenceOf(l), Deletes: []state.DocumentRef{{Org: "acme", ID: "x"}}}); err == nil {
		t.Fatal("a delete without a kind was accepted")
	}
}

func testConcurrentCAS(t *testing.T, url string) {
	t.Helper()
	ctx := t.Context()
	a := Open(t, url, nil)
	b := Open(t, url, nil)
	l := mustLease(t, a, "acme/cas", "r1", time.Hour)
	key := state.CheckpointKey{Org: "acme", Pipeline: "cas", Key: "k"}
	const rounds, writers = 5, 8
	for round := range rounds {
		var wins, conflicts atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := range writers {
			st := a
			if w%2 == 1 {
				st = b
			}
			wg.Go(func() {
				<-start
				_, err := st.Commit(ctx, state.Commit{Key: key, Expect: int64(round), Value: fmt.Appendf(nil, "r%d-w%d", round, w), Fence: state.FenceOf(l)})
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, state.ErrConflict):
					conflicts.Add(1)
				default:
					t.Errorf("writer %d: %v", w, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 || conflicts.Load() != writers-1 {
			t.Fatalf("round %d: %d winners and %d conflicts, want exactly 1 and %d", round, wins.Load(), conflicts.Load(), writers-1)
		}
	}
	got, err := a.Checkpoint(ctx, key)
	if err != nil || got.Version != rounds {
		t.Fatalf("final checkpoint = %+v, %v; want version %d", got, err, rounds)
	}
}

func testLeaseFencing(t *testing.T, url string) {
	t.Helper()
	ctx := t.Context()
	fc := clock.NewFake(epoch)
	st := Open(t, url, fc)
	const ttl = 10 * time.Second
	key := state.CheckpointKey{Org: "acme", Pipeline: "cases", Key: "watermark"}

	a := mustLease(t, st, "acme/cases", "replica-a", ttl)
	if a.Token != 1 || !a.ExpiresAt.Equal(epoch.Add(ttl)) {
		t.Fatalf("first lease = %+v, want token 1 expiring at %s", a, epoch.Add(ttl))
	}
	_, err := st.AcquireLease(ctx, "acme/cases", "replica-b", ttl)
	var held *state.LeaseHeldError
	if !errors.As(err, &held) || held.Owner != "replica-a" {
		t.Fatalf("acquire of a live lease: err = %v, want LeaseHeldError naming replica-a", err)
	}
	if _, err := st.Commit(ctx, state.Commit{Key: key, Value: []byte("a1"), Fence: state.FenceOf(a)}); err != nil {
		t.Fatal(err)
	}
	// The holder re-acquiring keeps its token; renewing moves the expiry.
	fc.Advance(5 * time.Second)
	again := mustLease(t, st, "acme/cases", "replica-a", ttl)
	if again.Token != a.Token {
		t.Fatalf("holder re-acquired with token %d, want %d", again.Token, a.Token)
	}
	a, err = st.RenewLease(ctx, a, ttl)
	if err != nil || !a.ExpiresAt.Equal(epoch.Add(15*time.Second)) {
		t.Fatalf("renew = %+v, %v; want expiry %s", a, err, epoch.Add(15*time.Second))
	}
	// Exactly at expiry the lease is no longer live.
	fc.Advance(10 * time.Second)
	b := mustLease(t, st, "acme/cases", "replica-b", ttl)
	if b.Token != a.Token+1 {
		t.Fatalf("new owner token = %d, want %d", b.Token, a.Token+1)
	}
	// The old owner's writes are fenced off, and so is its renewal.
	_, err = st.Commit(ctx, state.Commit{Key: key, Expect: 1, Value: []byte("a2"), Fence: state.FenceOf(a)})
	var fe *state.FencedError
	if !errors.As(err, &fe) || !errors.Is(err, state.ErrFenced) || fe.Current.Token != b.Token {
		t.Fatalf("stale writer: err = %v, want FencedError with current token %d", err, b.Token)
	}
	_, err = st.RenewLease(ctx, a, ttl)
	var lost *state.LeaseLostError
	if !errors.As(err, &lost) || !errors.Is(err, state.ErrFenced) {
		t.Fatalf("stale renew: err = %v, want LeaseLostError", err)
	}
	if _, err := st.Commit(ctx, state.Commit{Key: key, Expect: 1, Value: []byte("b1"), Fence: state.FenceOf(b)}); err != nil {
		t.Fatal(err)
	}
	// A lease that expired with nobody taking it still fences its holder.
	fc.Advance(ttl)
	if _, err := st.Commit(ctx, state.Commit{Key: key, Expect: 2, Value: []byte("b2"), Fence: state.FenceOf(b)}); !errors.Is(err, state.ErrFenced) {
		t.Fatalf("write under an expired lease: err = %v, want ErrFenced", err)
	}
	// Release hands over at once, with a larger token.
	b = mustLease(t, st, "acme/cases", "replica-b", ttl)
	if err := st.ReleaseLease(ctx, b); err != nil {
		t.Fatal(err)
	}
	c := mustLease(t, st, "acme/cases", "replica-c", ttl)
	if c.Token != b.Token+1 {
		t.Fatalf("token after release = %d, want %d", c.Token, b.Token+1)
	}
	got, err := st.Checkpoint(ctx, key)
	if err != nil || string(got.Value) != "b1" || got.Token != 2 {
		t.Fatalf("checkpoint = %+v, %v; want b1 written under token 2", got, err)
	}
	leases, err := st.Leases(ctx)
	if err != nil || len(leases) != 1 || leases[0].Owner != "replica-c" || !leases[0].Live(fc.Now()) {
		t.Fatalf("Leases = %+v, %v; want replica-c live", leases, err)
	}

	// A live lease cannot be deleted; a released or expired one can, and
	// its name then starts again at token 1.
	if ok, err := st.DeleteLease(ctx, "acme/cases"); ok || !errors.As(err, &held) || held.Owner != "replica-c" {
		t.Fatalf("DeleteLease of a live lease = %v, %v; want LeaseHeldError naming replica-c", ok, err)
	}
	if err := st.ReleaseLease(ctx, c); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.DeleteLease(ctx, "acme/cases"); !ok || err != nil {
		t.Fatalf("DeleteLease of a released lease = %v, %v; want true, nil", ok, err)
	}
	if ok, err := st.DeleteLease(ctx, "acme/cases"); ok || err != nil {
		t.Fatalf("DeleteLease of a missing lease = %v, %v; want false, nil", ok, err)
	}
	d := mustLease(t, st, "acme/other", "replica-d", ttl)
	fc.Advance(ttl)
	if ok, err := st.DeleteLease(ctx, "acme/other"); !ok || err != nil {
		t.Fatalf("DeleteLease of an expired lease = %v, %v; want true, nil", ok, err)
	}
	// The deleted lease fences its old holder: the row is gone.
	if _, err := st.Commit(ctx, state.Commit{Key: state.CheckpointKey{Org: "acme", Pipeline: "other", Key: "k"}, Value: []byte("x"), Fence: state.FenceOf(d)}); !errors.Is(err, state.ErrFenced) {
		t.Fatalf("write under a deleted lease: err = %v, want ErrFenced", err)
	}
	if again := mustLease(t, st, "acme/cases", "replica-e", ttl); again.Token != 1 {
		t.Fatalf("token after delete = %d, want 1", again.Token)
	}
	if _, err := st.DeleteLease(ctx, ""); err == nil {
		t.Fatal("DeleteLease of an empty name: no error")
	}
}

func testDocuments(t *testing.T, url string) {
	t.Helper()
	ctx := t.Context()
	fc := clock.NewFake(epoch)
	st := Open(t, url, fc)
	var docs []state.Document
	for i := range 1100 { // more than one statement's batch
		docs = append(docs, state.Document{Org: "acme", Kind: "case", ID: fmt.Sprintf("500%04d", i), Version: "1", Data: []byte(`{"n":1}`)})
	}
	// The same id twice in one batch: the last one wins.
	docs = append(docs, state.Document{Org: "acme", Kind: "case", ID: "5001099", Version: "dup", Data: []byte(`{"n":9}`)})
	if err := st.PutDocuments(ctx, docs); err != nil {
		t.Fatal(err)
	}
	if d, err := st.Document(ctx, "acme", "case", "5001099"); err != nil || d.Version != "dup" {
		t.Fatalf("document given twice = %+v, %v; want the last", d, err)
	}
	if stats, err := st.Stats(ctx); err != nil || len(stats.Documents) != 1 || stats.Documents[0].Count != 1100 {
		t.Fatalf("Stats = %+v, %v; want 1100 case documents", stats.Documents, err)
	}
	fc.Advance(time.Minute)
	docs[7].Version = "2"
	docs[7].Data = []byte(`{"n":2}`)
	if err := st.PutDocuments(ctx, docs[7:8]); err != nil {
		t.Fatal(err)
	}
	got, err := st.Document(ctx, "acme", "case", "5000007")
	if err != nil {
		t.Fatal(err)
	}
	want := state.Document{Org: "acme", Kind: "case", ID: "5000007", Version: "2", Data: []byte(`{"n":2}`), UpdatedAt: epoch.Add(time.Minute)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("document (-want +got):\n%s", diff)
	}
	if _, err := st.Document(ctx, "other", "case", "5000007"); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("another org's document: err = %v, want ErrNotFound", err)
	}
	n, err := st.DeleteDocuments(ctx, "acme", "case", []string{"5000001", "5000002", "nope"})
	if err != nil || n != 2 {
		t.Fatalf("DeleteDocuments = %d, %v; want 2", n, err)
	}
	// Paging through a kind: every document once, in id order, pages of
	// at most the limit (1,000 at most whatever is asked).
	if err := st.PutDocuments(ctx, []state.Document{{Org: "acme", Kind: "other", ID: "5000000", Data: []byte(`{}`)}, {Org: "beta", Kind: "case", ID: "5000000", Data: []byte(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	after := ""
	for page := 0; ; page++ {
		got, err := st.Documents(ctx, state.DocumentQuery{Org: "acme", Kind: "case", After: after, Limit: 300})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) > 300 {
			t.Fatalf("page %d holds %d documents, limit 300", page, len(got))
		}
		if len(got) == 0 {
			break
		}
		for _, d := range got {
			if d.Org != "acme" || d.Kind != "case" {
				t.Fatalf("page %d: document %+v of another org or kind", page, d)
			}
			ids = append(ids, d.ID)
		}
		after = got[len(got)-1].ID
	}
	if len(ids) != 1098 || !slices.IsSorted(ids) || slices.Contains(ids, "5000001") || ids[7-2] != "5000007" {
		t.Fatalf("paged %d documents (want 1098, in id order, without the deleted)", len(ids))
	}
	if d, err := st.Documents(ctx, state.DocumentQuery{Org: "acme", Kind: "case", Limit: 5000}); err != nil || len(d) != 1000 || d[5].Version != "2" || string(d[5].Data) != `{"n":2}` {
		t.Fatalf("a page asked for 5,000: %d documents, %v; want 1,000 with their data", len(d), err)
	}
	if _, err := st.Documents(ctx, state.DocumentQuery{Org: "acme"}); err == nil {
		t.Fatal("Documents without a kind was accepted")
	}
	if err := st.PutDocuments(ctx, []state.Document{{Org: "acme", Kind: "", ID: "x"}}); err == nil {
		t.Fatal("a document without a kind was accepted")
	}
}

func testSearch(t *testing.T, url string) {
	t.Helper()
	ctx := t.Context()
	st := Open(t, url, nil)
	docs := []state.Document{
		{Org: "acme", Kind: "article", ID: "ka1", Lang: "en", Title: "Reset your password", Body: "Open settings and choose a new password.", Data: []byte(`{"n":1}`)},
		{Org: "acme", Kind: "article", ID: "ka2", Lang: "en", Title: "Configure the printer", Body: "If the printer asks for a password, ask IT.", Data: []byte(`{"n":2}`)},
		{Org: "acme", Kind: "article", ID: "ka3", Lang: "de", Title: "Passwort zurücksetzen", Body: "Öffnen Sie die Einstellungen."},
		{Org: "acme", Kind: "article", ID: "ka4", Lang: "en", Title: "Holiday calendar", Body: "Public holidays for the year."},
		{Org: "other", Kind: "article", ID: "kb1", Lang: "en", Title: "Reset your password", Body: "Another org's article."},
	}
	if err := st.PutDocuments(ctx, docs); err != nil {
		t.Fatal(err)
	}
	ids := func(hits []state.SearchHit) []string {
		out := []string{}
		for _, h := range hits {
			out = append(out, h.ID)
		}
		return out
	}
	hits, err := st.Search(ctx, state.SearchQuery{Org: "acme", Kind: "article", Text: "password"})
	if err != nil {
		t.Fatal(err)
	}
	// The title match ranks above the body-only match.
	if diff := cmp.Diff([]string{"ka1", "ka2"}, ids(hits)); diff != "" {
		t.Fatalf("search password (-want +got):\n%s", diff)
	}
	if hits[0].Score <= hits[1].Score || hits[0].Title != "Reset your password" || hits[0].Lang != "en" {
		t.Fatalf("hits = %+v, want ka1 scored above ka2", hits)
	}
	if hits[0].Data != nil {
		t.Fatalf("a search without WithData returned data %q", hits[0].Data)
	}
	// WithData brings each hit's Data, in the same order and scores.
	withData, err := st.Search(ctx, state.SearchQuery{Org: "acme", Kind: "article", Text: "password", WithData: true})
	if err != nil || len(withData) != 2 || string(withData[0].Data) != `{"n":1}` || string(withData[1].Data) != `{"n":2}` ||
		withData[0].ID != "ka1" || withData[0].Score != hits[0].Score {
		t.Fatalf("search password WithData = %+v, %v", withData, err)
	}
	withData, err = st.Search(ctx, state.SearchQuery{Org: "acme", Kind: "article", Text: "password", Lang: "en", WithData: true})
	if err != nil || len(withData) != 2 || string(withData[1].Data) != `{"n":2}` {
		t.Fatalf("search password lang en WithData = %+v, %v", withData, err)
	}
	// Every word must match.
	hits, err = st.Search(ctx, state.SearchQuery{Org: "acme", Kind: "article", Text: "printer password"})
	if err != nil || cmp.Diff([]string{"ka2"}, ids(hits)) != "" {
		t.Fatalf("search printer password = %v, %v; want [ka2]", ids(hits), err)
	}
	// Language filter, and words with diacritics.
	hits, err = st.Search(ctx, state.SearchQuery{Org: "acme", Kind: "article", Text: "Passwort", Lang: "de"})
	if err != nil || cmp.Diff([]string{"ka3"}, ids(hits)) != "" {
		t.Fatalf("search Passwort lang de = %v, %v; want [ka3]", ids(hits), err)
	}
	hits, err = st.Search(ctx, state.SearchQuery{Org: "acme", Kind: "article", Text: "password", Lang: "de"})
	if err != nil || len(hits) != 0 {
		t.Fatalf("search password lang de = %v, %v; want none", ids(hits), err)
	}
	// Stemming for English: "holiday" finds "holidays".
	hits, err = st.Search(ctx, state.SearchQuery{Org: "acme", Kind: "article", Text: "holiday", Lang: "en"})
	if err != nil || cmp.Diff([]string{"ka4"}, ids(hits)) != "" {
		t.Fatalf("search holiday = %v, %v; want [ka4]", ids(hits), err)
	}
	// Query syntax characters are words, never operators.
	for _, text := range []string{`password" OR "`, `pass*`, `-password`, `NEAR(password)`, `"`, ``} {
		if _, err := st.Search(ctx, state.SearchQuery{Org: "acme", Kind: "article", Text: text}); err != nil {
			t.Errorf("search %q: %v", text, err)
		}
	}
	// Updating a document updates its index; deleting removes it.
	docs[1].Body = "Paper jams."
	if err := st.PutDocuments(ctx, docs[1:2]); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DeleteDocuments(ctx, "acme", "article", []string{"ka1"}); err != nil {
		t.Fatal(err)
	}
	hits, err = st.Search(ctx, state.SearchQuery{Org: "acme", Kind: "article", Text: "password", Lang: "en"})
	if err != nil || len(hits) != 0 {
		t.Fatalf("search after update and delete = %v, %v; want none", ids(hits), err)
	}
}

func testDedupe(t *testing.T, url string) {
	t.Helper()
	ctx := t.Context()
	fc := clock.NewFake(epoch)
	st := Open(t, url, fc)
	fresh, err := st.MarkSeen(ctx, "acme", "events", []string{"e3", "e1", "e2", "e1"}, time.Hour)
	if err != nil || cmp.Diff([]string{"e3", "e1", "e2"}, fresh) != "" {
		t.Fatalf("first MarkSeen = %v, %v; want each id once, in order", fresh, err)
	}
	var many []string
	for i := range 1200 {
		many = append(many, fmt.Sprintf("bulk-%d", i))
	}
	if fresh, err := st.MarkSeen(ctx, "acme", "bulk", append(many, "bulk-0"), time.Hour); err != nil || len(fresh) != 1200 || fresh[1199] != "bulk-1199" {
		t.Fatalf("bulk MarkSeen = %d ids, %v; want 1200", len(fresh), err)
	}
	if fresh, err := st.MarkSeen(ctx, "acme", "bulk", many[:700], time.Hour); err != nil || len(fresh) != 0 {
		t.Fatalf("bulk repeat = %v, %v; want none", fresh, err)
	}
	fc.Advance(30 * time.Minute)
	fresh, err = st.MarkSeen(ctx, "acme", "events", []string{"e2", "e4"}, time.Hour)
	if err != nil || cmp.Diff([]string{"e4"}, fresh) != "" {
		t.Fatalf("second MarkSeen = %v, %v; want [e4]", fresh, err)
	}
	fresh, err = st.MarkSeen(ctx, "other", "events", []string{"e2"}, time.Hour)
	if err != nil || cmp.Diff([]string{"e2"}, fresh) != "" {
		t.Fatalf("another org's window = %v, %v; want [e2]", fresh, err)
	}
	fc.Advance(31 * time.Minute) // e1..e3 expired, e4 not
	n, err := st.PurgeSeen(ctx)
	if err != nil || n != 3+1200 {
		t.Fatalf("PurgeSeen = %d, %v; want %d", n, err, 3+1200)
	}
	fresh, err = st.MarkSeen(ctx, "acme", "events", []string{"e1", "e4"}, time.Hour)
	if err != nil || cmp.Diff([]string{"e1"}, fresh) != "" {
		t.Fatalf("after expiry = %v, %v; want [e1]", fresh, err)
	}
	// An expired entry not yet purged counts as unseen too.
	fc.Advance(2 * time.Hour)
	fresh, err = st.MarkSeen(ctx, "acme", "events", []string{"e4"}, time.Hour)
	if err != nil || cmp.Diff([]string{"e4"}, fresh) != "" {
		t.Fatalf("expired, unpurged = %v, %v; want [e4]", fresh, err)
	}
}

func testOutbox(t *testing.T, url string) {
	t.Helper()
	ctx := t.Context()
	st := Open(t, url, clock.NewFake(epoch))
	l := mustLease(t, st, "acme/messaging", "r1", time.Minute)
	key := state.CheckpointKey{Org: "acme", Pipeline: "messaging", Key: "sse"}
	for i := range 5 {
		_, err := st.Commit(ctx, state.Commit{Key: key, Expect: int64(i), Value: []byte{byte(i)}, Fence: state.FenceOf(l),
			Outbox: []state.OutboxRecord{{Topic: "sse", Payload: fmt.Appendf(nil, "event-%d", i)}, {Topic: "webhook", Payload: []byte("w")}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	recs, err := st.Outbox(ctx, state.OutboxQuery{Org: "acme", Topic: "sse", Limit: 3})
	if err != nil || len(recs) != 3 {
		t.Fatalf("Outbox = %+v, %v; want 3", recs, err)
	}
	for i, r := range recs {
		if string(r.Payload) != fmt.Sprintf("event-%d", i) || (i > 0 && r.Seq <= recs[i-1].Seq) || !r.CreatedAt.Equal(epoch) {
			t.Fatalf("record %d = %+v, want event-%d in sequence order", i, r, i)
		}
	}
	// Replay after a Last-Event-ID.
	after, err := st.Outbox(ctx, state.OutboxQuery{Org: "acme", Topic: "sse", After: recs[2].Seq})
	if err != nil || len(after) != 2 || string(after[0].Payload) != "event-3" {
		t.Fatalf("Outbox after %d = %+v, %v", recs[2].Seq, after, err)
	}
	n, err := st.AckOutbox(ctx, recs[0].Seq, recs[1].Seq, 999999)
	if err != nil || n != 2 {
		t.Fatalf("AckOutbox = %d, %v; want 2", n, err)
	}
	left, err := st.Outbox(ctx, state.OutboxQuery{Org: "acme", Topic: "sse"})
	if err != nil || len(left) != 3 || string(left[0].Payload) != "event-2" {
		t.Fatalf("after ack = %+v, %v; want event-2..4", left, err)
	}
	web, err := st.Outbox(ctx, state.OutboxQuery{Org: "acme", Topic: "webhook"})
	if err != nil || len(web) != 5 {
		t.Fatalf("webhook topic = %d records, %v; want 5", len(web), err)
	}
	if _, err := st.MarkSeen(ctx, "acme", "events", []string{"a", "b"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	stats, err := st.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := state.Stats{
		Outbox: []state.Count{{Org: "acme", Name: "sse", Count: 3}, {Org: "acme", Name: "webhook", Count: 5}},
		Seen:   []state.Count{{Org: "acme", Name: "events", Count: 2}},
	}
	if diff := cmp.Diff(want, stats); diff != "" {
		t.Fatalf("Stats (-want +got):\n%s", diff)
	}
}

func testSecrets(t *testing.T, url string) {
	t.Helper()
	ctx := t.Context()
	st := Open(t, url, clock.NewFake(epoch))
	kr, err := state.NewKeyring(testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := kr.Seal("acme", "private-key", []byte("-----BEGIN PRIVATE KEY-----"), "SHA256:abc")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutSecret(ctx, sealed); err != nil {
		t.Fatal(err)
	}
	got, err := st.Secret(ctx, "acme", "private-key")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := kr.Open(got)
	if err != nil || string(plain) != "-----BEGIN PRIVATE KEY-----" {
		t.Fatalf("open = %q, %v", plain, err)
	}
	if got.Fingerprint != "SHA256:abc" || got.KeyID != kr.CurrentID() || !got.UpdatedAt.Equal(epoch) {
		t.Fatalf("stored secret = %+v", got)
	}
	// Rotation re-seals under the new key; the old keyring still opens
	// nothing new, the new one opens everything.
	next, err := state.NewKeyring(testKey(2), testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	n, err := state.RotateSecrets(ctx, st, next)
	if err != nil || n != 1 {
		t.Fatalf("RotateSecrets = %d, %v; want 1", n, err)
	}
	list, err := st.Secrets(ctx)
	if err != nil || len(list) != 1 || list[0].KeyID != next.CurrentID() {
		t.Fatalf("Secrets after rotation = %+v, %v", list, err)
	}
	only2, err := state.NewKeyring(testKey(2))
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := state.OpenSecret(ctx, st, only2, "acme", "private-key"); err != nil || string(plain) != "-----BEGIN PRIVATE KEY-----" {
		t.Fatalf("open with the new key alone = %q, %v", plain, err)
	}
	// Resealing from a key id the record no longer has changes nothing.
	ok, err := st.ResealSecret(ctx, kr.CurrentID(), sealed)
	if err != nil || ok {
		t.Fatalf("stale ResealSecret = %v, %v; want false", ok, err)
	}
	if _, err := st.Secret(ctx, "acme", "passphrase"); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("missing secret: err = %v, want ErrNotFound", err)
	}
}

func testKey(b byte) []byte {
	k := make([]byte, 32)
	for i := range k {
		k[i] = b + byte(i)
	}
	return k
}

func testMigrations(t *testing.T, url string) {
	t.Helper()
	ctx := t.Context()
	st := Open(t, url, nil)
	v, err := st.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if latest := state.LatestSchemaVersion(st.Engine()); v != latest || latest < 1 {
		t.Fatalf("schema version = %d, want the latest (%d)", v, latest)
	}
	// Opening again applies nothing and keeps the data.
	l := mustLease(t, st, "acme/x", "r1", time.Hour)
	if _, err := st.Commit(ctx, state.Commit{Key: state.CheckpointKey{Org: "acme", Pipeline: "x", Key: "k"}, Value: []byte("v"), Fence: state.FenceOf(l)}); err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	st2 := Open(t, url, nil)
	if c, err := st2.Checkpoint(ctx, state.CheckpointKey{Org: "acme", Pipeline: "x", Key: "k"}); err != nil || string(c.Value) != "v" {
		t.Fatalf("after reopen: %+v, %v", c, err)
	}
	_ = st2.Close()
	// A schema from a newer binary is refused, with and without migrating.
	RawExec(t, url, fmt.Sprintf("INSERT INTO schema_migrations (version, name, applied_at) VALUES (%d, 'from_the_future.sql', 0)", v+1))
	for _, skip := range []bool{false, true} {
		_, err = state.Open(ctx, url, state.Options{SkipMigrate: skip})
		var tooNew *state.SchemaTooNewError
		if !errors.As(err, &tooNew) || tooNew.Have != v+1 || tooNew.Known != v {
			t.Fatalf("open a newer schema (SkipMigrate=%v): err = %v, want SchemaTooNewError have %d known %d", skip, err, v+1, v)
		}
		if !strings.Contains(err.Error(), "newer sfbridge") {
			t.Fatalf("message %q does not say a newer sfbridge wrote it", err)
		}
	}
}

// testCrash runs a real child process that writes a checkpoint, documents
// and outbox records, and is killed with SIGKILL after the writes but
// before the commit. Nothing of that transaction may be visible.
func testCrash(t *testing.T, url string) {
	t.Helper()
	ctx := t.Context()
	name := t.Name()
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + p + "$"
	}
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run="+strings.Join(parts, "/"), "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+url)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	inTx := false
	for sc.Scan() {
		if sc.Text() == "STATETEST: IN TRANSACTION" {
			inTx = true
			break
		}
	}
	if !inTx {
		_ = cmd.Wait()
		t.Fatalf("the child never reached its transaction (scan: %v)", sc.Err())
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	st := Open(t, url, nil)
	done := state.CheckpointKey{Org: "acme", Pipeline: "crash", Key: "committed"}
	if c, err := st.Checkpoint(ctx, done); err != nil || string(c.Value) != "before" {
		t.Fatalf("the commit before the crash: %+v, %v; want it kept", c, err)
	}
	key := state.CheckpointKey{Org: "acme", Pipeline: "crash", Key: "pending"}
	if c, err := st.Checkpoint(ctx, key); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("uncommitted checkpoint is visible: %+v, %v", c, err)
	}
	if d, err := st.Document(ctx, "acme", "article", "crash-doc"); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("uncommitted document is visible: %+v, %v", d, err)
	}
	if recs, err := st.Outbox(ctx, state.OutboxQuery{Org: "acme", Topic: "crash"}); err != nil || len(recs) != 0 {
		t.Fatalf("uncommitted outbox records: %+v, %v", recs, err)
	}
	// The database is writable again: the dead writer's locks are gone.
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	l, err := st.AcquireLease(cctx, "acme/crash-after", "parent", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Commit(cctx, state.Commit{Key: key, Value: []byte("after"), Fence: state.FenceOf(l)}); err != nil {
		t.Fatalf("commit after the crash: %v", err)
	}
}

// crashChild is the writer testCrash kills: it commits once, then blocks
// inside its second transaction after every write.
func crashChild(t *testing.T, url string) {
	t.Helper()
	ctx := t.Context()
	var armed atomic.Bool
	st, err := state.Open(ctx, url, state.Options{BeforeCommit: func(ctx context.Context) error {
		if !armed.Load() {
			return nil
		}
		fmt.Println("STATETEST: IN TRANSACTION")
		<-ctx.Done() // until SIGKILL
		return ctx.Err()
	}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := st.AcquireLease(ctx, "acme/crash", "child", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	done := state.CheckpointKey{Org: "acme", Pipeline: "crash", Key: "committed"}
	if _, err := st.Commit(ctx, state.Commit{Key: done, Value: []byte("before"), Fence: state.FenceOf(l)}); err != nil {
		t.Fatal(err)
	}
	armed.Store(true)
	_, err = st.Commit(ctx, state.Commit{
		Key: state.CheckpointKey{Org: "acme", Pipeline: "crash", Key: "pending"}, Value: []byte("never"), Fence: state.FenceOf(l),
		Documents: []state.Document{{Org: "acme", Kind: "article", ID: "crash-doc", Title: "never"}},
		Outbox:    []state.OutboxRecord{{Topic: "crash", Payload: []byte("never")}},
	})
	t.Fatalf("the child's transaction ended (%v) instead of being killed", err)
}
