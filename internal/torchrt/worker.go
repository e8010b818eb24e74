package torchrt

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// ErrClosed is returned by Worker.Do after Close.
var ErrClosed = errors.New("torchrt: worker closed")

// Worker runs functions one at a time on a single goroutine locked to its OS thread, so that libtorch's
// thread-local state (grad mode, last error) stays consistent across the cgo calls of one function.
// A Worker is safe for concurrent use by multiple goroutines; calls are served in arrival order.
type Worker struct {
	jobs    chan job
	done    chan struct{}
	closeMu sync.Once
	wg      sync.WaitGroup
}

type job struct {
	fn  func() error
	res chan error
}

// NewWorker starts a worker goroutine. Close it when done.
func NewWorker() *Worker {
	w := &Worker{jobs: make(chan job), done: make(chan struct{})}
	w.wg.Add(1)
	go w.loop()
	return w
}

func (w *Worker) loop() {
	defer w.wg.Done()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for {
		select {
		case <-w.done:
			return
		case j := <-w.jobs:
			j.res <- run(j.fn)
		}
	}
}

// run calls fn, turning a panic (gotch's Must* functions panic on libtorch errors) into an error.
func run(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("torch: %v", r)
		}
	}()
	return fn()
}

// Do runs fn on the worker's locked thread and returns its error. It blocks until fn has run or ctx is
// done; once fn has started it runs to completion even if ctx is cancelled.
func (w *Worker) Do(ctx context.Context, fn func() error) error {
	res := make(chan error, 1)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-w.done:
		return ErrClosed
	case w.jobs <- job{fn: fn, res: res}:
	}
	return <-res
}

// Close stops the worker after the function in progress, if any. It is safe to call more than once.
func (w *Worker) Close() {
	w.closeMu.Do(func() { close(w.done) })
	w.wg.Wait()
}
