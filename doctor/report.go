// Package doctor checks that a Salesforce connection works and that the
// integration user has the access a vendor's setup guide asks for: the key,
// the login host, the token grant, the identity, the objects a service desk
// reads and writes, Event Monitoring access, and API usage. Each check
// passes, warns or fails with the fix in the words of the setup guides.
package doctor

import (
	"strconv"
	"strings"
)

// Status is the outcome of one check.
type Status string

// The outcomes a check can have.
const (
	Pass Status = "pass"
	Warn Status = "warn"
	Fail Status = "fail"
	Skip Status = "skip" // not run because an earlier check it depends on failed
)

// Result is the outcome of one check.
type Result struct {
	// ID is stable and machine-readable, e.g. "token" or "servicedesk.case".
	ID string `json:"id"`
	// Title says what was checked, for people.
	Title  string `json:"title"`
	Status Status `json:"status"`
	// Detail says what was found.
	Detail string `json:"detail,omitempty"`
	// Fix says what to change, in the words of the setup guides; empty when
	// the check passed.
	Fix string `json:"fix,omitempty"`
	// Required is true when a failure of this check fails the report.
	Required bool `json:"required"`
}

// Report is the outcome of a doctor run.
type Report struct {
	Checks []Result `json:"checks"`
}

// blocks reports whether the check fails its report: a required check
// that failed or was skipped.
func (c Result) blocks() bool { return c.Required && (c.Status == Fail || c.Status == Skip) }

// OK reports whether every required check passed or warned.
func (r *Report) OK() bool {
	for _, c := range r.Checks {
		if c.blocks() {
			return false
		}
	}
	return true
}

// Failed returns the required checks that failed or were skipped.
func (r *Report) Failed() []Result {
	var out []Result
	for _, c := range r.Checks {
		if c.blocks() {
			out = append(out, c)
		}
	}
	return out
}

// Summary is a one-line account of the report, e.g. "12 passed, 1 warned,
// 2 failed".
func (r *Report) Summary() string {
	n := map[Status]int{}
	for _, c := range r.Checks {
		n[c.Status]++
	}
	parts := []string{plural(n[Pass], "passed")}
	if n[Warn] > 0 {
		parts = append(parts, plural(n[Warn], "warned"))
	}
	if n[Fail] > 0 {
		parts = append(parts, plural(n[Fail], "failed"))
	}
	if n[Skip] > 0 {
		parts = append(parts, plural(n[Skip], "skipped"))
	}
	return strings.Join(parts, ", ")
}

func plural(n int, verb string) string { return strconv.Itoa(n) + " " + verb }
