// Package exitcode defines the documented process exit codes of sfbridge and
// the error type commands use to choose one.
package exitcode

import (
	"errors"
	"fmt"
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
		{Error, "an error not covered below (bad input file, I/O error, Salesforce API error)"},
		{Usage, "usage error: unknown command, bad flag or argument"},
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

// Classifier lets an error from a library package name its own exit code
// (for example an authentication error maps to AuthRefused).
type Classifier interface{ ExitCode() int }

// Of returns the exit code for err: OK for nil, the code an ExitError or
// Classifier names, and Error otherwise.
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
	var c Classifier
	if errors.As(err, &c) {
		return Code(c.ExitCode())
	}
	return Error
}
