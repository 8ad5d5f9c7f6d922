package messaging

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// Frame is one server-sent event.
type Frame struct {
	ID    string
	Event string
	Data  []byte
}

// maxFrameLine bounds one line of the stream; Salesforce's frames are a few
// KB, so a longer line is a broken or hostile stream.
const maxFrameLine = 1 << 20

// maxKeptLine is the longest line buffer a FrameReader keeps between
// frames.
const maxKeptLine = 256

// ErrFrameTooLong is returned for a stream line longer than 1 MiB.
var ErrFrameTooLong = errors.New("messaging: SSE line longer than 1 MiB")

// FrameReader reads server-sent events (the WHATWG event-stream format):
// "field:value" lines with an optional space after the colon, comments
// starting with ':', several data lines joined with '\n', and LF, CRLF or
// CR line ends. A frame ends at a blank line; frames without data and
// without an event name are skipped.
type FrameReader struct {
	r    *bufio.Reader
	line []byte
}

// NewFrameReader reads frames from r.
func NewFrameReader(r io.Reader) *FrameReader {
	return &FrameReader{r: bufio.NewReaderSize(r, 512)}
}

// readLine returns the next line without its end, or io.EOF.
func (fr *FrameReader) readLine() ([]byte, error) {
	fr.line = fr.line[:0]
	for {
		b, err := fr.r.ReadByte()
		if err != nil {
			if len(fr.line) > 0 && errors.Is(err, io.EOF) {
				// An unterminated last line is not a complete frame line.
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		switch b {
		case '\n':
			return fr.line, nil
		case '\r':
			if nb, err := fr.r.Peek(1); err == nil && nb[0] == '\n' {
				_, _ = fr.r.ReadByte()
			}
			return fr.line, nil
		}
		if len(fr.line) >= maxFrameLine {
			return nil, ErrFrameTooLong
		}
		fr.line = append(fr.line, b)
	}
}

// Next returns the next frame. At the end of the stream it returns io.EOF
// (or io.ErrUnexpectedEOF inside a frame).
func (fr *FrameReader) Next() (Frame, error) {
	var f Frame
	var data []byte
	hasData := false
	for {
		line, err := fr.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) && (hasData || f.Event != "" || f.ID != "") {
				return Frame{}, io.ErrUnexpectedEOF
			}
			return Frame{}, err
		}
		if len(line) == 0 {
			if cap(fr.line) > maxKeptLine {
				// A long data line: do not keep its buffer for the
				// stream's life (one stream per end user).
				fr.line = nil
			}
			if hasData || f.Event != "" {
				f.Data = data
				return f, nil
			}
			f = Frame{}
			continue
		}
		if line[0] == ':' {
			continue
		}
		name, value, _ := bytes.Cut(line, []byte{':'})
		value = bytes.TrimPrefix(value, []byte{' '})
		switch string(name) {
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				f.ID = string(value)
			}
		case "event":
			f.Event = string(value)
		case "data":
			if hasData {
				data = append(data, '\n')
			}
			data = append(data, value...)
			hasData = true
		}
	}
}
