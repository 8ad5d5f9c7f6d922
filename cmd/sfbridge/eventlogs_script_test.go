package main

import (
	"bufio"
	"encoding/json"
	"os"
	"strconv"

	"github.com/rogpeppe/go-internal/testscript"
)

// ndjsonIDs reads the event.id of every line of an NDJSON file.
func ndjsonIDs(ts *testscript.TestScript, path string) []string {
	f, err := os.Open(ts.MkAbs(path))
	ts.Check(err)
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var doc struct {
			Event struct {
				ID string `json:"id"`
			} `json:"event"`
		}
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil || doc.Event.ID == "" {
			ts.Fatalf("%s line %d is not an event with an event.id: %v", path, len(ids)+1, err)
		}
		ids = append(ids, doc.Event.ID)
	}
	ts.Check(sc.Err())
	return ids
}

// sameEvents checks that two NDJSON files hold the same events, each once:
// `sameevents GOT WANT [MIN]`, MIN the least number of events WANT must hold.
func sameEvents(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: sameevents GOT WANT [MIN]")
	}
	got, want := ndjsonIDs(ts, args[0]), ndjsonIDs(ts, args[1])
	if len(args) == 3 {
		n, err := strconv.Atoi(args[2])
		ts.Check(err)
		if len(want) < n {
			ts.Fatalf("%s holds %d events, fewer than %d", args[1], len(want), n)
		}
	}
	count := map[string]int{}
	for _, id := range got {
		count[id]++
		if count[id] == 2 {
			ts.Fatalf("event %s is in %s twice", id, args[0])
		}
	}
	for _, id := range want {
		if count[id] != 1 {
			ts.Fatalf("event %s of %s is in %s %d times", id, args[1], args[0], count[id])
		}
	}
	if len(got) != len(want) {
		ts.Fatalf("%s holds %d events, %s %d", args[0], len(got), args[1], len(want))
	}
}
