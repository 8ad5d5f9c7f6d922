// Package ssetest reads server-sent-event streams in tests: the bot API's
// tests, the daemon's and the end-to-end test of serve --dev open the same
// streams and read them the same way.
package ssetest

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Event is one event of a stream: its id, its event name, and its data
// decoded as a JSON object.
type Event struct {
	ID, Type string
	Data     map[string]any
}

// Stream is an open stream, read in the background.
type Stream struct {
	events chan Event
	cancel context.CancelFunc
	done   chan struct{}
}

// Open sends req (a GET; set its headers first) with client and fails t
// unless the answer is 200 with a text/event-stream body. lastID, when
// set, goes in Last-Event-ID. The stream closes when the test ends.
func Open(tb testing.TB, client *http.Client, req *http.Request, lastID string) *Stream {
	tb.Helper()
	ctx, cancel := context.WithCancel(req.Context())
	req = req.WithContext(ctx)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := client.Do(req) //nolint:bodyclose // the reader goroutine closes it
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		cancel()
		tb.Fatalf("GET %s: %d %s", req.URL.Path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &Stream{events: make(chan Event, 1000), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer close(s.events)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var cur Event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if cur.Type != "" {
					s.events <- cur
				}
				cur = Event{}
			case strings.HasPrefix(line, "id: "):
				cur.ID = line[4:]
			case strings.HasPrefix(line, "event: "):
				cur.Type = line[7:]
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(line[6:]), &cur.Data)
			}
		}
	}()
	tb.Cleanup(s.Close)
	return s
}

// Close ends the stream and waits for its reader.
func (s *Stream) Close() { s.cancel(); <-s.done }

// Events are the stream's events as they arrive; the channel closes with
// the stream.
func (s *Stream) Events() <-chan Event { return s.events }

// Done is closed when the server has closed the stream (or Close ran).
func (s *Stream) Done() <-chan struct{} { return s.done }

// Next returns the next event that match accepts (nil: any), failing t,
// with what it waited for, when the stream ends or limit passes first; the
// limit only bounds a failing test.
func (s *Stream) Next(tb testing.TB, what string, limit time.Duration, match func(Event) bool) Event {
	tb.Helper()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				tb.Fatalf("the stream ended before %s", what)
			}
			if match == nil || match(ev) {
				return ev
			}
		case <-timer.C:
			tb.Fatalf("no %s within %s", what, limit)
		}
	}
}
