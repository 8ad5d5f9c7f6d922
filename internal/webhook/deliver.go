package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/sfbridge/sfbridge/internal/backoff"
	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/state"
	"github.com/sfbridge/sfbridge/webhooksig"
)

// DeadLetter is the Data of a KindDeadLetter document: an event that was
// not delivered, and why.
type DeadLetter struct {
	ID        string    `json:"id"`
	Type      string    `json:"type,omitempty"`
	Topic     string    `json:"topic"`
	Seq       int64     `json:"seq"`
	CreatedAt time.Time `json:"created_at"`
	DeadAt    time.Time `json:"dead_at"`
	Attempts  int       `json:"attempts"`
	// LastStatus is the HTTP status of the last attempt (0: no answer).
	LastStatus int    `json:"last_status,omitempty"`
	Error      string `json:"error"`
	// Payload is the event as it would have been POSTed (PayloadText when
	// it is not JSON).
	Payload     json.RawMessage `json:"payload,omitempty"`
	PayloadText string          `json:"payload_text,omitempty"`
	// RedrivenAt is when [Redrive] put the event back in the journal
	// (zero: not yet). If it is given up again, a new dead letter
	// replaces this one.
	RedrivenAt time.Time `json:"redriven_at,omitzero"`
}

// AttemptError is a failed delivery attempt: the receiver's status
// (0 when there was no HTTP answer) and what went wrong.
type AttemptError struct {
	Status int
	Err    error
}

func (e *AttemptError) Error() string {
	if e.Status == 0 {
		return "webhook: no answer from the receiver: " + e.Err.Error()
	}
	return fmt.Sprintf("webhook: the receiver answered %d %s", e.Status, http.StatusText(e.Status))
}

func (e *AttemptError) Unwrap() error { return e.Err }

type cursor struct {
	seq     int64
	version int64
}

type cursorValue struct {
	Seq int64 `json:"seq"`
}

// session is one tenure of the lease: the cursors as read when it began,
// and the journal records read ahead.
type session struct {
	d         *Deliverer
	lease     state.Lease
	renewedAt time.Time
	cursors   map[string]*cursor
	buf       map[string][]state.OutboxRecord
	// redriveRead is when TopicRedrive was last read and found empty: it
	// is read every redrivePoll, not every Poll, as it is seldom written.
	redriveRead time.Time
}

// redrivePoll is how often an idle session reads TopicRedrive.
const redrivePoll = 30 * time.Second

func (s *session) key(topic string) state.CheckpointKey {
	return state.CheckpointKey{Org: s.d.cfg.Org, Pipeline: Pipeline, Key: topic}
}

func (s *session) loadCursors(ctx context.Context) error {
	for _, t := range s.d.cfg.Topics {
		cp, err := s.d.cfg.Store.Checkpoint(ctx, s.key(t))
		switch {
		case errors.Is(err, state.ErrNotFound):
			s.cursors[t] = &cursor{}
		case err != nil:
			return fmt.Errorf("webhook: reading the %s cursor: %w", t, err)
		default:
			var v cursorValue
			if err := json.Unmarshal(cp.Value, &v); err != nil {
				return fmt.Errorf("webhook: the cursor %s/%s/%s is not readable (%w): reset it with `sfbridge state reset`", cp.Org, cp.Pipeline, cp.Key, err)
			}
			s.cursors[t] = &cursor{seq: v.Seq, version: cp.Version}
		}
	}
	return nil
}

func (s *session) release(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.d.cfg.Store.ReleaseLease(ctx, s.lease); err != nil {
		s.d.log.Warn("webhooks: releasing the lease", "err", err)
	}
	s.d.update(func(st *Status) { st.Holder = false })
}

// renewIfDue extends the lease once a third of its TTL has passed since
// the last renewal, so that a POST (at most AttemptTimeout, at most half
// the TTL) always ends before it could run out.
func (s *session) renewIfDue(ctx context.Context) error {
	if s.d.clk.Since(s.renewedAt) < s.d.cfg.LeaseTTL/3 {
		return nil
	}
	l, err := s.d.cfg.Store.RenewLease(ctx, s.lease, s.d.cfg.LeaseTTL)
	if err != nil {
		return fmt.Errorf("webhook: renewing the lease %s: %w", s.lease.Name, err)
	}
	s.lease, s.renewedAt = l, s.d.clk.Now()
	return nil
}

// sleep waits d, renewing the lease on the way.
func (s *session) sleep(ctx context.Context, d time.Duration) error {
	for d > 0 {
		step := min(d, s.d.cfg.LeaseTTL/3)
		if err := clock.Sleep(ctx, s.d.clk, step); err != nil {
			return err
		}
		d -= step
		if err := s.renewIfDue(ctx); err != nil {
			return err
		}
	}
	return nil
}

// idle waits for Poll, or less when Wake is called, then renews the lease
// if due.
func (s *session) idle(ctx context.Context) error {
	t := s.d.clk.NewTimer(min(s.d.cfg.Poll, s.d.cfg.LeaseTTL/3))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
	case <-s.d.wake:
	}
	return s.renewIfDue(ctx)
}

func (s *session) loop(ctx context.Context) error {
	for {
		if err := s.renewIfDue(ctx); err != nil {
			return err
		}
		rec, ok, err := s.next(ctx)
		if err != nil {
			return err
		}
		if !ok {
			s.d.update(func(st *Status) { st.State, st.Message, st.Pending = StateRunning, "", nil })
			if err := s.idle(ctx); err != nil {
				return err
			}
			continue
		}
		if err := s.handle(ctx, rec); err != nil {
			return err
		}
	}
}

// next returns the oldest undelivered record across the topics: the
// smallest CreatedAt, ties broken by the order of Config.Topics (within a
// topic, Seq order is commit order). Topics with nothing read ahead are
// read again each time, so a record that just arrived takes its place.
func (s *session) next(ctx context.Context) (state.OutboxRecord, bool, error) {
	var (
		best  state.OutboxRecord
		found bool
	)
	now := s.d.clk.Now()
	for _, t := range s.d.cfg.Topics {
		if len(s.buf[t]) == 0 {
			if t == TopicRedrive && !s.redriveRead.IsZero() && now.Sub(s.redriveRead) < redrivePoll {
				continue
			}
			recs, err := s.d.cfg.Store.Outbox(ctx, state.OutboxQuery{Org: s.d.cfg.Org, Topic: t, After: s.cursors[t].seq, Limit: batch})
			if err != nil {
				return state.OutboxRecord{}, false, fmt.Errorf("webhook: reading the journal topic %s: %w", t, err)
			}
			s.buf[t] = recs
			if t == TopicRedrive {
				s.redriveRead = time.Time{}
				if len(recs) == 0 {
					s.redriveRead = now
				}
			}
		}
		if len(s.buf[t]) == 0 {
			continue
		}
		if r := s.buf[t][0]; !found || r.CreatedAt.Before(best.CreatedAt) {
			best, found = r, true
		}
	}
	return best, found, nil
}

// event is what the Deliverer reads of a payload.
type event struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

func (s *session) handle(ctx context.Context, rec state.OutboxRecord) error {
	var ev event
	if err := json.Unmarshal(rec.Payload, &ev); err != nil {
		// Not a JSON object: no receiver could use it. Nothing to retry.
		dl := s.deadLetter(rec, event{ID: fallbackID(rec)}, 0, 0, fmt.Errorf("the journal payload is not a JSON object: %w", err))
		return s.advance(ctx, rec, ResultDeadLettered, &dl)
	}
	if ev.ID == "" {
		ev.ID = fallbackID(rec)
	}
	if !s.d.filter.match(ev.Type) {
		return s.advance(ctx, rec, ResultFiltered, nil)
	}
	p := &Pending{ID: ev.ID, Type: ev.Type, Topic: rec.Topic, Seq: rec.Seq, CreatedAt: rec.CreatedAt}
	s.d.update(func(st *Status) { st.Pending = p })
	b := s.d.cfg.Retry.Start(s.d.clk)
	deadline := rec.CreatedAt.Add(s.d.cfg.MaxAge)
	for attempt := 1; ; attempt++ {
		if err := s.renewIfDue(ctx); err != nil {
			if attempt > 1 {
				s.d.observe(ResultFailed)
			}
			return err
		}
		s.d.update(func(st *Status) { p.Attempts, p.NextAttempt = attempt, time.Time{}; st.Pending = p })
		status, after, err := s.post(ctx, rec, ev)
		if err == nil {
			if err := s.advance(ctx, rec, ResultDelivered, nil); err != nil {
				s.d.observe(ResultFailed)
				return err
			}
			now := s.d.clk.Now()
			s.d.update(func(st *Status) {
				st.LastDelivered, st.LastEventID, st.Pending, st.State, st.Message = now, ev.ID, nil, StateRunning, ""
			})
			return nil
		}
		if ctx.Err() != nil {
			s.d.observe(ResultFailed)
			return ctx.Err()
		}
		s.d.fail(err)
		var (
			delay time.Duration
			retry bool
		)
		if status != http.StatusGone {
			delay, _ = b.Next(backoff.Verdict{Retry: true, Reason: err.Error(), After: after})
			delay = max(delay, after) // Retry-After may ask for longer than the policy's cap
			retry = s.d.clk.Now().Add(delay).Before(deadline)
		}
		if !retry {
			dl := s.deadLetter(rec, ev, attempt, status, err)
			s.d.log.Error("webhooks: dead-lettered an event", "event_id", ev.ID, "type", ev.Type, "attempts", attempt, "status", status, "err", err)
			if err := s.advance(ctx, rec, ResultDeadLettered, &dl); err != nil {
				return err
			}
			s.d.update(func(st *Status) { st.Pending, st.State, st.Message = nil, StateRunning, "" })
			return nil
		}
		next := s.d.clk.Now().Add(delay)
		s.d.update(func(st *Status) {
			p.LastStatus, p.NextAttempt = status, next
			st.Pending, st.State = p, StateDegraded
			st.Message = "retrying event " + ev.ID + ": " + err.Error()
		})
		s.d.log.Warn("webhooks: delivery failed; retrying", "event_id", ev.ID, "type", ev.Type, "attempt", attempt, "status", status, "next_in", delay.String(), "err", err)
		s.d.observe(ResultRetried)
		if err := s.sleep(ctx, delay); err != nil {
			return err
		}
	}
}

func fallbackID(rec state.OutboxRecord) string {
	return rec.Org + ":" + rec.Topic + ":" + strconv.FormatInt(rec.Seq, 10)
}

// post makes one attempt. It returns the HTTP status (0 for none), the
// receiver's Retry-After on 429 and 503, and nil for a 2xx.
func (s *session) post(ctx context.Context, rec state.OutboxRecord, ev event) (int, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, s.d.cfg.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.d.cfg.URL, bytes.NewReader(rec.Payload))
	if err != nil {
		return 0, 0, &AttemptError{Err: redactURL(err)}
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "sfbridge-webhooks/1")
	h.Set(webhooksig.HeaderEventID, ev.ID)
	if ev.Type != "" {
		h.Set(webhooksig.HeaderEventType, ev.Type)
	}
	h.Set(webhooksig.HeaderSignature, webhooksig.SignatureHeader(s.d.clk.Now(), rec.Payload, s.d.cfg.Secret))
	resp, err := s.d.client.Do(req)
	if err != nil {
		return 0, 0, &AttemptError{Err: redactURL(err)}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, 0, nil
	}
	var after time.Duration
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		after, _ = backoff.ParseRetryAfter(resp.Header.Get("Retry-After"), s.d.clk.Now())
	}
	return resp.StatusCode, after, &AttemptError{Status: resp.StatusCode}
}

// redactURL drops the URL from a client error: it may carry a token in
// its query or user info.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

func (s *session) deadLetter(rec state.OutboxRecord, ev event, attempts, status int, err error) DeadLetter {
	dl := DeadLetter{
		ID: ev.ID, Type: ev.Type, Topic: rec.Topic, Seq: rec.Seq, CreatedAt: rec.CreatedAt, DeadAt: s.d.clk.Now(),
		Attempts: attempts, LastStatus: status, Error: err.Error(),
	}
	if json.Valid(rec.Payload) {
		dl.Payload = json.RawMessage(rec.Payload)
	} else {
		dl.PayloadText = string(rec.Payload)
	}
	return dl
}

// advance moves the topic's cursor past rec under the lease, storing a
// dead letter in the same transaction when there is one, and reports
// result. A receiver's 2xx is recorded even when ctx has just ended, so a
// shutdown right after an acknowledgement does not cause a redelivery.
func (s *session) advance(ctx context.Context, rec state.OutboxRecord, result string, dl *DeadLetter) error {
	c := s.cursors[rec.Topic]
	val, err := json.Marshal(cursorValue{Seq: rec.Seq})
	if err != nil {
		return err
	}
	commit := state.Commit{Key: s.key(rec.Topic), Expect: c.version, Value: val, Fence: state.FenceOf(s.lease)}
	if dl != nil {
		data, err := json.Marshal(dl)
		if err != nil {
			return err
		}
		commit.Documents = []state.Document{{Org: s.d.cfg.Org, Kind: KindDeadLetter, ID: dl.ID, Data: data, UpdatedAt: dl.DeadAt}}
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.d.cfg.AttemptTimeout)
	defer cancel()
	cp, err := s.d.cfg.Store.Commit(cctx, commit)
	if err != nil {
		return fmt.Errorf("webhook: advancing the %s cursor past seq %d: %w", rec.Topic, rec.Seq, err)
	}
	c.seq, c.version = rec.Seq, cp.Version
	s.buf[rec.Topic] = s.buf[rec.Topic][1:]
	s.d.observe(result)
	return nil
}
