package emulator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/sftest"
)

// form posts to the authorize endpoint without following the redirect.
func authorize(t *testing.T, s *sftest.Server, method string, v url.Values) (int, http.Header, string) {
	t.Helper()
	c := *s.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	var req *http.Request
	if method == http.MethodGet {
		req, _ = http.NewRequestWithContext(t.Context(), method, s.URL+"/services/oauth2/authorize?"+v.Encode(), nil)
	} else {
		req, _ = http.NewRequestWithContext(t.Context(), method, s.URL+"/services/oauth2/authorize", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// Seed 002's prior-approval step: a self-authorize app is approved in the
// browser, the approval is recorded, and the callback gets the token in the
// fragment, as in Salesforce's user-agent flow.
func TestAuthorizeApprovesSelfAuthorizeApp(t *testing.T) {
	s := newServer(t)
	if r := admin(t, s, "PATCH", "/_emulator/apps/sfbridge", `{"permitted_users":"AllSelfAuthorized"}`); r.status != 204 {
		t.Fatalf("PATCH: %d %s", r.status, r.body)
	}
	if r := postToken(t, s, grantForm(s.Assertion(t, emulator.UserIntegration))); r.status != 400 || !strings.Contains(r.body, "hasn't approved") {
		t.Fatalf("JWT before approval: %d %s", r.status, r.body)
	}
	callback := "https://login.salesforce.com/services/oauth2/success"
	req := url.Values{"response_type": {"token"}, "client_id": {s.ClientID}, "redirect_uri": {callback}, "state": {"xyz 1"}}

	status, hdr, body := authorize(t, s, http.MethodGet, req)
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || !strings.Contains(body, `name="username"`) || !strings.Contains(body, "sfbridge") {
		t.Fatalf("approve page: %d %s\n%s", status, hdr.Get("Content-Type"), body)
	}

	post := func(extra url.Values) url.Values {
		v := url.Values{}
		for k, vs := range req {
			v[k] = vs
		}
		for k, vs := range extra {
			v[k] = vs
		}
		return v
	}
	// An unknown user is asked again.
	status, _, body = authorize(t, s, http.MethodPost, post(url.Values{"action": {"allow"}, "username": {"nobody@sfbridge.test"}}))
	if status != 200 || !strings.Contains(body, "check your username") {
		t.Errorf("unknown user: %d %s", status, body)
	}
	// Deny redirects with access_denied.
	status, hdr, _ = authorize(t, s, http.MethodPost, post(url.Values{"action": {"deny"}}))
	if loc := hdr.Get("Location"); status != 302 || loc != s.URL+"/services/oauth2/success#error=access_denied&error_description=end-user+denied+authorization&state=xyz+1" {
		t.Errorf("deny: %d %s", status, loc)
	}

	status, hdr, _ = authorize(t, s, http.MethodPost, post(url.Values{"action": {"allow"}, "username": {emulator.UserIntegration}}))
	loc := hdr.Get("Location")
	target, fragment, _ := strings.Cut(loc, "#")
	if status != 302 || target != s.URL+"/services/oauth2/success" {
		t.Fatalf("allow: %d %s", status, loc)
	}
	wantOrder := []string{"access_token", "instance_url", "id", "issued_at", "signature", "scope", "token_type", "state"}
	var keys []string
	for _, kv := range strings.Split(fragment, "&") {
		k, _, _ := strings.Cut(kv, "=")
		keys = append(keys, k)
	}
	if strings.Join(keys, ",") != strings.Join(wantOrder, ",") {
		t.Errorf("fragment keys %v, want %v", keys, wantOrder)
	}
	f, err := url.ParseQuery(fragment)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := s.Org.UserID(emulator.UserIntegration)
	if f.Get("token_type") != "Bearer" || f.Get("instance_url") != s.URL || f.Get("id") != s.URL+"/id/"+string(s.Org.OrgID())+"/"+string(uid) ||
		f.Get("scope") != "api id refresh_token" || f.Get("state") != "xyz 1" || len(f.Get("issued_at")) != 13 || f.Get("signature") == "" {
		t.Errorf("fragment %v", f)
	}
	if r := do(t, s, "GET", "/services/data/v62.0/", f.Get("access_token"), nil); r.status != 200 {
		t.Errorf("the fragment's token: %d %s", r.status, r.body)
	}
	// The approval is recorded: the JWT bearer flow now works for the user.
	if r := postToken(t, s, grantForm(s.Assertion(t, emulator.UserIntegration))); r.status != 200 {
		t.Errorf("JWT after approval: %d %s", r.status, r.body)
	}
	var apps []emulator.AppSpec
	if err := json.Unmarshal([]byte(admin(t, s, "GET", "/_emulator/apps", "").body), &apps); err != nil || len(apps) == 0 || len(apps[0].ApprovedUsers) != 1 {
		t.Errorf("approved users after approval: %+v %v", apps, err)
	}
	// The token is in no log.
	b, _ := json.Marshal(s.Org.Requests(0))
	if strings.Contains(string(b), f.Get("access_token")) {
		t.Error("the request log holds the access token")
	}
	if r := do(t, s, "GET", "/services/oauth2/success", "", nil); r.status != 200 || !strings.Contains(r.body, "Remote Access Application Authorization") {
		t.Errorf("success page: %d", r.status)
	}
}

func TestAuthorizeErrors(t *testing.T) {
	s := newServer(t)
	ok := "https://login.salesforce.com/services/oauth2/success"
	for _, c := range []struct {
		name           string
		v              url.Values
		status         int
		want, location string
	}{
		{"unknown client", url.Values{"response_type": {"token"}, "client_id": {"3MVG9nope"}, "redirect_uri": {ok}}, 400, "error=invalid_client_id", ""},
		{"redirect_uri not configured", url.Values{"response_type": {"token"}, "client_id": {s.ClientID}, "redirect_uri": {"https://evil.example/cb"}}, 400, "error=redirect_uri_mismatch", ""},
		{"no redirect_uri", url.Values{"response_type": {"token"}, "client_id": {s.ClientID}}, 400, "redirect_uri must match configuration", ""},
		{"code flow", url.Values{"response_type": {"code"}, "client_id": {s.ClientID}, "redirect_uri": {"http://localhost:1717/OauthRedirect"}}, 302, "",
			"http://localhost:1717/OauthRedirect#error=unsupported_response_type&error_description=response+type+not+supported"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, hdr, body := authorize(t, s, http.MethodGet, c.v)
			if status != c.status || !strings.Contains(body, c.want) || hdr.Get("Location") != c.location {
				t.Errorf("got %d %q %s", status, hdr.Get("Location"), body)
			}
		})
	}
	// An admin-approved app lets a pre-authorized user through and sends
	// the others back with access_denied.
	v := url.Values{"response_type": {"token"}, "client_id": {s.ClientID}, "redirect_uri": {ok}, "action": {"allow"}, "username": {emulator.UserNotPreauthorized}}
	status, hdr, _ := authorize(t, s, http.MethodPost, v)
	if loc := hdr.Get("Location"); status != 302 || !strings.Contains(loc, "#error=access_denied&error_description=user+is+not+admin+approved") {
		t.Errorf("not pre-authorized: %d %s", status, loc)
	}
	v.Set("username", emulator.UserIntegration)
	if status, hdr, _ := authorize(t, s, http.MethodPost, v); status != 302 || !strings.Contains(hdr.Get("Location"), "#access_token=") {
		target, _, _ := strings.Cut(hdr.Get("Location"), "#")
		t.Errorf("pre-authorized: %d to %s", status, target)
	}
}
