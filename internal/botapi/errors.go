package botapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/sfbridge/sfbridge/messaging"
	"github.com/sfbridge/sfbridge/rest"
	"github.com/sfbridge/sfbridge/servicedesk"
	"github.com/sfbridge/sfbridge/state"
)

// Error is an API error as the handlers answer it: an HTTP status, a stable
// code, a message, the org's Salesforce error when there is one, and the fix.
type Error struct {
	Status  int
	Code    string
	Message string
	// Salesforce is the first error of the org's answer, when the failure
	// came from Salesforce.
	Salesforce *SalesforceError
	Fix        string
	Err        error
}

// SalesforceError is the org's own error code and message.
type SalesforceError struct {
	ErrorCode string `json:"errorCode"`
	Message   string `json:"message"`
}

func (e *Error) Error() string {
	s := "botapi: " + e.Code + ": " + e.Message
	if e.Fix != "" {
		s += "; fix: " + e.Fix
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Stable error codes.
const (
	CodeBadRequest         = "bad_request"
	CodeUnknownOrg         = "unknown_org"
	CodeNotFound           = "not_found"
	CodeCaseNotFound       = "case_not_found"
	CodeArticleNotFound    = "article_not_found"
	CodeHandoffNotFound    = "handoff_not_found"
	CodeHandoffEnded       = "handoff_ended"
	CodeIdempotencyReused  = "idempotency_key_reused"
	CodeSalesforce         = "salesforce_error"
	CodeSalesforceDown     = "salesforce_unavailable"
	CodeMessaging          = "messaging_error"
	CodeNotConfigured      = "not_configured"
	CodeStateUnavailable   = "state_unavailable"
	CodeMethodNotAllowed   = "method_not_allowed"
	CodeInternal           = "internal_error"
	CodeUnsupportedContent = "unsupported_media_type"
)

func badRequest(msg, fix string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: msg, Fix: fix}
}

// classify turns an error of a library call into an API error.
func classify(err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	var ve *servicedesk.ValidationError
	var nf *servicedesk.NotFoundError
	var ce *servicedesk.ConfigError
	var re *rest.APIError
	var te *rest.TransportError
	var me *messaging.Error
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeSalesforceDown, Message: "the request ended before the org answered", Fix: "retry", Err: err}
	case errors.As(err, &ve):
		return &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: ve.Error(), Fix: "correct " + ve.Field, Err: err}
	case errors.As(err, &nf):
		code := CodeNotFound
		switch nf.What {
		case "Case":
			code = CodeCaseNotFound
		case "knowledge article", "synced knowledge article":
			code = CodeArticleNotFound
		}
		return &Error{Status: http.StatusNotFound, Code: code, Message: nf.Error(), Fix: "check the id or number", Err: err}
	case errors.As(err, &ce):
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeNotConfigured, Message: ce.Error(), Fix: ce.Fix, Err: err}
	case errors.As(err, &re):
		out := &Error{Status: http.StatusBadGateway, Code: CodeSalesforce, Message: re.Error(), Fix: "see the Salesforce error; the org refused the call", Err: err}
		if len(re.Errors) > 0 {
			out.Salesforce = &SalesforceError{ErrorCode: re.Errors[0].Code(), Message: re.Errors[0].Message}
		}
		if re.StatusCode == http.StatusServiceUnavailable || re.StatusCode == http.StatusTooManyRequests {
			out.Status, out.Code, out.Fix = http.StatusServiceUnavailable, CodeSalesforceDown, "retry later; the org is busy or over its API allocation"
		}
		return out
	case errors.As(err, &te):
		return &Error{Status: http.StatusBadGateway, Code: CodeSalesforceDown, Message: te.Error(), Fix: "retry; the org could not be reached", Err: err}
	case errors.As(err, &me):
		out := &Error{Status: http.StatusBadGateway, Code: CodeMessaging, Message: me.Error(), Fix: me.Fix, Err: err}
		var mae *messaging.APIError
		if errors.As(err, &mae) {
			out.Salesforce = &SalesforceError{ErrorCode: http.StatusText(mae.Status), Message: mae.Error()}
		}
		return out
	case errors.Is(err, state.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: err.Error(), Err: err}
	}
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: err.Error(), Fix: "see the daemon's log", Err: err}
}

type errorBody struct {
	Error errorObject `json:"error"`
}

type errorObject struct {
	Code       string           `json:"code"`
	Message    string           `json:"message"`
	Salesforce *SalesforceError `json:"salesforce"`
	Fix        string           `json:"fix"`
}

func writeError(w http.ResponseWriter, err error) {
	e := classify(err)
	writeJSON(w, e.Status, errorBody{Error: errorObject{Code: e.Code, Message: e.Message, Salesforce: e.Salesforce, Fix: e.Fix}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
