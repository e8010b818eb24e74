package torchrt

import (
	"context"
	"testing"

	"github.com/sugarme/gotch/ts"
)

func TestIndexAddCopy(t *testing.T) {
	tests := []struct {
		name    string
		op      func(dst, index, src *ts.Tensor) error
		index   []int64
		src     []float32 // rows of 2
		want    []float32 // the 3×2 table after the op
		wantErr bool
	}{
		{"add", IndexAdd, []int64{2, 0}, []float32{10, 20, 30, 40}, []float32{31, 42, 3, 4, 15, 26}, false},
		{"copy", IndexCopy, []int64{1}, []float32{-1, -2}, []float32{1, 2, -1, -2, 5, 6}, false},
		{"row out of range", IndexAdd, []int64{3}, []float32{1, 1}, []float32{1, 2, 3, 4, 5, 6}, true},
		{"rows and index disagree", IndexCopy, []int64{0, 1}, []float32{1, 1}, []float32{1, 2, 3, 4, 5, 6}, true},
	}
	w := NewWorker()
	defer w.Close()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := w.Do(context.Background(), func() error {
				dst := ts.MustOfSlice([]float32{1, 2, 3, 4, 5, 6}).MustView([]int64{3, 2}, true)
				defer dst.MustDrop()
				before := dst.Ctensor()
				idx := ts.MustOfSlice(tc.index)
				defer idx.MustDrop()
				src := ts.MustOfSlice(tc.src).MustView([]int64{int64(len(tc.src) / 2), 2}, true)
				defer src.MustDrop()
				err := tc.op(dst, idx, src)
				if (err != nil) != tc.wantErr {
					t.Fatalf("err = %v, want error %v", err, tc.wantErr)
				}
				if dst.Ctensor() != before {
					t.Fatal("the op replaced the tensor's handle")
				}
				got := dst.Float64Values()
				for i := range tc.want {
					if float32(got[i]) != tc.want[i] {
						t.Fatalf("table %v, want %v", got, tc.want)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestFloat32s(t *testing.T) {
	w := NewWorker()
	defer w.Close()
	err := w.Do(context.Background(), func() error {
		x := ts.MustOfSlice([]float32{1, 2, 3, 4, 5, 6}).MustView([]int64{2, 3}, true)
		defer x.MustDrop()
		xt := x.MustT(false) // a transposed view: not contiguous
		defer xt.MustDrop()
		for _, tc := range []struct {
			t    *ts.Tensor
			want []float32
		}{
			{x, []float32{1, 2, 3, 4, 5, 6}},
			{xt, []float32{1, 4, 2, 5, 3, 6}},
		} {
			got, err := Float32s(tc.t)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		}
		ints := ts.MustOfSlice([]int64{1, 2})
		defer ints.MustDrop()
		if _, err := Float32s(ints); err == nil {
			t.Fatal("Float32s of an int64 tensor: no error")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
