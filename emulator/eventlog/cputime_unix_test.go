//go:build unix

package eventlog

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system) the process has used; the
// benchmarks divide bytes by it, which a loaded machine does not distort
// the way it distorts wall-clock rates.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
