package eventlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sfbridge/sfbridge/internal/clock"
	"github.com/sfbridge/sfbridge/rest"
)

// DefaultIdleTimeout is how long a download may stay silent before it is
// abandoned and fetched again. A large file may take many minutes to
// download; only silence is a failure.
const DefaultIdleTimeout = 2 * time.Minute

// IdleTimeoutError says a download received no byte for too long.
type IdleTimeoutError struct {
	FileID string
	Idle   time.Duration
}

func (e *IdleTimeoutError) Error() string {
	return fmt.Sprintf("eventlog: file %s: no data for %s; the download is abandoned and tried again", e.FileID, e.Idle)
}

// TruncatedError says a download ended cleanly but short of LogFileLength:
// the blob is still being written, or a proxy cut it.
type TruncatedError struct {
	FileID    string
	Got, Want int64
}

func (e *TruncatedError) Error() string {
	return fmt.Sprintf("eventlog: file %s: the download ended after %d of its %d bytes (LogFileLength); it is fetched again and the rows already delivered are skipped", e.FileID, e.Got, e.Want)
}

// blob is one open download: its body is decompressed as it is read, every
// read resets the idle timer, and the bytes are counted.
type blob struct {
	body   io.ReadCloser
	timer  clock.Timer
	idle   time.Duration
	n      int64
	ctx    context.Context
	cancel context.CancelCauseFunc
}

// openBlob starts the download of f. Silence longer than idle (before the
// headers or between reads) cancels it with an *IdleTimeoutError.
func openBlob(ctx context.Context, c *rest.Client, clk clock.Clock, f FileInfo, idle time.Duration) (*blob, error) {
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	dctx, cancel := context.WithCancelCause(ctx)
	b := &blob{idle: idle, ctx: dctx, cancel: cancel}
	b.timer = clock.Or(clk).AfterFunc(idle, func() { cancel(&IdleTimeoutError{FileID: f.ID, Idle: idle}) })
	resp, err := c.Download(dctx, f.URL) //nolint:bodyclose // the blob owns the body; Close closes it
	if err != nil {
		b.timer.Stop()
		cause := context.Cause(dctx)
		cancel(nil)
		var ie *IdleTimeoutError
		if errors.As(cause, &ie) && ctx.Err() == nil {
			return nil, ie
		}
		return nil, err
	}
	b.body = resp.Body
	b.timer.Reset(idle)
	return b, nil
}

func (b *blob) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if n > 0 {
		b.n += int64(n)
		b.timer.Reset(b.idle)
	}
	return n, err
}

// Close ends the download.
func (b *blob) Close() error {
	b.timer.Stop()
	b.body.Close()
	b.cancel(nil)
	return nil
}

// idle reports the *IdleTimeoutError that ended the download, if the idle
// timer (and not the caller) ended it.
func (b *blob) idleErr() error {
	var ie *IdleTimeoutError
	if errors.As(context.Cause(b.ctx), &ie) {
		return ie
	}
	return nil
}

// DownloadFile writes the file's CSV as Salesforce serves it (ndjson false)
// or as ECS NDJSON (ndjson true) to w, streaming, and returns the bytes of
// CSV read. It is what `sfbridge eventlogs download` does.
func DownloadFile(ctx context.Context, c *rest.Client, f FileInfo, instanceURL string, ndjson bool, w io.Writer) (int64, error) {
	b, err := openBlob(ctx, c, nil, f, DefaultIdleTimeout)
	if err != nil {
		return 0, fmt.Errorf("eventlog: downloading file %s: %w", f.ID, err)
	}
	defer b.Close()
	if ndjson {
		_, err = WriteNDJSON(w, b, f.File(instanceURL), Options{})
	} else {
		_, err = io.Copy(w, b)
	}
	if err != nil {
		return b.n, fmt.Errorf("eventlog: downloading file %s: %w", f.ID, err)
	}
	if f.Length > 0 && b.n < f.Length {
		return b.n, &TruncatedError{FileID: f.ID, Got: b.n, Want: f.Length}
	}
	return b.n, nil
}
