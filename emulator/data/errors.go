package data

import (
	"fmt"
	"net/http"
	"strings"
)

// ErrorItem is one element of Salesforce's JSON error array (what
// rest.ErrorItem decodes on the client side).
type ErrorItem struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields,omitempty"`
}

// Error is a refused data operation: the HTTP status and the error array
// Salesforce would answer with.
type Error struct {
	Status int
	Errors []ErrorItem
}

func (e *Error) Error() string {
	parts := make([]string, len(e.Errors))
	for i, x := range e.Errors {
		parts[i] = x.ErrorCode + ": " + strings.TrimSpace(x.Message)
	}
	return fmt.Sprintf("data: %d %s", e.Status, strings.Join(parts, "; "))
}

func newErr(status int, code, msg string, fields ...string) *Error {
	return &Error{Status: status, Errors: []ErrorItem{{Message: msg, ErrorCode: code, Fields: fields}}}
}

func badRequest(code, msg string, fields ...string) *Error {
	return newErr(http.StatusBadRequest, code, msg, fields...)
}

func notFound() *Error {
	return newErr(http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
}

func insufficientAccess() *Error {
	return badRequest("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id")
}

// withoutNil returns e as an error (called only on non-nil e).
func (e *Error) withoutNil() error { return e }
