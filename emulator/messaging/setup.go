package messaging

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
	"unicode"
)

// Setup is the messaging configuration of an org: the "messaging" section of
// a fixture, and the bodies of the admin API's create calls.
type Setup struct {
	Deployments []DeploymentSpec `json:"deployments,omitempty"`
	Channels    []ChannelSpec    `json:"channels,omitempty"`
	Keysets     []KeysetSpec     `json:"keysets,omitempty"`
	Queues      []QueueSpec      `json:"queues,omitempty"`
	// Rules map routing attributes to queues, in order; the first match
	// wins. Without a match the deployment's channel's queue is used.
	Rules    []RuleSpec   `json:"routing_rules,omitempty"`
	Agents   []AgentSpec  `json:"agents,omitempty"`
	Settings SettingsSpec `json:"settings,omitzero"`
}

// DeploymentSpec is an Embedded Service deployment.
type DeploymentSpec struct {
	// Name is the deployment's API name, the esDeveloperName.
	Name string `json:"name"`
	// Type is "api" (Custom Client, the default) or "web"; only api
	// deployments work on the v2 API, as in Salesforce.
	Type string `json:"type,omitempty"`
	// Published defaults to true.
	Published *bool `json:"published,omitempty"`
	// Channel is the messaging channel's name (default: the first channel).
	Channel string `json:"channel,omitempty"`
	// PreChat is the pre-chat form: visible and hidden fields whose names
	// are the routing attributes' keys.
	PreChat []PreChatField `json:"pre_chat,omitempty"`
	// PreChatContext is "Conversation" (default) or "Session".
	PreChatContext string `json:"pre_chat_context,omitempty"`
}

// PreChatField is a field of a pre-chat form.
type PreChatField struct {
	Name      string `json:"name"`
	Type      string `json:"type,omitempty"` // Text (default), Email, Phone, ChoiceList, Checkbox
	Required  bool   `json:"required,omitempty"`
	Hidden    bool   `json:"hidden,omitempty"`
	MaxLength int    `json:"max_length,omitempty"`
}

// ChannelSpec is a messaging channel.
type ChannelSpec struct {
	Name string `json:"name"`
	// UserVerification enables authenticated access tokens on the channel.
	UserVerification bool `json:"user_verification,omitempty"`
	// Queue is where work goes when no routing rule matches (default: the
	// first queue).
	Queue string `json:"queue,omitempty"`
}

// KeysetSpec is a User Verification keyset: the issuer the identity JWT's
// iss must equal and either uploaded keys or a JWKS endpoint.
type KeysetSpec struct {
	Name   string `json:"name"`
	Issuer string `json:"issuer"`
	// Keys are single JWKs, as uploaded in Setup (kty, kid, alg and x5c
	// required).
	Keys []json.RawMessage `json:"keys,omitempty"`
	// KeyFiles are single-JWK files (such as `sfbridge keys jwk` writes),
	// relative to the fixture; the emulator reads them into Keys.
	KeyFiles []string `json:"key_files,omitempty"`
	// JWKSURL is a JWKS endpoint fetched at verification time.
	JWKSURL string `json:"jwks_url,omitempty"`
}

// QueueSpec is an Omni-Channel queue.
type QueueSpec struct {
	Name string `json:"name"`
}

// RuleSpec routes conversations whose routing attributes contain every
// key/value of When (values compared case-insensitively) to Queue, or fails
// the routing with Fail ("RoutingError", "SubmissionError", "Unknown").
type RuleSpec struct {
	When  map[string]string `json:"when,omitempty"`
	Queue string            `json:"queue,omitempty"`
	Fail  string            `json:"fail,omitempty"`
}

// AgentSpec is an Omni-Channel agent.
type AgentSpec struct {
	// Name is the agent's display name, unique.
	Name   string   `json:"name"`
	Queues []string `json:"queues,omitempty"`
	// Capacity is how many conversations the agent works at once (default 1).
	Capacity int `json:"capacity,omitempty"`
	// Presence is Available, Busy or Offline (default Offline; a scripted
	// agent starts Available).
	Presence string `json:"presence,omitempty"`
	// Script makes the agent answer by itself.
	Script *ScriptSpec `json:"script,omitempty"`
}

// ScriptSpec is a scripted agent: it accepts offered work after AcceptDelay,
// greets, and answers each end-user message after ReplyDelay.
//
// With FirstReply, Replies or EndWords set the agent holds a conversation
// instead: it answers a burst of end-user messages once (messages that
// arrive while an answer is pending get no answer of their own), answers
// the messages sent before it joined (a bot's handed-over transcript) as
// soon as it joins, first with FirstReply and then with Replies in turn, and
// when a message after its first answer contains one of EndWords it says
// Farewell and ends the session.
type ScriptSpec struct {
	AcceptDelay Duration `json:"accept_delay,omitzero"`
	Greeting    string   `json:"greeting,omitempty"`
	// Reply is the answer; "{text}" is replaced by the end user's message.
	Reply      string   `json:"reply,omitempty"`
	ReplyDelay Duration `json:"reply_delay,omitzero"`
	// EndAfter ends the session after this many replies (0: never).
	EndAfter int `json:"end_after,omitempty"`
	// FirstReply answers the session's first end-user messages.
	FirstReply string `json:"first_reply,omitempty"`
	// Replies answer later messages, in turn ("{text}" as in Reply;
	// Reply is used when Replies is empty).
	Replies []string `json:"replies,omitempty"`
	// EndWords end the session when an end-user message contains one of
	// them as a word (case-insensitive), such as "bye".
	EndWords []string `json:"end_words,omitempty"`
	// Farewell is said before the agent ends the session for an end word.
	Farewell string `json:"farewell,omitempty"`
}

// conversational reports whether the script holds a conversation (see
// ScriptSpec) rather than answering every message.
func (sc *ScriptSpec) conversational() bool {
	return sc.FirstReply != "" || len(sc.Replies) > 0 || len(sc.EndWords) > 0
}

// endsWith reports whether text contains one of the end words as a word.
func (sc *ScriptSpec) endsWith(text string) bool {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-'
	})
	for _, w := range words {
		for _, e := range sc.EndWords {
			if strings.EqualFold(w, strings.TrimSpace(e)) {
				return true
			}
		}
	}
	return false
}

// answer is the script's text for its n-th answer (from 0) to text.
func (sc *ScriptSpec) answer(n int, text string) string {
	if sc.FirstReply != "" {
		if n == 0 {
			return sc.FirstReply
		}
		n--
	}
	r := sc.Reply
	if len(sc.Replies) > 0 {
		r = sc.Replies[n%len(sc.Replies)]
	}
	return strings.ReplaceAll(r, "{text}", text)
}

// SettingsSpec holds the org's Messaging Settings.
type SettingsSpec struct {
	// TokenLifetime is the "Authorization Token Expiration Time for Verified
	// Users" (default 60m); GuestTokenLifetime the unauthenticated one
	// (default 24h).
	TokenLifetime      Duration `json:"token_lifetime,omitzero"`
	GuestTokenLifetime Duration `json:"guest_token_lifetime,omitzero"`
	// VerificationFailure is "error" (default: 401) or "anonymous" (200
	// with an unauthenticated token, as some orgs answer).
	VerificationFailure string `json:"verification_failure,omitempty"`
	// DuplicateMessageID is how a message whose client-chosen id the
	// conversation already holds is answered; Salesforce does not document
	// it. "post" (default) posts it again, as if ids were not checked;
	// "accept" answers 202 with the first message's entry and posts
	// nothing; "reject" answers 409. A client that must not post twice
	// has to work with all three.
	DuplicateMessageID string `json:"duplicate_message_id,omitempty"`
	// PingInterval is the SSE keepalive interval (default 15s).
	PingInterval Duration `json:"ping_interval,omitzero"`
	// ReplayBuffer is how many events per end user are kept for
	// Last-Event-Id replay (default 256).
	ReplayBuffer int `json:"replay_buffer,omitempty"`
	// SecondsPerWaiting is the estimated wait per conversation ahead in the
	// queue (default 60).
	SecondsPerWaiting int `json:"seconds_per_waiting,omitempty"`
}

// Duration is a time.Duration written as a Go duration string ("90s").
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a Go duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n float64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return fmt.Errorf("a duration must be a string such as \"90s\" or a number of seconds")
		}
		*d = Duration(n * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// DefaultSetup is the messaging side of the default org: a published api
// deployment "sfbridge_api" with a pre-chat form of a visible Topic and
// hidden UserId field, a channel with User Verification, a keyset is left to
// the user (upload one with the admin API or `sfbridge emulator messaging
// keyset`), queues General and Payroll and one scripted agent "Emma Bot".
func DefaultSetup() Setup {
	return Setup{
		Deployments: []DeploymentSpec{{Name: "sfbridge_api", Type: "api", Channel: "sfbridge_channel", PreChat: []PreChatField{
			{Name: "Topic", Type: "Text", MaxLength: 255},
			{Name: "UserId", Type: "Text", Hidden: true, MaxLength: 255},
			{Name: "Description", Type: "Text", Hidden: true, MaxLength: 4000},
		}}},
		Channels: []ChannelSpec{{Name: "sfbridge_channel", UserVerification: true, Queue: "General"}},
		Queues:   []QueueSpec{{Name: "General"}, {Name: "Payroll"}},
		Rules:    []RuleSpec{{When: map[string]string{"Topic": "Payroll"}, Queue: "Payroll"}},
		Agents: []AgentSpec{
			{Name: "Emma Bot", Queues: []string{"General", "Payroll"}, Capacity: 50, Presence: "Available", Script: &ScriptSpec{
				AcceptDelay: Duration(2 * time.Second), Greeting: "Hi, I'm Emma (a scripted agent of the sfbridge emulator). How can I help?",
				Reply: "You said: {text}", ReplyDelay: Duration(1500 * time.Millisecond)}},
			{Name: "Alex Agent", Queues: []string{"General", "Payroll"}, Capacity: 3, Presence: "Offline"},
		},
	}
}

// isDeveloperName reports whether s is an API name: a letter, then letters,
// digits and underscores.
func isDeveloperName(s string) bool {
	for i, c := range s {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		digit := c >= '0' && c <= '9'
		if i == 0 && !letter || !letter && c != '_' && !digit {
			return false
		}
	}
	return s != ""
}

// ErrInvalidSetup is wrapped by every error about a Setup.
var ErrInvalidSetup = errors.New("invalid messaging setup")

func setupErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidSetup, fmt.Sprintf(format, args...))
}

// JWKError is a refused key upload, with Salesforce's reasons.
type JWKError struct {
	Reason string
}

func (e *JWKError) Error() string { return "JWK upload refused: " + e.Reason }

// jwkFile is a JWK as uploaded.
type jwkFile struct {
	Kty string   `json:"kty"`
	Kid string   `json:"kid"`
	Alg string   `json:"alg"`
	Use string   `json:"use"`
	N   string   `json:"n"`
	E   string   `json:"e"`
	X5c []string `json:"x5c"`
}

// verifyKey is a public key a keyset verifies with.
type verifyKey struct {
	Kid string
	Alg string
	Key *rsa.PublicKey
	// NotAfter is the certificate's expiry (zero for JWKS keys without x5c).
	NotAfter time.Time
}

// ParseUploadedJWK checks a single-JWK file as Salesforce's User
// Verification upload does: a JSON object (not an array or a set) with kty,
// kid, alg and x5c; kty RSA; alg RS256 or RS512; x5c a base64 DER
// certificate valid for at least ten more days; n and e, when present,
// matching the certificate's key.
func ParseUploadedJWK(data []byte, now time.Time) (*verifyKey, error) {
	trimmed := strings.TrimSpace(string(data))
	if strings.HasPrefix(trimmed, "[") {
		return nil, &JWKError{Reason: "the file holds an array; upload each JWK as its own file"}
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, &JWKError{Reason: "the file is not a JSON object"}
	}
	if _, ok := raw["keys"]; ok {
		return nil, &JWKError{Reason: `the file is a JWK Set ("keys"); upload each JWK as its own file`}
	}
	for _, m := range []string{"kty", "kid", "alg", "x5c"} {
		if _, ok := raw[m]; !ok {
			return nil, &JWKError{Reason: fmt.Sprintf("the required property %q is missing (kty, kid, alg and x5c are required)", m)}
		}
	}
	var j jwkFile
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, &JWKError{Reason: "a property has the wrong type: " + err.Error()}
	}
	if j.Kty != "RSA" {
		return nil, &JWKError{Reason: fmt.Sprintf("kty is %q; only RSA keys are supported", j.Kty)}
	}
	if j.Alg != "RS256" && j.Alg != "RS512" {
		return nil, &JWKError{Reason: fmt.Sprintf("alg is %q; use RS256 or RS512", j.Alg)}
	}
	if j.Kid == "" {
		return nil, &JWKError{Reason: "kid is empty"}
	}
	if len(j.X5c) == 0 {
		return nil, &JWKError{Reason: "x5c is empty; it must hold the base64 DER certificate"}
	}
	der, err := base64.StdEncoding.DecodeString(j.X5c[0])
	if err != nil {
		return nil, &JWKError{Reason: "x5c[0] is not valid base64"}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, &JWKError{Reason: "x5c[0] is not a DER certificate"}
	}
	if now.Add(10 * 24 * time.Hour).After(cert.NotAfter) {
		return nil, &JWKError{Reason: fmt.Sprintf("the certificate expires %s; it must be valid for at least 10 more days", cert.NotAfter.UTC().Format(time.RFC3339))}
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, &JWKError{Reason: "the certificate's key is not RSA"}
	}
	if j.N != "" || j.E != "" {
		k, err := rsaFromNE(j.N, j.E)
		if err != nil {
			return nil, &JWKError{Reason: err.Error()}
		}
		if !k.Equal(pub) {
			return nil, &JWKError{Reason: "n and e do not match the certificate in x5c"}
		}
	}
	return &verifyKey{Kid: j.Kid, Alg: j.Alg, Key: pub, NotAfter: cert.NotAfter}, nil
}

// parseJWKS reads a JWKS endpoint's answer: RSA keys for RS256 or RS512.
func parseJWKS(data []byte) ([]*verifyKey, error) {
	var set struct {
		Keys []jwkFile `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("the JWKS is not JSON: %w", err)
	}
	var out []*verifyKey
	for _, j := range set.Keys {
		if j.Kty != "RSA" || (j.Alg != "" && j.Alg != "RS256" && j.Alg != "RS512") {
			continue
		}
		k, err := rsaFromNE(j.N, j.E)
		if err != nil {
			return nil, fmt.Errorf("JWKS key %q: %w", j.Kid, err)
		}
		out = append(out, &verifyKey{Kid: j.Kid, Alg: j.Alg, Key: k})
	}
	return out, nil
}

func rsaFromNE(n64, e64 string) (*rsa.PublicKey, error) {
	n, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(n64, "="))
	if err != nil || len(n) == 0 {
		return nil, errors.New(`"n" is not base64url`)
	}
	e, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(e64, "="))
	if err != nil || len(e) == 0 || len(e) > 4 {
		return nil, errors.New(`"e" is not a base64url exponent`)
	}
	exp := new(big.Int).SetBytes(e)
	mod := new(big.Int).SetBytes(n)
	if mod.BitLen() < 1024 || exp.Int64() < 3 {
		return nil, errors.New("the RSA key is too small")
	}
	return &rsa.PublicKey{N: mod, E: int(exp.Int64())}, nil
}
