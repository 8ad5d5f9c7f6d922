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
// events with one sink write and one commit.
func (r *run) applyGroup(ctx context.Context, group []fileMsg) error {
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
	defer func() {
		for _, m := range group {
			r.putBuf(m.buf)
		}
	}()
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
	buf := r.getBuf()
	var batch []sink.Event
	sent, sentBytes := skip, int64(0)
	for rd.Next() {
		ev := rd.Event()
		start := len(buf)
		buf = ev.AppendJSON(buf)
		batch = append(batch, sink.Event{ID: ev.ID(), Dataset: dataset, Doc: buf[start:len(buf):len(buf)]})
		if len(batch) > cfg.BatchEvents || len(buf) >= cfg.BatchBytes {
			held := batch[len(batch)-1]
			next := append(r.getBuf(), held.Doc...) // before the send: the sent buffer is reused once delivered
			rows := rd.Row() - 1
			if !send(fileMsg{job: j, events: batch[:len(batch)-1], rows: rows, bytes: b.n - sentBytes, buf: buf}) {
				return sent, ctx.Err()
			}
			sent, sentBytes, buf = rows, b.n, next
			batch = []sink.Event{{ID: held.ID, Dataset: dataset, Doc: buf[:len(buf):len(buf)]}}
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
	if !send(fileMsg{job: j, events: batch, rows: rd.Row(), bytes: b.n - sentBytes, final: true, buf: buf}) {
		return sent, ctx.Err()
	}
	return rd.Row(), nil
}
