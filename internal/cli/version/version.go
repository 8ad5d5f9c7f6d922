// Package version implements `sfbridge version` and reads the build's
// module version, VCS commit and Go version from the binary itself.
package version

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/output"
)

// Info describes the running build.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	CommitAt  string `json:"commit_time,omitempty"`
	Modified  bool   `json:"modified,omitempty"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

// Read returns the build information embedded by the Go toolchain. A binary
// built with `go run` or -buildvcs=false has no commit; Version is then
// "(devel)".
func Read() Info {
	info := Info{Version: "(devel)", GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return info
	}
	if v := bi.Main.Version; v != "" {
		info.Version = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Commit = s.Value
		case "vcs.time":
			info.CommitAt = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}

// String renders the one-line form used by --version and User-Agent.
func (i Info) String() string {
	s := "sfbridge " + i.Version
	if i.Commit != "" {
		c := i.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		s += " (" + c
		if i.Modified {
			s += ", modified"
		}
		s += ")"
	}
	return s + " " + i.GoVersion + " " + i.Platform
}

// Options holds the flags of `sfbridge version`.
type Options struct {
	IO     *iostreams.IOStreams
	Output output.Flags
}

// NewCmd returns `sfbridge version`. runF, when not nil, receives the parsed
// options instead of run (tests of the flags use it).
func NewCmd(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Show the sfbridge version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE:  cmdutil.RunE(opts, runF, run, nil),
	}
	output.AddJSONFlag(cmd.Flags(), &opts.Output)
	return cmd
}

func run(_ context.Context, opts *Options) error { return write(opts, Read()) }

func write(opts *Options, info Info) error {
	if opts.Output.JSON {
		return output.WriteJSON(opts.IO.Out, info)
	}
	commit := info.Commit
	if commit == "" {
		commit = "unknown (built without VCS stamping, e.g. `go run`)"
	} else if info.Modified {
		commit += " (modified)"
	}
	_, err := fmt.Fprintf(opts.IO.Out, "sfbridge %s\ncommit:   %s\ngo:       %s\nplatform: %s\n",
		info.Version, commit, info.GoVersion, info.Platform)
	return err
}
