package messaging

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

type routingFailure struct {
	failureType, reason string
}

// Errors of the agent-side actions.
var (
	ErrNoConversation = errors.New("no such conversation")
	ErrNoAgent        = errors.New("no such agent")
	ErrNoQueue        = errors.New("no such queue")
	ErrState          = errors.New("not possible in the conversation's current state")
)

// Records' object names.
const (
	ObjMessagingEndUser = "MessagingEndUser"
	ObjMessagingSession = "MessagingSession"
)

func (s *Server) recordErr(what string, err error) {
	if err != nil {
		s.log.Error("messaging: write record", "record", what, "err", err)
	}
}

func (s *Server) ensureEndUserLocked(c *conversation) {
	if s.records == nil || c.subj.recordID != "" {
		return
	}
	id, err := s.records.Insert(ObjMessagingEndUser, map[string]any{
		"Name": endUserName(c), "MessagingPlatformKey": c.subj.key, "MessagingChannelId": c.dep.channel.id,
		"MessageType": "EmbeddedMessaging", "IsAuthenticated__c": c.subj.auth,
	})
	s.recordErr(ObjMessagingEndUser, err)
	c.subj.recordID = id
}

// routeLocked applies the routing rules (the customer's Omni flow).
func (s *Server) routeLocked(c *conversation, attrs map[string]string) (*queue, *routingFailure) {
	if len(s.failNext) > 0 {
		f := s.failNext[0]
		s.failNext = s.failNext[1:]
		return nil, &f
	}
	for _, r := range s.rules {
		match := true
		for k, v := range r.When {
			if !strings.EqualFold(attrs[k], v) {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		if r.Fail != "" {
			return nil, &routingFailure{failureType: r.Fail, reason: "The Omni-Channel flow failed to route the conversation."}
		}
		return s.queues[strings.ToLower(r.Queue)], nil
	}
	if q := s.queues[strings.ToLower(c.dep.channel.queue)]; q != nil {
		return q, nil
	}
	if len(s.queueOrder) > 0 {
		return s.queueOrder[0], nil
	}
	return nil, &routingFailure{failureType: "RoutingError", reason: "No queue is configured for the messaging channel."}
}

// startSessionLocked starts a messaging session and routes it.
func (s *Server) startSessionLocked(c *conversation, attrs map[string]string, routingType string) {
	ss := &session{conv: c, status: "Waiting", attrs: attrs, started: s.now()}
	c.sess = ss
	if s.records != nil {
		ab, _ := json.Marshal(attrs)
		fields := map[string]any{"Name": "MS-" + c.id[:8], "MessagingEndUserId": c.subj.recordID, "MessagingChannelId": c.dep.channel.id,
			"Status": "Waiting", "Origin": "InboundInitiated", "StartTime": ss.started, "ConversationId__c": c.id,
			"RoutingAttributes__c": string(ab)}
		for k, v := range attrs {
			if slices.Contains(attributeFields(), k+"__c") {
				fields[k+"__c"] = v
			}
		}
		id, err := s.records.Insert(ObjMessagingSession, fields)
		s.recordErr(ObjMessagingSession, err)
		ss.recordID = id
	}
	s.routeToLocked(c, attrs, routingType, nil)
}

// routeToLocked routes the session (to q when given) and emits the
// ROUTING_RESULT.
func (s *Server) routeToLocked(c *conversation, attrs map[string]string, routingType string, q *queue) {
	ss := c.sess
	var fail *routingFailure
	if q == nil {
		q, fail = s.routeLocked(c, attrs)
	}
	payload := map[string]any{"recordId": ss.recordID, "routingType": routingType, "isExternallyRouted": false,
		"pendingServiceRoutingId": "", "workOwnerId": "", "cancelReason": nil}
	if fail != nil {
		payload["failureType"] = fail.failureType
		payload["failureReason"] = fail.reason
		payload["errorMessages"] = []string{fail.reason}
		payload["estimatedWaitTime"] = map[string]any{"estimatedWaitTimeInSeconds": -1, "isEWTRequested": false}
		payload["routingConfigurationDetails"] = map[string]any{"routingConfigurationType": "OmniFlow", "queueId": nil}
		c.status = "NEEDS_ROUTING"
		ss.queue = nil
		s.addEntryLocked(c, "RoutingResult", payload, systemParticipant(c), "Automated Process", nil)
		return
	}
	ss.queue = q
	ss.enqueued = s.now()
	q.waiting = append(q.waiting, ss)
	payload["failureType"] = "None"
	payload["failureReason"] = ""
	payload["errorMessages"] = []string{}
	payload["workOwnerId"] = q.id
	payload["estimatedWaitTime"] = map[string]any{"estimatedWaitTimeInSeconds": s.estimatedWaitLocked(q, len(q.waiting)), "isEWTRequested": true}
	payload["routingConfigurationDetails"] = map[string]any{"routingConfigurationType": "OmniFlow", "queueId": q.id}
	if routingType == "Transfer" {
		c.status = "TRANSFER"
	} else {
		c.status = "ROUTED"
	}
	s.updateSessionLocked(ss, map[string]any{"Queue__c": q.name})
	s.addEntryLocked(c, "RoutingResult", payload, systemParticipant(c), "Automated Process", nil)
	s.dispatchLocked()
}

// estimatedWaitLocked is the wait of the n-th session in q: none while an
// agent of the queue has free capacity, otherwise SecondsPerWaiting per
// session ahead of it beyond the free seats.
func (s *Server) estimatedWaitLocked(q *queue, n int) int {
	free := 0
	for _, a := range s.agentOrder {
		if a.presence == Available && slices.ContainsFunc(a.queues, func(x string) bool { return strings.EqualFold(x, q.name) }) {
			free += max(a.capacity-len(a.work), 0)
		}
	}
	ahead := max(n-free, 0)
	return ahead * s.settings.SecondsPerWaiting
}

func (s *Server) updateSessionLocked(ss *session, fields map[string]any) {
	if s.records == nil || ss.recordID == "" {
		return
	}
	s.recordErr(ObjMessagingSession, s.records.Update(ObjMessagingSession, ss.recordID, fields))
}

func (a *agent) serves(q *queue) bool {
	return q != nil && slices.ContainsFunc(a.queues, func(x string) bool { return strings.EqualFold(x, q.name) })
}

func (a *agent) free() bool { return a.presence == Available && len(a.work) < a.capacity }

// dispatchLocked offers waiting work to scripted agents with free
// capacity; they accept after their accept delay. Human agents take work
// through Accept (the console or the CLI).
func (s *Server) dispatchLocked() {
	for _, q := range s.queueOrder {
		for _, ss := range q.waiting {
			if ss.pending != nil {
				continue
			}
			for _, a := range s.agentOrder {
				pendingFor := 0
				for _, w := range q.waiting {
					if w.pending == a {
						pendingFor++
					}
				}
				if a.script == nil || !a.serves(q) || a.presence != Available || len(a.work)+pendingFor >= a.capacity {
					continue
				}
				ss.pending = a
				s.afterLocked(a.script.AcceptDelay.D(), func() {
					if ss.pending != a {
						return
					}
					ss.pending = nil
					if err := s.acceptLocked(a, ss.conv); err != nil {
						s.dispatchLocked()
					}
				})
				break
			}
		}
	}
}

// acceptLocked gives a waiting session to an agent.
func (s *Server) acceptLocked(a *agent, c *conversation) error {
	ss := c.sess
	if c.closed || ss == nil || ss.status == "Ended" || ss.queue == nil || ss.agent != nil {
		return fmt.Errorf("%w: conversation %s has no work waiting in a queue", ErrState, c.id)
	}
	if !a.serves(ss.queue) {
		return fmt.Errorf("%w: agent %s does not work queue %s", ErrState, a.name, ss.queue.name)
	}
	if !a.free() {
		return fmt.Errorf("%w: agent %s is %s with %d of %d conversations", ErrState, a.name, a.presence, len(a.work), a.capacity)
	}
	q := ss.queue
	q.waiting = slices.DeleteFunc(q.waiting, func(x *session) bool { return x == ss })
	ss.pending = nil
	ss.agent = a
	a.work = append(a.work, ss)
	c.status = "ROUTED"
	if ss.status == "Waiting" {
		ss.status = "Active"
		s.updateSessionLocked(ss, map[string]any{"Status": "Active", "AcceptTime": s.now(), "AgentType": agentType(a), "Agent__c": a.name})
		s.addEntryLocked(c, "SessionStatusChanged", map[string]any{"sessionStatus": "Active", "sessionStatusPrev": "Waiting", "sessionEndedByRole": nil},
			systemParticipant(c), "Automated Process", nil)
	} else {
		s.updateSessionLocked(ss, map[string]any{"AgentType": agentType(a), "Agent__c": a.name})
	}
	s.participantLocked(c, a, "add")
	if a.script != nil && a.script.Greeting != "" {
		s.agentSayLocked(c, a, a.script.Greeting)
	}
	if a.script != nil && a.script.conversational() && ss.heard > 0 {
		// The end user (or the bot handing over) wrote before the agent
		// joined: answer what is there.
		s.scheduleAnswerLocked(c, ss, a)
	}
	return nil
}

func agentType(a *agent) string {
	if a.script != nil {
		return "Bot"
	}
	return "User"
}

func (s *Server) participantLocked(c *conversation, a *agent, op string) {
	s.addEntryLocked(c, "ParticipantChanged", map[string]any{"entries": []map[string]any{{
		"operation": op, "participant": agentParticipant(a), "displayName": a.name, "menuMetadata": map[string]any{},
	}}}, systemParticipant(c), "Automated Process", nil)
}

func (s *Server) agentSayLocked(c *conversation, a *agent, text string) *entry {
	return s.addEntryLocked(c, "Message", textPayload(text, "", newUUID()), agentParticipant(a), a.name, nil)
}

// endUserMessageLocked lets a scripted agent answer.
func (s *Server) endUserMessageLocked(c *conversation, text string) {
	ss := c.sess
	if ss == nil {
		return
	}
	ss.heard++
	ss.lastHeard = text
	if ss.agent == nil || ss.agent.script == nil {
		return
	}
	a := ss.agent
	if a.script.conversational() {
		if ss.replies > 0 && a.script.endsWith(text) {
			ss.ending = true
		}
		s.scheduleAnswerLocked(c, ss, a)
		return
	}
	if a.script.Reply == "" {
		return
	}
	s.afterLocked(a.script.ReplyDelay.D(), func() {
		if c.sess != ss || ss.agent != a || ss.status != "Active" {
			return
		}
		s.agentSayLocked(c, a, strings.ReplaceAll(a.script.Reply, "{text}", text))
		ss.replies++
		if a.script.EndAfter > 0 && ss.replies >= a.script.EndAfter {
			s.endSessionLocked(c, "Agent")
		}
	})
}

// scheduleAnswerLocked has a conversational scripted agent answer after its
// reply delay, once for the messages that came until then: with the next
// canned answer, or with its farewell, ending the session, when an end word
// came.
func (s *Server) scheduleAnswerLocked(c *conversation, ss *session, a *agent) {
	if ss.answerPending {
		return
	}
	ss.answerPending = true
	sc := a.script
	s.afterLocked(sc.ReplyDelay.D(), func() {
		ss.answerPending = false
		if c.sess != ss || ss.agent != a || ss.status != "Active" {
			return // ended, transferred or taken over meanwhile
		}
		if ss.ending {
			if sc.Farewell != "" {
				s.agentSayLocked(c, a, sc.Farewell)
			}
			s.endSessionLocked(c, "Agent")
			return
		}
		if text := sc.answer(ss.replies, ss.lastHeard); text != "" {
			s.agentSayLocked(c, a, text)
		}
		ss.replies++
		if sc.EndAfter > 0 && ss.replies >= sc.EndAfter {
			s.endSessionLocked(c, "Agent")
		}
	})
}

// endSessionLocked ends the current session, by "Agent" or "EndUser".
func (s *Server) endSessionLocked(c *conversation, by string) {
	ss := c.sess
	if ss == nil || ss.status == "Ended" {
		return
	}
	if ss.queue != nil {
		ss.queue.waiting = slices.DeleteFunc(ss.queue.waiting, func(x *session) bool { return x == ss })
	}
	ss.pending = nil
	prev := ss.status
	if a := ss.agent; a != nil {
		a.work = slices.DeleteFunc(a.work, func(x *session) bool { return x == ss })
		ss.agent = nil
		s.participantLocked(c, a, "remove")
	}
	ss.status = "Ended"
	c.status = "NEEDS_ROUTING"
	s.updateSessionLocked(ss, map[string]any{"Status": "Ended", "EndTime": s.now()})
	s.addEntryLocked(c, "SessionStatusChanged", map[string]any{"sessionStatus": "Ended", "sessionStatusPrev": prev, "sessionEndedByRole": by},
		systemParticipant(c), "Automated Process", nil)
	s.dispatchLocked()
}

func (s *Server) lookupLocked(conversationID, agentName string) (*conversation, *agent, error) {
	c := s.convs[conversationID]
	if c == nil {
		return nil, nil, fmt.Errorf("%w: %s", ErrNoConversation, conversationID)
	}
	if agentName == "" {
		return c, nil, nil
	}
	a := s.agents[strings.ToLower(agentName)]
	if a == nil {
		return nil, nil, fmt.Errorf("%w: %q", ErrNoAgent, agentName)
	}
	return c, a, nil
}

// Accept has the agent accept the conversation's waiting work.
func (s *Server) Accept(agentName, conversationID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, a, err := s.lookupLocked(conversationID, agentName)
	if err != nil {
		return err
	}
	if a == nil {
		return fmt.Errorf("%w: name the agent who accepts", ErrNoAgent)
	}
	return s.acceptLocked(a, c)
}

// TakeOver has a human agent take an active conversation over from the
// scripted agent working it: the scripted agent leaves, the human joins
// and the script answers no more. (Salesforce has no such action; it is
// how the emulator's agent console lets a person answer a conversation the
// simulation already accepted.)
func (s *Server) TakeOver(agentName, conversationID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, a, err := s.lookupLocked(conversationID, agentName)
	if err != nil {
		return err
	}
	if a == nil {
		return fmt.Errorf("%w: name the agent who takes over", ErrNoAgent)
	}
	ss := c.sess
	if c.closed || ss == nil || ss.status != "Active" || ss.agent == nil {
		return fmt.Errorf("%w: no agent is working conversation %s (accept it instead)", ErrState, c.id)
	}
	prev := ss.agent
	switch {
	case prev == a:
		return fmt.Errorf("%w: agent %s already works conversation %s", ErrState, a.name, c.id)
	case prev.script == nil:
		return fmt.Errorf("%w: conversation %s is worked by %s, a person; only a scripted agent's conversation can be taken over", ErrState, c.id, prev.name)
	case a.script != nil:
		return fmt.Errorf("%w: agent %s is scripted; only a human agent takes over", ErrState, a.name)
	case !a.serves(ss.queue):
		return fmt.Errorf("%w: agent %s does not work queue %s", ErrState, a.name, ss.queue.name)
	case !a.free():
		return fmt.Errorf("%w: agent %s is %s with %d of %d conversations", ErrState, a.name, a.presence, len(a.work), a.capacity)
	}
	prev.work = slices.DeleteFunc(prev.work, func(x *session) bool { return x == ss })
	s.participantLocked(c, prev, "remove")
	ss.agent = a
	ss.ending = false
	a.work = append(a.work, ss)
	s.updateSessionLocked(ss, map[string]any{"AgentType": agentType(a), "Agent__c": a.name})
	s.participantLocked(c, a, "add")
	s.dispatchLocked()
	return nil
}

// activeAgentLocked returns the agent working c (agentName, when given,
// must be it).
func activeAgentLocked(c *conversation, a *agent) (*agent, error) {
	if c.sess == nil || c.sess.agent == nil || c.sess.status != "Active" {
		return nil, fmt.Errorf("%w: no agent is working conversation %s", ErrState, c.id)
	}
	if a != nil && c.sess.agent != a {
		return nil, fmt.Errorf("%w: conversation %s is worked by %s, not %s", ErrState, c.id, c.sess.agent.name, a.name)
	}
	return c.sess.agent, nil
}

// Send posts an agent message to the conversation; it returns the entry id.
func (s *Server) Send(agentName, conversationID, text string) (string, error) {
	if text == "" {
		return "", errors.New("the message text is empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, a, err := s.lookupLocked(conversationID, agentName)
	if err != nil {
		return "", err
	}
	if a, err = activeAgentLocked(c, a); err != nil {
		return "", err
	}
	return s.agentSayLocked(c, a, text).ID, nil
}

// Typing sends the agent's typing started or stopped indicator.
func (s *Server) Typing(agentName, conversationID string, typing bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, a, err := s.lookupLocked(conversationID, agentName)
	if err != nil {
		return err
	}
	if a, err = activeAgentLocked(c, a); err != nil {
		return err
	}
	typ := "TypingStoppedIndicator"
	if typing {
		typ = "TypingStartedIndicator"
	}
	s.addEntryLocked(c, typ, map[string]any{}, agentParticipant(a), a.name, nil)
	return nil
}

// Transfer moves an active conversation to a queue (or an agent's first
// queue, offering it to that agent): the agent leaves, a ROUTING_RESULT of
// type Transfer follows and the routing status is TRANSFER until someone
// accepts. A conversation whose routing failed can be transferred too.
func (s *Server) Transfer(conversationID, queueName, toAgent string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.convs[conversationID]
	if c == nil {
		return fmt.Errorf("%w: %s", ErrNoConversation, conversationID)
	}
	ss := c.sess
	if c.closed || ss == nil || ss.status == "Ended" {
		return fmt.Errorf("%w: conversation %s has no open session", ErrState, c.id)
	}
	var target *agent
	if toAgent != "" {
		if target = s.agents[strings.ToLower(toAgent)]; target == nil {
			return fmt.Errorf("%w: %q", ErrNoAgent, toAgent)
		}
	}
	var q *queue
	switch {
	case queueName != "":
		if q = s.queues[strings.ToLower(queueName)]; q == nil {
			return fmt.Errorf("%w: %q", ErrNoQueue, queueName)
		}
	case target != nil && len(target.queues) > 0:
		q = s.queues[strings.ToLower(target.queues[0])]
	case ss.queue != nil:
		q = ss.queue
	default:
		return fmt.Errorf("%w: name a queue to transfer to", ErrNoQueue)
	}
	if ss.queue != nil {
		ss.queue.waiting = slices.DeleteFunc(ss.queue.waiting, func(x *session) bool { return x == ss })
	}
	ss.pending = nil
	if a := ss.agent; a != nil {
		a.work = slices.DeleteFunc(a.work, func(x *session) bool { return x == ss })
		ss.agent = nil
		s.participantLocked(c, a, "remove")
	}
	s.routeToLocked(c, ss.attrs, "Transfer", q)
	if target != nil && target.free() && target.serves(q) && target.script == nil {
		return s.acceptLocked(target, c)
	}
	return nil
}

// End has the agent end the conversation's session.
func (s *Server) End(agentName, conversationID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, a, err := s.lookupLocked(conversationID, agentName)
	if err != nil {
		return err
	}
	if c.sess == nil || c.sess.status == "Ended" {
		return fmt.Errorf("%w: conversation %s has no open session", ErrState, c.id)
	}
	if a != nil && c.sess.agent != nil && c.sess.agent != a {
		return fmt.Errorf("%w: conversation %s is worked by %s", ErrState, c.id, c.sess.agent.name)
	}
	s.endSessionLocked(c, "Agent")
	return nil
}

// SetPresence sets an agent's presence.
func (s *Server) SetPresence(agentName, presence string) error {
	p, ok := normPresence(presence)
	if !ok {
		return fmt.Errorf("presence %q is not Available, Busy or Offline", presence)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.agents[strings.ToLower(agentName)]
	if a == nil {
		return fmt.Errorf("%w: %q", ErrNoAgent, agentName)
	}
	a.presence = p
	if p != Available {
		for _, q := range s.queueOrder {
			for _, ss := range q.waiting {
				if ss.pending == a {
					ss.pending = nil
				}
			}
		}
	}
	s.dispatchLocked()
	return nil
}

// FailRouting makes the next count routings fail with failureType
// (RoutingError by default).
func (s *Server) FailRouting(count int, failureType, reason string) error {
	if failureType == "" {
		failureType = "RoutingError"
	}
	if !validFailure(failureType) {
		return fmt.Errorf("failure type %q is not RoutingError, SubmissionError or Unknown", failureType)
	}
	if reason == "" {
		reason = "The Omni-Channel flow failed to route the conversation."
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for range max(count, 1) {
		s.failNext = append(s.failNext, routingFailure{failureType: failureType, reason: reason})
	}
	return nil
}

// attributeFields are the MessagingSession custom fields the simulated
// flow copies routing attributes of the same name into.
func attributeFields() []string { return []string{"Topic__c", "UserId__c", "Description__c"} }
