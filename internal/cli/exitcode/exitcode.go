// Package exitcode defines the documented process exit codes of sfbridge and
// the error type commands use to choose one.
package exitcode

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/rest"
)

// Code is a process exit status.
type Code int

// The documented exit codes. Keep Table in step with these.
const (
	OK          Code = 0 // success
	Error       Code = 1 // any failure not listed below
	Usage       Code = 2 // bad flags or arguments
	AuthRefused Code = 3 // Salesforce refused the authentication
	Unreachable Code = 4 // Salesforce could not be reached
	CheckFailed Code = 5 // a doctor check failed
)

// Entry documents one exit code for `sfbridge help exit-codes`.
type Entry struct {
	Code    Code   `json:"code"`
	Meaning string `json:"meaning"`
}

// Table lists every exit code with its meaning, in order.
func Table() []Entry {
	return []Entry{
		{OK, "success"},
		{Error, "an error not covered below (a bad input file, including a key too weak to sign with; I/O error; Salesforce API error)"},
		{Usage, "usage error: unknown command, bad or missing flag (a required flag, --api-version abc) or argument"},
		{AuthRefused, "Salesforce refused the authentication (the error and its likely cause are printed)"},
		{Unreachable, "Salesforce (or the emulator) could not be reached: DNS, TCP, TLS or timeout"},
		{CheckFailed, "a required `sfbridge doctor` check failed"},
	}
}

// ExitError carries an exit code chosen by a command along with the error
// to report.
type ExitError struct {
	Code Code
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// With wraps err so that the process exits with code.
func With(code Code, err error) error {
	if err == nil {
		return nil
	}
	return &ExitError{Code: code, Err: err}
}

// UsageErrorf returns a usage error (exit 2).
func UsageErrorf(format string, args ...any) error {
	return &ExitError{Code: Usage, Err: fmt.Errorf(format, args...)}
}

// Silent is returned by a command that has already reported its failure on
// stderr and wants only the exit code to be set.
type Silent struct{ Code Code }

func (s *Silent) Error() string { return fmt.Sprintf("exit status %d", s.Code) }

// Of returns the exit code for err: OK for nil, the code an ExitError or
// Silent names, the code of the first library error in err's chain (see
// [Classify]), and Error otherwise.
func Of(err error) Code {
	if err == nil {
		return OK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	var s *Silent
	if errors.As(err, &s) {
		return s.Code
	}
	if code, ok := Classify(err); ok {
		return code
	}
	return Error
}

// Classify finds the first error in err's chain (depth first, as errors.As
// walks it) that the libraries return for a failed call, and maps it to the
// exit code the CLI documents:
//
//   - *auth.Error: AuthRefused when Salesforce refused the login (4xx),
//     Error when it failed to answer with a session (5xx, unreadable body);
//   - *auth.NetworkError, *rest.TransportError: Unreachable;
//   - *rest.APIError: AuthRefused for 401 (the session was refused), Error
//     otherwise.
//
// ok is false when the chain holds none of them. The libraries know nothing
// of exit codes; this is the one place that gives their errors one.
func Classify(err error) (code Code, ok bool) {
	// The switches look at one link at a time on purpose: the chain is walked
	// here so that the first library error decides, which errors.As on each
	// type in turn would not.
	switch e := err.(type) { //nolint:errorlint // walks the chain itself, see above
	case nil:
		return OK, false
	case *auth.Error:
		if e.Refused() {
			return AuthRefused, true
		}
		return Error, true
	case *auth.NetworkError, *rest.TransportError:
		return Unreachable, true
	case *rest.APIError:
		if e.StatusCode == http.StatusUnauthorized {
			return AuthRefused, true
		}
		return Error, true
	}
	switch u := err.(type) { //nolint:errorlint // walks the chain itself, see above
	case interface{ Unwrap() error }:
		return Classify(u.Unwrap())
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if code, ok := Classify(e); ok {
				return code, true
			}
		}
	}
	return OK, false
}
