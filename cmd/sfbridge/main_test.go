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
//	exitcode N PROG [ARGS...]       run PROG like exec and fail unless it exits with status N
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
			"exitcode": exitCode,
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
		ts.Fatalf("usage: jsonenv FILE KEY[.KEY...] VAR")
	}
	var v any
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &v))
	for _, k := range strings.Split(args[1], ".") {
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
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, args[0], nil)
	ts.Check(err)
	resp, err := http.DefaultClient.Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	ts.Check(err)
	fmt.Fprint(ts.Stdout(), string(body))
	if resp.StatusCode != want {
		ts.Fatalf("GET %s: status %d, want %d\n%s", args[0], resp.StatusCode, want, body)
	}
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
