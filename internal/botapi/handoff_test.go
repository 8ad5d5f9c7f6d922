package botapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/internal/botapi"
	"github.com/sfbridge/sfbridge/state"
)

// runPump runs a pump until the returned stop is called.
func (e *env) runPump(owner string) (stop func()) {
	e.t.Helper()
	p, err := botapi.NewPump(botapi.PumpOptions{Org: e.org, Owner: owner, LeaseTTL: 5 * time.Second, Scan: 100 * time.Millisecond, Retry: 500 * time.Millisecond,
		Notify: func(org string) { e.api.Notify(org) }, Observer: e.gauges.observer()})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("pump %s: %v", owner, err)
		}
	}
	e.t.Cleanup(stop)
	return stop
}

func (e *env) startHandoff() string {
	e.t.Helper()
	var h struct {
		ID             string `json:"id"`
		ConversationID string `json:"conversation_id"`
		State          string `json:"state"`
	}
	body := map[string]any{"user_id": "emp-42", "routing": map[string]string{"Topic": "Payroll"},
		"transcript": []map[string]string{{"role": "Bot", "text": "How can I help?"}, {"role": "Employee", "text": "My payslip is missing"}}}
	if st := e.do("POST", "/v1/orgs/acme/handoffs", body, nil, &h); st != 201 || h.ID == "" || h.ConversationID != h.ID || h.State != "open" {
		e.t.Fatalf("create handoff: %d %+v", st, h)
	}
	return h.ID
}

// waitTranscript polls the agent's view until a line says text.
func (e *env) waitTranscript(conv, text string) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		w, err := e.msg.Conversation(conv)
		if err == nil {
			for _, l := range w.Transcript {
				if l.Text == text {
					return
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("the agent never saw %q", text)
}

func (e *env) transcriptCount(conv, text string) int {
	e.t.Helper()
	w, err := e.msg.Conversation(conv)
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, l := range w.Transcript {
		if l.Text == text {
			n++
		}
	}
	return n
}

func TestHandoffWithAnAgentReply(t *testing.T) {
	e := newEnv(t)
	e.runPump("replica-1")
	id := e.startHandoff()
	w, err := e.msg.Conversation(id)
	if err != nil {
		t.Fatal(err)
	}
	if w.RoutingAttributes["Topic"] != "Payroll" || w.RoutingAttributes["Topic"] == "General" {
		t.Fatalf("routing: %+v", w.RoutingAttributes)
	}
	e.waitTranscript(id, "Employee: My payslip is missing")

	s := e.open("/v1/orgs/acme/handoffs/"+id+"/events", "")
	queued := s.next(t, true)
	if queued.Type != "queued" || queued.Data["handoff_id"] != id || queued.ID != "h1."+strings.TrimPrefix(queued.ID, "h1.") {
		t.Fatalf("first event: %+v", queued)
	}
	if err := e.msg.Accept("Alex Agent", id); err != nil {
		t.Fatal(err)
	}
	if ev := s.next(t, true); ev.Type != "agent.joined" || ev.Data["agent"] != "Alex Agent" {
		t.Fatalf("joined: %+v", ev)
	}
	if _, err := e.msg.Send("Alex Agent", id, "Hello, I can help"); err != nil {
		t.Fatal(err)
	}
	reply := s.next(t, true)
	if reply.Type != "agent.message" || reply.Data["text"] != "Hello, I can help" {
		t.Fatalf("reply: %+v", reply)
	}
	// With an Idempotency-Key a retried send reaches the agent once.
	for range 2 {
		if st := e.do("POST", "/v1/orgs/acme/handoffs/"+id+"/messages", map[string]any{"text": "Thanks!"}, map[string]string{"Idempotency-Key": "turn-3"}, nil); st != 204 {
			t.Fatalf("send: %d", st)
		}
	}
	e.waitTranscript(id, "Thanks!")
	if n := e.transcriptCount(id, "Thanks!"); n != 1 {
		t.Fatalf("the agent saw the message %d times", n)
	}

	// A reconnect after "queued" replays from there.
	r := e.open("/v1/orgs/acme/handoffs/"+id+"/events", queued.ID)
	if ev := r.next(t, true); ev.Type != "agent.joined" {
		t.Fatalf("replay after queued: %+v", ev)
	}
	if ev := r.next(t, true); ev.ID != reply.ID || ev.Data["id"] != reply.Data["id"] {
		t.Fatalf("replayed reply %+v, want %+v", ev, reply)
	}
	r.close()

	// The employee leaves: ended, and the stream ends.
	if st := e.do("DELETE", "/v1/orgs/acme/handoffs/"+id, nil, nil, nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	for {
		ev := s.next(t, true)
		if ev.Type == "ended" {
			if ev.Data["ended_by"] != "EndUser" {
				t.Fatalf("ended: %+v", ev)
			}
			break
		}
		if ev.Type != "agent.left" {
			t.Fatalf("before the end: %+v", ev)
		}
	}
	if !s.ended(t) {
		t.Fatal("the stream stayed open after ended")
	}
	// Afterwards: DELETE is idempotent, a message is refused, a replay ends.
	if st := e.do("DELETE", "/v1/orgs/acme/handoffs/"+id, nil, nil, nil); st != 204 {
		t.Fatalf("second delete: %d", st)
	}
	e.wantError("POST", "/v1/orgs/acme/handoffs/"+id+"/messages", map[string]any{"text": "still there?"}, nil, 409, "handoff_ended")
	all := e.open("/v1/orgs/acme/handoffs/"+id+"/events", "")
	var types []string
	for ev := range all.Events() {
		types = append(types, ev.Type)
	}
	if types[0] != "queued" || types[len(types)-1] != "ended" || !slices.Contains(types, "agent.message") {
		t.Fatalf("full replay: %v", types)
	}

	// The gauges went up while the handoff and its streams were open, and
	// back to zero after (the pump drops an ended handoff at once; a
	// stream's handler returns when its client leaves).
	deadline := time.Now().Add(20 * time.Second)
	for {
		sse, open, sseMax, openMax := e.gauges.get()
		if sse == 0 && open == 0 && sseMax >= 2 && openMax == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gauges: sse %d (max %d), handoffs open %d (max %d)", sse, sseMax, open, openMax)
		}
		time.Sleep(20 * time.Millisecond)
	}

	bad := map[string]string{"X-Test-Invalid": "1"}
	e.wantError("GET", "/v1/orgs/acme/handoffs/00000000-0000-4000-8000-000000000000/events", nil, nil, 404, "handoff_not_found")
	e.wantError("DELETE", "/v1/orgs/acme/handoffs/nope", nil, nil, 404, "handoff_not_found")
	e.wantError("POST", "/v1/orgs/acme/handoffs", map[string]any{"routing": map[string]string{"Topic": "x"}}, bad, 400, "bad_request")
	e.wantError("POST", "/v1/orgs/acme/handoffs", map[string]any{"user_id": "u", "routing": map[string]string{"bad name": "x"}}, nil, 400, "bad_request")
	e.wantError("GET", "/v1/orgs/acme/handoffs/"+id+"/events", nil, map[string]string{"Last-Event-ID": "e1.1.2"}, 400, "bad_request")
}

func TestHandoffSurvivesARestartOfAPIAndPump(t *testing.T) {
	e := newEnv(t)
	stop := e.runPump("replica-1")
	id := e.startHandoff()
	s := e.open("/v1/orgs/acme/handoffs/"+id+"/events", "")
	queued := s.next(t, true)
	if queued.Type != "queued" {
		t.Fatalf("first event: %+v", queued)
	}
	s.close()

	// The process dies: pump, API and messaging client go away. Meanwhile
	// the agent accepts and answers.
	stop()
	e.org.Messenger = botapi.NewMessenger(e.messagingClient())
	e.serve()
	if err := e.msg.Accept("Alex Agent", id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.msg.Send("Alex Agent", id, "Sorry for the wait"); err != nil {
		t.Fatal(err)
	}

	// A new pump (another replica) follows the open handoff again.
	e.runPump("replica-2")
	s = e.open("/v1/orgs/acme/handoffs/"+id+"/events", queued.ID)
	if ev := s.next(t, true); ev.Type != "agent.joined" {
		t.Fatalf("after the restart: %+v", ev)
	}
	if ev := s.next(t, true); ev.Type != "agent.message" || ev.Data["text"] != "Sorry for the wait" {
		t.Fatalf("after the restart: %+v", ev)
	}
	if st := e.do("POST", "/v1/orgs/acme/handoffs/"+id+"/messages", map[string]any{"text": "No problem"}, nil, nil); st != 204 {
		t.Fatalf("send after restart: %d", st)
	}
	e.waitTranscript(id, "No problem")
	if err := e.msg.End("Alex Agent", id); err != nil {
		t.Fatal(err)
	}
	for ev := s.next(t, true); ev.Type != "ended"; ev = s.next(t, true) {
		if ev.Type != "agent.left" {
			t.Fatalf("before the end: %+v", ev)
		}
	}

	// Every event is in the journal once, by its stable id.
	recs, err := e.store.Outbox(t.Context(), state.OutboxQuery{Org: alias, Topic: botapi.HandoffTopic(id), Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		var ev struct {
			ID, Type string
		}
		if err := json.Unmarshal(r.Payload, &ev); err != nil {
			t.Fatal(err)
		}
		if seen[ev.ID] {
			t.Fatalf("event %s (%s) journaled twice", ev.ID, ev.Type)
		}
		seen[ev.ID] = true
	}
	if len(seen) < 4 {
		t.Fatalf("journal holds %d events", len(seen))
	}
	// The org-wide topic that webhooks read holds the same events, in the
	// same order.
	all, err := e.store.Outbox(t.Context(), state.OutboxQuery{Org: alias, Topic: botapi.TopicHandoffs, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(recs) {
		t.Fatalf("%s holds %d records, %s %d", botapi.TopicHandoffs, len(all), botapi.HandoffTopic(id), len(recs))
	}
	for i := range all {
		if string(all[i].Payload) != string(recs[i].Payload) {
			t.Fatalf("record %d differs:\n%s\n%s", i, all[i].Payload, recs[i].Payload)
		}
	}
}

// A standby pump waits for the lease and takes the handoffs over when the
// active one stops.
func TestAStandbyPumpTakesOver(t *testing.T) {
	e := newEnv(t)
	stop := e.runPump("replica-1")
	id := e.startHandoff()
	s := e.open("/v1/orgs/acme/handoffs/"+id+"/events", "")
	if ev := s.next(t, true); ev.Type != "queued" {
		t.Fatalf("first event: %+v", ev)
	}
	e.runPump("replica-2") // waits: replica-1 holds the lease
	stop()
	if err := e.msg.Accept("Alex Agent", id); err != nil {
		t.Fatal(err)
	}
	if ev := s.next(t, true); ev.Type != "agent.joined" {
		t.Fatalf("after the takeover: %+v", ev)
	}
	leases, err := e.store.Leases(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leases {
		if l.Name == state.PipelineLease(alias, botapi.PumpPipeline) && l.Owner != "replica-2" {
			t.Fatalf("lease %+v", l)
		}
	}
}

// TestHandoffCreationIsIdempotent: a POST …/handoffs retried with the same
// Idempotency-Key returns the first handoff (200) and opens no second
// conversation; its id is known from the key; the key cannot be reused
// for another employee.
func TestHandoffCreationIsIdempotent(t *testing.T) {
	e := newEnv(t)
	type handoff struct {
		ID             string `json:"id"`
		ConversationID string `json:"conversation_id"`
		State          string `json:"state"`
	}
	body := map[string]any{"user_id": "emp-7", "transcript": []map[string]string{{"role": "Employee", "text": "My VPN drops every hour"}}}
	key := map[string]string{"Idempotency-Key": "vpn-ticket-1"}
	var first, again handoff
	if st := e.do("POST", "/v1/orgs/acme/handoffs", body, key, &first); st != 201 {
		t.Fatalf("first create: %d %+v", st, first)
	}
	if want := botapi.HandoffIDForKey("acme", "vpn-ticket-1"); first.ID != want {
		t.Fatalf("handoff id %s, want %s (derived from the key)", first.ID, want)
	}
	if st := e.do("POST", "/v1/orgs/acme/handoffs", body, key, &again); st != 200 || again != first {
		t.Fatalf("retried create: %d %+v, want 200 %+v", st, again, first)
	}
	e.waitTranscript(first.ConversationID, "Employee: My VPN drops every hour")
	if n := e.transcriptCount(first.ConversationID, "Employee: My VPN drops every hour"); n != 1 {
		t.Fatalf("the agent sees the transcript %d times", n)
	}
	other := map[string]any{"user_id": "emp-8"}
	e.wantError("POST", "/v1/orgs/acme/handoffs", other, key, 409, "idempotency_key_reused")
	// Without a key, every POST is a new handoff.
	var a, b handoff
	e.do("POST", "/v1/orgs/acme/handoffs", body, nil, &a)
	e.do("POST", "/v1/orgs/acme/handoffs", body, nil, &b)
	if a.ID == "" || a.ID == b.ID || a.ID == first.ID {
		t.Fatalf("unkeyed creates gave %q and %q", a.ID, b.ID)
	}
}

// The journal janitor's sweep deletes the records of handoffs that ended
// before the cutoff, with their events, and keeps open handoffs; the pump
// goes on following the open one.
func TestSweepDeletesEndedHandoffsOnly(t *testing.T) {
	e := newEnv(t)
	e.runPump("replica-a")
	open, ended := e.startHandoff(), e.startHandoff()
	if st := e.do("DELETE", "/v1/orgs/acme/handoffs/"+ended, nil, nil, nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	s := e.open("/v1/orgs/acme/handoffs/"+ended+"/events", "")
	defer s.close()
	for s.next(t, true).Type != "ended" {
	}
	// Nothing is old enough yet.
	if n, err := botapi.SweepEndedHandoffs(t.Context(), e.store, "acme", time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("sweep with an hour's cutoff: %d, %v; want nothing deleted", n, err)
	}
	if n, err := botapi.SweepEndedHandoffs(t.Context(), e.store, "acme", time.Now().Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v; want the ended handoff deleted", n, err)
	}
	e.wantError("GET", "/v1/orgs/acme/handoffs/"+ended+"/events", nil, nil, 404, "handoff_not_found")
	e.waitTranscript(open, "Employee: My payslip is missing")
	if err := e.msg.Accept("Alex Agent", open); err != nil {
		t.Fatal(err)
	}
	if _, err := e.msg.Send("Alex Agent", open, "Still here for you"); err != nil {
		t.Fatal(err)
	}
	o := e.open("/v1/orgs/acme/handoffs/"+open+"/events", "")
	defer o.close()
	for {
		if ev := o.next(t, true); ev.Type == "agent.message" && ev.Data["text"] == "Still here for you" {
			break
		}
	}
}

// Creating a handoff leaves no lease row behind, and the janitor's lease
// sweep deletes released or expired ones an older version or a failure
// left, but never one a creation holds right now.
func TestHandoffCreationLeavesNoLease(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.startHandoff()
	e.startHandoff()
	handoffLeases := func() []string {
		t.Helper()
		leases, err := e.store.Leases(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, l := range leases {
			if strings.HasPrefix(l.Name, "acme/handoff/") {
				names = append(names, l.Name)
			}
		}
		return names
	}
	if got := handoffLeases(); len(got) != 0 {
		t.Fatalf("handoff leases after two creations: %q, want none", got)
	}
	left := "acme/handoff/" + botapi.HandoffIDForKey("acme", "left-behind")
	l, err := e.store.AcquireLease(ctx, left, "botapi", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.ReleaseLease(ctx, l); err != nil {
		t.Fatal(err)
	}
	busy := "acme/handoff/" + botapi.HandoffIDForKey("acme", "being-created")
	if _, err := e.store.AcquireLease(ctx, busy, "botapi", time.Minute); err != nil {
		t.Fatal(err)
	}
	other := "acme/handoff/not-a-uuid"
	if _, err := e.store.AcquireLease(ctx, other, "someone", time.Millisecond); err != nil {
		t.Fatal(err)
	}
	n, err := botapi.SweepHandoffLeases(ctx, e.store, "acme")
	if err != nil || n != 1 {
		t.Fatalf("SweepHandoffLeases = %d, %v; want the released lease deleted", n, err)
	}
	if got := handoffLeases(); len(got) != 2 || !slices.Contains(got, busy) || !slices.Contains(got, other) {
		t.Fatalf("handoff leases after the sweep: %q, want %q and %q kept", got, busy, other)
	}
}

// A long chat keeps the handoff's record small: the pump remembers the
// transcript time it reached and the ids at that time, not every event's
// id, and a pump that follows the handoff again after a restart journals
// each event once.
func TestLongHandoffKeepsItsRecordSmall(t *testing.T) {
	e := newEnv(t)
	stop := e.runPump("replica-1")
	id := e.startHandoff()
	s := e.open("/v1/orgs/acme/handoffs/"+id+"/events", "")
	defer s.close()
	if ev := s.next(t, true); ev.Type != "queued" {
		t.Fatalf("first event: %+v", ev)
	}
	if err := e.msg.Accept("Alex Agent", id); err != nil {
		t.Fatal(err)
	}
	const n = 60
	for i := range n {
		if _, err := e.msg.Send("Alex Agent", id, fmt.Sprintf("line %d", i)); err != nil {
			t.Fatal(err)
		}
		// Paced as a chat is: entries sent within one millisecond share
		// the watermark, and the record keeps all their ids (exactly).
		time.Sleep(2 * time.Millisecond)
	}
	var last string
	for last != fmt.Sprintf("line %d", n-1) {
		if ev := s.next(t, true); ev.Type == "agent.message" {
			last, _ = ev.Data["text"].(string)
		}
	}
	cp, err := e.store.Checkpoint(t.Context(), state.CheckpointKey{Org: alias, Pipeline: "handoff/" + id, Key: "state"})
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(cp.Value, &rec); err != nil {
		t.Fatal(err)
	}
	if _, ok := rec["seen"]; ok || rec["watermark"] == nil || len(cp.Value) > 1024 {
		t.Fatalf("after %d messages the record is %d bytes: %s", n, len(cp.Value), cp.Value)
	}

	// Restart: another replica follows from just before the watermark.
	stop()
	e.runPump("replica-2")
	if _, err := e.msg.Send("Alex Agent", id, "after the restart"); err != nil {
		t.Fatal(err)
	}
	for {
		ev := s.next(t, true)
		if ev.Type == "agent.message" && ev.Data["text"] == "after the restart" {
			break
		}
		if ev.Type == "agent.message" {
			t.Fatalf("replayed after the restart: %+v", ev)
		}
	}
	recs, err := e.store.Outbox(t.Context(), state.OutboxQuery{Org: alias, Topic: botapi.HandoffTopic(id), Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	messages := 0
	for _, r := range recs {
		var ev struct{ ID, Type string }
		if err := json.Unmarshal(r.Payload, &ev); err != nil {
			t.Fatal(err)
		}
		if ids[ev.ID] {
			t.Fatalf("event %s (%s) journaled twice", ev.ID, ev.Type)
		}
		ids[ev.ID] = true
		if ev.Type == "agent.message" {
			messages++
		}
	}
	if messages != n+1 {
		t.Fatalf("journal holds %d agent messages, want %d", messages, n+1)
	}
}
