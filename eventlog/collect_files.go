package eventlog

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/sfbridge/sfbridge/internal/backoff"
	"github.com/sfbridge/sfbridge/rest"
	"github.com/sfbridge/sfbridge/sink"
)

// typeRun is the progress of one event type's files in a pass: the files
// listed after the cursor, in cursor order, and which of them are done.
type typeRun struct {
	typ   string
	fc    *fileCursor
	order []FileInfo
	next  int
	done  map[string]bool
}

// fileJob is one file to download.
type fileJob struct {
	f    FileInfo
	skip int64 // rows delivered by earlier runs
	tr   *typeRun
}

// fileMsg goes from a download to the committer: a batch of rows, the end
// of the file, or why the file could not be had.
type fileMsg struct {
	job      *fileJob
	events   []sink.Event
	rows     int64  // rows of the file delivered once this batch is
	bytes    int64  // CSV bytes read since the previous message
	final    bool   // the file is complete with this batch
	skipped  bool   // the file is gone (404)
	deferred error  // every attempt failed; the file waits for the next run
	fatal    error  // collection must stop
	buf      []byte // holds the events' documents; reused once they are delivered
	lines    []byte // the events as NDJSON (in buf), for a sink.LineAppender
}

// advanceType moves the type's cursor over the files done at its head.
func advanceType(cp *checkpoint, tr *typeRun) {
	for tr.next < len(tr.order) && tr.done[tr.order[tr.next].ID] {
		f := tr.order[tr.next]
		tr.fc.Cursor = &cursorValue{Time: f.CreatedDate, ID: f.ID}
		tr.fc.Done = slices.DeleteFunc(tr.fc.Done, func(id string) bool { return id == f.ID })
		delete(tr.fc.Partial, f.ID)
		tr.next++
	}
	if len(tr.fc.Partial) == 0 {
		tr.fc.Partial = nil
	}
	cp.Files[tr.typ] = tr.fc
}

func (r *run) collectFiles(ctx context.Context) error {
	cfg := &r.c.cfg
	want, _ := normInterval(cfg.Interval)
	detected := ""
	types := cfg.Types
	if len(types) == 1 && strings.EqualFold(types[0], "all") {
		infos, err := Types(ctx, cfg.Client)
		if err != nil {
			return err
		}
		types = nil
		for _, ti := range infos {
			types = append(types, ti.EventType)
		}
		for t := range r.cp.Files {
			if !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
		slices.Sort(types)
	}
	if r.cp.Files == nil {
		r.cp.Files = map[string]*fileCursor{}
	}
	var jobs []*fileJob
	for _, t := range types {
		fc := r.cp.Files[t]
		if fc == nil {
			fc = &fileCursor{}
		}
		iv := fc.Interval
		switch {
		case iv != "" && want != IntervalAuto && want != iv:
			return &CollectorConfigError{Problem: fmt.Sprintf("%s files were collected %s into this output; collecting them %s too would deliver every event twice: keep --interval %s (or auto), or start over with `sfbridge state reset`", t, iv, want, iv)}
		case iv == "" && want != IntervalAuto:
			iv = want
		case iv == "":
			if detected == "" {
				d, err := DetectInterval(ctx, cfg.Client)
				if err != nil {
					return err
				}
				detected = d
			}
			iv = detected
		}
		q := FileQuery{Types: []string{t}, Interval: iv, Since: cfg.Since}
		if fc.Cursor != nil {
			q.After, q.AfterID = fc.Cursor.Time, fc.Cursor.ID
		}
		files, err := ListFiles(ctx, cfg.Client, q)
		if err != nil {
			return err
		}
		fc.Interval = iv
		tr := &typeRun{typ: t, fc: fc, order: files, done: map[string]bool{}}
		listed := map[string]bool{}
		for _, f := range files {
			listed[f.ID] = true
			if slices.Contains(fc.Done, f.ID) {
				tr.done[f.ID] = true
				continue
			}
			jobs = append(jobs, &fileJob{f: f, skip: fc.Partial[f.ID], tr: tr})
		}
		// Files done earlier that are no longer listed expired since.
		fc.Done = slices.DeleteFunc(fc.Done, func(id string) bool { return !listed[id] })
		advanceType(&r.cp, tr)
	}
	slices.SortStableFunc(jobs, func(a, b *fileJob) int {
		if c := a.f.CreatedDate.Compare(b.f.CreatedDate); c != 0 {
			return c
		}
		return strings.Compare(a.f.ID, b.f.ID)
	})
	r.sum.Pending += len(jobs)
	if err := r.commit(ctx); err != nil {
		return err
	}
	return r.download(ctx, jobs)
}

// download runs the jobs with bounded parallelism and commits their rows in
// the order each file produces them.
func (r *run) download(ctx context.Context, jobs []*fileJob) error {
	cfg := &r.c.cfg
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobCh := make(chan *fileJob)
	msgs := make(chan fileMsg, max(1, cfg.Concurrency/2))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(jobCh)
		for _, j := range jobs {
			select {
			case jobCh <- j:
			case <-wctx.Done():
				return
			}
		}
	}()
	for range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobCh {
				r.fetch(wctx, j, msgs)
			}
		}()
	}
	go func() {
		wg.Wait()
		close(msgs)
	}()

	var firstErr error
	for m := range msgs {
		if firstErr != nil {
			continue // drain: the workers stop at their next send
		}
		group := []fileMsg{m}
	more:
		for len(group) < maxGroup {
			select {
			case m2, ok := <-msgs:
				if !ok {
					break more
				}
				group = append(group, m2)
			default:
				break more
			}
		}
		if err := r.applyGroup(ctx, group); err != nil {
			firstErr = err
			cancel()
		}
	}
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	if firstErr == nil {
		firstErr = r.flush(ctx)
	}
	r.pending, r.pendingBytes = nil, 0 // not flushed: cut by the sink's next Open
	return firstErr
}

// getBuf returns an empty buffer for a batch's documents; putBuf takes it
// back once the sink acknowledged them, so that memory stays at the
// batches in flight instead of growing with the garbage of past ones.
func (r *run) getBuf() []byte {
	if b, ok := r.bufs.Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return make([]byte, 0, r.c.cfg.BatchBytes+64<<10)
}

func (r *run) putBuf(b []byte) {
	if cap(b) > 0 {
		r.bufs.Put(&b)
	}
}

// maxGroup bounds the messages one sink write and one commit take: when
// the output or the store is the bottleneck, batches queue up and are
// committed together, so fewer fsyncs serve more events.
const maxGroup = 4

// applyGroup accounts for messages of the downloads and delivers their
// events: with one sink write and one commit, or, to a sink that can
// append (sink.Appender, the NDJSON file), by appending them and flushing
// and committing once CommitBytes or CommitInterval have gone by.
func (r *run) applyGroup(ctx context.Context, group []fileMsg) error {
	defer func() {
		for _, m := range group {
			r.putBuf(m.buf)
		}
	}()
	if ap, ok := r.c.cfg.Sink.(sink.Appender); ok {
		return r.appendGroup(ctx, ap, group)
	}
	var events []sink.Event
	var advances []func(*checkpoint)
	flush := func() error {
		if len(advances) == 0 {
			return nil
		}
		return r.deliver(ctx, events, func(cp *checkpoint) {
			for _, a := range advances {
				a(cp)
			}
		})
	}
	for _, m := range group {
		adv, err := r.account(ctx, m)
		if err != nil {
			// what came before the failure is still delivered
			return errors.Join(err, flush())
		}
		if adv != nil {
			events = append(events, m.events...)
			advances = append(advances, adv)
		}
	}
	return flush()
}

// appendGroup appends the group's events to the sink and flushes when
// enough is pending. The checkpoint's advances wait for the flush: they
// are committed only with the Ack that makes their events durable.
func (r *run) appendGroup(ctx context.Context, ap sink.Appender, group []fileMsg) error {
	for _, m := range group {
		adv, err := r.account(ctx, m)
		if err != nil {
			// what came before the failure is still delivered
			return errors.Join(err, r.flush(ctx))
		}
		if adv == nil {
			continue
		}
		if len(m.events) > 0 {
			var err error
			if la, ok := ap.(sink.LineAppender); ok && m.lines != nil {
				err = la.AppendLines(ctx, m.events, m.lines)
			} else {
				err = ap.Append(ctx, m.events)
			}
			if err != nil {
				r.pending = nil
				return err
			}
			for _, ev := range m.events {
				r.pendingBytes += len(ev.Doc) + 1
			}
		}
		r.pending = append(r.pending, adv)
	}
	if r.pendingBytes >= r.c.cfg.CommitBytes || r.c.clk.Since(r.lastFlush) >= r.c.cfg.CommitInterval {
		return r.flush(ctx)
	}
	return nil
}

// flush makes the appended events durable and commits the checkpoint
// advances that wait for them. Without an Appender sink it does nothing.
func (r *run) flush(ctx context.Context) error {
	ap, ok := r.c.cfg.Sink.(sink.Appender)
	if !ok || len(r.pending) == 0 {
		return nil
	}
	pending := r.pending
	r.pending, r.pendingBytes, r.lastFlush = nil, 0, r.c.clk.Now()
	ack, err := ap.Flush(ctx)
	if err != nil {
		return err
	}
	r.cp.Sink = ack.Position
	for _, a := range pending {
		a(&r.cp)
	}
	if err := r.commit(ctx); err != nil {
		return err
	}
	if r.c.cfg.Progress != nil {
		r.c.cfg.Progress(r.sum)
	}
	return nil
}

// account counts a message in the summary and returns how it advances the
// checkpoint once its events are acknowledged (nil: it does not), or the
// error that stops collection.
func (r *run) account(ctx context.Context, m fileMsg) (func(*checkpoint), error) {
	f, tr := m.job.f, m.job.tr
	switch {
	case m.fatal != nil:
		return nil, m.fatal
	case m.deferred != nil:
		r.sum.Deferred++
		r.c.log.WarnContext(ctx, "eventlogs: file left for the next run", "file", f.ID, "type", f.EventType, "err", m.deferred)
		return nil, nil
	case m.skipped:
		r.sum.Skipped++
		r.sum.add(f.EventType, func(tc *TypeCount) { tc.Skipped++ })
		r.c.log.WarnContext(ctx, "eventlogs: file gone before it could be downloaded (expired or deleted); skipped", "file", f.ID, "type", f.EventType, "created", f.CreatedDate)
	}
	n := int64(len(m.events))
	complete := m.final && !m.skipped
	r.sum.Events += n
	r.sum.Bytes += m.bytes
	if complete {
		r.sum.Files++
	}
	r.sum.add(f.EventType, func(tc *TypeCount) {
		tc.Events += n
		tc.Bytes += m.bytes
		if complete {
			tc.Files++
		}
	})
	return func(cp *checkpoint) {
		if m.final {
			tr.done[f.ID] = true
			tr.fc.Done = append(tr.fc.Done, f.ID)
			delete(tr.fc.Partial, f.ID)
			advanceType(cp, tr)
			return
		}
		if tr.fc.Partial == nil {
			tr.fc.Partial = map[string]int64{}
		}
		tr.fc.Partial[f.ID] = m.rows
		cp.Files[tr.typ] = tr.fc
	}, nil
}

// fetch downloads one file, again after a failure, skipping the rows
// already handed to the committer.
func (r *run) fetch(ctx context.Context, j *fileJob, out chan<- fileMsg) {
	cfg := &r.c.cfg
	send := func(m fileMsg) bool {
		select {
		case out <- m:
			return true
		case <-ctx.Done():
			return false
		}
	}
	delivered := j.skip
	b := cfg.Retry.Start(r.c.clk)
	for attempt := 1; ; attempt++ {
		rows, err := r.stream(ctx, j, delivered, send)
		delivered = rows
		if err == nil || ctx.Err() != nil {
			return
		}
		var ae *rest.APIError
		switch {
		case errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound:
			send(fileMsg{job: j, final: true, skipped: true})
			return
		case isLimit(err):
			send(fileMsg{job: j, fatal: err})
			return
		case errors.As(err, &ae) && ae.StatusCode < 500:
			send(fileMsg{job: j, fatal: fmt.Errorf("eventlog: downloading file %s: %w", j.f.ID, err)})
			return
		case isConfig(err):
			send(fileMsg{job: j, fatal: err})
			return
		}
		if attempt >= cfg.Attempts {
			send(fileMsg{job: j, deferred: fmt.Errorf("%d attempts failed, the last: %w", attempt, err)})
			return
		}
		d, ok := b.Next(backoff.Verdict{Retry: true, Reason: err.Error()})
		if !ok {
			send(fileMsg{job: j, deferred: err})
			return
		}
		r.c.log.InfoContext(ctx, "eventlogs: download failed; trying again", "file", j.f.ID, "attempt", attempt, "rows_delivered", delivered, "in", d, "err", err)
		if b.Wait(ctx, d) != nil {
			return
		}
	}
}

func isConfig(err error) bool {
	var ce *ConfigError
	return errors.As(err, &ce)
}

// stream downloads the file once and hands its rows after skip to the
// committer in batches. It returns the number of rows handed over (skipped
// ones included) and why it stopped short, or nil when the file is
// complete (its last message is final).
//
// The newest row of a batch is held back until the next row or the end of
// the body shows it whole: a body cut at a field boundary would otherwise
// deliver a short last row.
func (r *run) stream(ctx context.Context, j *fileJob, skip int64, send func(fileMsg) bool) (int64, error) {
	cfg := &r.c.cfg
	b, err := openBlob(ctx, cfg.Client, r.c.clk, j.f, cfg.IdleTimeout)
	if err != nil {
		return skip, err
	}
	defer b.Close()
	rd, err := NewReader(b, j.f.File(cfg.InstanceURL), Options{SkipRows: skip})
	if err != nil {
		return skip, err
	}
	dataset := rd.Dataset().Name
	// The documents of a batch share one buffer and their ids one string
	// (as Reader.ReadBatch does): a batch of thousands of events costs a
	// few allocations, not one per event. Each document is followed by a
	// newline in the buffer, outside its Doc, so that the buffer is the
	// batch as NDJSON, which a sink.LineAppender writes as it is.
	buf := r.getBuf()
	var ids []byte
	var ends []int // where each document ends in buf (its newline)
	cut := func(n int) []sink.Event {
		idStr := string(ids[:n*32])
		events := make([]sink.Event, n)
		start := 0
		for i := range n {
			events[i] = sink.Event{ID: idStr[i*32 : (i+1)*32], Dataset: dataset, Doc: buf[start:ends[i]:ends[i]]}
			start = ends[i] + 1
		}
		return events
	}
	sent, sentBytes := skip, int64(0)
	for rd.Next() {
		ev := rd.Event()
		buf = ev.AppendJSON(buf)
		ends = append(ends, len(buf))
		buf = append(buf, '\n')
		ids = ev.AppendID(ids)
		if len(ends) > cfg.BatchEvents || len(buf) >= cfg.BatchBytes {
			n := len(ends) - 1
			heldStart := 0
			if n > 0 {
				heldStart = ends[n-1] + 1
			}
			next := append(r.getBuf(), buf[heldStart:]...) // before the send: the sent buffer is reused once delivered
			events := cut(n)
			rows := rd.Row() - 1
			if !send(fileMsg{job: j, events: events, rows: rows, bytes: b.n - sentBytes, buf: buf, lines: buf[:heldStart]}) {
				return sent, ctx.Err()
			}
			sent, sentBytes, buf = rows, b.n, next
			ids = append(ids[:0], ids[n*32:]...)
			ends = append(ends[:0], len(buf)-1)
		}
	}
	if err := rd.Err(); err != nil {
		if ie := b.idleErr(); ie != nil {
			return sent, ie
		}
		return sent, err
	}
	if j.f.Length > 0 && b.n < j.f.Length {
		return sent, &TruncatedError{FileID: j.f.ID, Got: b.n, Want: j.f.Length}
	}
	if !send(fileMsg{job: j, events: cut(len(ends)), rows: rd.Row(), bytes: b.n - sentBytes, final: true, buf: buf, lines: buf}) {
		return sent, ctx.Err()
	}
	return rd.Row(), nil
}
