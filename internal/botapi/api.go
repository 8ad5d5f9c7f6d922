package botapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/servicedesk"
	"github.com/sfbridge/sfbridge/state"
)

// Org is what the API serves for one org alias. Any service left nil makes
// its routes answer 503 not_configured.
type Org struct {
	// Alias is the org's name in the daemon's config, the {org} of the
	// routes and the org of its state records.
	Alias     string
	Employees *servicedesk.Employees
	Cases     *servicedesk.Cases
	// Knowledge searches the synced copy in Store (its Client is not used
	// by the API).
	Knowledge *servicedesk.Knowledge
	// Store holds the journal (cases.events, knowledge.events,
	// handoff.<id>) and the handoff records.
	Store state.Store
	// Messenger makes the stateless messaging calls of handoffs (create,
	// send, end); nil answers handoff routes with 503 not_configured.
	Messenger Messenger
	// Topics are the journal topics of GET …/events, in cursor order
	// (default cases.events and knowledge.events). Changing them changes
	// the meaning of the event ids clients hold.
	Topics []string
	// Routing are the default routing attributes of a handoff; a request's
	// routing overrides them key by key.
	Routing map[string]string
}

// Observer receives gauges for the daemon's metrics; nil fields are
// skipped. Callbacks must be quick and safe for concurrent use.
type Observer struct {
	// SSEClients is called with +1 when an SSE stream opens and -1 when it
	// closes (sfbridge_sse_clients{org}).
	SSEClients func(org string, delta int)
	// HandoffsOpen is called by a Pump with +1 when it starts following a
	// handoff and -1 when the handoff ends or the pump stops
	// (sfbridge_handoffs_open{org}).
	HandoffsOpen func(org string, delta int)
}

func (o Observer) sse(org string, d int) {
	if o.SSEClients != nil {
		o.SSEClients(org, d)
	}
}

func (o Observer) handoffs(org string, d int) {
	if o.HandoffsOpen != nil {
		o.HandoffsOpen(org, d)
	}
}

// Options configure the API.
type Options struct {
	// Org returns the org of an alias; false answers 404 unknown_org.
	// Required.
	Org func(alias string) (*Org, bool)
	// Clock is the time source (nil: real time).
	Clock clock.Clock
	// Logger receives failures; nil discards.
	Logger *slog.Logger
	// Observer receives the SSE client gauge.
	Observer Observer
	// Poll is how often an SSE stream reads the journal when not notified
	// (default 1s).
	Poll time.Duration
	// Ping is the interval of SSE comment pings (default 15s).
	Ping time.Duration
	// MaxBody bounds request bodies (default 1 MiB).
	MaxBody int64
}

// API serves the bot-facing routes.
type API struct {
	opts Options
	clk  clock.Clock
	log  *slog.Logger
	mux  *http.ServeMux

	mu      sync.Mutex
	waiters map[string][]chan struct{} // org → streams waiting for news
}

// New checks the options and builds the API.
func New(o Options) (*API, error) {
	if o.Org == nil {
		return nil, errors.New("botapi: Options.Org is required: pass the daemon's lookup of org aliases")
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Ping <= 0 {
		o.Ping = 15 * time.Second
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 1 << 20
	}
	a := &API{opts: o, clk: clock.Or(o.Clock), log: o.Logger, waiters: map[string][]chan struct{}{}}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.mux = http.NewServeMux()
	a.routes()
	return a, nil
}

func (a *API) routes() {
	h := map[string]func(http.ResponseWriter, *http.Request, *Org){
		"GET /v1/orgs/{org}/employees":               a.getEmployee,
		"POST /v1/orgs/{org}/cases":                  a.createCase,
		"GET /v1/orgs/{org}/cases/{id}":              a.getCase,
		"POST /v1/orgs/{org}/cases/{id}/comments":    a.addComment,
		"GET /v1/orgs/{org}/knowledge":               a.searchKnowledge,
		"GET /v1/orgs/{org}/knowledge/{id}":          a.getArticle,
		"GET /v1/orgs/{org}/events":                  a.events,
		"POST /v1/orgs/{org}/handoffs":               a.createHandoff,
		"POST /v1/orgs/{org}/handoffs/{id}/messages": a.sendHandoffMessage,
		"GET /v1/orgs/{org}/handoffs/{id}/events":    a.handoffEvents,
		"DELETE /v1/orgs/{org}/handoffs/{id}":        a.endHandoff,
	}
	for pattern, fn := range h {
		a.mux.HandleFunc(pattern, a.withOrg(fn))
	}
	a.mux.HandleFunc("/v1/orgs/{org}/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: "no route " + r.Method + " " + r.URL.Path, Fix: "see docs/api.md for the routes"})
	})
}

// Handler serves the routes under /v1/orgs/{org}/…; the daemon adds
// authentication in front of it.
func (a *API) Handler() http.Handler { return a.mux }

func (a *API) withOrg(fn func(http.ResponseWriter, *http.Request, *Org)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		alias := r.PathValue("org")
		o, ok := a.opts.Org(alias)
		if !ok || o == nil {
			writeError(w, &Error{Status: http.StatusNotFound, Code: CodeUnknownOrg, Message: fmt.Sprintf("no org %q is configured", alias), Fix: "use an alias from the daemon's config (GET /v1/orgs lists them)"})
			return
		}
		fn(w, r, o)
	}
}

// Notify wakes the SSE streams of org so they read the journal now instead
// of at their next poll; a pipeline in the same process calls it after a
// commit. It never blocks.
func (a *API) Notify(org string) {
	a.mu.Lock()
	ws := a.waiters[org]
	delete(a.waiters, org)
	a.mu.Unlock()
	for _, c := range ws {
		close(c)
	}
}

// wait returns a channel closed at the next Notify of org, and a function
// that forgets it (a stream that woke up for another reason calls it, so
// polling streams leave nothing behind).
func (a *API) wait(org string) (<-chan struct{}, func()) {
	c := make(chan struct{})
	a.mu.Lock()
	a.waiters[org] = append(a.waiters[org], c)
	a.mu.Unlock()
	return c, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		ws := a.waiters[org]
		if i := slices.Index(ws, c); i >= 0 {
			ws[i] = ws[len(ws)-1]
			ws[len(ws)-1] = nil
			a.waiters[org] = ws[:len(ws)-1]
		}
		if len(a.waiters[org]) == 0 {
			delete(a.waiters, org)
		}
	}
}

// Waiting counts the SSE streams of org parked until the next Notify or
// poll.
func (a *API) Waiting(org string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.waiters[org])
}

// decode reads a JSON request body strictly into v.
func (a *API) decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return &Error{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedContent, Message: fmt.Sprintf("Content-Type %q is not application/json", ct), Fix: "send JSON with Content-Type: application/json"}
		}
	}
	return decodeJSON(io.LimitReader(r.Body, a.opts.MaxBody+1), a.opts.MaxBody, v)
}

// decodeJSON decodes exactly one JSON object of at most limit bytes,
// refusing unknown fields.
func decodeJSON(r io.Reader, limit int64, v any) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return badRequest("the request body could not be read: "+err.Error(), "send the body again")
	}
	if int64(len(data)) > limit {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeBadRequest, Message: fmt.Sprintf("the request body is over %d bytes", limit), Fix: "send a smaller body"}
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return badRequest("the request body is empty", "send a JSON object")
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("the request body is not the expected JSON: "+err.Error(), "see docs/api.md for the fields")
	}
	if dec.More() {
		return badRequest("the request body holds more than one JSON value", "send one JSON object")
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		return badRequest("the request body has data after the JSON object", "send one JSON object")
	}
	return nil
}

func notConfigured(what, fix string) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: CodeNotConfigured, Message: what + " is not configured for this org", Fix: fix}
}
