//go:build unix

package nlp

import "syscall"

// processCPU returns the CPU time (user + system) this process has used, in nanoseconds. Benchmarks
// report it per op beside wall time because the development machine is shared: wall time there
// includes waiting for a core.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
