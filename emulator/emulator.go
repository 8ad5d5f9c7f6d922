// Package emulator is a local Salesforce org for development and tests: an
// http.Handler that verifies OAuth 2.0 JWT bearer assertions for real against
// the certificates of its connected apps, issues and expires sessions, and
// serves the identity, userinfo, revoke and introspect endpoints, the REST
// API's version, resource and limits resources (with Sforce-Limit-Info and
// daily API request counting) and, through package emulator/data, the data
// API. Faults can be injected and the org changed at runtime through an admin
// API under /_emulator/, protected by a random admin token.
//
// Real clients (the sf CLI, jsforce, go-salesforce) log in to it unmodified;
// what they send and need is documented in docs/emulator.md.
package emulator

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sfbridge/sfbridge/emulator/messaging"
	"github.com/sfbridge/sfbridge/emulator/sfid"
	"github.com/sfbridge/sfbridge/internal/clock"
)

// AdminPrefix is the path prefix of the admin API; Salesforce uses no path
// starting with an underscore.
const AdminPrefix = "/_emulator/"

// Config configures an emulated org. Fixture is required: DefaultFixture
// builds the default org, LoadFixture reads one from a file.
type Config struct {
	// Fixture is the org's content (see LoadFixture, DefaultFixture).
	Fixture *Fixture
	// BaseURL is the login URL clients post assertions to, such as
	// http://127.0.0.1:8484. Empty: taken from each request's Host.
	BaseURL string
	// InstanceURL is returned as instance_url; empty means BaseURL. Its host
	// must resolve on the client (127.0.0.1 or localhost).
	InstanceURL string
	// Now is the org's time (default Clock's Now). The admin API can move
	// it forward.
	Now func() time.Time
	// Clock times the latency fault and request durations and the
	// Messaging side's timers (SSE pings, scripted agents, stream expiry),
	// and is the org's time when Now is nil; nil means real time. Messaging
	// tokens expire on the org's time.
	Clock clock.Clock
	// AdminToken protects the admin API; empty generates a random one
	// (see Org.AdminToken).
	AdminToken string
	// Seed overrides the fixture's seed for probabilistic faults.
	Seed uint64
	// RequestLogSize is how many requests the request log keeps (default 1000).
	RequestLogSize int
	// LoginsPerHour limits token grants per user and hour as Salesforce
	// does (3,600); zero uses 3,600, a negative value turns the limit off.
	LoginsPerHour int
	// Logger receives one debug line per request; nil discards.
	Logger *slog.Logger
	// SCRTURL is the Messaging (SCRT) host's URL, served from
	// Org.Messaging().Handler() on its own listener; it is shown in the
	// org summary.
	SCRTURL string
}

// Org is an emulated Salesforce org. It is an http.Handler and safe for
// concurrent use.
type Org struct {
	cfg        Config
	adminToken string
	baseURL    string
	instURL    string
	now        func() time.Time
	clk        clock.Clock
	offset     atomic.Int64 // nanoseconds added to cfg.Now by the admin API
	ownClock   bool         // cfg.Now or cfg.Clock was given: the Date header follows it
	log        *slog.Logger
	debug      bool // log one line per request

	mu sync.RWMutex // guards m
	m  *model

	ids      *sfid.Generator
	sessions sessionStore
	usage    apiUsage
	logins   loginLimiter
	faults   faultSet
	reqlog   requestLog
	history  loginHistory
	data     dataLayer
	elf      elfState
	act      activity
	desk     deskActivity
	know     knowledgeActivity
	mux      *http.ServeMux
	admin    *http.ServeMux
	versions []byte
	limits   limitsBody
	msg      *messaging.Server
}

// New builds an org from cfg.
func New(cfg Config) (*Org, error) {
	if cfg.Fixture == nil {
		return nil, errors.New("emulator: Config.Fixture is required: use emulator.DefaultFixture or emulator.LoadFixture")
	}
	o := &Org{cfg: cfg, baseURL: strings.TrimRight(cfg.BaseURL, "/"), instURL: strings.TrimRight(cfg.InstanceURL, "/")}
	if o.instURL == "" {
		o.instURL = o.baseURL
	}
	o.clk = clock.Or(cfg.Clock)
	o.now = clock.FuncNow(cfg.Now, o.clk)
	o.ownClock = cfg.Now != nil || cfg.Clock != nil
	o.log = cfg.Logger
	if o.log == nil {
		o.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	o.debug = o.log.Enabled(context.Background(), slog.LevelDebug)
	o.adminToken = cfg.AdminToken
	if o.adminToken == "" {
		o.adminToken = "emu_" + randomString(24)
	}
	ids, err := sfid.NewGenerator("xx", 1000)
	if err != nil {
		return nil, err
	}
	o.ids = ids
	o.m = newModel(ids)
	if err := o.m.load(cfg.Fixture, o.Now()); err != nil {
		return nil, fmt.Errorf("emulator: fixture: %w", err)
	}
	seed := cfg.Fixture.Seed
	if cfg.Seed != 0 {
		seed = cfg.Seed
	}
	if seed == 0 {
		seed = 1
	}
	o.faults.init(seed)
	for _, f := range cfg.Fixture.Faults {
		if _, err := o.faults.add(f); err != nil {
			return nil, fmt.Errorf("emulator: fixture: %w", err)
		}
	}
	size := cfg.RequestLogSize
	if size <= 0 {
		size = 1000
	}
	o.reqlog.init(size)
	o.history.init(size)
	o.logins.max = cfg.LoginsPerHour
	if o.logins.max == 0 {
		o.logins.max = 3600
	}
	if err := o.initData(cfg.Fixture); err != nil {
		return nil, err
	}
	if err := o.initELF(cfg.Fixture); err != nil {
		return nil, fmt.Errorf("emulator: fixture: %w", err)
	}
	if err := o.initMessaging(cfg); err != nil {
		return nil, err
	}
	o.routes()
	o.admin = o.adminMux()
	return o, nil
}

// Now returns the org's current time: the configured clock plus any time
// the admin API advanced it by.
func (o *Org) Now() time.Time { return o.now().Add(time.Duration(o.offset.Load())) }

// Advance moves the org's clock by d: forward (sessions expire, the daily
// API count rolls over) or, with a negative d, back (the org's clock then
// runs behind the caller's, as when a client machine's clock runs ahead).
// Open Messaging streams re-check their tokens' expiry.
func (o *Org) Advance(d time.Duration) {
	o.offset.Add(int64(d))
	o.msg.Recheck()
}

// SetOffset sets how far the org's clock is from the configured clock (zero
// puts it back).
func (o *Org) SetOffset(d time.Duration) {
	o.offset.Store(int64(d))
	o.msg.Recheck()
}

// Offset is how far the org's clock is from the configured clock.
func (o *Org) Offset() time.Duration { return time.Duration(o.offset.Load()) }

// AdminToken returns the token the admin API requires.
func (o *Org) AdminToken() string { return o.adminToken }

// OrgID returns the organization's 18-character id.
func (o *Org) OrgID() sfid.ID {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.m.org.ID
}

// UserID returns the id of the user with the given username.
func (o *Org) UserID(username string) (sfid.ID, bool) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	u, ok := o.m.users[strings.ToLower(username)]
	if !ok {
		return "", false
	}
	return u.ID, true
}

// AddUser adds a user or replaces the one with the same username.
func (o *Org) AddUser(s UserSpec) (sfid.ID, error) {
	o.mu.Lock()
	u, err := o.m.putUser(s, o.Now())
	o.mu.Unlock()
	if err != nil {
		return "", err
	}
	o.syncSetupRecords()
	return u.ID, nil
}

// PutProfile adds or replaces a profile.
func (o *Org) PutProfile(s ProfileSpec) error {
	return o.changePermissions(func(m *model) error {
		_, err := m.putProfile(s)
		return err
	})
}

// PutPermissionSet adds or replaces a permission set.
func (o *Org) PutPermissionSet(s PermissionSetSpec) error {
	return o.changePermissions(func(m *model) error {
		_, err := m.putPermSet(s)
		return err
	})
}

// changePermissions applies put to the model; when it succeeds, the users'
// effective permissions are recomputed and the setup records mirrored into
// the data store.
func (o *Org) changePermissions(put func(*model) error) error {
	o.mu.Lock()
	err := put(o.m)
	if err == nil {
		o.m.recompute()
	}
	o.mu.Unlock()
	if err != nil {
		return err
	}
	o.syncSetupRecords()
	return nil
}

// PutApp adds or replaces a connected app or External Client App.
func (o *Org) PutApp(s AppSpec) error {
	_, err := o.CreateApp(s)
	return err
}

// CreateApp adds or replaces an app, as PutApp, and returns it as stored:
// without a consumer key, a new app is given a generated one and a consumer
// secret, as Salesforce does; a replaced app keeps its own.
func (o *Org) CreateApp(s AppSpec) (AppSpec, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	a, err := o.m.putApp(s)
	if err != nil {
		return AppSpec{}, err
	}
	out := a.spec()
	out.ConsumerSecret = a.ConsumerSecret
	return out, nil
}

// UploadCertificate adds a PEM certificate to the app's trusted ones and
// enables the JWT bearer flow for it.
func (o *Org) UploadCertificate(appName string, certPEM []byte) error {
	k, err := parsePublicKeyPEM(certPEM)
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	a, ok := o.m.appNames[strings.ToLower(appName)]
	if !ok {
		return fmt.Errorf("no app named %q", appName)
	}
	a.Keys = append(a.Keys, k)
	a.CertPEMs = append(a.CertPEMs, string(certPEM))
	a.JWTEnabled = true
	return nil
}

// RevokeUserSessions revokes every session of the user and returns how many.
func (o *Org) RevokeUserSessions(username string) int {
	id, ok := o.UserID(username)
	if !ok {
		return 0
	}
	return o.sessions.revokeUser(id)
}

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("emulator: crypto/rand failed: " + err.Error())
	}
	s := base64.RawURLEncoding.EncodeToString(b)
	return strings.NewReplacer("-", "A", "_", "z").Replace(s)
}

func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// urls returns the login and instance base URLs for a request.
func (o *Org) urls(r *http.Request) (login, instance string) {
	if o.baseURL != "" {
		return o.baseURL, o.instURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := scheme + "://" + r.Host
	return u, u
}
