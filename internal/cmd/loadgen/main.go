// Command loadgen measures the emulator on loopback: authenticated REST
// requests per second (GET /services/data/v62.0/limits) and JWT bearer
// token grants per second. It starts an emulated org in-process on
// 127.0.0.1, or drives one started with `sfbridge emulator --info-file`,
// and only ever talks to loopback addresses. Runs are bounded by -duration
// (at most one minute).
//
//	go run ./internal/cmd/loadgen -mode rest -duration 5s -conns 32
//	go run ./internal/cmd/loadgen -mode token -duration 5s
//	go run ./internal/cmd/loadgen -info emulator.json -mode both
package main

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/internal/assertion"
	"github.com/sfbridge/sfbridge/internal/loopback"
	"github.com/sfbridge/sfbridge/keys"
)

type target struct {
	pid                        int // server process, when it is another one
	base, clientID, adminToken string
	key                        *rsa.PrivateKey
	username                   string
}

func main() {
	mode := flag.String("mode", "both", "what to measure: rest, token or both")
	duration := flag.Duration("duration", 5*time.Second, "how long each measurement runs (at most 1m)")
	conns := flag.Int("conns", 2*runtime.GOMAXPROCS(0)*8, "concurrent connections")
	info := flag.String("info", "", "info file of a running `sfbridge emulator` (default: start an org in-process)")
	flag.Parse()
	if err := run(context.Background(), *mode, *duration, *conns, *info); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, mode string, d time.Duration, conns int, infoFile string) error {
	if d <= 0 || d > time.Minute {
		return errors.New("-duration must be within (0, 1m]")
	}
	if conns <= 0 || conns > 1024 {
		return errors.New("-conns must be within 1..1024")
	}
	var t target
	var err error
	if infoFile != "" {
		t, err = external(ctx, infoFile)
	} else {
		var stop func()
		t, stop, err = inProcess()
		if stop != nil {
			defer stop()
		}
	}
	if err != nil {
		return err
	}
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	fmt.Printf("target %s, %d connections, %v per measurement, GOMAXPROCS %d\n", t.base, conns, d, runtime.GOMAXPROCS(0))
	if mode == "rest" || mode == "both" {
		tok, err := grant(ctx, client, t, sign(t, 1)[0])
		if err != nil {
			return err
		}
		path := t.base + "/services/data/v62.0/limits"
		r := measure(ctx, d, conns, t.pid, func(ctx context.Context) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			return call(client, req)
		})
		r.print("authenticated REST (GET /services/data/v62.0/limits)")
	}
	if mode == "token" || mode == "both" {
		// Assertions are signed before the clock starts: RSA signing costs
		// the client ~1 ms each and would measure the load generator.
		pool := sign(t, 256)
		var n atomic.Uint64
		r := measure(ctx, d, conns, t.pid, func(ctx context.Context) error {
			a := pool[n.Add(1)%uint64(len(pool))]
			_, err := grant(ctx, client, t, a)
			return err
		})
		r.print("token grants (POST /services/oauth2/token, jwt-bearer)")
	}
	return nil
}

func inProcess() (target, func(), error) {
	pair, err := keys.NewPair(nil, keys.CertificateOptions{Subject: "CN=loadgen", Days: 365, Backdate: time.Hour})
	if err != nil {
		return target{}, nil, err
	}
	id := emulator.ConsumerKeyFor(pair.Cert)
	fx := emulator.DefaultFixture(id, pair.CertPEM)
	fx.Org.DailyAPIRequests = 1 << 40
	ln, err := new(net.ListenConfig).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return target{}, nil, err
	}
	base := "http://" + ln.Addr().String()
	org, err := emulator.New(emulator.Config{Fixture: fx, BaseURL: base, LoginsPerHour: -1, RequestLogSize: 64})
	if err != nil {
		ln.Close()
		return target{}, nil, err
	}
	srv := &http.Server{Handler: org, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }() // ends with ErrServerClosed at stop
	return target{base: base, clientID: id, key: pair.Key, username: emulator.UserIntegration, adminToken: org.AdminToken()},
		func() { srv.Close() }, nil
}

func external(ctx context.Context, file string) (target, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return target{}, err
	}
	var info struct {
		BaseURL    string            `json:"base_url"`
		ClientID   string            `json:"client_id"`
		KeyFile    string            `json:"key_file"`
		AdminToken string            `json:"admin_token"`
		Users      map[string]string `json:"users"`
		PID        int               `json:"pid"`
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return target{}, fmt.Errorf("%s: %w", file, err)
	}
	u, err := url.Parse(info.BaseURL)
	if err != nil || u.Scheme != "http" {
		return target{}, fmt.Errorf("%s: base_url %q: loadgen drives plain-http emulators only", file, info.BaseURL)
	}
	if !loopback.IsHost(u.Hostname()) {
		return target{}, fmt.Errorf("base_url %s is not a loopback address; loadgen only loads 127.0.0.1", info.BaseURL)
	}
	keyPEM, err := os.ReadFile(info.KeyFile)
	if err != nil {
		return target{}, err
	}
	key, err := keys.ParsePrivateKey(keyPEM, "key file", keys.LoadOptions{})
	if err != nil {
		return target{}, err
	}
	// Raise the allocations so that the measurement is not cut short.
	body := `{"daily_api_requests":1000000000000,"logins_per_hour":-1}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPatch, info.BaseURL+"/_emulator/org", strings.NewReader(body))
	req.Header.Set(emulator.AdminTokenHeader, info.AdminToken)
	if err := call(http.DefaultClient, req); err != nil {
		return target{}, fmt.Errorf("raise the org's limits: %w", err)
	}
	username := info.Users[emulator.RoleIntegration]
	if username == "" {
		username = emulator.UserIntegration
	}
	return target{pid: info.PID, base: info.BaseURL, clientID: info.ClientID, key: key, username: username, adminToken: info.AdminToken}, nil
}

// cpuTime is the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU reads another process's user plus system CPU time from
// /proc/<pid>/stat (Linux; clock ticks of 1/100 s); 0 when unknown.
func procCPU(pid int) time.Duration {
	if pid <= 0 || pid == os.Getpid() {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(ut+st) * 10 * time.Millisecond
}

func sign(t target, n int) []string {
	out := make([]string, n)
	for i := range out {
		a, err := assertion.Sign(t.key, assertion.Claims{Issuer: t.clientID, Subject: t.username, Audience: t.base,
			Expiry: time.Now().Add(time.Hour), Extra: map[string]any{"jti": fmt.Sprint(i)}})
		if err != nil {
			panic(err)
		}
		out[i] = a
	}
	return out
}

func grant(ctx context.Context, c *http.Client, t target, a string) (string, error) {
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {a}}.Encode()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, t.base+"/services/oauth2/token", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token grant: %s", resp.Status)
	}
	return tr.AccessToken, nil
}

func call(c *http.Client, req *http.Request) error {
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s", req.Method, req.URL.Path, resp.Status)
	}
	return nil
}

type result struct {
	n, errs   uint64
	elapsed   time.Duration
	cpu       time.Duration // this process's CPU time (load generator, and the server when in-process)
	serverCPU time.Duration // the server process's CPU time, when it is another process
	latencies []time.Duration
	firstErr  error
}

func measure(ctx context.Context, d time.Duration, conns int, pid int, op func(context.Context) error) result {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var n, errs atomic.Uint64
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	cpu0 := cpuTime()
	srv0 := procCPU(pid)
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			for ctx.Err() == nil {
				t0 := time.Now()
				err := op(ctx)
				if ctx.Err() != nil {
					break
				}
				if err != nil {
					errs.Add(1)
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				n.Add(1)
				if len(local) < cap(local) {
					local = append(local, time.Since(t0))
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return result{n: n.Load(), errs: errs.Load(), elapsed: time.Since(start), cpu: cpuTime() - cpu0, serverCPU: procCPU(pid) - srv0, latencies: lat, firstErr: firstErr}
}

func (r result) print(what string) {
	slices.Sort(r.latencies)
	pct := func(p float64) time.Duration {
		if len(r.latencies) == 0 {
			return 0
		}
		return r.latencies[int(p*float64(len(r.latencies)-1))]
	}
	fmt.Printf("%s: %d ok, %d errors in %v = %.0f req/s; latency p50 %v p99 %v\n",
		what, r.n, r.errs, r.elapsed.Round(time.Millisecond), float64(r.n)/r.elapsed.Seconds(), pct(0.5), pct(0.99))
	if r.serverCPU > 0 {
		fmt.Printf("  server CPU %v: %.0f req per server CPU-second; load generator CPU %v\n",
			r.serverCPU.Round(time.Millisecond), float64(r.n)/r.serverCPU.Seconds(), r.cpu.Round(time.Millisecond))
	} else if r.cpu > 0 {
		fmt.Printf("  process CPU %v (%.0f%% of %d cores): %.0f req per CPU-second, server and client together\n",
			r.cpu.Round(time.Millisecond), 100*r.cpu.Seconds()/r.elapsed.Seconds()/float64(runtime.NumCPU()), runtime.NumCPU(), float64(r.n)/r.cpu.Seconds())
	}
	if r.firstErr != nil {
		fmt.Printf("  first error: %v\n", r.firstErr)
	}
}
