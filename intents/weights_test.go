package intents

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"github.com/shopchat/shopchat/internal/torchrt"
)

// TestLoadWeightsRoundTrip: loadWeights reads back exactly what saveWeights wrote, in the layout
// Network.Weights gives (the Linear weights transposed), for networks with and without the dense and
// hidden layers, and so does a gotch VarStore (as older binaries read the file); a file whose shapes
// or names do not match the config is refused.
func TestLoadWeightsRoundTrip(t *testing.T) {
	w := torchrt.NewWorker()
	defer w.Close()
	for _, cfg := range []NetConfig{
		{Inputs: 50, Dense: 6, Hidden: 8, Classes: 5},
		{Inputs: 40, Hidden: 16, Classes: 3},
		{Inputs: 30, Classes: 4}, // linear
	} {
		path := filepath.Join(t.TempDir(), FileWeights)
		var want []*Weights
		err := w.Do(context.Background(), func() error {
			vs := nn.NewVarStore(gotch.CPU)
			defer vs.Destroy()
			for i := 0; i < 2; i++ {
				n, err := NewNetwork(vs.Root().Sub("m"+string(rune('0'+i))), cfg)
				if err != nil {
					return err
				}
				d, err := n.Weights()
				if err != nil {
					return err
				}
				// Give the zero-initialised biases values, so a swap of bias and weight would show.
				for j := range d.bias {
					d.bias[j] = float32(j+1) / 10
				}
				for j := range d.outB {
					d.outB[j] = -float32(j+1) / 10
				}
				want = append(want, d)
			}
			return saveWeights(path, cfg, want)
		})
		if err != nil {
			t.Fatal(err)
		}
		var got []*Weights
		if err := w.Do(context.Background(), func() (err error) {
			got, err = loadWeights(path, cfg, 2, false)
			return err
		}); err != nil {
			t.Fatalf("%+v: %v", cfg, err)
		}
		for i := range want {
			g, x := got[i], want[i]
			for _, p := range []struct {
				name    string
				got, wt []float32
			}{{"emb", g.emb, x.emb}, {"bias", g.bias, x.bias}, {"dense", g.dense, x.dense}, {"outW", g.outW, x.outW}, {"outB", g.outB, x.outB}} {
				if !slices.Equal(p.got, p.wt) {
					t.Errorf("%+v member %d: %s differs (%d values, want %d)", cfg, i, p.name, len(p.got), len(p.wt))
				}
			}
		}
		// Older binaries read the file through a VarStore: the same values come out that way too.
		if err := w.Do(context.Background(), func() error {
			vs := nn.NewVarStore(gotch.CPU)
			defer vs.Destroy()
			var tn []*Network
			for i := 0; i < 2; i++ {
				n, err := NewNetwork(vs.Root().Sub("m"+string(rune('0'+i))), cfg)
				if err != nil {
					return err
				}
				tn = append(tn, n)
			}
			if err := vs.Load(path); err != nil {
				return err
			}
			// The writer of earlier versions saved the VarStore's variables sorted by name: the same
			// weights must give the same bytes, so that model versions do not change.
			vars := vs.Variables()
			names := make([]string, 0, len(vars))
			for n := range vars {
				names = append(names, n)
			}
			slices.Sort(names)
			named := make([]ts.NamedTensor, len(names))
			for i, n := range names {
				v := vars[n]
				named[i] = ts.NamedTensor{Name: n, Tensor: &v}
			}
			old := filepath.Join(t.TempDir(), FileWeights)
			if err := ts.SaveMultiNew(named, old); err != nil {
				return err
			}
			a, _ := os.ReadFile(path)
			b, _ := os.ReadFile(old)
			if len(a) == 0 || !bytes.Equal(a, b) {
				t.Errorf("%+v: saveWeights wrote %d bytes, the VarStore writer %d, not the same", cfg, len(a), len(b))
			}
			for i, n := range tn {
				d, err := n.Weights()
				if err != nil {
					return err
				}
				if !slices.Equal(d.emb, want[i].emb) || !slices.Equal(d.dense, want[i].dense) || !slices.Equal(d.outW, want[i].outW) ||
					!slices.Equal(d.bias, want[i].bias) || !slices.Equal(d.outB, want[i].outB) {
					t.Errorf("%+v member %d: read through a VarStore, the weights differ", cfg, i)
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		// The same file read with another shape, or with more members than it holds, is refused.
		bad := cfg
		bad.Inputs++
		for _, tc := range []struct {
			cfg     NetConfig
			members int
			want    string
		}{{bad, 2, "shape"}, {cfg, 3, "no tensor"}} {
			err := w.Do(context.Background(), func() error {
				_, err := loadWeights(path, tc.cfg, tc.members, false)
				return err
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%+v, %d members: err = %v, want %q", tc.cfg, tc.members, err, tc.want)
			}
		}
	}
}
