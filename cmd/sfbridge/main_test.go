package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"sfbridge": func() { os.Exit(run()) },
	})
}

// TestScripts runs the CLI scripts in testdata/script. Each script gets a
// fresh working directory and HOME, so no state leaks between them.
//
// Besides testscript's built-ins, scripts can use:
//
//	waitfile FILE [SECONDS]         wait until FILE exists and is not empty (default 20 s)
//	jsonenv FILE KEY[.KEY...] VAR   set $VAR to a string field of the JSON in FILE
//	httpget URL [STATUS]            GET URL; the body goes to stdout; fail unless the status is STATUS (default 200)
//	httpwait URL STATUS [REGEXP]    poll URL for 20 s until it answers STATUS with a body matching REGEXP; the body goes to stdout
//	exitcode N PROG [ARGS...]       run PROG like exec and fail unless it exits with status N
//	envsubst IN OUT                 copy IN to OUT with ${VAR} replaced from the script's environment
//	statefixture URL ORG PIPELINE live|expired   write a pipeline's lease, checkpoints, a document and an outbox record
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("SFBRIDGE_CONFIG_DIR", env.WorkDir+"/.sfbridge")
			env.Setenv("NO_COLOR", "1")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitfile": waitFile,
			"jsonenv":  jsonEnv,
			"httpget":  httpGet,
			"httpwait": httpWait,
			"exitcode": exitCode,
			"envsubst": envSubst,
			// statefixture is in state_script_test.go.
			"statefixture": stateFixture,
			// sameevents is in eventlogs_script_test.go.
			"sameevents": sameEvents,
		},
	})
}

func waitFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: waitfile FILE [SECONDS]")
	}
	limit := 20 * time.Second
	if len(args) == 2 {
		s, err := strconv.Atoi(args[1])
		ts.Check(err)
		limit = time.Duration(s) * time.Second
	}
	deadline := time.Now().Add(limit)
	for {
		if fi, err := os.Stat(ts.MkAbs(args[0])); err == nil && fi.Size() > 0 {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s did not appear within %s", args[0], limit)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func jsonEnv(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: jsonenv FILE KEY[.KEY|.INDEX...] VAR")
	}
	var v any
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &v))
	for _, k := range strings.Split(args[1], ".") {
		if a, ok := v.([]any); ok {
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(a) {
				ts.Fatalf("%s: %s: %q is not an index of an array of %d", args[0], args[1], k, len(a))
			}
			v = a[i]
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			ts.Fatalf("%s: %s is not inside an object", args[0], args[1])
		}
		v = m[k]
	}
	s, ok := v.(string)
	if !ok {
		ts.Fatalf("%s: %s is %T, not a string", args[0], args[1], v)
	}
	ts.Setenv(args[2], s)
}

func httpGet(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: httpget URL [STATUS]")
	}
	want := http.StatusOK
	if len(args) == 2 {
		var err error
		want, err = strconv.Atoi(args[1])
		ts.Check(err)
	}
	status, body, err := get(args[0])
	ts.Check(err)
	fmt.Fprint(ts.Stdout(), body)
	if status != want {
		ts.Fatalf("GET %s: status %d, want %d\n%s", args[0], status, want, body)
	}
}

func httpWait(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: httpwait URL STATUS [REGEXP]")
	}
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	re := regexp.MustCompile("")
	if len(args) == 3 {
		re, err = regexp.Compile(args[2])
		ts.Check(err)
	}
	const limit = 20 * time.Second
	deadline := time.Now().Add(limit)
	for {
		status, body, err := get(args[0])
		if err == nil && status == want && re.MatchString(body) {
			fmt.Fprint(ts.Stdout(), body)
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("GET %s did not answer %d matching %q within %s (last: %d %v)\n%s", args[0], want, re, limit, status, err, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func get(url string) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

func exitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

func envSubst(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: envsubst IN OUT")
	}
	out := os.Expand(ts.ReadFile(args[0]), ts.Getenv)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(out), 0o600))
}
