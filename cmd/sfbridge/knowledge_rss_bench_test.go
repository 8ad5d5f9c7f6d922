package main

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/keys"
)

// BenchmarkKnowledgeSyncProcess runs `sfbridge knowledge sync` as a
// process of its own against an emulator hosted by this process, filled
// with 100,000 published en_US articles (-short: 10,000) of about 2 KB of
// rich-text HTML each, into an empty SQLite state store, and reports the
// sync process's peak resident set (its VmHWM, read from /proc while it
// runs; Linux only),
// which is what issue 17's "RSS ≤ 128 MB" is about: the emulator's memory
// is not in it. Set SFBRIDGE_BENCH_GODEBUG=GODEBUG=gctrace=1 and
// SFBRIDGE_BENCH_STDERR=FILE to keep the child's garbage collector trace.
func BenchmarkKnowledgeSyncProcess(b *testing.B) {
	if _, err := exec.LookPath("sfbridge"); err != nil {
		b.Skip("the sfbridge command of TestMain is not on PATH")
	}
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	dir := b.TempDir()
	pair, err := keys.NewPair(nil, keys.CertificateOptions{Subject: "CN=knowledge", Days: 2, Backdate: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	keyFile := filepath.Join(dir, "server.key")
	if err := os.WriteFile(keyFile, pair.KeyPEM, 0o600); err != nil {
		b.Fatal(err)
	}
	clientID := emulator.ConsumerKeyFor(pair.Cert)
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	org, err := emulator.New(emulator.Config{Fixture: emulator.DefaultFixture(clientID, pair.CertPEM), BaseURL: base, LoginsPerHour: -1})
	if err != nil {
		b.Fatal(err)
	}
	srv.Config.Handler = org
	srv.Start()
	b.Cleanup(srv.Close)
	// The same articles as servicedesk's BenchmarkKnowledgeFirstSync: 64
	// distinct bodies of 12 paragraphs, so the emulator stays small.
	bodies := make([]string, 64)
	for i := range bodies {
		var sb strings.Builder
		for p := range 12 {
			fmt.Fprintf(&sb, "<p>Step %d of fix %d: open <b>Settings</b>, choose the account, check the sign-in method and retry; if it still fails, collect the log &amp; contact support.</p>", p, i)
		}
		bodies[i] = sb.String()
	}
	st := org.Store()
	for i := range n {
		if _, err := st.Insert("Knowledge__kav", "", map[string]any{"Title": fmt.Sprintf("How to fix problem %d", i), "UrlName": fmt.Sprintf("fix-%d", i),
			"Summary": "Steps our support team uses.", "Answer__c": bodies[i%len(bodies)], "Language": "en_US", "PublishStatus": "Online",
			"KnowledgeArticleId": fmt.Sprintf("kA0xx%010dAAA", i), "ArticleNumber": fmt.Sprintf("%09d", i+1), "VersionNumber": 1}); err != nil {
			b.Fatal(err)
		}
	}
	env := append(os.Environ(), "SFBRIDGE_CONFIG_DIR="+filepath.Join(dir, "cfg"), "NO_COLOR=1", os.Getenv("SFBRIDGE_BENCH_GODEBUG"))
	sfbridge := func(args ...string) *exec.Cmd {
		cmd := exec.Command("sfbridge", args...)
		cmd.Env, cmd.Dir = env, dir
		return cmd
	}
	if out, err := sfbridge("login", "--client-id", clientID, "--jwt-key-file", keyFile, "--username", emulator.UserIntegration,
		"--instance-url", base, "--alias", "emu", "--set-default").CombinedOutput(); err != nil {
		b.Fatalf("login: %v\n%s", err, out)
	}
	run := 0
	for b.Loop() {
		run++
		cmd := sfbridge("knowledge", "sync", "--language", "en_US", "--state", "sqlite:"+filepath.Join(dir, fmt.Sprintf("state%d.db", run)))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		hwm := make(chan rssPeaks)
		go func() { hwm <- pollHWM(cmd.Process.Pid) }()
		err := cmd.Wait()
		peaks := <-hwm
		peak := peaks.hwm
		if err != nil {
			b.Fatalf("knowledge sync: %v\n%s", err, stderr.Bytes())
		}
		if p := os.Getenv("SFBRIDGE_BENCH_STDERR"); p != "" {
			_ = os.WriteFile(p, stderr.Bytes(), 0o600)
		}
		// The text summary, not --json: --json prints every change of the
		// sync (100,000 events on a first sync), which the JSON encoder
		// buffers whole; that is the output's cost, not the sync's.
		var published int
		if _, err := fmt.Sscanf(stdout.String(), "%d published", &published); err != nil || published < n {
			b.Fatalf("knowledge sync printed %q (%v), want at least %d published", stdout.Bytes(), err, n)
		}
		if peak == 0 {
			b.Skip("could not read the sync process's VmHWM from /proc")
		}
		b.ReportMetric(float64(peak)/1024, "peak-rss-MB")
		// What the resident set was made of, each at its own largest:
		// the Go heap and SQLite's allocations are anonymous memory, the
		// mapped program file is file-backed, and SQLite's WAL index is
		// shared memory.
		b.ReportMetric(float64(peaks.anon)/1024, "peak-anon-MB")
		b.ReportMetric(float64(peaks.file)/1024, "peak-file-MB")
		b.ReportMetric(float64(peaks.shmem)/1024, "peak-shmem-MB")
		// Not the child's ru_maxrss: a process started by a Go program
		// shares the parent's address space until it execs (os/exec forks
		// with CLONE_VM|CLONE_VFORK), and Linux carries that address
		// space's high-water mark into the child's ru_maxrss at exec, so
		// it reports this benchmark's own peak, emulator and all, whenever
		// that is the larger (a /bin/true started this way from a process
		// that touched 200 MB reports 202 MB).
		b.ReportMetric(float64(published), "published")
	}
}

// rssPeaks are the largest values (kB) of a process's resident set and of
// its parts that pollHWM read.
type rssPeaks struct{ hwm, anon, file, shmem uint64 }

// pollHWM reads the VmHWM (peak resident set, kB) of process pid from
// /proc every 2 ms until the process is gone, and returns the last value
// read: the kernel keeps the high-water mark itself, so sampling misses
// only what the process adds between the last read and its exit. The
// parts of the resident set (RssAnon, RssFile, RssShmem) have no
// high-water mark: theirs are the largest values read.
func pollHWM(pid int) rssPeaks {
	var p rssPeaks
	path := fmt.Sprintf("/proc/%d/status", pid)
	for {
		raw, err := os.ReadFile(path)
		if err != nil {
			return p
		}
		v, ok := statusField(raw, "VmHWM")
		if !ok {
			return p // a zombie has no address space left: it has exited
		}
		p.hwm = v
		for field, top := range map[string]*uint64{"RssAnon": &p.anon, "RssFile": &p.file, "RssShmem": &p.shmem} {
			if v, ok := statusField(raw, field); ok && v > *top {
				*top = v
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func statusField(raw []byte, field string) (uint64, bool) {
	for line := range strings.Lines(string(raw)) {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || name != field {
			continue
		}
		v, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		return v, err == nil
	}
	return 0, false
}
