//go:build !unix

package eventlog

import "time"

// processCPU is unknown here; the benchmarks then report no CPU rate.
func processCPU() time.Duration { return 0 }
