package messaging

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The capacity run is opt-in: go test -run TestSSECapacity -sse.streams 10000
// (scripts/bench-messaging runs it and prints the figures for
// docs/performance.md). The streams' client runs in a second process, the
// same test binary, so the server's memory is measured alone and each
// process stays under the file-descriptor limit.
var (
	capStreams  = flag.Int("sse.streams", 0, "open this many SSE streams in TestSSECapacity (0 skips it)")
	capMessages = flag.Int("sse.messages", 20000, "agent messages sent in TestSSECapacity")
	capRate     = flag.Int("sse.rate", 2000, "agent messages per second in TestSSECapacity")
	capClient   = flag.String("sse.client", "", "internal: run TestSSECapacityClient with this plan file")
)

type capacityPlan struct {
	Addr     string   `json:"addr"`
	Org      string   `json:"org"`
	Tokens   []string `json:"tokens"`
	Messages int      `json:"messages"`
}

type capacityResult struct {
	Received int     `json:"received"`
	P50, P99 float64 `json:"-"`
	Millis   []float64
}

func raiseFileLimit(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= n {
		return
	}
	want := lim
	want.Cur = n
	want.Max = max(lim.Max, n) // raising the hard limit needs CAP_SYS_RESOURCE
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		t.Fatalf("raise RLIMIT_NOFILE to %d (hard limit %d): %v; raise the hard limit (ulimit -Hn)", n, lim.Max, err)
	}
}

func memInUse() (heap, stack uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse, ms.StackInuse
}

// TestSSECapacity opens N streams (one end user and one conversation
// each, all accepted by agents), measures the server's memory per idle
// stream, then has the agents answer at a steady rate and measures how
// long an agent message takes to reach its stream.
func TestSSECapacity(t *testing.T) {
	n := *capStreams
	if n == 0 {
		t.Skip("capacity run not requested (-sse.streams N)")
	}
	raiseFileLimit(t, uint64(n+1000))
	const agents = 100
	su := testSetup()
	su.Agents = nil
	for i := range agents {
		su.Agents = append(su.Agents, AgentSpec{Name: fmt.Sprintf("Agent %03d", i), Queues: []string{"General"}, Presence: "Available", Capacity: n/agents + 1})
	}
	srv, err := New(Config{OrgID: testOrg, Setup: su})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	defer srv.Close()
	c := &miawClient{t: t, base: hs.URL, orgID: testOrg, dep: "Bridge_API", hc: hs.Client()}

	start := time.Now()
	plan := capacityPlan{Addr: hs.Listener.Addr().String(), Org: testOrg[:15], Messages: *capMessages}
	convs := make([]string, n)
	for i := range n {
		c.guest()
		plan.Tokens = append(plan.Tokens, c.token)
		convs[i] = newUUID()
		c.create(convs[i], map[string]string{"Topic": "Load"})
		if err := srv.Accept(fmt.Sprintf("Agent %03d", i%agents), convs[i]); err != nil {
			t.Fatal(err)
		}
	}
	hs.Client().CloseIdleConnections()
	setup := time.Since(start)
	planFile := filepath.Join(t.TempDir(), "plan.json")
	b, _ := json.Marshal(plan)
	if err := os.WriteFile(planFile, b, 0o600); err != nil {
		t.Fatal(err)
	}

	heap0, stack0 := memInUse()
	goBefore := runtime.NumGoroutine()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestSSECapacityClient$", "-sse.client="+planFile)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	lines.Buffer(make([]byte, 1<<20), 64<<20)
	next := func(prefix string) string {
		for lines.Scan() {
			if rest, ok := strings.CutPrefix(lines.Text(), prefix); ok {
				return rest
			}
		}
		t.Fatalf("the client process ended before %q: %v", prefix, cmd.Wait())
		return ""
	}
	next("OPENED")
	for srv.Streams() < n {
		time.Sleep(10 * time.Millisecond)
	}
	opened := time.Since(start)
	heap1, stack1 := memInUse()
	perStream := float64(heap1+stack1-heap0-stack0) / float64(n)
	goPer := float64(runtime.NumGoroutine()-goBefore) / float64(n)

	m := *capMessages
	// Every 10 ms the agents send the messages due by then, so the rate
	// holds even when one send takes longer than 1/rate.
	tick := time.NewTicker(10 * time.Millisecond)
	start = time.Now()
	for sent := 0; sent < m; {
		<-tick.C
		due := min(m, int(time.Since(start).Seconds()*float64(*capRate)))
		for ; sent < due; sent++ {
			if _, err := srv.Send(fmt.Sprintf("Agent %03d", sent%n%agents), convs[sent%n], "t="+strconv.FormatInt(time.Now().UnixNano(), 10)); err != nil {
				t.Fatal(err)
			}
		}
	}
	tick.Stop()
	sendTime := time.Since(start)
	var res capacityResult
	if err := json.Unmarshal([]byte(next("RESULT ")), &res); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	lat := res.Millis
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	t.Logf("GOMAXPROCS %d, %d CPUs; streams %d (tokens, conversations and accepts in %v; streams opened in %v)",
		runtime.GOMAXPROCS(0), runtime.NumCPU(), n, setup.Round(time.Millisecond), opened.Round(time.Millisecond))
	t.Logf("server memory per idle stream: %.1f KB (heap %.1f KB + goroutine stacks %.1f KB; %.2f goroutines per stream)",
		perStream/1024, float64(heap1-heap0)/float64(n)/1024, float64(stack1-stack0)/float64(n)/1024, goPer)
	t.Logf("agent messages: %d sent in %v (%.0f/s; asked for %d/s), %d received; agent message → stream p50 %.2f ms, p99 %.2f ms, max %.2f ms",
		m, sendTime.Round(time.Millisecond), float64(m)/sendTime.Seconds(), *capRate, res.Received, pct(0.50), pct(0.99), pct(1))
	if res.Received != m {
		t.Errorf("received %d of %d agent messages", res.Received, m)
	}
	if perStream > 30*1024 {
		t.Errorf("%.1f KB per idle stream, over the 30 KB budget", perStream/1024)
	}
	if p99 := pct(0.99); p99 > 20 {
		t.Errorf("p99 agent message → stream %.2f ms, over the 20 ms budget", p99)
	}
}

// TestSSECapacityClient is the client process of TestSSECapacity: it opens
// one raw HTTP/1.0 SSE connection per token, reports OPENED, and measures
// the latency of every agent message (its text carries the send time).
func TestSSECapacityClient(t *testing.T) {
	if *capClient == "" {
		t.Skip("only run by TestSSECapacity")
	}
	b, err := os.ReadFile(*capClient)
	if err != nil {
		t.Fatal(err)
	}
	var plan capacityPlan
	if err := json.Unmarshal(b, &plan); err != nil {
		t.Fatal(err)
	}
	raiseFileLimit(t, uint64(len(plan.Tokens)+1000))
	conns := make([]net.Conn, 0, len(plan.Tokens))
	readers := make([]*bufio.Reader, 0, len(plan.Tokens))
	for _, tok := range plan.Tokens {
		conn, err := net.Dial("tcp", plan.Addr)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		fmt.Fprintf(conn, "GET /eventrouter/v1/sse HTTP/1.0\r\nHost: %s\r\nAuthorization: Bearer %s\r\nAccept: text/event-stream\r\nX-Org-Id: %s\r\n\r\n", plan.Addr, tok, plan.Org)
		br := bufio.NewReaderSize(conn, 1024)
		status, err := br.ReadString('\n')
		if err != nil || !strings.Contains(status, " 200 ") {
			t.Fatalf("SSE status %q: %v", status, err)
		}
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("SSE headers: %v", err)
			}
			if line == "\r\n" {
				break
			}
		}
		conns = append(conns, conn)
		readers = append(readers, br)
	}
	var mu sync.Mutex
	lat := make([]float64, 0, plan.Messages)
	all := make(chan struct{})
	var wg sync.WaitGroup
	for _, br := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var event string
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				switch {
				case strings.HasPrefix(line, "event:"):
					event = strings.TrimSpace(line[6:])
				case strings.HasPrefix(line, "data:") && event == "CONVERSATION_MESSAGE":
					now := time.Now()
					var env struct {
						ConversationEntry struct {
							EntryPayload string `json:"entryPayload"`
						} `json:"conversationEntry"`
					}
					if json.Unmarshal([]byte(line[5:]), &env) != nil {
						continue
					}
					var p map[string]any
					_ = json.Unmarshal([]byte(env.ConversationEntry.EntryPayload), &p)
					sent, err := strconv.ParseInt(strings.TrimPrefix(messageText(t, p), "t="), 10, 64)
					if err != nil {
						continue
					}
					mu.Lock()
					lat = append(lat, float64(now.Sub(time.Unix(0, sent)).Microseconds())/1000)
					if len(lat) == plan.Messages {
						close(all)
					}
					mu.Unlock()
				}
			}
		}()
	}
	fmt.Println("OPENED")
	select {
	case <-all:
	case <-time.After(5 * time.Minute):
	}
	for _, c := range conns {
		c.Close()
	}
	wg.Wait()
	out, _ := json.Marshal(capacityResult{Received: len(lat), Millis: lat})
	fmt.Printf("RESULT %s\n", out)
}
