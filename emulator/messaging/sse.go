package messaging

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Reasons a stream is ended by the server.
const (
	killNone = iota
	killReplaced
	killExpired
	killShutdown
)

// stream is one open SSE connection: it reads its subject's ring from
// cursor on, woken through wake.
type stream struct {
	tok    *accessToken
	cursor int64
	wake   chan struct{}
	reason int
}

func (st *stream) signal() {
	select {
	case st.wake <- struct{}{}:
	default:
	}
}

func (st *stream) kill(reason int) {
	if st.reason == killNone {
		st.reason = reason
	}
	st.signal()
}

// expiredBody is what Salesforce answers (and the stream ends with) once
// the access token has expired.
const expiredBody = `{"status":401,"error":"Unauthorized","path":"/eventrouter/v1/sse"}`

// WriteFrame writes one SSE frame in Salesforce's form: "id:", "event:"
// and a single "data:" line, no space after the colons, then a blank line.
// Data must not contain a newline (JSON does not).
func WriteFrame(w *bufio.Writer, id int64, name string, data []byte) error {
	// bufio.Writer keeps its first error and returns it from every later
	// call, so checking the last write covers them all.
	if id != 0 {
		_, _ = w.WriteString("id:")
		_, _ = w.WriteString(strconv.FormatInt(id, 10))
		_ = w.WriteByte('\n')
	}
	_, _ = w.WriteString("event:")
	_, _ = w.WriteString(name)
	_, _ = w.WriteString("\ndata:")
	_, _ = w.Write(data)
	_, err := w.WriteString("\n\n")
	return err
}

// publishLocked appends an event to the subject's ring (after any SSE
// fault) and wakes its streams.
func (s *Server) publishLocked(subj *subject, name string, data []byte) {
	s.seq++
	ev := &event{id: s.seq, name: name, data: data}
	action, delay := s.faultForLocked(name)
	switch action {
	case "drop":
		return
	case "delay":
		s.afterLocked(delay, func() {
			s.seq++
			s.appendLocked(subj, &event{id: s.seq, name: name, data: data})
		})
		return
	}
	s.appendLocked(subj, ev)
	if action == "duplicate" {
		s.appendLocked(subj, ev)
	}
}

func (s *Server) appendLocked(subj *subject, ev *event) {
	pos := ev.id
	if n := len(subj.ring); n > 0 && subj.ring[n-1].pos >= pos {
		s.seq++
		pos = s.seq
	}
	if len(subj.ring) >= s.settings.ReplayBuffer {
		k := len(subj.ring) - s.settings.ReplayBuffer + 1
		subj.ring = slices.Delete(subj.ring, 0, k)
	}
	subj.ring = append(subj.ring, ringEntry{pos: pos, ev: ev})
	for st := range subj.streams {
		st.signal()
	}
}

// InjectEvent publishes an event of any name (clients must ignore unknown
// ones) on the stream of a conversation's end user.
func (s *Server) InjectEvent(conversationID, name string, payload []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.convs[conversationID]
	if c == nil {
		return fmt.Errorf("no conversation %s", conversationID)
	}
	if name == "" || strings.ContainsAny(name, "\r\n") {
		return errors.New("the event name must be one line")
	}
	if len(payload) == 0 {
		payload = []byte(`{}`)
	}
	data := strings.ReplaceAll(string(payload), "\n", " ")
	s.publishLocked(c.subj, name, []byte(fmt.Sprintf(`{"channelPlatformKey":%q,"channelType":"embedded_messaging","channelAddressIdentifier":%q,"conversationId":%q,"payload":%s}`,
		c.subj.key, c.dep.channel.id, c.id, data)))
	return nil
}

// SSEFault drops, duplicates or delays the next Count events (of Event, or
// any) on end users' streams.
type SSEFault struct {
	ID     string   `json:"id,omitempty"`
	Action string   `json:"action"`
	Event  string   `json:"event,omitempty"`
	Count  int      `json:"count,omitempty"`
	Delay  Duration `json:"delay,omitzero"`
	Fired  int      `json:"fired"`
}

type sseFault struct{ SSEFault }

// AddSSEFault adds a fault; Count 0 means once.
func (s *Server) AddSSEFault(f SSEFault) (string, error) {
	switch f.Action {
	case "drop", "duplicate":
	case "delay":
		if f.Delay <= 0 {
			return "", errors.New("a delay fault needs a positive delay")
		}
	default:
		return "", fmt.Errorf("SSE fault action %q is not drop, duplicate or delay", f.Action)
	}
	if f.Count <= 0 {
		f.Count = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faultSeq++
	f.ID = "sse" + strconv.Itoa(s.faultSeq)
	f.Fired = 0
	s.faults = append(s.faults, &sseFault{f})
	return f.ID, nil
}

// SSEFaults lists the faults with how often they fired.
func (s *Server) SSEFaults() []SSEFault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []SSEFault{}
	for _, f := range s.faults {
		out = append(out, f.SSEFault)
	}
	return out
}

// ClearSSEFaults removes every SSE fault.
func (s *Server) ClearSSEFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

func (s *Server) faultForLocked(name string) (string, time.Duration) {
	for _, f := range s.faults {
		if f.Fired >= f.Count || f.Event != "" && f.Event != name {
			continue
		}
		f.Fired++
		return f.Action, f.Delay.D()
	}
	return "", 0
}

// handleSSE serves the event stream of the token's end user.
func (s *Server) handleSSE(w http.ResponseWriter, r *http.Request) {
	tok, e := s.tokenFromRequest(r)
	if e != nil {
		if strings.Contains(e.Message, "expired") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(expiredBody))
			return
		}
		writeErr(w, r, e)
		return
	}
	if !strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		writeErr(w, r, apiErr(http.StatusNotAcceptable, "Specify the header Accept: text/event-stream."))
		return
	}
	org := r.Header.Get("X-Org-Id")
	if org == "" {
		writeErr(w, r, apiErr(http.StatusBadRequest, "Specify the X-Org-Id header."))
		return
	}
	if len(org) < 15 || org[:15] != s.orgID15 || len(org) != 15 && len(org) != 18 {
		writeErr(w, r, apiErr(http.StatusBadRequest, "OrgId in the header and token must match"))
		return
	}
	st := &stream{tok: tok, wake: make(chan struct{}, 1)}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		writeErr(w, r, apiErr(http.StatusServiceUnavailable, "The event router is shutting down."))
		return
	}
	subj := tok.subj
	st.cursor = s.seq
	if last := r.Header.Get("Last-Event-Id"); last != "" {
		if n, err := strconv.ParseInt(strings.TrimSpace(last), 10, 64); err == nil && n >= 0 && n < st.cursor {
			st.cursor = n
		}
	}
	for old := range tok.streams { // one stream per access token
		old.kill(killReplaced)
		delete(tok.streams, old)
		delete(subj.streams, old)
	}
	tok.streams[st] = struct{}{}
	subj.streams[st] = struct{}{}
	s.streams++
	ping := s.settings.PingInterval.D()
	exp := tok.exp
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(tok.streams, st)
		delete(subj.streams, st)
		s.streams--
		s.mu.Unlock()
	}()

	// The timers exist before the client sees the answer, so a test that
	// advances a fake clock right after connecting cannot miss them.
	ticker := s.clk.NewTicker(ping)
	defer ticker.Stop()
	expiry := s.clk.NewTimer(max(exp.Sub(s.now()), 0))
	defer expiry.Stop()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream;charset=UTF-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	bw, flush, gone, ok := openStream(w, r)
	if !ok {
		return
	}
	st.signal() // replay what Last-Event-Id missed
	var batch []*event
	for {
		select {
		case <-gone:
			return
		case <-ticker.C():
			if WriteFrame(bw, 0, "ping", []byte("0")) != nil || flush() != nil {
				return
			}
			continue
		case <-expiry.C():
		case <-st.wake:
		}
		s.mu.Lock()
		reason := st.reason
		if reason == killNone && tok.invalidLocked(s.now()) != "" {
			reason = killExpired
		}
		batch = batch[:0]
		for _, re := range subj.ring {
			if re.pos > st.cursor {
				batch = append(batch, re.ev)
				st.cursor = re.pos
			}
		}
		if reason == killNone && !tok.expired && !tok.revoked {
			if d := tok.exp.Sub(s.now()); d > 0 {
				expiry.Reset(d)
			}
		}
		s.mu.Unlock()
		for _, ev := range batch {
			if WriteFrame(bw, ev.id, ev.name, ev.data) != nil {
				return
			}
		}
		if reason == killExpired {
			_ = WriteFrame(bw, 0, "error", []byte(expiredBody)) // the flush below reports a failure
		}
		if flush() != nil || reason != killNone {
			return
		}
	}
}

// Streams reports how many SSE streams are open.
func (s *Server) Streams() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams
}

// writeTimeout bounds each write to a stream whose client stopped reading.
const writeTimeout = 30 * time.Second

// openStream sends the 200 and returns the writer of the stream, its flush
// (each write bounded by writeTimeout, so a client that stopped reading is
// cut off) and a channel closed when the client goes away.
//
// Taking the connection over from net/http (hijack) was measured: without
// a reader goroutine an idle stream costs 21.7 KB instead of 26.7 KB, but a
// client that left is then noticed only at the next ping; with one, 26.3 KB,
// no better than net/http's own background read. net/http it is.
func openStream(w http.ResponseWriter, r *http.Request) (bw *bufio.Writer, flush func() error, gone <-chan struct{}, ok bool) {
	rc := http.NewResponseController(w)
	w.WriteHeader(http.StatusOK)
	// Socket deadlines are the kernel's wall-clock time, not the org's
	// (possibly simulated) clock: they bound a write to a stuck client.
	_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if rc.Flush() != nil {
		return nil, nil, nil, false
	}
	bw = bufio.NewWriterSize(w, 512)
	return bw, func() error {
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if err := bw.Flush(); err != nil {
			return err
		}
		return rc.Flush()
	}, r.Context().Done(), true
}
