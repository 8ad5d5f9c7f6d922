package cmdutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// GoRun is how a reader of the README, who ran sfbridge with `go run` from
// the repository, runs it again.
const GoRun = "go run ./cmd/sfbridge"

// InstallHint says how to get a plain `sfbridge` command.
const InstallHint = "go install ./cmd/sfbridge"

// Invocation is the command that runs this sfbridge again, for the
// commands the CLI prints for its reader to copy: "sfbridge" when the
// sfbridge on PATH is this very program; [GoRun] when this program was built
// by `go run` (it lives in a go-build temporary directory or the build
// cache, where no one can run it by name); else the program's own path.
// exe is the running program's path (os.Executable) and onPath the file
// `sfbridge` resolves to on PATH ("" when there is none).
func Invocation(exe, onPath string) string {
	if exe == "" {
		return GoRun
	}
	if onPath != "" && sameFile(exe, onPath) {
		return "sfbridge"
	}
	if builtByGoRun(exe) {
		return GoRun
	}
	if strings.ContainsAny(exe, " \t'\"$`\\") {
		return "'" + strings.ReplaceAll(exe, "'", `'\''`) + "'"
	}
	return exe
}

// SelfInvocation is [Invocation] for this process.
func SelfInvocation() string {
	exe, err := os.Executable()
	if err != nil {
		exe = ""
	}
	onPath, err := exec.LookPath("sfbridge")
	if err != nil {
		onPath = ""
	}
	return Invocation(exe, onPath)
}

func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false
	}
	return os.SameFile(fa, fb)
}

// isCacheEntry reports whether name is the directory `go run` keeps a
// cached executable in: GOCACHE/xx/<sha256 in hex>-d.
func isCacheEntry(name string) bool {
	hexPart, ok := strings.CutSuffix(name, "-d")
	if !ok || len(hexPart) != 64 {
		return false
	}
	for _, c := range hexPart {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// builtByGoRun reports whether exe is a binary `go run` built: in a
// go-build* temporary directory (GOTMPDIR), or in the build cache.
func builtByGoRun(exe string) bool {
	dir := filepath.Dir(exe)
	if isCacheEntry(filepath.Base(dir)) {
		return true
	}
	for _, el := range strings.Split(filepath.ToSlash(dir), "/") {
		if strings.HasPrefix(el, "go-build") {
			return true
		}
	}
	return false
}
