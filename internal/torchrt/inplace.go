package torchrt

import (
	"fmt"
	"unsafe"

	"github.com/sugarme/gotch"
	lib "github.com/sugarme/gotch/libtch"
	"github.com/sugarme/gotch/ts"
)

// IndexAdd adds the rows of src [K, ...] to the rows index [K] (int64) of dst along dim 0, in place
// (dst.index_add_(0, index, src)). IndexCopy copies them instead (dst.index_copy_(0, index, src)).
//
// gotch's generated in-place methods (IndexAdd_, IndexCopy_) replace the Go tensor's C handle with the
// one the C side returns and never free the old handle, which keeps the tensor's storage alive after
// MustDrop (../shared/GOTCH.md §4.3): an optimiser that updates a table in place on every step would
// keep every table it ever trained. These call the same C wrappers and free the returned handle,
// leaving dst's own handle as it was. Call them on the goroutine's locked thread, like any torch call.
func IndexAdd(dst, index, src *ts.Tensor) error {
	var out lib.Ctensor
	lib.AtgIndexAdd_(&out, lib.Ctensor(dst.Ctensor()), 0, lib.Ctensor(index.Ctensor()), lib.Ctensor(src.Ctensor()))
	return inplaceDone("index_add_", out)
}

// IndexCopy is IndexAdd with copy in place of add (see IndexAdd).
func IndexCopy(dst, index, src *ts.Tensor) error {
	var out lib.Ctensor
	lib.AtgIndexCopy_(&out, lib.Ctensor(dst.Ctensor()), 0, lib.Ctensor(index.Ctensor()), lib.Ctensor(src.Ctensor()))
	return inplaceDone("index_copy_", out)
}

func inplaceDone(op string, out lib.Ctensor) error {
	if err := ts.TorchErr(); err != nil {
		return fmt.Errorf("torchrt: %s: %w", op, err)
	}
	if out != nil {
		lib.AtFree(out)
	}
	return nil
}

// Float32s copies a float32 tensor's elements, in row-major order, into a new Go slice.
//
// gotch's CopyData checks its destination with reflection on every element (ts.DataCheck), which
// costs about 100 ns an element: 1.9 s for one 35,000 × 512 embedding table, copied every time
// training finds a better epoch. This copies the contiguous data in one memmove.
func Float32s(t *ts.Tensor) ([]float32, error) {
	if k := t.DType(); k != gotch.Float {
		return nil, fmt.Errorf("torchrt: Float32s: tensor of %v, want float32", k)
	}
	c, err := t.Contiguous(false)
	if err != nil {
		return nil, err
	}
	defer c.MustDrop()
	n := int(c.Numel())
	out := make([]float32, n)
	if n == 0 {
		return out, nil
	}
	p, err := c.DataPtr()
	if err != nil {
		return nil, err
	}
	copy(out, unsafe.Slice((*float32)(p), n))
	return out, nil
}
