package rest

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/sfbridge/sfbridge/internal/jsonscan"
)

// decodePage reads one query result object from body as a stream, calling
// emit for each record after the first skip. n is the number of records
// decoded completely, skipped ones included.
//
// The page is split into values by a byte scanner that buffers one record
// at a time; each record is then validated and decoded in one pass
// ([recordDecoder] for [Record], encoding/json otherwise). A body that ends
// early fails with io.ErrUnexpectedEOF.
func decodePage[T any](body io.Reader, decode func([]byte) (T, error), skip int, early func(pageMeta), emit func(T) error) (meta pageMeta, n int, err error) {
	ps := &pageScanner{r: bufio.NewReaderSize(body, 32<<10)}
	fail := func(e error) (pageMeta, int, error) {
		if errors.Is(e, errConsumerGone) {
			return meta, n, e
		}
		if errors.Is(e, io.EOF) {
			e = io.ErrUnexpectedEOF
		}
		return meta, n, &bodyError{e}
	}
	if err := ps.expect('{'); err != nil {
		return fail(err)
	}
	sawDone := false
	for first := true; ; first = false {
		c, err := ps.peek()
		if err != nil {
			return fail(err)
		}
		if c == '}' {
			_, _ = ps.r.ReadByte() // the byte peek just returned
			break
		}
		if !first {
			if err := ps.expect(','); err != nil {
				return fail(err)
			}
		}
		key, err := ps.key()
		if err != nil {
			return fail(err)
		}
		switch key {
		case "records":
			if early != nil {
				early(meta)
			}
			err = decodeRecords(ps, decode, skip, &n, emit)
		case "totalSize":
			err = ps.scalar(&meta.TotalSize)
		case "done":
			err = ps.scalar(&meta.Done)
			sawDone = true
		case "nextRecordsUrl":
			var u *string
			if err = ps.scalar(&u); err == nil && u != nil {
				meta.NextRecordsURL = *u
			}
		default:
			var raw []byte
			if raw, err = ps.value(nil); err == nil && !jsonscan.Valid(raw) {
				err = fmt.Errorf("invalid JSON in field %q", key)
			}
		}
		if err != nil {
			return fail(err)
		}
	}
	if !sawDone {
		return fail(errors.New(`the object has no "done" field`))
	}
	return meta, n, nil
}

func decodeRecords[T any](ps *pageScanner, decode func([]byte) (T, error), skip int, n *int, emit func(T) error) error {
	c, err := ps.peek()
	if err != nil {
		return err
	}
	if c == 'n' {
		var null any
		return ps.scalar(&null)
	}
	if err := ps.expect('['); err != nil {
		return err
	}
	var raw []byte
	for first := true; ; first = false {
		c, err := ps.peek()
		if err != nil {
			return err
		}
		if c == ']' {
			_, _ = ps.r.ReadByte() // the byte peek just returned
			return nil
		}
		if !first {
			if err := ps.expect(','); err != nil {
				return err
			}
		}
		if raw, err = ps.value(raw[:0]); err != nil {
			return err
		}
		v, err := decode(raw)
		if err != nil {
			return fmt.Errorf("record %d of the page: %w", *n+1, err)
		}
		*n++
		if *n <= skip {
			continue
		}
		if err := emit(v); err != nil {
			return err
		}
	}
}

// pageScanner splits a JSON stream into values without decoding them.
type pageScanner struct {
	r *bufio.Reader
}

// peek returns the next byte that is not white space, without consuming it.
func (ps *pageScanner) peek() (byte, error) {
	for {
		c, err := ps.r.ReadByte()
		if err != nil {
			return 0, err
		}
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c, ps.r.UnreadByte()
		}
	}
}

func (ps *pageScanner) expect(want byte) error {
	c, err := ps.peek()
	if err != nil {
		return err
	}
	if c != want {
		return fmt.Errorf("want %q, found %q", want, c)
	}
	_, err = ps.r.ReadByte()
	return err
}

// key reads a field name and the colon after it.
func (ps *pageScanner) key() (string, error) {
	raw, err := ps.value(nil)
	if err != nil {
		return "", err
	}
	var k string
	if err := json.Unmarshal(raw, &k); err != nil {
		return "", fmt.Errorf("field name: %w", err)
	}
	return k, ps.expect(':')
}

// scalar reads one value into v with encoding/json.
func (ps *pageScanner) scalar(v any) error {
	raw, err := ps.value(nil)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// value appends the bytes of the next JSON value to dst. It tracks strings
// and nesting only; validation is left to the decoder of the bytes.
func (ps *pageScanner) value(dst []byte) ([]byte, error) {
	c, err := ps.peek()
	if err != nil {
		return dst, err
	}
	switch c {
	case '{', '[', '"':
		// Scan the reader's buffer in place; copy what belongs to the value.
		// Inside a string, jump to the next quote or backslash.
		depth, inString, escaped := 0, false, false
		for {
			if ps.r.Buffered() == 0 {
				if _, err := ps.r.Peek(1); err != nil {
					return dst, err
				}
			}
			buf, _ := ps.r.Peek(ps.r.Buffered())
			i := 0
			for i < len(buf) {
				if escaped {
					escaped = false
					i++
					continue
				}
				if inString {
					j := jsonscan.IndexQuoteOrBackslash(buf[i:])
					if j < 0 {
						break // the string goes on past the buffer
					}
					i += j + 1
					if buf[i-1] == '\\' {
						escaped = true
						continue
					}
					inString = false
				} else {
					b := buf[i]
					i++
					switch b {
					case '"':
						inString = true
						continue
					case '{', '[':
						depth++
						continue
					case '}', ']':
						depth--
					default:
						continue
					}
				}
				if depth == 0 {
					dst = append(dst, buf[:i]...)
					_, err := ps.r.Discard(i)
					return dst, err
				}
			}
			dst = append(dst, buf...)
			if _, err := ps.r.Discard(len(buf)); err != nil {
				return dst, err
			}
		}
	default:
		for {
			b, err := ps.r.ReadByte()
			if err != nil {
				if errors.Is(err, io.EOF) && len(dst) > 0 {
					return dst, io.ErrUnexpectedEOF
				}
				return dst, err
			}
			switch b {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return dst, ps.r.UnreadByte()
			}
			dst = append(dst, b)
		}
	}
}
