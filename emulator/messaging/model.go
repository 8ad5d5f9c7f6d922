package messaging

import (
	"encoding/json"
	"maps"
	"strings"
	"time"
)

// subject is an end user (ANON or AUTH) with its conversations, its replay
// buffer and the streams reading it.
type subject struct {
	key      string
	auth     bool
	recordID string
	convs    []*conversation
	ring     []ringEntry // bounded, oldest first
	streams  map[*stream]struct{}
}

// ringEntry is a buffered event: pos orders delivery (a duplicated event
// gets a new pos but keeps its id).
type ringEntry struct {
	pos int64
	ev  *event
}

// event is one SSE frame, encoded once and shared by every stream.
type event struct {
	id   int64
	name string
	data []byte
}

type conversation struct {
	id       string
	subj     *subject
	dep      *deployment
	created  time.Time
	closed   bool
	closedAt time.Time
	entries  []*entry
	msgIDs   map[string]*entry // the end user's messages by their client-chosen id
	sess     *session
	status   string // routing status
	language string
}

type session struct {
	conv      *conversation
	recordID  string
	status    string // Waiting, Active, Ended
	queue     *queue
	agent     *agent
	pending   *agent // scripted agent about to accept
	attrs     map[string]string
	started   time.Time
	enqueued  time.Time
	replies   int
	userTyped bool
	// heard counts the session's end-user messages, lastHeard is the last
	// one; answerPending and ending are a conversational script's state.
	heard         int
	lastHeard     string
	answerPending bool
	ending        bool
}

// participant is a conversation participant as the API shows it.
type participant struct {
	Role             string `json:"role"`
	AppType          string `json:"appType"`
	Subject          string `json:"subject"`
	ClientIdentifier string `json:"clientIdentifier"`
}

// entry is a conversation entry; payload is its entryPayload as an object.
type entry struct {
	ID        string
	Type      string
	Payload   json.RawMessage
	Sender    participant
	Name      string
	Timestamp int64
	Related   []string
}

// entryJSON is an entry in the entries list (entryPayload an object) and,
// with the payload as a string, in an SSE frame.
type entryJSON struct {
	Identifier            string         `json:"identifier"`
	EntryType             string         `json:"entryType"`
	EntryPayload          any            `json:"entryPayload"`
	Sender                participant    `json:"sender"`
	SenderDisplayName     string         `json:"senderDisplayName"`
	TranscriptedTimestamp int64          `json:"transcriptedTimestamp"`
	ClientTimestamp       int64          `json:"clientTimestamp"`
	ClientDuration        int            `json:"clientDuration"`
	RelatedRecords        []string       `json:"relatedRecords"`
	ContextParamMap       map[string]any `json:"contextParamMap"`
	VisibilityStrategy    string         `json:"visibilityStrategy"`
}

func (e *entry) json(payloadAsString bool) entryJSON {
	var p any = e.Payload
	if payloadAsString {
		p = string(e.Payload)
	}
	rel := e.Related
	if rel == nil {
		rel = []string{}
	}
	return entryJSON{Identifier: e.ID, EntryType: e.Type, EntryPayload: p, Sender: e.Sender, SenderDisplayName: e.Name,
		TranscriptedTimestamp: e.Timestamp, ClientTimestamp: e.Timestamp, RelatedRecords: rel,
		ContextParamMap: map[string]any{}, VisibilityStrategy: "All"}
}

// eventNames maps entry types to SSE event names.
func eventName(entryType string) string {
	switch entryType {
	case "Message":
		return "CONVERSATION_MESSAGE"
	case "RoutingResult":
		return "CONVERSATION_ROUTING_RESULT"
	case "ParticipantChanged":
		return "CONVERSATION_PARTICIPANT_CHANGED"
	case "TypingStartedIndicator":
		return "CONVERSATION_TYPING_STARTED_INDICATOR"
	case "TypingStoppedIndicator":
		return "CONVERSATION_TYPING_STOPPED_INDICATOR"
	case "DeliveryAcknowledgement":
		return "CONVERSATION_DELIVERY_ACKNOWLEDGEMENT"
	case "ReadAcknowledgement":
		return "CONVERSATION_READ_ACKNOWLEDGEMENT"
	case "CloseConversation":
		return "CONVERSATION_CLOSE_CONVERSATION"
	case "SessionStatusChanged":
		return "CONVERSATION_SESSION_STATUS_CHANGED"
	}
	return "CONVERSATION_" + strings.ToUpper(entryType)
}

// stored reports whether entries of this type appear in the entries list.
func stored(entryType string) bool {
	switch entryType {
	case "TypingStartedIndicator", "TypingStoppedIndicator":
		return false
	}
	return true
}

func (s *Server) subjectLocked(key string, auth bool) *subject {
	if subj, ok := s.subjects[key]; ok {
		return subj
	}
	subj := &subject{key: key, auth: auth, streams: map[*stream]struct{}{}}
	s.subjects[key] = subj
	return subj
}

func (s *Server) endUserParticipant(c *conversation) participant {
	return participant{Role: "EndUser", AppType: "iamessage", Subject: c.subj.key, ClientIdentifier: c.dep.channel.id}
}

func agentParticipant(a *agent) participant {
	return participant{Role: "Agent", AppType: "agent", Subject: a.userID, ClientIdentifier: a.userID}
}

func systemParticipant(c *conversation) participant {
	return participant{Role: "System", AppType: "conversation", Subject: c.dep.channel.id, ClientIdentifier: c.dep.channel.id}
}

func endUserName(c *conversation) string {
	if c.subj.auth {
		if _, sub, ok := strings.Cut(c.subj.key, "/uid:"); ok {
			return sub
		}
	}
	return "Guest"
}

// addEntryLocked records an entry of the conversation and publishes it on
// the end user's stream.
func (s *Server) addEntryLocked(c *conversation, typ string, payload map[string]any, sender participant, name string, related []string) *entry {
	id := newUUID()
	p := map[string]any{"entryType": typ, "id": id}
	maps.Copy(p, payload)
	pb, _ := json.Marshal(p)
	e := &entry{ID: id, Type: typ, Payload: pb, Sender: sender, Name: name, Timestamp: s.now().UnixMilli(), Related: related}
	if stored(typ) {
		c.entries = append(c.entries, e)
	}
	env := map[string]any{
		"channelPlatformKey":       c.subj.key,
		"channelType":              "embedded_messaging",
		"channelAddressIdentifier": c.dep.channel.id,
		"conversationId":           c.id,
		"conversationEntry":        e.json(true),
	}
	data, _ := json.Marshal(env)
	s.publishLocked(c.subj, eventName(typ), data)
	return e
}

func textPayload(text, inReplyTo string, msgID string) map[string]any {
	am := map[string]any{"messageType": "StaticContentMessage", "id": msgID,
		"staticContent": map[string]any{"formatType": "Text", "text": text}}
	if inReplyTo != "" {
		am["inReplyToMessageId"] = inReplyTo
	}
	return map[string]any{"abstractMessage": am, "messageReason": nil}
}
