// Package iostreams carries the standard streams of a command together with
// what is known about them: whether they are terminals, whether colour is
// wanted, and how wide the terminal is. Commands write results to Out and
// diagnostics to ErrOut, and never look at os.Stdout directly, so tests can
// run them against buffers.
package iostreams

import (
	"bytes"
	"io"
	"os"
	"strconv"

	"golang.org/x/term"
)

// IOStreams is the set of streams one command invocation uses.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdinTTY  bool
	stdoutTTY bool
	stderrTTY bool
	noColor   bool
	width     int
}

// System returns streams bound to the process's stdin, stdout and stderr.
// getenv is consulted for NO_COLOR and COLUMNS; pass os.Getenv in main.
func System(getenv func(string) string) *IOStreams {
	s := &IOStreams{
		In:        os.Stdin,
		Out:       os.Stdout,
		ErrOut:    os.Stderr,
		stdinTTY:  isTerminal(os.Stdin),
		stdoutTTY: isTerminal(os.Stdout),
		stderrTTY: isTerminal(os.Stderr),
		noColor:   getenv("NO_COLOR") != "" || getenv("TERM") == "dumb",
		width:     80,
	}
	if s.stdoutTTY {
		if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil && w > 0 {
			s.width = w
		}
	}
	if c, err := strconv.Atoi(getenv("COLUMNS")); err == nil && c > 0 {
		s.width = c
	}
	return s
}

// Test returns streams backed by buffers, none of them a terminal. The
// returned buffers are stdin, stdout and stderr.
func Test() (*IOStreams, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	in, out, errOut := &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut, width: 80}, in, out, errOut
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// IsStdoutTTY reports whether results go to a terminal (a person) rather
// than to a pipe or a file (a program).
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// IsStdinTTY reports whether input comes from a terminal.
func (s *IOStreams) IsStdinTTY() bool { return s.stdinTTY }

// IsStderrTTY reports whether diagnostics go to a terminal.
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// SetTTY marks the streams as terminals or not; tests use it to exercise
// the human output.
func (s *IOStreams) SetTTY(stdin, stdout, stderr bool) {
	s.stdinTTY, s.stdoutTTY, s.stderrTTY = stdin, stdout, stderr
}

// SetNoColor turns colour off (or back on for a terminal).
func (s *IOStreams) SetNoColor(v bool) { s.noColor = v }

// ColorEnabled reports whether escape sequences may be written to Out: only
// on a terminal and never when NO_COLOR is set.
func (s *IOStreams) ColorEnabled() bool { return s.stdoutTTY && !s.noColor }

// TerminalWidth is the width of the terminal in columns, 80 when unknown.
func (s *IOStreams) TerminalWidth() int { return s.width }

// Colors returns the colour scheme for Out.
func (s *IOStreams) Colors() ColorScheme { return ColorScheme{enabled: s.ColorEnabled()} }

// ColorScheme wraps text in ANSI colours when enabled and returns it
// unchanged otherwise.
type ColorScheme struct{ enabled bool }

func (c ColorScheme) wrap(code, s string) string {
	if !c.enabled {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// Green marks success.
func (c ColorScheme) Green(s string) string { return c.wrap("32", s) }

// Yellow marks a warning.
func (c ColorScheme) Yellow(s string) string { return c.wrap("33", s) }

// Red marks a failure.
func (c ColorScheme) Red(s string) string { return c.wrap("31", s) }

// Bold marks a heading.
func (c ColorScheme) Bold(s string) string { return c.wrap("1", s) }

// Gray marks secondary text.
func (c ColorScheme) Gray(s string) string { return c.wrap("90", s) }
