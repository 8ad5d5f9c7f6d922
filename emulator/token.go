package emulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// oauthError is a token-endpoint error body as Salesforce sends it.
type oauthError struct {
	Status      int    `json:"-"`
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

// The token-endpoint errors, with Salesforce's codes and strings.
var (
	errUnsupportedGrant = oauthError{400, "unsupported_grant_type", "grant type not supported"}
	errInvalidAssertion = oauthError{400, "invalid_grant", "invalid assertion"}
	errInvalidClientID  = oauthError{400, "invalid_client_id", "client identifier invalid"}
	errAudience         = oauthError{400, "invalid_grant", "audience is invalid"}
	errExpired          = oauthError{400, "invalid_grant", "expired authorization code"}
	errInvalidUser      = oauthError{400, "invalid_grant", "invalid user"}
	errInactiveUser     = oauthError{400, "inactive_user", "User is inactive"}
	errAuthFailure      = oauthError{400, "invalid_grant", "authentication failure"}
	errNotApproved      = oauthError{400, "invalid_grant", "user hasn't approved this consumer"}
	errNotAdminApproved = oauthError{400, "invalid_app_access", "user is not admin approved to access this app"}
	errLoginRate        = oauthError{400, "rate_limit_exceeded", "Number of logins exceeded"}
	errPostRequired     = oauthError{400, "invalid_request", "must use HTTP POST"}
	errBodyTooLarge     = oauthError{413, "invalid_request", "request body too large: a token request is a short form (limit 64 KiB)"}
	errBadBody          = oauthError{400, "invalid_request", "malformed request body: want application/x-www-form-urlencoded"}
)

// maxTokenBody bounds a token request's body.
const maxTokenBody = 64 << 10

func writeOAuthError(w http.ResponseWriter, e oauthError) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-cache,must-revalidate,max-age=0,no-store,private")
	w.WriteHeader(e.Status)
	b, _ := json.Marshal(e)
	w.Write(b)
}

const jwtBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// tokenResponse is Salesforce's JWT bearer success body.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	Signature   string `json:"signature"`
	Scope       string `json:"scope"`
	InstanceURL string `json:"instance_url"`
	ID          string `json:"id"`
	TokenType   string `json:"token_type"`
	IssuedAt    string `json:"issued_at"`
}

func (o *Org) handleToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeOAuthError(w, errPostRequired)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenBody)
	if err := r.ParseForm(); err != nil {
		// Say what is wrong: the grant type was never read.
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			o.recordLogin(r, "", "", "Failed: request body over 64 KiB")
			writeOAuthError(w, errBodyTooLarge)
			return
		}
		o.recordLogin(r, "", "", "Failed: unreadable request body: "+err.Error())
		writeOAuthError(w, errBadBody)
		return
	}
	if r.PostForm.Get("grant_type") != jwtBearerGrant && r.Form.Get("grant_type") != jwtBearerGrant {
		o.recordLogin(r, "", "", "Failed: grant_type "+strconv.Quote(r.Form.Get("grant_type"))+" is not the JWT bearer grant")
		writeOAuthError(w, errUnsupportedGrant)
		return
	}
	raw := r.Form.Get("assertion")
	resp, username, appName, e, why := o.grant(r, raw)
	if rec, ok := w.(*responseRecorder); ok {
		rec.username = username
	}
	if e.Code != "" {
		o.recordLogin(r, username, appName, "Failed: "+why)
		writeOAuthError(w, e)
		return
	}
	o.recordLogin(r, username, appName, "Success")
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-cache,must-revalidate,max-age=0,no-store,private")
	b, _ := json.Marshal(resp)
	w.Write(b)
}

// grant runs the JWT bearer checks in Salesforce's order: the assertion's
// form, the issuer (consumer key), the signature against the app's
// certificates, the audience, the expiry, then the user and the app's
// policy. The signature is checked before anything about users is revealed.
func (o *Org) grant(r *http.Request, raw string) (resp tokenResponse, username, appName string, e oauthError, why string) {
	if raw == "" {
		return resp, "", "", errInvalidAssertion, "no assertion parameter"
	}
	a, err := parseAssertion(raw)
	if err != nil {
		return resp, "", "", errInvalidAssertion, "malformed assertion: " + err.Error()
	}
	now := o.Now()
	login, instance := o.urls(r)

	o.mu.RLock()
	ap, ok := o.m.apps[a.Issuer]
	if !ok {
		o.mu.RUnlock()
		return resp, a.Subject, "", errInvalidClientID, "no app has consumer key " + strconv.Quote(truncate(a.Issuer, 40))
	}
	appName = ap.Name
	keys := ap.Keys
	jwtEnabled := ap.JWTEnabled
	audOK := o.audienceOK(a.Audience, login, instance, requestBase(r))
	o.mu.RUnlock()

	if !jwtEnabled {
		return resp, a.Subject, appName, errInvalidAssertion, "the app does not use digital signatures (JWT bearer flow not enabled)"
	}
	if !a.verify(keys) {
		return resp, a.Subject, appName, errInvalidAssertion, "signature does not verify against any certificate of the app"
	}
	if !audOK {
		return resp, a.Subject, appName, errAudience, "audience " + strconv.Quote(truncate(a.Audience, 80)) + " is not accepted"
	}
	if a.Expiry.IsZero() {
		return resp, a.Subject, appName, errInvalidAssertion, "assertion has no exp claim"
	}
	if !now.Before(a.Expiry) {
		return resp, a.Subject, appName, errExpired, "assertion expired at " + a.Expiry.UTC().Format(time.RFC3339)
	}

	o.mu.RLock()
	u, ok := o.m.users[strings.ToLower(a.Subject)]
	if !ok {
		o.mu.RUnlock()
		return resp, a.Subject, appName, errInvalidUser, "no user with that username"
	}
	ap = o.m.apps[a.Issuer]
	if ap == nil {
		o.mu.RUnlock()
		return resp, a.Subject, appName, errInvalidClientID, "the app was removed"
	}
	active, frozen, apiEnabled := u.Active, u.Frozen, u.eff.has("apienabled")
	admitted, policyErr := ap.admits(u)
	userID, uname := u.ID, u.Username
	orgID := o.m.org.ID
	timeout, scopes, key := ap.SessionTimeout, strings.Join(ap.Scopes, " "), ap.ConsumerKey
	secret := ap.ConsumerSecret
	o.mu.RUnlock()

	switch {
	case !active:
		return resp, uname, appName, errInactiveUser, "user is inactive"
	case frozen:
		return resp, uname, appName, errAuthFailure, "user is frozen"
	case !apiEnabled:
		return resp, uname, appName, errAuthFailure, "user lacks the API Enabled permission"
	case !admitted:
		if policyErr == errNotAdminApproved {
			return resp, uname, appName, policyErr, "user's profile and permission sets are not pre-authorized for the app"
		}
		return resp, uname, appName, policyErr, "user has not approved the app (self-authorize policy)"
	}
	if !o.logins.allow(userID, now) {
		return resp, uname, appName, errLoginRate, "more logins this hour than allowed"
	}

	token := orgID.Short() + "!" + randomString(72)
	s := &session{token: token, userID: userID, appKey: key, appName: appName, scope: scopes, issued: now, timeout: timeout}
	s.touch(now)
	o.sessions.add(s, now)

	id := login + "/id/" + string(orgID) + "/" + string(userID)
	issued := strconv.FormatInt(now.UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(id + issued))
	resp = tokenResponse{
		AccessToken: token,
		Signature:   base64.StdEncoding.EncodeToString(mac.Sum(nil)),
		Scope:       scopes,
		InstanceURL: instance,
		ID:          id,
		TokenType:   "Bearer",
		IssuedAt:    issued,
	}
	return resp, uname, appName, oauthError{}, ""
}

// audienceOK says whether aud is one Salesforce would accept for this org:
// the production login host (the sandbox one for a sandbox), the org's My
// Domain, the emulator's own login and instance URLs, each with or without a
// trailing slash or the token path, plus configured extras. Caller holds mu.
func (o *Org) audienceOK(aud, login, instance, reqBase string) bool {
	if aud == "" {
		return false
	}
	a := strings.TrimSuffix(aud, "/services/oauth2/token")
	a = strings.TrimSuffix(a, "/")
	cands := []string{login, instance, reqBase, o.m.org.myDomainURL()}
	if o.m.org.Sandbox {
		cands = append(cands, "https://test.salesforce.com")
	} else {
		cands = append(cands, "https://login.salesforce.com")
	}
	for _, c := range cands {
		if c != "" && strings.EqualFold(a, strings.TrimSuffix(c, "/")) {
			return true
		}
	}
	for _, c := range o.m.org.Audiences {
		if aud == c || strings.EqualFold(a, strings.TrimSuffix(c, "/")) {
			return true
		}
	}
	return false
}

// requestBase is scheme://host of the request as the client addressed it,
// when that is a loopback host (127.0.0.1 and localhost name the same
// emulator); otherwise empty, so a forged Host header widens nothing.
func requestBase(r *http.Request) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if ip := net.ParseIP(strings.Trim(host, "[]")); (ip == nil || !ip.IsLoopback()) && !strings.EqualFold(host, "localhost") {
		return ""
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
