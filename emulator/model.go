package emulator

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sfbridge/sfbridge/emulator/sfid"
)

// Key prefixes of the setup objects the org model creates.
const (
	prefixOrg        = "00D"
	prefixUser       = "005"
	prefixProfile    = "00e"
	prefixPermSet    = "0PS"
	prefixAssignment = "0Pa"
	prefixApp        = "0H4"
)

// knownPermissions gives the API spelling of common system permissions, so
// a fixture may write them in any case.
var knownPermissions = []string{
	"ApiEnabled", "ViewEventLogFiles", "ViewAllData", "ModifyAllData", "ViewSetup",
	"ManageUsers", "ViewAllUsers", "CustomizeApplication", "AuthorApex", "ApiUserOnly",
}

// ObjectPerms is an object permission of a profile or permission set.
type ObjectPerms struct {
	Read, Create, Edit, Delete, ViewAll, ModifyAll bool
}

func (p ObjectPerms) or(q ObjectPerms) ObjectPerms {
	return ObjectPerms{p.Read || q.Read, p.Create || q.Create, p.Edit || q.Edit, p.Delete || q.Delete,
		p.ViewAll || q.ViewAll, p.ModifyAll || q.ModifyAll}
}

// permissionHolder is what a profile and a permission set share.
type permissionHolder struct {
	ID      sfid.ID
	Name    string
	Label   string
	Perms   map[string]string      // lower-case name → API name
	Objects map[string]objectEntry // lower-case object → entry
}

type objectEntry struct {
	Name  string
	Perms ObjectPerms
}

func (h *permissionHolder) has(perm string) bool {
	_, ok := h.Perms[strings.ToLower(perm)]
	return ok
}

type profile struct {
	permissionHolder
	// OwnedSet is the id of the permission set Salesforce keeps for the
	// profile (IsOwnedByProfile = true).
	OwnedSet sfid.ID
}

type permSet struct{ permissionHolder }

type user struct {
	ID        sfid.ID
	Username  string
	Email     string
	FirstName string
	LastName  string
	Active    bool
	Frozen    bool
	Profile   *profile
	PermSets  []*permSet
	TimeZone  string
	Created   time.Time

	eff *effective // recomputed whenever the model changes
}

func (u *user) name() string { return strings.TrimSpace(u.FirstName + " " + u.LastName) }

// effective is a user's combined permissions; immutable once built.
type effective struct {
	names   map[string]bool // API names, as the data layer wants them
	perms   map[string]bool
	objects map[string]ObjectPerms // lower-case object name
}

// has matches perm case-insensitively. Callers pass it in lower case:
// strings.ToLower then returns it without allocating, which matters on the
// request path.
func (e *effective) has(perm string) bool { return e.perms[strings.ToLower(perm)] }

func (e *effective) object(name string) ObjectPerms {
	p := e.objects[strings.ToLower(name)]
	if e.perms["modifyalldata"] {
		return ObjectPerms{true, true, true, true, true, true}
	}
	if e.perms["viewalldata"] {
		p.Read, p.ViewAll = true, true
	}
	return p
}

func (u *user) computeEffective() {
	e := &effective{names: map[string]bool{}, perms: map[string]bool{}, objects: map[string]ObjectPerms{}}
	add := func(h *permissionHolder) {
		for k, name := range h.Perms {
			e.perms[k] = true
			e.names[name] = true
		}
		for k, o := range h.Objects {
			e.objects[k] = e.objects[k].or(o.Perms)
		}
	}
	if u.Profile != nil {
		add(&u.Profile.permissionHolder)
	}
	for _, ps := range u.PermSets {
		add(&ps.permissionHolder)
	}
	u.eff = e
}

type app struct {
	ID             sfid.ID
	Name           string
	Type           string
	ConsumerKey    string
	ConsumerSecret string
	CertPEMs       []string
	Keys           []*rsa.PublicKey
	JWTEnabled     bool
	PermittedUsers string
	Profiles       []string // lower-case names
	PermissionSets []string // lower-case names
	Approved       map[string]bool
	SessionTimeout time.Duration
	Scopes         []string
	IntrospectAll  bool
	CallbackURLs   []string
}

// admits says whether the app's permitted-users policy lets u in, and the
// OAuth error to give when it does not.
func (a *app) admits(u *user) (bool, oauthError) {
	if a.PermittedUsers == AllSelfAuthorized {
		if a.Approved[strings.ToLower(u.Username)] {
			return true, oauthError{}
		}
		return false, errNotApproved
	}
	if u.Profile != nil && slices.Contains(a.Profiles, strings.ToLower(u.Profile.Name)) {
		return true, oauthError{}
	}
	for _, ps := range u.PermSets {
		if slices.Contains(a.PermissionSets, strings.ToLower(ps.Name)) {
			return true, oauthError{}
		}
	}
	return false, errNotAdminApproved
}

// orgInfo describes the organization.
type orgInfo struct {
	ID               sfid.ID
	Name             string
	MyDomain         string
	Sandbox          bool
	InstanceName     string
	OrganizationType string
	NamespacePrefix  string
	DailyAPIRequests int
	Audiences        []string
	Created          time.Time
}

// myDomainURL is the org's My Domain URL on Salesforce's domains.
func (o *orgInfo) myDomainURL() string {
	if o.MyDomain == "" {
		return ""
	}
	if o.Sandbox {
		return "https://" + o.MyDomain + ".sandbox.my.salesforce.com"
	}
	return "https://" + o.MyDomain + ".my.salesforce.com"
}

// model is the org's setup data. It is guarded by Org.mu.
type model struct {
	org       orgInfo
	profiles  map[string]*profile // lower-case name
	permSets  map[string]*permSet // lower-case name
	users     map[string]*user    // lower-case username
	usersByID map[sfid.ID]*user
	apps      map[string]*app // consumer key
	appNames  map[string]*app // lower-case name
	ids       *sfid.Generator
}

func newModel(ids *sfid.Generator) *model {
	return &model{
		profiles: map[string]*profile{}, permSets: map[string]*permSet{},
		users: map[string]*user{}, usersByID: map[sfid.ID]*user{},
		apps: map[string]*app{}, appNames: map[string]*app{}, ids: ids,
	}
}

func (m *model) setOrg(s OrgSpec, now time.Time) error {
	o := orgInfo{
		Name: s.Name, MyDomain: strings.ToLower(s.MyDomain), Sandbox: s.Sandbox, InstanceName: s.InstanceName,
		OrganizationType: s.OrganizationType, NamespacePrefix: s.NamespacePrefix,
		DailyAPIRequests: s.DailyAPIRequests, Audiences: s.Audiences, Created: now,
	}
	if s.ID != "" {
		id, err := sfid.Parse(s.ID)
		if err != nil || id.Prefix() != prefixOrg {
			return fmt.Errorf("org id %q is not a valid organization id (15 or 18 characters starting with 00D)", s.ID)
		}
		o.ID = id
	} else {
		o.ID = sfid.Make(prefixOrg, "xx", 1)
	}
	if o.Name == "" {
		o.Name = "sfbridge Emulated Org"
	}
	if o.InstanceName == "" {
		o.InstanceName = "EMU1"
	}
	if o.OrganizationType == "" {
		o.OrganizationType = "Developer Edition"
	}
	if o.DailyAPIRequests <= 0 {
		o.DailyAPIRequests = 15000
	}
	m.org = o
	return nil
}

func buildHolder(id sfid.ID, name, label string, perms []string, objects map[string][]string) (permissionHolder, error) {
	h := permissionHolder{ID: id, Name: name, Label: label, Perms: map[string]string{}, Objects: map[string]objectEntry{}}
	if strings.TrimSpace(name) == "" {
		return h, fmt.Errorf("a profile or permission set needs a name")
	}
	if h.Label == "" {
		h.Label = name
	}
	for _, p := range perms {
		p = strings.TrimPrefix(strings.TrimSpace(p), "Permissions")
		if p == "" {
			continue
		}
		canon := p
		for _, k := range knownPermissions {
			if strings.EqualFold(k, p) {
				canon = k
			}
		}
		h.Perms[strings.ToLower(p)] = canon
	}
	for obj, list := range objects {
		var op ObjectPerms
		for _, a := range list {
			switch strings.ToLower(strings.TrimSpace(a)) {
			case "read":
				op.Read = true
			case "create":
				op.Create, op.Read = true, true
			case "edit":
				op.Edit, op.Read = true, true
			case "delete":
				op.Delete, op.Edit, op.Read = true, true, true
			case "viewall":
				op.ViewAll, op.Read = true, true
			case "modifyall":
				op = ObjectPerms{true, true, true, true, true, true}
			default:
				return h, fmt.Errorf("%s: object %s: unknown access %q (want read, create, edit, delete, viewAll or modifyAll)", name, obj, a)
			}
		}
		h.Objects[strings.ToLower(obj)] = objectEntry{Name: obj, Perms: op}
	}
	return h, nil
}

func (m *model) putProfile(s ProfileSpec) (*profile, error) {
	id := m.ids.New(prefixProfile)
	owned := m.ids.New(prefixPermSet)
	if old, ok := m.profiles[strings.ToLower(s.Name)]; ok {
		id, owned = old.ID, old.OwnedSet
	}
	h, err := buildHolder(id, s.Name, s.Name, s.Permissions, s.Objects)
	if err != nil {
		return nil, fmt.Errorf("profile %w", err)
	}
	p := &profile{permissionHolder: h, OwnedSet: owned}
	m.profiles[strings.ToLower(s.Name)] = p
	for _, u := range m.users {
		if u.Profile != nil && strings.EqualFold(u.Profile.Name, s.Name) {
			u.Profile = p
		}
	}
	return p, nil
}

func (m *model) putPermSet(s PermissionSetSpec) (*permSet, error) {
	id := m.ids.New(prefixPermSet)
	if old, ok := m.permSets[strings.ToLower(s.Name)]; ok {
		id = old.ID
	}
	h, err := buildHolder(id, s.Name, s.Label, s.Permissions, s.Objects)
	if err != nil {
		return nil, fmt.Errorf("permission set %w", err)
	}
	ps := &permSet{h}
	m.permSets[strings.ToLower(s.Name)] = ps
	for _, u := range m.users {
		for i, old := range u.PermSets {
			if strings.EqualFold(old.Name, s.Name) {
				u.PermSets[i] = ps
			}
		}
	}
	return ps, nil
}

func (m *model) putUser(s UserSpec, now time.Time) (*user, error) {
	if !strings.Contains(s.Username, "@") {
		return nil, fmt.Errorf("user %q: a username looks like an email address", s.Username)
	}
	u := &user{Username: s.Username, Email: s.Email, FirstName: s.FirstName, LastName: s.LastName,
		Active: s.Active == nil || *s.Active, Frozen: s.Frozen, TimeZone: s.TimeZone, Created: now}
	if u.Email == "" {
		u.Email = s.Username
	}
	if u.LastName == "" {
		u.LastName = s.Username[:strings.IndexByte(s.Username, '@')]
	}
	if u.TimeZone == "" {
		u.TimeZone = "GMT"
	}
	p, ok := m.profiles[strings.ToLower(s.Profile)]
	if !ok {
		return nil, fmt.Errorf("user %s: no profile %q in the org", s.Username, s.Profile)
	}
	u.Profile = p
	for _, n := range s.PermissionSets {
		ps, ok := m.permSets[strings.ToLower(n)]
		if !ok {
			return nil, fmt.Errorf("user %s: no permission set %q in the org", s.Username, n)
		}
		u.PermSets = append(u.PermSets, ps)
	}
	old, exists := m.users[strings.ToLower(s.Username)]
	switch {
	case s.ID != "":
		id, err := sfid.Parse(s.ID)
		if err != nil || id.Prefix() != prefixUser {
			return nil, fmt.Errorf("user %s: id %q is not a user id (prefix 005)", s.Username, s.ID)
		}
		u.ID = id
	case exists:
		u.ID = old.ID
		u.Created = old.Created
	default:
		u.ID = m.ids.New(prefixUser)
	}
	if exists {
		delete(m.usersByID, old.ID)
	}
	if other, ok := m.usersByID[u.ID]; ok && other != old {
		return nil, fmt.Errorf("user %s: id %s is already %s's", s.Username, u.ID, other.Username)
	}
	u.computeEffective()
	m.users[strings.ToLower(s.Username)] = u
	m.usersByID[u.ID] = u
	return u, nil
}

func (m *model) putApp(s AppSpec) (*app, error) {
	if s.Name == "" {
		return nil, errors.New("app: name is required")
	}
	if s.ConsumerKey == "" {
		// Salesforce generates the consumer key (and secret) of a new app;
		// editing an app keeps them.
		if old, ok := m.appNames[strings.ToLower(s.Name)]; ok {
			s.ConsumerKey = old.ConsumerKey
			if s.ConsumerSecret == "" {
				s.ConsumerSecret = old.ConsumerSecret
			}
		} else {
			s.ConsumerKey = newConsumerKey(m.apps)
			if s.ConsumerSecret == "" {
				s.ConsumerSecret = newConsumerSecret()
			}
		}
	}
	a := &app{Name: s.Name, Type: s.Type, ConsumerKey: s.ConsumerKey, ConsumerSecret: s.ConsumerSecret,
		PermittedUsers: s.PermittedUsers, Scopes: s.Scopes, IntrospectAll: s.IntrospectAllTokens,
		Approved: map[string]bool{}, SessionTimeout: 2 * time.Hour, CallbackURLs: slices.Clone(s.CallbackURLs)}
	switch a.Type {
	case "":
		a.Type = ConnectedApp
	case ConnectedApp, ExternalClientApp:
	default:
		return nil, fmt.Errorf("app %s: type %q is neither %s nor %s", s.Name, s.Type, ConnectedApp, ExternalClientApp)
	}
	switch a.PermittedUsers {
	case "":
		a.PermittedUsers = AdminApprovedPreAuthorized
	case AdminApprovedPreAuthorized, AllSelfAuthorized:
	default:
		return nil, fmt.Errorf("app %s: permitted_users %q is neither %s nor %s", s.Name, s.PermittedUsers, AdminApprovedPreAuthorized, AllSelfAuthorized)
	}
	for _, c := range s.Certificates {
		k, err := parsePublicKeyPEM([]byte(c))
		if err != nil {
			return nil, fmt.Errorf("app %s: %w", s.Name, err)
		}
		a.Keys = append(a.Keys, k)
		a.CertPEMs = append(a.CertPEMs, c)
	}
	a.JWTEnabled = len(a.Keys) > 0
	if s.JWTEnabled != nil {
		a.JWTEnabled = *s.JWTEnabled
	}
	if s.SessionTimeout != "" {
		d, err := time.ParseDuration(s.SessionTimeout)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("app %s: session_timeout %q is not a positive Go duration such as 2h or 15m", s.Name, s.SessionTimeout)
		}
		a.SessionTimeout = d
	}
	if len(a.Scopes) == 0 {
		a.Scopes = []string{"api", "id", "refresh_token"}
	}
	for _, p := range s.Profiles {
		a.Profiles = append(a.Profiles, strings.ToLower(p))
	}
	for _, p := range s.PermissionSets {
		a.PermissionSets = append(a.PermissionSets, strings.ToLower(p))
	}
	for _, u := range s.ApprovedUsers {
		a.Approved[strings.ToLower(u)] = true
	}
	if old, ok := m.appNames[strings.ToLower(s.Name)]; ok {
		a.ID = old.ID
		delete(m.apps, old.ConsumerKey)
	} else {
		a.ID = m.ids.New(prefixApp)
	}
	if other, ok := m.apps[a.ConsumerKey]; ok {
		return nil, fmt.Errorf("app %s: consumer key already used by app %s", s.Name, other.Name)
	}
	m.apps[a.ConsumerKey] = a
	m.appNames[strings.ToLower(s.Name)] = a
	return a, nil
}

func (a *app) spec() AppSpec {
	jwt := a.JWTEnabled
	s := AppSpec{Name: a.Name, Type: a.Type, ConsumerKey: a.ConsumerKey, Certificates: slices.Clone(a.CertPEMs),
		JWTEnabled: &jwt, PermittedUsers: a.PermittedUsers, Profiles: slices.Clone(a.Profiles),
		PermissionSets: slices.Clone(a.PermissionSets), SessionTimeout: a.SessionTimeout.String(),
		Scopes: slices.Clone(a.Scopes), IntrospectAllTokens: a.IntrospectAll, CallbackURLs: slices.Clone(a.CallbackURLs)}
	for u := range a.Approved {
		s.ApprovedUsers = append(s.ApprovedUsers, u)
	}
	slices.Sort(s.ApprovedUsers)
	return s
}

func (m *model) recompute() {
	for _, u := range m.users {
		u.computeEffective()
	}
}

// parsePublicKeyPEM reads the RSA public key of a PEM certificate or PEM
// public key (PKIX or PKCS#1).
func parsePublicKeyPEM(data []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("certificate is not PEM: upload the certificate file (BEGIN CERTIFICATE), not the private key")
	}
	switch block.Type {
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		k, ok := c.PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("certificate key is %T; Salesforce accepts RSA keys only", c.PublicKey)
		}
		return k, nil
	case "PUBLIC KEY":
		pk, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse public key: %w", err)
		}
		k, ok := pk.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("public key is %T; Salesforce accepts RSA keys only", pk)
		}
		return k, nil
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q is not a certificate: upload the certificate (BEGIN CERTIFICATE), never the private key", block.Type)
	}
}

// load applies a fixture to an empty model.
func (m *model) load(f *Fixture, now time.Time) error {
	if err := m.setOrg(f.Org, now); err != nil {
		return err
	}
	for _, p := range f.Profiles {
		if _, err := m.putProfile(p); err != nil {
			return err
		}
	}
	for _, p := range f.PermissionSets {
		if _, err := m.putPermSet(p); err != nil {
			return err
		}
	}
	for _, u := range f.Users {
		if _, err := m.putUser(u, now); err != nil {
			return err
		}
	}
	for _, a := range f.Apps {
		if _, err := m.putApp(a); err != nil {
			return err
		}
	}
	return nil
}
