// Command sfbridge is the command-line face of sfbridge: keys, login, REST
// calls, doctor checks, the org emulator and the connector daemon.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/sfbridge/sfbridge/internal/cli/root"
	"github.com/sfbridge/sfbridge/internal/iostreams"
)

func main() { os.Exit(run()) }

// run executes the CLI with the process's arguments and streams; SIGINT and
// SIGTERM cancel its context, so long-running commands shut down cleanly.
// The first signal also gives the signals back their default action, so a
// second Ctrl-C or SIGTERM ends a process whose shutdown is stuck.
func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop)
	return root.Main(ctx, os.Args[1:], iostreams.System(os.Getenv), os.Getenv)
}
