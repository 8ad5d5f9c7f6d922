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

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := root.Main(ctx, os.Args[1:], iostreams.System(os.Getenv), os.Getenv)
	stop()
	os.Exit(code)
}
