package eventlog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Errors a CSV body can fail with. They are wrapped in a *ParseError that says
// where; test with errors.Is.
var (
	// ErrQuote: a quoted field is not closed, or its closing quote is followed
	// by something other than a comma or the end of the line. A body that
	// ends inside a quoted field was cut short: download the file again.
	ErrQuote = errors.New(`extraneous or missing " in quoted field`)
	// ErrBareQuote: an unquoted field contains a quote.
	ErrBareQuote = errors.New(`bare " in unquoted field`)
	// ErrFieldCount: a row has a different number of fields than the header.
	ErrFieldCount = errors.New("wrong number of fields")
	// ErrRecordTooLarge: one row is larger than the scanner's limit.
	ErrRecordTooLarge = errors.New("record larger than the limit")
)

// ParseError says which record of a CSV body could not be read and why.
type ParseError struct {
	Record int64 // 1-based record number, the header being record 1
	Offset int64 // byte offset in the body where the record starts
	Err    error // ErrQuote, ErrBareQuote, ErrFieldCount or ErrRecordTooLarge
}

func (e *ParseError) Error() string {
	hint := "the file is not the CSV Salesforce writes"
	if errors.Is(e.Err, ErrQuote) {
		hint = "a body that ends inside a quoted field was cut short; download the file again"
	}
	return fmt.Sprintf("eventlog: CSV record %d (byte %d): %v: %s", e.Record, e.Offset, e.Err, hint)
}

func (e *ParseError) Unwrap() error { return e.Err }

// DefaultMaxRecord is the largest single CSV record a Scanner accepts unless
// told otherwise. Salesforce rows are at most a few kilobytes; AuraRequest
// rows with a long ACTION_MESSAGE reach tens of kilobytes.
const DefaultMaxRecord = 16 << 20

// Scanner reads the records of a CSV body in the format Salesforce writes
// event log files in: every field double-quoted, quotes inside a field
// doubled, LF or CRLF line ends. Unquoted fields are accepted as well.
//
// It follows encoding/csv's rules (empty lines are skipped, CRLF becomes LF,
// every record has the header's number of fields, a bare quote in an
// unquoted field is an error) and gives the same records for any input
// encoding/csv reads without error; it is several times faster because the
// fields of a record are slices of its read buffer, copied only when a field
// holds a doubled quote or a CRLF. Memory stays at the buffer (64 KiB, grown
// to the largest record) whatever the size of the body.
type Scanner struct {
	r          io.Reader
	buf        []byte
	start, end int
	eof        bool
	err        error
	fields     [][]byte
	scratch    []byte
	spans      []span
	nfields    int
	records    int64
	offset     int64 // bytes of the body before buf[start]
	recOffset  int64
	maxRecord  int
	readFailed error
	crInside   bool // the record being parsed has a CR before its line end
}

// span is a field unescaped into the scratch buffer.
type span struct {
	field      int
	start, end int
}

// NewScanner returns a Scanner reading r. maxRecord bounds the size of one
// record; 0 means DefaultMaxRecord.
func NewScanner(r io.Reader, maxRecord int) *Scanner {
	if maxRecord <= 0 {
		maxRecord = DefaultMaxRecord
	}
	size := 64 << 10
	if size > maxRecord {
		size = maxRecord
	}
	return &Scanner{r: r, buf: make([]byte, size), maxRecord: maxRecord}
}

// Fields returns the fields of the current record. The slices are valid until
// the next call to Scan.
func (s *Scanner) Fields() [][]byte { return s.fields }

// Record returns the 1-based number of the current record.
func (s *Scanner) Record() int64 { return s.records }

// Offset returns the byte offset in the body where the current record starts.
func (s *Scanner) Offset() int64 { return s.recOffset }

// Err returns the error that ended scanning, or nil at a clean end of input.
func (s *Scanner) Err() error { return s.err }

// Scan reads the next record. It returns false at the end of the input or on
// an error; Err tells which.
func (s *Scanner) Scan() bool {
	if s.err != nil {
		return false
	}
	for {
		// After a read error the input is not final: a record cut by the
		// failure must not pass for a complete last record.
		final := s.eof && s.readFailed == nil
		s.crInside = false
		n, status, err := s.parse(s.buf[s.start:s.end], final)
		if status == parsedRecord && hasInnerCR(s.buf[s.start:s.start+n]) {
			// A CR inside the record: parse it again, normalising CRLF in
			// its quoted fields. Rare: only the line end has one in CRLF
			// files.
			s.crInside = true
			n, status, err = s.parse(s.buf[s.start:s.end], final)
		}
		switch status {
		case parsedRecord:
			s.recOffset = s.offset
			s.start += n
			s.offset += int64(n)
			s.records++
			if s.nfields == 0 {
				s.nfields = len(s.fields)
			} else if len(s.fields) != s.nfields {
				s.err = &ParseError{Record: s.records, Offset: s.recOffset, Err: ErrFieldCount}
				return false
			}
			s.materialise()
			return true
		case parsedSkip:
			s.start += n
			s.offset += int64(n)
			continue
		case parsedEOF:
			s.err = s.readFailed
			return false
		case parsedError:
			s.err = &ParseError{Record: s.records + 1, Offset: s.offset, Err: err}
			return false
		}
		// needMore
		if s.readFailed != nil || s.eof {
			// parse never asks for more at EOF; a read error ends here.
			s.err = s.readFailed
			if s.err == nil {
				s.err = io.ErrUnexpectedEOF
			}
			return false
		}
		if err := s.fill(); err != nil {
			s.err = err
			return false
		}
	}
}

// fill moves the unread bytes to the front of the buffer, grows it when one
// record fills it, and reads more.
func (s *Scanner) fill() error {
	if s.start > 0 {
		copy(s.buf, s.buf[s.start:s.end])
		s.end -= s.start
		s.start = 0
	}
	if s.end == len(s.buf) {
		if len(s.buf) >= s.maxRecord {
			return &ParseError{Record: s.records + 1, Offset: s.offset, Err: ErrRecordTooLarge}
		}
		size := 2 * len(s.buf)
		if size > s.maxRecord {
			size = s.maxRecord
		}
		nb := make([]byte, size)
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	for tries := 0; tries < 100; tries++ {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err == io.EOF {
			s.eof = true
			return nil
		}
		if err != nil {
			// Parse what arrived before the failure; report it after.
			s.readFailed = err
			s.eof = true
			return nil
		}
		if n > 0 {
			return nil
		}
	}
	return io.ErrNoProgress
}

type parseStatus int

const (
	needMore parseStatus = iota
	parsedRecord
	parsedSkip
	parsedEOF
	parsedError
)

// parse reads one record from d. final says no more bytes follow d.
func (s *Scanner) parse(d []byte, final bool) (int, parseStatus, error) {
	if len(d) == 0 {
		if final {
			return 0, parsedEOF, nil
		}
		return 0, needMore, nil
	}
	// Empty lines are skipped, as encoding/csv does.
	switch d[0] {
	case '\n':
		return 1, parsedSkip, nil
	case '\r':
		if len(d) == 1 {
			if final {
				return 1, parsedSkip, nil
			}
			return 0, needMore, nil
		}
		if d[1] == '\n' {
			return 2, parsedSkip, nil
		}
	}
	s.fields = s.fields[:0]
	s.spans = s.spans[:0]
	s.scratch = s.scratch[:0]
	i := 0
	for {
		if i == len(d) {
			// After a comma at the very end of the input: one empty field.
			if !final {
				return 0, needMore, nil
			}
			s.fields = append(s.fields, d[i:i:i])
			return i, parsedRecord, nil
		}
		if d[i] == '"' {
			j := i + 1
			escaped := false
			for {
				k := indexQuote(d[j:])
				if k < 0 {
					if final {
						return 0, parsedError, ErrQuote
					}
					return 0, needMore, nil
				}
				j += k
				if j+1 < len(d) && d[j+1] == '"' {
					escaped = true
					j += 2
					continue
				}
				if j+1 == len(d) && !final {
					return 0, needMore, nil
				}
				break
			}
			raw := d[i+1 : j]
			if escaped || (s.crInside && bytes.IndexByte(raw, '\r') >= 0) {
				// Unescaped into scratch, which may still move: the field
				// is set once the record is complete.
				st := len(s.scratch)
				s.scratch = unescapeQuoted(s.scratch, raw)
				s.spans = append(s.spans, span{field: len(s.fields), start: st, end: len(s.scratch)})
				s.fields = append(s.fields, nil)
			} else {
				s.fields = append(s.fields, raw[:len(raw):len(raw)])
			}
			next := j + 1
			if next == len(d) {
				return next, parsedRecord, nil // final
			}
			switch d[next] {
			case ',':
				i = next + 1
				continue
			case '\n':
				return next + 1, parsedRecord, nil
			case '\r':
				if next+1 == len(d) {
					if final {
						return next + 1, parsedRecord, nil
					}
					return 0, needMore, nil
				}
				if d[next+1] == '\n' {
					return next + 2, parsedRecord, nil
				}
			}
			return 0, parsedError, ErrQuote
		}
		// Unquoted field: up to the next comma or the end of the line.
		lineEnd := bytes.IndexByte(d[i:], '\n')
		if lineEnd < 0 {
			if !final {
				return 0, needMore, nil
			}
			lineEnd = len(d)
		} else {
			lineEnd += i
		}
		line := d[i:lineEnd]
		if c := bytes.IndexByte(line, ','); c >= 0 {
			f := line[:c]
			if bytes.IndexByte(f, '"') >= 0 {
				return 0, parsedError, ErrBareQuote
			}
			s.fields = append(s.fields, f[:len(f):len(f)])
			i += c + 1
			continue
		}
		f := line
		if bytes.IndexByte(f, '"') >= 0 {
			return 0, parsedError, ErrBareQuote
		}
		end := lineEnd
		if len(f) > 0 && f[len(f)-1] == '\r' && (lineEnd < len(d) || final) {
			end-- // CRLF, or a CR before the end of the input
		}
		s.fields = append(s.fields, d[i:end:end])
		if lineEnd == len(d) {
			return lineEnd, parsedRecord, nil
		}
		return lineEnd + 1, parsedRecord, nil
	}
}

// materialise points the fields unescaped into scratch at their bytes,
// once scratch has stopped growing.
func (s *Scanner) materialise() {
	for _, sp := range s.spans {
		s.fields[sp.field] = s.scratch[sp.start:sp.end:sp.end]
	}
}

// unescapeQuoted appends raw, the inside of a quoted field, with doubled
// quotes made single and CRLF made LF.
func unescapeQuoted(dst, raw []byte) []byte {
	start := 0
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case '"':
			dst = append(dst, raw[start:i+1]...) // keep one quote of the pair
			i++
			start = i + 1
		case '\r':
			if i+1 < len(raw) && raw[i+1] == '\n' {
				dst = append(dst, raw[start:i]...) // drop the CR, keep the LF
				start = i + 1
			}
		}
	}
	return append(dst, raw[start:]...)
}

// indexQuote is bytes.IndexByte(b, '"'), with a plain loop over the first
// bytes: most Salesforce fields are short, and for them the loop beats the
// vectorised search's set-up.
func indexQuote(b []byte) int {
	n := min(len(b), 24)
	for i := 0; i < n; i++ {
		if b[i] == '"' {
			return i
		}
	}
	if n == len(b) {
		return -1
	}
	if k := bytes.IndexByte(b[n:], '"'); k >= 0 {
		return n + k
	}
	return -1
}

// hasInnerCR reports whether rec, one record with its line end, holds a CR
// other than the one of a final CRLF.
func hasInnerCR(rec []byte) bool {
	if n := len(rec); n >= 2 && rec[n-2] == '\r' && rec[n-1] == '\n' {
		rec = rec[:n-2]
	}
	return bytes.IndexByte(rec, '\r') >= 0
}
