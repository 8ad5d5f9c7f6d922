package messaging

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/internal/uuidstr"
)

// ConversationOptions open a conversation.
type ConversationOptions struct {
	// UserID is the end user (the identity token's sub): a stable id such
	// as an employee id or email. Required.
	UserID string
	// ConversationID is a lowercase UUID; empty makes one.
	ConversationID string
	// Routing are the routing attributes (pre-chat field API names →
	// values) the channel's Omni-Channel flow reads.
	Routing map[string]string
	// Transcript is sent as the first end-user messages, in order (the
	// bot's conversation so far, for the agent to read).
	Transcript []string
	// EndWithSession ends the conversation (its channel closes) when the
	// messaging session ends or routing fails, and closes it on the
	// server; a handoff does this. Otherwise only a close ends it and a
	// message after the session ended starts a new session.
	EndWithSession bool
}

// Conversation is one conversation of an end user. Its events arrive on
// Events, exactly once and in transcript order; the channel closes when the
// conversation ends, when Close is called, or when the context given to
// Open ends.
//
// A conversation has no goroutine of its own while nothing happens: the
// stream, the reconcile timer and the context's end wake its pump, which
// runs on a goroutine started for the work and gone when it is done (and
// while the caller has not taken an event, waits for it). At 10,000 open
// conversations that is 10,000 goroutine stacks fewer.
type Conversation struct {
	s       *session
	id      string
	routing map[string]string
	endWith bool

	events chan Event
	ctx    context.Context // ends delivery
	cancel context.CancelFunc
	done   chan struct{}

	// owned by the pump (and by Resume before it starts)
	//
	// list-entries' startTimestamp is inclusive and entries below the
	// watermark are never read again, so only the ids of the entries at
	// the watermark itself need remembering.
	seen      []string
	watermark int64
	over      bool // the terminal event was delivered before a Resume

	// the pump's inbox, under pmu
	pmu      sync.Mutex
	working  bool   // a pump goroutine runs
	finished bool   // the pump ended for good
	kicked   bool   // entries may wait in list-entries
	typingEv *Event // the latest typing indicator not yet delivered
	failErr  error  // the session failed
	stopping bool   // ctx ended
	timer    clock.Timer
	stopCtx  func() bool

	mu        sync.Mutex
	ended     bool
	lastEntry string
}

// Open creates a conversation with the stream of its end user already
// connected (so no event is missed), then sends the transcript.
func (c *Client) Open(ctx context.Context, o ConversationOptions) (*Conversation, error) {
	if o.ConversationID == "" {
		o.ConversationID = uuidstr.New()
	}
	cv, err := c.attach(ctx, "open conversation", o.UserID, o.ConversationID, o.Routing, o.EndWithSession)
	if err != nil {
		return nil, err
	}
	body := map[string]any{"conversationId": cv.id, "esDeveloperName": c.cfg.DeploymentName}
	if len(o.Routing) > 0 {
		body["routingAttributes"] = o.Routing
	}
	if c.cfg.Language != "" {
		body["language"] = c.cfg.Language
	}
	if err := cv.s.call(ctx, http.MethodPost, apiPrefix+"/conversation", body, nil); err != nil {
		cv.detach(ctx)
		return nil, &Error{Op: "create conversation", Problem: "the conversation was not created", Err: err, Fix: createFix(err)}
	}
	cv.start()
	for _, line := range o.Transcript {
		if _, err := cv.Send(ctx, line); err != nil {
			cv.Close()
			return nil, err
		}
	}
	cv.kick()
	return cv, nil
}

// attach registers a conversation with its end user's session, whose
// stream is connected before attach returns. The caller either starts its
// pump or calls detach.
func (c *Client) attach(ctx context.Context, op, userID, convID string, routing map[string]string, endWith bool) (*Conversation, error) {
	if !uuidstr.Valid(convID) {
		return nil, &Error{Op: op, Problem: fmt.Sprintf("conversation id %q is not a lowercase UUID", convID), Fix: "leave it empty or give a lowercase version 4 UUID"}
	}
	if _, err := c.IdentityToken(userID); err != nil {
		return nil, err
	}
	s, err := c.acquire(userID)
	if err != nil {
		return nil, err
	}
	if err := s.ensureStream(ctx); err != nil {
		s.release(ctx)
		return nil, err
	}
	cctx, cancel := context.WithCancel(ctx)
	cv := &Conversation{s: s, id: convID, routing: routing, endWith: endWith,
		events: make(chan Event, c.cfg.EventBuffer), ctx: cctx, cancel: cancel, done: make(chan struct{})}
	s.mu.Lock()
	s.convs[cv.id] = cv
	s.mu.Unlock()
	return cv, nil
}

// detach undoes attach when the pump was never started.
func (cv *Conversation) detach(ctx context.Context) {
	cv.cancel()
	s := cv.s
	s.mu.Lock()
	if s.convs[cv.id] == cv {
		delete(s.convs, cv.id)
	}
	s.mu.Unlock()
	s.release(ctx)
}

// ResumeOptions re-attach to a conversation an end user started earlier,
// for example by a process that was restarted after a crash.
type ResumeOptions struct {
	// UserID is the end user the conversation belongs to (the identity
	// token's sub). Required.
	UserID string
	// ConversationID is the conversation's id. Required.
	ConversationID string
	// After is the id of the last entry whose events the caller handled
	// (Event.EntryID of a non-typing event, or Conversation.LastEntryID):
	// its events and those of every entry before it are not delivered
	// again. Empty delivers from the start of the conversation (or from
	// AfterTime). An id that is not an entry of the conversation is an
	// error.
	After string
	// AfterTime is used when After is empty: entries transcripted at or
	// before it are not delivered again. Entries share millisecond
	// timestamps rarely, but they can: After is exact, AfterTime is not.
	AfterTime time.Time
	// Routing are the conversation's routing attributes, sent again when a
	// message after the session ended starts a new session.
	Routing map[string]string
	// EndWithSession: as in ConversationOptions (a handoff sets it).
	EndWithSession bool
}

// Resume re-attaches to a live conversation of the end user: it connects
// the user's stream, finds the entry After in the conversation, and then
// delivers, exactly once and in transcript order, the events of every
// entry after it (read back through list-entries) followed by live events.
// A conversation that ended while nobody listened yields its remaining
// events and its terminal event; one whose terminal event is at or before
// After has nothing left to deliver, and its Events channel closes at once
// (with EndWithSession, a conversation whose session ended is closed on
// the server first, as Open's would have been).
func (c *Client) Resume(ctx context.Context, o ResumeOptions) (*Conversation, error) {
	cv, err := c.attach(ctx, "resume conversation", o.UserID, o.ConversationID, o.Routing, o.EndWithSession)
	if err != nil {
		return nil, err
	}
	if err := cv.skipTo(ctx, o.After, o.AfterTime); err != nil {
		cv.detach(ctx)
		return nil, err
	}
	cv.start()
	cv.kick()
	return cv, nil
}

// skipTo reads the conversation's entries up to and including the entry
// after (or up to afterTime) and marks them delivered, without delivering
// them. It notes a terminal event among them.
func (cv *Conversation) skipTo(ctx context.Context, after string, afterTime time.Time) error {
	var afterMs int64
	if after == "" {
		if afterTime.IsZero() {
			return cv.checkExists(ctx)
		}
		afterMs = afterTime.UnixMilli()
		cv.watermark = afterMs
	}
	found := false
	for range 1000 {
		page, err := cv.list(ctx)
		if err != nil {
			return resumeError(cv.id, err)
		}
		fresh := 0
		for i := range page {
			e := &page[i]
			if e.Identifier == "" || cv.isSeen(e) {
				continue
			}
			fresh++
			if after == "" && e.TranscriptedTimestamp > afterMs {
				return nil
			}
			cv.markSeen(e)
			for _, ev := range e.events(cv.id) {
				if cv.terminal(ev) {
					cv.over = true
					if ev.Kind != KindClosed {
						cv.finish(ctx, ev)
					}
				}
			}
			if e.Identifier == after {
				found = true
				break
			}
		}
		if found || len(page) < pageSize || fresh == 0 {
			break
		}
	}
	if after != "" && !found {
		return &Error{Op: "resume conversation", Problem: fmt.Sprintf("entry %q is not an entry of conversation %s", after, cv.id),
			Fix: "give the EntryID of a delivered non-typing event of this conversation (typing indicators are not stored), or AfterTime"}
	}
	return nil
}

// checkExists reads the conversation's first entry, so that Resume of an
// unknown conversation fails at once.
func (cv *Conversation) checkExists(ctx context.Context) error {
	err := cv.s.call(ctx, http.MethodGet, apiPrefix+"/conversation/"+cv.id+"/entries?limit=1&direction=FromStart", nil, nil)
	if err != nil {
		return resumeError(cv.id, err)
	}
	return nil
}

func resumeError(id string, err error) error {
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return &Error{Op: "resume conversation", Problem: "conversation " + id + " was not found for this end user", Err: err,
			Fix: "resume with the UserID that started the conversation"}
	}
	return &Error{Op: "resume conversation", Problem: "the conversation's entries could not be read", Err: err, Fix: "see the cause"}
}

func createFix(err error) string {
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
		return "check the routing attribute names against the deployment's pre-chat fields"
	}
	return "see the cause"
}

// ID is the conversation id.
func (cv *Conversation) ID() string { return cv.id }

// Events delivers the conversation's events.
func (cv *Conversation) Events() <-chan Event { return cv.events }

// LastEntryID is the id of the last entry whose events were all handed to
// Events (entries without events for the caller, such as the end user's own
// messages, count too); "" before the first. With the default unbuffered
// channel that is what the caller took, updated just after it took the
// entry's last event; with Config.EventBuffer > 0 events may still wait
// unread in the buffer. A caller that persists its position after handling
// each event can persist that event's EntryID instead. Either is a valid
// ResumeOptions.After.
func (cv *Conversation) LastEntryID() string {
	cv.mu.Lock()
	defer cv.mu.Unlock()
	return cv.lastEntry
}

// Done is closed when the conversation's delivery has finished (its
// Events channel is closed).
func (cv *Conversation) Done() <-chan struct{} { return cv.done }

// Close stops delivering events and releases the end user's session (its
// stream stops and its token is revoked when no other conversation of the
// user is open). It does not close the conversation on the server; End
// does.
func (cv *Conversation) Close() {
	cv.cancel()
	<-cv.done
}

// start arms the pump: the context's end and the reconcile timer wake it.
// The timer starts at a random point of its first interval, so that
// conversations opened together do not all read at once.
func (cv *Conversation) start() {
	cv.pmu.Lock()
	defer cv.pmu.Unlock()
	cv.stopCtx = context.AfterFunc(cv.ctx, func() { cv.wake(func() { cv.stopping = true }) })
	if cv.over {
		cv.stopping = true
		cv.startWorkerLocked()
		return
	}
	if iv := cv.s.c.cfg.ReconcileInterval; iv > 0 {
		cv.timer = cv.s.c.clk.AfterFunc(time.Duration(rand.Int64N(int64(iv)))+1, cv.reconcile)
	}
}

// reconcile reads the entries even without an event, and re-arms.
func (cv *Conversation) reconcile() {
	cv.wake(func() { cv.kicked = true })
	cv.pmu.Lock()
	defer cv.pmu.Unlock()
	if !cv.finished && cv.timer != nil {
		cv.timer.Reset(cv.s.c.cfg.ReconcileInterval)
	}
}

// wake records work for the pump under pmu and starts a pump goroutine if
// none runs.
func (cv *Conversation) wake(note func()) {
	cv.pmu.Lock()
	defer cv.pmu.Unlock()
	note()
	cv.startWorkerLocked()
}

func (cv *Conversation) startWorkerLocked() {
	if !cv.working && !cv.finished {
		cv.working = true
		go cv.pump()
	}
}

func (cv *Conversation) kick() { cv.wake(func() { cv.kicked = true }) }

// typing hands a typing indicator to the pump without blocking the stream;
// an older indicator not yet delivered is replaced.
func (cv *Conversation) typing(ev Event) { cv.wake(func() { cv.typingEv = &ev }) }

func (cv *Conversation) failWith(err error) {
	cv.wake(func() {
		if cv.failErr == nil {
			cv.failErr = err
		}
	})
}

// pump does the work in the inbox, then exits; the conversation's end
// (terminal event, failure, context) is its last work.
func (cv *Conversation) pump() {
	ctx := cv.ctx
	for {
		cv.pmu.Lock()
		switch {
		case cv.stopping:
			cv.finishLocked()
			return
		case cv.failErr != nil:
			err := cv.failErr
			cv.pmu.Unlock()
			cv.emit(ctx, Event{Kind: KindError, ConversationID: cv.id, Err: err, Error: err.Error()})
			cv.pmu.Lock()
			cv.finishLocked()
			return
		case cv.typingEv != nil:
			ev := *cv.typingEv
			cv.typingEv = nil
			cv.pmu.Unlock()
			cv.emit(ctx, ev) // on failure ctx ended: the next round stops
		case cv.kicked:
			cv.kicked = false
			cv.pmu.Unlock()
			if cv.sync(ctx) {
				cv.pmu.Lock()
				cv.finishLocked()
				return
			}
		default:
			cv.working = false
			cv.pmu.Unlock()
			return
		}
	}
}

// finishLocked ends the conversation's delivery for good; it is called
// with pmu held, by the pump, once, and unlocks it.
func (cv *Conversation) finishLocked() {
	cv.finished = true
	if cv.timer != nil {
		cv.timer.Stop()
	}
	stopCtx := cv.stopCtx
	cv.pmu.Unlock()
	if stopCtx != nil {
		stopCtx()
	}
	s := cv.s
	s.mu.Lock()
	if s.convs[cv.id] == cv {
		delete(s.convs, cv.id)
	}
	s.mu.Unlock()
	s.release(cv.ctx)
	close(cv.events)
	close(cv.done)
	cv.cancel()
}

// emit delivers an event unless ctx ends first.
func (cv *Conversation) emit(ctx context.Context, ev Event) bool {
	select {
	case cv.events <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// pageSize is list-entries' maximum.
const pageSize = 50

// list reads one page of entries from the watermark on.
func (cv *Conversation) list(ctx context.Context) ([]rawEntry, error) {
	q := url.Values{"limit": {strconv.Itoa(pageSize)}, "direction": {"FromStart"}}
	if cv.watermark > 0 {
		q.Set("startTimestamp", strconv.FormatInt(cv.watermark, 10))
	}
	var ans struct {
		ConversationEntries []rawEntry `json:"conversationEntries"`
	}
	err := cv.s.call(ctx, http.MethodGet, apiPrefix+"/conversation/"+cv.id+"/entries?"+q.Encode(), nil, &ans)
	cv.s.c.stats.add(func(st *Stats) { st.Syncs++ })
	return ans.ConversationEntries, err
}

// isSeen reports whether e was delivered (or skipped) already: it is below
// the watermark or one of the entries at it.
func (cv *Conversation) isSeen(e *rawEntry) bool {
	if e.TranscriptedTimestamp < cv.watermark {
		return true
	}
	return e.TranscriptedTimestamp == cv.watermark && slices.Contains(cv.seen, e.Identifier)
}

// markSeen records e as delivered and advances the watermark.
func (cv *Conversation) markSeen(e *rawEntry) {
	if e.TranscriptedTimestamp > cv.watermark {
		cv.watermark = e.TranscriptedTimestamp
		cv.seen = cv.seen[:0]
	}
	cv.seen = append(cv.seen, e.Identifier)
	cv.mu.Lock()
	cv.lastEntry = e.Identifier
	cv.mu.Unlock()
}

// sync reads the entries after the watermark and delivers those not seen
// yet, in transcript order. It reports whether the conversation ended.
func (cv *Conversation) sync(ctx context.Context) (terminal bool) {
	s := cv.s
	for range 1000 {
		page, err := cv.list(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.c.log.Debug("messaging backfill failed; the next event or reconcile retries", "conversation", cv.id, "error", err)
			}
			return false
		}
		fresh := 0
		for i := range page {
			e := &page[i]
			if e.Identifier == "" || cv.isSeen(e) {
				continue
			}
			fresh++
			evs := e.events(cv.id)
			for j, ev := range evs {
				if !cv.emit(ctx, ev) {
					return true
				}
				s.c.stats.add(func(st *Stats) { st.Delivered++ })
				if j == len(evs)-1 {
					cv.markSeen(e)
				}
				if cv.terminal(ev) {
					cv.finish(ctx, ev)
					return true
				}
			}
			if len(evs) == 0 {
				cv.markSeen(e)
			}
		}
		if len(page) < pageSize || fresh == 0 {
			return false
		}
	}
	return false
}

func (cv *Conversation) terminal(ev Event) bool {
	switch ev.Kind {
	case KindClosed:
		return true
	case KindEnded, KindRoutingFailed:
		return cv.endWith
	}
	return false
}

// finish closes a handoff's conversation on the server after its session
// ended (routing failed or the agent ended), so nothing stays open.
func (cv *Conversation) finish(ctx context.Context, ev Event) {
	cv.mu.Lock()
	already := cv.ended
	cv.ended = true
	cv.mu.Unlock()
	if ev.Kind == KindClosed || already {
		return
	}
	_ = cv.s.call(ctx, http.MethodDelete, apiPrefix+"/conversation/"+cv.id+"?esDeveloperName="+url.QueryEscape(cv.s.c.cfg.DeploymentName), nil, nil)
}

// Send posts a text message as the end user and returns its entry id.
// When the conversation has no active session (HTTP 417, after an agent
// ended it) the message is sent again starting a new session, routed with
// the conversation's routing attributes. Send is SendWithID with a new
// message id.
func (cv *Conversation) Send(ctx context.Context, text string) (string, error) {
	return cv.send(ctx, uuidstr.New(), text, false)
}

// SendWithID posts a text message under a message id the caller chose (a
// lowercase UUID) and returns its entry id. The agent sees the message
// once however often it is sent with the same id: a send whose answer was
// lost (a dropped connection, a timeout, a 5xx) is looked up by its id in
// the conversation's entries before it is sent again, and a repeated id
// the server refuses (409) or answers with the first entry counts as sent.
// Since the id may have been sent before (by a process that crashed before
// it learnt the answer), SendWithID looks it up first: one list-entries
// read more than Send, whose id is new. A caller that persists the id
// before sending can so retry across a restart (with Resume).
func (cv *Conversation) SendWithID(ctx context.Context, id, text string) (string, error) {
	return cv.send(ctx, id, text, true)
}

func (cv *Conversation) send(ctx context.Context, id, text string, maybeSent bool) (string, error) {
	if err := cv.usable(); err != nil {
		return "", err
	}
	if !uuidstr.Valid(id) {
		return "", &Error{Op: "send message", Problem: fmt.Sprintf("message id %q is not a lowercase UUID", id), Fix: "use a lowercase version 4 UUID"}
	}
	msg := map[string]any{"id": id, "messageType": "StaticContentMessage", "staticContent": map[string]any{"formatType": "Text", "text": text}}
	body := map[string]any{"message": msg, "esDeveloperName": cv.s.c.cfg.DeploymentName, "isNewMessagingSession": false}
	if l := cv.s.c.cfg.Language; l != "" {
		body["language"] = l
	}
	path := apiPrefix + "/conversation/" + cv.id + "/message"
	var entryID string
	ambiguous := maybeSent
	post := func(ctx context.Context) error {
		if ambiguous {
			// The last attempt may have been posted: look before posting
			// again.
			found, err := cv.findMessage(ctx, id)
			if err != nil {
				return err
			}
			if found != "" {
				entryID = found
				return nil
			}
		}
		var ans struct {
			ConversationEntries []struct {
				ID string `json:"id"`
			} `json:"conversationEntries"`
		}
		err := cv.s.callOnce(ctx, http.MethodPost, path, body, &ans)
		if errors.Is(err, ErrNoActiveSession) && body["isNewMessagingSession"] == false {
			body["isNewMessagingSession"] = true
			rattr := map[string]string{}
			for k, v := range cv.routing {
				rattr[k] = v
			}
			body["routingAttributes"] = rattr
			err = cv.s.callOnce(ctx, http.MethodPost, path, body, &ans)
		}
		var ae *APIError
		switch {
		case err == nil:
			if len(ans.ConversationEntries) > 0 {
				entryID = ans.ConversationEntries[0].ID
			}
			return nil
		case errors.As(err, &ae) && ae.Status == http.StatusConflict:
			// The id is taken: by this message, sent before.
			found, ferr := cv.findMessage(ctx, id)
			if ferr == nil && found != "" {
				entryID = found
				return nil
			}
		case transient(err).Retry:
			ambiguous = true
		}
		return err
	}
	if err := restPolicy().Retry(ctx, cv.s.c.clk, transient, post); err != nil {
		return "", &Error{Op: "send message", Problem: "the message was not accepted", Err: err}
	}
	return entryID, nil
}

// findMessage looks for the end user's message with the client-chosen id
// among the conversation's latest entries and returns its entry id ("" if
// it is not there).
func (cv *Conversation) findMessage(ctx context.Context, id string) (string, error) {
	q := url.Values{"limit": {strconv.Itoa(pageSize)}, "direction": {"FromEnd"}, "entryTypeFilter": {"Message"}}
	var ans struct {
		ConversationEntries []rawEntry `json:"conversationEntries"`
	}
	if err := cv.s.callOnce(ctx, http.MethodGet, apiPrefix+"/conversation/"+cv.id+"/entries?"+q.Encode(), nil, &ans); err != nil {
		return "", err
	}
	for i := range ans.ConversationEntries {
		e := &ans.ConversationEntries[i]
		var p struct {
			AbstractMessage struct {
				ID string `json:"id"`
			} `json:"abstractMessage"`
		}
		if e.payload(&p) == nil && p.AbstractMessage.ID == id {
			return e.Identifier, nil
		}
	}
	return "", nil
}

// Typing tells the agent the end user started (true) or stopped typing.
func (cv *Conversation) Typing(ctx context.Context, on bool) error {
	if err := cv.usable(); err != nil {
		return err
	}
	typ := "TypingStoppedIndicator"
	if on {
		typ = "TypingStartedIndicator"
	}
	if err := cv.s.call(ctx, http.MethodPost, apiPrefix+"/conversation/"+cv.id+"/entry", map[string]any{"entryType": typ, "id": uuidstr.New()}, nil); err != nil {
		return &Error{Op: "send typing indicator", Problem: "refused", Err: err}
	}
	return nil
}

// MarkRead sends read receipts for agent entries (Event.EntryID).
func (cv *Conversation) MarkRead(ctx context.Context, entryIDs ...string) error {
	if len(entryIDs) == 0 {
		return nil
	}
	if err := cv.usable(); err != nil {
		return err
	}
	acks := make([]map[string]any, 0, len(entryIDs))
	for _, id := range entryIDs {
		acks = append(acks, map[string]any{"id": uuidstr.New(), "entryType": "Read", "conversationEntryId": id})
	}
	if err := cv.s.call(ctx, http.MethodPost, apiPrefix+"/conversation/"+cv.id+"/acknowledge-entries", map[string]any{"acks": acks}, nil); err != nil {
		return &Error{Op: "send read receipt", Problem: "refused", Err: err}
	}
	return nil
}

// EndSession ends the current messaging session; the conversation stays
// open (a later Send starts a new session).
func (cv *Conversation) EndSession(ctx context.Context) error {
	if err := cv.usable(); err != nil {
		return err
	}
	err := cv.s.call(ctx, http.MethodDelete, apiPrefix+"/conversation/"+cv.id+"/session?esDeveloperName="+url.QueryEscape(cv.s.c.cfg.DeploymentName), nil, nil)
	if err != nil {
		return &Error{Op: "end session", Problem: "refused", Err: err}
	}
	cv.kick()
	return nil
}

// End ends the session and closes the conversation on the server, as an
// end user leaving does; the events that follow (ended by EndUser, closed)
// are still delivered before the channel closes.
func (cv *Conversation) End(ctx context.Context) error {
	if err := cv.usable(); err != nil {
		return err
	}
	cv.mu.Lock()
	cv.ended = true
	cv.mu.Unlock()
	err := cv.s.call(ctx, http.MethodDelete, apiPrefix+"/conversation/"+cv.id+"?esDeveloperName="+url.QueryEscape(cv.s.c.cfg.DeploymentName), nil, nil)
	if err != nil {
		return &Error{Op: "close conversation", Problem: "refused", Err: err}
	}
	cv.kick()
	return nil
}

func (cv *Conversation) usable() error {
	select {
	case <-cv.done:
		return &Error{Op: "conversation " + cv.id, Problem: "the conversation has ended", Err: ErrClosed}
	default:
		return nil
	}
}
