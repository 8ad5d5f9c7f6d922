package auth

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// maxErrorBody caps the raw body kept in an [Error].
const maxErrorBody = 4 << 10

// Error is a failed token request: Salesforce answered, but not with a
// session. It keeps what Salesforce said and what that most likely means.
type Error struct {
	// StatusCode is the HTTP status of the token response.
	StatusCode int
	// Code and Description are the response's "error" and
	// "error_description" (empty when the body was not the usual JSON).
	Code        string
	Description string
	// Body is the raw response body, cut at 4 KiB.
	Body []byte
	// Username is the user the assertion named (sub).
	Username string
	// Endpoint is the login URL and audience of the failed attempt; Tried
	// lists every pair tried during audience discovery, in order.
	Endpoint Endpoint
	Tried    []Endpoint
	// ClockSkew is Salesforce's clock minus ours, from the response's Date
	// header; ClockSkewKnown says whether it could be measured.
	ClockSkew      time.Duration
	ClockSkewKnown bool
	// Diagnosis is the likely cause and the setup step that fixes it.
	Diagnosis Diagnosis
}

func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.StatusCode >= 400 && e.StatusCode < 500:
		fmt.Fprintf(&b, "auth: Salesforce refused the login of %s", e.Username)
	default:
		fmt.Fprintf(&b, "auth: the login of %s failed", e.Username)
	}
	fmt.Fprintf(&b, " (%s): %d", e.Endpoint, e.StatusCode)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Description != "" {
		b.WriteString(": " + e.Description)
	}
	if len(e.Tried) > 1 {
		fmt.Fprintf(&b, "\n  tried %d login URL/audience pairs:", len(e.Tried))
		for _, t := range e.Tried {
			b.WriteString("\n    " + t.String())
		}
	}
	if e.Diagnosis.Cause != "" {
		b.WriteString("\n  cause: " + e.Diagnosis.Cause)
	}
	if e.Diagnosis.Fix != "" {
		b.WriteString("\n  fix: " + e.Diagnosis.Fix)
	}
	return b.String()
}

// Refused reports whether Salesforce refused the login (a 4xx answer), as
// opposed to failing to give one (5xx, redirect, unreadable body).
func (e *Error) Refused() bool { return e.StatusCode >= 400 && e.StatusCode < 500 }

// AudienceRelated reports whether the failure is about the audience or the
// lookup of the app for this host, the errors on which another login
// URL/audience pair may succeed.
func (e *Error) AudienceRelated() bool {
	d := strings.ToLower(e.Description)
	return e.Code == "app_not_found" ||
		strings.Contains(d, "audience") ||
		strings.Contains(d, "external client app is not installed")
}

// NetworkError is a token request that got no HTTP answer: DNS, TCP, TLS,
// proxy or timeout.
type NetworkError struct {
	URL string
	Err error
}

func (e *NetworkError) Error() string {
	return fmt.Sprintf("auth: cannot reach %s: %v\n  fix: check the login URL (--instance-url), DNS and the network; behind a proxy set HTTPS_PROXY, and NO_PROXY for hosts that bypass it", e.URL, e.Err)
}

func (e *NetworkError) Unwrap() error { return e.Err }

// IsRefused reports whether err is a login that Salesforce refused.
func IsRefused(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Refused()
}
