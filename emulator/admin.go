package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sfbridge/sfbridge/emulator/internal/httpjson"
	"github.com/sfbridge/sfbridge/emulator/messaging"
)

// AdminTokenHeader is the header carrying the admin token (an
// "Authorization: Bearer <admin token>" header works as well).
const AdminTokenHeader = "X-Emulator-Admin-Token"

type adminError struct {
	Error string `json:"error"`
}

func writeAdminError(w http.ResponseWriter, status int, format string, args ...any) {
	httpjson.Write(w, status, adminError{Error: fmt.Sprintf(format, args...)})
}

func (o *Org) adminMux() *http.ServeMux {
	m := http.NewServeMux()
	p := strings.TrimSuffix(AdminPrefix, "/")
	m.HandleFunc("GET "+p+"/org", o.adminOrg)
	m.HandleFunc("PATCH "+p+"/org", o.adminPatchOrg)
	m.HandleFunc("POST "+p+"/users", adminPut(o.AddUserSpec))
	m.HandleFunc("POST "+p+"/users/{username}/revoke-sessions", func(w http.ResponseWriter, r *http.Request) {
		httpjson.Write(w, http.StatusOK, map[string]int{"revoked": o.RevokeUserSessions(r.PathValue("username"))})
	})
	m.HandleFunc("POST "+p+"/profiles", adminPut(o.PutProfile))
	m.HandleFunc("POST "+p+"/permission-sets", adminPut(o.PutPermissionSet))
	m.HandleFunc("GET "+p+"/apps", o.adminApps)
	m.HandleFunc("POST "+p+"/apps", o.adminCreateApp)
	m.HandleFunc("PATCH "+p+"/apps/{name}", o.adminPatchApp)
	m.HandleFunc("POST "+p+"/apps/{name}/certificates", o.adminUploadCert)
	m.HandleFunc("GET "+p+"/faults", func(w http.ResponseWriter, _ *http.Request) { httpjson.Write(w, http.StatusOK, o.faults.list()) })
	m.HandleFunc("POST "+p+"/faults", o.adminAddFault)
	m.HandleFunc("DELETE "+p+"/faults", func(w http.ResponseWriter, _ *http.Request) {
		o.faults.remove("")
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("DELETE "+p+"/faults/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !o.faults.remove(r.PathValue("id")) {
			writeAdminError(w, http.StatusNotFound, "no fault with id %q", r.PathValue("id"))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("GET "+p+"/clock", o.adminClock)
	m.HandleFunc("POST "+p+"/clock", o.adminClock)
	m.HandleFunc("GET "+p+"/requests", func(w http.ResponseWriter, r *http.Request) {
		httpjson.Write(w, http.StatusOK, o.reqlog.last(limitParam(r)))
	})
	m.HandleFunc("GET "+p+"/logins", func(w http.ResponseWriter, r *http.Request) {
		httpjson.Write(w, http.StatusOK, o.history.last(limitParam(r)))
	})
	m.HandleFunc("POST "+p+"/records/{sobject}", o.adminAddRecords)
	o.serviceDeskRoutes(m, p)
	m.Handle(messaging.AdminPrefix, o.msg.AdminHandler())
	o.elfAdminRoutes(m, p)
	m.HandleFunc(AdminPrefix, func(w http.ResponseWriter, r *http.Request) {
		writeAdminError(w, http.StatusNotFound, "no admin endpoint %s %s (see docs/emulator.md)", r.Method, r.URL.Path)
	})
	return m
}

func (o *Org) handleAdmin(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == ConsolePath && r.Method == http.MethodGet {
		o.serveConsole(w, r)
		return
	}
	tok := r.Header.Get(AdminTokenHeader)
	if tok == "" {
		tok = bearerToken(r)
	}
	if tok == "" || !constantTimeEqual(tok, o.adminToken) {
		writeAdminError(w, http.StatusUnauthorized, "the admin API needs the admin token printed when the emulator started, in the %s header", AdminTokenHeader)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<20)
	o.serveAdminAudited(w, r)
}

func limitParam(r *http.Request) int {
	n, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	return n
}

func decodeStrict(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// adminPut adapts a create-or-replace method to an admin endpoint.
func adminPut[T any](put func(T) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var spec T
		if err := decodeStrict(r.Body, &spec); err != nil {
			writeAdminError(w, http.StatusBadRequest, "bad JSON body: %v", err)
			return
		}
		if err := put(spec); err != nil {
			writeAdminError(w, http.StatusBadRequest, "%v", err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// AddUserSpec is AddUser without the id, for the admin API.
func (o *Org) AddUserSpec(s UserSpec) error {
	_, err := o.AddUser(s)
	return err
}

// OrgSummary is what GET /_emulator/org answers.
type OrgSummary struct {
	ID             string        `json:"id"`
	Name           string        `json:"name"`
	MyDomainURL    string        `json:"my_domain_url,omitempty"`
	Sandbox        bool          `json:"sandbox"`
	LoginURL       string        `json:"login_url"`
	InstanceURL    string        `json:"instance_url"`
	Now            time.Time     `json:"now"`
	APIUsage       int64         `json:"api_usage"`
	APIMax         int           `json:"api_max"`
	SCRTURL        string        `json:"scrt_url,omitempty"`
	Sessions       int           `json:"sessions"`
	Users          []UserSummary `json:"users"`
	Profiles       []string      `json:"profiles"`
	PermissionSets []string      `json:"permission_sets"`
}

// UserSummary describes a user in OrgSummary.
type UserSummary struct {
	ID             string   `json:"id"`
	Username       string   `json:"username"`
	Active         bool     `json:"active"`
	Frozen         bool     `json:"frozen"`
	Profile        string   `json:"profile"`
	PermissionSets []string `json:"permission_sets"`
	Permissions    []string `json:"permissions"`
}

// Summary describes the org as the admin API shows it.
func (o *Org) Summary(r *http.Request) OrgSummary {
	login, inst := o.baseURL, o.instURL
	if r != nil {
		login, inst = o.urls(r)
	}
	now := o.Now()
	o.mu.RLock()
	defer o.mu.RUnlock()
	s := OrgSummary{ID: string(o.m.org.ID), Name: o.m.org.Name, MyDomainURL: o.m.org.myDomainURL(), Sandbox: o.m.org.Sandbox,
		LoginURL: login, InstanceURL: inst, Now: now, APIUsage: o.usage.used(now), APIMax: o.m.org.DailyAPIRequests,
		Sessions: o.sessions.count(), SCRTURL: o.cfg.SCRTURL}
	for _, u := range o.m.users {
		us := UserSummary{ID: string(u.ID), Username: u.Username, Active: u.Active, Frozen: u.Frozen, Profile: u.Profile.Name}
		for _, ps := range u.PermSets {
			us.PermissionSets = append(us.PermissionSets, ps.Name)
		}
		for p := range u.eff.perms {
			us.Permissions = append(us.Permissions, p)
		}
		slices.Sort(us.Permissions)
		s.Users = append(s.Users, us)
	}
	slices.SortFunc(s.Users, func(a, b UserSummary) int { return strings.Compare(a.Username, b.Username) })
	for _, p := range o.m.profiles {
		s.Profiles = append(s.Profiles, p.Name)
	}
	for _, p := range o.m.permSets {
		s.PermissionSets = append(s.PermissionSets, p.Name)
	}
	slices.Sort(s.Profiles)
	slices.Sort(s.PermissionSets)
	return s
}

func (o *Org) adminOrg(w http.ResponseWriter, r *http.Request) {
	httpjson.Write(w, http.StatusOK, o.Summary(r))
}

// OrgLimits changes the org's allocations; nil fields stay as they are.
type OrgLimits struct {
	// DailyAPIRequests is the daily API request allocation.
	DailyAPIRequests *int `json:"daily_api_requests,omitempty"`
	// LoginsPerHour is the per-user login limit; negative turns it off.
	LoginsPerHour *int `json:"logins_per_hour,omitempty"`
}

// SetLimits changes the org's allocations (load tests raise them).
func (o *Org) SetLimits(l OrgLimits) error {
	if l.DailyAPIRequests != nil {
		if *l.DailyAPIRequests <= 0 {
			return fmt.Errorf("daily_api_requests must be positive")
		}
		o.mu.Lock()
		o.m.org.DailyAPIRequests = *l.DailyAPIRequests
		o.mu.Unlock()
	}
	if l.LoginsPerHour != nil {
		o.logins.mu.Lock()
		o.logins.max = *l.LoginsPerHour
		if o.logins.max == 0 {
			o.logins.max = 3600
		}
		o.logins.mu.Unlock()
	}
	return nil
}

func (o *Org) adminPatchOrg(w http.ResponseWriter, r *http.Request) {
	var l OrgLimits
	if err := decodeStrict(r.Body, &l); err != nil {
		writeAdminError(w, http.StatusBadRequest, "bad JSON body: %v", err)
		return
	}
	if err := o.SetLimits(l); err != nil {
		writeAdminError(w, http.StatusBadRequest, "%v", err)
		return
	}
	httpjson.Write(w, http.StatusOK, o.Summary(r))
}

func (o *Org) adminApps(w http.ResponseWriter, _ *http.Request) {
	o.mu.RLock()
	var out []AppSpec
	for _, a := range o.m.apps {
		out = append(out, a.spec())
	}
	o.mu.RUnlock()
	slices.SortFunc(out, func(a, b AppSpec) int { return strings.Compare(a.Name, b.Name) })
	httpjson.Write(w, http.StatusOK, out)
}

// AppPolicy changes an app's policies; nil fields stay as they are.
type AppPolicy struct {
	JWTEnabled     *bool     `json:"jwt_enabled,omitempty"`
	PermittedUsers *string   `json:"permitted_users,omitempty"`
	Profiles       *[]string `json:"profiles,omitempty"`
	PermissionSets *[]string `json:"permission_sets,omitempty"`
	ApprovedUsers  *[]string `json:"approved_users,omitempty"`
	SessionTimeout *string   `json:"session_timeout,omitempty"`
	Scopes         *[]string `json:"scopes,omitempty"`
}

// SetAppPolicy applies p to the named app.
func (o *Org) SetAppPolicy(name string, p AppPolicy) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	a, ok := o.m.appNames[strings.ToLower(name)]
	if !ok {
		return fmt.Errorf("no app named %q", name)
	}
	s := a.spec()
	s.ConsumerSecret = a.ConsumerSecret
	if p.JWTEnabled != nil {
		s.JWTEnabled = p.JWTEnabled
	}
	if p.PermittedUsers != nil {
		s.PermittedUsers = *p.PermittedUsers
	}
	if p.Profiles != nil {
		s.Profiles = *p.Profiles
	}
	if p.PermissionSets != nil {
		s.PermissionSets = *p.PermissionSets
	}
	if p.ApprovedUsers != nil {
		s.ApprovedUsers = *p.ApprovedUsers
	}
	if p.SessionTimeout != nil {
		s.SessionTimeout = *p.SessionTimeout
	}
	if p.Scopes != nil {
		s.Scopes = *p.Scopes
	}
	_, err := o.m.putApp(s)
	return err
}

func (o *Org) adminPatchApp(w http.ResponseWriter, r *http.Request) {
	var p AppPolicy
	if err := decodeStrict(r.Body, &p); err != nil {
		writeAdminError(w, http.StatusBadRequest, "bad JSON body: %v", err)
		return
	}
	if err := o.SetAppPolicy(r.PathValue("name"), p); err != nil {
		writeAdminError(w, http.StatusBadRequest, "%v", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// adminCreateApp answers the stored app, with its consumer key and secret
// (generated when the body has none), as Manage Consumer Details shows them.
func (o *Org) adminCreateApp(w http.ResponseWriter, r *http.Request) {
	var spec AppSpec
	if err := decodeStrict(r.Body, &spec); err != nil {
		writeAdminError(w, http.StatusBadRequest, "bad JSON body: %v", err)
		return
	}
	out, err := o.CreateApp(spec)
	if err != nil {
		writeAdminError(w, http.StatusBadRequest, "%v", err)
		return
	}
	httpjson.Write(w, http.StatusOK, out)
}

func (o *Org) adminUploadCert(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		writeAdminError(w, http.StatusBadRequest, "read body: %v", err)
		return
	}
	if err := o.UploadCertificate(r.PathValue("name"), b); err != nil {
		writeAdminError(w, http.StatusBadRequest, "%v", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// AddFault injects a fault and returns its id.
func (o *Org) AddFault(s FaultSpec) (string, error) { return o.faults.add(s) }

// ClearFaults removes every fault.
func (o *Org) ClearFaults() { o.faults.remove("") }

// Faults lists the faults with their counters.
func (o *Org) Faults() []FaultState { return o.faults.list() }

// Requests returns up to n of the latest request-log entries (all if n <= 0).
func (o *Org) Requests(n int) []RequestEntry { return o.reqlog.last(n) }

// Logins returns up to n of the latest login-history entries.
func (o *Org) Logins(n int) []LoginEntry { return o.history.last(n) }

func (o *Org) adminAddFault(w http.ResponseWriter, r *http.Request) {
	var s FaultSpec
	if err := decodeStrict(r.Body, &s); err != nil {
		writeAdminError(w, http.StatusBadRequest, "bad JSON body: %v", err)
		return
	}
	id, err := o.faults.add(s)
	if err != nil {
		writeAdminError(w, http.StatusBadRequest, "%v", err)
		return
	}
	httpjson.Write(w, http.StatusCreated, map[string]string{"id": id})
}

// ClockChange moves the org's clock: by Advance (a Go duration, either
// sign), to an Offset from the configured clock, or to the time Set (RFC
// 3339). One of the three.
type ClockChange struct {
	Advance string `json:"advance,omitempty"`
	Offset  string `json:"offset,omitempty"`
	Set     string `json:"set,omitempty"`
}

// ClockState is what the clock endpoint answers.
type ClockState struct {
	Now    time.Time `json:"now"`
	Offset string    `json:"offset"`
}

// ChangeClock applies c to the org's clock.
func (o *Org) ChangeClock(c ClockChange) error {
	n := 0
	for _, v := range []string{c.Advance, c.Offset, c.Set} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return errors.New(`give exactly one of {"advance":"2h"} (either sign), {"offset":"-20m"} or {"set":"2026-12-01T09:00:00Z"}`)
	}
	switch {
	case c.Set != "":
		t, err := time.Parse(time.RFC3339Nano, c.Set)
		if err != nil {
			return fmt.Errorf("set %q is not an RFC 3339 time such as 2026-12-01T09:00:00Z", c.Set)
		}
		o.SetOffset(t.Sub(o.now()))
	default:
		v := c.Advance + c.Offset
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%q is not a Go duration such as 2h or -20m", v)
		}
		if c.Advance != "" {
			o.Advance(d)
		} else {
			o.SetOffset(d)
		}
	}
	return nil
}

func (o *Org) adminClock(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		var c ClockChange
		if err := decodeStrict(r.Body, &c); err != nil {
			writeAdminError(w, http.StatusBadRequest, "bad JSON body: %v (want {\"advance\":\"2h\"}, {\"offset\":\"-20m\"} or {\"set\":\"2026-12-01T09:00:00Z\"})", err)
			return
		}
		if err := o.ChangeClock(c); err != nil {
			writeAdminError(w, http.StatusBadRequest, "%v", err)
			return
		}
	}
	httpjson.Write(w, http.StatusOK, ClockState{Now: o.Now().UTC(), Offset: o.Offset().String()})
}
