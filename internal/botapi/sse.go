package botapi

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/sfbridge/sfbridge/state"
)

// Journal topics the org event stream reads.
const (
	TopicCases     = "cases.events"
	TopicKnowledge = "knowledge.events"
)

func (o *Org) topics() []string {
	if len(o.Topics) > 0 {
		return o.Topics
	}
	return []string{TopicCases, TopicKnowledge}
}

// LastEventIDHeader is the header an SSE client reconnects with; the query
// parameter last_event_id does the same for clients that cannot set it.
const LastEventIDHeader = "Last-Event-ID"

// streamSpec says what one SSE stream reads.
type streamSpec struct {
	org    *Org
	topics []string
	prefix string
	cursor []int64
	keep   func(typ string) bool // nil keeps all
	final  func(typ string) bool // the stream ends after such an event
	// idle, when set, is asked when the journal has nothing new; true ends
	// the stream (a handoff that ended and was fully sent).
	idle func(ctx context.Context) bool
}

type journalEvent struct {
	topic int
	rec   state.OutboxRecord
	typ   string
}

// typeFilter parses ?types=case.*,comment.created into a predicate.
func typeFilter(s string) (func(string) bool, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var exact []string
	var prefixes []string
	for _, t := range strings.Split(s, ",") {
		t = strings.TrimSpace(t)
		switch {
		case t == "":
			return nil, fmt.Errorf("types has an empty entry")
		case strings.HasSuffix(t, ".*"):
			prefixes = append(prefixes, strings.TrimSuffix(t, "*"))
		case strings.ContainsAny(t, "* \t"):
			return nil, fmt.Errorf("type %q: a wildcard may only end a type, as in case.*", t)
		default:
			exact = append(exact, t)
		}
	}
	return func(typ string) bool {
		if slices.Contains(exact, typ) {
			return true
		}
		for _, p := range prefixes {
			if strings.HasPrefix(typ, p) {
				return true
			}
		}
		return false
	}, nil
}

func lastEventID(r *http.Request) string {
	if v := r.Header.Get(LastEventIDHeader); v != "" {
		return v
	}
	return r.URL.Query().Get("last_event_id")
}

func (a *API) events(w http.ResponseWriter, r *http.Request, o *Org) {
	if o.Store == nil {
		writeError(w, notConfigured("the event journal", "give the daemon a state store"))
		return
	}
	keep, err := typeFilter(r.URL.Query().Get("types"))
	if err != nil {
		writeError(w, badRequest(err.Error(), "send types=case.*,comment.*,knowledge.*"))
		return
	}
	topics := o.topics()
	spec := streamSpec{org: o, topics: topics, prefix: "e1", keep: keep}
	if id := lastEventID(r); id != "" {
		spec.cursor, err = ParseCursor(id, spec.prefix, len(topics))
		if err != nil {
			writeError(w, badRequest("Last-Event-ID: "+err.Error(), "send back the id of the last event received, or none to start at the newest"))
			return
		}
	} else {
		spec.cursor = make([]int64, len(topics))
		if r.URL.Query().Get("from") != "start" {
			for i, t := range topics {
				if spec.cursor[i], err = tail(r.Context(), o.Store, o.Alias, t); err != nil {
					writeError(w, &Error{Status: http.StatusServiceUnavailable, Code: CodeStateUnavailable, Message: err.Error(), Fix: "check the state store", Err: err})
					return
				}
			}
		}
	}
	a.stream(w, r, spec)
}

// tail finds the Seq of the newest record of a topic without reading the
// whole topic: it gallops forward from the first record, then bisects.
func tail(ctx context.Context, st state.Store, org, topic string) (int64, error) {
	after := func(x int64) (int64, bool, error) {
		recs, err := st.Outbox(ctx, state.OutboxQuery{Org: org, Topic: topic, After: x, Limit: 1})
		if err != nil || len(recs) == 0 {
			return 0, false, err
		}
		return recs[0].Seq, true, nil
	}
	lo, ok, err := after(0)
	if err != nil || !ok {
		return 0, err
	}
	// lo is a record's seq; find hi with no record after it.
	step := int64(64)
	hi := lo
	for {
		s, ok, err := after(hi)
		if err != nil {
			return 0, err
		}
		if !ok {
			break
		}
		lo = s
		hi = s + step
		step *= 2
	}
	// A record exists at lo; none after hi. Bisect for the last record.
	for hi-lo > 0 {
		mid := lo + (hi-lo)/2
		s, ok, err := after(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = s
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// stream serves one SSE stream until the client leaves, a final event is
// sent, or the journal cannot be read.
func (a *API) stream(w http.ResponseWriter, r *http.Request, spec streamSpec) {
	ctx := r.Context()
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	org := spec.org.Alias
	a.opts.Observer.sse(org, 1)
	defer a.opts.Observer.sse(org, -1)
	if _, err := fmt.Fprintf(w, "retry: 2000\n: sfbridge %s\n\n", FormatCursor(spec.prefix, spec.cursor)); err != nil {
		return
	}
	_ = rc.Flush()
	ping := a.clk.NewTicker(a.opts.Ping)
	defer ping.Stop()
	forget := func() {}
	defer func() { forget() }() // forgetting twice is harmless
	for {
		var notified <-chan struct{}
		notified, forget = a.wait(org)
		evs, err := a.stepRead(ctx, spec, forget)
		if err != nil {
			if ctx.Err() == nil {
				a.log.Warn("botapi: reading the journal failed; the stream ends and the client reconnects", "org", org, "error", err)
				fmt.Fprintf(w, ": journal unavailable: %s\n\n", strings.ReplaceAll(err.Error(), "\n", " "))
				_ = rc.Flush()
			}
			return
		}
		for _, ev := range evs {
			spec.cursor[ev.topic] = ev.rec.Seq
			if spec.keep != nil && !spec.keep(ev.typ) {
				continue
			}
			if err := writeEvent(w, FormatCursor(spec.prefix, spec.cursor), ev.typ, ev.rec.Payload); err != nil {
				return
			}
			if spec.final != nil && spec.final(ev.typ) {
				_ = rc.Flush()
				return
			}
		}
		if len(evs) > 0 {
			if err := rc.Flush(); err != nil {
				return
			}
			continue // there may be more
		}
		if spec.idle != nil && spec.idle(ctx) {
			forget()
			// Read once more: the last records may have been committed
			// with the state change.
			if evs, err := a.read(ctx, spec); err == nil && len(evs) > 0 {
				continue
			}
			return
		}
		timer := a.clk.NewTimer(a.opts.Poll)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-notified:
		case <-timer.C():
		case <-ping.C():
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				timer.Stop()
				return
			}
			if err := rc.Flush(); err != nil {
				timer.Stop()
				return
			}
		}
		timer.Stop()
		forget()
	}
}

// stepRead reads the journal for one round of stream; forget drops the
// round's Notify waiter when the round ends without waiting on it.
func (a *API) stepRead(ctx context.Context, spec streamSpec, forget func()) ([]journalEvent, error) {
	evs, err := a.read(ctx, spec)
	if err != nil || len(evs) > 0 {
		forget()
	}
	return evs, err
}

// read returns the records after the cursor of every topic, oldest first
// (by commit time, then topic, then seq).
func (a *API) read(ctx context.Context, spec streamSpec) ([]journalEvent, error) {
	var out []journalEvent
	for i, topic := range spec.topics {
		recs, err := spec.org.Store.Outbox(ctx, state.OutboxQuery{Org: spec.org.Alias, Topic: topic, After: spec.cursor[i], Limit: 100})
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			var head struct {
				Type string `json:"type"`
			}
			_ = json.Unmarshal(rec.Payload, &head)
			out = append(out, journalEvent{topic: i, rec: rec, typ: head.Type})
		}
	}
	slices.SortStableFunc(out, func(x, y journalEvent) int {
		return cmp.Or(x.rec.CreatedAt.Compare(y.rec.CreatedAt), cmp.Compare(x.topic, y.topic), cmp.Compare(x.rec.Seq, y.rec.Seq))
	})
	return out, nil
}

// writeEvent writes one SSE event; the payload is compact JSON on one line.
func writeEvent(w http.ResponseWriter, id, typ string, payload []byte) error {
	var buf bytes.Buffer
	if err := json.Compact(&buf, payload); err != nil {
		buf.Reset()
		b, _ := json.Marshal(string(payload))
		buf.Write(b)
	}
	if typ == "" || strings.ContainsAny(typ, "\r\n") {
		typ = "message"
	}
	_, err := fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n\n", id, typ, buf.Bytes())
	return err
}
