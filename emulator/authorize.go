package emulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// The user-agent flow's paths: the authorize endpoint and the page
// Salesforce offers as a callback URL for apps without a web page of their
// own (vendor guides use it for the prior-approval step).
const (
	authorizePath = "/services/oauth2/authorize"
	successPath   = "/services/oauth2/success"
)

// defaultCallbackURLs are accepted as redirect_uri by an app that lists no
// callback URLs of its own.
func defaultCallbackURLs(login string) []string {
	return []string{
		"https://login.salesforce.com" + successPath,
		"https://test.salesforce.com" + successPath,
		login + successPath,
		"http://localhost:1717/OauthRedirect",
	}
}

// authorizeRequest is the user-agent flow's request.
type authorizeRequest struct {
	ResponseType, ClientID, RedirectURI, Scope, State string
	AppName, Username, Problem                        string // for the page
}

// handleAuthorize serves the OAuth 2.0 user-agent flow as far as a
// server-to-server integration needs it: the "prior approval" step of the
// JWT bearer flow. GET shows a minimal approve page (a username field
// stands in for Salesforce's login); POST approves for that user, which a
// self-authorize app records, and redirects to the callback with the token
// in the URL fragment, as Salesforce does. Tokens are never logged.
func (o *Org) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-cache,must-revalidate,max-age=0,no-store,private")
	h.Set("X-Frame-Options", "DENY")
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		authorizeErrorPage(w, http.StatusMethodNotAllowed, "invalid_request", "must use HTTP GET or POST")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		authorizeErrorPage(w, http.StatusBadRequest, "invalid_request", "malformed request")
		return
	}
	q := authorizeRequest{ResponseType: r.Form.Get("response_type"), ClientID: r.Form.Get("client_id"),
		RedirectURI: r.Form.Get("redirect_uri"), Scope: r.Form.Get("scope"), State: r.Form.Get("state")}
	login, instance := o.urls(r)

	// Salesforce shows an error page, and never redirects, when it cannot
	// trust the redirect_uri: an unknown client or a URI the app lacks.
	o.mu.RLock()
	ap, ok := o.m.apps[q.ClientID]
	var callbacks []string
	if ok {
		q.AppName = ap.Name
		callbacks = ap.CallbackURLs
	}
	o.mu.RUnlock()
	if !ok {
		authorizeErrorPage(w, http.StatusBadRequest, "invalid_client_id", "client identifier invalid")
		return
	}
	if len(callbacks) == 0 {
		callbacks = defaultCallbackURLs(login)
	}
	if !slices.Contains(callbacks, q.RedirectURI) {
		authorizeErrorPage(w, http.StatusBadRequest, "redirect_uri_mismatch", "redirect_uri must match configuration")
		return
	}
	target := callbackTarget(q.RedirectURI, login)
	if q.ResponseType != "token" {
		redirectFragment(w, r, target, [][2]string{{"error", "unsupported_response_type"}, {"error_description", "response type not supported"}, {"state", q.State}})
		return
	}
	if r.Method == http.MethodGet {
		renderApprovePage(w, http.StatusOK, q)
		return
	}
	switch r.PostForm.Get("action") {
	case "deny":
		redirectFragment(w, r, target, [][2]string{{"error", "access_denied"}, {"error_description", "end-user denied authorization"}, {"state", q.State}})
		return
	case "allow":
	default:
		q.Problem = "Choose Allow or Deny."
		renderApprovePage(w, http.StatusBadRequest, q)
		return
	}
	q.Username = strings.TrimSpace(r.PostForm.Get("username"))
	frag, problem, refusal := o.approve(r, q, login, instance)
	if problem != "" {
		q.Problem = problem
		renderApprovePage(w, http.StatusOK, q)
		return
	}
	if refusal.Code != "" {
		redirectFragment(w, r, target, [][2]string{{"error", refusal.Code}, {"error_description", refusal.Description}, {"state", q.State}})
		return
	}
	if rec, ok := w.(*responseRecorder); ok {
		rec.username = q.Username
	}
	redirectFragment(w, r, target, append(frag, [2]string{"state", q.State}))
}

// approve checks the user, records the approval of a self-authorize app and
// issues a session. problem is shown on the page (the user could not log
// in); refusal is redirected to the callback (the app refuses the user).
func (o *Org) approve(r *http.Request, q authorizeRequest, login, instance string) (frag [][2]string, problem string, refusal oauthError) {
	now := o.Now()
	o.mu.Lock()
	u, ok := o.m.users[strings.ToLower(q.Username)]
	ap := o.m.apps[q.ClientID]
	if !ok || ap == nil || !u.Active || u.Frozen {
		o.mu.Unlock()
		reason := "no such user"
		if ok && !u.Active {
			reason = "user is inactive"
		} else if ok {
			reason = "user is frozen"
		}
		o.recordLogin(r, q.Username, q.AppName, "Failed: user-agent flow: "+reason)
		return nil, "Please check your username. The emulator has no passwords: give the username of an active user of this org.", oauthError{}
	}
	if ap.PermittedUsers == AllSelfAuthorized {
		ap.Approved[strings.ToLower(u.Username)] = true
	}
	admitted, policyErr := ap.admits(u)
	userID, username, orgID := u.ID, u.Username, o.m.org.ID
	timeout, scopes, key, secret, appName := ap.SessionTimeout, strings.Join(ap.Scopes, " "), ap.ConsumerKey, ap.ConsumerSecret, ap.Name
	o.mu.Unlock()
	if !admitted {
		o.recordLogin(r, username, appName, "Failed: user-agent flow: user's profile and permission sets are not pre-authorized for the app")
		return nil, "", oauthError{Code: "access_denied", Description: policyErr.Description}
	}
	if !o.logins.allow(userID, now) {
		o.recordLogin(r, username, appName, "Failed: more logins this hour than allowed")
		return nil, "", oauthError{Code: "access_denied", Description: errLoginRate.Description}
	}
	token := orgID.Short() + "!" + randomString(72)
	s := &session{token: token, userID: userID, appKey: key, appName: appName, scope: scopes, issued: now, timeout: timeout}
	s.touch(now)
	o.sessions.add(s, now)
	o.recordLogin(r, username, appName, "Success")

	id := login + "/id/" + string(orgID) + "/" + string(userID)
	issued := strconv.FormatInt(now.UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(id + issued))
	return [][2]string{
		{"access_token", token}, {"instance_url", instance}, {"id", id}, {"issued_at", issued},
		{"signature", base64.StdEncoding.EncodeToString(mac.Sum(nil))}, {"scope", scopes}, {"token_type", "Bearer"},
	}, "", oauthError{}
}

// callbackTarget is where the browser goes: Salesforce's own success page
// stands for the emulator's, so the token stays on this machine.
func callbackTarget(redirectURI, login string) string {
	for _, host := range []string{"https://login.salesforce.com", "https://test.salesforce.com"} {
		if redirectURI == host+successPath {
			return login + successPath
		}
	}
	return redirectURI
}

// redirectFragment redirects to target with params in the URL fragment, in
// the given order; empty values are left out.
func redirectFragment(w http.ResponseWriter, r *http.Request, target string, params [][2]string) {
	var b strings.Builder
	for _, p := range params {
		if p[1] == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p[0])
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(p[1]))
	}
	if i := strings.IndexByte(target, '#'); i >= 0 {
		target = target[:i]
	}
	http.Redirect(w, r, target+"#"+b.String(), http.StatusFound)
}

const approvePage = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Allow Access? | sfbridge emulator</title></head>
<body>
<h1>Allow Access?</h1>
<p><strong>{{.AppName}}</strong> is asking to access this org ({{.Scope}}).</p>
<p>The emulator has no passwords: give the username of the user who approves the app.</p>
{{if .Problem}}<p role="alert"><strong>{{.Problem}}</strong></p>{{end}}
<form method="post" action="/services/oauth2/authorize">
<input type="hidden" name="response_type" value="{{.ResponseType}}">
<input type="hidden" name="client_id" value="{{.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
<input type="hidden" name="scope" value="{{.Scope}}">
<input type="hidden" name="state" value="{{.State}}">
<p><label>Username <input type="text" name="username" value="{{.Username}}" autocomplete="username" required></label></p>
<p><button type="submit" name="action" value="allow">Allow</button> <button type="submit" name="action" value="deny" formnovalidate>Deny</button></p>
</form>
</body></html>
`

func renderApprovePage(w http.ResponseWriter, status int, q authorizeRequest) {
	if q.Scope == "" {
		q.Scope = "the app's configured scopes"
	}
	t := template.Must(template.New("approve").Parse(approvePage))
	w.Header().Set("Content-Type", "text/html;charset=UTF-8")
	w.WriteHeader(status)
	_ = t.Execute(w, q)
}

const errorPage = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>OAuth Error | sfbridge emulator</title></head>
<body><h1>OAuth Error</h1><p>We can't authorize you because of an OAuth error.</p>
<p>error={{.Code}}<br>error_description={{.Description}}</p></body></html>
`

func authorizeErrorPage(w http.ResponseWriter, status int, code, description string) {
	t := template.Must(template.New("error").Parse(errorPage))
	w.Header().Set("Content-Type", "text/html;charset=UTF-8")
	w.WriteHeader(status)
	_ = t.Execute(w, oauthError{Code: code, Description: description})
}

const successPage = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Remote Access Application Authorization | sfbridge emulator</title></head>
<body><h1>Remote Access Application Authorization</h1>
<p>The app is approved. You can close this window.</p></body></html>
`

func (o *Org) handleAuthorizeSuccess(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "text/html;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(successPage))
}
