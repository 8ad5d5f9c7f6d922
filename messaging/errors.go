package messaging

import (
	"errors"
	"fmt"
	"strings"
)

// Error is a failure of the messaging client: what was being done, what
// went wrong, and the Salesforce setup step or action that fixes it.
type Error struct {
	// Op is what the client was doing ("validate config", "mint access
	// token", "send message", ...).
	Op string
	// Step names the setup step at fault, when one is ("Embedded Service
	// Deployment", "User Verification keyset", ...); empty otherwise.
	Step string
	// Problem says what happened.
	Problem string
	// Fix says how to make it work.
	Fix string
	// Err is the underlying error, if any.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("messaging: ")
	b.WriteString(e.Op)
	if e.Step != "" {
		b.WriteString(" (setup: ")
		b.WriteString(e.Step)
		b.WriteString(")")
	}
	b.WriteString(": ")
	b.WriteString(e.Problem)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Fix != "" {
		b.WriteString("; fix: ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Sentinel causes, matched with errors.Is.
var (
	// ErrAnonymousToken: the authenticated token request was answered with
	// an anonymous (unverified) token.
	ErrAnonymousToken = errors.New("the org answered with an anonymous token")
	// ErrNoActiveSession: the conversation has no open messaging session
	// (HTTP 417).
	ErrNoActiveSession = errors.New("no active messaging session")
	// ErrClosed: the session, conversation or handoff was closed.
	ErrClosed = errors.New("closed")
)

// APIError is an error answer of the SCRT host.
type APIError struct {
	Method, Path string
	Status       int
	Message      string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.Path, e.Status, e.Message)
}

// Is lets errors.Is(err, ErrNoActiveSession) match a 417 answer.
func (e *APIError) Is(target error) bool {
	return target == ErrNoActiveSession && e.Status == 417
}
