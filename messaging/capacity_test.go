package messaging_test

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	emsg "github.com/sfbridge/sfbridge/emulator/messaging"
	"github.com/sfbridge/sfbridge/keys"
	"github.com/sfbridge/sfbridge/messaging"
)

// The handoff capacity run is opt-in (scripts/bench-messaging-client runs
// it): the emulator and its agents in this process, N handoffs of one
// sfbridge client in a second process (the same test binary), so each side's
// memory and CPU are measured alone and each process stays under the file
// descriptor limit.
var (
	benchN       = flag.Int("handoff.n", 0, "run TestHandoffCapacity with this many concurrent handoffs (0 skips it)")
	benchRate    = flag.Int("handoff.rate", 500, "agent messages per second in TestHandoffCapacity")
	benchSeconds = flag.Int("handoff.seconds", 60, "how long the agents send in TestHandoffCapacity")
	benchClient  = flag.String("handoff.client", "", "internal: run TestHandoffCapacityClient with this plan file")
	benchBuffer  = flag.Int("handoff.buffer", 0, "the client's Config.EventBuffer in TestHandoffCapacity (0: the default)")
	benchMemProf = flag.String("handoff.memprofile", "", "write the client's heap profile to this file once the handoffs are open and idle")
)

const benchOrg = "00Dxx0000000001EAA"

type benchPlan struct {
	SCRTURL string `json:"scrt_url"`
	KeyFile string `json:"key_file"`
	N       int    `json:"n"`
	Convs   string `json:"convs"`
	MemProf string `json:"mem_profile,omitempty"`
	Buffer  int    `json:"event_buffer,omitempty"`
}

type benchResult struct {
	Opened, Received, Lost, Duplicated, OutOfOrder, Ended int
	OpenSeconds                                           float64
	HeapPerConv, StackPerConv                             float64
	Goroutines                                            int
	CPUSeconds                                            float64
	Millis                                                []float64
	Stats                                                 messaging.Stats
}

func raiseNoFile(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= n {
		return
	}
	lim.Cur = min(n, lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func inUse() (heap, stack uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse, ms.StackInuse
}

func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// TestHandoffCapacity: N handoffs (N end users, N streams) accepted by 100
// agents, then the agents send at a steady rate for a while, each message
// carrying its send time and its number in the conversation; then every
// agent ends its conversations. The client process reports latency, lost,
// duplicated and out-of-order messages, its memory per conversation and its
// CPU.
func TestHandoffCapacity(t *testing.T) {
	n := *benchN
	if n == 0 {
		t.Skip("handoff capacity run not requested (-handoff.n N)")
	}
	raiseNoFile(t, uint64(n+2000))
	dir := t.TempDir()
	key, err := keys.GenerateKey(2048)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := keys.NewSelfSignedCertificate(key, keys.CertificateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	jwk, _ := keys.NewJWK(&key.PublicKey, kid, []*x509.Certificate{cert})
	raw, _ := json.Marshal(jwk)
	pemKey, _ := keys.MarshalPrivateKeyPEM(key, keys.WriteOptions{})
	keyFile := filepath.Join(dir, "bot.key")
	if err := os.WriteFile(keyFile, pemKey, 0o600); err != nil {
		t.Fatal(err)
	}
	const agents = 100
	su := emsg.DefaultSetup()
	su.Agents = nil
	for i := range agents {
		// Scripted only to accept at once (no greeting, no replies), so
		// no work waits in the queue; the test sends their messages.
		su.Agents = append(su.Agents, emsg.AgentSpec{Name: fmt.Sprintf("Agent %03d", i), Queues: []string{"General"}, Presence: "Available", Capacity: n/agents + 1,
			Script: &emsg.ScriptSpec{AcceptDelay: emsg.Duration(time.Millisecond)}})
	}
	su.Keysets = []emsg.KeysetSpec{{Name: "Bot_Keys", Issuer: issuer, Keys: []json.RawMessage{raw}}}
	su.Settings.ReplayBuffer = 256
	srv, err := emsg.New(emsg.Config{OrgID: benchOrg, Setup: su})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	defer srv.Close()
	plan := benchPlan{SCRTURL: hs.URL, KeyFile: keyFile, N: n, Convs: filepath.Join(dir, "convs.json"), MemProf: *benchMemProf, Buffer: *benchBuffer}
	planFile := filepath.Join(dir, "plan.json")
	b, _ := json.Marshal(plan)
	if err := os.WriteFile(planFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Duration(*benchSeconds)*time.Second+15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHandoffCapacityClient$", "-handoff.client="+planFile)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	var res benchResult
	sentc := make(chan driveResult, 1)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "OPENED":
			var convs []string
			b, err := os.ReadFile(plan.Convs)
			if err != nil {
				t.Fatal(err)
			}
			_ = json.Unmarshal(b, &convs)
			owner := make([]string, len(convs))
			for i, c := range convs {
				w, err := srv.Conversation(c)
				if err != nil || w.Agent == "" {
					t.Fatalf("conversation %s not accepted: %+v %v", c, w, err)
				}
				owner[i] = w.Agent
			}
			go func() { sentc <- drive(t, srv, convs, owner, *benchRate, time.Duration(*benchSeconds)*time.Second) }()
		case strings.HasPrefix(line, "RESULT "):
			if err := json.Unmarshal([]byte(line[7:]), &res); err != nil {
				t.Fatal(err)
			}
		default:
			t.Log(line)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("client process: %v", err)
	}
	var dr driveResult
	select {
	case dr = <-sentc:
	default:
		t.Fatal("the agents had not finished")
	}
	t.Logf("agents sent %d messages in %s (%.0f/s), %d failed; emulator CPU %.1f s (%.0f µs per message: SSE, list-entries, sends)",
		dr.sent, dr.took.Round(time.Millisecond), float64(dr.sent)/dr.took.Seconds(), dr.failures, dr.cpu, dr.cpu/float64(max(dr.sent, 1))*1e6)
	slices.Sort(res.Millis)
	t.Logf("handoffs %d (opened in %.1f s), messages received %d, lost %d, duplicated %d, out of order %d, ended %d",
		res.Opened, res.OpenSeconds, res.Received, res.Lost, res.Duplicated, res.OutOfOrder, res.Ended)
	t.Logf("agent message → caller: p50 %.2f ms, p99 %.2f ms, max %.2f ms", pct(res.Millis, 0.5), pct(res.Millis, 0.99), pct(res.Millis, 1))
	t.Logf("client memory per open conversation: %.1f KB (heap %.1f + stacks %.1f), %d goroutines", (res.HeapPerConv+res.StackPerConv)/1024, res.HeapPerConv/1024, res.StackPerConv/1024, res.Goroutines)
	if res.Received > 0 {
		t.Logf("client CPU %.1f s over the message phase: %.0f µs per message; client stats %+v", res.CPUSeconds, res.CPUSeconds/float64(res.Received)*1e6, res.Stats)
	}
	if res.Received != dr.sent || dr.failures != 0 || res.Lost != 0 || res.Duplicated != 0 || res.OutOfOrder != 0 || res.Ended != res.Opened {
		t.Errorf("lost %d, duplicated %d, out of order %d, ended %d of %d", res.Lost, res.Duplicated, res.OutOfOrder, res.Ended, res.Opened)
	}
}

// drive has the agents send round-robin at rate per second for d (in 10 ms
// slots), then end every conversation.
type driveResult struct {
	sent     int
	took     time.Duration
	cpu      float64
	failures int
}

func drive(t *testing.T, srv *emsg.Server, convs, owner []string, rate int, d time.Duration) driveResult {
	t.Helper()
	var r driveResult
	cpu0 := cpuSeconds()
	start := time.Now()
	seq := make([]int, len(convs))
	sent, next := 0, 0
	for time.Since(start) < d {
		due := int(time.Since(start).Seconds() * float64(rate))
		for ; sent < due; sent++ {
			i := next % len(convs)
			next++
			seq[i]++
			if _, err := srv.Send(owner[i], convs[i], "t="+strconv.FormatInt(time.Now().UnixNano(), 10)+" s="+strconv.Itoa(seq[i])); err != nil {
				r.failures++
			}
		}
		time.Sleep(10 * time.Millisecond) // the load generator's pacing, not a test wait
	}
	r.sent, r.took, r.cpu = sent, time.Since(start), cpuSeconds()-cpu0
	for i, c := range convs {
		if err := srv.End(owner[i], c); err != nil {
			r.failures++
		}
	}
	return r
}

// TestHandoffCapacityClient is the client side of TestHandoffCapacity.
func TestHandoffCapacityClient(t *testing.T) {
	if *benchClient == "" {
		t.Skip("only run by TestHandoffCapacity")
	}
	b, err := os.ReadFile(*benchClient)
	if err != nil {
		t.Fatal(err)
	}
	var plan benchPlan
	_ = json.Unmarshal(b, &plan)
	raiseNoFile(t, uint64(plan.N+2000))
	key, err := keys.LoadPrivateKeyFile(plan.KeyFile, keys.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The client's defaults, except a transport of the test's own so that it
	// can be closed at the end (goleak).
	tr := &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 256, DialContext: (&net.Dialer{}).DialContext, ReadBufferSize: 1024, WriteBufferSize: 1024}
	c, err := messaging.New(messaging.Config{SCRTURL: plan.SCRTURL, OrgID: benchOrg, DeploymentName: "sfbridge_api", Key: key, KeyID: kid, Issuer: issuer,
		HTTPClient: &http.Client{Transport: tr}, EventBuffer: plan.Buffer})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.CloseIdleConnections()
	defer c.Close()
	heap0, stack0 := inUse()
	g0 := runtime.NumGoroutine()
	start := time.Now()
	hs := make([]*messaging.Handoff, plan.N)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range hs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			h, err := c.StartHandoff(t.Context(), messaging.HandoffRequest{UserID: fmt.Sprintf("emp-%05d", i), Routing: map[string]string{"Topic": "Load"}})
			if err != nil {
				t.Errorf("handoff %d: %v", i, err)
				return
			}
			hs[i] = h
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	res := benchResult{Opened: plan.N, OpenSeconds: time.Since(start).Seconds()}
	// Wait for every agent to join before measuring the idle cost.
	for _, h := range hs {
		for ev := range h.Events() {
			if ev.Kind == messaging.KindAgentJoined {
				break
			}
		}
	}
	heap1, stack1 := inUse()
	res.HeapPerConv = float64(int64(heap1)-int64(heap0)) / float64(plan.N)
	res.StackPerConv = float64(int64(stack1)-int64(stack0)) / float64(plan.N)
	res.Goroutines = runtime.NumGoroutine() - g0
	if plan.MemProf != "" {
		f, err := os.Create(plan.MemProf)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.WriteHeapProfile(f); err != nil {
			t.Fatal(err)
		}
		_ = f.Close()
	}
	convs := make([]string, plan.N)
	for i, h := range hs {
		convs[i] = h.ID()
	}
	b, _ = json.Marshal(convs)
	if err := os.WriteFile(plan.Convs, b, 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	cpu0 := cpuSeconds()
	fmt.Println("OPENED")
	for _, h := range hs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := 0
			var lat []float64
			var lost, dup, ooo, ended, got int
			for ev := range h.Events() {
				switch ev.Kind {
				case messaging.KindAgentMessage:
					now := time.Now()
					var sent int64
					var s int
					if _, err := fmt.Sscanf(ev.Text, "t=%d s=%d", &sent, &s); err != nil {
						continue
					}
					got++
					lat = append(lat, float64(now.Sub(time.Unix(0, sent)).Microseconds())/1000)
					switch {
					case s == last+1:
					case s <= last:
						dup++
					default:
						lost += s - last - 1
						ooo++
					}
					last = max(last, s)
				case messaging.KindEnded:
					ended++
				}
			}
			mu.Lock()
			res.Millis = append(res.Millis, lat...)
			res.Received += got
			res.Lost += lost
			res.Duplicated += dup
			res.OutOfOrder += ooo
			res.Ended += ended
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.CPUSeconds = cpuSeconds() - cpu0
	res.Stats = c.Stats()
	out, _ := json.Marshal(res)
	fmt.Printf("RESULT %s\n", out)
}
