package root

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/auth"
	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/output"
	"github.com/sfbridge/sfbridge/rest"
)

// ErrorJSON is what a command run with --json prints on stdout when it
// fails: the shape of the Salesforce CLI's errors (sf-plugins-core's
// SfCommandError.toJson), so that scripts written for `sf … --json` read
// sfbridge's failures the same way. Status and ExitCode are the process's
// exit code.
type ErrorJSON struct {
	Status      int      `json:"status"`
	Name        string   `json:"name"`
	Message     string   `json:"message"`
	ExitCode    int      `json:"exitCode"`
	Code        string   `json:"code"`
	Context     string   `json:"context"`
	CommandName string   `json:"commandName"`
	Actions     []string `json:"actions,omitempty"`
	// Stack names the Go error types along the wrap chain, outermost
	// first: Go errors carry no stack trace, and this says which layer
	// failed without repeating the message.
	Stack    string `json:"stack"`
	Warnings []any  `json:"warnings"`
}

// errorName names the failure of each exit code, as the sf CLI names its
// errors.
func errorName(code exitcode.Code) string {
	switch code {
	case exitcode.Usage:
		return "UsageError"
	case exitcode.AuthRefused:
		return "AuthRefusedError"
	case exitcode.Unreachable:
		return "UnreachableError"
	case exitcode.CheckFailed:
		return "CheckFailedError"
	}
	return "SfbridgeError"
}

// jsonRequested reports whether c, the command that ran, was given
// --json: parsed, or (when parsing stopped at a bad flag before it) on the
// command line before any "--".
func jsonRequested(c *cobra.Command, args []string) bool {
	if c == nil {
		return false
	}
	f := c.Flags().Lookup("json")
	if f == nil {
		return false
	}
	if f.Value.String() == "true" {
		return true
	}
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "--json" || a == "--json=true" {
			return true
		}
	}
	return false
}

// newErrorJSON describes err, which ends the command c with code.
func newErrorJSON(c *cobra.Command, err error, code exitcode.Code) ErrorJSON {
	name := strings.TrimPrefix(c.CommandPath(), c.Root().Name()+" ")
	msg, actions := splitActions(err.Error())
	return ErrorJSON{
		Status: int(code), Name: errorName(code), Message: msg, ExitCode: int(code), Code: errorCode(err, code),
		Context: name, CommandName: name, Actions: actions, Stack: chain(err), Warnings: []any{},
	}
}

// errorCode is Salesforce's error code when a library error carries one
// (invalid_grant, INVALID_SESSION_ID), else the exit code, as sf uses it.
func errorCode(err error, code exitcode.Code) string {
	var ae *auth.Error
	if errors.As(err, &ae) && ae.Code != "" {
		return ae.Code
	}
	var re *rest.APIError
	if errors.As(err, &re) && re.Code() != "" {
		return re.Code()
	}
	return strconv.Itoa(int(code))
}

// splitActions moves the "hint:" and "fix:" lines of a message into
// actions, as sf lists them apart from the message.
func splitActions(msg string) (string, []string) {
	var keep, actions []string
	for _, line := range strings.Split(msg, "\n") {
		t := strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(t, "hint: "); ok {
			actions = append(actions, rest)
			continue
		}
		if rest, ok := strings.CutPrefix(t, "fix: "); ok {
			actions = append(actions, rest)
			keep = append(keep, line) // the fix is part of auth's message too
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n"), actions
}

// chain lists the error types along err's wrap chain, outermost first.
func chain(err error) string {
	var types []string
	for e := err; e != nil && len(types) < 16; {
		types = append(types, fmt.Sprintf("%T", e))
		switch u := e.(type) { //nolint:errorlint // walks the chain itself
		case interface{ Unwrap() error }:
			e = u.Unwrap()
		case interface{ Unwrap() []error }:
			if errs := u.Unwrap(); len(errs) > 0 {
				e = errs[0]
			} else {
				e = nil
			}
		default:
			e = nil
		}
	}
	return strings.Join(types, " <- ")
}

// writeErrorJSON prints the failure of c as JSON on w.
func writeErrorJSON(w io.Writer, c *cobra.Command, err error, code exitcode.Code) error {
	return output.WriteJSON(w, newErrorJSON(c, err, code))
}
