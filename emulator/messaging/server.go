package messaging

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/internal/uuidstr"
)

// APIPrefix is the REST prefix of the SCRT host; SSEPath its event stream.
const (
	APIPrefix = "/iamessage/api/v2"
	SSEPath   = "/eventrouter/v1/sse"
)

// Records is where the simulated Omni-Channel writes MessagingEndUser and
// MessagingSession records (the emulator's data store), so they can be
// queried with SOQL. Nil keeps no records.
type Records interface {
	// Insert creates a record and returns its id.
	Insert(object string, fields map[string]any) (string, error)
	// Update sets fields on a record.
	Update(object, id string, fields map[string]any) error
}

// Config configures a Server.
type Config struct {
	// OrgID is the org's 15- or 18-character id. Required.
	OrgID string
	// Setup is the initial configuration (deployments, channels, keysets,
	// queues, rules, agents, settings).
	Setup Setup
	// Clock drives keepalive pings, scripted agents and stream expiry
	// timers; nil is the real clock.
	Clock clock.Clock
	// Now is the org's time, against which tokens expire and identity JWTs
	// are checked; nil is Clock.Now. The emulator passes its own clock,
	// which the admin API can advance (call Recheck after advancing).
	Now func() time.Time
	// Records receives MessagingEndUser and MessagingSession records.
	Records Records
	// HTTPClient fetches keysets' JWKS URLs (default: a client with a 10 s
	// timeout).
	HTTPClient *http.Client
	// Logger receives errors writing records; nil discards. Tokens are
	// never logged.
	Logger *slog.Logger
}

// Server is the emulated SCRT host and its Omni-Channel simulation. It is
// safe for concurrent use.
type Server struct {
	clk     clock.Clock
	now     func() time.Time
	orgID15 string
	orgID   string
	secret  []byte
	records Records
	http    *http.Client
	log     *slog.Logger
	api     *http.ServeMux
	admin   *http.ServeMux

	mu          sync.Mutex
	closed      bool
	deployments map[string]*deployment
	channels    map[string]*channel
	chanOrder   []*channel
	keysets     map[string]*keyset
	queues      map[string]*queue
	queueOrder  []*queue
	rules       []RuleSpec
	agents      map[string]*agent
	agentOrder  []*agent
	settings    SettingsSpec
	tokens      map[string]*accessToken
	subjects    map[string]*subject
	convs       map[string]*conversation
	seq         int64
	idn         uint64
	failNext    []routingFailure
	faults      []*sseFault
	faultSeq    int
	timers      map[clock.Timer]struct{}
	streams     int
}

// New builds a Server.
func New(cfg Config) (*Server, error) {
	if len(cfg.OrgID) != 15 && len(cfg.OrgID) != 18 || !strings.HasPrefix(cfg.OrgID, "00D") {
		return nil, fmt.Errorf("messaging: Config.OrgID %q is not a 15- or 18-character org id starting with 00D", cfg.OrgID)
	}
	s := &Server{clk: clock.Or(cfg.Clock), orgID: cfg.OrgID, orgID15: cfg.OrgID[:15], records: cfg.Records, log: cfg.Logger,
		deployments: map[string]*deployment{}, channels: map[string]*channel{}, keysets: map[string]*keyset{},
		queues: map[string]*queue{}, agents: map[string]*agent{}, tokens: map[string]*accessToken{},
		subjects: map[string]*subject{}, convs: map[string]*conversation{}, timers: map[clock.Timer]struct{}{}}
	s.now = cfg.Now
	if s.now == nil {
		s.now = s.clk.Now
	}
	s.http = cfg.HTTPClient
	if s.http == nil {
		s.http = &http.Client{Timeout: 10 * time.Second}
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.secret = make([]byte, 32)
	if _, err := rand.Read(s.secret); err != nil {
		return nil, fmt.Errorf("messaging: %w", err)
	}
	s.settings = resolveSettings(SettingsSpec{})
	if err := s.Apply(cfg.Setup); err != nil {
		return nil, err
	}
	s.api = s.apiMux()
	s.admin = s.adminMux()
	return s, nil
}

// Close stops the scripted agents' timers and ends every open SSE stream.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for t := range s.timers {
		t.Stop()
	}
	clear(s.timers)
	for _, tok := range s.tokens {
		for st := range tok.streams {
			st.kill(killShutdown)
		}
	}
}

// OrgID15 is the 15-character org id SSE clients send in X-Org-Id.
func (s *Server) OrgID15() string { return s.orgID15 }

// Recheck makes open streams re-check their tokens' expiry; the emulator
// calls it after its clock was advanced.
func (s *Server) Recheck() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, tok := range s.tokens {
		for st := range tok.streams {
			st.signal()
		}
	}
}

// afterLocked runs f under s.mu after d on the clock, unless the server
// closed first.
func (s *Server) afterLocked(d time.Duration, f func()) {
	if s.closed {
		return
	}
	var t clock.Timer
	t = s.clk.AfterFunc(d, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.timers, t)
		if s.closed {
			return
		}
		f()
	})
	s.timers[t] = struct{}{}
}

// newIDLocked returns a lowercase random UUID (version 4).
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("messaging: crypto/rand failed: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// isLowerUUID reports whether s is a UUID in lowercase with the RFC 4122
// variant, as Salesforce requires of conversation ids.
func isLowerUUID(s string) bool {
	if !uuidstr.Valid(s) {
		return false
	}
	v := s[19]
	return v == '8' || v == '9' || v == 'a' || v == 'b'
}

// fakeID returns a Salesforce-looking id with prefix (not checksummed into
// the data store; used for channel, queue and agent ids).
func (s *Server) fakeIDLocked(prefix string) string {
	s.idn++
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := []byte(prefix + "xx0000000000")
	n := s.idn
	for i := len(b) - 1; i >= 5 && n > 0; i-- {
		b[i] = digits[n%62]
		n /= 62
	}
	return string(b[:15])
}

// APIError is an error answer of the SCRT host.
type APIError struct {
	Status  int    `json:"status"`
	Err     string `json:"error"`
	Message string `json:"message,omitempty"`
	Path    string `json:"path"`
}

func (e *APIError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Err, e.Message) }

func apiErr(status int, format string, args ...any) *APIError {
	return &APIError{Status: status, Err: http.StatusText(status), Message: fmt.Sprintf(format, args...)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeErr(w http.ResponseWriter, r *http.Request, e *APIError) {
	e.Path = r.URL.Path
	writeJSON(w, e.Status, e)
}

// decodeBody reads a JSON body of at most limit bytes into v; unknown
// fields are accepted, as Salesforce ignores them.
func decodeBody(r *http.Request, limit int64, v any) *APIError {
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return apiErr(http.StatusBadRequest, "could not read the request body: %v", err)
	}
	if int64(len(b)) > limit {
		return apiErr(http.StatusRequestEntityTooLarge, "the request body is larger than %d bytes", limit)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return apiErr(http.StatusBadRequest, "the request body is empty; send a JSON object")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return apiErr(http.StatusBadRequest, "the request body is not valid JSON: %v", err)
	}
	return nil
}

// Handler serves the SCRT host: the REST API under /iamessage/api/v2 and
// the SSE stream, with Salesforce's CORS behaviour for browser clients.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
				if rh := r.Header.Get("Access-Control-Request-Headers"); rh != "" {
					h.Set("Access-Control-Allow-Headers", rh)
				}
				h.Set("Access-Control-Max-Age", "3600")
				w.WriteHeader(http.StatusOK)
				return
			}
		}
		s.api.ServeHTTP(w, r)
	})
}

func (s *Server) apiMux() *http.ServeMux {
	m := http.NewServeMux()
	p := APIPrefix
	m.HandleFunc("POST "+p+"/authorization/unauthenticated/access-token", s.handleUnauthToken)
	m.HandleFunc("POST "+p+"/authorization/authenticated/access-token", s.handleAuthToken)
	m.HandleFunc("DELETE "+p+"/authorization/authenticated/access-token", s.handleRevoke)
	m.HandleFunc("GET "+p+"/authorization/continuation-access-token", s.handleContinuation)
	m.HandleFunc("POST "+p+"/conversation", s.authed(s.handleCreateConversation))
	m.HandleFunc("GET "+p+"/conversation/list", s.authed(s.handleListConversations))
	m.HandleFunc("GET "+p+"/conversation/{id}", s.authed(s.conv(s.handleRoutingStatus)))
	m.HandleFunc("DELETE "+p+"/conversation/{id}", s.authed(s.conv(s.handleCloseConversation)))
	m.HandleFunc("DELETE "+p+"/conversation/{id}/session", s.authed(s.conv(s.handleEndSession)))
	m.HandleFunc("POST "+p+"/conversation/{id}/message", s.authed(s.conv(s.handleSendMessage)))
	m.HandleFunc("POST "+p+"/conversation/{id}/entry", s.authed(s.conv(s.handleEntry)))
	m.HandleFunc("POST "+p+"/conversation/{id}/acknowledge-entries", s.authed(s.conv(s.handleAcks)))
	m.HandleFunc("GET "+p+"/conversation/{id}/entries", s.authed(s.conv(s.handleListEntries)))
	m.HandleFunc("POST "+p+"/conversation/{id}/file", s.authed(s.conv(s.handleFile)))
	m.HandleFunc("GET "+SSEPath, s.handleSSE)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, r, apiErr(http.StatusNotFound, "no resource %s %s on the SCRT host (see docs/emulator.md)", r.Method, r.URL.Path))
	})
	return m
}
