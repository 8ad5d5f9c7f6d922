package emulator

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sfbridge/sfbridge/emulator/sfid"
)

// Identity-service answers for a bad token: Salesforce answers the identity
// URL and userinfo with 403 and this plain-text body.
const badOAuthToken = "Bad_OAuth_Token"

// identityToken reads the token of an identity-service request: the
// Authorization header, or the oauth_token parameter jsforce sends.
func identityToken(r *http.Request) string {
	if t := bearerToken(r); t != "" {
		return t
	}
	if t := r.URL.Query().Get("oauth_token"); t != "" {
		return t
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
		if err := r.ParseForm(); err == nil {
			return r.PostForm.Get("access_token")
		}
	}
	return ""
}

func writeBadToken(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
	w.WriteHeader(http.StatusForbidden)
	w.Write([]byte(badOAuthToken))
}

// identityURLs are the urls block of the identity and userinfo answers.
func identityURLs(instance, orgID, userID string) map[string]string {
	v := "{version}"
	return map[string]string{
		"enterprise":    instance + "/services/Soap/c/" + v + "/" + sfid.ID(orgID).Short(),
		"metadata":      instance + "/services/Soap/m/" + v + "/" + sfid.ID(orgID).Short(),
		"partner":       instance + "/services/Soap/u/" + v + "/" + sfid.ID(orgID).Short(),
		"rest":          instance + "/services/data/v" + v + "/",
		"sobjects":      instance + "/services/data/v" + v + "/sobjects/",
		"search":        instance + "/services/data/v" + v + "/search/",
		"query":         instance + "/services/data/v" + v + "/query/",
		"recent":        instance + "/services/data/v" + v + "/recent/",
		"tooling_soap":  instance + "/services/Soap/T/" + v + "/" + sfid.ID(orgID).Short(),
		"tooling_rest":  instance + "/services/data/v" + v + "/tooling/",
		"profile":       instance + "/" + userID,
		"feeds":         instance + "/services/data/v" + v + "/chatter/feeds",
		"groups":        instance + "/services/data/v" + v + "/chatter/groups",
		"users":         instance + "/services/data/v" + v + "/chatter/users",
		"feed_items":    instance + "/services/data/v" + v + "/chatter/feed-items",
		"feed_elements": instance + "/services/data/v" + v + "/chatter/feed-elements",
		"custom_domain": instance,
	}
}

// fillVersion replaces {version} in the urls when the caller asked for one.
func fillVersion(urls map[string]string, version string) {
	if version == "" {
		return
	}
	if version == "latest" {
		version = strconv.Itoa(MaxAPIVersion) + ".0"
	}
	version = strings.TrimPrefix(version, "v")
	for k, u := range urls {
		urls[k] = strings.ReplaceAll(u, "{version}", version)
	}
}

type identitySubject struct {
	u        *user
	orgID    sfid.ID
	timezone string
}

// lookupSubject returns a copy of what the identity answers need about a
// user. Caller must not hold mu.
func (o *Org) lookupSubject(id sfid.ID) (identitySubject, bool) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	u, ok := o.m.usersByID[id]
	if !ok {
		return identitySubject{}, false
	}
	cp := *u
	return identitySubject{u: &cp, orgID: o.m.org.ID, timezone: u.TimeZone}, true
}

func (o *Org) handleIdentity(w http.ResponseWriter, r *http.Request) {
	c, ok := o.authenticate(identityToken(r))
	if !ok {
		writeBadToken(w)
		return
	}
	orgID, err1 := sfid.Parse(r.PathValue("org"))
	userID, err2 := sfid.Parse(r.PathValue("user"))
	if err1 != nil || err2 != nil || orgID != c.orgID {
		writeBadIDURL(w)
		return
	}
	if userID != c.userID && !c.eff.has("viewalldata") && !c.eff.has("manageusers") {
		writeBadIDURL(w)
		return
	}
	sub, ok := o.lookupSubject(userID)
	if !ok {
		writeBadIDURL(w)
		return
	}
	login, instance := o.urls(r)
	u := sub.u
	urls := identityURLs(instance, string(orgID), string(u.ID))
	fillVersion(urls, r.URL.Query().Get("version"))
	body := map[string]any{
		"id":                      login + "/id/" + string(orgID) + "/" + string(u.ID),
		"asserted_user":           userID == c.userID,
		"user_id":                 string(u.ID),
		"organization_id":         string(orgID),
		"username":                u.Username,
		"nick_name":               nickname(u.Username),
		"display_name":            u.name(),
		"email":                   u.Email,
		"email_verified":          true,
		"first_name":              u.FirstName,
		"last_name":               u.LastName,
		"timezone":                sub.timezone,
		"photos":                  photos(instance, u.ID),
		"addr_street":             nil,
		"addr_city":               nil,
		"addr_state":              nil,
		"addr_country":            nil,
		"addr_zip":                nil,
		"mobile_phone":            nil,
		"mobile_phone_verified":   false,
		"is_lightning_login_user": false,
		"status":                  map[string]any{"created_date": nil, "body": nil},
		"urls":                    urls,
		"active":                  u.Active,
		"user_type":               "STANDARD",
		"language":                "en_US",
		"locale":                  "en_US",
		"utcOffset":               0,
		"last_modified_date":      formatDateTime(u.Created),
		"is_app_installed":        true,
	}
	writeJSON(w, http.StatusOK, body)
}

func writeBadIDURL(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
	w.WriteHeader(http.StatusForbidden)
	w.Write([]byte("Bad_Id"))
}

func (o *Org) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	c, ok := o.authenticate(identityToken(r))
	if !ok {
		writeBadToken(w)
		return
	}
	sub, ok := o.lookupSubject(c.userID)
	if !ok {
		writeBadToken(w)
		return
	}
	login, instance := o.urls(r)
	u := sub.u
	urls := identityURLs(instance, string(sub.orgID), string(u.ID))
	fillVersion(urls, r.URL.Query().Get("version"))
	body := map[string]any{
		"sub":                            login + "/id/" + string(sub.orgID) + "/" + string(u.ID),
		"user_id":                        string(u.ID),
		"organization_id":                string(sub.orgID),
		"preferred_username":             u.Username,
		"nickname":                       nickname(u.Username),
		"name":                           u.name(),
		"email":                          u.Email,
		"email_verified":                 true,
		"given_name":                     u.FirstName,
		"family_name":                    u.LastName,
		"zoneinfo":                       sub.timezone,
		"photos":                         photos(instance, u.ID),
		"profile":                        instance + "/" + string(u.ID),
		"picture":                        instance + "/profilephoto/005/F",
		"address":                        map[string]any{},
		"is_salesforce_integration_user": false,
		"urls":                           urls,
		"active":                         u.Active,
		"user_type":                      "STANDARD",
		"language":                       "en_US",
		"locale":                         "en_US",
		"utcOffset":                      0,
		"updated_at":                     formatDateTime(u.Created),
		"is_app_installed":               true,
	}
	writeJSON(w, http.StatusOK, body)
}

func nickname(username string) string {
	name, _, _ := strings.Cut(username, "@")
	return name
}

func photos(instance string, id sfid.ID) map[string]string {
	return map[string]string{
		"picture":   instance + "/profilephoto/005/F",
		"thumbnail": instance + "/profilephoto/005/T",
	}
}

// formatDateTime renders Salesforce's dateTime format.
func formatDateTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000+0000")
}

// handleRevoke revokes an access token: POST form token=…, or GET ?token=.
func (o *Org) handleRevoke(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, oauthError{400, "invalid_request", "unreadable request body"})
		return
	}
	tok := r.Form.Get("token")
	if tok == "" {
		writeOAuthError(w, oauthError{400, "unsupported_token_type", "this token type is not supported"})
		return
	}
	s, ok := o.sessions.get(tok)
	if !ok || s.revoked.Load() {
		writeOAuthError(w, oauthError{400, "invalid_token", "invalid token"})
		return
	}
	s.revoked.Store(true)
	o.recordLogout(r, s.userID)
	w.Header().Set("Cache-Control", "no-cache,must-revalidate,max-age=0,no-store,private")
	w.WriteHeader(http.StatusOK)
}

// handleIntrospect answers RFC 7662 introspection for the app whose
// consumer key and secret authenticate the call (form or HTTP Basic).
func (o *Org) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeOAuthError(w, errPostRequired)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, oauthError{400, "invalid_request", "unreadable request body"})
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	o.mu.RLock()
	ap := o.m.apps[id]
	var appKey string
	var all bool
	if ap != nil && ap.ConsumerSecret != "" && constantTimeEqual(secret, ap.ConsumerSecret) {
		appKey, all = ap.ConsumerKey, ap.IntrospectAll
	}
	o.mu.RUnlock()
	if appKey == "" {
		writeOAuthError(w, oauthError{401, "invalid_client", "invalid client credentials"})
		return
	}
	s, ok := o.sessions.get(r.PostForm.Get("token"))
	now := o.Now()
	if !ok || s.state(now) != "" || (!all && s.appKey != appKey) {
		writeJSON(w, http.StatusOK, map[string]any{"active": false})
		return
	}
	sub, ok := o.lookupSubject(s.userID)
	if !ok {
		writeJSON(w, http.StatusOK, map[string]any{"active": false})
		return
	}
	login, _ := o.urls(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"active":     true,
		"scope":      s.scope,
		"client_id":  s.appKey,
		"username":   sub.u.Username,
		"sub":        login + "/id/" + string(sub.orgID) + "/" + string(sub.u.ID),
		"token_type": "access_token",
		"exp":        s.expiry().Unix(),
		"iat":        s.issued.Unix(),
		"nbf":        s.issued.Unix(),
	})
}
