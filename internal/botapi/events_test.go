package botapi_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/servicedesk"
	"github.com/sfbridge/sfbridge/state"
)

// knowledgeWriter appends knowledge.events as the knowledge pipeline does:
// in a commit of its checkpoint, under its lease.
type knowledgeWriter struct {
	e       *env
	fence   state.Fence
	version int64
	n       int
}

func (k *knowledgeWriter) publish(title string) string {
	k.e.t.Helper()
	st := k.e.store
	if k.fence.Lease == "" {
		l, err := st.AcquireLease(k.e.t.Context(), state.PipelineLease(alias, "knowledge"), "test", time.Hour)
		if err != nil {
			k.e.t.Fatal(err)
		}
		k.fence = state.FenceOf(l)
	}
	k.n++
	id := fmt.Sprintf("ka0xx0000000%03dAAA@%d", k.n, 1700000000000+k.n)
	payload, _ := json.Marshal(map[string]any{"id": id, "type": "knowledge.published", "time": time.Now().UTC(), "article_id": id[:18],
		"knowledge_article_id": "kA0", "language": "en_US", "title": title, "url_name": "a"})
	cp, err := st.Commit(k.e.t.Context(), state.Commit{Key: state.CheckpointKey{Org: alias, Pipeline: "knowledge", Key: "en_US"}, Expect: k.version,
		Value: []byte(id), Fence: k.fence, Outbox: []state.OutboxRecord{{Org: alias, Topic: "knowledge.events", Payload: payload, CreatedAt: time.Now()}}})
	if err != nil {
		k.e.t.Fatal(err)
	}
	k.version = cp.Version
	k.e.api.Notify(alias)
	return id
}

func eventIDs(evs []sseEvent) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, fmt.Sprint(ev.Data["id"]))
	}
	return out
}

func TestOrgEventsReplayFromLastEventID(t *testing.T) {
	e := newEnv(t)
	// The watcher's own topic; the daemon configures it as cases.events.
	e.org.Topics = []string{"servicedesk.cases.events", "knowledge.events"}
	w, err := servicedesk.NewWatcher(servicedesk.WatchConfig{Client: e.rest, Store: e.store, Org: alias, Since: time.Now().Add(-time.Minute), Owner: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close(t.Context()) })
	poll := func() {
		t.Helper()
		st, err := w.Poll(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("poll: %+v", st)
		e.api.Notify(alias)
	}
	var c struct {
		ID string `json:"id"`
	}
	if st := e.do("POST", "/v1/orgs/acme/cases", map[string]any{"email": "guest@example.com", "subject": "Printer jam"}, nil, &c); st != 201 {
		t.Fatalf("create: %d", st)
	}
	poll()
	kw := &knowledgeWriter{e: e}
	k1, k2 := kw.publish("One"), kw.publish("Two")

	s := e.open("/v1/orgs/acme/events?from=start", "")
	var first []sseEvent
	for range 3 {
		first = append(first, s.next(t, false))
	}
	types := []string{first[0].Type, first[1].Type, first[2].Type}
	slices.Sort(types)
	if !slices.Equal(types, []string{"case.created", "knowledge.published", "knowledge.published"}) || first[0].ID == "" {
		t.Fatalf("first events: %+v", first)
	}
	var afterK1 string
	for _, ev := range first {
		if ev.Data["id"] == k1 {
			afterK1 = ev.ID
		}
		if ev.Type == "case.created" && ev.Data["case_id"] != c.ID {
			t.Fatalf("case event of another case: %+v", ev)
		}
	}
	s.close()

	// While disconnected: a comment and a third article.
	if st := e.do("POST", "/v1/orgs/acme/cases/"+c.ID+"/comments", map[string]any{"body": "Any news?", "public": true}, nil, nil); st != 201 {
		t.Fatalf("comment: %d", st)
	}
	e.srv.Org.Advance(2 * time.Second)
	poll()
	k3 := kw.publish("Three")

	// Reconnecting after k1 replays what followed it, once, and nothing
	// before it.
	s = e.open("/v1/orgs/acme/events", afterK1)
	var replay []sseEvent
	for range 3 {
		replay = append(replay, s.next(t, false))
	}
	ids := eventIDs(replay)
	if !slices.Contains(ids, k2) || !slices.Contains(ids, k3) || slices.Contains(ids, k1) {
		t.Fatalf("replay after %s: %v", afterK1, ids)
	}
	comments := 0
	for _, ev := range replay {
		if ev.Type == "comment.created" {
			comments++
		}
		if ev.Type == "case.created" {
			t.Fatalf("the case event before the cursor came again: %+v", replay)
		}
	}
	if comments != 1 {
		t.Fatalf("replay: %+v", replay)
	}
	select {
	case ev := <-s.Events():
		t.Fatalf("an extra event after the replay: %+v", ev)
	case <-time.After(300 * time.Millisecond):
	}
	s.close()

	// A filter keeps only knowledge; a fresh stream starts at the newest.
	s = e.open("/v1/orgs/acme/events?from=start&types=knowledge.*", "")
	for _, want := range []string{k1, k2, k3} {
		if ev := s.next(t, false); ev.Data["id"] != want {
			t.Fatalf("filtered: %+v, want %s", ev, want)
		}
	}
	s.close()
	s = e.open("/v1/orgs/acme/events", "")
	k4 := kw.publish("Four")
	if ev := s.next(t, false); ev.Data["id"] != k4 {
		t.Fatalf("live stream: %+v, want %s", ev, k4)
	}
	s.close()

	// Streams that polled many rounds leave no Notify waiters behind.
	deadline := time.Now().Add(10 * time.Second)
	for e.api.Waiting(alias) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d waiters left after every stream closed", e.api.Waiting(alias))
		}
		time.Sleep(20 * time.Millisecond)
	}

	bad := map[string]string{"X-Test-Invalid": "1"}
	for _, id := range []string{"garbage", "e1.1", "e1.01.2", "e1.-1.2", "h1.5"} {
		e.wantError("GET", "/v1/orgs/acme/events", nil, map[string]string{"Last-Event-ID": id}, 400, "bad_request")
	}
	e.wantError("GET", "/v1/orgs/acme/events?types=case.*x", nil, bad, 400, "bad_request")
}
