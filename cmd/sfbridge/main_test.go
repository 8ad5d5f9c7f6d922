package main

import (
	"context"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/sfbridge/sfbridge/internal/cli/root"
	"github.com/sfbridge/sfbridge/internal/iostreams"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"sfbridge": func() {
			os.Exit(root.Main(context.Background(), os.Args[1:], iostreams.System(os.Getenv), os.Getenv))
		},
	})
}

// TestScripts runs the CLI scripts in testdata/script. Each script gets a
// fresh working directory and HOME, so no state leaks between them.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("SFBRIDGE_CONFIG_DIR", env.WorkDir+"/.sfbridge")
			env.Setenv("NO_COLOR", "1")
			return nil
		},
	})
}
