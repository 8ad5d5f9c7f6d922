package messaging

import (
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

const badConversationID = "Specify the conversationId in UUID format. The UUID must be in lowercase."

// authed checks the bearer token before h.
func (s *Server) authed(h func(http.ResponseWriter, *http.Request, *accessToken)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, e := s.tokenFromRequest(r)
		if e != nil {
			writeErr(w, r, e)
			return
		}
		h(w, r, tok)
	}
}

// conv resolves {id} to a conversation of the token's end user.
func (s *Server) conv(h func(http.ResponseWriter, *http.Request, *accessToken, *conversation)) func(http.ResponseWriter, *http.Request, *accessToken) {
	return func(w http.ResponseWriter, r *http.Request, tok *accessToken) {
		id := r.PathValue("id")
		if !isLowerUUID(id) {
			writeErr(w, r, apiErr(http.StatusBadRequest, badConversationID))
			return
		}
		s.mu.Lock()
		c := s.convs[id]
		s.mu.Unlock()
		if c == nil || c.subj != tok.subj {
			writeErr(w, r, apiErr(http.StatusNotFound, "Conversation %s wasn't found.", id))
			return
		}
		h(w, r, tok, c)
	}
}

type createRequest struct {
	ConversationID    string            `json:"conversationId"`
	ESDeveloperName   string            `json:"esDeveloperName"`
	RoutingAttributes map[string]any    `json:"routingAttributes"`
	Language          string            `json:"language"`
	Extra             map[string]string `json:"-"`
}

// stringAttrs turns routing attributes into strings (numbers and booleans
// as their JSON text), as the Omni flow's String variables receive them.
func stringAttrs(in map[string]any) map[string]string {
	out := make(map[string]string, len(in))
	for k, v := range in {
		switch t := v.(type) {
		case string:
			out[k] = t
		case nil:
			out[k] = ""
		default:
			b, _ := json.Marshal(t)
			out[k] = string(b)
		}
	}
	return out
}

func (s *Server) handleCreateConversation(w http.ResponseWriter, r *http.Request, tok *accessToken) {
	var req createRequest
	if e := decodeBody(r, 256<<10, &req); e != nil {
		writeErr(w, r, e)
		return
	}
	if !isLowerUUID(req.ConversationID) {
		writeErr(w, r, apiErr(http.StatusBadRequest, badConversationID))
		return
	}
	if e := s.checkDeployment(tok, req.ESDeveloperName); e != nil {
		writeErr(w, r, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.convs[req.ConversationID]; old != nil {
		if old.subj != tok.subj {
			writeErr(w, r, apiErr(http.StatusConflict, "The conversationId %s is already in use.", req.ConversationID))
			return
		}
		// "Create conversation if absent": an existing one is answered as is.
		writeJSON(w, http.StatusCreated, map[string]any{"conversationId": old.id})
		return
	}
	c := &conversation{id: req.ConversationID, subj: tok.subj, dep: tok.dep, created: s.now(), status: "INITIAL", language: req.Language}
	s.convs[c.id] = c
	tok.subj.convs = append(tok.subj.convs, c)
	s.ensureEndUserLocked(c)
	s.startSessionLocked(c, stringAttrs(req.RoutingAttributes), "Initial")
	writeJSON(w, http.StatusCreated, map[string]any{"conversationId": c.id})
}

// checkDeployment accepts an empty name (the token's deployment) or the
// token's deployment.
func (s *Server) checkDeployment(tok *accessToken, name string) *APIError {
	if name != "" && !strings.EqualFold(name, tok.depName) {
		return apiErr(http.StatusBadRequest, "The esDeveloperName %s doesn't match the access token's deployment.", name)
	}
	return nil
}

type messageRequest struct {
	Message struct {
		ID                 string `json:"id"`
		MessageType        string `json:"messageType"`
		InReplyToMessageID string `json:"inReplyToMessageId"`
		StaticContent      struct {
			FormatType string `json:"formatType"`
			Text       string `json:"text"`
		} `json:"staticContent"`
		ChoicesResponse json.RawMessage `json:"choicesResponse"`
	} `json:"message"`
	ESDeveloperName       string         `json:"esDeveloperName"`
	IsNewMessagingSession bool           `json:"isNewMessagingSession"`
	RoutingAttributes     map[string]any `json:"routingAttributes"`
	Language              string         `json:"language"`
}

// sessionGate answers 400 on a closed conversation, 417 without an active
// session, or starts a new session when asked.
func (s *Server) sessionGateLocked(c *conversation, newSession bool, attrs map[string]any) *APIError {
	if c.closed {
		return apiErr(http.StatusBadRequest, "Conversation %s is closed. Start a new conversation.", c.id)
	}
	active := c.sess != nil && c.sess.status != "Ended"
	if !active {
		if !newSession {
			return apiErr(http.StatusExpectationFailed, "There's no active messaging session in conversation %s. Send the message again with isNewMessagingSession set to true.", c.id)
		}
		s.startSessionLocked(c, stringAttrs(attrs), "Initial")
	}
	return nil
}

func (s *Server) handleSendMessage(w http.ResponseWriter, r *http.Request, tok *accessToken, c *conversation) {
	var req messageRequest
	if e := decodeBody(r, 256<<10, &req); e != nil {
		writeErr(w, r, e)
		return
	}
	if e := s.checkDeployment(tok, req.ESDeveloperName); e != nil {
		writeErr(w, r, e)
		return
	}
	m := req.Message
	if m.ID == "" {
		writeErr(w, r, apiErr(http.StatusBadRequest, "Specify the message id."))
		return
	}
	if m.MessageType != "StaticContentMessage" && m.MessageType != "ChoicesResponseMessage" {
		writeErr(w, r, apiErr(http.StatusBadRequest, "The messageType %q isn't supported.", m.MessageType))
		return
	}
	if m.MessageType == "StaticContentMessage" && (m.StaticContent.FormatType != "Text" || m.StaticContent.Text == "") {
		writeErr(w, r, apiErr(http.StatusBadRequest, "Specify staticContent with formatType Text and a text."))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repeatedMessageLocked(w, r, c, m.ID) {
		return
	}
	if e := s.sessionGateLocked(c, req.IsNewMessagingSession, req.RoutingAttributes); e != nil {
		writeErr(w, r, e)
		return
	}
	var payload map[string]any
	if m.MessageType == "StaticContentMessage" {
		payload = textPayload(m.StaticContent.Text, m.InReplyToMessageID, m.ID)
	} else {
		payload = map[string]any{"abstractMessage": map[string]any{"messageType": m.MessageType, "id": m.ID, "choicesResponse": m.ChoicesResponse}, "messageReason": nil}
	}
	e := s.addEntryLocked(c, "Message", payload, s.endUserParticipant(c), endUserName(c), nil)
	c.noteMessageID(m.ID, e)
	s.endUserMessageLocked(c, m.StaticContent.Text)
	writeJSON(w, http.StatusAccepted, map[string]any{"conversationEntries": []map[string]any{{"id": e.ID, "clientTimestamp": e.Timestamp}}})
}

func (s *Server) handleEntry(w http.ResponseWriter, r *http.Request, tok *accessToken, c *conversation) {
	var req struct {
		EntryType string `json:"entryType"`
		ID        string `json:"id"`
	}
	if e := decodeBody(r, 16<<10, &req); e != nil {
		writeErr(w, r, e)
		return
	}
	if req.EntryType != "TypingStartedIndicator" && req.EntryType != "TypingStoppedIndicator" {
		writeErr(w, r, apiErr(http.StatusBadRequest, "The entryType %q isn't supported. Specify TypingStartedIndicator or TypingStoppedIndicator.", req.EntryType))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.closed {
		writeErr(w, r, apiErr(http.StatusBadRequest, "Conversation %s is closed. Start a new conversation.", c.id))
		return
	}
	if c.sess != nil {
		c.sess.userTyped = req.EntryType == "TypingStartedIndicator"
	}
	s.addEntryLocked(c, req.EntryType, map[string]any{}, s.endUserParticipant(c), endUserName(c), nil)
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) handleAcks(w http.ResponseWriter, r *http.Request, tok *accessToken, c *conversation) {
	var req struct {
		Acks []struct {
			ID                  string `json:"id"`
			EntryType           string `json:"entryType"`
			ConversationEntryID string `json:"conversationEntryId"`
		} `json:"acks"`
	}
	if e := decodeBody(r, 64<<10, &req); e != nil {
		writeErr(w, r, e)
		return
	}
	if len(req.Acks) == 0 {
		writeErr(w, r, apiErr(http.StatusBadRequest, "Specify at least one acknowledgement in acks."))
		return
	}
	for _, a := range req.Acks {
		if a.EntryType != "Delivery" && a.EntryType != "Read" || a.ConversationEntryID == "" {
			writeErr(w, r, apiErr(http.StatusBadRequest, "Each acknowledgement needs an entryType Delivery or Read and a conversationEntryId."))
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UnixMilli()
	for _, a := range req.Acks {
		typ := "DeliveryAcknowledgement"
		if a.EntryType == "Read" {
			typ = "ReadAcknowledgement"
		}
		s.addEntryLocked(c, typ, map[string]any{"acknowledgementTimestamp": now, "acknowledgedConversationEntryIdentifier": a.ConversationEntryID},
			s.endUserParticipant(c), endUserName(c), []string{a.ConversationEntryID})
	}
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) handleListEntries(w http.ResponseWriter, r *http.Request, tok *accessToken, c *conversation) {
	q := r.URL.Query()
	limit := 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 50 {
			writeErr(w, r, apiErr(http.StatusBadRequest, "The limit must be a number from 1 to 50."))
			return
		}
		limit = n
	}
	var start, end int64
	for name, dst := range map[string]*int64{"startTimestamp": &start, "endTimestamp": &end} {
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				// Epoch milliseconds as documented; an ISO 8601 time is read
				// too, as a community client sends one.
				ts, terr := time.Parse(time.RFC3339Nano, v)
				if terr != nil {
					writeErr(w, r, apiErr(http.StatusBadRequest, "The %s must be epoch milliseconds.", name))
					return
				}
				n = ts.UnixMilli()
			}
			*dst = n
		}
	}
	dir := q.Get("direction")
	if dir == "" {
		dir = "FromEnd"
	}
	if dir != "FromStart" && dir != "FromEnd" {
		writeErr(w, r, apiErr(http.StatusBadRequest, "The direction must be FromStart or FromEnd."))
		return
	}
	var types []string
	if v := q.Get("entryTypeFilter"); v != "" {
		for t := range strings.SplitSeq(v, ",") {
			types = append(types, strings.TrimSpace(t))
		}
	}
	s.mu.Lock()
	var sel []*entry
	for _, e := range c.entries {
		if start != 0 && e.Timestamp < start || end != 0 && e.Timestamp > end || types != nil && !slices.Contains(types, e.Type) {
			continue
		}
		sel = append(sel, e)
	}
	if dir == "FromEnd" {
		slices.Reverse(sel)
	}
	if len(sel) > limit {
		sel = sel[:limit]
	}
	out := make([]entryJSON, 0, len(sel))
	for _, e := range sel {
		out = append(out, e.json(false))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"conversationEntries": out})
}

func (s *Server) handleListConversations(w http.ResponseWriter, r *http.Request, tok *accessToken) {
	q := r.URL.Query()
	limit := 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 50 {
			writeErr(w, r, apiErr(http.StatusBadRequest, "The limit must be a number from 1 to 50."))
			return
		}
		limit = n
	}
	inclClosed := q.Get("inclClosedConvs") == "true"
	only := q.Get("conversationId")
	s.mu.Lock()
	defer s.mu.Unlock()
	open, closed := 0, 0
	convs := slices.Clone(tok.subj.convs)
	sort.SliceStable(convs, func(i, j int) bool { return convs[i].created.Before(convs[j].created) })
	list := []map[string]any{}
	for _, c := range convs {
		if c.closed {
			closed++
		} else {
			open++
		}
		if only != "" && c.id != only || c.closed && !inclClosed || len(list) >= limit {
			continue
		}
		item := map[string]any{"conversationId": c.id, "startTimestamp": c.created.UnixMilli()}
		if c.closed {
			item["endTimestamp"] = c.closedAt.UnixMilli()
		}
		list = append(list, item)
	}
	writeJSON(w, http.StatusOK, map[string]any{"openConversationsFound": open, "closedConversationsFound": closed, "conversations": list})
}

func (s *Server) handleRoutingStatus(w http.ResponseWriter, r *http.Request, tok *accessToken, c *conversation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"conversationId": c.id, "routingStatus": c.status})
}

func (s *Server) handleCloseConversation(w http.ResponseWriter, r *http.Request, tok *accessToken, c *conversation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.closed {
		writeErr(w, r, apiErr(http.StatusBadRequest, "Conversation %s is already closed.", c.id))
		return
	}
	s.endSessionLocked(c, "EndUser")
	c.closed, c.closedAt = true, s.now()
	s.addEntryLocked(c, "CloseConversation", map[string]any{}, s.endUserParticipant(c), endUserName(c), nil)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleEndSession(w http.ResponseWriter, r *http.Request, tok *accessToken, c *conversation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.closed || c.sess == nil || c.sess.status == "Ended" {
		writeErr(w, r, apiErr(http.StatusBadRequest, "There's no active messaging session in conversation %s.", c.id))
		return
	}
	s.endSessionLocked(c, "EndUser")
	w.WriteHeader(http.StatusNoContent)
}

// maxFileSize is the documented 5 MB attachment limit.
const maxFileSize = 5 << 20

// fileTypes are the attachment types accepted (by extension and MIME type).
func fileTypeAllowed(mimeType string) bool {
	mt, _, _ := mime.ParseMediaType(mimeType)
	switch {
	case strings.HasPrefix(mt, "image/"), strings.HasPrefix(mt, "text/"), strings.HasPrefix(mt, "audio/"), strings.HasPrefix(mt, "video/"):
		return mt != "image/svg+xml"
	}
	switch mt {
	case "application/pdf", "application/msword", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		"application/vnd.ms-excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		"application/vnd.ms-powerpoint", "application/vnd.openxmlformats-officedocument.presentationml.presentation",
		"application/zip", "application/json", "application/octet-stream":
		return true
	}
	return false
}

func (s *Server) handleFile(w http.ResponseWriter, r *http.Request, tok *accessToken, c *conversation) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		writeErr(w, r, apiErr(http.StatusUnsupportedMediaType, "Send the file as multipart/form-data with the parts messageEntry and fileData."))
		return
	}
	mr := multipart.NewReader(io.LimitReader(r.Body, maxFileSize+1<<20), params["boundary"])
	var entryJSON []byte
	var fileName, fileType string
	var size int64
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			writeErr(w, r, apiErr(http.StatusBadRequest, "The multipart body is malformed: %v", err))
			return
		}
		switch p.FormName() {
		case "messageEntry":
			entryJSON, _ = io.ReadAll(io.LimitReader(p, 64<<10))
		case "fileData":
			fileName = p.FileName()
			fileType = p.Header.Get("Content-Type")
			size, _ = io.Copy(io.Discard, io.LimitReader(p, maxFileSize+1))
			if size > maxFileSize {
				writeErr(w, r, apiErr(http.StatusRequestEntityTooLarge, "The file is larger than 5 MB."))
				return
			}
		}
		p.Close()
	}
	var me struct {
		ESDeveloperName string `json:"esDeveloperName"`
		Message         struct {
			ID                 string `json:"id"`
			FileID             string `json:"fileId"`
			Text               string `json:"text"`
			InReplyToMessageID string `json:"inReplyToMessageId"`
		} `json:"message"`
		IsNewMessagingSession bool           `json:"isNewMessagingSession"`
		RoutingAttributes     map[string]any `json:"routingAttributes"`
	}
	if entryJSON == nil || json.Unmarshal(entryJSON, &me) != nil || me.Message.ID == "" {
		writeErr(w, r, apiErr(http.StatusBadRequest, "Specify the messageEntry part: JSON with esDeveloperName and message.id."))
		return
	}
	if fileName == "" {
		writeErr(w, r, apiErr(http.StatusBadRequest, "Specify the fileData part with a file name."))
		return
	}
	if fileType == "" {
		fileType = mime.TypeByExtension(fileExt(fileName))
	}
	if !fileTypeAllowed(fileType) {
		writeErr(w, r, apiErr(http.StatusUnsupportedMediaType, "The file type %q isn't supported.", fileType))
		return
	}
	if e := s.checkDeployment(tok, me.ESDeveloperName); e != nil {
		writeErr(w, r, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repeatedMessageLocked(w, r, c, me.Message.ID) {
		return
	}
	if e := s.sessionGateLocked(c, me.IsNewMessagingSession, me.RoutingAttributes); e != nil {
		writeErr(w, r, e)
		return
	}
	fileID := me.Message.FileID
	if fileID == "" {
		fileID = newUUID()
	}
	am := map[string]any{"messageType": "StaticContentMessage", "id": me.Message.ID,
		"staticContent": map[string]any{"formatType": "Attachments", "text": me.Message.Text,
			"attachments": []map[string]any{{"name": fileName, "id": fileID, "mimeType": fileType, "url": "", "referenceId": fileID, "contentLength": size}}}}
	if me.Message.InReplyToMessageID != "" {
		am["inReplyToMessageId"] = me.Message.InReplyToMessageID
	}
	e := s.addEntryLocked(c, "Message", map[string]any{"abstractMessage": am, "messageReason": nil}, s.endUserParticipant(c), endUserName(c), nil)
	c.noteMessageID(me.Message.ID, e)
	s.endUserMessageLocked(c, "[file "+fileName+"] "+me.Message.Text)
	writeJSON(w, http.StatusAccepted, map[string]any{"conversationEntries": []map[string]any{{"id": e.ID, "clientTimestamp": e.Timestamp}}})
}

func fileExt(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[i:]
	}
	return ""
}

// repeatedMessageLocked answers a message whose id the conversation holds
// already, as settings.duplicate_message_id says (Salesforce does not
// document it): "post" lets it be posted again, "accept" answers the first
// message's entry, "reject" answers 409. It reports whether it answered.
func (s *Server) repeatedMessageLocked(w http.ResponseWriter, r *http.Request, c *conversation, id string) bool {
	first := c.msgIDs[id]
	if first == nil {
		return false
	}
	switch s.settings.DuplicateMessageID {
	case "accept":
		writeJSON(w, http.StatusAccepted, map[string]any{"conversationEntries": []map[string]any{{"id": first.ID, "clientTimestamp": first.Timestamp}}})
		return true
	case "reject":
		writeErr(w, r, apiErr(http.StatusConflict, "A message with the id %s already exists in conversation %s.", id, c.id))
		return true
	}
	return false
}

func (c *conversation) noteMessageID(id string, e *entry) {
	if c.msgIDs == nil {
		c.msgIDs = map[string]*entry{}
	}
	if _, ok := c.msgIDs[id]; !ok {
		c.msgIDs[id] = e
	}
}
