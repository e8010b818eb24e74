package intents

import (
	"fmt"
	"math"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// NetConfig is the shape of one network of the ensemble.
type NetConfig struct {
	// Inputs is the number of feature columns (Featurizer.Dim).
	Inputs int `json:"inputs"`
	// Hidden is the width of the hidden layer; 0 makes the network linear (logistic regression on the
	// TF-IDF features: the baseline).
	Hidden int `json:"hidden"`
	// Classes is the number of labels.
	Classes int `json:"classes"`
	// Dropout is applied to the hidden layer while training.
	Dropout float64 `json:"dropout"`
	// Dense is the number of dense inputs (the word-vector features, Featurizer.DenseDim), which a
	// linear map without bias adds to the first layer; 0: none.
	Dense int `json:"dense,omitempty"`
}

// Network is the intent network in gotch: the sparse TF-IDF vector of a message is multiplied by an
// embedding table (a gather of the message's feature rows, scaled by their weights and summed; the same
// as a sparse-dense product, in three ops), then a bias and ReLU give the hidden layer, and a linear layer
// gives the logits. With Hidden 0 the table holds the class weights directly (a linear model).
// A Network is not safe for concurrent use; keep it on one torchrt.Worker.
type Network struct {
	cfg   NetConfig
	emb   *nn.Embedding
	bias  *ts.Tensor
	dense *nn.Linear // nil when cfg.Dense is 0
	out   *nn.Linear
}

// NewNetwork creates the variables of a network under p with the initialisation the training uses.
func NewNetwork(p *nn.Path, cfg NetConfig) (*Network, error) {
	if cfg.Inputs <= 0 || cfg.Classes <= 0 || cfg.Hidden < 0 || cfg.Dense < 0 || cfg.Dense > maxVectorDim {
		return nil, fmt.Errorf("intents: bad network shape %+v", cfg)
	}
	width := cfg.Hidden
	if width == 0 {
		width = cfg.Classes
	}
	ec := nn.DefaultEmbeddingConfig()
	// Rows are summed with TF-IDF weights of L2 norm ~1 per group, so a fan-in-like scale keeps the
	// pre-activations of order one.
	b := math.Sqrt(3.0 / float64(width))
	if cfg.Hidden == 0 {
		b = 0
	}
	if b == 0 {
		ec.WsInit = nn.NewConstInit(0)
	} else {
		ec.WsInit = nn.NewUniformInit(-b, b)
	}
	n := &Network{cfg: cfg}
	n.emb = nn.NewEmbedding(p.Sub("emb"), int64(cfg.Inputs), int64(width), ec)
	bias, err := p.Zeros("bias", []int64{int64(width)})
	if err != nil {
		return nil, err
	}
	n.bias = bias
	if cfg.Dense > 0 {
		// The dense input has norm VectorWeight (6 by default); the sparse rows' scale keeps the two
		// contributions comparable at the start.
		dc := nn.DefaultLinearConfig()
		db := b
		if db == 0 {
			db = math.Sqrt(3.0 / float64(width))
		}
		dc.WsInit = nn.NewUniformInit(-db, db)
		dc.Bias = false
		n.dense = nn.NewLinear(p.Sub("dense"), int64(cfg.Dense), int64(width), dc)
	}
	if cfg.Hidden > 0 {
		lc := nn.DefaultLinearConfig()
		lb := 1 / math.Sqrt(float64(cfg.Hidden))
		lc.WsInit = nn.NewUniformInit(-lb, lb)
		lc.BsInit = nn.NewConstInit(0)
		n.out = nn.NewLinear(p.Sub("out"), int64(cfg.Hidden), int64(cfg.Classes), lc)
	}
	return n, nil
}

// Config reports the network's shape.
func (n *Network) Config() NetConfig { return n.cfg }

// ForwardT computes logits [B, Classes] from idx [B, T] (int64 feature columns, 0 = padding),
// val [B, T, 1] (float weights, 0 for padding) and, when the network has dense inputs, dense [B, Dense]
// (nil otherwise). While training, dropMask [B, Hidden] (0 or 1/(1-p), made
// by the caller from a seeded Go generator) is applied to the hidden layer; pass nil at inference.
// (The mask replaces libtorch's dropout op, which crashed intermittently inside atg_dropout under gotch
// v0.9.1 on libtorch 1.13.) It drops its intermediates.
func (n *Network) ForwardT(idx, val, dense, dropMask *ts.Tensor) *ts.Tensor {
	e := n.emb.Forward(idx)                                                           // [B,T,W]
	s := e.MustMul(val, true).MustSumDimIntlist([]int64{1}, false, gotch.Float, true) // [B,W]
	s = s.MustAdd(n.bias, true)
	if n.dense != nil && dense != nil {
		d := n.dense.Forward(dense)
		s = s.MustAdd(d, true)
		d.MustDrop()
	}
	if n.out == nil {
		return s
	}
	h := s.MustRelu(true)
	if dropMask != nil {
		h = h.MustMul(dropMask, true)
	}
	out := n.out.Forward(h)
	h.MustDrop()
	return out
}

// Weights holds a Network's weights in Go memory for the allocation-free forward pass the Classifier
// uses (see docs/intents.md: at batch 1, gotch's per-op overhead and its per-op malloc leak cost more than
// the arithmetic).
type Weights struct {
	cfg   NetConfig
	width int
	emb   []float32 // [Inputs, width]
	bias  []float32 // [width]
	dense []float32 // [Dense, width] (gotch's transposed Linear.Ws view), nil without dense inputs
	outW  []float32 // [Hidden, Classes] (the layout of gotch's transposed Linear.Ws view)
	outB  []float32 // [Classes]
}

func tensorFloats(t *ts.Tensor) ([]float32, error) {
	size, err := t.Size()
	if err != nil {
		return nil, err
	}
	n := 1
	for _, d := range size {
		n *= int(d)
	}
	c, err := t.Contiguous(false)
	if err != nil {
		return nil, err
	}
	defer c.MustDrop()
	out := make([]float32, n)
	if err := c.CopyData(out, uint(n)); err != nil {
		return nil, err
	}
	return out, nil
}

// dense copies the network's weights into Go memory.
func (n *Network) Weights() (*Weights, error) {
	d := &Weights{cfg: n.cfg, width: n.cfg.Hidden}
	if d.width == 0 {
		d.width = n.cfg.Classes
	}
	var err error
	if d.emb, err = tensorFloats(n.emb.Ws); err != nil {
		return nil, err
	}
	if d.bias, err = tensorFloats(n.bias); err != nil {
		return nil, err
	}
	if n.dense != nil {
		if d.dense, err = tensorFloats(n.dense.Ws); err != nil {
			return nil, err
		}
	}
	if n.out != nil {
		if d.outW, err = tensorFloats(n.out.Ws); err != nil {
			return nil, err
		}
		if d.outB, err = tensorFloats(n.out.Bs); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// logits computes the network's logits for one sparse vector and its dense features (nil or len
// Dense) into out (len Classes), using hidden (len width) as scratch. It is safe for concurrent use (it
// only reads the weights).
func (d *Weights) logits(idx []int32, val []float32, dense []float32, hidden, out []float32) {
	w := d.width
	hidden = hidden[:w]
	copy(hidden, d.bias)
	for k, col := range idx {
		axpy(hidden, d.emb[int(col)*w:int(col)*w+w], val[k])
	}
	if d.dense != nil {
		for k, x := range dense {
			if x != 0 {
				axpy(hidden, d.dense[k*w:k*w+w], x)
			}
		}
	}
	if d.outW == nil {
		copy(out, hidden[:d.cfg.Classes])
		return
	}
	for j := range hidden {
		if hidden[j] < 0 {
			hidden[j] = 0
		}
	}
	// gotch's Linear keeps its weight as a transposed view: outW is [Hidden, Classes].
	cl := d.cfg.Classes
	out = out[:cl]
	copy(out, d.outB)
	for j, x := range hidden {
		if x == 0 {
			continue // ReLU zeros are common: skip their row
		}
		axpy(out, d.outW[j*cl:j*cl+cl], x)
	}
}

// axpyGeneric adds a·x to dst (len(x) >= len(dst)), eight elements a step. Each element is computed
// exactly as the plain loop would (no reordering, no fused multiply-add), so results are bit-identical.
// axpy is this or an assembly version with the same results (axpy_amd64.go).
func axpyGeneric(dst, x []float32, a float32) {
	x = x[:len(dst)]
	i := 0
	for ; i+8 <= len(dst); i += 8 {
		d, s := dst[i:i+8:i+8], x[i:i+8:i+8]
		d[0] += a * s[0]
		d[1] += a * s[1]
		d[2] += a * s[2]
		d[3] += a * s[3]
		d[4] += a * s[4]
		d[5] += a * s[5]
		d[6] += a * s[6]
		d[7] += a * s[7]
	}
	for ; i < len(dst); i++ {
		dst[i] += a * x[i]
	}
}
