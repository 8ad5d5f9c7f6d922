package emulator

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/internal/clock"
)

// A trickle fault sends bytes_per_second bytes per second of its clock: with
// a fake clock the download advances exactly one chunk per simulated second,
// and no test waits on real time.
func TestBlobTrickleWaitsOnTheClock(t *testing.T) {
	o, tok, _ := benchOrg(t)
	fake := clock.NewFake(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	o.elf.clk = fake
	info, err := o.AddEventLogFile(EventLogFileSpec{EventType: "Logout", Rows: 20})
	if err != nil {
		t.Fatal(err)
	}
	const rate = 1000
	if _, err := o.AddBlobFault(BlobFaultSpec{Kind: BlobTrickle, BytesPerSecond: rate}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(o)
	defer srv.Close()

	ctx, cancel := context.WithCancel(t.Context())
	got := make(chan int64, 1)
	go func() {
		defer cancel()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/services/data/v62.0/sobjects/EventLogFile/"+info.ID+"/LogFile", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept-Encoding", "identity")
		resp, err := srv.Client().Do(req)
		if err != nil {
			got <- -1
			return
		}
		defer resp.Body.Close()
		n, _ := io.Copy(io.Discard, resp.Body)
		got <- n
	}()
	seconds := 0
	for fake.BlockUntil(ctx, 1) == nil {
		seconds++
		fake.Advance(time.Second)
	}
	if n := <-got; n != info.Length {
		t.Fatalf("downloaded %d of %d bytes", n, info.Length)
	}
	// One second between chunks; none after the last.
	if want := int((info.Length+rate-1)/rate) - 1; seconds != want {
		t.Fatalf("%d simulated seconds for %d bytes at %d B/s, want %d", seconds, info.Length, rate, want)
	}
}

func TestLogFilePath(t *testing.T) {
	for rest, want := range map[string]string{
		"sobjects/EventLogFile/0ATxx0000000001AAA/LogFile":  "0ATxx0000000001AAA",
		"sobjects/eventlogfile/0ATxx0000000001AAA/LogFile/": "0ATxx0000000001AAA",
		"sobjects/EventLogFile/0ATxx0000000001AAA":          "",
		"sobjects/EventLogFile//LogFile":                    "",
		"sobjects/Case/500xx0000000001AAA/LogFile":          "",
		"sobjects/EventLogFile/x/LogFile/more":              "",
		"query":                                             "",
	} {
		id, ok := logFilePath(rest)
		if id != want || ok != (want != "") {
			t.Errorf("%q: %q %v", rest, id, ok)
		}
	}
	if n := testing.AllocsPerRun(100, func() { logFilePath("sobjects/Case/500xx0000000001AAA") }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
