package botapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/messaging"
	"github.com/sfbridge/sfbridge/state"
)

// PumpPipeline is the pipeline name of the handoff pump's lease:
// state.PipelineLease(org, PumpPipeline).
const PumpPipeline = "messaging"

// PumpOptions configure a Pump.
type PumpOptions struct {
	// Org is the org whose handoffs the pump follows (Alias, Store and
	// Messenger are required).
	Org *Org
	// Owner names this replica in the lease (for example host:pid).
	Owner string
	// LeaseTTL is the lease's time to live (default 30s); it is renewed
	// every third of it.
	LeaseTTL time.Duration
	// Scan is how often the pump looks for new or unfollowed handoffs
	// (default 1s).
	Scan time.Duration
	// Retry is the wait before following a handoff again whose stream
	// failed (default 10s).
	Retry time.Duration
	// Clock is the time source (nil: real time).
	Clock  clock.Clock
	Logger *slog.Logger
	// Observer receives the open-handoff gauge.
	Observer Observer
	// Notify is called after each journal commit (API.Notify, to wake the
	// SSE streams of this process at once); nil skips it.
	Notify func(org string)
}

// PumpStatus is what a pump reports for the daemon's status page.
type PumpStatus struct {
	Leader      bool      `json:"leader"`
	Following   int       `json:"following"`
	Events      int64     `json:"events"`
	Errors      int64     `json:"errors"`
	LastError   string    `json:"last_error,omitempty"`
	LastSuccess time.Time `json:"last_success,omitzero"`
}

// Pump follows the open handoffs of one org: it holds their messaging
// streams and appends their events to the journal topics handoff.<id>,
// each in the same commit as the handoff's checkpoint, under the lease
// (org, "messaging"). One replica runs it at a time; the API on every
// replica reads the journal.
type Pump struct {
	o   PumpOptions
	org *Org
	clk clock.Clock
	log *slog.Logger

	mu     sync.Mutex
	status PumpStatus
	retry  map[string]time.Time // handoff → not before

	// ended are the handoffs a scan found ended, with the version it read:
	// an ended record is not written again, so later scans skip it
	// without decoding it (scan runs on Run's goroutine only).
	ended map[string]int64
}

// NewPump checks the options.
func NewPump(o PumpOptions) (*Pump, error) {
	if o.Org == nil || o.Org.Alias == "" || o.Org.Store == nil || o.Org.Messenger == nil {
		return nil, errors.New("botapi: PumpOptions.Org needs Alias, Store and Messenger")
	}
	if o.Owner == "" {
		return nil, errors.New("botapi: PumpOptions.Owner is required: name this replica (host:pid)")
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 30 * time.Second
	}
	if o.Scan <= 0 {
		o.Scan = time.Second
	}
	if o.Retry <= 0 {
		o.Retry = 10 * time.Second
	}
	p := &Pump{o: o, org: o.Org, clk: clock.Or(o.Clock), log: o.Logger, retry: map[string]time.Time{}, ended: map[string]int64{}}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p, nil
}

// Status reports the pump's state.
func (p *Pump) Status() PumpStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status
}

func (p *Pump) update(f func(*PumpStatus)) {
	p.mu.Lock()
	f(&p.status)
	p.mu.Unlock()
}

func (p *Pump) fail(err error) {
	p.update(func(s *PumpStatus) { s.Errors++; s.LastError = err.Error() })
}

// Run waits for the lease, then follows every open handoff until ctx ends
// (nil) or the lease is lost (an error wrapping state.ErrFenced; the owner
// restarts Run with backoff).
func (p *Pump) Run(ctx context.Context) error {
	name := state.PipelineLease(p.org.Alias, PumpPipeline)
	st := p.org.Store
	var lease state.Lease
	for {
		l, err := st.AcquireLease(ctx, name, p.o.Owner, p.o.LeaseTTL)
		if err == nil {
			lease = l
			break
		}
		var held *state.LeaseHeldError
		if !errors.As(err, &held) {
			return fmt.Errorf("botapi: taking the handoff lease %s: %w", name, err)
		}
		if err := clock.Sleep(ctx, p.clk, p.o.LeaseTTL/3); err != nil {
			return nil
		}
	}
	p.update(func(s *PumpStatus) { s.Leader = true })
	defer p.update(func(s *PumpStatus) { s.Leader = false; s.Following = 0 })
	rctx, cancel := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel(nil)
		wg.Wait()
		_ = st.ReleaseLease(context.WithoutCancel(ctx), lease)
	}()
	fence := state.FenceOf(lease)
	following := map[string]chan struct{}{}
	renew := p.clk.NewTicker(p.o.LeaseTTL / 3)
	defer renew.Stop()
	scan := p.clk.NewTicker(p.o.Scan)
	defer scan.Stop()
	for {
		if err := p.scan(rctx, fence, following, &wg, cancel); err != nil && rctx.Err() == nil {
			p.fail(err)
			p.log.Warn("botapi: scanning handoffs failed", "org", p.org.Alias, "error", err)
		}
		select {
		case <-rctx.Done():
			if cause := context.Cause(rctx); cause != nil && !errors.Is(cause, context.Canceled) {
				return cause
			}
			return nil
		case <-renew.C():
			l, err := st.RenewLease(rctx, lease, p.o.LeaseTTL)
			if err != nil {
				if rctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("botapi: the handoff lease %s was lost; its handoffs move to the replica that takes it: %w", name, err)
			}
			lease = l
		case <-scan.C():
		}
	}
}

// scan starts following the open handoffs not followed yet.
func (p *Pump) scan(ctx context.Context, fence state.Fence, following map[string]chan struct{}, wg *sync.WaitGroup, stop context.CancelCauseFunc) error {
	for id, done := range following {
		select {
		case <-done:
			delete(following, id)
		default:
		}
	}
	cps, err := p.org.Store.Checkpoints(ctx, p.org.Alias)
	if err != nil {
		return err
	}
	now := p.clk.Now()
	listed := make(map[string]bool, len(p.ended))
	for _, cp := range cps {
		id, ok := strings.CutPrefix(cp.Pipeline, handoffPipelinePrefix)
		if !ok || cp.Key != "state" {
			continue
		}
		listed[id] = true
		if v, ok := p.ended[id]; ok && v == cp.Version {
			continue
		}
		if _, busy := following[id]; busy {
			continue
		}
		p.mu.Lock()
		notBefore := p.retry[id]
		p.mu.Unlock()
		if now.Before(notBefore) {
			continue
		}
		var rec handoffRecord
		if err := json.Unmarshal(cp.Value, &rec); err != nil {
			continue
		}
		if rec.State != StateOpen {
			p.ended[id] = cp.Version
			continue
		}
		done := make(chan struct{})
		following[id] = done
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done)
			err := p.follow(ctx, fence, &rec, cp.Version)
			if err != nil && ctx.Err() == nil {
				p.fail(err)
				if errors.Is(err, state.ErrFenced) {
					stop(err)
					return
				}
				p.log.Warn("botapi: following a handoff failed; it is retried", "org", p.org.Alias, "handoff", id, "error", err)
				p.mu.Lock()
				p.retry[id] = p.clk.Now().Add(p.o.Retry)
				p.mu.Unlock()
			}
		}()
	}
	for id := range p.ended {
		if !listed[id] {
			delete(p.ended, id) // swept by the journal janitor
		}
	}
	p.update(func(s *PumpStatus) { s.Following = len(following) })
	return nil
}

// follow holds one handoff's stream and journals its events until it ends.
func (p *Pump) follow(ctx context.Context, fence state.Fence, rec *handoffRecord, version int64) error {
	p.o.Observer.handoffs(p.org.Alias, 1)
	defer p.o.Observer.handoffs(p.org.Alias, -1)
	s, err := p.org.Messenger.Follow(ctx, rec.conversation())
	if err != nil {
		return err
	}
	defer s.Close()
	for {
		var ev messaging.Event
		var ok bool
		select {
		case <-ctx.Done():
			return nil
		case ev, ok = <-s.Events():
		}
		if !ok {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("botapi: the stream of handoff %s closed before the handoff ended", rec.ID)
		}
		he, keep := p.translate(rec, ev)
		if !keep {
			continue
		}
		version, err = p.commit(ctx, fence, rec, version, he, entryMillis(rec, ev))
		if err != nil {
			return err
		}
		if rec.State != StateOpen {
			return nil
		}
	}
}

// entryMillis is the transcript time of an entry's event in Unix
// milliseconds; an event without one counts as at the watermark, so it is
// deduped by its id.
func entryMillis(rec *handoffRecord, ev messaging.Event) int64 {
	if ev.Time.IsZero() {
		return rec.Watermark
	}
	return ev.Time.UnixMilli()
}

// translate maps a messaging event to a handoff event with a stable id;
// false drops it (a close after the end, an event already journaled).
func (p *Pump) translate(rec *handoffRecord, ev messaging.Event) (HandoffEvent, bool) {
	he := HandoffEvent{HandoffID: rec.ID, Time: ev.Time.UTC(), Agent: ev.Agent, Text: ev.Text, Queue: ev.Queue,
		EstimatedWaitSeconds: ev.EstimatedWaitSeconds, EndedBy: ev.EndedBy, FailureType: ev.FailureType, Reason: ev.Reason, Error: ev.Error}
	switch ev.Kind {
	case messaging.KindQueued:
		he.Type = EventQueued
	case messaging.KindAgentJoined:
		he.Type = EventAgentJoined
	case messaging.KindAgentMessage:
		he.Type = EventAgentMessage
	case messaging.KindAgentTyping:
		he.Type = EventAgentTyping
		he.Typing = &ev.Typing
	case messaging.KindTransferred:
		he.Type = EventTransferred
	case messaging.KindAgentLeft:
		he.Type = EventAgentLeft
	case messaging.KindEnded, messaging.KindClosed:
		he.Type = EventEnded
		if he.EndedBy == "" && ev.Kind == messaging.KindClosed {
			he.EndedBy = "Closed"
		}
	case messaging.KindRoutingFailed:
		he.Type = EventRoutingFailed
	case messaging.KindError:
		he.Type = EventError
	default:
		return he, false
	}
	if he.Time.IsZero() {
		he.Time = p.clk.Now().UTC()
	}
	if ev.EntryID != "" && ev.Kind != messaging.KindAgentTyping && ev.Kind != messaging.KindError {
		he.ID = ev.EntryID + ":" + he.Type
		if rec.seenEntry(he.ID, entryMillis(rec, ev)) {
			return he, false
		}
	} else {
		if rec.Counts == nil {
			rec.Counts = map[string]int{}
		}
		he.ID = rec.ConversationID + ":" + he.Type + ":" + strconv.Itoa(rec.Counts[he.Type]+1)
	}
	return he, true
}

// commit appends he to the journal and advances the handoff's checkpoint
// in one transaction.
func (p *Pump) commit(ctx context.Context, fence state.Fence, rec *handoffRecord, version int64, he HandoffEvent, ms int64) (int64, error) {
	next := *rec
	next.Counts = maps.Clone(rec.Counts)
	if strings.HasPrefix(he.ID, rec.ConversationID+":") {
		// Synthesized ids are numbered, not remembered.
		if next.Counts == nil {
			next.Counts = map[string]int{}
		}
		next.Counts[he.Type]++
	} else {
		next.markEntry(he.ID, ms)
	}
	next.LastEventID = he.ID
	if he.Type == EventEnded || he.Type == EventRoutingFailed {
		next.State = StateEnded
	}
	payload, err := json.Marshal(he)
	if err != nil {
		return version, err
	}
	value, err := json.Marshal(next)
	if err != nil {
		return version, err
	}
	now := p.clk.Now()
	cp, err := p.org.Store.Commit(ctx, state.Commit{Key: handoffKey(p.org.Alias, rec.ID), Expect: version, Value: value, Fence: fence,
		Outbox: []state.OutboxRecord{{Org: p.org.Alias, Topic: HandoffTopic(rec.ID), Payload: payload, CreatedAt: now},
			{Org: p.org.Alias, Topic: TopicHandoffs, Payload: payload, CreatedAt: now}}})
	if err != nil {
		return version, fmt.Errorf("botapi: journaling %s of handoff %s: %w", he.Type, rec.ID, err)
	}
	*rec = next
	p.update(func(s *PumpStatus) { s.Events++; s.LastSuccess = p.clk.Now() })
	if p.o.Notify != nil {
		p.o.Notify(p.org.Alias)
	}
	return cp.Version, nil
}
