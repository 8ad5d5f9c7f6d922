package botapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sfbridge/sfbridge/internal/uuidstr"
	"github.com/sfbridge/sfbridge/state"
)

// Handoff states.
const (
	StateOpen  = "open"
	StateEnded = "ended"
)

// Handoff event types (the SSE event names and the journal payload's type).
const (
	EventQueued        = "queued"
	EventAgentJoined   = "agent.joined"
	EventAgentMessage  = "agent.message"
	EventAgentTyping   = "agent.typing"
	EventTransferred   = "transferred"
	EventAgentLeft     = "agent.left"
	EventEnded         = "ended"
	EventRoutingFailed = "routing.failed"
	EventError         = "error"
)

// HandoffEvent is one event of a handoff as the journal and the SSE stream
// carry it. ID is stable: the conversation entry's id and the type, or
// "<conversation id>:<type>:<n>" for events without an entry.
type HandoffEvent struct {
	ID                   string    `json:"id"`
	Type                 string    `json:"type"`
	HandoffID            string    `json:"handoff_id"`
	Time                 time.Time `json:"time"`
	Agent                string    `json:"agent,omitempty"`
	Text                 string    `json:"text,omitempty"`
	Typing               *bool     `json:"typing,omitempty"`
	Queue                string    `json:"queue,omitempty"`
	EstimatedWaitSeconds int       `json:"estimated_wait_seconds,omitempty"`
	EndedBy              string    `json:"ended_by,omitempty"`
	FailureType          string    `json:"failure_type,omitempty"`
	Reason               string    `json:"reason,omitempty"`
	Error                string    `json:"error,omitempty"`
}

// handoffRecord is a handoff's durable state: the checkpoint
// (org, "handoff/<id>", "state"). The API creates it; the pump advances it
// in the same commit as each journal record of topic handoff.<id>.
type handoffRecord struct {
	ID             string            `json:"id"`
	UserID         string            `json:"user_id"`
	ConversationID string            `json:"conversation_id"`
	Routing        map[string]string `json:"routing,omitempty"`
	State          string            `json:"state"`
	Created        time.Time         `json:"created"`
	// LastEventID is the stable id of the last journal record.
	LastEventID string `json:"last_event_id,omitempty"`
	// Watermark is the transcript time (Unix milliseconds) of the newest
	// conversation entry journaled, and AtWatermark the stable ids
	// journaled of the entries at that time. The messaging client
	// delivers entries in transcript order, so every entry event before
	// the watermark is in the journal already: a pump that follows the
	// conversation again (from just before the watermark) writes each
	// event once, and the record stays small however long the chat.
	Watermark   int64    `json:"watermark,omitempty"`
	AtWatermark []string `json:"at_watermark,omitempty"`
	// Seen are the stable ids journaled by versions before the watermark
	// (2026-12-05): read, so their handoffs go on without duplicates,
	// and never grown.
	Seen []string `json:"seen,omitempty"`
	// Counts number the events without a conversation entry, by type.
	Counts map[string]int `json:"counts,omitempty"`
}

func (h *handoffRecord) conversation() Conversation {
	c := Conversation{UserID: h.UserID, ID: h.ConversationID, Routing: h.Routing}
	if h.Watermark > 0 {
		// The entries at the watermark come again, to find those of its
		// events a crash kept from the journal.
		c.After = time.UnixMilli(h.Watermark - 1)
	}
	return c
}

// seenEntry reports whether the event id of a conversation entry
// transcripted at ms is in the journal already.
func (h *handoffRecord) seenEntry(id string, ms int64) bool {
	switch {
	case slices.Contains(h.Seen, id):
		return true
	case ms < h.Watermark:
		return true
	case ms == h.Watermark:
		return slices.Contains(h.AtWatermark, id)
	}
	return false
}

// markEntry records the event id of an entry transcripted at ms as
// journaled.
func (h *handoffRecord) markEntry(id string, ms int64) {
	switch {
	case ms > h.Watermark:
		h.Watermark, h.AtWatermark = ms, []string{id}
	case ms == h.Watermark:
		h.AtWatermark = append(slices.Clip(h.AtWatermark), id)
	}
}

// handoffPipeline is the checkpoint pipeline of one handoff.
const handoffPipelinePrefix = "handoff/"

func handoffKey(org, id string) state.CheckpointKey {
	return state.CheckpointKey{Org: org, Pipeline: handoffPipelinePrefix + id, Key: "state"}
}

// HandoffTopic is the journal topic of a handoff's events.
func HandoffTopic(id string) string { return "handoff." + id }

// TopicHandoffs is the journal topic that carries the events of all of an
// org's handoffs, written in the same commit as each handoff's own topic:
// webhooks read it, since they cannot follow a topic per handoff.
const TopicHandoffs = "handoffs.events"

func loadHandoff(ctx context.Context, st state.Store, org, id string) (*handoffRecord, state.Checkpoint, error) {
	if !uuidstr.Valid(id) {
		return nil, state.Checkpoint{}, &Error{Status: http.StatusNotFound, Code: CodeHandoffNotFound, Message: fmt.Sprintf("no handoff %q (handoff ids are lowercase UUIDs)", id), Fix: "use the id POST /handoffs returned"}
	}
	cp, err := st.Checkpoint(ctx, handoffKey(org, id))
	if errors.Is(err, state.ErrNotFound) {
		return nil, cp, &Error{Status: http.StatusNotFound, Code: CodeHandoffNotFound, Message: fmt.Sprintf("no handoff %q in org %s", id, org), Fix: "use the id POST /handoffs returned"}
	}
	if err != nil {
		return nil, cp, &Error{Status: http.StatusServiceUnavailable, Code: CodeStateUnavailable, Message: err.Error(), Fix: "check the state store", Err: err}
	}
	var rec handoffRecord
	if err := json.Unmarshal(cp.Value, &rec); err != nil {
		return nil, cp, fmt.Errorf("botapi: handoff %s: unreadable record: %w", id, err)
	}
	return &rec, cp, nil
}

// SweepEndedHandoffs deletes the records of org's handoffs that ended (or
// failed to route) before cutoff, by the time of their last write, as the
// journal janitor deletes their events: GET …/handoffs/{id} then answers
// 404 for them, and their Idempotency-Key creates a new handoff. Open
// handoffs are kept however old. It reports how many it deleted.
func SweepEndedHandoffs(ctx context.Context, st state.Store, org string, cutoff time.Time) (int, error) {
	cps, err := st.Checkpoints(ctx, org)
	if err != nil {
		return 0, fmt.Errorf("botapi: listing the handoffs of %s: %w", org, err)
	}
	n := 0
	for _, cp := range cps {
		if !strings.HasPrefix(cp.Pipeline, handoffPipelinePrefix) || cp.Key != "state" || !cp.UpdatedAt.Before(cutoff) {
			continue
		}
		var rec handoffRecord
		if err := json.Unmarshal(cp.Value, &rec); err != nil || rec.State == StateOpen {
			continue
		}
		d, err := st.DeleteCheckpoints(ctx, org, cp.Pipeline)
		n += d
		if err != nil {
			return n, fmt.Errorf("botapi: deleting ended handoff %s: %w", rec.ID, err)
		}
	}
	return n, nil
}

// handoffLease names the lease a handoff's creation is written under.
func handoffLease(org, id string) string {
	return state.PipelineLease(org, handoffPipelinePrefix+id)
}

// SweepHandoffLeases deletes org's handoff creation leases that are no
// longer held: creation deletes its own, so these are the ones a failure
// (or a version before that) left behind. It reports how many it deleted.
func SweepHandoffLeases(ctx context.Context, st state.Store, org string) (int, error) {
	leases, err := st.Leases(ctx)
	if err != nil {
		return 0, fmt.Errorf("botapi: listing the leases of %s: %w", org, err)
	}
	prefix := handoffLease(org, "")
	n := 0
	for _, l := range leases {
		if !strings.HasPrefix(l.Name, prefix) || !uuidstr.Valid(strings.TrimPrefix(l.Name, prefix)) {
			continue
		}
		ok, err := st.DeleteLease(ctx, l.Name)
		var held *state.LeaseHeldError
		switch {
		case errors.As(err, &held):
			// A handoff being created right now.
		case err != nil:
			return n, fmt.Errorf("botapi: deleting the lease %s: %w", l.Name, err)
		case ok:
			n++
		}
	}
	return n, nil
}

// TranscriptLine is one line of the bot's conversation before the handoff.
type TranscriptLine struct {
	Role string `json:"role"`
	Text string `json:"text"`
}

// HandoffRequest is the body of POST …/handoffs.
type HandoffRequest struct {
	UserID     string            `json:"user_id"`
	Routing    map[string]string `json:"routing,omitempty"`
	Transcript []TranscriptLine  `json:"transcript,omitempty"`
}

// HandoffResponse is the answer of POST …/handoffs.
type HandoffResponse struct {
	ID             string `json:"id"`
	ConversationID string `json:"conversation_id"`
	State          string `json:"state"`
	EventsURL      string `json:"events_url"`
}

// MessageRequest is the body of POST …/handoffs/{id}/messages.
type MessageRequest struct {
	Text string `json:"text"`
}

func (req *HandoffRequest) check() error {
	if u := strings.TrimSpace(req.UserID); u == "" || len(u) > 255 || strings.ContainsAny(u, "\r\n\t") {
		return badRequest("user_id must be 1 to 255 characters on one line", "send the employee's stable id, such as their email")
	}
	for k, v := range req.Routing {
		if !apiName(k) {
			return badRequest(fmt.Sprintf("routing attribute %q is not a field API name", k), "use the pre-chat field API names of the deployment")
		}
		if len(v) > 1000 {
			return badRequest(fmt.Sprintf("routing attribute %q is over 1000 characters", k), "send a shorter value")
		}
	}
	if len(req.Transcript) > 100 {
		return badRequest("the transcript has more than 100 lines", "send the last 100 lines")
	}
	for i, l := range req.Transcript {
		if strings.TrimSpace(l.Text) == "" {
			return badRequest(fmt.Sprintf("transcript line %d has no text", i+1), "drop empty lines")
		}
		if len(l.Text)+len(l.Role) > 4000 {
			return badRequest(fmt.Sprintf("transcript line %d is over 4000 characters", i+1), "split it")
		}
	}
	return nil
}

func apiName(s string) bool {
	if s == "" || len(s) > 80 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		ok := c == '_' || c >= '0' && c <= '9' && i > 0 || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !ok {
			return false
		}
	}
	return true
}

func (a *API) createHandoff(w http.ResponseWriter, r *http.Request, o *Org) {
	if o.Messenger == nil || o.Store == nil {
		writeError(w, notConfigured("messaging", "add a messaging section to the org in the daemon's config"))
		return
	}
	var req HandoffRequest
	if err := a.decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if err := req.check(); err != nil {
		writeError(w, err)
		return
	}
	ctx := r.Context()
	rec := handoffRecord{ID: uuidstr.New(), UserID: strings.TrimSpace(req.UserID), Routing: map[string]string{}, State: StateOpen, Created: a.clk.Now().UTC()}
	keyed := false
	if _, sent := r.Header[IdempotencyKeyHeader]; sent {
		key := r.Header.Get(IdempotencyKeyHeader)
		if err := checkIdempotencyKey(key); err != nil {
			writeError(w, err)
			return
		}
		// The key names the handoff: a retry finds the record the first
		// request wrote and opens no second conversation.
		rec.ID, keyed = HandoffIDForKey(o.Alias, key), true
		if a.replayHandoff(w, r, o, rec.ID, rec.UserID) {
			return
		}
	}
	rec.ConversationID = rec.ID
	for k, v := range o.Routing {
		rec.Routing[k] = v
	}
	for k, v := range req.Routing {
		rec.Routing[k] = v
	}
	conv := rec.conversation()
	for _, l := range req.Transcript {
		line := l.Text
		if l.Role != "" {
			line = l.Role + ": " + l.Text
		}
		conv.Transcript = append(conv.Transcript, line)
	}
	if err := o.Messenger.Create(ctx, conv); err != nil {
		// A concurrent request with the same key may have won the race.
		if keyed && a.replayHandoff(w, r, o, rec.ID, rec.UserID) {
			return
		}
		writeError(w, err)
		return
	}
	if err := a.saveNewHandoff(ctx, o, &rec); err != nil {
		var ce *state.ConflictError
		if keyed && errors.As(err, &ce) && a.replayHandoff(w, r, o, rec.ID, rec.UserID) {
			// The other request recorded it: the conversation is theirs.
			return
		}
		// Without a record no pump follows it: close the conversation.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		_ = o.Messenger.End(cctx, conv)
		cancel()
		writeError(w, &Error{Status: http.StatusServiceUnavailable, Code: CodeStateUnavailable, Message: "the handoff could not be recorded: " + err.Error(), Fix: "check the state store and retry", Err: err})
		return
	}
	a.log.Info("botapi: handoff created", "org", o.Alias, "handoff", rec.ID)
	writeHandoff(w, http.StatusCreated, o, &rec)
}

func writeHandoff(w http.ResponseWriter, status int, o *Org, rec *handoffRecord) {
	w.Header().Set("Location", "/v1/orgs/"+o.Alias+"/handoffs/"+rec.ID)
	writeJSON(w, status, HandoffResponse{ID: rec.ID, ConversationID: rec.ConversationID, State: rec.State, EventsURL: "/v1/orgs/" + o.Alias + "/handoffs/" + rec.ID + "/events"})
}

// replayHandoff answers a keyed POST …/handoffs whose handoff already
// exists: 200 with it, or 409 when the key was used for another employee.
// It reports false when there is no such handoff yet.
func (a *API) replayHandoff(w http.ResponseWriter, r *http.Request, o *Org, id, userID string) bool {
	rec, _, err := loadHandoff(r.Context(), o.Store, o.Alias, id)
	var ae *Error
	if errors.As(err, &ae) && ae.Code == CodeHandoffNotFound {
		return false
	}
	if err != nil {
		writeError(w, err)
		return true
	}
	if rec.UserID != userID {
		writeError(w, &Error{Status: http.StatusConflict, Code: CodeIdempotencyReused, Message: "this Idempotency-Key started a handoff for another user_id", Fix: "use a new key for every new handoff"})
		return true
	}
	writeHandoff(w, http.StatusOK, o, rec)
	return true
}

// HandoffIDForKey is the id of the handoff that POST …/handoffs creates in
// org with the Idempotency-Key key: a lowercase UUID derived from both, so
// a client that knows its key knows the handoff's URLs before it asks.
func HandoffIDForKey(org, key string) string {
	return messageID("handoff\x00"+org, key)
}

// saveNewHandoff writes the handoff's first checkpoint under a lease of its
// own (every checkpoint write is fenced), which it then deletes: the lease
// guards only this write, a compare-and-set from version 0 that cannot
// succeed twice, and a row left per handoff would pile up. The journal
// janitor deletes any that a failure left behind (SweepHandoffLeases).
func (a *API) saveNewHandoff(ctx context.Context, o *Org, rec *handoffRecord) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	name := handoffLease(o.Alias, rec.ID)
	l, err := o.Store.AcquireLease(ctx, name, "botapi", time.Minute)
	if err != nil {
		return err
	}
	defer func() {
		bg := context.WithoutCancel(ctx)
		if o.Store.ReleaseLease(bg, l) == nil {
			_, _ = o.Store.DeleteLease(bg, name)
		}
	}()
	_, err = o.Store.Commit(ctx, state.Commit{Key: handoffKey(o.Alias, rec.ID), Expect: 0, Value: data, Fence: state.FenceOf(l)})
	return err
}

func (a *API) openHandoff(w http.ResponseWriter, r *http.Request, o *Org) (*handoffRecord, bool) {
	if o.Messenger == nil || o.Store == nil {
		writeError(w, notConfigured("messaging", "add a messaging section to the org in the daemon's config"))
		return nil, false
	}
	rec, _, err := loadHandoff(r.Context(), o.Store, o.Alias, r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return nil, false
	}
	return rec, true
}

func (a *API) sendHandoffMessage(w http.ResponseWriter, r *http.Request, o *Org) {
	rec, ok := a.openHandoff(w, r, o)
	if !ok {
		return
	}
	var req MessageRequest
	if err := a.decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if strings.TrimSpace(req.Text) == "" || len(req.Text) > 4000 {
		writeError(w, badRequest("text must be 1 to 4000 characters", "send the employee's message"))
		return
	}
	if rec.State != StateOpen {
		writeError(w, &Error{Status: http.StatusConflict, Code: CodeHandoffEnded, Message: "handoff " + rec.ID + " has ended", Fix: "start a new handoff"})
		return
	}
	var msgID string
	if _, sent := r.Header[IdempotencyKeyHeader]; sent {
		key := r.Header.Get(IdempotencyKeyHeader)
		if err := checkIdempotencyKey(key); err != nil {
			writeError(w, err)
			return
		}
		msgID = messageID(rec.ID, key)
	}
	if err := o.Messenger.Send(r.Context(), rec.conversation(), msgID, req.Text); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) endHandoff(w http.ResponseWriter, r *http.Request, o *Org) {
	rec, ok := a.openHandoff(w, r, o)
	if !ok {
		return
	}
	if rec.State == StateOpen {
		if err := o.Messenger.End(r.Context(), rec.conversation()); err != nil {
			writeError(w, err)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) handoffEvents(w http.ResponseWriter, r *http.Request, o *Org) {
	rec, ok := a.openHandoff(w, r, o)
	if !ok {
		return
	}
	spec := streamSpec{org: o, topics: []string{HandoffTopic(rec.ID)}, prefix: "h1", cursor: []int64{0}, final: finalHandoffEvent}
	if id := lastEventID(r); id != "" {
		c, err := ParseCursor(id, spec.prefix, 1)
		if err != nil {
			writeError(w, badRequest("Last-Event-ID: "+err.Error(), "send back the id of the last event received, or none to replay the handoff from its start"))
			return
		}
		spec.cursor = c
	}
	spec.idle = func(ctx context.Context) bool {
		cur, _, err := loadHandoff(ctx, o.Store, o.Alias, rec.ID)
		return err != nil || cur.State != StateOpen
	}
	a.stream(w, r, spec)
}

func finalHandoffEvent(typ string) bool {
	return typ == EventEnded || typ == EventRoutingFailed
}

// messageID derives the message id of an idempotent send from the handoff
// and the caller's key: a version 4 shaped UUID from SHA-256, so the same
// key in the same handoff is the same message on every replica.
func messageID(handoff, key string) string {
	return uuidstr.Derived(handoff + "\x00" + key)
}
