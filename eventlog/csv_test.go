package eventlog

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// readAllScanner reads every record with a Scanner, through a reader that
// hands out one byte at a time when oneByte is set (every record then spans
// buffer refills).
func readAllScanner(tb testing.TB, in []byte, oneByte bool, maxRecord int) ([][]string, error) {
	tb.Helper()
	var r io.Reader = bytes.NewReader(in)
	if oneByte {
		r = iotest.OneByteReader(r)
	}
	s := NewScanner(r, maxRecord)
	var out [][]string
	for s.Scan() {
		rec := make([]string, len(s.Fields()))
		for i, f := range s.Fields() {
			rec[i] = string(f)
		}
		out = append(out, rec)
	}
	return out, s.Err()
}

func readAllCSV(in []byte) ([][]string, error) {
	return csv.NewReader(bytes.NewReader(in)).ReadAll()
}

func TestScannerAgreesWithEncodingCSV(t *testing.T) {
	cases := []string{
		"\"A\",\"B\"\n\"1\",\"2\"\n",
		"\"A\",\"B\"\r\n\"1\",\"2\"\r\n",
		"A,B\n1,2",
		"\"A\",\"B\"\n\"he said \"\"hi\"\"\",\"\"\n",
		"\"A\"\n\"multi\nline\"\n",
		"\"A\"\n\"crlf\r\ninside\"\n",
		"\"A\",\"B\"\n\n\"1\",\"2\"\n\r\n",
		"\"A\",B\n,\n",
		"a\r,b\r\r\n",
		"\"A\"\n\"x\"\r",
		"\"A\"\n\"\"",
		"",
		"\n\n",
		"\"A\",\"B\"\n\"1\",\n",
		"\"é\",\"日本\"\n\"\xff\",\"\"\n",
	}
	for _, in := range cases {
		want, werr := readAllCSV([]byte(in))
		if werr != nil {
			t.Fatalf("test case %q is not valid for encoding/csv: %v", in, werr)
		}
		for _, oneByte := range []bool{false, true} {
			got, err := readAllScanner(t, []byte(in), oneByte, 0)
			if err != nil {
				t.Errorf("%q (one byte %v): %v", in, oneByte, err)
				continue
			}
			if diff := cmp.Diff(want, got); diff != "" && (len(want) != 0 || len(got) != 0) {
				t.Errorf("%q (one byte %v): records differ from encoding/csv (-csv +scanner):\n%s", in, oneByte, diff)
			}
		}
	}
}

func TestScannerErrors(t *testing.T) {
	cases := []struct {
		in   string
		want error
	}{
		{"\"A\",\"B\"\n\"1\",\"2", ErrQuote},      // cut inside a quoted field
		{"\"A\",\"B\"\n\"1\"x,\"2\"\n", ErrQuote}, // junk after a closing quote
		{"\"A\",\"B\"\n\"1\"\n", ErrFieldCount},   // a row shorter than the header
		{"\"A\",\"B\"\n\"1\",\"2\",\"3\"\n", ErrFieldCount},
		{"A,B\n1,x\"y\n", ErrBareQuote},
		{"\"A\"\n\"" + strings.Repeat("x", 200) + "\"\n", ErrRecordTooLarge},
	}
	for _, c := range cases {
		for _, oneByte := range []bool{false, true} {
			_, err := readAllScanner(t, []byte(c.in), oneByte, 128)
			if !errors.Is(err, c.want) {
				t.Errorf("%q (one byte %v): error %v, want %v", c.in, oneByte, err, c.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Record < 1 {
				t.Errorf("%q: error %v is not a *ParseError with a record number", c.in, err)
			}
		}
	}
}

func TestScannerReportsReadErrorAfterTheRowsBeforeIt(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("\"A\"\n\"1\"\n\"2\"\n\"3"), iotest.ErrReader(boom))
	s := NewScanner(r, 0)
	var got []string
	for s.Scan() {
		got = append(got, string(s.Fields()[0]))
	}
	if diff := cmp.Diff([]string{"A", "1", "2"}, got); diff != "" {
		t.Errorf("records before the failure (-want +got):\n%s", diff)
	}
	if !errors.Is(s.Err(), boom) {
		t.Errorf("Err = %v, want the read error", s.Err())
	}
}

// FuzzScanner checks that the Scanner never panics, and that for every input
// encoding/csv reads without error it gives the same records, whether the
// input arrives at once or byte by byte.
func FuzzScanner(f *testing.F) {
	f.Add([]byte("\"A\",\"B\"\n\"1\",\"2\"\n"))
	f.Add([]byte("\"A\"\n\"x\"\"y\"\r\n"))
	f.Add([]byte("a,b\r\nc,d"))
	f.Add([]byte("\"A\"\n\"multi\r\nline\"\n\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		want, werr := readAllCSV(in)
		got, err := readAllScanner(t, in, false, 0)
		got1, err1 := readAllScanner(t, in, true, 0)
		if (err == nil) != (err1 == nil) {
			t.Fatalf("whole input: err %v; byte by byte: err %v", err, err1)
		}
		if err == nil && !cmp.Equal(got, got1) {
			t.Fatalf("whole input and byte by byte differ:\n%q\n%q", got, got1)
		}
		if werr != nil {
			return
		}
		if err != nil {
			t.Fatalf("encoding/csv reads %q, the Scanner fails: %v", in, err)
		}
		if len(want) == 0 && len(got) == 0 {
			return
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("records of %q differ from encoding/csv (-csv +scanner):\n%s", in, diff)
		}
	})
}
