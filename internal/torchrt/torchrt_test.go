package torchrt

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

type tinyNet struct{ fc1, fc2 *nn.Linear }

func newTinyNet(p *nn.Path, in, hidden, out int64) *tinyNet {
	lin := func(fanIn int64) *nn.LinearConfig {
		c := nn.DefaultLinearConfig()
		b := 1 / math.Sqrt(float64(fanIn))
		c.WsInit = nn.NewUniformInit(-b, b)
		return c
	}
	return &tinyNet{
		fc1: nn.NewLinear(p.Sub("fc1"), in, hidden, lin(in)),
		fc2: nn.NewLinear(p.Sub("fc2"), hidden, out, lin(hidden)),
	}
}

func (m *tinyNet) forward(x *ts.Tensor) *ts.Tensor {
	h := m.fc1.Forward(x).MustRelu(true)
	out := m.fc2.Forward(h)
	h.MustDrop()
	return out
}

// TestTrainSaveReload trains a real network with libtorch, checks the loss falls, saves the weights,
// reloads them into a fresh graph and checks the outputs are identical.
func TestTrainSaveReload(t *testing.T) {
	w := NewWorker()
	defer w.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "tiny.ot")
	var first, last float64
	var before []float64
	// Data: 4 classes, the class is the index of the largest of the first 4 features.
	const n, in, classes = 256, 8, 4
	xs := make([]float32, n*in)
	ys := make([]int64, n)
	for i := 0; i < n; i++ {
		best := 0
		for j := 0; j < in; j++ {
			xs[i*in+j] = float32(math.Sin(float64(i*in+j)*12.9898) * 2)
			if j < classes && xs[i*in+j] > xs[i*in+best] {
				best = j
			}
		}
		ys[i] = int64(best)
	}
	err := w.Do(context.Background(), func() error {
		ManualSeed(42)
		vs := nn.NewVarStore(gotch.CPU)
		m := newTinyNet(vs.Root(), in, 32, classes)
		opt, err := nn.DefaultAdamConfig().Build(vs, 1e-2)
		if err != nil {
			return err
		}
		x := ts.MustOfSlice(xs).MustView([]int64{n, in}, true)
		y := ts.MustOfSlice(ys)
		defer x.MustDrop()
		defer y.MustDrop()
		for step := 0; step < 60; step++ {
			logits := m.forward(x)
			loss := logits.CrossEntropyForLogits(y)
			opt.BackwardStep(loss)
			v := loss.Float64Values()[0]
			if step == 0 {
				first = v
			}
			last = v
			loss.MustDrop()
			logits.MustDrop()
		}
		ts.NoGrad(func() {
			out := m.forward(x)
			before = out.Float64Values()
			out.MustDrop()
		})
		return vs.Save(path)
	})
	if err != nil {
		t.Fatalf("train: %v", err)
	}
	if !(last < first*0.7) {
		t.Fatalf("loss did not fall: first %.4f, last %.4f", first, last)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("saved file: %v", err)
	}
	var after []float64
	err = w.Do(context.Background(), func() error {
		vs := nn.NewVarStore(gotch.CPU)
		m := newTinyNet(vs.Root(), in, 32, classes)
		if err := vs.Load(path); err != nil {
			return err
		}
		x := ts.MustOfSlice(xs).MustView([]int64{n, in}, true)
		defer x.MustDrop()
		ts.NoGrad(func() {
			out := m.forward(x)
			after = out.Float64Values()
			out.MustDrop()
		})
		return nil
	})
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	if len(after) != len(before) {
		t.Fatalf("reloaded output has %d values, want %d", len(after), len(before))
	}
	for i := range before {
		if before[i] != after[i] {
			t.Fatalf("output %d differs after reload: %v vs %v", i, before[i], after[i])
		}
	}
}

// TestStubbedOpReturnsError calls a wrapper that scripts/adapt-gotch.sh replaced because it does not
// compile against the installed libtorch: it must return an error, not crash.
func TestStubbedOpReturnsError(t *testing.T) {
	list, err := os.ReadFile("../../.build/gotch/STUBBED_WRAPPERS.txt")
	if err != nil {
		t.Skipf("no adapted gotch list: %v", err)
	}
	if !strings.Contains(string(list), "atg_nonzero_static\n") {
		t.Skip("nonzero_static is available in this libtorch; nothing stubbed to call")
	}
	w := NewWorker()
	defer w.Close()
	var opErr error
	err = w.Do(context.Background(), func() error {
		x := ts.MustOnes([]int64{3}, gotch.Float, gotch.CPU)
		defer x.MustDrop()
		_, opErr = x.NonzeroStatic(2, 0, false)
		return nil
	})
	if err != nil {
		t.Fatalf("worker: %v", err)
	}
	if opErr == nil || !strings.Contains(opErr.Error(), "not available in libtorch") {
		t.Fatalf("stubbed op: got error %v, want one saying it is not available", opErr)
	}
	// gotch's Must* variants call log.Fatal on such an error (they exit the process): code that can meet
	// a stubbed or failing op must use the error-returning variant, as above.
}

func TestThreadsAndSeed(t *testing.T) {
	w := NewWorker()
	defer w.Close()
	var a, b []float64
	err := w.Do(context.Background(), func() error {
		SetNumThreads(1)
		if got := NumThreads(); got != 1 {
			t.Errorf("NumThreads = %d, want 1", got)
		}
		ManualSeed(7)
		x := ts.MustRandn([]int64{5}, gotch.Float, gotch.CPU)
		a = x.Float64Values()
		x.MustDrop()
		ManualSeed(7)
		y := ts.MustRandn([]int64{5}, gotch.Float, gotch.CPU)
		b = y.Float64Values()
		y.MustDrop()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed gave different numbers: %v vs %v", a, b)
		}
	}
}

func TestWorkerClosedAndCancelled(t *testing.T) {
	w := NewWorker()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// A cancelled context may still win the race against a free worker; either outcome is defined.
	if err := w.Do(ctx, func() error { return nil }); err != nil && err != context.Canceled {
		t.Fatalf("cancelled: %v", err)
	}
	w.Close()
	w.Close()
	if err := w.Do(context.Background(), func() error { return nil }); err != ErrClosed {
		t.Fatalf("after close: %v, want ErrClosed", err)
	}
}
