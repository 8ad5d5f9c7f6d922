package ndjson

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sfbridge/sfbridge/sink"
)

func event(i int) sink.Event {
	id := fmt.Sprintf("ev-%06d", i)
	return sink.Event{ID: id, Dataset: "salesforce.login", Doc: []byte(`{"event":{"id":"` + id + `"},"n":` + strconv.Itoa(i) + `}`)}
}

func batch(from, n int) []sink.Event {
	b := make([]sink.Event, n)
	for i := range b {
		b[i] = event(from + i)
	}
	return b
}

// readIDs returns the event ids of every line in every segment, in order,
// failing on a line that is not a whole JSON document.
func readIDs(t *testing.T, s *Sink) []string {
	t.Helper()
	segs, err := s.Segments()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, n := range segs {
		b, err := os.ReadFile(s.SegmentPath(n))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 0 && b[len(b)-1] != '\n' {
			t.Fatalf("segment %d ends with a torn line: %q", n, b[max(0, len(b)-40):])
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			var d struct {
				Event struct{ ID string } `json:"event"`
			}
			if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
				t.Fatalf("segment %d: line %q: %v", n, sc.Bytes(), err)
			}
			ids = append(ids, d.Event.ID)
		}
	}
	return ids
}

func TestOpenCutsTheUncommittedTail(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.ndjson")
	s, err := New(Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	start, err := s.Open(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(start) != `{"segment":0,"offset":0}` {
		t.Errorf("fresh position = %s", start)
	}
	ack, err := s.Write(ctx, batch(0, 3))
	if err != nil || ack.Delivered != 3 {
		t.Fatalf("ack %+v, err %v", ack, err)
	}
	committed := ack.Position
	if _, err := s.Write(ctx, batch(3, 2)); err != nil { // never committed
		t.Fatal(err)
	}
	s.Close()
	// A torn line after that, as a crash mid-write leaves.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"event":{"id":"ev-0000`)
	f.Close()

	s2, _ := New(Options{Path: path})
	pos, err := s2.Open(ctx, committed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pos, committed) {
		t.Errorf("Open returned %s, want the committed %s", pos, committed)
	}
	if _, err := s2.Write(ctx, batch(3, 2)); err != nil { // the replay
		t.Fatal(err)
	}
	s2.Close()
	want := []string{"ev-000000", "ev-000001", "ev-000002", "ev-000003", "ev-000004"}
	if diff := cmp.Diff(want, readIDs(t, s2)); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
}

func TestRotationAndRecoveryAcrossSegments(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.ndjson")
	s, _ := New(Options{Path: path, MaxBytes: 200})
	if _, err := s.Open(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var committed sink.Position
	for i := 0; i < 10; i++ {
		ack, err := s.Write(ctx, batch(i*2, 2))
		if err != nil {
			t.Fatal(err)
		}
		committed = ack.Position
	}
	// Two more batches that rotate and are never committed.
	for i := 10; i < 14; i++ {
		if _, err := s.Write(ctx, batch(i*2, 2)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	segsBefore, _ := s.Segments()
	s2, _ := New(Options{Path: path, MaxBytes: 200})
	if _, err := s2.Open(ctx, committed); err != nil {
		t.Fatal(err)
	}
	segsAfter, _ := s2.Segments()
	if len(segsAfter) >= len(segsBefore) {
		t.Errorf("segments %v before recovery, %v after: the uncommitted ones should be gone", segsBefore, segsAfter)
	}
	if _, err := s2.Write(ctx, batch(20, 8)); err != nil {
		t.Fatal(err)
	}
	s2.Close()
	ids := readIDs(t, s2)
	if len(ids) != 28 {
		t.Fatalf("%d lines, want 28", len(ids))
	}
	for i, id := range ids {
		if id != event(i).ID {
			t.Fatalf("line %d is %s, want %s", i, id, event(i).ID)
		}
	}
	for _, n := range segsAfter {
		if fi, _ := os.Stat(s2.SegmentPath(n)); fi.Size() > 200 && n != segsAfter[len(segsAfter)-1] {
			t.Errorf("segment %d is %d bytes, over MaxBytes", n, fi.Size())
		}
	}
}

func TestOpenRefusesAFileShorterThanCommitted(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.ndjson")
	s, _ := New(Options{Path: path})
	s.Open(ctx, nil)
	ack, _ := s.Write(ctx, batch(0, 5))
	s.Close()
	os.Truncate(path, 10)
	s2, _ := New(Options{Path: path})
	_, err := s2.Open(ctx, ack.Position)
	var se *sink.Error
	if !errors.As(err, &se) || se.Fix == "" {
		t.Fatalf("err = %v, want a *sink.Error with a fix", err)
	}
}

func TestStreamIsAtLeastOnceWithoutPosition(t *testing.T) {
	var out bytes.Buffer
	s, err := New(Options{Stream: &out})
	if err != nil {
		t.Fatal(err)
	}
	pos, err := s.Open(context.Background(), nil)
	if err != nil || pos != nil {
		t.Fatalf("pos %v err %v", pos, err)
	}
	ack, err := s.Write(context.Background(), batch(0, 2))
	if err != nil || ack.Delivered != 2 || ack.Position != nil {
		t.Fatalf("ack %+v err %v", ack, err)
	}
	if got := out.String(); got != string(event(0).Doc)+"\n"+string(event(1).Doc)+"\n" {
		t.Errorf("stream got %q", got)
	}
}

// The crash test. The child process writes events 0..crashTotal-1 in random
// batches; after each acknowledged batch it commits {position, next event}
// to a checkpoint file (write to a temporary file, fsync, rename: the state
// package's transaction stands in for this). The parent kills it with
// SIGKILL at random moments, restarts it, and finally lets it finish.

const (
	crashTotal   = 150000
	crashEnvDir  = "SFBRIDGE_NDJSON_CRASH_DIR"
	crashEnvSeed = "SFBRIDGE_NDJSON_CRASH_SEED"
)

type checkpoint struct {
	Position sink.Position `json:"position"`
	Next     int           `json:"next"`
}

func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnvDir)
	if dir == "" {
		t.Skip("run by TestExactlyOnceAcrossKill9 in a child process")
	}
	seed, _ := strconv.ParseUint(os.Getenv(crashEnvSeed), 10, 64)
	rng := rand.New(rand.NewPCG(seed, 7))
	ctx := context.Background()
	cpPath := filepath.Join(dir, "checkpoint.json")
	var cp checkpoint
	if b, err := os.ReadFile(cpPath); err == nil {
		if err := json.Unmarshal(b, &cp); err != nil {
			t.Fatal(err)
		}
	}
	s, err := New(Options{Path: filepath.Join(dir, "events.ndjson"), MaxBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	pos, err := s.Open(ctx, cp.Position)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Position == nil {
		cp.Position = pos
		commit(t, cpPath, cp)
	}
	for cp.Next < crashTotal {
		n := min(1+rng.IntN(150), crashTotal-cp.Next)
		ack, err := s.Write(ctx, batch(cp.Next, n))
		if err != nil {
			t.Fatal(err)
		}
		cp = checkpoint{Position: ack.Position, Next: cp.Next + n}
		commit(t, cpPath, cp)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func commit(t *testing.T, path string, cp checkpoint) {
	t.Helper()
	b, _ := json.Marshal(cp)
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(b)
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestExactlyOnceAcrossKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	progress := func() int {
		var cp checkpoint
		if b, err := os.ReadFile(filepath.Join(dir, "checkpoint.json")); err == nil {
			json.Unmarshal(b, &cp)
		}
		return cp.Next
	}
	// The kill comes at a random moment within a window that starts after
	// the child has had time to start; a run killed before it wrote
	// anything (a loaded machine starts processes slowly) widens the window.
	base := 30 * time.Millisecond
	kills, killsWhileWriting := 0, 0
	for run := 0; ; run++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnvDir+"="+dir, crashEnvSeed+"="+strconv.Itoa(run))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		before := progress()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		if run >= 20 {
			if err := <-done; err != nil {
				t.Fatalf("final child run failed: %v\n%s", err, out.Bytes())
			}
			break
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("child run %d failed: %v\n%s", run, err, out.Bytes())
			}
		case <-time.After(base + time.Duration(rng.IntN(250))*time.Millisecond):
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			kills++
			if progress() > before {
				killsWhileWriting++
			} else {
				base = min(2*base, 2*time.Second)
			}
			continue
		}
		break // it finished before the kill: nothing is left to write
	}
	s, _ := New(Options{Path: filepath.Join(dir, "events.ndjson"), MaxBytes: 64 << 10})
	ids := readIDs(t, s)
	seen := make(map[string]int, len(ids))
	for _, id := range ids {
		seen[id]++
	}
	for i := 0; i < crashTotal; i++ {
		if c := seen[event(i).ID]; c != 1 {
			t.Errorf("%s appears %d times", event(i).ID, c)
		}
	}
	if len(ids) != crashTotal {
		t.Errorf("%d lines for %d events", len(ids), crashTotal)
	}
	segs, _ := s.Segments()
	t.Logf("%d kill -9s, %d of them while the child was writing; %d lines in %d segments", kills, killsWhileWriting, len(ids), len(segs))
	if killsWhileWriting < 5 {
		t.Errorf("only %d kills came while the child was writing: the test did not test much", killsWhileWriting)
	}
}

// TestAppendIsAcknowledgedByFlushOnly appends batches across a rotation,
// flushes some, appends more, and "crashes" (opens again at the flushed
// position): what the Flush acknowledged is kept, what was appended after
// it is cut, and the Ack counts every event appended since the last Flush.
func TestAppendIsAcknowledgedByFlushOnly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "out.ndjson")
	s, err := New(Options{Path: path, MaxBytes: 400})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		if err := s.Append(ctx, batch(i*3, 3)); err != nil {
			t.Fatal(err)
		}
	}
	ack, err := s.Flush(ctx)
	if err != nil || ack.Delivered != 12 {
		t.Fatalf("flush: %+v, %v; want 12 delivered", ack, err)
	}
	if segs, _ := s.Segments(); len(segs) < 2 {
		t.Fatalf("segments %v: the test wants a rotation among the appends", segs)
	}
	if err := s.Append(ctx, batch(12, 5)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil { // written, never flushed: not acknowledged
		t.Fatal(err)
	}
	if ack2, err := s.Flush(ctx); err == nil {
		t.Fatalf("flush after close: %+v, want an error", ack2)
	}

	s2, err := New(Options{Path: path, MaxBytes: 400})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Open(ctx, ack.Position); err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	var want []string
	for _, ev := range batch(0, 12) {
		want = append(want, ev.ID)
	}
	if diff := cmp.Diff(want, readIDs(t, s2)); diff != "" {
		t.Fatalf("after reopening at the flushed position (-want +got):\n%s", diff)
	}
	ack3, err := s2.Flush(ctx)
	if err != nil || ack3.Delivered != 0 || string(ack3.Position) != string(ack.Position) {
		t.Fatalf("flush with nothing appended: %+v, %v; want 0 delivered at %s", ack3, err, ack.Position)
	}
}

// AppendLines writes the same file as Append, with rotation and
// acknowledgement alike, and refuses lines that are not the batch's.
func TestAppendLinesWritesWhatAppendWrites(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	open := func(name string) *Sink {
		s, err := New(Options{Path: filepath.Join(dir, name), MaxBytes: 400})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Open(ctx, nil); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	plain, laid := open("plain.ndjson"), open("lines.ndjson")
	var _ sink.LineAppender = laid
	for i := 0; i < 5; i++ {
		b := batch(i*3, 3)
		if err := plain.Append(ctx, b); err != nil {
			t.Fatal(err)
		}
		var lines []byte
		for _, ev := range b {
			lines = append(append(lines, ev.Doc...), '\n')
		}
		if err := laid.AppendLines(ctx, b, lines); err != nil {
			t.Fatal(err)
		}
	}
	a1, err1 := plain.Flush(ctx)
	a2, err2 := laid.Flush(ctx)
	if err1 != nil || err2 != nil || a1.Delivered != 15 || a2.Delivered != 15 {
		t.Fatalf("flush: %+v %v / %+v %v; want 15 delivered each", a1, err1, a2, err2)
	}
	if diff := cmp.Diff(readIDs(t, plain), readIDs(t, laid)); diff != "" {
		t.Fatalf("AppendLines wrote other lines than Append (-Append +AppendLines):\n%s", diff)
	}
	if segs, _ := laid.Segments(); len(segs) < 2 {
		t.Fatalf("segments %v: the test wants a rotation among the appends", segs)
	}

	b := batch(100, 2)
	short := append(append([]byte{}, b[0].Doc...), '\n')
	if err := laid.AppendLines(ctx, b, short); err == nil {
		t.Fatal("AppendLines took lines that hold one of two documents")
	}
	noNL := append(append(append([]byte{}, b[0].Doc...), '\n'), b[1].Doc...)
	noNL = append(noNL, ' ')
	if err := laid.AppendLines(ctx, b, noNL); err == nil {
		t.Fatal("AppendLines took lines that do not end with a newline")
	}
	if a, err := laid.Flush(ctx); err != nil || a.Delivered != 0 {
		t.Fatalf("refused batches were counted: %+v, %v", a, err)
	}
}
