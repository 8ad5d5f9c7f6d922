package output

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/sfbridge/sfbridge/internal/iostreams"
)

func TestResolve(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	cases := []struct {
		name  string
		flags Flags
		tty   bool
		want  Format
		err   error
	}{
		{"pipe defaults to tsv", Flags{}, false, TSV, nil},
		{"terminal defaults to table", Flags{}, true, Table, nil},
		{"json wins on a terminal", Flags{JSON: true}, true, JSON, nil},
		{"csv on a pipe", Flags{CSV: true}, false, CSV, nil},
		{"tsv on a terminal", Flags{TSV: true}, true, TSV, nil},
		{"two flags conflict", Flags{JSON: true, CSV: true}, false, Table, ErrConflictingFormats},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ios.SetTTY(false, c.tty, false)
			got, err := c.flags.Resolve(ios)
			if !errors.Is(err, c.err) || got != c.want {
				t.Fatalf("Resolve = %v, %v; want %v, %v", got, err, c.want, c.err)
			}
		})
	}
}

func TestRowWriterFormats(t *testing.T) {
	cases := []struct {
		format Format
		want   string
	}{
		{TSV, "Id\tSubject\n500A\tline one\\nline\\ttwo\n500B\t\n"},
		{CSV, "Id,Subject\n500A,\"line one\nline\ttwo\"\n500B,\n"},
		{Table, "ID    SUBJECT\n500A  line one line two\n500B  \n"},
	}
	for _, c := range cases {
		t.Run(c.format.String(), func(t *testing.T) {
			ios, _, out, _ := iostreams.Test()
			rw, err := NewRowWriter(ios, c.format, "Id", "Subject")
			if err != nil {
				t.Fatal(err)
			}
			if err := rw.Write("500A", "line one\nline\ttwo"); err != nil {
				t.Fatal(err)
			}
			if err := rw.Write("500B", ""); err != nil {
				t.Fatal(err)
			}
			if err := rw.Flush(); err != nil {
				t.Fatal(err)
			}
			if out.String() != c.want {
				t.Fatalf("got %q\nwant %q", out.String(), c.want)
			}
		})
	}
}

func TestRowWriterHeaderOnlyWhenEmpty(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	rw, err := NewRowWriter(ios, CSV, "Id")
	if err != nil {
		t.Fatal(err)
	}
	if err := rw.Flush(); err != nil {
		t.Fatal(err)
	}
	if out.String() != "Id\n" {
		t.Fatalf("got %q", out.String())
	}
	if _, err := NewRowWriter(ios, JSON); err == nil {
		t.Fatal("JSON accepted as a row format")
	}
}

func TestColorOnlyOnTerminalWithoutNoColor(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	if ios.ColorEnabled() {
		t.Fatal("colour on a pipe")
	}
	ios.SetTTY(false, true, false)
	if !ios.ColorEnabled() || ios.Colors().Red("x") == "x" {
		t.Fatal("no colour on a terminal")
	}
	ios.SetNoColor(true)
	if ios.ColorEnabled() || ios.Colors().Red("x") != "x" {
		t.Fatal("colour despite NO_COLOR")
	}
}

// On a colour terminal the bold header's escape sequences must not count as
// width: every column starts at the same offset on every line once the
// escapes are removed.
func TestTableAlignedWithColour(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	ios.SetTTY(false, true, false)
	ios.SetNoColor(false)
	if !ios.ColorEnabled() {
		t.Fatal("colour not enabled on the test terminal")
	}
	rw, err := NewRowWriter(ios, Table, "Id", "CaseNumber", "Subject")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range [][]string{{"500A", "00001001", "Printer jammed"}, {"500BB", "7", "ünïcode"}} {
		if err := rw.Write(r...); err != nil {
			t.Fatal(err)
		}
	}
	if err := rw.Flush(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "\x1b[1m") {
		t.Fatalf("no bold header in %q", out)
	}
	plain := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(out.String(), "")
	want := "ID     CASENUMBER  SUBJECT\n" +
		"500A   00001001    Printer jammed\n" +
		"500BB  7           ünïcode\n"
	if plain != want {
		t.Fatalf("table without escapes =\n%s\nwant\n%s", plain, want)
	}
}
