package botapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/emulator/data"
	emsg "github.com/sfbridge/sfbridge/emulator/messaging"
	"github.com/sfbridge/sfbridge/internal/botapi"
	"github.com/sfbridge/sfbridge/internal/botapi/ssetest"
	"github.com/sfbridge/sfbridge/keys"
	"github.com/sfbridge/sfbridge/messaging"
	"github.com/sfbridge/sfbridge/rest"
	"github.com/sfbridge/sfbridge/servicedesk"
	"github.com/sfbridge/sfbridge/sftest"
	"github.com/sfbridge/sfbridge/state"
)

const (
	alias  = "acme"
	issuer = "https://bot.example"
	kid    = "bot-key-1"
)

// env is an emulated org (with Messaging, Alex Agent available and the
// scripted agent off duty), a state store, and the API served over HTTP
// through a client that checks every request and answer against
// docs/openapi.yaml.
type env struct {
	t      *testing.T
	srv    *sftest.Server
	msg    *emsg.Server
	rest   *rest.Client
	store  state.Store
	org    *botapi.Org
	api    *botapi.API
	http   *httptest.Server
	client *http.Client
	mcfg   messaging.Config
	gauges gauges
}

// gauges records the Observer callbacks.
type gauges struct {
	mu                 sync.Mutex
	sse, handoffs      int
	sseMax, handoffMax int
}

func (g *gauges) observer() botapi.Observer {
	return botapi.Observer{
		SSEClients: func(org string, d int) {
			g.mu.Lock()
			defer g.mu.Unlock()
			g.sse += d
			g.sseMax = max(g.sseMax, g.sse)
		},
		HandoffsOpen: func(org string, d int) {
			g.mu.Lock()
			defer g.mu.Unlock()
			g.handoffs += d
			g.handoffMax = max(g.handoffMax, g.handoffs)
		},
	}
}

func (g *gauges) get() (sse, handoffs, sseMax, handoffMax int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sse, g.handoffs, g.sseMax, g.handoffMax
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := sftest.NewServer(t)
	src, err := auth.NewTokenSource(auth.Config{ConsumerKey: srv.ClientID, Username: emulator.UserIntegration, PrivateKey: srv.Key, LoginURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rest.New(src)
	if err != nil {
		t.Fatal(err)
	}
	st, err := state.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "state.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	m := srv.Org.Messaging()
	certs, err := keys.ParseCertificates(srv.CertPEM, "cert", keys.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := keys.NewJWK(&srv.Key.PublicKey, kid, certs)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(jwk)
	if err := m.PutKeyset(emsg.KeysetSpec{Name: "Bot_Keys", Issuer: issuer, Keys: []json.RawMessage{raw}}); err != nil {
		t.Fatal(err)
	}
	if err := m.SetPresence("Emma Bot", "Offline"); err != nil {
		t.Fatal(err)
	}
	if err := m.SetPresence("Alex Agent", "Available"); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, srv: srv, msg: m, rest: rc, store: st}
	e.mcfg = messaging.Config{SCRTURL: srv.SCRTURL, OrgID: string(srv.Org.OrgID()), DeploymentName: "sfbridge_api", Key: srv.Key, KeyID: kid, Issuer: issuer,
		HTTPClient: srv.SCRTClient()}
	e.org = &botapi.Org{Alias: alias, Store: st, Employees: &servicedesk.Employees{Client: rc}, Cases: &servicedesk.Cases{Client: rc},
		Knowledge: &servicedesk.Knowledge{Client: rc, Store: st, Org: alias}, Messenger: botapi.NewMessenger(e.messagingClient()),
		Routing: map[string]string{"Topic": "General"}}
	e.serve()
	e.client = &http.Client{Transport: &checked{t: t, v: openAPIValidator(t), base: http.DefaultTransport}}
	return e
}

// serve starts (or restarts) the API on a new listener.
func (e *env) serve() {
	e.t.Helper()
	if e.http != nil {
		e.http.CloseClientConnections()
		e.http.Close()
	}
	bare := &botapi.Org{Alias: "bare"} // an org with no sections configured
	api, err := botapi.New(botapi.Options{Org: func(a string) (*botapi.Org, bool) {
		switch a {
		case alias:
			return e.org, true
		case bare.Alias:
			return bare, true
		}
		return nil, false
	}, Poll: 50 * time.Millisecond, Ping: time.Second,
		Observer: e.gauges.observer()})
	if err != nil {
		e.t.Fatal(err)
	}
	e.api = api
	e.http = httptest.NewServer(api.Handler())
	srv := e.http
	e.t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
}

func (e *env) messagingClient() *messaging.Client {
	e.t.Helper()
	c, err := messaging.New(e.mcfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(c.Close)
	return c
}

// create writes a record as an agent of the org (the integration user
// may not create Contacts).
func (e *env) create(object string, fields map[string]any) string {
	e.t.Helper()
	agentID, ok := e.srv.Org.UserID("no-eventlogs@sfbridge.test")
	if !ok {
		e.t.Fatal("no agent user in the default org")
	}
	full := func(string) data.ObjectAccess {
		return data.ObjectAccess{Read: true, Create: true, Edit: true, Delete: true, ViewAll: true, ModifyAll: true}
	}
	ctx := data.WithPrincipal(context.Background(), &data.Principal{UserID: agentID, OrgID: e.srv.Org.OrgID(), Object: full})
	id, err := e.srv.Org.Store().Create(ctx, object, fields)
	if err != nil {
		e.t.Fatalf("create %s: %v", object, err)
	}
	return string(id)
}

// do sends a JSON request and decodes a JSON answer into out (when not nil).
func (e *env) do(method, path string, body any, hdr map[string]string, out any) int {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.http.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
	return resp.StatusCode
}

// apiError is the error body.
type apiError struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		Fix        string `json:"fix"`
		Salesforce *struct {
			ErrorCode string `json:"errorCode"`
			Message   string `json:"message"`
		} `json:"salesforce"`
	} `json:"error"`
}

func (e *env) wantError(method, path string, body any, hdr map[string]string, status int, code string) apiError {
	e.t.Helper()
	var ae apiError
	if got := e.do(method, path, body, hdr, &ae); got != status || ae.Error.Code != code || ae.Error.Message == "" {
		e.t.Fatalf("%s %s: %d %+v, want %d %s", method, path, got, ae, status, code)
	}
	return ae
}

// sseEvent is one event read from a stream.
type sseEvent = ssetest.Event

// stream is an open SSE connection.
type stream struct{ *ssetest.Stream }

func (e *env) open(path, lastID string) *stream {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), http.MethodGet, e.http.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &stream{ssetest.Open(e.t, e.client, req, lastID)}
}

func (s *stream) close() { s.Close() }

// next returns the next event; the deadline only bounds a failing test.
func (s *stream) next(t *testing.T, skipTyping bool) sseEvent {
	t.Helper()
	return s.Next(t, "an event", 20*time.Second, func(ev sseEvent) bool { return !skipTyping || ev.Type != "agent.typing" })
}

// ended reports whether the server closed the stream (within the deadline).
func (s *stream) ended(t *testing.T) bool {
	t.Helper()
	select {
	case <-s.Done():
		return true
	case <-time.After(20 * time.Second):
		return false
	}
}

// openAPIValidator loads docs/openapi.yaml.
func openAPIValidator(t *testing.T) validator.Validator {
	t.Helper()
	spec, err := os.ReadFile(filepath.Join("..", "..", "docs", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("docs/openapi.yaml: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, ve := range verrs {
			t.Errorf("docs/openapi.yaml: %s", ve.Error())
		}
		t.FailNow()
	}
	return v
}

// checked is a transport that validates every request and answer against
// the OpenAPI document. SSE answers are checked by status and media type
// (their body never ends).
type checked struct {
	t    *testing.T
	v    validator.Validator
	base http.RoundTripper
	mu   sync.Mutex
}

func (c *checked) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
	}
	probe := req.Clone(req.Context())
	probe.Body = io.NopCloser(bytes.NewReader(body))
	// The server's view: the path as routed.
	probe.URL.Host, probe.URL.Scheme = "127.0.0.1:8080", "http"
	// The daemon checks the bearer token in front of the API.
	probe.Header.Set("Authorization", "Bearer test-token")
	c.mu.Lock()
	ok, errs := c.v.ValidateHttpRequest(probe)
	c.mu.Unlock()
	// Requests the tests send on purpose to be refused need not match.
	if !ok && req.Header.Get("X-Test-Invalid") == "" {
		for _, e := range errs {
			c.t.Errorf("openapi: request %s %s: %s (%s)", req.Method, req.URL.Path, e.Message, e.Reason)
		}
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	resp, err := c.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	probe.Body = io.NopCloser(bytes.NewReader(body))
	check := &http.Response{StatusCode: resp.StatusCode, Header: resp.Header.Clone(), Request: probe}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		check.Body = io.NopCloser(strings.NewReader(""))
	} else {
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(data))
		check.Body = io.NopCloser(bytes.NewReader(data))
	}
	c.mu.Lock()
	ok, errs = c.v.ValidateHttpResponse(probe, check)
	c.mu.Unlock()
	if !ok {
		for _, e := range errs {
			if req.Header.Get("X-Test-Invalid") != "" && strings.Contains(e.Reason, "does not exist in the specification") {
				continue // a route the document rightly does not have
			}
			c.t.Errorf("openapi: answer to %s %s (%d): %s (%s)", req.Method, req.URL.Path, resp.StatusCode, e.Message, e.Reason)
		}
	}
	return resp, nil
}
