// Package torchrt holds the small pieces of libtorch runtime glue that the model packages (intents,
// recommender, training) share: thread and seed control that gotch does not expose, and a worker that
// keeps all torch calls of a model on one locked OS thread.
//
// libtorch keeps grad mode and its last error per OS thread, and gotch's NoGrad is two separate cgo
// calls, so every goroutine that touches tensors must call runtime.LockOSThread first (see
// ../shared/GOTCH.md §4.1). Worker does that for you.
package torchrt

// #include <stdint.h>
// #include <malloc.h>
// int  at_get_num_threads();
// void at_set_num_threads(int n_threads);
// void at_set_num_interop_threads(int n_threads);
// void at_manual_seed(int64_t seed);
import "C"

import (
	"os"
	"strings"
	"sync"
	"syscall"

	// torch_api.cpp, which defines the functions above, is linked through gotch's libtch package.
	_ "github.com/sugarme/gotch/libtch"
)

// SetNumThreads sets libtorch's intra-op (OpenMP) thread count for the process.
// It is safe for concurrent use.
func SetNumThreads(n int) {
	if n > 0 {
		C.at_set_num_threads(C.int(n))
	}
}

// NumThreads reports libtorch's intra-op thread count.
func NumThreads() int { return int(C.at_get_num_threads()) }

var interopOnce sync.Once

// SetInteropThreads sets libtorch's inter-op thread count. libtorch accepts it once per process, before
// any parallel work; later calls are ignored.
func SetInteropThreads(n int) {
	if n <= 0 {
		return
	}
	interopOnce.Do(func() { C.at_set_num_interop_threads(C.int(n)) })
}

// ManualSeed seeds libtorch's global random generator (weight init, dropout, randperm).
func ManualSeed(seed int64) { C.at_manual_seed(C.int64_t(seed)) }

// ReleaseFreeMemory hands the C heap's free pages back to the system (glibc's malloc_trim). Loading a
// model frees hundreds of MB of libtorch buffers that glibc would otherwise keep resident. It is safe
// for concurrent use.
func ReleaseFreeMemory() { C.malloc_trim(0) }

var heapOnce sync.Once

// KeepLargeBuffersInHeap makes glibc's malloc serve every allocation from its main heap (no mmap, one
// arena) and keep freed memory up to 1 GiB instead of returning it to the system. libtorch allocates
// each big temporary (an Adam update over a 35,000 × 512 table is 72 MB) anew; glibc maps any block over
// its mmap threshold (32 MiB at most, whatever mallopt is asked) afresh, and a block too big for a
// thread's own arena too, so the kernel faulted in and zeroed 72 MB pages several times a step. On a
// virtual machine with costly page faults that made a CLINC150 epoch 5× slower (97 s instead of 20 s,
// with as much system time as computing). Call it before training; it is safe for concurrent use and
// only the first call acts. Serving does not need it (the forward pass runs in Go).
func KeepLargeBuffersInHeap() {
	heapOnce.Do(func() {
		C.mallopt(C.M_MMAP_MAX, 0)
		C.mallopt(C.M_ARENA_MAX, 1)
		C.mallopt(C.M_TRIM_THRESHOLD, 1<<30)
	})
}

// TrainingMallocTunables is the GLIBC_TUNABLES setting under which training runs: one malloc arena, no
// mmap, and freed memory kept up to 1 GiB, so that libtorch's large temporaries reuse heap pages.
// KeepLargeBuffersInHeap cannot do all of it from inside a running process: glibc fixes its arena limit
// when a second thread first allocates, and a thread's own arena maps every block too big for it afresh
// (on the 2-core test machine a CLINC150 epoch took 97 s instead of 20 s, most of it page faults).
const TrainingMallocTunables = "glibc.malloc.arena_max=1:glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=1073741824"

// ReexecForTraining replaces the running program by itself, with the same arguments and environment
// plus TrainingMallocTunables, unless GLIBC_TUNABLES already holds them. It returns nil without doing
// anything in that case, and the exec error when the program cannot be re-executed (the caller then
// trains with the default malloc, only slower). Call it first thing in a command that trains.
func ReexecForTraining() error {
	cur, had := os.LookupEnv("GLIBC_TUNABLES")
	if strings.Contains(cur, TrainingMallocTunables) {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	t := TrainingMallocTunables
	if had && cur != "" {
		t = cur + ":" + t
	}
	env := make([]string, 0, len(os.Environ())+1)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GLIBC_TUNABLES=") {
			env = append(env, kv)
		}
	}
	env = append(env, "GLIBC_TUNABLES="+t)
	return syscall.Exec(exe, os.Args, env)
}
