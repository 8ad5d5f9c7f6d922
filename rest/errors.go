package rest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// ErrorCode is a Salesforce error code such as "INVALID_FIELD". The
// constants below work as errors.Is targets for an [*APIError]:
//
//	if errors.Is(err, rest.ErrInvalidField) { ... }
type ErrorCode string

// Error makes an ErrorCode usable as an errors.Is target.
func (c ErrorCode) Error() string { return "salesforce error " + string(c) }

// Error codes sfbridge acts on.
const (
	ErrInvalidSession       ErrorCode = "INVALID_SESSION_ID"
	ErrRequestLimitExceeded ErrorCode = "REQUEST_LIMIT_EXCEEDED"
	ErrUnableToLockRow      ErrorCode = "UNABLE_TO_LOCK_ROW"
	ErrNotFound             ErrorCode = "NOT_FOUND"
	ErrMalformedQuery       ErrorCode = "MALFORMED_QUERY"
	ErrInvalidField         ErrorCode = "INVALID_FIELD"
	ErrInvalidType          ErrorCode = "INVALID_TYPE"
	ErrInvalidQueryLocator  ErrorCode = "INVALID_QUERY_LOCATOR"
	ErrAPIDisabled          ErrorCode = "API_DISABLED_FOR_ORG"
	ErrAPICurrentlyDisabled ErrorCode = "API_CURRENTLY_DISABLED"
	ErrInsufficientAccess   ErrorCode = "INSUFFICIENT_ACCESS_OR_READONLY"
	ErrEntityIsDeleted      ErrorCode = "ENTITY_IS_DELETED"
	ErrDuplicateValue       ErrorCode = "DUPLICATE_VALUE"
	ErrRequiredFieldMissing ErrorCode = "REQUIRED_FIELD_MISSING"
	ErrMalformedID          ErrorCode = "MALFORMED_ID"
	ErrJSONParser           ErrorCode = "JSON_PARSER_ERROR"
	ErrMethodNotAllowed     ErrorCode = "METHOD_NOT_ALLOWED"
)

// ErrorItem is one entry of Salesforce's error list. Top-level errors carry
// ErrorCode; per-record results of collections and composite carry
// StatusCode instead.
type ErrorItem struct {
	Message    string   `json:"message"`
	ErrorCode  string   `json:"errorCode,omitempty"`
	StatusCode string   `json:"statusCode,omitempty"`
	Fields     []string `json:"fields,omitempty"`
}

// Code is ErrorCode, or StatusCode when ErrorCode is empty.
func (e ErrorItem) Code() string {
	if e.ErrorCode != "" {
		return e.ErrorCode
	}
	return e.StatusCode
}

// APIError is a failed REST call: Salesforce (or something in front of it)
// answered with a status that is not a success.
type APIError struct {
	// StatusCode is the HTTP status, e.g. 400.
	StatusCode int
	// Method and URL identify the call. URL has no credentials: userinfo and
	// query parameters that may carry tokens are removed.
	Method string
	URL    string
	// Errors is Salesforce's error list; empty when the body was not one.
	Errors []ErrorItem
	// Body is the start of a body that was not an error list (for example
	// an HTML page from a proxy), for diagnosis.
	Body string
	// Limit is the Sforce-Limit-Info of the response, when it had one.
	Limit *LimitInfo
	// Repeated is true when this answer came to a retry after an earlier
	// attempt that may have taken effect (its connection broke after the
	// request was sent, or it got a 5xx): the error may describe what that
	// attempt did, e.g. ENTITY_IS_DELETED after a delete that succeeded.
	Repeated bool
	// SessionRenewed is true when the session was refused, a new one was
	// granted ([auth.Transport]) and Salesforce refused the call with that
	// one too: the refusal is not an expiry but a policy.
	SessionRenewed bool
}

// Code returns the first error code, or "" when there is none.
func (e *APIError) Code() string {
	for _, it := range e.Errors {
		if c := it.Code(); c != "" {
			return c
		}
	}
	return ""
}

// HasCode reports whether any entry of the error list has code.
func (e *APIError) HasCode(code string) bool {
	for _, it := range e.Errors {
		if it.Code() == code {
			return true
		}
	}
	return false
}

// Is makes errors.Is(err, ErrNotFound) and the other [ErrorCode] constants
// work. An error without a list matches ErrNotFound on 404 and
// ErrInvalidSession on 401.
func (e *APIError) Is(target error) bool {
	code, ok := target.(ErrorCode)
	if !ok {
		return false
	}
	if e.HasCode(string(code)) {
		return true
	}
	if len(e.Errors) == 0 {
		switch {
		case code == ErrNotFound && e.StatusCode == http.StatusNotFound,
			code == ErrInvalidSession && e.StatusCode == http.StatusUnauthorized:
			return true
		}
	}
	return false
}

// Error reads: rest: GET /services/data/v66.0/query?q=...: 400 Bad Request:
// MALFORMED_QUERY: message (hint).
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rest: %s %s: %d %s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	for i, it := range e.Errors {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.Errors)-3)
			break
		}
		b.WriteString(": ")
		if c := it.Code(); c != "" {
			b.WriteString(c)
			b.WriteString(": ")
		}
		b.WriteString(strings.TrimSpace(it.Message))
		if len(it.Fields) > 0 {
			fmt.Fprintf(&b, " (fields: %s)", strings.Join(it.Fields, ", "))
		}
	}
	if len(e.Errors) == 0 && e.Body != "" {
		fmt.Fprintf(&b, ": %q", e.Body)
	}
	if h := e.hint(); h != "" {
		b.WriteString(" — ")
		b.WriteString(h)
	}
	return b.String()
}

func (e *APIError) hint() string {
	switch ErrorCode(e.Code()) {
	case ErrInvalidSession:
		if e.SessionRenewed {
			return "the session was refused, a new session was granted, and Salesforce refuses it too: " +
				"this is a policy, not an expiry. Usually the app's access was revoked or its OAuth policies changed " +
				"(the app's Manage page: Permitted Users, IP Relaxation), the org or the user's profile restricts login IP ranges " +
				"and this machine is outside them (\"Enforce IP restrictions\"), or the profile or app demands a higher session " +
				"security level (High Assurance) than a JWT bearer session has; the user's Login History shows which"
		}
		return "the session expired or was revoked and a new one could not be obtained; log in again"
	case ErrRequestLimitExceeded:
		return requestLimitHint(e)
	case ErrInvalidType:
		return "the object does not exist or the integration user cannot read it; check the object name and its object permissions"
	case ErrInvalidField:
		return "the field does not exist or is hidden by field-level security; check the name (custom fields end in __c)"
	case ErrMalformedQuery:
		return "fix the SOQL syntax at the position shown"
	case ErrAPIDisabled, ErrAPICurrentlyDisabled:
		return "the user needs the \"API Enabled\" permission and the org an edition with API access"
	case ErrUnableToLockRow:
		if e.Method == http.MethodPost {
			return "another transaction held a record this request needed; a POST that reached Salesforce is not repeated automatically, so send it again once the other transaction is done"
		}
		return "another transaction held the record; retried without success, try again later"
	case ErrInvalidQueryLocator:
		return "the query cursor expired (about 15 minutes idle); run the query again"
	}
	if e.StatusCode == http.StatusGone {
		return "this API version is retired; use a newer one"
	}
	return ""
}

// maxErrorBody caps how much of an error body is read.
const maxErrorBody = 1 << 20

// newAPIError builds the error for a response with a failing status from
// its (capped) body.
func newAPIError(method string, u *url.URL, status int, body []byte, limit *LimitInfo) *APIError {
	e := &APIError{StatusCode: status, Method: method, URL: redactURL(u), Limit: limit}
	var items []ErrorItem
	if err := json.Unmarshal(body, &items); err == nil {
		e.Errors = items
		return e
	}
	var one ErrorItem
	if err := json.Unmarshal(body, &one); err == nil && (one.Message != "" || one.Code() != "") {
		e.Errors = []ErrorItem{one}
		return e
	}
	// OAuth-style {"error":..., "error_description":...} from the identity service.
	var oauth struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(body, &oauth); err == nil && oauth.Error != "" {
		e.Errors = []ErrorItem{{ErrorCode: oauth.Error, Message: oauth.Description}}
		return e
	}
	e.Body = snippet(body, 300)
	return e
}

func snippet(b []byte, n int) string {
	s := strings.TrimSpace(string(b))
	if len(s) <= n {
		return strings.ToValidUTF8(s, "?")
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// isSecretParam reports whether a query parameter can carry credentials.
func isSecretParam(k string) bool {
	switch strings.ToLower(k) {
	case "oauth_token", "access_token", "token", "sid", "session_id", "client_secret", "password", "code", "assertion", "refresh_token":
		return true
	}
	return false
}

// redactURL renders u without userinfo and without credential-carrying
// query parameters.
func redactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		q := c.Query()
		changed := false
		for k := range q {
			if isSecretParam(k) {
				q.Set(k, "REDACTED")
				changed = true
			}
		}
		if changed {
			c.RawQuery = q.Encode()
		}
	}
	return c.String()
}

// requestLimitHint tells the daily allocation ("TotalRequests Limit
// exceeded.") from the short-term limits Salesforce reports with the same
// code, such as too many concurrent long-running requests
// ("ConcurrentRequests (Concurrent API Requests) Limit exceeded").
func requestLimitHint(e *APIError) string {
	for _, it := range e.Errors {
		if it.Code() != string(ErrRequestLimitExceeded) {
			continue
		}
		m := strings.TrimSpace(it.Message)
		switch {
		case strings.HasPrefix(m, "TotalRequests"):
			return "the org's rolling 24-hour API allocation is used up; wait, or ask the admin to raise it"
		case strings.HasPrefix(m, "Concurrent"):
			return "too many API requests are running at once in the org (a short-term limit, not the daily allocation); send fewer in parallel and try again shortly"
		}
	}
	return "an API request limit of the org was reached; the message says which"
}
