package auth

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Diagnosis explains a failed login.
type Diagnosis struct {
	// Problem is a stable identifier, such as "user-not-approved".
	Problem string `json:"problem"`
	// Cause says what the answer usually means.
	Cause string `json:"cause"`
	// Fix names the setup step that repairs it.
	Fix string `json:"fix"`
}

// rule maps an error code and/or description substring to a diagnosis.
type rule struct {
	codes []string // any of these "error" values (empty: any)
	descs []string // any of these lower-case substrings of error_description (empty: any)
	diag  Diagnosis
}

func (r rule) matches(code, desc string) bool {
	codeOK := len(r.codes) == 0
	for _, c := range r.codes {
		if strings.EqualFold(c, code) {
			codeOK = true
		}
	}
	descOK := len(r.descs) == 0
	for _, d := range r.descs {
		if strings.Contains(desc, d) {
			descOK = true
		}
	}
	return codeOK && descOK
}

// Problem identifiers of [Diagnosis].
const (
	ProblemUserNotApproved  = "user-not-approved"
	ProblemNotAdminApproved = "not-admin-approved"
	ProblemInvalidAssertion = "invalid-assertion"
	ProblemAudience         = "audience"
	ProblemClock            = "clock"
	ProblemInvalidUser      = "invalid-user"
	ProblemIPRestricted     = "ip-restricted"
	ProblemAuthFailure      = "authentication-failure"
	ProblemAPIDisabled      = "api-disabled"
	ProblemNoScopes         = "no-valid-scopes"
	ProblemClientID         = "invalid-client-id"
	ProblemAppNotFound      = "app-not-found"
	ProblemInactiveUser     = "inactive-user"
	ProblemInactiveOrg      = "inactive-org"
	ProblemRateLimit        = "login-rate-exceeded"
	ProblemGrantType        = "unsupported-grant-type"
	ProblemInvalidRequest   = "invalid-request"
	ProblemRedirect         = "redirected"
	ProblemServer           = "server-error"
	ProblemUnexpected       = "unexpected-response"
	ProblemUnknown          = "unknown"
)

// rules is the diagnosis table, most specific first. It is a function so
// the package holds no mutable globals.
func rules() []rule {
	// Diagnoses that more than one rule (an error code, or words of the
	// description) leads to.
	notAdminApproved := Diagnosis{ProblemNotAdminApproved,
		"the app only admits admin-approved users and this user's profile or permission set is not assigned to it",
		"add the user's profile or permission set to the app (Manage > Manage Profiles / Manage Permission Sets, or the External Client App's Policies tab) and assign that permission set to the user (Users > Permission Set Assignments)"}
	clientID := Diagnosis{ProblemClientID,
		"the consumer key is not known to this org: a typo, a key of an app in another org, or an app created or changed in the last minutes that has not propagated yet",
		"copy the Consumer Key again (app > Manage Consumer Details); after creating or editing the app wait 2 to 10 minutes"}
	appNotFound := Diagnosis{ProblemAppNotFound,
		"the External Client App is not installed in the org this login URL reaches: test.salesforce.com used after Spring '26, the app created in another org, or not propagated yet",
		"use the org's My Domain URL (--instance-url https://<MyDomain>.my.salesforce.com) for login and audience, and create the External Client App in the target org"}
	inactiveUser := Diagnosis{ProblemInactiveUser,
		"the integration user is deactivated",
		"reactivate the user in Setup > Users, or configure another active integration user"}
	rateLimit := Diagnosis{ProblemRateLimit,
		"too many logins for this user: Salesforce allows 3,600 per user per hour",
		"reuse sessions instead of logging in per request (sfbridge caches them); wait up to an hour"}
	return []rule{
		{[]string{"invalid_grant"}, []string{"hasn't approved", "has not approved"}, Diagnosis{ProblemUserNotApproved,
			"the user is not pre-authorized for the app: Permitted Users is not \"Admin approved users are pre-authorized\", or the user's profile or permission set is not assigned to the app (also seen right after a sandbox is created, and when the login URL and audience do not match the org)",
			"in the app, Manage > Edit Policies: set Permitted Users to \"Admin approved users are pre-authorized\"; add the integration user's profile or a permission set to the app (Manage Profiles / Manage Permission Sets) and assign that permission set to the user; in a new sandbox wait a few minutes and retry"}},
		{[]string{"invalid_app_access", "OAUTH_APP_ACCESS_DENIED"}, nil, notAdminApproved},
		{nil, []string{"not admin approved"}, notAdminApproved},
		{[]string{"invalid_grant"}, []string{"invalid assertion"}, Diagnosis{ProblemInvalidAssertion,
			"Salesforce could not verify the assertion's signature: the private key does not match the certificate uploaded to the app, no certificate is uploaded (\"Use digital signatures\" / \"Enable JWT Bearer Flow\"), or the consumer key belongs to another app",
			"upload the certificate made from this key to the app under \"Use digital signatures\" (check with `sfbridge keys check`), and copy the Consumer Key of that same app"}},
		{nil, []string{"audience"}, Diagnosis{ProblemAudience,
			"the audience (aud) is not accepted for this login URL: production vs sandbox mismatch, or a My Domain or External Client App that expects its own URL",
			"use https://test.salesforce.com for a sandbox and https://login.salesforce.com for production, or the org's My Domain URL (https://<MyDomain>.my.salesforce.com) with --instance-url; leave --audience empty to let sfbridge try the usual pairs"}},
		{nil, []string{"expired authorization code"}, Diagnosis{ProblemClock,
			"the assertion had already expired when Salesforce checked it: this machine's clock is wrong",
			"synchronise the clock with NTP; the assertion is valid for 3 minutes from the local time"}},
		{nil, []string{"invalid user", "user does not exist", "invalid username"}, Diagnosis{ProblemInvalidUser,
			"no such user in this org: a typo, a production username used in a sandbox (sandbox usernames end in .<sandbox name>), or the wrong login URL",
			"give the integration user's exact username (with the sandbox suffix in a sandbox) and the login URL of the org it belongs to"}},
		{nil, []string{"ip restricted", "login hours"}, Diagnosis{ProblemIPRestricted,
			"the request came from an IP address outside the user's profile Login IP Ranges, or outside its login hours, and the app enforces IP restrictions",
			"add this machine's egress IP to the profile's Login IP Ranges, or set the app's IP Relaxation to \"Relax IP restrictions\" (Manage > Edit Policies); behind a proxy check HTTPS_PROXY/NO_PROXY"}},
		{nil, []string{"api is not enabled", "api_disabled", "api disabled"}, Diagnosis{ProblemAPIDisabled,
			"the user may not use the API: \"API Enabled\" is off for the user's profile and permission sets, or the org's edition has no API access",
			"turn on the \"API Enabled\" system permission in the integration user's profile or in a permission set assigned to the user"}},
		{nil, []string{"authentication failure"}, Diagnosis{ProblemAuthFailure,
			"Salesforce gave no reason; usually the user is frozen or locked, lacks \"API Enabled\", or a high-assurance session is required",
			"look at the user's Login History in Setup for the real status; make sure the user is active, not frozen, and has \"API Enabled\" in its profile or a permission set"}},
		{nil, []string{"no valid scopes"}, Diagnosis{ProblemNoScopes,
			"the app has no usable OAuth scopes",
			"in the app's OAuth settings select \"Manage user data via APIs (api)\" and \"Perform requests at any time (refresh_token, offline_access)\""}},
		{[]string{"invalid_client_id"}, nil, clientID},
		{nil, []string{"client identifier invalid"}, clientID},
		{[]string{"app_not_found"}, nil, appNotFound},
		{nil, []string{"external client app is not installed"}, appNotFound},
		{[]string{"inactive_user"}, nil, inactiveUser},
		{nil, []string{"user is inactive"}, inactiveUser},
		{[]string{"inactive_org"}, nil, Diagnosis{ProblemInactiveOrg,
			"the org is locked, closed or suspended",
			"contact the org's administrator or Salesforce support"}},
		{[]string{"rate_limit_exceeded"}, nil, rateLimit},
		{nil, []string{"number of logins exceeded"}, rateLimit},
		{[]string{"unsupported_grant_type"}, nil, Diagnosis{ProblemGrantType,
			"the token endpoint did not see the JWT bearer grant: the request was rewritten on the way, or the login URL is not a Salesforce login host",
			"use https://login.salesforce.com, https://test.salesforce.com or the My Domain URL as login URL, never a *.lightning.force.com URL; check proxies that rewrite requests"}},
		{[]string{"invalid_request"}, nil, Diagnosis{ProblemInvalidRequest,
			"Salesforce rejected the request as malformed (for example HTTPS required)",
			"use an https:// login URL and check proxies that rewrite requests"}},
	}
}

// diagnose returns the diagnosis for a token-endpoint answer.
func diagnose(status int, code, desc string, skew time.Duration, skewKnown bool) Diagnosis {
	lc := strings.ToLower(desc)
	switch {
	case status >= 300 && status < 400:
		return Diagnosis{ProblemRedirect,
			"the login URL redirects elsewhere: Salesforce ended legacy hostname redirections, or a proxy or portal intercepts the request",
			"use the org's My Domain URL (https://<MyDomain>.my.salesforce.com) as --instance-url"}
	case status >= 500:
		return Diagnosis{ProblemServer,
			fmt.Sprintf("Salesforce answered %d %s: an incident or an intermittent failure of the login host", status, http.StatusText(status)),
			"retry later; prefer the org's My Domain URL over test.salesforce.com, and check status.salesforce.com"}
	}
	for _, r := range rules() {
		if r.matches(code, lc) {
			d := r.diag
			if d.Problem == ProblemClock && skewKnown && absDuration(skew) >= time.Minute {
				d.Cause = DescribeClockSkew(skew) + ", so the assertion had expired when Salesforce checked it"
			}
			return d
		}
	}
	if code == "" {
		return Diagnosis{ProblemUnexpected,
			"the answer is not Salesforce's JSON error: a proxy, captive portal or a wrong login URL answered",
			"check the login URL and HTTPS_PROXY/NO_PROXY; the raw body is kept in the error"}
	}
	return Diagnosis{ProblemUnknown,
		"Salesforce refused the login for a reason sfbridge does not know",
		"look at the integration user's Login History in Setup for the detailed status"}
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// DescribeClockSkew says how this machine's clock relates to Salesforce's,
// given skew = Salesforce's clock minus ours (as [TokenSource.ClockSkew]
// and [Error.ClockSkew] measure it): "this machine's clock is 2m0s ahead of
// Salesforce's", or "in step with" when it rounds to whole seconds as 0.
func DescribeClockSkew(skew time.Duration) string {
	skew = skew.Round(time.Second)
	rel := "in step with"
	switch {
	case skew > 0:
		rel = skew.String() + " behind"
	case skew < 0:
		rel = (-skew).String() + " ahead of"
	}
	return "this machine's clock is " + rel + " Salesforce's"
}
