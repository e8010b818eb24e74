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
	"sync"

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

var heapOnce sync.Once

// KeepLargeBuffersInHeap makes glibc's malloc serve allocations up to 1 GiB from its heap and keep freed
// memory instead of returning every large block to the system. libtorch allocates each big temporary
// (an Adam update over a 35,000 × 512 table is 72 MB) anew; above glibc's default limit (32 MiB at
// most) each one is a fresh mmap whose pages the kernel must fault in and zero, which cost training as
// much system time as it spent computing. Call it before training; it is safe for concurrent use and
// only the first call acts. Serving does not need it (the forward pass runs in Go).
func KeepLargeBuffersInHeap() {
	heapOnce.Do(func() {
		C.mallopt(C.M_MMAP_THRESHOLD, 1<<30)
		C.mallopt(C.M_TRIM_THRESHOLD, 1<<30)
	})
}
