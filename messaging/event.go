package messaging

import (
	"encoding/json"
	"time"
)

// Kind is the type of an Event.
type Kind string

// Event kinds.
const (
	// KindQueued: routed to a queue; EstimatedWait says how long.
	KindQueued Kind = "queued"
	// KindAgentJoined: an agent (Agent) accepted.
	KindAgentJoined Kind = "agent_joined"
	// KindAgentMessage: the agent wrote Text.
	KindAgentMessage Kind = "agent_message"
	// KindAgentTyping: the agent started (Typing true) or stopped typing.
	KindAgentTyping Kind = "agent_typing"
	// KindTransferred: the conversation moves to another queue (Queue);
	// an agent of it joins next. Not an end.
	KindTransferred Kind = "transferred"
	// KindAgentLeft: the agent left (a transfer or an end follows).
	KindAgentLeft Kind = "agent_left"
	// KindEnded: the session ended, by EndedBy ("Agent", "EndUser").
	KindEnded Kind = "ended"
	// KindClosed: the conversation was closed.
	KindClosed Kind = "closed"
	// KindRoutingFailed: Omni-Channel could not route (FailureType,
	// Reason).
	KindRoutingFailed Kind = "routing_failed"
	// KindError: the client gave up (Error says why); the channel closes.
	KindError Kind = "error"
)

// Event is something that happened in a conversation, in transcript order.
type Event struct {
	Kind           Kind      `json:"kind"`
	ConversationID string    `json:"conversation_id"`
	EntryID        string    `json:"entry_id,omitempty"`
	Time           time.Time `json:"time,omitzero"`
	Agent          string    `json:"agent,omitempty"`
	Text           string    `json:"text,omitempty"`
	Typing         bool      `json:"typing,omitempty"`
	// EstimatedWait is the estimated wait of a queued conversation.
	EstimatedWait time.Duration `json:"-"`
	// EstimatedWaitSeconds is EstimatedWait for JSON.
	EstimatedWaitSeconds int    `json:"estimated_wait_seconds,omitempty"`
	Queue                string `json:"queue,omitempty"`
	EndedBy              string `json:"ended_by,omitempty"`
	FailureType          string `json:"failure_type,omitempty"`
	Reason               string `json:"reason,omitempty"`
	Error                string `json:"error,omitempty"`
	// Err is the error of a KindError event.
	Err error `json:"-"`
}

// rawEntry is a conversation entry as list-entries and the stream carry it.
type rawEntry struct {
	Identifier        string          `json:"identifier"`
	EntryType         string          `json:"entryType"`
	EntryPayload      json.RawMessage `json:"entryPayload"`
	SenderDisplayName string          `json:"senderDisplayName"`
	Sender            struct {
		Role string `json:"role"`
	} `json:"sender"`
	TranscriptedTimestamp int64 `json:"transcriptedTimestamp"`
}

// payload returns the entry payload as an object: the stream sends it as a
// JSON string, list-entries as an object; both are read.
func (e *rawEntry) payload(v any) error {
	p := e.EntryPayload
	if len(p) > 0 && p[0] == '"' {
		var s string
		if err := json.Unmarshal(p, &s); err != nil {
			return err
		}
		p = []byte(s)
	}
	if len(p) == 0 {
		return nil
	}
	return json.Unmarshal(p, v)
}

func isAgentRole(r string) bool { return r == "Agent" || r == "Chatbot" || r == "Supervisor" }

// events turns one stored entry into caller events (none for echoes of
// the end user's own messages and receipts).
func (e *rawEntry) events(convID string) []Event {
	base := Event{ConversationID: convID, EntryID: e.Identifier, Time: time.UnixMilli(e.TranscriptedTimestamp).UTC()}
	switch e.EntryType {
	case "Message":
		if !isAgentRole(e.Sender.Role) {
			return nil
		}
		var p struct {
			AbstractMessage struct {
				StaticContent struct {
					Text        string `json:"text"`
					Attachments []struct {
						Name string `json:"name"`
						URL  string `json:"url"`
					} `json:"attachments"`
				} `json:"staticContent"`
			} `json:"abstractMessage"`
		}
		_ = e.payload(&p)
		ev := base
		ev.Kind, ev.Agent, ev.Text = KindAgentMessage, e.SenderDisplayName, p.AbstractMessage.StaticContent.Text
		for _, a := range p.AbstractMessage.StaticContent.Attachments {
			if ev.Text != "" {
				ev.Text += "\n"
			}
			ev.Text += "[attachment " + a.Name + "] " + a.URL
		}
		return []Event{ev}
	case "RoutingResult":
		var p struct {
			RoutingType       string   `json:"routingType"`
			FailureType       string   `json:"failureType"`
			FailureReason     string   `json:"failureReason"`
			ErrorMessages     []string `json:"errorMessages"`
			EstimatedWaitTime struct {
				Seconds int `json:"estimatedWaitTimeInSeconds"`
			} `json:"estimatedWaitTime"`
			Details struct {
				QueueID string `json:"queueId"`
			} `json:"routingConfigurationDetails"`
		}
		_ = e.payload(&p)
		ev := base
		switch {
		case p.FailureType != "" && p.FailureType != "None":
			ev.Kind, ev.FailureType, ev.Reason = KindRoutingFailed, p.FailureType, p.FailureReason
			if ev.Reason == "" && len(p.ErrorMessages) > 0 {
				ev.Reason = p.ErrorMessages[0]
			}
		case p.RoutingType == "Transfer":
			ev.Kind, ev.Queue = KindTransferred, p.Details.QueueID
		default:
			ev.Kind, ev.Queue = KindQueued, p.Details.QueueID
			ev.EstimatedWaitSeconds = p.EstimatedWaitTime.Seconds
			ev.EstimatedWait = time.Duration(p.EstimatedWaitTime.Seconds) * time.Second
		}
		return []Event{ev}
	case "ParticipantChanged":
		var p struct {
			Entries []struct {
				Operation   string `json:"operation"`
				DisplayName string `json:"displayName"`
				Participant struct {
					Role string `json:"role"`
				} `json:"participant"`
			} `json:"entries"`
		}
		_ = e.payload(&p)
		var out []Event
		for _, pe := range p.Entries {
			if !isAgentRole(pe.Participant.Role) {
				continue
			}
			ev := base
			ev.Agent = pe.DisplayName
			switch pe.Operation {
			case "add":
				ev.Kind = KindAgentJoined
			case "remove":
				ev.Kind = KindAgentLeft
			default:
				continue
			}
			out = append(out, ev)
		}
		return out
	case "SessionStatusChanged":
		var p struct {
			Status  string `json:"sessionStatus"`
			EndedBy string `json:"sessionEndedByRole"`
		}
		_ = e.payload(&p)
		if p.Status != "Ended" {
			return nil
		}
		ev := base
		ev.Kind, ev.EndedBy = KindEnded, p.EndedBy
		return []Event{ev}
	case "CloseConversation", "ConversationClosed":
		ev := base
		ev.Kind = KindClosed
		return []Event{ev}
	}
	return nil
}

// knownEvents are the stream's event names the client understands; others
// are ignored and counted.
func knownEvent(name string) (typing, stored, ok bool) {
	switch name {
	case "CONVERSATION_TYPING_STARTED_INDICATOR", "CONVERSATION_TYPING_STOPPED_INDICATOR":
		return true, false, true
	case "CONVERSATION_MESSAGE", "CONVERSATION_ROUTING_RESULT", "CONVERSATION_PARTICIPANT_CHANGED",
		"CONVERSATION_SESSION_STATUS_CHANGED", "CONVERSATION_CLOSE_CONVERSATION":
		return false, true, true
	case "CONVERSATION_DELIVERY_ACKNOWLEDGEMENT", "CONVERSATION_READ_ACKNOWLEDGEMENT", "CONVERSATION_ROUTING_WORK_RESULT":
		return false, false, true
	}
	return false, false, false
}
