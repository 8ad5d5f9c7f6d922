// Package ndjson is the sink that writes events as NDJSON, one document per
// line, to a file with size-based rotation, or to a stream such as stdout.
//
// To a file it delivers exactly once across crashes. Its Position is the
// committed end of the output: the segment number and the byte offset in it.
// Every Write is fsynced before it is acknowledged; Append writes without
// syncing and the next Flush fsyncs and acknowledges everything appended
// (sink.Appender). On Open the sink cuts the
// file back to the Position of the last committed checkpoint, removing a torn
// line or lines written after it, so the replay that follows a crash writes
// them once. A stream cannot be cut: to stdout the sink delivers at least
// once.
package ndjson

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sfbridge/sfbridge/sink"
)

// Options configure a Sink.
type Options struct {
	// Path is the file to write. Segment 0 is Path itself; with rotation the
	// next segments are Path.1, Path.2, ... Empty means write to Stream.
	Path string
	// MaxBytes starts a new segment when the current one would grow past it
	// (between batches: a batch is never split). 0 means no rotation.
	MaxBytes int64
	// Stream receives the events when Path is empty (stdout, typically).
	Stream io.Writer
}

// Sink writes NDJSON. Create it with New.
type Sink struct {
	opts   Options
	f      *os.File
	seg    int
	off    int64
	buf    []byte
	broken error
	// pending counts the events appended since the last Flush.
	pending int
}

// New validates opts and returns a Sink; it touches no file until Open.
func New(opts Options) (*Sink, error) {
	if opts.Path == "" && opts.Stream == nil {
		return nil, &sink.Error{Sink: "ndjson", Op: "configure", Err: errors.New("neither a path nor a stream"),
			Fix: "give a file path (ndjson:PATH) or - for stdout"}
	}
	if opts.MaxBytes < 0 {
		return nil, &sink.Error{Sink: "ndjson", Op: "configure", Err: fmt.Errorf("MaxBytes is %d", opts.MaxBytes),
			Fix: "give a positive rotation size, or 0 for none"}
	}
	return &Sink{opts: opts}, nil
}

// position is the Position's content.
type position struct {
	Segment int   `json:"segment"`
	Offset  int64 `json:"offset"`
}

func (s *Sink) position() sink.Position {
	if s.opts.Path == "" {
		return nil
	}
	b, _ := json.Marshal(position{Segment: s.seg, Offset: s.off})
	return b
}

// SegmentPath returns the file of segment n.
func (s *Sink) SegmentPath(n int) string {
	if n == 0 {
		return s.opts.Path
	}
	return s.opts.Path + "." + strconv.Itoa(n)
}

// Segments returns the segment numbers that exist on disk, in order.
func (s *Sink) Segments() ([]int, error) {
	var segs []int
	if _, err := os.Stat(s.opts.Path); err == nil {
		segs = append(segs, 0)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	matches, err := filepath.Glob(globEscape(s.opts.Path) + ".*")
	if err != nil {
		return nil, err
	}
	maxSeg := 0
	present := map[int]bool{}
	for _, m := range matches {
		n, err := strconv.Atoi(strings.TrimPrefix(m, s.opts.Path+"."))
		if err != nil || n <= 0 || s.SegmentPath(n) != m {
			continue
		}
		present[n] = true
		maxSeg = max(maxSeg, n)
	}
	for n := 1; n <= maxSeg; n++ {
		if present[n] {
			segs = append(segs, n)
		}
	}
	return segs, nil
}

func globEscape(p string) string {
	r := strings.NewReplacer(`*`, `\*`, `?`, `\?`, `[`, `\[`, `\`, `\\`)
	return r.Replace(p)
}

// Open prepares the file: with last, it cuts segment last.Segment back to
// last.Offset and removes later segments (written after the last commit);
// without, it appends to the last existing segment. To a stream it does
// nothing.
func (s *Sink) Open(ctx context.Context, last sink.Position) (sink.Position, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.opts.Path == "" {
		return nil, nil
	}
	if s.f != nil {
		return nil, &sink.Error{Sink: "ndjson", Op: "open", Err: errors.New("already open"), Fix: "Close before opening again"}
	}
	segs, err := s.Segments()
	if err != nil {
		return nil, s.fail("open", err, "check the output directory's permissions")
	}
	var p position
	if last != nil {
		if err := json.Unmarshal(last, &p); err != nil || p.Segment < 0 || p.Offset < 0 {
			return nil, &sink.Error{Sink: "ndjson", Op: "open", Err: fmt.Errorf("position %q is not an NDJSON sink position", last),
				Fix: "the checkpoint was written by another kind of output; point the collector at the output it was using, or start a new state"}
		}
	} else if len(segs) > 0 {
		p.Segment = segs[len(segs)-1]
		fi, err := os.Stat(s.SegmentPath(p.Segment))
		if err != nil {
			return nil, s.fail("open", err, "check the output file")
		}
		p.Offset = fi.Size()
	}
	// Segments after the committed one hold only uncommitted lines.
	for _, n := range segs {
		if n > p.Segment {
			if err := os.Remove(s.SegmentPath(n)); err != nil {
				return nil, s.fail("open", err, "remove the segment by hand or fix its permissions")
			}
		}
	}
	f, err := os.OpenFile(s.SegmentPath(p.Segment), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, s.fail("open", err, "check that the directory exists and is writable")
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, s.fail("open", err, "")
	}
	if fi.Size() < p.Offset {
		f.Close()
		return nil, &sink.Error{Sink: "ndjson", Op: "open",
			Err: fmt.Errorf("%s is %d bytes, shorter than the %d committed: events acknowledged before were removed", s.SegmentPath(p.Segment), fi.Size(), p.Offset),
			Fix: "the file was truncated or replaced outside sfbridge; restore it, or start the collection with a new state and output"}
	}
	if fi.Size() > p.Offset {
		if err := f.Truncate(p.Offset); err != nil {
			f.Close()
			return nil, s.fail("open", err, "")
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, s.fail("open", err, "")
		}
	}
	if _, err := f.Seek(p.Offset, io.SeekStart); err != nil {
		f.Close()
		return nil, s.fail("open", err, "")
	}
	if err := syncDir(filepath.Dir(s.opts.Path)); err != nil {
		f.Close()
		return nil, s.fail("open", err, "")
	}
	s.f, s.seg, s.off, s.broken, s.pending = f, p.Segment, p.Offset, nil, 0
	return s.position(), nil
}

// Write appends the batch, one line per event, and fsyncs it. A batch that
// would take the segment past MaxBytes starts the next segment.
func (s *Sink) Write(ctx context.Context, batch []sink.Event) (sink.Ack, error) {
	if err := s.Append(ctx, batch); err != nil {
		return sink.Ack{}, err
	}
	return s.Flush(ctx)
}

// Append writes the batch, one line per event, without fsyncing it: it is
// acknowledged by the next Flush. To a stream it is written at once.
func (s *Sink) Append(ctx context.Context, batch []sink.Event) error {
	return s.appendBatch(ctx, batch, nil)
}

// AppendLines is Append for a batch whose NDJSON lines are already laid
// out in one buffer (sink.LineAppender): they are written as they are, in
// one system call instead of a copy of every line. lines must be the
// batch's documents, each followed by a newline; a buffer of another
// length is refused before anything is written.
func (s *Sink) AppendLines(ctx context.Context, batch []sink.Event, lines []byte) error {
	want := 0
	for _, ev := range batch {
		want += len(ev.Doc) + 1
	}
	if len(lines) != want || (want > 0 && lines[want-1] != '\n') {
		return &sink.Error{Sink: "ndjson", Op: "write", Err: fmt.Errorf("the batch's lines are %d bytes, its %d documents and newlines %d", len(lines), len(batch), want),
			Fix: "this is a bug in the caller: pass each document followed by one newline"}
	}
	return s.appendBatch(ctx, batch, lines)
}

func (s *Sink) appendBatch(ctx context.Context, batch []sink.Event, lines []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.broken != nil {
		return &sink.Error{Sink: "ndjson", Op: "write", Err: s.broken, Fix: "an earlier write failed half-way; Open the sink again at the last committed position"}
	}
	if s.opts.Path != "" && s.f == nil {
		return &sink.Error{Sink: "ndjson", Op: "write", Err: errors.New("not open"), Fix: "call Open first"}
	}
	if len(batch) == 0 {
		return nil
	}
	size := int64(0)
	for _, ev := range batch {
		size += int64(len(ev.Doc)) + 1
	}
	if s.opts.Path != "" && s.opts.MaxBytes > 0 && s.off > 0 && s.off+size > s.opts.MaxBytes {
		if err := s.rotate(); err != nil {
			s.broken = err
			return s.fail("rotate", err, "check free space and permissions in the output directory")
		}
	}
	s.pending += len(batch)
	if lines != nil {
		return s.writeOut(lines)
	}
	// The lines go out in chunks of about writeChunk bytes: few system
	// calls, and a copy buffer that does not grow with the batch.
	s.buf = s.buf[:0]
	for i, ev := range batch {
		s.buf = append(s.buf, ev.Doc...)
		s.buf = append(s.buf, '\n')
		if len(s.buf) >= writeChunk || i == len(batch)-1 {
			if err := s.writeOut(s.buf); err != nil {
				return err
			}
			s.buf = s.buf[:0]
		}
	}
	return nil
}

// writeChunk is the size of one write to the output.
const writeChunk = 256 << 10

func (s *Sink) writeOut(p []byte) error {
	if s.opts.Path == "" {
		if _, err := s.opts.Stream.Write(p); err != nil {
			s.pending = 0
			return s.fail("write", err, "the reader of the output went away")
		}
		return nil
	}
	n, err := s.f.Write(p)
	s.off += int64(n)
	if err != nil {
		s.broken = err
		return s.fail("write", err, "check free space on the output's file system")
	}
	return nil
}

// Flush fsyncs what was appended since the last Flush and acknowledges it.
func (s *Sink) Flush(ctx context.Context) (sink.Ack, error) {
	if err := ctx.Err(); err != nil {
		return sink.Ack{}, err
	}
	if s.broken != nil {
		return sink.Ack{}, &sink.Error{Sink: "ndjson", Op: "write", Err: s.broken, Fix: "an earlier write failed half-way; Open the sink again at the last committed position"}
	}
	n := s.pending
	s.pending = 0
	if s.opts.Path == "" {
		return sink.Ack{Delivered: n}, nil
	}
	if s.f == nil {
		return sink.Ack{}, &sink.Error{Sink: "ndjson", Op: "write", Err: errors.New("not open"), Fix: "call Open first"}
	}
	if n > 0 {
		if err := s.f.Sync(); err != nil {
			s.broken = err
			return sink.Ack{}, s.fail("write", err, "check free space on the output's file system")
		}
	}
	return sink.Ack{Position: s.position(), Delivered: n}, nil
}

func (s *Sink) rotate() error {
	// The segment may hold appended lines not yet flushed: they must be
	// durable before the Flush that acknowledges them, which syncs only
	// the new segment.
	if err := s.f.Sync(); err != nil {
		return err
	}
	if err := s.f.Close(); err != nil {
		return err
	}
	s.f = nil
	next := s.seg + 1
	f, err := os.OpenFile(s.SegmentPath(next), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(s.opts.Path)); err != nil {
		f.Close()
		return err
	}
	s.f, s.seg, s.off = f, next, 0
	return nil
}

// Close fsyncs and closes the file.
func (s *Sink) Close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Sync()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.f = nil
	if err != nil {
		return s.fail("close", err, "")
	}
	return nil
}

func (s *Sink) fail(op string, err error, fix string) error {
	return &sink.Error{Sink: "ndjson", Op: op, Err: err, Fix: fix}
}

// syncDir fsyncs a directory so that a file created or removed in it
// survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}

var _ sink.Appender = (*Sink)(nil)
