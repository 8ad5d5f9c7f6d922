package messaging

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

type deployment struct {
	spec    DeploymentSpec
	id      string
	channel *channel
}

type channel struct {
	spec  ChannelSpec
	id    string
	queue string
}

type keyset struct {
	name, issuer, jwksURL string
	keys                  []*verifyKey
}

type queue struct {
	name    string
	id      string
	waiting []*session // FIFO
}

type agent struct {
	name     string
	userID   string
	queues   []string
	capacity int
	presence string
	script   *ScriptSpec
	work     []*session
}

// Presence values.
const (
	Available = "Available"
	Busy      = "Busy"
	Offline   = "Offline"
)

func resolveSettings(in SettingsSpec) SettingsSpec {
	if in.TokenLifetime <= 0 {
		in.TokenLifetime = Duration(time.Hour)
	}
	if in.GuestTokenLifetime <= 0 {
		in.GuestTokenLifetime = Duration(24 * time.Hour)
	}
	if in.VerificationFailure == "" {
		in.VerificationFailure = "error"
	}
	if in.DuplicateMessageID == "" {
		in.DuplicateMessageID = "post"
	}
	if in.PingInterval <= 0 {
		in.PingInterval = Duration(15 * time.Second)
	}
	if in.ReplayBuffer <= 0 {
		in.ReplayBuffer = 256
	}
	if in.SecondsPerWaiting <= 0 {
		in.SecondsPerWaiting = 60
	}
	return in
}

// Apply adds (or replaces, by name) everything in su; settings given in su
// replace the current ones field by field.
func (s *Server) Apply(su Setup) error {
	for _, q := range su.Queues {
		if err := s.PutQueue(q); err != nil {
			return err
		}
	}
	for _, c := range su.Channels {
		if err := s.PutChannel(c); err != nil {
			return err
		}
	}
	for _, d := range su.Deployments {
		if err := s.PutDeployment(d); err != nil {
			return err
		}
	}
	for _, k := range su.Keysets {
		if err := s.PutKeyset(k); err != nil {
			return err
		}
	}
	if su.Rules != nil {
		if err := s.SetRules(su.Rules); err != nil {
			return err
		}
	}
	for _, a := range su.Agents {
		if err := s.PutAgent(a); err != nil {
			return err
		}
	}
	return s.PatchSettings(su.Settings)
}

// PutQueue adds a queue (an existing one is kept with its waiting work).
func (s *Server) PutQueue(q QueueSpec) error {
	if strings.TrimSpace(q.Name) == "" {
		return setupErr("a queue needs a name")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.queues[strings.ToLower(q.Name)]; ok {
		return nil
	}
	nq := &queue{name: q.Name, id: s.fakeIDLocked("00G")}
	s.queues[strings.ToLower(q.Name)] = nq
	s.queueOrder = append(s.queueOrder, nq)
	return nil
}

// PutChannel adds or replaces a messaging channel.
func (s *Server) PutChannel(c ChannelSpec) error {
	if !isDeveloperName(c.Name) {
		return setupErr("channel name %q must start with a letter and hold only letters, digits and underscores", c.Name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.Queue != "" && s.queues[strings.ToLower(c.Queue)] == nil {
		return setupErr("channel %s: no queue named %q", c.Name, c.Queue)
	}
	if old, ok := s.channels[strings.ToLower(c.Name)]; ok {
		old.spec, old.queue = c, c.Queue
		return nil
	}
	ch := &channel{spec: c, id: s.fakeIDLocked("0Mj"), queue: c.Queue}
	s.channels[strings.ToLower(c.Name)] = ch
	s.chanOrder = append(s.chanOrder, ch)
	return nil
}

// PutDeployment adds or replaces an Embedded Service deployment.
func (s *Server) PutDeployment(d DeploymentSpec) error {
	if !isDeveloperName(d.Name) {
		return setupErr("deployment name %q must start with a letter and hold only letters, digits and underscores", d.Name)
	}
	d.Type = strings.ToLower(d.Type)
	if d.Type == "" {
		d.Type = "api"
	}
	if d.Type != "api" && d.Type != "web" {
		return setupErr("deployment %s: type %q is neither api nor web", d.Name, d.Type)
	}
	if d.PreChatContext == "" {
		d.PreChatContext = "Conversation"
	}
	if d.PreChatContext != "Conversation" && d.PreChatContext != "Session" {
		return setupErr("deployment %s: pre_chat_context %q is neither Conversation nor Session", d.Name, d.PreChatContext)
	}
	for i, f := range d.PreChat {
		if !isDeveloperName(f.Name) {
			return setupErr("deployment %s: pre-chat field %d has no valid name", d.Name, i+1)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ch *channel
	if d.Channel != "" {
		ch = s.channels[strings.ToLower(d.Channel)]
		if ch == nil {
			return setupErr("deployment %s: no channel named %q", d.Name, d.Channel)
		}
	} else if len(s.chanOrder) > 0 {
		ch = s.chanOrder[0]
	} else {
		return setupErr("deployment %s: add a messaging channel first", d.Name)
	}
	key := strings.ToLower(d.Name)
	if old, ok := s.deployments[key]; ok {
		old.spec, old.channel = d, ch
		return nil
	}
	s.deployments[key] = &deployment{spec: d, id: s.fakeIDLocked("0SI"), channel: ch}
	return nil
}

// PutKeyset adds or replaces a User Verification keyset. Its keys are
// checked as Salesforce's upload checks them (see ParseUploadedJWK).
func (s *Server) PutKeyset(k KeysetSpec) error {
	if !isDeveloperName(k.Name) {
		return setupErr("keyset name %q must start with a letter and hold only letters, digits and underscores", k.Name)
	}
	if k.Issuer == "" {
		return setupErr("keyset %s needs an issuer (the identity JWT's iss)", k.Name)
	}
	if len(k.Keys) > 0 && k.JWKSURL != "" {
		return setupErr("keyset %s: give keys or jwks_url, not both", k.Name)
	}
	ks := &keyset{name: k.Name, issuer: k.Issuer, jwksURL: k.JWKSURL}
	now := s.now()
	for i, raw := range k.Keys {
		vk, err := ParseUploadedJWK(raw, now)
		if err != nil {
			return fmt.Errorf("keyset %s, key %d: %w", k.Name, i+1, err)
		}
		ks.keys = append(ks.keys, vk)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keysets[strings.ToLower(k.Name)] = ks
	return nil
}

// UploadKey adds a single-JWK file to a keyset, replacing a key with the
// same kid.
func (s *Server) UploadKey(keysetName string, jwk []byte) (string, error) {
	vk, err := ParseUploadedJWK(jwk, s.now())
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ks := s.keysets[strings.ToLower(keysetName)]
	if ks == nil {
		return "", setupErr("no keyset named %q", keysetName)
	}
	if ks.jwksURL != "" {
		return "", setupErr("keyset %s uses a JWKS URL; keys cannot be uploaded to it", keysetName)
	}
	ks.keys = slices.DeleteFunc(ks.keys, func(k *verifyKey) bool { return k.Kid == vk.Kid })
	ks.keys = append(ks.keys, vk)
	return vk.Kid, nil
}

// SetRules replaces the routing rules.
func (s *Server) SetRules(rules []RuleSpec) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range rules {
		if (r.Queue == "") == (r.Fail == "") {
			return setupErr("routing rule %d: give exactly one of queue and fail", i+1)
		}
		if r.Queue != "" && s.queues[strings.ToLower(r.Queue)] == nil {
			return setupErr("routing rule %d: no queue named %q", i+1, r.Queue)
		}
		if r.Fail != "" && !validFailure(r.Fail) {
			return setupErr("routing rule %d: fail %q is not RoutingError, SubmissionError or Unknown", i+1, r.Fail)
		}
	}
	s.rules = slices.Clone(rules)
	return nil
}

func validFailure(f string) bool {
	return f == "RoutingError" || f == "SubmissionError" || f == "Unknown"
}

// PutAgent adds an agent or replaces its queues, capacity, presence and
// script (its current work stays).
func (s *Server) PutAgent(a AgentSpec) error {
	if strings.TrimSpace(a.Name) == "" {
		return setupErr("an agent needs a name")
	}
	if a.Capacity < 0 {
		return setupErr("agent %s: capacity %d is negative", a.Name, a.Capacity)
	}
	if a.Capacity == 0 {
		a.Capacity = 1
	}
	pres := a.Presence
	if pres == "" {
		pres = Offline
		if a.Script != nil {
			pres = Available
		}
	}
	p, ok := normPresence(pres)
	if !ok {
		return setupErr("agent %s: presence %q is not Available, Busy or Offline", a.Name, a.Presence)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range a.Queues {
		if s.queues[strings.ToLower(q)] == nil {
			return setupErr("agent %s: no queue named %q", a.Name, q)
		}
	}
	ag := s.agents[strings.ToLower(a.Name)]
	if ag == nil {
		ag = &agent{name: a.Name, userID: s.fakeIDLocked("005")}
		s.agents[strings.ToLower(a.Name)] = ag
		s.agentOrder = append(s.agentOrder, ag)
	}
	ag.queues, ag.capacity, ag.presence, ag.script = slices.Clone(a.Queues), a.Capacity, p, a.Script
	s.dispatchLocked()
	return nil
}

func normPresence(p string) (string, bool) {
	for _, v := range []string{Available, Busy, Offline} {
		if strings.EqualFold(p, v) {
			return v, true
		}
	}
	return "", false
}

// PatchSettings sets the non-zero fields of in.
func (s *Server) PatchSettings(in SettingsSpec) error {
	if in.VerificationFailure != "" && in.VerificationFailure != "error" && in.VerificationFailure != "anonymous" {
		return setupErr("verification_failure %q is neither error nor anonymous", in.VerificationFailure)
	}
	if err := checkDuplicateMode(in.DuplicateMessageID); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.settings
	if in.TokenLifetime > 0 {
		cur.TokenLifetime = in.TokenLifetime
	}
	if in.GuestTokenLifetime > 0 {
		cur.GuestTokenLifetime = in.GuestTokenLifetime
	}
	if in.VerificationFailure != "" {
		cur.VerificationFailure = in.VerificationFailure
	}
	if in.DuplicateMessageID != "" {
		cur.DuplicateMessageID = in.DuplicateMessageID
	}
	if in.PingInterval > 0 {
		cur.PingInterval = in.PingInterval
	}
	if in.ReplayBuffer > 0 {
		cur.ReplayBuffer = in.ReplayBuffer
	}
	if in.SecondsPerWaiting > 0 {
		cur.SecondsPerWaiting = in.SecondsPerWaiting
	}
	s.settings = cur
	return nil
}

// Settings returns the current settings.
func (s *Server) Settings() SettingsSpec {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.settings
}

// keysFor returns the keyset whose issuer is iss and its keys (fetching a
// JWKS URL without holding the lock).
func (s *Server) keysFor(ctx context.Context, iss string) (string, []*verifyKey, error) {
	s.mu.Lock()
	var ks *keyset
	for _, k := range s.keysets {
		if k.issuer == iss {
			ks = k
			break
		}
	}
	if ks == nil {
		s.mu.Unlock()
		return "", nil, fmt.Errorf("no keyset has the issuer %q", iss)
	}
	name, url, keys := ks.name, ks.jwksURL, slices.Clone(ks.keys)
	s.mu.Unlock()
	if url == "" {
		return name, keys, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return name, nil, fmt.Errorf("keyset %s: JWKS URL: %w", name, err)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return name, nil, fmt.Errorf("keyset %s: fetch the JWKS: %w", name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return name, nil, fmt.Errorf("keyset %s: the JWKS URL answered %s", name, resp.Status)
	}
	keys, err = parseJWKS(body)
	if err != nil {
		return name, nil, fmt.Errorf("keyset %s: %w", name, err)
	}
	return name, keys, nil
}

// SetupView is the current configuration as the admin API shows it.
type SetupView struct {
	Deployments []DeploymentView `json:"deployments"`
	Channels    []ChannelView    `json:"channels"`
	Keysets     []KeysetView     `json:"keysets"`
	Queues      []QueueView      `json:"queues"`
	Rules       []RuleSpec       `json:"routing_rules"`
	Agents      []AgentView      `json:"agents"`
	Settings    SettingsSpec     `json:"settings"`
}

// DeploymentView is a deployment with its ids.
type DeploymentView struct {
	DeploymentSpec
	ID string `json:"id"`
}

// ChannelView is a channel with its id.
type ChannelView struct {
	ChannelSpec
	ID string `json:"id"`
}

// KeysetView is a keyset without key material.
type KeysetView struct {
	Name    string   `json:"name"`
	Issuer  string   `json:"issuer"`
	JWKSURL string   `json:"jwks_url,omitempty"`
	KeyIDs  []string `json:"kids"`
}

// QueueView is a queue and how much work waits in it.
type QueueView struct {
	Name    string `json:"name"`
	ID      string `json:"id"`
	Waiting int    `json:"waiting"`
}

// AgentView is an agent's state.
type AgentView struct {
	Name     string   `json:"name"`
	UserID   string   `json:"user_id"`
	Queues   []string `json:"queues"`
	Capacity int      `json:"capacity"`
	Presence string   `json:"presence"`
	Scripted bool     `json:"scripted"`
	Work     []string `json:"work"`
}

// View returns the current configuration.
func (s *Server) View() SetupView {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := SetupView{Rules: slices.Clone(s.rules), Settings: s.settings}
	if v.Rules == nil {
		v.Rules = []RuleSpec{}
	}
	for _, d := range s.deployments {
		spec := d.spec
		spec.Channel = d.channel.spec.Name
		v.Deployments = append(v.Deployments, DeploymentView{DeploymentSpec: spec, ID: d.id})
	}
	slices.SortFunc(v.Deployments, func(a, b DeploymentView) int { return strings.Compare(a.Name, b.Name) })
	for _, c := range s.chanOrder {
		v.Channels = append(v.Channels, ChannelView{ChannelSpec: c.spec, ID: c.id})
	}
	for _, k := range s.keysets {
		kv := KeysetView{Name: k.name, Issuer: k.issuer, JWKSURL: k.jwksURL, KeyIDs: []string{}}
		for _, key := range k.keys {
			kv.KeyIDs = append(kv.KeyIDs, key.Kid)
		}
		v.Keysets = append(v.Keysets, kv)
	}
	slices.SortFunc(v.Keysets, func(a, b KeysetView) int { return strings.Compare(a.Name, b.Name) })
	for _, q := range s.queueOrder {
		v.Queues = append(v.Queues, QueueView{Name: q.name, ID: q.id, Waiting: len(q.waiting)})
	}
	for _, a := range s.agentOrder {
		v.Agents = append(v.Agents, s.agentViewLocked(a))
	}
	return v
}

func (s *Server) agentViewLocked(a *agent) AgentView {
	av := AgentView{Name: a.name, UserID: a.userID, Queues: slices.Clone(a.queues), Capacity: a.capacity, Presence: a.presence, Scripted: a.script != nil, Work: []string{}}
	for _, w := range a.work {
		av.Work = append(av.Work, w.conv.id)
	}
	return av
}

func checkDuplicateMode(m string) error {
	switch m {
	case "", "post", "accept", "reject":
		return nil
	}
	return setupErr("duplicate_message_id %q is not post, accept or reject", m)
}
