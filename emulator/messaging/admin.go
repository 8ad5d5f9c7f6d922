package messaging

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
)

// AdminPrefix is where the emulator mounts AdminHandler.
const AdminPrefix = "/_emulator/messaging/"

// WorkItem is a conversation as an agent sees it: its session, routing
// attributes and transcript.
type WorkItem struct {
	ConversationID string `json:"conversation_id"`
	EndUser        string `json:"end_user"`
	EndUserName    string `json:"end_user_name"`
	Deployment     string `json:"deployment"`
	Status         string `json:"status"` // Waiting, Active, Ended, Closed
	RoutingStatus  string `json:"routing_status"`
	Queue          string `json:"queue,omitempty"`
	Agent          string `json:"agent,omitempty"`
	// AgentScripted is set when Agent is a scripted agent (a human agent
	// of the queue can take the conversation over).
	AgentScripted     bool              `json:"agent_scripted,omitempty"`
	RoutingAttributes map[string]string `json:"routing_attributes"`
	SessionRecordID   string            `json:"session_record_id,omitempty"`
	WaitingSeconds    int               `json:"waiting_seconds"`
	EndUserTyping     bool              `json:"end_user_typing"`
	Transcript        []TranscriptLine  `json:"transcript"`
}

// TranscriptLine is one message or event of a conversation.
type TranscriptLine struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Role      string `json:"role"`
	Name      string `json:"name"`
	Text      string `json:"text"`
	Timestamp int64  `json:"timestamp"`
}

func (s *Server) workItemLocked(c *conversation) WorkItem {
	w := WorkItem{ConversationID: c.id, EndUser: c.subj.key, EndUserName: endUserName(c), Deployment: c.dep.spec.Name,
		RoutingStatus: c.status, RoutingAttributes: map[string]string{}, Transcript: []TranscriptLine{}}
	if ss := c.sess; ss != nil {
		w.Status = ss.status
		w.AgentScripted = ss.agent != nil && ss.agent.script != nil
		w.RoutingAttributes = ss.attrs
		w.SessionRecordID = ss.recordID
		w.EndUserTyping = ss.userTyped
		if ss.queue != nil {
			w.Queue = ss.queue.name
			if ss.agent == nil && ss.status != "Ended" {
				w.WaitingSeconds = int(s.now().Sub(ss.enqueued).Seconds())
			}
		}
		if ss.agent != nil {
			w.Agent = ss.agent.name
		}
	}
	if c.closed {
		w.Status = "Closed"
	}
	for _, e := range c.entries {
		line := TranscriptLine{ID: e.ID, Type: e.Type, Role: e.Sender.Role, Name: e.Name, Timestamp: e.Timestamp}
		var p struct {
			AbstractMessage struct {
				StaticContent struct {
					Text        string `json:"text"`
					Attachments []struct {
						Name string `json:"name"`
					} `json:"attachments"`
				} `json:"staticContent"`
			} `json:"abstractMessage"`
			Entries []struct {
				Operation   string `json:"operation"`
				DisplayName string `json:"displayName"`
			} `json:"entries"`
			RoutingType   string `json:"routingType"`
			FailureType   string `json:"failureType"`
			SessionStatus string `json:"sessionStatus"`
			EndedBy       string `json:"sessionEndedByRole"`
		}
		_ = json.Unmarshal(e.Payload, &p)
		switch e.Type {
		case "Message":
			line.Text = p.AbstractMessage.StaticContent.Text
			for _, a := range p.AbstractMessage.StaticContent.Attachments {
				line.Text = strings.TrimSpace(line.Text + " [file " + a.Name + "]")
			}
		case "ParticipantChanged":
			for _, x := range p.Entries {
				line.Text = x.DisplayName + " " + map[string]string{"add": "joined", "remove": "left"}[x.Operation]
			}
		case "RoutingResult":
			line.Text = p.RoutingType + " routing: " + p.FailureType
		case "SessionStatusChanged":
			line.Text = "session " + p.SessionStatus
			if p.EndedBy != "" {
				line.Text += " by " + p.EndedBy
			}
		case "CloseConversation":
			line.Text = "conversation closed"
		default:
			continue
		}
		w.Transcript = append(w.Transcript, line)
	}
	return w
}

// Work lists conversations: with agent set, those the agent works, those
// waiting in its queues and, for a human agent, those a scripted agent
// works in its queues (which it can take over); otherwise all open ones
// (closed too with all).
func (s *Server) Work(agentName string, all bool) ([]WorkItem, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var a *agent
	if agentName != "" {
		if a = s.agents[strings.ToLower(agentName)]; a == nil {
			return nil, fmt.Errorf("%w: %q", ErrNoAgent, agentName)
		}
	}
	var convs []*conversation
	for _, c := range s.convs {
		ss := c.sess
		switch {
		case a != nil:
			if ss == nil || ss.status == "Ended" || c.closed {
				continue
			}
			mine := ss.agent == a
			waiting := ss.agent == nil && a.serves(ss.queue)
			takeable := ss.agent != nil && ss.agent.script != nil && a.script == nil && a.serves(ss.queue)
			if !mine && !waiting && !takeable {
				continue
			}
		case !all && (c.closed || ss == nil || ss.status == "Ended"):
			continue
		}
		convs = append(convs, c)
	}
	sort.Slice(convs, func(i, j int) bool { return convs[i].created.Before(convs[j].created) })
	out := []WorkItem{}
	for _, c := range convs {
		out = append(out, s.workItemLocked(c))
	}
	return out, nil
}

// Conversation returns one conversation's work item.
func (s *Server) Conversation(id string) (WorkItem, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.convs[id]
	if c == nil {
		return WorkItem{}, fmt.Errorf("%w: %s", ErrNoConversation, id)
	}
	return s.workItemLocked(c), nil
}

type adminErrorBody struct {
	Error string `json:"error"`
}

func adminError(w http.ResponseWriter, err error) {
	status := http.StatusBadRequest
	switch {
	case errors.Is(err, ErrNoConversation), errors.Is(err, ErrNoAgent), errors.Is(err, ErrNoQueue):
		status = http.StatusNotFound
	case errors.Is(err, ErrState):
		status = http.StatusConflict
	}
	writeJSON(w, status, adminErrorBody{Error: err.Error()})
}

// decodeAdmin reads a JSON body strictly (unknown fields are refused).
func decodeAdmin(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 4<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && err != io.EOF {
		return fmt.Errorf("the body is not the expected JSON: %w", err)
	}
	return nil
}

func put[T any](f func(T) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var v T
		if err := decodeAdmin(r, &v); err != nil {
			adminError(w, err)
			return
		}
		if err := f(v); err != nil {
			adminError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

// agentAction is the body of the conversation actions.
type agentAction struct {
	Agent  string `json:"agent,omitempty"`
	Text   string `json:"text,omitempty"`
	Typing *bool  `json:"typing,omitempty"`
	Queue  string `json:"queue,omitempty"`
}

// AdminHandler serves the messaging admin API under AdminPrefix; the
// emulator checks the admin token before it.
func (s *Server) AdminHandler() http.Handler { return s.admin }

func (s *Server) adminMux() *http.ServeMux {
	m := http.NewServeMux()
	p := strings.TrimSuffix(AdminPrefix, "/")
	m.HandleFunc("GET "+p+"/setup", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.View()) })
	m.HandleFunc("POST "+p+"/setup", put(s.Apply))
	m.HandleFunc("POST "+p+"/deployments", put(s.PutDeployment))
	m.HandleFunc("POST "+p+"/channels", put(s.PutChannel))
	m.HandleFunc("POST "+p+"/queues", put(s.PutQueue))
	m.HandleFunc("PUT "+p+"/routing-rules", put(s.SetRules))
	m.HandleFunc("PATCH "+p+"/settings", put(s.PatchSettings))
	m.HandleFunc("POST "+p+"/keysets", put(s.PutKeyset))
	m.HandleFunc("POST "+p+"/keysets/{name}/keys", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			adminError(w, err)
			return
		}
		kid, err := s.UploadKey(r.PathValue("name"), b)
		if err != nil {
			adminError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"keyset": r.PathValue("name"), "kid": kid})
	})
	m.HandleFunc("GET "+p+"/agents", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.View().Agents) })
	m.HandleFunc("POST "+p+"/agents", put(s.PutAgent))
	m.HandleFunc("POST "+p+"/agents/{name}/presence", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			Presence string `json:"presence"`
		}
		if err := decodeAdmin(r, &b); err != nil {
			adminError(w, err)
			return
		}
		if err := s.SetPresence(r.PathValue("name"), b.Presence); err != nil {
			adminError(w, err)
			return
		}
		s.mu.Lock()
		v := s.agentViewLocked(s.agents[strings.ToLower(r.PathValue("name"))])
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, v)
	})
	m.HandleFunc("GET "+p+"/work", func(w http.ResponseWriter, r *http.Request) {
		items, err := s.Work(r.URL.Query().Get("agent"), r.URL.Query().Get("all") == "true")
		if err != nil {
			adminError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, items)
	})
	m.HandleFunc("GET "+p+"/conversations/{id}", func(w http.ResponseWriter, r *http.Request) {
		item, err := s.Conversation(r.PathValue("id"))
		if err != nil {
			adminError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, item)
	})
	m.HandleFunc("POST "+p+"/conversations/{id}/{action}", func(w http.ResponseWriter, r *http.Request) {
		var b agentAction
		if err := decodeAdmin(r, &b); err != nil {
			adminError(w, err)
			return
		}
		id := r.PathValue("id")
		var err error
		var entryID string
		switch r.PathValue("action") {
		case "accept":
			err = s.Accept(b.Agent, id)
		case "takeover":
			err = s.TakeOver(b.Agent, id)
		case "messages":
			entryID, err = s.Send(b.Agent, id, b.Text)
		case "typing":
			err = s.Typing(b.Agent, id, b.Typing == nil || *b.Typing)
		case "transfer":
			err = s.Transfer(id, b.Queue, b.Agent)
		case "end":
			err = s.End(b.Agent, id)
		default:
			writeJSON(w, http.StatusNotFound, adminErrorBody{Error: "no conversation action " + r.PathValue("action") + " (accept, takeover, messages, typing, transfer, end)"})
			return
		}
		if err != nil {
			adminError(w, err)
			return
		}
		item, _ := s.Conversation(id)
		if entryID != "" {
			writeJSON(w, http.StatusOK, map[string]any{"entry_id": entryID, "conversation": item})
			return
		}
		writeJSON(w, http.StatusOK, item)
	})
	m.HandleFunc("POST "+p+"/conversations/{id}/events", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			Event   string          `json:"event"`
			Payload json.RawMessage `json:"payload,omitempty"`
		}
		if err := decodeAdmin(r, &b); err != nil {
			adminError(w, err)
			return
		}
		if err := s.InjectEvent(r.PathValue("id"), b.Event, b.Payload); err != nil {
			adminError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("POST "+p+"/routing/fail", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			Count       int    `json:"count,omitempty"`
			FailureType string `json:"failure_type,omitempty"`
			Reason      string `json:"reason,omitempty"`
		}
		if err := decodeAdmin(r, &b); err != nil {
			adminError(w, err)
			return
		}
		if err := s.FailRouting(b.Count, b.FailureType, b.Reason); err != nil {
			adminError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]int{"failing_next": s.pendingFailures()})
	})
	m.HandleFunc("GET "+p+"/sse-faults", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.SSEFaults()) })
	m.HandleFunc("POST "+p+"/sse-faults", func(w http.ResponseWriter, r *http.Request) {
		var f SSEFault
		if err := decodeAdmin(r, &f); err != nil {
			adminError(w, err)
			return
		}
		id, err := s.AddSSEFault(f)
		if err != nil {
			adminError(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]string{"id": id})
	})
	m.HandleFunc("DELETE "+p+"/sse-faults", func(w http.ResponseWriter, _ *http.Request) {
		s.ClearSSEFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("POST "+p+"/tokens/expire", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			Subject string `json:"subject,omitempty"`
		}
		if err := decodeAdmin(r, &b); err != nil {
			adminError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]int{"expired": s.ExpireTokens(b.Subject)})
	})
	m.HandleFunc(AdminPrefix, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, adminErrorBody{Error: fmt.Sprintf("no messaging admin endpoint %s %s (see docs/emulator.md)", r.Method, r.URL.Path)})
	})
	return m
}

func (s *Server) pendingFailures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.failNext)
}
