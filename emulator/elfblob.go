package emulator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"

	"github.com/sfbridge/sfbridge/emulator/data"
	"github.com/sfbridge/sfbridge/emulator/sfid"
	"github.com/sfbridge/sfbridge/internal/clock"
)

// Blob download fault kinds.
const (
	// BlobReset closes the connection after AfterBytes bytes of the body.
	BlobReset = "reset"
	// BlobUnauthorized expires the caller's session after AfterBytes bytes
	// and drops the connection: the download dies with the session, and
	// the retry gets 401 INVALID_SESSION_ID until the client logs in again.
	BlobUnauthorized = "unauthorized"
	// BlobError answers Status (default 503) before any byte.
	BlobError = "error"
	// BlobTrickle sends BytesPerSecond bytes per second of the emulator's
	// trickle clock.
	BlobTrickle = "trickle"
)

// BlobFaultSpec is a fault on EventLogFile blob downloads
// (POST /_emulator/event-log-files/faults).
type BlobFaultSpec struct {
	ID   string `json:"id,omitempty"`
	Kind string `json:"kind"`
	// FileID limits the fault to one file; empty: any file.
	FileID         string `json:"file_id,omitempty"`
	AfterBytes     int64  `json:"after_bytes,omitempty"`
	Status         int    `json:"status,omitempty"`
	BytesPerSecond int    `json:"bytes_per_second,omitempty"`
	// Times is how many downloads the fault hits (default 1; -1: all).
	Times int `json:"times,omitempty"`
	// Fired counts the downloads it hit (set by the emulator).
	Fired int `json:"fired"`
}

type blobFaults struct {
	next  int
	rules []*BlobFaultSpec
}

func (b *blobFaults) add(s BlobFaultSpec) (BlobFaultSpec, error) {
	switch s.Kind {
	case BlobReset, BlobUnauthorized:
	case BlobError:
		if s.Status == 0 {
			s.Status = http.StatusServiceUnavailable
		}
		if s.Status < 400 || s.Status > 599 {
			return s, fmt.Errorf("blob fault: status %d is not an error status", s.Status)
		}
	case BlobTrickle:
		if s.BytesPerSecond <= 0 {
			return s, errors.New("blob fault: trickle needs bytes_per_second > 0")
		}
	default:
		return s, fmt.Errorf("blob fault: kind %q is not one of reset, unauthorized, error, trickle", s.Kind)
	}
	if s.AfterBytes < 0 {
		return s, errors.New("blob fault: after_bytes must not be negative")
	}
	if s.FileID != "" {
		id, err := sfid.Parse(s.FileID)
		if err != nil {
			return s, fmt.Errorf("blob fault: file_id: %w", err)
		}
		s.FileID = string(id)
	}
	if s.Times == 0 {
		s.Times = 1
	}
	b.next++
	s.ID = "blob-" + strconv.Itoa(b.next)
	s.Fired = 0
	b.rules = append(b.rules, &s)
	return s, nil
}

// take returns the first fault for a download of file id and counts it.
func (b *blobFaults) take(id sfid.ID) (BlobFaultSpec, bool) {
	for _, r := range b.rules {
		if r.FileID != "" && r.FileID != string(id) {
			continue
		}
		if r.Times >= 0 && r.Fired >= r.Times {
			continue
		}
		r.Fired++
		return *r, true
	}
	return BlobFaultSpec{}, false
}

func (b *blobFaults) list() []BlobFaultSpec {
	out := make([]BlobFaultSpec, len(b.rules))
	for i, r := range b.rules {
		out[i] = *r
	}
	return out
}

// logFilePath matches sobjects/EventLogFile/{id}/LogFile (case of the
// object name as clients send it) and returns the id.
func logFilePath(rest string) (string, bool) {
	// Without allocating: every REST call passes through here.
	after, ok := strings.CutPrefix(strings.TrimSuffix(rest, "/"), "sobjects/")
	if !ok {
		return "", false
	}
	obj, after, ok := strings.Cut(after, "/")
	if !ok || !strings.EqualFold(obj, data.ObjEventLogFile) {
		return "", false
	}
	id, field, ok := strings.Cut(after, "/")
	if !ok || id == "" || field != "LogFile" {
		return "", false
	}
	return id, true
}

var errBlobFault = errors.New("emulator: blob fault")

// serveLogFile streams an EventLogFile blob: text/csv, compressed when the
// client asks for gzip or deflate, with Content-Length otherwise.
func (o *Org) serveLogFile(w http.ResponseWriter, r *http.Request, c caller, idText string) {
	if !getOrHead(w, r) {
		return
	}
	o.syncELF()
	if !c.principal().Access(data.ObjEventLogFile).Read {
		writeJSONBytes(w, http.StatusNotFound, bodyNotFound)
		return
	}
	id, err := sfid.Parse(idText)
	o.elf.mu.Lock()
	var f elfFile // a copy: the admin API may change the file meanwhile
	p, ok := o.elf.files[id]
	var fault BlobFaultSpec
	var faulty bool
	if ok && err == nil {
		f = *p
		fault, faulty = o.elf.faults.take(id)
	}
	o.elf.mu.Unlock()
	if err != nil || !ok || !f.inStore {
		writeJSONBytes(w, http.StatusNotFound, bodyNotFound)
		return
	}
	if faulty && fault.Kind == BlobError {
		code := "SERVER_UNAVAILABLE"
		if fault.Status == http.StatusInternalServerError {
			code = "UNKNOWN_EXCEPTION"
		}
		writeRESTError(w, fault.Status, code, "Server is unavailable")
		return
	}
	size := f.length
	if f.truncate > 0 && f.truncate < size && o.Now().Before(f.created.Add(f.youngFor)) {
		size = f.truncate
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv")
	h.Set("Cache-Control", "no-cache,must-revalidate,max-age=0,no-store,private")
	enc := blobEncoding(r)
	if enc != "" {
		h.Set("Content-Encoding", enc)
		h.Add("Vary", "Accept-Encoding")
	} else {
		h.Set("Content-Length", strconv.FormatInt(size, 10))
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.WriteHeader(http.StatusOK)
	var out io.Writer = w
	var flush, partial func() error // finish the stream; send what is compressed so far
	switch enc {
	case "gzip":
		zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
		out, flush, partial = zw, zw.Close, zw.Flush
	case "deflate":
		zw, _ := zlib.NewWriterLevel(w, zlib.BestSpeed)
		out, flush, partial = zw, zw.Close, zw.Flush
	}
	lw := &blobWriter{w: out, limit: size, ctx: r.Context(), clk: o.elf.clk, http: w}
	if faulty {
		lw.fault = &fault
	}
	_, err = o.elf.cat.Write(r.Context(), lw, &f.file)
	if errors.Is(err, errLimit) {
		err = nil
	}
	if err == nil && flush != nil {
		err = flush()
	}
	if errors.Is(err, errBlobFault) {
		if fault.Kind == BlobUnauthorized && c.s != nil {
			c.s.expired.Store(true)
		}
		if partial != nil {
			_ = partial() // the compressed stream stays unfinished, as a cut connection leaves it
		}
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		panic(http.ErrAbortHandler)
	}
}

var errLimit = errors.New("emulator: blob limit reached")

// blobWriter passes the generator's bytes on up to limit (a truncated young
// file), and carries out a reset, unauthorized or trickle fault.
type blobWriter struct {
	w     io.Writer
	http  http.ResponseWriter
	ctx   context.Context
	clk   clock.Clock
	n     int64
	limit int64
	fault *BlobFaultSpec
}

func (b *blobWriter) Write(p []byte) (int, error) {
	total := 0
	if rest := b.limit - b.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	if f := b.fault; f != nil && (f.Kind == BlobReset || f.Kind == BlobUnauthorized) {
		if rest := f.AfterBytes - b.n; int64(len(p)) >= rest {
			k, err := b.w.Write(p[:rest])
			b.n += int64(k)
			if err != nil {
				return k, err
			}
			return k, errBlobFault
		}
	}
	for len(p) > 0 {
		chunk := p
		if f := b.fault; f != nil && f.Kind == BlobTrickle && len(chunk) > f.BytesPerSecond {
			chunk = chunk[:f.BytesPerSecond]
		}
		k, err := b.w.Write(chunk)
		b.n += int64(k)
		total += k
		if err != nil {
			return total, err
		}
		p = p[k:]
		if f := b.fault; f != nil && f.Kind == BlobTrickle && b.n < b.limit {
			if fl, ok := b.w.(interface{ Flush() error }); ok {
				_ = fl.Flush()
			}
			if fl, ok := b.http.(http.Flusher); ok {
				fl.Flush()
			}
			if err := clock.Sleep(b.ctx, b.clk, time.Second); err != nil {
				return total, err
			}
		}
	}
	if b.n >= b.limit {
		return total, errLimit
	}
	return total, nil
}

// blobEncoding picks gzip or deflate from Accept-Encoding, or "".
func blobEncoding(r *http.Request) string {
	var gz, df bool
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.ReplaceAll(q, " ", "") == "q=0" {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "gzip":
			gz = true
		case "deflate":
			df = true
		}
	}
	switch {
	case gz:
		return "gzip"
	case df:
		return "deflate"
	}
	return ""
}
